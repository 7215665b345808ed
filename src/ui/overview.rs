//! The first screen: header, consumer groups, ClickHouse tables, key hints.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::app::App;
use super::style::Palette;
use crate::clickhouse::snapshot::Section;
use crate::kafka::admin::GroupState;
use crate::model::lag::GroupLag;
use crate::source::SourceStatus;
use crate::time::short_duration;

/// Data older than this many refreshes is drawn as stale.
const STALE_AFTER_REFRESHES: u32 = 3;

pub fn draw(frame: &mut Frame, app: &mut App, palette: &Palette, refresh: Duration) {
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let tables_height = app.model.clickhouse.tables.len().clamp(1, 8) as u16 + 3;
    let [groups_area, tables_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(tables_height)]).areas(body);

    draw_header(frame, header, app, palette, refresh);
    draw_groups(frame, groups_area, app, palette, refresh);
    draw_tables(frame, tables_area, app, palette, refresh);
    draw_hints(frame, hints, app, palette);
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, palette: &Palette, refresh: Duration) {
    let mut spans = vec![
        Span::styled(" pipetop ", palette.accent),
        Span::styled(app.context.clone(), palette.header),
        Span::raw("  "),
    ];
    let kafka = &app.model.sources.kafka;
    let brokers = kafka
        .last_good
        .as_ref()
        .map(|s| format!("kafka {} brokers", s.brokers.len()))
        .unwrap_or_else(|| "kafka".to_string());
    spans.push(Span::raw(brokers));
    spans.push(age_span(kafka, app, palette, refresh));
    spans.push(Span::raw("  "));
    let clickhouse = &app.model.sources.clickhouse;
    let version = clickhouse
        .last_good
        .as_ref()
        .map(|s| format!("clickhouse {}", s.server.version))
        .unwrap_or_else(|| "clickhouse".to_string());
    spans.push(Span::raw(version));
    spans.push(age_span(clickhouse, app, palette, refresh));
    if app.paused {
        spans.push(Span::styled("  PAUSED", palette.warn));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// " · 2s ago" in the normal colour, stale colour when old, crit with "down" when failing.
fn age_span<T>(
    status: &SourceStatus<T>,
    app: &App,
    palette: &Palette,
    refresh: Duration,
) -> Span<'static> {
    let age = status.age(app.now);
    let text = match (age, &status.error) {
        (None, None) => " · connecting…".to_string(),
        (None, Some(_)) => " · DOWN".to_string(),
        (Some(age), Some(_)) => format!(" · DOWN, data {} old", short_duration(age)),
        (Some(age), None) => format!(" · {}", age_text(age)),
    };
    let style = if status.error.is_some() {
        palette.crit
    } else if age.is_some_and(|a| a > refresh * STALE_AFTER_REFRESHES) {
        palette.stale
    } else {
        palette.muted
    };
    Span::styled(text, style)
}

fn panel<'a, T>(title: &'a str, status: &SourceStatus<T>, palette: &Palette) -> Block<'a> {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(palette.border)
        .title(Span::styled(format!(" {title} "), palette.header));
    if let Some(error) = &status.error {
        block = block.title_bottom(Span::styled(format!(" {} ", error.message), palette.crit));
    }
    block
}

fn draw_groups(frame: &mut Frame, area: Rect, app: &mut App, palette: &Palette, refresh: Duration) {
    let status = &app.model.sources.kafka;
    let block = panel("Consumer groups", status, palette);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if status.last_good.is_none() {
        let text = if status.error.is_some() {
            "no data yet"
        } else {
            "waiting for the first poll…"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, palette.muted)), inner);
        return;
    }
    let stale = status.error.is_some()
        || status
            .age(app.now)
            .is_some_and(|a| a > refresh * STALE_AFTER_REFRESHES);

    let groups = &app.model.kafka.groups;
    if groups.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no consumer groups", palette.muted)),
            inner,
        );
        return;
    }
    // Only the visible window of rows is built: thousands of groups cost nothing off screen.
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    app.selected = app.selected.min(groups.len() - 1);
    if app.selected < app.scroll {
        app.scroll = app.selected;
    } else if app.selected >= app.scroll + visible {
        app.scroll = app.selected + 1 - visible;
    }
    let rows = groups
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(visible)
        .map(|(i, g)| {
            let style = if i == app.selected {
                palette.selection
            } else {
                Style::default()
            };
            group_row(g, palette, stale).style(style)
        });
    let header = Row::new([
        "GROUP",
        "STATE",
        "MEMBERS",
        "TOPICS",
        "LAG",
        "MAX",
        "NO COMMIT",
    ])
    .style(palette.header);
    let table = Table::new(
        rows,
        [
            Constraint::Fill(3),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Fill(2),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Length(9),
        ],
    )
    .header(header);
    frame.render_widget(table, inner);
}

fn group_row<'a>(g: &'a GroupLag, palette: &Palette, stale: bool) -> Row<'a> {
    let state_style = match g.state {
        GroupState::Stable => palette.ok,
        GroupState::Empty | GroupState::Dead => palette.warn,
        _ => palette.text,
    };
    let lag_style = if g.total_lag > 0 {
        palette.warn
    } else {
        palette.text
    };
    let dim = |s: Style| if stale { palette.stale } else { s };
    Row::new(vec![
        Cell::from(g.group_id.as_str()),
        Cell::from(Span::styled(state_label(g.state), dim(state_style))),
        Cell::from(g.members.to_string()),
        Cell::from(g.topics.join(",")),
        Cell::from(Span::styled(thousands(g.total_lag), dim(lag_style))),
        Cell::from(thousands(g.max_lag)),
        Cell::from(match g.partitions_without_commit {
            0 => String::new(),
            n => n.to_string(),
        }),
    ])
}

fn draw_tables(frame: &mut Frame, area: Rect, app: &App, palette: &Palette, _refresh: Duration) {
    let status = &app.model.sources.clickhouse;
    let block = panel("ClickHouse tables", status, palette);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(snapshot) = &status.last_good else {
        let text = if status.error.is_some() {
            "no data yet"
        } else {
            "waiting for the first poll…"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, palette.muted)), inner);
        return;
    };
    let tables = match &snapshot.tables {
        Section::Ok { data } => data,
        Section::Unavailable { reason } => {
            frame.render_widget(
                Paragraph::new(Span::styled(reason.as_str(), palette.muted)),
                inner,
            );
            return;
        }
        Section::Failed { error } => {
            frame.render_widget(
                Paragraph::new(Span::styled(error.as_str(), palette.crit)),
                inner,
            );
            return;
        }
    };
    if tables.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no MergeTree tables", palette.muted)),
            inner,
        );
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let rows = tables.iter().take(visible).map(|t| {
        Row::new(vec![
            Cell::from(format!("{}.{}", t.database, t.table)),
            Cell::from(thousands(t.active_parts)),
            Cell::from(thousands(t.partitions)),
            Cell::from(format!(
                "{} ({})",
                t.max_parts_in_partition, t.worst_partition
            )),
            Cell::from(thousands(t.rows)),
        ])
    });
    let header = Row::new([
        "TABLE",
        "PARTS",
        "PARTITIONS",
        "MAX PARTS/PARTITION",
        "ROWS",
    ])
    .style(palette.header);
    let table = Table::new(
        rows,
        [
            Constraint::Fill(3),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Fill(2),
            Constraint::Length(14),
        ],
    )
    .header(header);
    frame.render_widget(table, inner);
}

fn draw_hints(frame: &mut Frame, area: Rect, app: &App, palette: &Palette) {
    let pause = if app.paused { "resume" } else { "pause" };
    let keys = [
        ("j/k", "move"),
        ("r", "refresh"),
        ("p", pause),
        ("q", "quit"),
    ];
    let spans: Vec<Span> = keys
        .iter()
        .flat_map(|(k, what)| {
            [
                Span::styled(format!(" {k} "), palette.accent),
                Span::styled(*what, palette.muted),
            ]
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Both rebalance phases mean the same to an on-call engineer: consumption is paused right now.
pub fn state_label(state: GroupState) -> &'static str {
    match state {
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => "Rebalancing",
        other => other.as_str(),
    }
}

/// "now" below a second: sub-second ages are poll jitter, not information.
fn age_text(age: Duration) -> String {
    if age < Duration::from_secs(1) {
        "now".to_string()
    } else {
        format!("{} ago", short_duration(age))
    }
}

/// 1234567 → "1,234,567": lag is read at a glance, digits counted by nobody.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
