//! ClickHouse tables: parts pressure, partitions per day, merges, failed inserts, latency and
//! freshness per table, worst first.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::groups::SPARK;
use super::judge;
use crate::alerts::{RuleKind, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::health::{KafkaLinks, TableHealth};
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::sparkline;
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub fn clickhouse_problem(model: &Model) -> Option<String> {
    match (
        &model.sources.clickhouse.error,
        &model.clickhouse.tables_problem,
    ) {
        (Some(e), _) => Some(format!("clickhouse: {}", e.message)),
        // One host of several down: its tables are missing from the list, and this says why.
        (None, problem) => match model.clickhouse.down_hosts().next() {
            Some(h) => Some(format!(
                "{} DOWN: {}",
                h.host,
                h.error.as_deref().unwrap_or_default()
            )),
            None => problem.clone(),
        },
    }
}

pub fn list_panel(model: &Model, height: Constraint) -> Panel<'_> {
    Panel::list(
        "ClickHouse tables",
        Tables(model),
        height,
        "no MergeTree tables",
    )
    .with_problem(clickhouse_problem(model))
    .from_source(Source::ClickHouse)
}

struct Tables<'a>(&'a Model);

impl Tables<'_> {
    fn rows(&self) -> &[TableHealth] {
        &self.0.clickhouse.health
    }
    fn multi_host(&self) -> bool {
        self.0.clickhouse.hosts.len() > 1
    }
}

const COLUMNS: &[Column] = &[
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("PARTS", Constraint::Length(9)),
    Column::num("/DAY", Constraint::Length(5)),
    Column::num("MRG", Constraint::Length(4)).from_width(100),
    Column::num("FAILED", Constraint::Length(6)),
    Column::num("P95 INS", Constraint::Length(8)).from_width(90),
    Column::num("INS/s", Constraint::Length(6)).from_width(100),
    Column::num("FRESH", Constraint::Length(6)),
    Column::text("PARTS 15m", Constraint::Length(SPARK)).from_width(120),
];

/// The worst partition's parts over the list window: the pressure's trend.
pub fn parts_sparkline(model: &Model, host: &str, table: &str, theme: &Theme) -> Line<'static> {
    let text = model
        .clickhouse
        .series
        .table(host, table)
        .map_or_else(String::new, |s| {
            sparkline::blocks(
                &model.clickhouse.series.times,
                &s.worst_parts,
                sparkline::LIST_WINDOW_S,
                usize::from(SPARK),
            )
        });
    Line::from(Span::styled(text, theme.accent))
}

impl Tables<'_> {
    /// A Kafka engine table: no parts or inserts of its own; what it reads, how many views read
    /// it and their failures in the window.
    fn kafka_cells(
        &self,
        t: &TableHealth,
        kafka: &KafkaLinks,
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        let name = if self.multi_host() {
            format!("{} @{}", t.table, t.host)
        } else {
            t.table.clone()
        };
        let mut reads = format!(" ◂ {}", kafka.topics.join(","));
        if let Some(group) = &kafka.group {
            reads.push_str(&format!(" ({group})"));
        }
        reads.push_str(&format!(" ▸ {}", format::plural(kafka.views, "view")));
        let failures = kafka.view_failures;
        let style = judge::style(
            self.0,
            theme,
            RuleKind::MvFailures,
            SubjectKind::Table,
            &t.table,
            failures.map(|n| n as f64),
        );
        let none = || num_cell("-".into(), theme.muted);
        vec![
            Line::from(vec![Span::raw(name), Span::styled(reads, theme.muted)]),
            num_cell("Kafka".into(), theme.muted),
            none(),
            none(),
            num_cell(failures.map_or("-".into(), |n| n.to_string()), style),
            none(),
            none(),
            none(),
            Line::default(),
        ]
    }
}

impl ListSource for Tables<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.rows().len()
    }
    fn key(&self, i: usize) -> String {
        let t = &self.rows()[i];
        format!("{}/{}", t.host, t.table)
    }
    fn filter_text(&self, i: usize) -> String {
        let t = &self.rows()[i];
        let kafka = t.kafka.as_ref().map_or_else(String::new, |k| {
            format!(
                "kafka\n{}\n{}",
                k.topics.join("\n"),
                k.group.as_deref().unwrap_or("")
            )
        });
        format!("{}\n{}\n{}\n{kafka}", t.table, t.host, t.reasons.join("\n"))
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let t = &self.rows()[i];
        match column {
            0 => SortKey::Text(t.table.clone()),
            1 => t.parts_to_delay_ratio.into(),
            2 => t.max_partitions_per_day.into(),
            3 => SortKey::Num(t.merges_running as f64),
            4 => t
                .failed_inserts
                .or_else(|| t.kafka.as_ref().and_then(|k| k.view_failures))
                .into(),
            5 => t.p95_insert_ms.into(),
            6 => t.inserts_per_s.into(),
            7 => t.freshness_s.map(|s| s as f64).into(),
            _ => t.parts_to_delay_ratio.into(),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps tables worst first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let t = &self.rows()[i];
        if let Some(kafka) = &t.kafka {
            return self.kafka_cells(t, kafka, theme);
        }
        let m = self.0;
        let judge = |rule, value| judge::style(m, theme, rule, SubjectKind::Table, &t.table, value);
        let name = if self.multi_host() {
            format!("{} @{}", t.table, t.host)
        } else {
            t.table.clone()
        };
        let parts_value = t.parts_to_delay_ratio;
        let parts = match (t.max_parts_in_partition, t.parts_to_delay_insert) {
            (Some(p), Some(d)) => format!("{p}/{d}"),
            (Some(p), None) => p.to_string(),
            _ => "-".to_string(),
        };
        vec![
            cell(name),
            num_cell(parts, judge(RuleKind::PartsPressure, parts_value)),
            num_cell(
                t.max_partitions_per_day
                    .map_or("-".into(), |n| n.to_string()),
                judge(
                    RuleKind::PartitionsPerDay,
                    t.max_partitions_per_day.map(|n| n as f64),
                ),
            ),
            num_cell(t.merges_running.to_string(), theme.text),
            num_cell(
                t.failed_inserts.map_or("-".into(), |n| n.to_string()),
                judge(RuleKind::FailedInserts, t.failed_inserts.map(|n| n as f64)),
            ),
            num_cell(
                t.p95_insert_ms
                    .map_or("-".into(), |ms| format!("{ms:.0}ms")),
                judge(RuleKind::InsertLatencyP95, t.p95_insert_ms),
            ),
            num_cell(
                t.inserts_per_s.map_or("-".into(), |r| format!("{r:.1}")),
                theme.muted,
            ),
            num_cell(
                t.freshness_s
                    .map_or("-".into(), |s| format::seconds(s as f64)),
                judge(RuleKind::Freshness, t.freshness_s.map(|s| s as f64)),
            ),
            parts_sparkline(m, &t.host, &t.table, theme),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        let t = &self.rows()[i];
        let (database, table) = t.table.split_once('.').unwrap_or(("", &t.table));
        Some(View::Table {
            database: database.to_string(),
            table: table.to_string(),
        })
    }
}
