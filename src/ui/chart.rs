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
    // Two braille dots a cell across: more points than that only cost time to draw.
    let columns = usize::from(area.width) * 2;
    let data: Vec<Vec<(f64, f64)>> = pane
        .lines
        .iter()
        .map(|plot| {
            let points: Vec<(f64, f64)> = timed(&charts.times, &plot.values, since)
                .into_iter()
                .map(|(t, v)| ((t - newest) as f64 / 1000.0, f64::from(v)))
                .collect();
            thin(points, window, columns)
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

/// At most the lowest and the highest point of each of `columns` equal slices of the window, in
/// time order: the line keeps its spikes and dips however many points an hour holds.
fn thin(points: Vec<(f64, f64)>, window: f64, columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * columns || columns == 0 {
        return points;
    }
    let slice = window / columns as f64;
    let mut out = Vec::with_capacity(2 * columns);
    let mut i = 0;
    while i < points.len() {
        let column = ((points[i].0 + window) / slice).floor();
        let mut end = i;
        while end < points.len() && ((points[end].0 + window) / slice).floor() == column {
            end += 1;
        }
        let group = &points[i..end];
        let low = (0..group.len()).min_by(|&a, &b| group[a].1.total_cmp(&group[b].1));
        let high = (0..group.len()).max_by(|&a, &b| group[a].1.total_cmp(&group[b].1));
        if let (Some(low), Some(high)) = (low, high) {
            out.push(group[low.min(high)]);
            if low != high {
                out.push(group[low.max(high)]);
            }
        }
        i = end.max(i + 1);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_each_slices_extremes_in_time_order() {
        // 3,600 points over an hour, a spike at -1800 s, into 100 slices.
        let points: Vec<(f64, f64)> = (0..3_600)
            .map(|i| (f64::from(i) - 3_600.0, if i == 1_800 { 99.0 } else { 1.0 }))
            .collect();
        let thinned = thin(points, 3_600.0, 100);
        assert!(thinned.len() <= 200, "{}", thinned.len());
        assert!(thinned.iter().any(|p| p.1 == 99.0), "the spike survives");
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0));
        // Few points: untouched.
        let few = vec![(-2.0, 1.0), (-1.0, 2.0)];
        assert_eq!(thin(few.clone(), 10.0, 5), few);
    }
}
