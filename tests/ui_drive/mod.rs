//! Driving the dashboard's `App` as a user would, for the UI tests: the actions keys produce,
//! commands as typed, and frames drawn into a `TestBackend`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pipetop::ui::app::{Action, App};
use pipetop::ui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| pipetop::ui::render(frame, app))
        .unwrap();
    terminal
}

pub fn lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

pub fn apply(app: &mut App, actions: impl IntoIterator<Item = Action>) {
    for action in actions {
        assert!(app.apply(action), "{action:?} quit the app");
    }
}

pub fn type_text(app: &mut App, text: &str) {
    apply(app, text.chars().map(Action::Input));
}

/// `:name` Enter, as typed.
pub fn command(app: &mut App, name: &str) {
    apply(app, [Action::StartCommand]);
    type_text(app, name);
    apply(app, [Action::Submit]);
}

/// Moves down the focused list until Enter opens a view `wanted` accepts, and opens it: what a
/// user does with j and Enter.
pub fn open_where(app: &mut App, wanted: impl Fn(&View) -> bool) {
    // A frame first, so lists know their page like they would on screen.
    draw(app, 80, 24);
    let depth = app.stack.len();
    for _ in 0..100 {
        apply(app, [Action::Open]);
        if app.stack.len() > depth {
            if wanted(&app.level().view) {
                return;
            }
            apply(app, [Action::Back]);
        }
        apply(app, [Action::Down]);
    }
    panic!("no row opens the wanted view");
}

/// The fixtures' dashboard (tests/fixtures) with `:name` typed.
pub fn at(name: &str) -> App {
    let mut app = crate::fixtures::app();
    command(&mut app, name);
    app
}
