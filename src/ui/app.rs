//! UI state and what each action does to it. Keys become actions in `keys.rs`; the event loop in
//! `mod.rs` carries out the few actions that reach outside (quit, refresh now).

use std::time::{Duration, SystemTime};

use super::list::{Filter, ListState};
use super::panel::PanelBody;
use super::screens;
use super::theme::{self, ColorDepth, Theme};
use super::view::{self, View, Zoom};
use std::sync::Arc;

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
    Open,
    Back,
    FocusNext,
    StartFilter,
    StartCommand,
    SortNext,
    SortReverse,
    ToggleHelp,
    CycleTheme,
    /// `z` / `Z`: the charts reach further back / less far.
    ZoomOut,
    ZoomIn,
    /// Write the model and the alert history to the export file (for an incident note).
    Export,
    /// `E`: write the last `export_window` of the `--record` recording as a recording.
    ExportRecording,
    /// Text entry in the filter or command prompt.
    Input(char),
    Backspace,
    Complete,
    Submit,
    Cancel,
    /// Mouse: select the row at this screen line, if a list is there.
    ClickRow(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter {
        input: String,
        error: Option<String>,
    },
    Command {
        input: String,
    },
    Help,
}

/// One level of the view stack, with the list states of its panels.
#[derive(Debug, Clone)]
pub struct Level {
    pub view: View,
    pub lists: Vec<ListState>,
    pub focus: usize,
}

impl Level {
    pub fn new(view: View) -> Level {
        Level {
            view,
            lists: Vec::new(),
            focus: 0,
        }
    }

    pub fn list(&mut self, panel: usize) -> &mut ListState {
        if self.lists.len() <= panel {
            self.lists.resize_with(panel + 1, ListState::default);
        }
        &mut self.lists[panel]
    }
}

pub struct App {
    pub context: String,
    pub refresh: Duration,
    /// The latest finished model (or the one frozen by pause); never changed in place.
    pub model: Arc<Model>,
    /// Bumped whenever the model changes, so lists re-sort only then.
    pub generation: u64,
    pub stack: Vec<Level>,
    pub mode: Mode,
    pub paused: bool,
    /// The snapshots the model frozen by pause was derived from, kept for the export: the
    /// collectors let theirs go when their next polls start (models hold theirs weakly). None
    /// while paused: pause was pressed while a poll ran, and the next model is frozen.
    pub frozen: Option<crate::model::Snapshots>,
    pub theme: Theme,
    pub depth: ColorDepth,
    pub now: SystemTime,
    /// How far back the drill-down charts reach.
    pub zoom: Zoom,
    /// Where each panel's rows were drawn last frame: (panel index, first row line, rows).
    pub row_areas: Vec<(usize, u16, u16)>,
    /// A one-line notice (bad command, unknown theme) shown in the hint bar until the next key.
    pub notice: Option<String>,
    /// The config file's contexts, for `:ctx` (empty: the file has none).
    pub contexts: Vec<String>,
    /// A context asked for with `:ctx NAME`, for the event loop to switch to.
    pub switch_to: Option<String>,
    /// Set when the screen shows a recording (`pipetop replay`): where its cursor is.
    pub replay: Option<ReplayClock>,
}

/// The replay's time cursor as the header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayClock {
    /// The recording time on screen.
    pub at: SystemTime,
    pub playing: bool,
    /// 1, 10 or 60 times real time.
    pub speed: u32,
    /// The cursor is at the recording's last frame.
    pub at_end: bool,
}

impl App {
    pub fn new(
        context: impl Into<String>,
        refresh: Duration,
        model: Arc<Model>,
        theme: Theme,
        depth: ColorDepth,
    ) -> App {
        let mut root = Level::new(View::Overview);
        root.focus = screens::default_focus(&model, &View::Overview, &theme);
        App {
            context: context.into(),
            refresh,
            model,
            generation: 0,
            stack: vec![root],
            mode: Mode::Normal,
            paused: false,
            frozen: None,
            theme,
            depth,
            now: SystemTime::now(),
            zoom: Zoom::default(),
            row_areas: Vec::new(),
            notice: None,
            contexts: Vec::new(),
            switch_to: None,
            replay: None,
        }
    }

    /// Shows another context from scratch: its name, refresh and first model, an overview with
    /// fresh lists (no filter, selection or drill-down of the old context's data), not paused.
    pub fn switch_context(
        &mut self,
        context: impl Into<String>,
        refresh: Duration,
        model: Arc<Model>,
    ) {
        self.context = context.into();
        self.refresh = refresh;
        self.model = model;
        self.generation += 1;
        let mut root = Level::new(View::Overview);
        root.focus = screens::default_focus(&self.model, &View::Overview, &self.theme);
        self.stack = vec![root];
        self.mode = Mode::Normal;
        self.paused = false;
        self.frozen = None;
        self.row_areas.clear();
        self.switch_to = None;
        self.notice = Some(format!("switched to context {}", self.context));
    }

    /// `:ctx` and `:ctx NAME`: list the contexts, or ask the event loop to switch.
    fn context_command(&mut self, name: Option<String>) {
        if self.contexts.is_empty() {
            self.notice = Some("no contexts: the config file has no [contexts]".to_string());
            return;
        }
        match name {
            None => {
                let names: Vec<String> = self
                    .contexts
                    .iter()
                    .map(|n| {
                        if *n == self.context {
                            format!("[{n}]")
                        } else {
                            n.clone()
                        }
                    })
                    .collect();
                self.notice = Some(format!(
                    "contexts: {} (:ctx NAME switches)",
                    names.join(" ")
                ));
            }
            Some(name) if self.contexts.contains(&name) => self.switch_to = Some(name),
            Some(name) => {
                self.notice = Some(format!(
                    "no context `{name}`: one of {}",
                    self.contexts.join(", ")
                ))
            }
        }
    }

    pub fn level(&self) -> &Level {
        // The stack is never empty: Back stops at the root.
        &self.stack[self.stack.len() - 1]
    }

    pub fn level_mut(&mut self) -> &mut Level {
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    /// Shows a newer model; lists re-sort once for it. Returns the model it replaced, for the
    /// caller to free off the UI thread (`live::retire`).
    pub fn set_model(&mut self, model: Arc<Model>) -> Option<Arc<Model>> {
        if Arc::ptr_eq(&self.model, &model) {
            return None;
        }
        self.generation += 1;
        let shown = std::mem::replace(&mut self.model, model);
        if self.freezing() {
            self.frozen = self.model.snapshots().ok();
        }
        Some(shown)
    }

    /// Paused, but the model on screen lost its snapshots to a poll that is running: the next
    /// model is taken and frozen with its own.
    pub fn freezing(&self) -> bool {
        self.paused && self.frozen.is_none()
    }

    /// Applies an action. Returns false when the app should quit.
    pub fn apply(&mut self, action: Action) -> bool {
        self.notice = None;
        match (&mut self.mode, action) {
            (_, Action::Quit) => return false,
            (Mode::Help, _) => self.mode = Mode::Normal,
            (Mode::Filter { input, error }, a) => match a {
                Action::Input(c) => {
                    input.push(c);
                    *error = None;
                }
                Action::Backspace => {
                    input.pop();
                    *error = None;
                }
                Action::Submit => {
                    let text = input.clone();
                    self.submit_filter(&text);
                }
                Action::Cancel => self.mode = Mode::Normal,
                _ => {}
            },
            (Mode::Command { input }, a) => match a {
                Action::Input(c) => input.push(c),
                Action::Backspace => {
                    input.pop();
                }
                Action::Complete => {
                    let ctx = format!("{} ", view::CONTEXT_COMMAND);
                    if let Some(prefix) = input.strip_prefix(&ctx) {
                        if let [only] = view::complete_context(prefix, &self.contexts).as_slice() {
                            *input = format!("{ctx}{only}");
                        }
                    } else if let [only] = view::complete(input).as_slice() {
                        *input = only.to_string();
                    }
                }
                Action::Submit => {
                    let text = input.clone();
                    self.mode = Mode::Normal;
                    if let Some(name) = view::context_command(&text) {
                        self.context_command(name);
                        return true;
                    }
                    match view::command(&text) {
                        Some(target) => self.jump(target),
                        None => {
                            self.notice =
                                Some(format!("no view `{text}`: press : then Tab to see them"))
                        }
                    }
                }
                Action::Cancel => self.mode = Mode::Normal,
                _ => {}
            },
            (Mode::Normal, a) => self.apply_normal(a),
        }
        true
    }

    fn apply_normal(&mut self, action: Action) {
        match action {
            Action::TogglePause => {
                self.paused = !self.paused;
                self.frozen = self.paused.then(|| self.model.snapshots().ok()).flatten();
            }
            Action::ToggleHelp => self.mode = Mode::Help,
            Action::StartFilter => {
                let current = self
                    .focused_list_state()
                    .and_then(|s| s.filter.as_ref().map(|f| f.text.clone()));
                self.mode = Mode::Filter {
                    input: current.unwrap_or_default(),
                    error: None,
                };
            }
            Action::StartCommand => {
                self.mode = Mode::Command {
                    input: String::new(),
                }
            }
            Action::CycleTheme => self.cycle_theme(),
            Action::ZoomOut => self.zoom = self.zoom.wider(),
            Action::ZoomIn => self.zoom = self.zoom.closer(),
            Action::Back => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                } else if let Some(state) = self.focused_list_state_mut() {
                    // At the root Esc clears the filter, the usual "undo" of the last thing typed.
                    state.filter = None;
                }
            }
            Action::FocusNext => {
                let panels = self.list_panel_indices();
                let level = self.level_mut();
                if let Some(pos) = panels.iter().position(|&p| p == level.focus) {
                    level.focus = panels[(pos + 1) % panels.len()];
                } else if let Some(&first) = panels.first() {
                    level.focus = first;
                }
            }
            Action::Open => {
                let target = self.with_focused_list(|source, state| {
                    state.selected_index().and_then(|i| source.open(i))
                });
                if let Some(target) = target.flatten() {
                    self.open(target);
                }
            }
            Action::Up => self
                .with_focused_list(|s, st| st.move_by(-1, s))
                .unwrap_or(()),
            Action::Down => self
                .with_focused_list(|s, st| st.move_by(1, s))
                .unwrap_or(()),
            Action::PageUp => self
                .with_focused_list(|s, st| st.move_by(-(st.page.max(1) as isize), s))
                .unwrap_or(()),
            Action::PageDown => self
                .with_focused_list(|s, st| st.move_by(st.page.max(1) as isize, s))
                .unwrap_or(()),
            Action::Top => self
                .with_focused_list(|s, st| st.move_to(0, s))
                .unwrap_or(()),
            Action::Bottom => self
                .with_focused_list(|s, st| st.move_to(usize::MAX, s))
                .unwrap_or(()),
            Action::SortNext => self
                .with_focused_list(|s, st| st.cycle_sort(s.columns()))
                .unwrap_or(()),
            Action::SortReverse => self
                .with_focused_list(|s, st| st.reverse_sort(s.columns()))
                .unwrap_or(()),
            Action::ClickRow(line) => {
                let hit = self
                    .row_areas
                    .iter()
                    .find(|(_, top, rows)| line >= *top && line < top + rows)
                    .copied();
                if let Some((panel, top, _)) = hit {
                    self.level_mut().focus = panel;
                    let offset = usize::from(line - top);
                    self.with_focused_list(|s, st| {
                        let scroll = st.scroll;
                        st.move_to(scroll + offset, s)
                    });
                }
            }
            Action::RefreshNow
            | Action::Export
            | Action::ExportRecording
            | Action::Quit
            | Action::Input(_)
            | Action::Backspace
            | Action::Complete
            | Action::Submit
            | Action::Cancel => {}
        }
    }

    fn submit_filter(&mut self, text: &str) {
        if text.is_empty() {
            if let Some(state) = self.focused_list_state_mut() {
                state.filter = None;
            }
            self.mode = Mode::Normal;
            return;
        }
        match Filter::parse(text) {
            Ok(filter) => {
                if let Some(state) = self.focused_list_state_mut() {
                    state.filter = Some(filter);
                    state.selected = 0;
                    state.selected_key = None;
                }
                self.mode = Mode::Normal;
            }
            Err(e) => {
                self.mode = Mode::Filter {
                    input: text.to_string(),
                    error: Some(e),
                }
            }
        }
    }

    /// `:name` replaces the stack above the overview, like k9s: a jump is not a drill-down.
    fn jump(&mut self, target: View) {
        self.stack.truncate(1);
        if target != View::Overview {
            self.open(target);
        }
    }

    /// Opens a view one level down, with the keyboard on its first list.
    pub fn open(&mut self, target: View) {
        let focus = screens::default_focus(&self.model, &target, &self.theme);
        let mut level = Level::new(target);
        level.focus = focus;
        self.stack.push(level);
    }

    fn cycle_theme(&mut self) {
        let names = theme::builtin_names();
        let next = names
            .iter()
            .position(|n| *n == self.theme.name)
            .map_or(0, |i| (i + 1) % names.len());
        match Theme::load(names[next], self.depth) {
            Ok(theme) => {
                self.notice = Some(format!("theme: {}", theme.name));
                self.theme = theme;
            }
            Err(e) => self.notice = Some(e),
        }
    }

    fn list_panel_indices(&self) -> Vec<usize> {
        screens::panels(
            &self.model,
            &self.level().view,
            &self.theme,
            self.now,
            self.zoom,
        )
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.body, PanelBody::List(_)))
        .map(|(i, _)| i)
        .collect()
    }

    fn focused_list_state(&self) -> Option<&ListState> {
        let level = self.level();
        level.lists.get(level.focus)
    }

    fn focused_list_state_mut(&mut self) -> Option<&mut ListState> {
        let level = self.level_mut();
        let focus = level.focus;
        Some(level.list(focus))
    }

    /// Runs `f` on the focused panel's rows and list state, if the focused panel is a list.
    fn with_focused_list<R>(
        &mut self,
        f: impl FnOnce(&dyn super::list::ListSource, &mut ListState) -> R,
    ) -> Option<R> {
        let view = self.level().view.clone();
        let focus = self.level().focus;
        let generation = self.generation;
        let panels = screens::panels(&self.model, &view, &self.theme, self.now, self.zoom);
        let PanelBody::List(source) = &panels.get(focus)?.body else {
            return None;
        };
        let last = self.stack.len() - 1;
        let state = self.stack[last].list(focus);
        state.refresh(source.as_ref(), generation);
        Some(f(source.as_ref(), state))
    }
}
