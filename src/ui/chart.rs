//! The drill-downs' charts: a few panes of lines over the zoom window, each with the levels that
//! matter drawn across it (alert thresholds, ClickHouse's parts limits), and a time axis in human
//! units ending at the newest poll. Screens describe the panes from the model (the series are
//! views: nothing is copied until a pane is drawn); this module lays them out and draws them.
//!
//! Lines and levels differ in shape as well as colour, so they read without colour (`NO_COLOR`):
//! lines are drawn in braille, levels as dotted rows of `•`, and the legend names each. A pane too
//! small for a chart becomes one line: its name, a sparkline of its first line and the values.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition, Paragraph,
};

use super::sparkline;
use super::theme::Theme;
use super::view::Zoom;
use crate::format;
use crate::model::series::{Times, Values, timed};

/// A chart pane narrower or lower than this (inside the panel) is drawn as a one-line summary.
const MIN_PANE_WIDTH: u16 = 34;
const MIN_PANE_HEIGHT: u16 = 7;

/// The panes of one drill-down, over one time axis.
pub struct Charts {
    pub times: Times,
    pub zoom: Zoom,
    pub panes: Vec<Pane>,
}

pub struct Pane {
    /// What is plotted, with the latest figure and any projection ("lag 12k · drains in 3m").
    pub title: String,
    pub unit: Unit,
    pub lines: Vec<Plot>,
    pub levels: Vec<Level>,
}

/// One line: a series of the model, drawn in a style of the theme.
pub struct Plot {
    pub name: &'static str,
    pub values: Values,
    pub style: Style,
}

/// A level drawn across the pane: a threshold or a limit.
pub struct Level {
    pub name: String,
    pub value: f64,
    pub style: Style,
}

/// How the y axis is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    PerSecond,
    Millis,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count => format::compact(v.max(0.0).round() as u64),
            Unit::Seconds => format::seconds(v.max(0.0)),
            Unit::PerSecond => format::rate(v.max(0.0)),
            Unit::Millis => format!("{:.0}ms", v.max(0.0)),
        }
    }
}

/// Draws the panes side by side when each gets a chart's room, stacked when only the height
/// allows, the first as a chart over one line for each other when only one fits, otherwise as one
/// summary line each.
pub fn render(frame: &mut Frame, area: Rect, charts: &Charts, theme: &Theme) {
    let n = charts.panes.len().max(1) as u16;
    if area.width / n >= MIN_PANE_WIDTH && area.height >= MIN_PANE_HEIGHT {
        let areas = Layout::horizontal(charts.panes.iter().map(|_| Constraint::Fill(1)))
            .spacing(2)
            .split(area);
        for (pane, area) in charts.panes.iter().zip(areas.iter()) {
            draw_pane(frame, *area, charts, pane, theme);
        }
    } else if area.width >= MIN_PANE_WIDTH && area.height / n >= MIN_PANE_HEIGHT {
        let areas = Layout::vertical(charts.panes.iter().map(|_| Constraint::Fill(1))).split(area);
        for (pane, area) in charts.panes.iter().zip(areas.iter()) {
            draw_pane(frame, *area, charts, pane, theme);
        }
    } else if area.width >= MIN_PANE_WIDTH && area.height >= MIN_PANE_HEIGHT + n - 1 {
        // The first pane as a chart, the others as lines under it.
        let [first, rest] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(n - 1)]).areas(area);
        if let Some(pane) = charts.panes.first() {
            draw_pane(frame, first, charts, pane, theme);
        }
        summary_lines(
            frame,
            rest,
            charts,
            &charts.panes[1.min(charts.panes.len())..],
            theme,
        );
    } else {
        summary_lines(frame, area, charts, &charts.panes, theme);
    }
}

fn summary_lines(frame: &mut Frame, area: Rect, charts: &Charts, panes: &[Pane], theme: &Theme) {
    let lines: Vec<Line> = panes
        .iter()
        .map(|p| summary_line(charts, p, area.width, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// "lag 12k ▁▂▃▅▇ · drains in 3m": the pane's title around a sparkline of its first line.
fn summary_line(charts: &Charts, pane: &Pane, width: u16, theme: &Theme) -> Line<'static> {
    let title = pane.title.clone();
    let room = usize::from(width).saturating_sub(title.chars().count() + 2);
    let spark = pane.lines.first().map_or_else(String::new, |plot| {
        sparkline::blocks(
            &charts.times,
            &plot.values,
            charts.zoom.seconds(),
            room.min(30),
        )
    });
    let style = pane.lines.first().map_or(theme.text, |p| p.style);
    Line::from(vec![
        Span::styled(spark, style),
        Span::raw(" "),
        Span::styled(title, theme.text),
    ])
}

fn draw_pane(frame: &mut Frame, area: Rect, charts: &Charts, pane: &Pane, theme: &Theme) {
    let window = charts.zoom.seconds();
    let Some(newest) = charts.times.last() else {
        return;
    };
    let since = newest - (window * 1000.0) as i64;
    let data: Vec<Vec<(f64, f64)>> = pane
        .lines
        .iter()
        .map(|plot| {
            timed(&charts.times, &plot.values, since)
                .into_iter()
                .map(|(t, v)| ((t - newest) as f64 / 1000.0, f64::from(v)))
                .collect()
        })
        .collect();
    let levels: Vec<[(f64, f64); 2]> = pane
        .levels
        .iter()
        .map(|l| [(-window, l.value), (0.0, l.value)])
        .collect();
    let top = data
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .chain(pane.levels.iter().map(|l| l.value))
        .fold(0.0_f64, f64::max);
    // Headroom above the highest line, and a floor so an all-zero pane still has a scale.
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut datasets: Vec<Dataset> = pane
        .lines
        .iter()
        .zip(&data)
        .map(|(plot, points)| {
            Dataset::default()
                .name(plot.name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(plot.style)
                .data(points)
        })
        .collect();
    datasets.extend(pane.levels.iter().zip(&levels).map(|(level, points)| {
        Dataset::default()
            .name(level.name.clone())
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(level.style)
            .data(points)
    }));
    let x_labels: Vec<Span> = time_labels(charts.zoom, area.width)
        .into_iter()
        .map(|l| Span::styled(l, theme.muted))
        .collect();
    let y_labels: Vec<Span> = [0.0, top / 2.0, top]
        .into_iter()
        .map(|v| Span::styled(pane.unit.format(v), theme.muted))
        .collect();
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(theme.border)
                .title(Span::styled(format!(" {} ", pane.title), theme.header)),
        )
        .x_axis(
            Axis::default()
                .style(theme.border)
                .bounds([-window, 0.0])
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .style(theme.border)
                .bounds([0.0, top])
                .labels(y_labels),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Ratio(2, 3), Constraint::Ratio(2, 3)));
    frame.render_widget(chart, area);
}

/// "-15m … now", fewer labels on a narrow pane.
fn time_labels(zoom: Zoom, width: u16) -> Vec<String> {
    let all: &[&str] = match zoom {
        Zoom::FiveMinutes => &["-5m", "-4m", "-3m", "-2m", "-1m", "now"],
        Zoom::FifteenMinutes => &["-15m", "-10m", "-5m", "now"],
        Zoom::Hour => &["-1h", "-45m", "-30m", "-15m", "now"],
    };
    let labels: Vec<&str> = if width >= 60 {
        all.to_vec()
    } else {
        vec![all[0], all[all.len() - 1]]
    };
    labels.into_iter().map(str::to_string).collect()
}
