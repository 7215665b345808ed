//! One table: its health summary and partitions; one partition: its active parts (fetched on
//! demand: the UI names the partition and the collector queries it on its next poll).

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::failures::clock;
use super::history_charts;
use super::tables::clickhouse_problem;
use crate::clickhouse::snapshot::{Part, PartitionParts, PartsFocus, Section};
use crate::format;
use crate::model::Model;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::{View, Zoom};

pub fn detail_panels<'a>(
    model: &'a Model,
    database: &str,
    table: &str,
    theme: &Theme,
    zoom: Zoom,
) -> Vec<Panel<'a>> {
    let name = format!("{database}.{table}");
    let mut summary = Vec::new();
    let several_hosts = model.clickhouse.hosts.len() > 1;
    for t in model.clickhouse.health.iter().filter(|t| t.table == name) {
        if several_hosts {
            summary.push(Line::from(Span::styled(t.host.clone(), theme.accent)));
        }
        if let Some(k) = &t.kafka {
            summary.push(Line::from(format!(
                "Kafka engine table: reads {} as group {} · {} read it",
                k.topics.join(", "),
                k.group.as_deref().unwrap_or("?"),
                format::plural(k.views, "materialized view"),
            )));
            summary.extend(
                t.reasons
                    .iter()
                    .map(|r| Line::from(Span::styled(r.clone(), theme.warn))),
            );
            continue;
        }
        summary.push(Line::from(format!(
            "{} active parts · {} partitions · {} merges · {} mutations pending · {} detached",
            t.active_parts.map_or("-".into(), format::thousands),
            t.partitions.map_or("-".into(), format::thousands),
            t.merges_running,
            t.mutations_pending,
            t.detached_parts,
        )));
        if let (Some(p), Some(d), Some(th)) = (
            t.max_parts_in_partition,
            t.parts_to_delay_insert,
            t.parts_to_throw_insert,
        ) {
            summary.push(Line::from(Span::raw(format!(
                "worst partition {}: {p} parts · inserts slow down at {d}, rejected at {th}",
                t.worst_partition.as_deref().unwrap_or("?")
            ))));
        }
        // One reason a line: each is a separate thing to look at.
        summary.extend(
            t.reasons
                .iter()
                .map(|r| Line::from(Span::styled(r.clone(), theme.warn))),
        );
    }
    if summary.is_empty() {
        summary.push(Line::from(Span::styled(
            format!("{name} is not in the latest poll"),
            theme.muted,
        )));
    }
    let rows: Vec<(&str, &PartitionParts)> = model
        .clickhouse
        .activity
        .partitions
        .rows
        .iter()
        .filter(|p| p.item.database == database && p.item.table == table)
        .map(|p| (p.host.as_str(), &p.item))
        .collect();
    let height = summary.len().min(8) as u16 + 2;
    // The chart of the worst host's row (the model keeps them worst first).
    let chart = model
        .clickhouse
        .health
        .iter()
        .find(|t| t.table == name)
        .and_then(|t| history_charts::table_panel(model, t, theme, zoom));
    let kafka_engine = model
        .clickhouse
        .health
        .iter()
        .any(|t| t.table == name && t.kafka.is_some());
    let mut panels = vec![
        Panel::text(name, summary, Constraint::Length(height)).from_source(Source::ClickHouse),
    ];
    panels.extend(chart);
    panels.extend(super::replicas::table_panel(model, database, table));
    panels.extend(super::kafka_chain::table_panel(
        model, database, table, theme,
    ));
    if kafka_engine {
        // No parts: its chain above is the whole story.
        return panels;
    }
    panels.push(
        Panel::list(
            "Partitions (most parts first)",
            Partitions(rows),
            Constraint::Fill(1),
            "no active partitions",
        )
        .with_problem(clickhouse_problem(model))
        .from_source(Source::ClickHouse),
    );
    panels
}

struct Partitions<'a>(Vec<(&'a str, &'a PartitionParts)>);

const PARTITION_COLUMNS: &[Column] = &[
    Column::text("PARTITION", Constraint::Fill(2)),
    Column::text("ID", Constraint::Fill(1)).from_width(100),
    Column::num("PARTS", Constraint::Length(6)),
    Column::num("ROWS", Constraint::Length(10)),
    Column::num("SIZE", Constraint::Length(10)),
    Column::text("HOST", Constraint::Fill(1)).from_width(120),
];

impl ListSource for Partitions<'_> {
    fn columns(&self) -> &'static [Column] {
        PARTITION_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.0[i].0, self.0[i].1.partition_id)
    }
    fn filter_text(&self, i: usize) -> String {
        let p = self.0[i].1;
        format!("{}\n{}", p.partition, p.partition_id)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = self.0[i].1;
        match column {
            0 => SortKey::Text(p.partition.clone()),
            1 => SortKey::Text(p.partition_id.clone()),
            2 => SortKey::Num(p.active_parts as f64),
            3 => SortKey::Num(p.rows as f64),
            4 => SortKey::Num(p.bytes_on_disk as f64),
            _ => SortKey::Text(self.0[i].0.to_string()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (self.0[a].1, self.0[b].1);
        pb.active_parts
            .cmp(&pa.active_parts)
            .then_with(|| pa.partition_id.cmp(&pb.partition_id))
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, p) = self.0[i];
        vec![
            cell(p.partition.clone()),
            Line::from(Span::styled(p.partition_id.clone(), theme.muted)),
            num_cell(format::thousands(p.active_parts), theme.text),
            num_cell(format::compact(p.rows), theme.text),
            num_cell(format::bytes(p.bytes_on_disk), theme.text),
            Line::from(Span::styled(host.to_string(), theme.muted)),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        let (host, p) = self.0[i];
        Some(View::Partition {
            host: host.to_string(),
            database: p.database.clone(),
            table: p.table.clone(),
            partition_id: p.partition_id.clone(),
        })
    }
}

/// What the partition view asks the collector for.
pub fn focus_of(view: &View) -> Option<PartsFocus> {
    match view {
        View::Partition {
            host,
            database,
            table,
            partition_id,
        } => Some(PartsFocus {
            host: Some(host.clone()),
            database: database.clone(),
            table: table.clone(),
            partition_id: partition_id.clone(),
        }),
        _ => None,
    }
}

pub fn partition_panels<'a>(model: &'a Model, view: &View, theme: &Theme) -> Vec<Panel<'a>> {
    let Some(focus) = focus_of(view) else {
        return Vec::new();
    };
    let title = format!(
        "{}.{} partition {} · active parts, newest first",
        focus.database, focus.table, focus.partition_id
    );
    let found = model
        .clickhouse
        .activity
        .focused_parts
        .as_ref()
        .filter(|f| f.focus == focus);
    match found.map(|f| &f.parts) {
        Some(Section::Ok { data }) => vec![
            Panel::list(
                title,
                Parts(data),
                Constraint::Fill(1),
                "no active parts: merged away or dropped",
            )
            .from_source(Source::ClickHouse),
        ],
        Some(Section::Unavailable { reason }) => vec![Panel::text(
            title,
            vec![Line::from(Span::styled(reason.clone(), theme.muted))],
            Constraint::Fill(1),
        )],
        Some(Section::Failed { error }) => vec![Panel::text(
            title,
            vec![Line::from(Span::styled(error.clone(), theme.crit))],
            Constraint::Fill(1),
        )],
        None => vec![Panel::text(
            title,
            vec![Line::from(Span::styled(
                "fetching the parts on the next poll…",
                theme.muted,
            ))],
            Constraint::Fill(1),
        )],
    }
}

struct Parts<'a>(&'a [Part]);

const PART_COLUMNS: &[Column] = &[
    Column::text("PART", Constraint::Fill(2)),
    Column::num("LEVEL", Constraint::Length(5)),
    Column::num("ROWS", Constraint::Length(10)),
    Column::num("MARKS", Constraint::Length(7)),
    Column::num("SIZE", Constraint::Length(10)),
    Column::text("WRITTEN", Constraint::Length(8)),
];

impl ListSource for Parts<'_> {
    fn columns(&self) -> &'static [Column] {
        PART_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        self.0[i].name.clone()
    }
    fn filter_text(&self, i: usize) -> String {
        self.0[i].name.clone()
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = &self.0[i];
        match column {
            0 => SortKey::Text(p.name.clone()),
            1 => SortKey::Num(f64::from(p.level)),
            2 => SortKey::Num(p.rows as f64),
            3 => SortKey::Num(p.marks as f64),
            4 => SortKey::Num(p.bytes_on_disk as f64),
            _ => SortKey::Num(f64::from(p.modification_time)),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        self.0[b]
            .modification_time
            .cmp(&self.0[a].modification_time)
            .then_with(|| self.0[a].name.cmp(&self.0[b].name))
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let p = &self.0[i];
        // Level 0 parts are fresh inserts that no merge has touched yet: many of them is the
        // "tiny inserts" smell.
        let level_style = if p.level == 0 { theme.warn } else { theme.text };
        vec![
            cell(p.name.clone()),
            num_cell(p.level.to_string(), level_style),
            num_cell(format::thousands(p.rows), theme.text),
            num_cell(format::thousands(p.marks), theme.muted),
            num_cell(format::bytes(p.bytes_on_disk), theme.text),
            Line::from(Span::styled(clock(p.modification_time), theme.muted)),
        ]
    }
}
