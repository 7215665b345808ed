//! `:disks`: each host's tracked memory against its limit, then one row per host × disk with its
//! free space and, when the last hour's history supports it, when it will be full.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::judge;
use super::tables::clickhouse_problem;
use crate::alerts::{RuleKind, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::resources::DiskState;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;

pub fn panels<'a>(model: &'a Model, theme: &Theme) -> Vec<Panel<'a>> {
    let resources = &model.clickhouse.resources;
    let rows: Vec<(&str, &DiskState)> = resources
        .disks
        .rows
        .iter()
        .map(|d| (d.host.as_str(), &d.item))
        .collect();
    vec![
        memory_panel(model, theme),
        Panel::list(
            "Disks (soonest full first, then least free)",
            Disks { model, rows },
            Constraint::Fill(1),
            "no disks",
        )
        .with_problem(clickhouse_problem(model).or_else(|| resources.disks.problem.clone()))
        .from_source(Source::ClickHouse),
    ]
}

/// One line per host: tracked memory against the limit and where the limit comes from.
fn memory_panel<'a>(model: &'a Model, theme: &Theme) -> Panel<'a> {
    let mut lines: Vec<Line<'static>> = model
        .clickhouse
        .resources
        .memory
        .iter()
        .map(|m| {
            let host = Span::raw(format!("{}  ", m.host));
            match (&m.memory, &m.problem) {
                (Some(mem), _) => match mem.used_ratio() {
                    Some(used) => Line::from(vec![
                        host,
                        Span::styled(
                            format!("{:.0}%", used * 100.0),
                            judge::style(
                                model,
                                theme,
                                RuleKind::MemoryPressure,
                                SubjectKind::Server,
                                &m.host,
                                Some(used),
                            ),
                        ),
                        Span::raw(format!(
                            "  {} of {}",
                            format::bytes(mem.tracked_bytes),
                            format::bytes(mem.limit_bytes.unwrap_or(0))
                        )),
                        Span::styled(
                            format!(" ({})", mem.limit_source.as_deref().unwrap_or("limit")),
                            theme.muted,
                        ),
                    ]),
                    None => Line::from(vec![
                        host,
                        Span::raw(format!("{} tracked", format::bytes(mem.tracked_bytes))),
                        Span::styled(
                            format!("  {}", mem.limit_missing.as_deref().unwrap_or("no limit")),
                            theme.muted,
                        ),
                    ]),
                },
                (None, problem) => Line::from(vec![
                    host,
                    Span::styled(problem.clone().unwrap_or_else(|| "-".into()), theme.muted),
                ]),
            }
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no host answered", theme.muted)));
    }
    let height = lines.len().min(6) as u16 + 2;
    Panel::text(
        "Memory (tracked ÷ limit)",
        lines,
        Constraint::Length(height),
    )
    .with_problem(clickhouse_problem(model))
    .from_source(Source::ClickHouse)
}

struct Disks<'a> {
    model: &'a Model,
    rows: Vec<(&'a str, &'a DiskState)>,
}

const COLUMNS: &[Column] = &[
    Column::text("HOST", Constraint::Fill(2)),
    Column::text("DISK", Constraint::Fill(1)),
    Column::num("FREE %", Constraint::Length(6)),
    Column::num("FREE", Constraint::Length(9)),
    Column::num("TOTAL", Constraint::Length(9)),
    Column::num("FULL IN", Constraint::Length(7)),
    Column::num("KEEP FREE", Constraint::Length(9)).from_width(100),
    Column::text("TYPE", Constraint::Length(13)).from_width(120),
    Column::text("PATH", Constraint::Fill(2)).from_width(140),
];

/// A disk without a total (object storage) has nothing to fill.
fn or_unlimited(d: &DiskState, text: String) -> String {
    if d.free_ratio.is_some() {
        text
    } else {
        "-".into()
    }
}

impl ListSource for Disks<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, d) = self.rows[i];
        format!("{host}/{}", d.disk.name)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, d) = self.rows[i];
        format!("{}\n{host}\n{}", d.disk.name, d.disk.path)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let (host, d) = self.rows[i];
        match column {
            0 => SortKey::Text(host.to_string()),
            1 => SortKey::Text(d.disk.name.clone()),
            2 => SortKey::Num(d.free_ratio.unwrap_or(f64::INFINITY)),
            3 => SortKey::Num(d.disk.free_bytes as f64),
            4 => SortKey::Num(d.disk.total_bytes as f64),
            5 => SortKey::Num(d.full_in_s.unwrap_or(f64::INFINITY)),
            6 => SortKey::Num(d.disk.keep_free_bytes as f64),
            7 => SortKey::Text(d.disk.kind.clone().unwrap_or_default()),
            _ => SortKey::Text(d.disk.path.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps them worst first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, d) = self.rows[i];
        let free_style = judge::style(
            self.model,
            theme,
            RuleKind::DiskFree,
            SubjectKind::Server,
            host,
            d.free_ratio.map(|f| 1.0 - f),
        );
        let full_in = match d.full_in_s {
            Some(s) => num_cell(format::seconds(s), theme.crit),
            None => num_cell("–".to_string(), theme.muted),
        };
        vec![
            cell(host.to_string()),
            cell(d.disk.name.clone()),
            num_cell(
                d.free_ratio
                    .map_or("-".to_string(), |f| format!("{:.0}%", f * 100.0)),
                free_style,
            ),
            num_cell(
                or_unlimited(d, format::bytes(d.disk.free_bytes)),
                theme.text,
            ),
            num_cell(
                or_unlimited(d, format::bytes(d.disk.total_bytes)),
                theme.text,
            ),
            full_in,
            num_cell(format::bytes(d.disk.keep_free_bytes), theme.muted),
            Line::from(Span::styled(
                d.disk.kind.clone().unwrap_or_else(|| "-".into()),
                theme.muted,
            )),
            Line::from(Span::styled(d.disk.path.clone(), theme.muted)),
        ]
    }
}
