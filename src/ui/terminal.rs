//! Taking the terminal over and giving it back, on every way out: a normal quit, an error, a
//! panic, and a terminal that is gone (the ssh session dropped, the tmux server killed), where
//! nothing can be written any more and nothing must panic for trying.

use std::io::{Write, stdout};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::DefaultTerminal;
use ratatui::prelude::CrosstermBackend;

/// Raw mode, the alternate screen and, when asked, mouse capture; and a panic hook that gives the
/// terminal back before the message prints. Whatever fails half-way is undone before the error
/// returns.
///
/// Unlike `ratatui::try_init`, the hook never prints of its own: ratatui's prints a failed
/// restore with `eprintln!`, which panics when stderr is a terminal that hung up, and a panic in
/// a panic hook aborts the process (a core dump for every dropped ssh session).
pub fn enter(mouse: bool) -> std::io::Result<DefaultTerminal> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    let entered = enable_raw_mode()
        .and_then(|()| crossterm::execute!(stdout(), EnterAlternateScreen))
        .and_then(|()| {
            if mouse {
                crossterm::execute!(stdout(), EnableMouseCapture)
            } else {
                Ok(())
            }
        })
        .and_then(|()| ratatui::Terminal::new(CrosstermBackend::new(stdout())));
    if entered.is_err() {
        restore();
    }
    entered
}

/// Gives the terminal back: [`restore`], and the cursor shown. A terminal that hung up is not
/// dropped: ratatui's `Terminal` shows the cursor in its `Drop` and prints a failure with
/// `eprintln!`, which panics when stderr is that terminal; the process ends right after, so the
/// two screen buffers it holds are simply not freed.
pub fn leave(mut terminal: DefaultTerminal) {
    restore();
    if terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
    }
}

/// Mouse capture off, raw mode off, the alternate screen left. Each step is tried even if one
/// before it failed, and failures are ignored: a terminal that cannot be written to has hung up,
/// and there is no one left to tell.
fn restore() {
    let mut out = stdout();
    let _ = crossterm::execute!(out, DisableMouseCapture);
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(out, LeaveAlternateScreen);
    let _ = out.flush();
}

/// Whether the dashboard ended because its terminal hung up: a write to or read from a terminal
/// whose other side closed (ssh dropped, tmux session killed) fails with EIO. That ends the
/// session as a quit does, not as an error (there is no one to show it to).
pub fn hung_up(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|e| e.raw_os_error() == Some(libc::EIO))
}
