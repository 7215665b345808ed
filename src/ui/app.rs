//! UI state and key handling. Keys become actions; the event loop carries the actions out.

use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    RefreshNow,
    TogglePause,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
}

pub struct App {
    /// The configured context name, shown in the header.
    pub context: String,
    pub model: Model,
    pub paused: bool,
    /// Index of the selected consumer group in `model.kafka.groups`.
    pub selected: usize,
    /// First group row on screen; kept by the renderer so the selection stays visible.
    pub scroll: usize,
    pub now: SystemTime,
}

impl App {
    pub fn new(context: impl Into<String>) -> App {
        App {
            context: context.into(),
            model: Model::default(),
            paused: false,
            selected: 0,
            scroll: 0,
            now: SystemTime::now(),
        }
    }

    /// Maps a key to an action; `None` for keys that mean nothing here.
    pub fn action_for(key: KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        Some(match key.code {
            KeyCode::Char('c') if ctrl => Action::Quit,
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Char('r') => Action::RefreshNow,
            KeyCode::Char('p') => Action::TogglePause,
            KeyCode::Up | KeyCode::Char('k') => Action::Up,
            KeyCode::Down | KeyCode::Char('j') => Action::Down,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown => Action::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Action::Top,
            KeyCode::End | KeyCode::Char('G') => Action::Bottom,
            _ => return None,
        })
    }

    /// Applies a navigation action; quitting, refreshing and pausing are the loop's business.
    pub fn navigate(&mut self, action: Action, page: usize) {
        let last = self.model.kafka.groups.len().saturating_sub(1);
        self.selected = match action {
            Action::Up => self.selected.saturating_sub(1),
            Action::Down => (self.selected + 1).min(last),
            Action::PageUp => self.selected.saturating_sub(page.max(1)),
            Action::PageDown => (self.selected + page.max(1)).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => self.selected,
        };
    }
}
