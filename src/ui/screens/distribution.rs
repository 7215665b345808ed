//! `:distribution`: one row per host × Distributed table: the files waiting to be sent to its
//! shards, the broken ones, failed sends and the latest exception.

use std::cmp::Ordering;
use std::time::SystemTime;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::judge;
use super::tables::clickhouse_problem;
use crate::alerts::{RuleKind, SubjectKind};
use crate::clickhouse::resources::DistributionQueue;
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::replication::qualified;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;

pub fn panels(model: &Model, now: SystemTime) -> Vec<Panel<'_>> {
    let distribution = &model.clickhouse.resources.distribution;
    let rows: Vec<(&str, &DistributionQueue)> = distribution
        .rows
        .iter()
        .map(|q| (q.host.as_str(), &q.item))
        .collect();
    vec![
        Panel::list(
            "Distributed send queues (broken files first, then most files waiting)",
            Queues { model, rows, now },
            Constraint::Fill(1),
            "no Distributed tables",
        )
        .with_problem(clickhouse_problem(model).or_else(|| distribution.problem.clone()))
        .from_source(Source::ClickHouse),
    ]
}

struct Queues<'a> {
    model: &'a Model,
    rows: Vec<(&'a str, &'a DistributionQueue)>,
    now: SystemTime,
}

const COLUMNS: &[Column] = &[
    Column::text("HOST", Constraint::Fill(2)),
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("FILES", Constraint::Length(7)),
    Column::num("BYTES", Constraint::Length(9)),
    Column::num("BROKEN", Constraint::Length(6)),
    Column::num("ERRORS", Constraint::Length(7)),
    Column::num("LAST ERR", Constraint::Length(8)).from_width(100),
    Column::text("LAST EXCEPTION", Constraint::Fill(5)).from_width(100),
];

impl ListSource for Queues<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, q) = self.rows[i];
        format!("{host}/{}.{}", q.database, q.table)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, q) = self.rows[i];
        format!("{}.{}\n{host}\n{}", q.database, q.table, q.last_exception)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let (host, q) = self.rows[i];
        match column {
            0 => SortKey::Text(host.to_string()),
            1 => SortKey::Text(qualified(&q.database, &q.table)),
            2 => SortKey::Num(q.data_files as f64),
            3 => SortKey::Num(q.data_compressed_bytes as f64),
            4 => SortKey::Num(q.broken_data_files.unwrap_or(0) as f64),
            5 => SortKey::Num(q.error_count as f64),
            6 => SortKey::Num(f64::from(q.last_exception_time.unwrap_or(0))),
            _ => SortKey::Text(q.last_exception.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps them worst first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, q) = self.rows[i];
        let table = qualified(&q.database, &q.table);
        let files = judge::style(
            self.model,
            theme,
            RuleKind::DistributedFiles,
            SubjectKind::Table,
            &table,
            Some(q.data_files as f64),
        );
        let broken = match q.broken_data_files {
            Some(0) => num_cell("0".to_string(), theme.text),
            Some(n) => num_cell(format::thousands(n), theme.crit),
            None => num_cell("-".to_string(), theme.muted),
        };
        let now_s = crate::time::unix_ms(self.now) / 1000;
        let last = q.last_exception_time.map_or("-".to_string(), |t| {
            format::seconds((now_s - i64::from(t)).max(0) as f64)
        });
        let blocked = if q.is_blocked { "BLOCKED " } else { "" };
        // On one line: a send's exception nests the connection's ("Log: \n\nCode: 210 …").
        let exception = q
            .last_exception
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        vec![
            cell(host.to_string()),
            cell(table),
            num_cell(format::thousands(q.data_files), files),
            num_cell(format::bytes(q.data_compressed_bytes), theme.text),
            broken,
            num_cell(format::thousands(q.error_count), theme.text),
            num_cell(last, theme.muted),
            Line::from(vec![
                Span::styled(blocked.to_string(), theme.crit),
                Span::styled(exception, theme.muted),
            ]),
        ]
    }
}
