//! Everything around the panels: header, breadcrumb, hint bar, prompts and the help overlay.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};

use super::app::{App, Mode};
use super::keys;
use super::theme::Theme;
use crate::alerts::{Alert, AlertState, Severity};
use crate::display_text::{fit, shown};
use crate::format;
use crate::source::SourceState;

/// Below this size the panels would be columns of fragments: a compact summary is shown instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// A terminal too small for the panels still answers "is anything wrong?".
pub fn draw_compact(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let source = |name: &str, failing: bool, polled: bool| {
        let (text, style) = match (failing, polled) {
            (true, _) => ("DOWN", theme.crit),
            (false, true) => ("ok", theme.ok),
            (false, false) => ("…", theme.muted),
        };
        Line::from(vec![
            Span::raw(format!("{name} ")),
            Span::styled(text, style),
        ])
    };
    let sources = &app.model.sources;
    let lines = vec![
        Line::from(vec![
            Span::styled("pipetop ", theme.accent),
            Span::styled(shown(&app.context).into_owned(), theme.accent),
        ]),
        alert_summary(app, false),
        source(
            "kafka",
            sources.kafka.error.is_some(),
            sources.kafka.last_good_at.is_some(),
        ),
        source(
            "clickhouse",
            sources.clickhouse.error.is_some(),
            sources.clickhouse.last_good_at.is_some(),
        ),
        Line::from(Span::styled(
            format!("enlarge to {MIN_WIDTH}×{MIN_HEIGHT} for details"),
            theme.muted,
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

/// Data older than this many refresh intervals is drawn as stale.
const STALE_AFTER_REFRESHES: u32 = 3;

pub fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let model = &app.model;
    let mut spans = vec![
        Span::styled(" pipetop ", theme.accent),
        Span::styled(shown(&app.context).into_owned(), theme.accent),
        Span::styled(" │ ", theme.border),
    ];
    // First, so a narrow terminal never cuts it off: a recording must not pass for live data.
    if let Some(replay) = &app.replay {
        let state = match (replay.playing, replay.at_end) {
            (_, true) => "⏹",
            (true, false) => "⏵",
            (false, false) => "⏸",
        };
        spans.push(Span::styled(
            format!(
                "{state} REPLAY {} {}×",
                crate::recording::at::clock(replay.at),
                replay.speed
            ),
            theme.warn.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::styled(" │ ", theme.border));
    }
    // A frozen screen must say so.
    if app.paused {
        spans.push(Span::styled(
            if app.freezing() {
                "⏸ PAUSING"
            } else {
                "⏸ PAUSED"
            },
            theme.warn.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::styled(" │ ", theme.border));
    }
    let kafka = &model.sources.kafka;
    let down = model.kafka.brokers_down();
    let known = model.kafka.brokers_known();
    match kafka.last_good_at {
        None => spans.push(Span::raw("kafka")),
        Some(_) if down.is_empty() => spans.push(Span::raw(format!(
            "kafka {}",
            format::plural(known, "broker")
        ))),
        // The one thing in the header that must not be missed: say how many, of how many.
        Some(_) => {
            spans.push(Span::raw("kafka "));
            spans.push(Span::styled(
                format!(
                    "brokers {}/{known}, {} down",
                    known - down.len(),
                    down.len()
                ),
                theme.crit.add_modifier(ratatui::style::Modifier::REVERSED),
            ));
        }
    }
    spans.push(age_span(kafka, app));
    spans.push(Span::styled(" │ ", theme.border));
    let clickhouse = &model.sources.clickhouse;
    let version = model
        .clickhouse
        .hosts
        .iter()
        .find_map(|h| h.version.as_deref())
        .map(|v| format!("clickhouse {}", fit(v, 24)))
        .unwrap_or_else(|| "clickhouse".to_string());
    spans.push(Span::raw(version));
    spans.push(age_span(clickhouse, app));
    // Of several hosts, one down leaves the source up: say which, and how old its last answer is.
    let hosts = &model.clickhouse.hosts;
    let down: Vec<_> = model.clickhouse.down_hosts().collect();
    if clickhouse.error.is_none()
        && let Some(first) = down.first()
    {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!(
                "hosts {}/{}, {} down",
                hosts.len() - down.len(),
                hosts.len(),
                down.len()
            ),
            theme.crit.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        let age = first
            .last_good_at
            .map(|at| app.now.duration_since(at).unwrap_or_default());
        let text = match age {
            Some(age) => format!(" {} DOWN {}", first.host, crate::time::short_duration(age)),
            None => format!(" {} DOWN", first.host),
        };
        spans.push(Span::styled(text, theme.crit));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// " · 2s ago" muted, stale-coloured when old, crit with "DOWN" when the last poll failed.
fn age_span(status: &SourceState, app: &App) -> Span<'static> {
    let theme = &app.theme;
    let age = status.age(app.now);
    let text = match (age, &status.error) {
        (None, None) => " · connecting…".to_string(),
        (None, Some(_)) => " · DOWN".to_string(),
        (Some(age), Some(_)) => format!(" · DOWN {}", crate::time::short_duration(age)),
        (Some(age), None) => format!(" · {}", format::age(age)),
    };
    let style = if status.error.is_some() {
        theme.crit
    } else if age.is_some_and(|a| a > app.refresh * STALE_AFTER_REFRESHES + Duration::from_secs(1))
    {
        theme.stale
    } else {
        theme.muted
    };
    Span::styled(text, style)
}

pub fn draw_breadcrumb(frame: &mut Frame, area: Rect, app: &App) {
    let crumb = breadcrumb(app);
    // Where you are wins over the alert summary: the summary shrinks to counts, then to nothing.
    let room = area.width.saturating_sub(crumb.width() as u16 + 2);
    let full = alert_summary(app, true);
    let alerts = if full.width() as u16 <= room {
        full
    } else {
        alert_summary(app, false)
    };
    if alerts.width() as u16 <= room {
        frame.render_widget(Paragraph::new(alerts).right_aligned(), area);
    }
    frame.render_widget(Paragraph::new(crumb), area);
}

fn breadcrumb(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    for (i, level) in app.stack.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", theme.muted));
        }
        let style = if i + 1 == app.stack.len() {
            theme.header
        } else {
            theme.muted
        };
        // A label names a group or table: a 10,000-character one must leave the others room.
        spans.push(Span::styled(
            fit(&level.view.label(), 40).into_owned(),
            style,
        ));
    }
    Line::from(spans)
}

/// "2 CRIT 1 WARN · consumer_time_lag group clickhouse_group" or "no alerts": on every screen.
fn alert_summary(app: &App, with_newest: bool) -> Line<'static> {
    let theme = &app.theme;
    let active = &app.model.alerts.active;
    let firing: Vec<&Alert> = active
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    let count = |s: Severity| firing.iter().filter(|a| a.severity == s).count();
    let (crit, warn) = (count(Severity::Critical), count(Severity::Warning));
    if firing.is_empty() {
        let pending = active.len();
        return match pending {
            0 => Line::from(Span::styled("✓ no alerts ", theme.ok)),
            n => Line::from(Span::styled(format!("{n} pending · :alerts "), theme.muted)),
        };
    }
    let mut spans = Vec::new();
    if crit > 0 {
        spans.push(Span::styled(
            format!(" {crit} CRIT "),
            theme.crit.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    if warn > 0 {
        spans.push(Span::styled(
            format!(" {warn} WARN "),
            theme.warn.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    // The newest firing alert: what changed last is what the engineer wants to see first.
    if let Some(newest) = firing
        .iter()
        .max_by_key(|a| a.since)
        .filter(|_| with_newest)
    {
        spans.push(Span::styled(
            format!("{} {} ", newest.rule, newest.subject),
            super::screens::severity_style(theme, newest.severity, newest.state),
        ));
    }
    Line::from(spans)
}

/// The bottom line: the prompt while typing, otherwise a notice or the keys that work here.
pub fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let line = match &app.mode {
        Mode::Filter { input, error } => {
            let mut spans = vec![
                Span::styled(" /", theme.accent),
                Span::raw(shown(input).into_owned()),
                Span::styled("█", theme.muted),
            ];
            if let Some(e) = error {
                spans.push(Span::styled(format!("  {e}"), theme.crit));
            }
            Line::from(spans)
        }
        Mode::Command { input } => {
            let candidates = super::view::complete(input).join(" ");
            Line::from(vec![
                Span::styled(" :", theme.accent),
                Span::raw(shown(input).into_owned()),
                Span::styled("█", theme.muted),
                Span::styled(format!("  {candidates}"), theme.muted),
            ])
        }
        _ => match &app.notice {
            Some(notice) => Line::from(Span::styled(format!(" {}", shown(notice)), theme.warn)),
            None => {
                let zoom = app.level().view.has_charts().then_some(app.zoom);
                let mut hints = keys::hints(&app.mode, app.stack.len(), app.paused, zoom);
                if let (Some(replay), Mode::Normal) = (&app.replay, &app.mode) {
                    // The cursor's keys first: a narrow terminal cuts the end of the line.
                    let mut keys = keys::replay_hints(replay.playing);
                    keys.extend(hints.into_iter().filter(|(k, _)| *k != "p"));
                    hints = keys;
                }
                hint_line(theme, hints)
            }
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn hint_line(theme: &Theme, hints: Vec<(&'static str, &'static str)>) -> Line<'static> {
    let spans: Vec<Span> = hints
        .into_iter()
        .flat_map(|(key, what)| {
            [
                Span::styled(format!(" {key} "), theme.accent),
                Span::styled(what, theme.muted),
            ]
        })
        .collect();
    Line::from(spans)
}

/// `replay`: the replay's keys are listed first.
pub fn draw_help(frame: &mut Frame, area: Rect, theme: &Theme, replay: bool) {
    let help: Vec<(&str, &str)> = if replay {
        // Polling, pausing the collectors and recording mean nothing in a replay.
        let live_only = ["p", "r", "E"];
        keys::REPLAY_HELP
            .iter()
            .chain(keys::HELP.iter().filter(|(k, _)| !live_only.contains(k)))
            // Space plays a replay; it does not page.
            .map(|&(k, what)| (k.strip_suffix("  Space").unwrap_or(k), what))
            .collect()
    } else {
        keys::HELP.to_vec()
    };
    let width = area.width.min(72);
    let height = area.height.min(help.len() as u16 + 2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent)
        .title(Span::styled(" keys ", theme.header))
        .title_bottom(Span::styled(" any key closes ", theme.muted));
    let rows = help
        .into_iter()
        .map(|(k, what)| Row::new(vec![Span::styled(k, theme.accent), Span::raw(what)]));
    let table = Table::new(rows, [Constraint::Length(17), Constraint::Fill(1)]).block(block);
    frame.render_widget(table, popup);
}

/// Splits the screen: header, breadcrumb, body, footer. Tiny terminals lose the breadcrumb first.
pub fn layout(area: Rect) -> (Rect, Option<Rect>, Rect, Rect) {
    if area.height < 8 {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        return (header, None, body, footer);
    }
    let [header, crumb, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    (header, Some(crumb), body, footer)
}
