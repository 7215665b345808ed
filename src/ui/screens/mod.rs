//! Every screen is a column of panels: lists (navigable, filterable, sortable) and text blocks.
//! `panels` says what a view shows, read straight from the model; `draw` lays them out.

mod activity;
mod alerts;
mod failures;
mod groups;
mod judge;
mod overview;
mod pipelines;
mod table;
mod tables;
mod topics;

pub use alerts::{severity_style, view_of};
pub use table::focus_of;

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::list::{self, ListSource};
use super::theme::Theme;
use super::view::View;
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kafka,
    ClickHouse,
}

pub enum PanelBody<'a> {
    List(Box<dyn ListSource + 'a>),
    Text(Vec<Line<'static>>),
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
        }
    }

    pub fn with_problem(mut self, problem: Option<String>) -> Panel<'a> {
        self.problem = problem;
        self
    }

    pub fn from_source(mut self, source: Source) -> Panel<'a> {
        self.source = Some(source);
        self
    }
}

/// When each source last delivered data, and whether its latest poll failed.
fn source_state(model: &Model, source: Source) -> (Option<SystemTime>, bool) {
    match source {
        Source::Kafka => (
            model.sources.kafka.last_good_at,
            model.sources.kafka.error.is_some(),
        ),
        Source::ClickHouse => (
            model.sources.clickhouse.last_good_at,
            model.sources.clickhouse.error.is_some(),
        ),
    }
}

pub fn panels<'a>(model: &'a Model, view: &View, theme: &Theme, now: SystemTime) -> Vec<Panel<'a>> {
    match view {
        View::Overview => overview::panels(model),
        View::Groups => vec![groups::list_panel(model, Constraint::Fill(1))],
        View::Group { group } => groups::detail_panels(model, group),
        View::Topics => vec![topics::list_panel(model)],
        View::Topic { topic } => topics::detail_panels(model, topic),
        View::Tables => vec![tables::list_panel(model, Constraint::Fill(1))],
        View::Table { database, table } => table::detail_panels(model, database, table, theme),
        View::Partition { .. } => table::partition_panels(model, view, theme),
        View::Failures => vec![failures::list_panel(model)],
        View::Failure { key } => failures::detail_panels(model, key, theme),
        View::Merges => vec![activity::merges_panel(model)],
        View::Consumers => vec![activity::consumers_panel(model)],
        View::Consumer { key } => activity::consumer_detail(model, key, theme),
        View::Errors => vec![activity::errors_panel(model)],
        View::Alerts => alerts::panels(model, now),
    }
}

/// The panel the keyboard starts on: the first list, except on the overview, where the
/// consumer groups are what one scrolls through (the pipeline strip is a few rows to read).
pub fn default_focus(model: &Model, view: &View, theme: &Theme) -> usize {
    let panels = panels(model, view, theme, SystemTime::now());
    let lists = panels
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.body, PanelBody::List(_)))
        .map(|(i, _)| i);
    match view {
        View::Overview => panels
            .iter()
            .position(|p| p.title == groups::TITLE)
            .unwrap_or(0),
        _ => lists.into_iter().next().unwrap_or(0),
    }
}

/// Draws the current view's panels into `area` and records where list rows landed (for clicks).
pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let view = app.level().view.clone();
    let panels = panels(&app.model, &view, &app.theme, app.now);
    let areas = Layout::vertical(panels.iter().map(|p| p.height)).split(area);
    let focus = app.level().focus;
    let generation = app.generation;
    let theme = app.theme.clone();
    app.row_areas.clear();
    let lists_focusable = panels
        .iter()
        .filter(|p| matches!(p.body, PanelBody::List(_)))
        .count()
        > 1;
    for (i, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        let focused = i == focus;
        let title_style = if focused && lists_focusable {
            theme.accent
        } else {
            theme.header
        };
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(format!(" {} ", panel.title), title_style));
        let (last_good, failing) = panel
            .source
            .map_or((None, false), |s| source_state(&app.model, s));
        let age = last_good.map(|t| app.now.duration_since(t).unwrap_or_default());
        // Old figures look like current ones unless the panel says how old they are.
        if let Some(age) =
            age.filter(|a| failing || *a > app.refresh * 3 + std::time::Duration::from_secs(1))
        {
            block = block.title(Span::styled(
                format!(" data {} old ", crate::time::short_duration(age)),
                theme.stale,
            ));
        }
        if let Some(problem) = &panel.problem {
            block = block.title_bottom(Span::styled(format!(" {problem} "), theme.crit));
        }
        let inner = block.inner(*area);
        frame.render_widget(block, *area);
        match &panel.body {
            PanelBody::List(source) => {
                let last = app.stack.len() - 1;
                let state = app.stack[last].list(i);
                if let Some(filter) = &state.filter {
                    let label = Span::styled(format!(" /{} ", filter.text), theme.accent);
                    frame.render_widget(
                        Paragraph::new(label).right_aligned(),
                        Rect { height: 1, ..*area },
                    );
                }
                let never_polled = panel.source.is_some() && last_good.is_none();
                let empty_text = match (never_polled, failing) {
                    (true, false) => "waiting for the first poll…",
                    (true, true) => "no data: the source has not answered yet",
                    _ => panel.empty,
                };
                list::render(
                    frame,
                    inner,
                    source.as_ref(),
                    state,
                    &list::Look {
                        generation,
                        theme: &theme,
                        focused,
                        empty_text,
                    },
                );
                app.row_areas
                    .push((i, inner.y + 1, inner.height.saturating_sub(1)));
            }
            PanelBody::Text(lines) => {
                frame.render_widget(
                    Paragraph::new(lines.clone()).wrap(Wrap { trim: false }),
                    inner,
                );
            }
        }
    }
}

/// "-" for unknown values: never 0, never NaN.
pub fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".to_string())
}
