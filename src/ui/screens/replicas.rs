//! Replication: `:replicas` (each host's ZooKeeper/Keeper session, one row per host × replicated
//! table, the replication queues) and the replicas panel of a table's drill-down.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::judge;
use super::tables::clickhouse_problem;
use crate::alerts::{RuleKind, SubjectKind};
use crate::clickhouse::replication::{Replica, ReplicationQueue};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::replication::qualified;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub fn panels<'a>(model: &'a Model, theme: &Theme) -> Vec<Panel<'a>> {
    let replication = &model.clickhouse.replication;
    let rows: Vec<(&str, &Replica)> = replication
        .replicas
        .rows
        .iter()
        .map(|r| (r.host.as_str(), &r.item))
        .collect();
    let queues: Vec<(&str, &ReplicationQueue)> = replication
        .queues
        .rows
        .iter()
        .map(|q| (q.host.as_str(), &q.item))
        .collect();
    let queue_rows = queues.len().clamp(1, 6) as u16;
    vec![
        keeper_panel(model, theme),
        replicas_panel(
            model,
            rows,
            "Replicas (read-only first, then most delayed)",
            Constraint::Fill(1),
        )
        .with_problem(clickhouse_problem(model).or_else(|| replication.replicas.problem.clone())),
        Panel::list(
            "Replication queues (most stuck first)",
            Queues(model, queues),
            Constraint::Length(queue_rows + 3),
            "every replication queue is empty",
        )
        .with_problem(clickhouse_problem(model).or_else(|| replication.queues.problem.clone()))
        .from_source(Source::ClickHouse),
    ]
}

/// The replicas of one table on every host, for its drill-down; None when it has none.
pub fn table_panel<'a>(model: &'a Model, database: &str, table: &str) -> Option<Panel<'a>> {
    let name = qualified(database, table);
    let rows: Vec<(&str, &Replica)> = model
        .clickhouse
        .replication
        .replicas_of(&name)
        .into_iter()
        .map(|r| (r.host.as_str(), &r.item))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let height = rows.len().min(6) as u16 + 3;
    Some(
        replicas_panel(model, rows, "Replicas", Constraint::Length(height))
            .with_problem(clickhouse_problem(model)),
    )
}

fn replicas_panel<'a>(
    model: &'a Model,
    rows: Vec<(&'a str, &'a Replica)>,
    title: &str,
    height: Constraint,
) -> Panel<'a> {
    Panel::list(
        title,
        Replicas { model, rows },
        height,
        "no replicated tables",
    )
    .from_source(Source::ClickHouse)
}

/// One line per host: its ZooKeeper/Keeper session, or why it has none to show.
fn keeper_panel<'a>(model: &'a Model, theme: &Theme) -> Panel<'a> {
    let replication = &model.clickhouse.replication;
    let mut lines: Vec<Line<'static>> = replication
        .keeper
        .iter()
        .map(|k| match (&k.session, &k.problem) {
            (Some(s), _) if s.connected => Line::from(vec![
                Span::raw(format!("{}  ", k.host)),
                Span::styled("connected", theme.ok),
                Span::raw(
                    s.address
                        .as_ref()
                        .map(|a| format!("  {a}"))
                        .unwrap_or_default(),
                ),
                Span::styled(format!("  {}", s.source), theme.muted),
            ]),
            (Some(s), _) => Line::from(vec![
                Span::raw(format!("{}  ", k.host)),
                Span::styled("SESSION LOST", theme.crit),
                Span::raw(format!("  {}", s.error.as_deref().unwrap_or("no session"))),
            ]),
            (None, problem) => Line::from(Span::styled(
                format!("{}  {}", k.host, problem.as_deref().unwrap_or("-")),
                theme.muted,
            )),
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no host answered", theme.muted)));
    }
    if let Some(why) = &replication.zookeeper_exception_missing {
        lines.push(Line::from(Span::styled(why.clone(), theme.muted)));
    }
    let height = lines.len().min(6) as u16 + 2;
    Panel::text("ZooKeeper / Keeper", lines, Constraint::Length(height))
        .with_problem(clickhouse_problem(model))
        .from_source(Source::ClickHouse)
}

struct Replicas<'a> {
    model: &'a Model,
    rows: Vec<(&'a str, &'a Replica)>,
}

const REPLICA_COLUMNS: &[Column] = &[
    Column::text("HOST", Constraint::Fill(2)),
    Column::text("TABLE", Constraint::Fill(3)),
    Column::text("RO", Constraint::Length(3)),
    Column::num("DELAY", Constraint::Length(7)),
    Column::num("QUEUE", Constraint::Length(6)),
    Column::num("LOG GAP", Constraint::Length(7)),
    Column::num("ACTIVE", Constraint::Length(6)),
    Column::num("INSERTS", Constraint::Length(7)).from_width(110),
    Column::num("MERGES", Constraint::Length(6)).from_width(110),
    Column::text("REPLICA", Constraint::Fill(1)).from_width(130),
];

impl ListSource for Replicas<'_> {
    fn columns(&self) -> &'static [Column] {
        REPLICA_COLUMNS
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, r) = self.rows[i];
        format!("{host}/{}.{}", r.database, r.table)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, r) = self.rows[i];
        format!("{}.{}\n{host}\n{}", r.database, r.table, r.replica_name)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let (host, r) = self.rows[i];
        match column {
            0 => SortKey::Text(host.to_string()),
            1 => SortKey::Text(qualified(&r.database, &r.table)),
            2 => SortKey::Num(f64::from(u8::from(r.is_readonly))),
            3 => SortKey::Num(r.absolute_delay_s as f64),
            4 => SortKey::Num(r.queue_size as f64),
            5 => SortKey::Num(r.log_gap as f64),
            6 => SortKey::Num(r.active_replicas as f64),
            7 => SortKey::Num(r.inserts_in_queue as f64),
            8 => SortKey::Num(r.merges_in_queue as f64),
            _ => SortKey::Text(r.replica_name.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps them worst first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, r) = self.rows[i];
        let table = qualified(&r.database, &r.table);
        let judge = |rule, value: f64| {
            judge::style(
                self.model,
                theme,
                rule,
                SubjectKind::Table,
                &table,
                Some(value),
            )
        };
        let ro = if r.is_readonly {
            Line::from(Span::styled("RO", judge(RuleKind::ReadonlyReplica, 1.0)))
        } else {
            Line::from(Span::styled("-", theme.muted))
        };
        let active_style = if r.active_replicas < r.total_replicas {
            theme.warn
        } else {
            theme.text
        };
        vec![
            cell(host.to_string()),
            cell(table.clone()),
            ro,
            num_cell(
                format::seconds(r.absolute_delay_s as f64),
                judge(RuleKind::ReplicaDelay, r.absolute_delay_s as f64),
            ),
            num_cell(format::thousands(r.queue_size), theme.text),
            num_cell(format::thousands(r.log_gap), theme.text),
            num_cell(
                format!("{}/{}", r.active_replicas, r.total_replicas),
                active_style,
            ),
            num_cell(format::thousands(r.inserts_in_queue), theme.muted),
            num_cell(format::thousands(r.merges_in_queue), theme.muted),
            Line::from(Span::styled(r.replica_name.clone(), theme.muted)),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        let r = self.rows[i].1;
        Some(View::Table {
            database: r.database.clone(),
            table: r.table.clone(),
        })
    }
}

struct Queues<'a>(&'a Model, Vec<(&'a str, &'a ReplicationQueue)>);

const QUEUE_COLUMNS: &[Column] = &[
    Column::text("HOST", Constraint::Fill(2)),
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("ENTRIES", Constraint::Length(7)),
    Column::num("OLDEST", Constraint::Length(7)),
    Column::num("STUCK", Constraint::Length(5)),
    Column::num("TRIES", Constraint::Length(6)),
    Column::text("WORST ENTRY", Constraint::Fill(4)).from_width(100),
];

impl ListSource for Queues<'_> {
    fn columns(&self) -> &'static [Column] {
        QUEUE_COLUMNS
    }
    fn len(&self) -> usize {
        self.1.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, q) = self.1[i];
        format!("{host}/{}.{}", q.database, q.table)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, q) = self.1[i];
        format!(
            "{}.{}\n{host}\n{}",
            q.database, q.table, q.worst.last_exception
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let (host, q) = self.1[i];
        match column {
            0 => SortKey::Text(host.to_string()),
            1 => SortKey::Text(qualified(&q.database, &q.table)),
            2 => SortKey::Num(q.entries as f64),
            3 => SortKey::Num(q.oldest_age_s as f64),
            4 => SortKey::Num(q.stuck as f64),
            5 => SortKey::Num(q.worst.num_tries as f64),
            _ => SortKey::Text(q.worst.last_exception.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, q) = self.1[i];
        let table = qualified(&q.database, &q.table);
        let stuck = judge::style(
            self.0,
            theme,
            RuleKind::ReplicationQueueStuck,
            SubjectKind::Table,
            &table,
            Some(q.stuck as f64),
        );
        let w = &q.worst;
        let why = match (&w.postpone_reason, w.last_exception.is_empty()) {
            (Some(p), _) => format!(" postponed: {p}"),
            (None, false) => format!(" {}", w.last_exception),
            (None, true) => String::new(),
        };
        vec![
            cell(host.to_string()),
            cell(table),
            num_cell(format::thousands(q.entries), theme.text),
            num_cell(format::seconds(q.oldest_age_s as f64), theme.text),
            num_cell(q.stuck.to_string(), stuck),
            num_cell(format::thousands(w.num_tries), theme.text),
            Line::from(vec![
                Span::raw(format!("{} {}", w.kind, w.new_part_name)),
                Span::styled(why, theme.muted),
            ]),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        let q = self.1[i].1;
        Some(View::Table {
            database: q.database.clone(),
            table: q.table.clone(),
        })
    }
}
