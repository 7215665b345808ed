//! Keys and mouse events to actions. What a key means depends only on the mode (typing in a
//! prompt or not), so the hint bar and help can list them truthfully.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::app::{Action, Mode};
use super::view::Zoom;

pub fn action_for_key(mode: &Mode, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Filter { .. } | Mode::Command { .. } => Some(match key.code {
            KeyCode::Enter => Action::Submit,
            KeyCode::Esc => Action::Cancel,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Tab => Action::Complete,
            KeyCode::Char(c) => Action::Input(c),
            _ => return None,
        }),
        Mode::Help => Some(match key.code {
            KeyCode::Char('q') => Action::Quit,
            _ => Action::ToggleHelp,
        }),
        Mode::Normal => Some(match key.code {
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Char('r') => Action::RefreshNow,
            KeyCode::Char('e') => Action::Export,
            KeyCode::Char('E') => Action::ExportRecording,
            KeyCode::Char('p') => Action::TogglePause,
            KeyCode::Char('?') => Action::ToggleHelp,
            KeyCode::Char('/') => Action::StartFilter,
            KeyCode::Char(':') => Action::StartCommand,
            KeyCode::Char('s') => Action::SortNext,
            KeyCode::Char('S') => Action::SortReverse,
            KeyCode::Char('t') => Action::CycleTheme,
            KeyCode::Char('z') => Action::ZoomOut,
            KeyCode::Char('Z') => Action::ZoomIn,
            KeyCode::Tab => Action::FocusNext,
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => Action::Open,
            KeyCode::Esc | KeyCode::Left | KeyCode::Backspace | KeyCode::Char('h') => Action::Back,
            KeyCode::Up | KeyCode::Char('k') => Action::Up,
            KeyCode::Down | KeyCode::Char('j') => Action::Down,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Action::Top,
            KeyCode::End | KeyCode::Char('G') => Action::Bottom,
            _ => return None,
        }),
    }
}

pub fn action_for_mouse(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::ScrollUp => Some(Action::Up),
        MouseEventKind::ScrollDown => Some(Action::Down),
        MouseEventKind::Down(_) => Some(Action::ClickRow(mouse.row)),
        _ => None,
    }
}

/// The keys that work right now, for the hint bar: (key, what it does).
/// `zoom`: the charts' reach, on a view that has charts.
pub fn hints(
    mode: &Mode,
    depth: usize,
    paused: bool,
    zoom: Option<Zoom>,
) -> Vec<(&'static str, &'static str)> {
    match mode {
        Mode::Filter { .. } => vec![("Enter", "apply"), ("Esc", "cancel"), ("!re", "invert")],
        Mode::Command { .. } => vec![("Tab", "complete"), ("Enter", "go"), ("Esc", "cancel")],
        Mode::Help => vec![("any key", "close")],
        Mode::Normal => {
            let mut keys = vec![("↑↓", "move"), ("Enter", "open")];
            if depth > 1 {
                keys.push(("Esc", "back"));
            }
            if let Some(zoom) = zoom {
                keys.push(("z", zoom_hint(zoom)));
            }
            keys.extend([
                ("/", "filter"),
                (":", "view"),
                ("s", "sort"),
                ("p", if paused { "resume" } else { "pause" }),
                ("?", "help"),
                ("q", "quit"),
            ]);
            keys
        }
    }
}

/// What `z` does next, so the hint bar shows where the charts are and where `z` takes them.
fn zoom_hint(zoom: Zoom) -> &'static str {
    match zoom {
        Zoom::FiveMinutes => "zoom 5m→15m",
        Zoom::FifteenMinutes => "zoom 15m→1h",
        Zoom::Hour => "zoom 1h→5m",
    }
}

/// What a key does to a replay's cursor (`pipetop replay`, in normal mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKey {
    PlayPause,
    /// One recorded poll forward (true) or back.
    Step(bool),
    /// This many minutes forward or back.
    Jump(i8),
    /// 1× → 10× → 60× → 1×.
    Speed,
}

/// The replay's own keys; None: the key means what it means on the live dashboard.
pub fn replay_key(key: KeyEvent) -> Option<ReplayKey> {
    Some(match key.code {
        KeyCode::Char(' ') | KeyCode::Char('p') => ReplayKey::PlayPause,
        KeyCode::Char('.') => ReplayKey::Step(true),
        KeyCode::Char(',') => ReplayKey::Step(false),
        KeyCode::Char(']') => ReplayKey::Jump(1),
        KeyCode::Char('[') => ReplayKey::Jump(-1),
        KeyCode::Char('>') => ReplayKey::Speed,
        _ => return None,
    })
}

/// The replay's keys for the hint bar.
pub fn replay_hints(playing: bool) -> Vec<(&'static str, &'static str)> {
    vec![
        ("Space", if playing { "pause" } else { "play" }),
        (", .", "step"),
        ("[ ]", "∓1m"),
        (">", "speed"),
    ]
}

/// The replay's keys, for `?` in `pipetop replay`.
pub const REPLAY_HELP: &[(&str, &str)] = &[
    ("Space  p", "replay: play / pause"),
    (", .", "replay: one poll back / forward"),
    ("[ ]", "replay: one minute back / forward"),
    (">", "replay: speed 1× → 10× → 60×"),
];

/// Every key, for `?`.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move the selection"),
    ("PgUp PgDn  Space", "page"),
    ("g G  Home End", "first / last row"),
    ("Enter → l", "drill down into the selected row"),
    ("Esc ← h", "back (at the top: clear the filter)"),
    ("Tab", "next panel"),
    ("/", "filter: regex, any case; !re keeps the rest"),
    (":", "jump to a view by name (Tab completes)"),
    (":disks", "each host's disks (time until full) and memory"),
    (
        ":distribution",
        "Distributed tables' send queues, broken files",
    ),
    (
        ":self",
        "what pipetop's own polls cost Kafka and ClickHouse",
    ),
    ("s  S", "sort by the next column / reverse the sort"),
    ("p", "pause the screen (collectors keep polling)"),
    ("r", "refresh now"),
    ("t", "next theme"),
    ("z  Z", "charts: zoom out / in (5m, 15m, 1h)"),
    ("e", "export model + alert history (--export FILE)"),
    ("E", "export the last minutes of --record as a recording"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: crossterm::event::KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    #[test]
    fn typing_in_a_prompt_never_triggers_commands() {
        let mode = Mode::Filter {
            input: String::new(),
            error: None,
        };
        assert_eq!(
            action_for_key(&mode, key(KeyCode::Char('q'))),
            Some(Action::Input('q'))
        );
        assert_eq!(
            action_for_key(&Mode::Normal, key(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
    }

    #[test]
    fn ctrl_c_always_quits() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [
            Mode::Normal,
            Mode::Help,
            Mode::Command { input: "gr".into() },
        ] {
            assert_eq!(action_for_key(&mode, ctrl_c), Some(Action::Quit));
        }
    }
}
