//! The terminal UI: renders the model and turns keys into actions. It never waits on the network:
//! collectors publish over watch channels and the loop only reads what is already there.

pub mod app;
pub mod overview;
pub mod style;

use std::time::{Duration, SystemTime};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;

use crate::collect::Collectors;
use crate::config::Config;
use app::{Action, App};
use style::Palette;

/// Redraw at least this often so data ages tick even when nothing else happens.
const AGE_TICK: Duration = Duration::from_secs(1);

pub async fn run(config: &Config, mut collectors: Collectors) -> anyhow::Result<()> {
    // ratatui::init installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, config, &mut collectors).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    config: &Config,
    collectors: &mut Collectors,
) -> anyhow::Result<()> {
    let palette = Palette::from_env();
    let mut app = App::new(config.context.clone());
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(AGE_TICK);
    loop {
        app.now = SystemTime::now();
        terminal.draw(|frame| overview::draw(frame, &mut app, &palette, config.refresh))?;
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    match App::action_for(key) {
                        Some(Action::Quit) => return Ok(()),
                        Some(Action::RefreshNow) => collectors.refresh_now.notify_waiters(),
                        Some(Action::TogglePause) => {
                            app.paused = !app.paused;
                            if !app.paused {
                                take_latest(&mut app, collectors);
                            }
                        }
                        Some(nav) => {
                            let page = usize::from(terminal.size()?.height.saturating_sub(8));
                            app.navigate(nav, page);
                        }
                        None => {}
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            changed = collectors.kafka.changed(), if !app.paused => {
                changed?;
                take_latest(&mut app, collectors);
            }
            changed = collectors.clickhouse.changed(), if !app.paused => {
                changed?;
                take_latest(&mut app, collectors);
            }
            _ = tick.tick() => {}
        }
    }
}

fn take_latest(app: &mut App, collectors: &mut Collectors) {
    app.model
        .ingest_kafka(collectors.kafka.borrow_and_update().clone());
    app.model
        .ingest_clickhouse(collectors.clickhouse.borrow_and_update().clone());
}
