//! Alerts: what is firing or pending, since when, against which threshold; and what fired and
//! cleared this session. Enter jumps to the item the alert is about.

use std::cmp::Ordering;
use std::time::SystemTime;

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::alerts::rules::Unit;
use crate::alerts::{Alert, AlertEvent, AlertState, RuleKind, Severity, Subject, SubjectKind};
use crate::model::Model;
use crate::time::short_duration;
use crate::ui::list::{Column, ListSource, SortKey, cell};
use crate::ui::panel::Panel;
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub fn panels(model: &Model, now: SystemTime) -> Vec<Panel<'_>> {
    let active = &model.alerts.active;
    let history = &model.alerts.history;
    let history_rows = (history.len().clamp(1, 10) as u16) + 3;
    vec![
        Panel::list(
            "Alerts: firing and pending",
            Active {
                alerts: active,
                now,
            },
            Constraint::Fill(1),
            "no alerts: every figure is within its threshold",
        ),
        Panel::list(
            "Fired this session",
            History {
                events: history,
                now,
            },
            Constraint::Length(history_rows),
            "nothing fired since pipetop started",
        ),
    ]
}

/// The view an alert's subject drills into.
/// Where an alert of `rule` drills into: the resource rules of a server open `:disks`, a
/// Distributed table's queue `:distribution`; the rest as [`view_of`].
pub fn view_of_alert(rule: RuleKind, subject: &Subject) -> Option<View> {
    match rule {
        RuleKind::DiskFree | RuleKind::MemoryPressure => Some(View::Disks),
        RuleKind::DistributedFiles => Some(View::Distribution),
        _ => view_of(subject),
    }
}

pub fn view_of(subject: &Subject) -> Option<View> {
    let name = subject.name.clone();
    Some(match subject.kind {
        SubjectKind::Group => View::Group { group: name },
        SubjectKind::Topic => View::Topic { topic: name },
        SubjectKind::Table => {
            let (database, table) = name.split_once('.')?;
            View::Table {
                database: database.to_string(),
                table: table.to_string(),
            }
        }
        SubjectKind::Consumer => View::Consumers,
        SubjectKind::Broker => View::Topics,
        SubjectKind::Server => View::Errors,
        SubjectKind::Source => View::Overview,
    })
}

pub fn severity_style(theme: &Theme, severity: Severity, state: AlertState) -> Style {
    match (state, severity) {
        (AlertState::Pending, _) => theme.muted,
        (_, Severity::Critical) => theme.crit,
        (_, Severity::Warning) => theme.warn,
    }
}

fn value_text(a: &Alert) -> String {
    let unit = a.rule.unit();
    match unit {
        Unit::Flag => String::new(),
        // Severe by a condition, not by the value: the detail says which.
        _ if a.forced => unit.format(a.value),
        _ => {
            let direction = if a.below { "<" } else { ">" };
            let (value, threshold) = (unit.format(a.value), unit.format(a.threshold));
            format!("{value} {direction} {threshold}")
        }
    }
}

fn ago(now: SystemTime, t: SystemTime) -> String {
    short_duration(now.duration_since(t).unwrap_or_default())
}

struct Active<'a> {
    alerts: &'a [Alert],
    now: SystemTime,
}

const ACTIVE_COLUMNS: &[Column] = &[
    Column::text("SEV", Constraint::Length(4)),
    Column::text("STATE", Constraint::Length(7)),
    Column::text("RULE", Constraint::Length(23)),
    Column::text("SUBJECT", Constraint::Fill(2)),
    Column::text("VALUE", Constraint::Length(14)).from_width(100),
    Column::num("FOR", Constraint::Length(7)),
    Column::text("DETAIL", Constraint::Fill(3)).from_width(120),
];

impl ListSource for Active<'_> {
    fn columns(&self) -> &'static [Column] {
        ACTIVE_COLUMNS
    }
    fn len(&self) -> usize {
        self.alerts.len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.alerts[i].rule, self.alerts[i].subject)
    }
    fn filter_text(&self, i: usize) -> String {
        let a = &self.alerts[i];
        format!("{}\n{}\n{}", a.rule, a.subject, a.detail)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let a = &self.alerts[i];
        match column {
            0 => SortKey::Num(a.severity as u8 as f64),
            1 => SortKey::Text(format!("{:?}", a.state)),
            2 => SortKey::Text(a.rule.to_string()),
            3 => SortKey::Text(a.subject.to_string()),
            4 => SortKey::Num(a.value),
            5 => SortKey::Num(
                self.now
                    .duration_since(a.since)
                    .unwrap_or_default()
                    .as_secs_f64(),
            ),
            _ => SortKey::Text(a.detail.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The engine lists firing before pending, critical first, oldest first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let a = &self.alerts[i];
        let style = severity_style(theme, a.severity, a.state);
        let severity = match a.severity {
            Severity::Critical => "CRIT",
            Severity::Warning => "WARN",
        };
        let state = match a.state {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
        };
        vec![
            Line::from(Span::styled(severity, style)),
            Line::from(Span::styled(state, style)),
            cell(a.rule.to_string()),
            cell(a.subject.to_string()),
            cell(value_text(a)),
            cell(ago(self.now, a.since)).right_aligned(),
            Line::from(Span::styled(
                a.detail.lines().next().unwrap_or("").to_string(),
                theme.muted,
            )),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        view_of_alert(self.alerts[i].rule, &self.alerts[i].subject)
    }
}

struct History<'a> {
    events: &'a [AlertEvent],
    now: SystemTime,
}

const HISTORY_COLUMNS: &[Column] = &[
    Column::text("SEV", Constraint::Length(4)),
    Column::text("RULE", Constraint::Length(23)),
    Column::text("SUBJECT", Constraint::Fill(2)),
    Column::num("FIRED", Constraint::Length(9)),
    Column::num("LASTED", Constraint::Length(8)),
    Column::num("PEAK", Constraint::Length(8)).from_width(100),
];

impl ListSource for History<'_> {
    fn columns(&self) -> &'static [Column] {
        HISTORY_COLUMNS
    }
    fn len(&self) -> usize {
        self.events.len()
    }
    fn key(&self, i: usize) -> String {
        let e = &self.events[i];
        format!(
            "{}/{}/{}",
            e.rule,
            e.subject,
            crate::time::unix_ms(e.fired_at)
        )
    }
    fn filter_text(&self, i: usize) -> String {
        let e = &self.events[i];
        format!("{}\n{}", e.rule, e.subject)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let e = &self.events[i];
        match column {
            0 => SortKey::Num(e.severity as u8 as f64),
            1 => SortKey::Text(e.rule.to_string()),
            2 => SortKey::Text(e.subject.to_string()),
            3 => SortKey::Num(crate::time::unix_ms(e.fired_at) as f64),
            4 => SortKey::Num(
                e.cleared_at
                    .unwrap_or(self.now)
                    .duration_since(e.fired_at)
                    .unwrap_or_default()
                    .as_secs_f64(),
            ),
            _ => SortKey::Num(e.peak),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let e = &self.events[i];
        let style = severity_style(theme, e.severity, AlertState::Firing);
        let lasted = match e.cleared_at {
            Some(c) => short_duration(c.duration_since(e.fired_at).unwrap_or_default()),
            None => "firing".to_string(),
        };
        let unit = e.rule.unit();
        vec![
            Line::from(Span::styled(
                if e.severity == Severity::Critical {
                    "CRIT"
                } else {
                    "WARN"
                },
                style,
            )),
            cell(e.rule.to_string()),
            cell(e.subject.to_string()),
            cell(format!("{} ago", ago(self.now, e.fired_at))).right_aligned(),
            cell(lasted).right_aligned(),
            cell(unit.format(e.peak)).right_aligned(),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        view_of_alert(self.events[i].rule, &self.events[i].subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_under_its_minimum_reads_as_under() {
        let mut a = Alert {
            rule: RuleKind::TopicTraffic,
            subject: Subject::new(SubjectKind::Topic, "events_topic"),
            severity: Severity::Warning,
            state: AlertState::Firing,
            since: SystemTime::UNIX_EPOCH,
            value: 0.0,
            threshold: 10.0,
            below: true,
            forced: false,
            detail: String::new(),
        };
        assert_eq!(value_text(&a), "0.0 msg/s < 10.0 msg/s");
        a.below = false;
        a.value = 700.0;
        a.threshold = 500.0;
        assert_eq!(value_text(&a), "700.0 msg/s > 500.0 msg/s");
    }
}
