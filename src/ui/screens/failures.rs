//! Failed inserts from query_log, grouped by table and exception code, and one failure in full.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::tables::clickhouse_problem;
use crate::model::Model;
use crate::model::clickhouse::FailedInsert;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::View;

fn key(f: &FailedInsert) -> String {
    match &f.async_status {
        None => format!("{}/{}/{}", f.host, f.table, f.exception_code),
        Some(status) => format!("{}/{}/{}/{status}", f.host, f.table, f.exception_code),
    }
}

/// How an async insert was lost, in words.
fn async_failure(status: &str) -> &'static str {
    match status {
        "ParsingError" => "async insert: its data could not be parsed",
        "FlushError" => "async insert: the flush to the table failed",
        _ => "async insert: lost",
    }
}

pub fn list_panel(model: &Model) -> Panel<'_> {
    Panel::list(
        "Failed inserts in the window",
        Failures(&model.clickhouse.failed_inserts),
        Constraint::Fill(1),
        "no failed inserts in the window",
    )
    .with_problem(clickhouse_problem(model))
    .from_source(Source::ClickHouse)
}

struct Failures<'a>(&'a [FailedInsert]);

const COLUMNS: &[Column] = &[
    Column::text("TABLE", Constraint::Fill(2)),
    Column::num("CODE", Constraint::Length(5)),
    Column::num("COUNT", Constraint::Length(6)),
    Column::text("LATEST", Constraint::Length(8)).from_width(90),
    Column::text("EXCEPTION", Constraint::Fill(5)),
];

impl ListSource for Failures<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        key(&self.0[i])
    }
    fn filter_text(&self, i: usize) -> String {
        let f = &self.0[i];
        format!("{}\n{}\n{}", f.table, f.exception_code, f.latest_exception)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let f = &self.0[i];
        match column {
            0 => SortKey::Text(f.table.clone()),
            1 => SortKey::Num(f64::from(f.exception_code)),
            2 => SortKey::Num(f.failures as f64),
            3 => SortKey::Num(f64::from(f.latest_time)),
            _ => SortKey::Text(f.latest_exception.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps them newest first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let f = &self.0[i];
        let table = match &f.async_status {
            None => cell(f.table.clone()),
            Some(_) => Line::from(vec![
                Span::raw(f.table.clone()),
                Span::styled(" async", theme.muted),
            ]),
        };
        vec![
            table,
            num_cell(f.exception_code.to_string(), theme.text),
            num_cell(f.failures.to_string(), theme.warn),
            Line::from(Span::styled(clock(f.latest_time), theme.muted)),
            cell(first_line(&f.latest_exception).to_string()),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Failure {
            key: key(&self.0[i]),
        })
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Unix seconds as UTC "hh:mm:ss": failures are recent, the date is noise.
pub fn clock(unix_s: u32) -> String {
    let s = unix_s % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

pub fn detail_panels<'a>(model: &'a Model, key_wanted: &str, theme: &Theme) -> Vec<Panel<'a>> {
    let Some(f) = model
        .clickhouse
        .failed_inserts
        .iter()
        .find(|f| key(f) == key_wanted)
    else {
        return vec![Panel::text(
            "failure",
            vec![Line::from(Span::styled(
                "this failure is no longer in the window",
                theme.muted,
            ))],
            Constraint::Fill(1),
        )];
    };
    let label = |l: &str| Span::styled(format!("{l:<12}"), theme.muted);
    let mut lines = vec![
        Line::from(vec![
            label("table"),
            Span::styled(f.table.clone(), theme.header),
        ]),
        Line::from(vec![label("host"), Span::raw(f.host.clone())]),
        Line::from(vec![label("code"), Span::raw(f.exception_code.to_string())]),
    ];
    if let Some(status) = &f.async_status {
        lines.push(Line::from(vec![
            label("lost"),
            Span::styled(async_failure(status), theme.warn),
            Span::styled(
                format!(
                    " ({}; accepted, then not written: the rows are lost unless the client retries)",
                    crate::format::bytes(f.bytes)
                ),
                theme.muted,
            ),
        ]));
    }
    lines.extend([
        Line::from(vec![
            label("failures"),
            Span::raw(format!("{} in the window", f.failures)),
        ]),
        Line::from(vec![
            label("latest"),
            Span::raw(format!("{} UTC", clock(f.latest_time))),
        ]),
        Line::from(vec![
            label("query id"),
            Span::raw(f.latest_query_id.clone()),
        ]),
        Line::from(""),
        Line::from(Span::styled("query", theme.muted)),
    ]);
    // The query first: it is short, and a long stack trace below must not push it off screen.
    lines.extend(f.latest_query.lines().map(|l| Line::from(l.to_string())));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("exception", theme.muted)));
    lines.extend(
        f.latest_exception
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), theme.crit))),
    );
    vec![Panel::text(
        format!("failed insert into {}", f.table),
        lines,
        Constraint::Fill(1),
    )]
}
