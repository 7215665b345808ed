//! ClickHouse activity across hosts: merges in flight, Kafka-engine consumers, server errors.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::{failures::clock, tables::clickhouse_problem};
use crate::clickhouse::snapshot::{KafkaConsumer, Merge, ServerError};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::activity::{AcrossHosts, Activity};
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::View;

/// (host, item) pairs of one section across hosts, and the first reason a host could not say.
fn gather<'a, T>(
    model: &'a Model,
    section: impl Fn(&'a Activity) -> &'a AcrossHosts<T>,
) -> (Vec<(&'a str, &'a T)>, Option<String>) {
    let across = section(&model.clickhouse.activity);
    let rows = across
        .rows
        .iter()
        .map(|r| (r.host.as_str(), &r.item))
        .collect();
    let problem = clickhouse_problem(model).or_else(|| across.problem.clone());
    (rows, problem)
}

pub fn merges_panel(model: &Model) -> Panel<'_> {
    let (rows, problem) = gather(model, |a| &a.merges);
    Panel::list(
        "Merges in flight",
        Merges(rows),
        Constraint::Fill(1),
        "no merges running",
    )
    .with_problem(problem)
    .from_source(Source::ClickHouse)
}

struct Merges<'a>(Vec<(&'a str, &'a Merge)>);

const MERGE_COLUMNS: &[Column] = &[
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("ELAPSED", Constraint::Length(7)),
    Column::num("PROGRESS", Constraint::Length(8)),
    Column::num("PARTS", Constraint::Length(6)),
    Column::num("SIZE", Constraint::Length(10)),
    Column::num("MEMORY", Constraint::Length(10)).from_width(110),
    Column::text("KIND", Constraint::Length(8)).from_width(100),
    Column::text("RESULT PART", Constraint::Fill(2)).from_width(120),
];

impl ListSource for Merges<'_> {
    fn columns(&self) -> &'static [Column] {
        MERGE_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, m) = self.0[i];
        format!("{host}/{}.{}/{}", m.database, m.table, m.result_part_name)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, m) = self.0[i];
        format!("{}.{}\n{host}\n{}", m.database, m.table, m.result_part_name)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let m = self.0[i].1;
        match column {
            0 => SortKey::Text(format!("{}.{}", m.database, m.table)),
            1 => SortKey::Num(m.elapsed_s),
            2 => SortKey::Num(m.progress),
            3 => SortKey::Num(m.num_parts as f64),
            4 => SortKey::Num(m.total_size_bytes_compressed as f64),
            5 => SortKey::Num(m.memory_usage as f64),
            6 => SortKey::Text(merge_kind(m).to_string()),
            _ => SortKey::Text(m.result_part_name.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // Longest-running first: a merge that never ends is the one to look at.
        self.0[b].1.elapsed_s.total_cmp(&self.0[a].1.elapsed_s)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let m = self.0[i].1;
        vec![
            cell(format!("{}.{}", m.database, m.table)),
            num_cell(format::seconds(m.elapsed_s), theme.text),
            num_cell(format!("{:.0}%", m.progress * 100.0), theme.text),
            num_cell(m.num_parts.to_string(), theme.text),
            num_cell(format::bytes(m.total_size_bytes_compressed), theme.text),
            num_cell(format::bytes(m.memory_usage), theme.muted),
            cell(merge_kind(m)),
            Line::from(Span::styled(m.result_part_name.clone(), theme.muted)),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        let m = self.0[i].1;
        Some(View::Table {
            database: m.database.clone(),
            table: m.table.clone(),
        })
    }
}

fn merge_kind(m: &Merge) -> &'static str {
    match m.is_mutation {
        Some(true) => "mutation",
        Some(false) => "merge",
        None => "-",
    }
}

pub fn consumers_panel(model: &Model) -> Panel<'_> {
    let (rows, problem) = gather(model, |a| &a.kafka_consumers);
    Panel::list(
        "Kafka engine consumers",
        Consumers(rows),
        Constraint::Fill(1),
        "no Kafka engine tables",
    )
    .with_problem(problem)
    .from_source(Source::ClickHouse)
}

fn consumer_key(host: &str, c: &KafkaConsumer) -> String {
    format!("{host}/{}.{}/{}", c.database, c.table, c.consumer_id)
}

struct Consumers<'a>(Vec<(&'a str, &'a KafkaConsumer)>);

const CONSUMER_COLUMNS: &[Column] = &[
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("PARTS", Constraint::Length(6)).from_width(100),
    Column::num("READ", Constraint::Length(8)),
    Column::num("POLLED", Constraint::Length(7)),
    Column::num("COMMITTED", Constraint::Length(9)),
    Column::num("REBAL", Constraint::Length(6)).from_width(110),
    Column::num("ERRORS", Constraint::Length(6)),
    Column::text("LATEST EXCEPTION", Constraint::Fill(3)).from_width(100),
];

impl ListSource for Consumers<'_> {
    fn columns(&self) -> &'static [Column] {
        CONSUMER_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        consumer_key(self.0[i].0, self.0[i].1)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, c) = self.0[i];
        format!("{}.{}\n{host}\n{}", c.database, c.table, c.consumer_id)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let c = self.0[i].1;
        match column {
            0 => SortKey::Text(format!("{}.{}", c.database, c.table)),
            1 => SortKey::Num(c.assignments.len() as f64),
            2 => SortKey::Num(c.num_messages_read as f64),
            3 => c.last_poll_age_s.into(),
            4 => c.last_commit_age_s.into(),
            5 => SortKey::Num(c.num_rebalance_assignments as f64),
            6 => SortKey::Num(c.latest_exceptions.len() as f64),
            _ => SortKey::Text(
                c.latest_exceptions
                    .first()
                    .map(|e| e.text.clone())
                    .unwrap_or_default(),
            ),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let errors = |i: usize| self.0[i].1.latest_exceptions.len();
        errors(b)
            .cmp(&errors(a))
            .then_with(|| self.key(a).cmp(&self.key(b)))
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let c = self.0[i].1;
        let age = |s: Option<u64>| s.map_or("never".to_string(), |s| format::seconds(s as f64));
        vec![
            cell(format!("{}.{}", c.database, c.table)),
            num_cell(c.assignments.len().to_string(), theme.text),
            num_cell(format::compact(c.num_messages_read), theme.text),
            num_cell(age(c.last_poll_age_s), theme.text),
            num_cell(age(c.last_commit_age_s), theme.text),
            num_cell(c.num_rebalance_assignments.to_string(), theme.muted),
            num_cell(
                c.latest_exceptions.len().to_string(),
                if c.latest_exceptions.is_empty() {
                    theme.muted
                } else {
                    theme.warn
                },
            ),
            Line::from(Span::styled(
                c.latest_exceptions
                    .first()
                    .map(|e| e.text.lines().next().unwrap_or("").to_string())
                    .unwrap_or_default(),
                theme.warn,
            )),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Consumer { key: self.key(i) })
    }
}

pub fn consumer_detail(model: &Model, key: &str, theme: &Theme) -> Vec<Panel<'static>> {
    let (rows, _) = gather(model, |a| &a.kafka_consumers);
    let Some((host, c)) = rows.into_iter().find(|(h, c)| consumer_key(h, c) == key) else {
        return vec![Panel::text(
            "consumer",
            vec![Line::from(Span::styled(
                "this consumer is gone",
                theme.muted,
            ))],
            Constraint::Fill(1),
        )];
    };
    let label = |l: &str| Span::styled(format!("{l:<16}"), theme.muted);
    let mut lines = vec![
        Line::from(vec![
            label("table"),
            Span::styled(format!("{}.{}", c.database, c.table), theme.header),
        ]),
        Line::from(vec![label("host"), Span::raw(host.to_string())]),
        Line::from(vec![label("consumer id"), Span::raw(c.consumer_id.clone())]),
        Line::from(vec![
            label("messages read"),
            Span::raw(format::thousands(c.num_messages_read)),
        ]),
        Line::from(vec![
            label("commits"),
            Span::raw(format::thousands(c.num_commits)),
        ]),
        Line::from(vec![
            label("rebalances"),
            Span::raw(format!(
                "{} assignments, {} revocations",
                c.num_rebalance_assignments, c.num_rebalance_revocations
            )),
        ]),
        Line::from(vec![
            label("in use"),
            Span::raw(if c.is_currently_used { "yes" } else { "no" }),
        ]),
    ];
    // Exceptions first: they are why one opens this screen.
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("latest exceptions", theme.muted)));
    if c.latest_exceptions.is_empty() {
        lines.push(Line::from(Span::styled("none", theme.ok)));
    }
    for e in &c.latest_exceptions {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", clock(e.time)), theme.muted),
            Span::styled(e.text.clone(), theme.crit),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "assignments: topic/partition @ current offset",
        theme.muted,
    )));
    lines.extend(c.assignments.iter().map(|a| {
        Line::from(format!(
            "{}/{} @ {}",
            a.topic,
            a.partition,
            format::thousands(a.current_offset.max(0) as u64)
        ))
    }));
    vec![Panel::text(
        format!("{}.{}", c.database, c.table),
        lines,
        Constraint::Fill(1),
    )]
}

pub fn errors_panel(model: &Model) -> Panel<'_> {
    let (rows, problem) = gather(model, |a| &a.errors);
    Panel::list(
        "Server errors in the window",
        Errors(rows),
        Constraint::Fill(1),
        "no server errors in the window",
    )
    .with_problem(problem)
    .from_source(Source::ClickHouse)
}

struct Errors<'a>(Vec<(&'a str, &'a ServerError)>);

const ERROR_COLUMNS: &[Column] = &[
    Column::text("ERROR", Constraint::Fill(2)),
    Column::num("CODE", Constraint::Length(5)),
    Column::num("COUNT", Constraint::Length(7)),
    Column::text("LAST", Constraint::Length(8)),
    Column::text("LAST MESSAGE", Constraint::Fill(3)),
];

impl ListSource for Errors<'_> {
    fn columns(&self) -> &'static [Column] {
        ERROR_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.0[i].0, self.0[i].1.name)
    }
    fn filter_text(&self, i: usize) -> String {
        let e = self.0[i].1;
        format!(
            "{}\n{}\n{}",
            e.name,
            e.code,
            e.last_message.as_deref().unwrap_or("")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let e = self.0[i].1;
        match column {
            0 => SortKey::Text(e.name.clone()),
            1 => SortKey::Num(f64::from(e.code)),
            2 => SortKey::Num(e.count as f64),
            3 => e
                .last_time
                .map_or(SortKey::Unknown, |t| SortKey::Num(f64::from(t))),
            _ => SortKey::Text(e.last_message.clone().unwrap_or_default()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let e = self.0[i].1;
        vec![
            cell(e.name.clone()),
            num_cell(e.code.to_string(), theme.text),
            num_cell(format::thousands(e.count), theme.warn),
            Line::from(Span::styled(
                e.last_time.map_or("-".into(), clock),
                theme.muted,
            )),
            cell(
                e.last_message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .unwrap_or("")
                    .to_string(),
            ),
        ]
    }
}
