//! `pipetop replay FILE`: the dashboard on a recording. A thread of its own owns the
//! [`Player`] (seeking replays batches through the session, which must not hold up a frame: a
//! jump no checkpoint is near replays from the minute's keyframe, and turns exact when the scout
//! gets there) and
//! moves its time cursor: play at 1×, 10× or 60×, step one recorded poll, jump a minute. It hands
//! each model with the cursor to the UI over a `watch` channel, as the live session does; the
//! screen is the live dashboard's, with the cursor in the header and its keys in the hint bar.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::watch;

use super::app::{Action, App, Mode, ReplayClock};
use super::keys::{self, ReplayKey};
use super::theme::{ColorDepth, Theme};
use crate::model::Model;
use crate::recording::player::Player;

/// How often a playing cursor moves on (wall time).
const PLAY_TICK: Duration = Duration::from_millis(100);
const SPEEDS: [u32; 3] = [1, 10, 60];
/// Batches the scout plays between looks at the keys (a few milliseconds at demo scale).
const SCOUT_STRIDE: usize = 16;

pub struct ReplayOptions {
    pub theme: Theme,
    pub depth: ColorDepth,
    pub mouse: bool,
}

/// What the cursor thread is told.
enum Command {
    Key(ReplayKey),
    /// A model the UI no longer shows, freed where models are built.
    Retire(Arc<Model>),
}

#[derive(Clone)]
struct Shown {
    model: Arc<Model>,
    clock: ReplayClock,
    /// The model is replayed from this keyframe's time, not from the start (a jump the scout has
    /// not reached yet): its history, timeline and alerts start there.
    partial_since: Option<SystemTime>,
}

pub async fn run(player: Player, options: ReplayOptions) -> anyhow::Result<()> {
    let mut terminal = super::terminal::enter(options.mouse)?;
    let result = match event_loop(&mut terminal, player, options).await {
        Err(e) if super::terminal::hung_up(&e) => Ok(()),
        result => result,
    };
    super::terminal::leave(terminal);
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    player: Player,
    options: ReplayOptions,
) -> anyhow::Result<()> {
    let config = player.config().clone();
    let problem = player.problem().map(str::to_string);
    let (commands, mut shown) = spawn_cursor(player)?;
    let first = shown.borrow_and_update().clone();
    let mut app = App::new(
        config.context.clone(),
        config.refresh,
        first.model,
        options.theme.clone(),
        options.depth,
    );
    app.replay = Some(first.clock);
    app.notice = problem.map(|p| format!("recording: {p}"));
    let mut partial_notice = None;
    let mut events = EventStream::new();
    loop {
        // Ages and "for 2m" are as of the cursor, not the wall clock.
        if let Some(clock) = &app.replay {
            app.now = clock.at;
        }
        terminal.draw(|frame| super::render(frame, &mut app))?;
        tokio::select! {
            event = events.next() => {
                let key = match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => key,
                    Some(Ok(Event::Mouse(mouse))) => {
                        if let Some(action) = keys::action_for_mouse(mouse) {
                            app.apply(action);
                        }
                        continue;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                };
                if app.mode == Mode::Normal && let Some(k) = keys::replay_key(key) {
                    app.notice = None;
                    if commands.send(Command::Key(k)).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                match keys::action_for_key(&app.mode, key) {
                    Some(Action::RefreshNow) => {
                        app.notice = Some("a replay polls nothing: , . step and Space plays".into());
                    }
                    Some(Action::Export) => {
                        let path = std::path::Path::new("pipetop-export.json");
                        app.notice = Some(match super::export(&app, path) {
                            Ok(_) => format!("exported the model at the cursor to {}", path.display()),
                            Err(e) => format!("export to {} failed: {e}", path.display()),
                        });
                    }
                    Some(action) if !app.apply(action) => return Ok(()),
                    Some(_) | None => {}
                }
            }
            changed = shown.changed() => {
                changed?;
                let now = shown.borrow_and_update().clone();
                app.replay = Some(now.clock);
                // Said while it lasts (a second or two while the scout catches up), taken back
                // once the state is exact unless another notice replaced it.
                let notice = now.partial_since.map(|since| {
                    format!(
                        "history from {} on: still reading the recording before it",
                        crate::recording::at::clock(since)
                    )
                });
                if notice.is_some() || app.notice == partial_notice {
                    app.notice.clone_from(&notice);
                }
                partial_notice = notice;
                if let Some(old) = app.set_model(now.model) {
                    let _ = commands.send(Command::Retire(old));
                }
            }
        }
    }
}

/// Starts the cursor thread at the recording's first poll, paused.
fn spawn_cursor(
    mut player: Player,
) -> anyhow::Result<(mpsc::Sender<Command>, watch::Receiver<Shown>)> {
    let (start, end) = player
        .span()
        .ok_or_else(|| anyhow::anyhow!("the recording holds no data"))?;
    player.step();
    let mut clock = ReplayClock {
        at: player.cursor().unwrap_or(start),
        playing: false,
        speed: 1,
        at_end: player.at_end(),
    };
    let (tx, rx) = watch::channel(Shown {
        model: Arc::clone(player.model()),
        clock,
        partial_since: None,
    });
    let (commands, inbox) = mpsc::channel();
    // Plays the recording ahead on this thread's idle time, a few batches between keys, so that
    // seeks anywhere start from a checkpoint at most a minute before their target.
    let mut scout = Player::open(&player.recording().path).ok();
    std::thread::Builder::new()
        .name("pipetop-replay".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                let wait = match (&scout, clock.playing) {
                    (Some(_), _) => Duration::ZERO,
                    (None, true) => PLAY_TICK.saturating_sub(last.elapsed()),
                    (None, false) => Duration::from_secs(3600),
                };
                match inbox.recv_timeout(wait) {
                    Ok(Command::Retire(model)) => {
                        drop(model);
                        continue;
                    }
                    Ok(Command::Key(key)) => {
                        clock = on_key(&mut player, clock, key, (start, end));
                        last = Instant::now();
                    }
                    Err(RecvTimeoutError::Timeout)
                        if !clock.playing || last.elapsed() < PLAY_TICK =>
                    {
                        if let Some(ahead) = scout.as_mut() {
                            let more = ahead.advance(SCOUT_STRIDE);
                            player.adopt_checkpoints(ahead);
                            if !more {
                                scout = None;
                            }
                        }
                        // A jump replayed from a keyframe turns exact once the scout is near.
                        if !player.make_exact() {
                            continue;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        // Played time follows the wall clock, times the speed.
                        let elapsed = last.elapsed();
                        last = Instant::now();
                        let to = (clock.at + elapsed * clock.speed).min(end);
                        player.jump(to);
                        clock.at = to;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                clock.at_end = player.at_end() || clock.at >= end;
                if clock.at_end {
                    clock.playing = false;
                }
                let shown = Shown {
                    model: Arc::clone(player.model()),
                    clock,
                    partial_since: player.partial_since(),
                };
                if tx.send(shown).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start the replay thread: {e}"))?;
    Ok((commands, rx))
}

/// Moves the cursor as `key` says.
fn on_key(
    player: &mut Player,
    mut clock: ReplayClock,
    key: ReplayKey,
    (start, end): (SystemTime, SystemTime),
) -> ReplayClock {
    match key {
        ReplayKey::PlayPause => {
            if clock.at_end && !clock.playing {
                player.jump(start);
                clock.at = start;
            }
            clock.playing = !clock.playing;
        }
        ReplayKey::Step(forward) => {
            clock.playing = false;
            if forward {
                player.step();
            } else if let Some(at) = player.cursor() {
                player.jump(at - Duration::from_nanos(1));
            }
            clock.at = player.cursor().unwrap_or(start);
        }
        ReplayKey::Jump(minutes) => {
            let minute = Duration::from_secs(60);
            let to = if minutes >= 0 {
                (clock.at + minute).min(end)
            } else {
                clock.at.checked_sub(minute).unwrap_or(start).max(start)
            };
            player.jump(to);
            clock.at = to;
        }
        ReplayKey::Speed => {
            let i = SPEEDS.iter().position(|s| *s == clock.speed).unwrap_or(0);
            clock.speed = SPEEDS[(i + 1) % SPEEDS.len()];
        }
    }
    clock
}
