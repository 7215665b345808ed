//! A panel of the body: a titled list or text, where its figures come from, and why they may be
//! missing or old. Screens build panels from the model; `body` draws them.

use std::time::SystemTime;

use ratatui::layout::Constraint;
use ratatui::text::Line;

use super::chart::Charts;
use super::list::ListSource;
use crate::model::Model;

pub struct Panel<'a> {
    pub title: String,
    pub body: PanelBody<'a>,
    pub height: Constraint,
    /// What an empty list says ("no consumer groups").
    pub empty: &'static str,
    /// Why the data is missing or old (source down, section unavailable), shown on the border.
    pub problem: Option<String>,
    /// The source the figures come from: its data age is shown when old, and an empty list
    /// before its first poll says so instead of "no groups".
    pub source: Option<Source>,
    /// Shown only when the body is at least this many rows tall (0: always); below that it takes
    /// no room, so what matters more keeps its rows on a small terminal.
    pub shown_from_rows: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kafka,
    ClickHouse,
    /// Figures of both halves side by side (the pipeline strip): as old as the staler one.
    Both,
}

pub enum PanelBody<'a> {
    List(Box<dyn ListSource + 'a>),
    Text(Vec<Line<'static>>),
    Chart(Charts),
}

impl<'a> Panel<'a> {
    pub fn list(
        title: impl Into<String>,
        source: impl ListSource + 'a,
        height: Constraint,
        empty: &'static str,
    ) -> Panel<'a> {
        Panel {
            title: title.into(),
            body: PanelBody::List(Box::new(source)),
            height,
            empty,
            problem: None,
            source: None,
            shown_from_rows: 0,
        }
    }

    pub fn text(
        title: impl Into<String>,
        lines: Vec<Line<'static>>,
        height: Constraint,
    ) -> Panel<'a> {
        Panel {
            title: title.into(),
            body: PanelBody::Text(lines),
            height,
            empty: "",
            problem: None,
            source: None,
            shown_from_rows: 0,
        }
    }

    pub fn chart(title: impl Into<String>, charts: Charts, height: Constraint) -> Panel<'a> {
        Panel {
            title: title.into(),
            body: PanelBody::Chart(charts),
            height,
            empty: "",
            problem: None,
            source: None,
            shown_from_rows: 0,
        }
    }

    pub fn with_problem(mut self, problem: Option<String>) -> Panel<'a> {
        self.problem = problem;
        self
    }

    pub fn shown_from_rows(mut self, rows: u16) -> Panel<'a> {
        self.shown_from_rows = rows;
        self
    }

    pub fn from_source(mut self, source: Source) -> Panel<'a> {
        self.source = Some(source);
        self
    }
}

/// When each source last delivered data, and whether its latest poll failed.
pub fn source_state(model: &Model, source: Source) -> (Option<SystemTime>, bool) {
    match source {
        Source::Kafka => (
            model.sources.kafka.last_good_at,
            model.sources.kafka.error.is_some(),
        ),
        Source::ClickHouse => (
            model.sources.clickhouse.last_good_at,
            model.sources.clickhouse.error.is_some(),
        ),
        Source::Both => {
            let (kafka, kafka_failing) = source_state(model, Source::Kafka);
            let (clickhouse, clickhouse_failing) = source_state(model, Source::ClickHouse);
            let staler = match (kafka, clickhouse) {
                (Some(k), Some(c)) => Some(k.min(c)),
                (k, c) => k.or(c),
            };
            (staler, kafka_failing || clickhouse_failing)
        }
    }
}

/// "-" for unknown values: never 0, never NaN.
pub fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".to_string())
}
