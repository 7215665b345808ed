//! The events timeline (`:events`): what changed, newest first, each with its time and subject;
//! Enter jumps to the subject. The overview shows the last few.

use std::cmp::Ordering;
use std::time::SystemTime;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::alerts::view_of;
use crate::alerts::Severity;
use crate::model::Model;
use crate::model::event::Event;
use crate::time::short_duration;
use crate::ui::list::{Column, ListSource, SortKey, cell};
use crate::ui::panel::Panel;
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub const TITLE: &str = "Events";

/// How many events the overview shows, at most.
const RECENT: usize = 4;

/// The overview shows them only in a body this tall: on a smaller terminal the groups and tables
/// keep the rows.
const RECENT_FROM_ROWS: u16 = 36;

pub fn panels(model: &Model, now: SystemTime) -> Vec<Panel<'_>> {
    vec![Panel::list(
        TITLE,
        Events {
            events: &model.events,
            now,
        },
        Constraint::Fill(1),
        "nothing has changed since pipetop started",
    )]
}

/// The newest few events, for the overview; None while there are none (no room taken).
pub fn recent_panel(model: &Model, now: SystemTime) -> Option<Panel<'_>> {
    if model.events.is_empty() {
        return None;
    }
    let shown = model.events.len().min(RECENT);
    Some(
        Panel::list(
            format!("Recent events ({} in :events)", model.events.len()),
            Events {
                events: &model.events[..shown],
                now,
            },
            Constraint::Length(shown as u16 + 3),
            "",
        )
        .shown_from_rows(RECENT_FROM_ROWS),
    )
}

struct Events<'a> {
    events: &'a [Event],
    now: SystemTime,
}

const COLUMNS: &[Column] = &[
    Column::num("AGO", Constraint::Length(9)),
    Column::text("KIND", Constraint::Length(11)).from_width(100),
    Column::text("SUBJECT", Constraint::Fill(1)),
    Column::text("WHAT", Constraint::Fill(3)),
];

impl ListSource for Events<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.events.len()
    }
    fn key(&self, i: usize) -> String {
        let e = &self.events[i];
        format!("{}/{}/{}", crate::time::unix_ms(e.at), e.subject, e.text)
    }
    fn filter_text(&self, i: usize) -> String {
        let e = &self.events[i];
        format!("{}\n{}\n{}", e.kind.name(), e.subject, e.text)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let e = &self.events[i];
        match column {
            0 => SortKey::Num(crate::time::unix_ms(e.at) as f64),
            1 => SortKey::Text(e.kind.name().to_string()),
            2 => SortKey::Text(e.subject.to_string()),
            _ => SortKey::Text(e.text.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The timeline is newest first already.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let e = &self.events[i];
        let style = match e.severity {
            Some(Severity::Critical) => theme.crit,
            Some(Severity::Warning) => theme.warn,
            None => theme.muted,
        };
        let ago = short_duration(self.now.duration_since(e.at).unwrap_or_default());
        vec![
            Line::from(Span::styled(ago, style)).right_aligned(),
            Line::from(Span::styled(e.kind.name(), style)),
            cell(e.subject.to_string()),
            cell(e.text.clone()),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        view_of(&self.events[i].subject)
    }
}
