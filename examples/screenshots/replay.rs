//! The app as `pipetop replay FILE` shows it with the time cursor moved to an instant: the same
//! `Player` (the recording fed through the same `Session`), the cursor in the header, paused.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use pipetop::recording::at::parse_at;
use pipetop::recording::player::Player;
use pipetop::ui::app::{App, ReplayClock};
use pipetop::ui::theme::{ColorDepth, Theme};
use pipetop::ui::view::Zoom;

/// Where the cursor goes: an instant the scenario marked, or what `--at` takes.
pub enum At {
    Instant(SystemTime),
    Text(String),
}

pub fn app_at(file: &Path, at: &At, theme: Theme, zoom: Zoom) -> anyhow::Result<App> {
    let mut player = Player::open(file).map_err(anyhow::Error::msg)?;
    let (start, end) = player
        .span()
        .ok_or_else(|| anyhow::anyhow!("{} holds no data", file.display()))?;
    let to = match at {
        At::Instant(t) => *t,
        At::Text(text) => parse_at(text, start, end).map_err(anyhow::Error::msg)?,
    };
    player.seek(to);
    let config = player.config().clone();
    let clock = ReplayClock {
        at: player.cursor().unwrap_or(to),
        playing: false,
        speed: 1,
        at_end: player.at_end(),
    };
    let mut app = App::new(
        config.context.clone(),
        config.refresh,
        Arc::clone(player.model()),
        theme,
        ColorDepth::TrueColor,
    );
    app.replay = Some(clock);
    // Ages and "for 2m" are as of the cursor, as in `pipetop replay`.
    app.now = clock.at;
    app.zoom = zoom;
    if let Some(problem) = player.problem() {
        app.notice = Some(format!("recording: {problem}"));
    }
    Ok(app)
}
