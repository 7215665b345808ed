//! The pipeline strip: topic → consumer group → tables, both halves of each pipeline on one row.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::groups::{SPARK, lag_sparkline};
use super::judge;
use super::tables::parts_sparkline;
use crate::alerts::{RuleKind, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::pipeline::PipelineRow;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub fn panel(model: &Model) -> Option<Panel<'_>> {
    if model.pipelines.is_empty() {
        return None;
    }
    let height = model.pipelines.len().min(6) as u16 + 3;
    Some(
        Panel::list(
            "Pipelines: topic ▸ group ▸ tables",
            Pipelines(model),
            Constraint::Length(height),
            "",
        )
        .from_source(Source::Both),
    )
}

struct Pipelines<'a>(&'a Model);

impl Pipelines<'_> {
    fn rows(&self) -> &[PipelineRow] {
        &self.0.pipelines
    }
}

const COLUMNS: &[Column] = &[
    Column::text("TOPIC", Constraint::Fill(2)).from_width(100),
    Column::text("GROUP ▸ TABLES", Constraint::Fill(3)),
    Column::text("STATUS", Constraint::Length(9)),
    Column::num("LAG", Constraint::Length(7)),
    Column::num("TIME LAG", Constraint::Length(8)),
    Column::num("INS/s", Constraint::Length(6)).from_width(100),
    Column::num("FAILED", Constraint::Length(6)),
    Column::num("PARTS", Constraint::Length(6)),
    Column::num("FRESH", Constraint::Length(6)),
    Column::text("LAG 15m", Constraint::Length(SPARK)).from_width(130),
    Column::text("PARTS 15m", Constraint::Length(SPARK)).from_width(130),
];

impl ListSource for Pipelines<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.rows().len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.rows()[i].group, self.rows()[i].topic)
    }
    fn filter_text(&self, i: usize) -> String {
        let p = &self.rows()[i];
        format!(
            "{}\n{}\n{}\n{}",
            p.name,
            p.topic,
            p.group,
            p.tables.join("\n")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = &self.rows()[i];
        match column {
            0 => SortKey::Text(p.topic.clone()),
            1 => SortKey::Text(p.group.clone()),
            2 => p
                .status
                .map_or(SortKey::Unknown, |s| SortKey::Num(f64::from(s.urgency()))),
            3 => p.lag.into(),
            4 => p.time_lag_s.into(),
            5 => p.inserts_per_s.into(),
            6 => p.failed_inserts.into(),
            7 => p.parts_to_delay_ratio.into(),
            8 => p.freshness_s.map(|s| s as f64).into(),
            9 => p.lag.into(),
            _ => p.parts_to_delay_ratio.into(),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let p = &self.rows()[i];
        let m = self.0;
        let kafka_polled = m.sources.kafka.last_good_at.is_some();
        let status = match (p.group_found, p.stale_s, p.status) {
            // Before the first Kafka poll nothing is known, least of all that the group is missing.
            (false, _, _) if !kafka_polled => Span::styled("-", theme.muted),
            (false, _, _) => Span::styled("NO GROUP", theme.crit),
            // As in the groups list: an earlier poll's figures say so, with their age.
            (true, Some(age), _) => {
                Span::styled(format!("stale {}", format::seconds(age)), theme.stale)
            }
            (true, None, Some(s)) => Span::styled(s.as_str(), judge::status_style(theme, s)),
            (true, None, None) => Span::styled("-", theme.muted),
        };
        let first_table = p.tables.first().cloned().unwrap_or_default();
        let worst = |rule, value: Option<f64>| {
            // The pipeline is as bad as its worst table: judge against every table's threshold.
            p.tables
                .iter()
                .map(|t| judge::style(m, theme, rule, SubjectKind::Table, t, value))
                .find(|s| *s == theme.crit || *s == theme.warn)
                .unwrap_or_else(|| {
                    judge::style(m, theme, rule, SubjectKind::Table, &first_table, value)
                })
        };
        // A materialized view of the chain throwing: the broken link between the group and its
        // tables, marked where it is (and before the tables, so a narrow cell keeps it).
        let style = if p.missing_tables.is_empty() {
            theme.text
        } else {
            theme.warn
        };
        let failing = super::kafka_chain::failing_view(m, &p.group, &p.tables);
        let name = match failing {
            Some(v) => vec![
                Span::styled(format!("{} ▸ ", p.group), style),
                Span::styled(format!("✗ {}", view_name(&v.view)), theme.crit),
                Span::styled(format!(" ▸ {}", tables_label(&p.tables)), style),
            ],
            None => vec![Span::styled(
                format!("{} ▸ {}", p.group, tables_label(&p.tables)),
                style,
            )],
        };
        vec![
            cell(p.topic.clone()),
            Line::from(name),
            Line::from(status),
            num_cell(p.lag.map_or("-".into(), format::compact), theme.text),
            num_cell(
                judge::time_lag(
                    p.time_lag_s,
                    p.time_lag_kind
                        .unwrap_or(crate::model::kafka::history::TimeLagKind::Unknown),
                ),
                judge::style(
                    m,
                    theme,
                    RuleKind::ConsumerTimeLag,
                    SubjectKind::Group,
                    &p.group,
                    p.time_lag_s,
                ),
            ),
            num_cell(
                p.inserts_per_s.map_or("-".into(), |r| format!("{r:.1}")),
                theme.muted,
            ),
            num_cell(
                p.failed_inserts.map_or("-".into(), |n| n.to_string()),
                worst(RuleKind::FailedInserts, p.failed_inserts.map(|n| n as f64)),
            ),
            num_cell(
                p.parts_to_delay_ratio
                    .map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
                worst(RuleKind::PartsPressure, p.parts_to_delay_ratio),
            ),
            num_cell(
                p.freshness_s
                    .map_or("-".into(), |s| format::seconds(s as f64)),
                worst(RuleKind::Freshness, p.freshness_s.map(|s| s as f64)),
            ),
            lag_sparkline(m, &p.group, theme),
            worst_table_sparkline(m, &p.tables, theme),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Group {
            group: self.rows()[i].group.clone(),
        })
    }
}

/// The parts trend of the pipeline's table nearest to "Too many parts" (on any host).
fn worst_table_sparkline(model: &Model, tables: &[String], theme: &Theme) -> Line<'static> {
    let worst = model
        .clickhouse
        .health
        .iter()
        .filter(|t| tables.contains(&t.table))
        .max_by(|a, b| {
            a.parts_to_delay_ratio
                .unwrap_or(0.0)
                .total_cmp(&b.parts_to_delay_ratio.unwrap_or(0.0))
        });
    match worst {
        Some(t) => parts_sparkline(model, &t.host, &t.table, theme),
        None => Line::default(),
    }
}

/// A view's name without its database (the tables beside it say where it is).
fn view_name(full: &str) -> &str {
    full.split_once('.').map_or(full, |(_, name)| name)
}

/// "default.events +1": the first table and how many more.
fn tables_label(tables: &[String]) -> String {
    match tables {
        [] => "-".to_string(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }
}
