//! The terminal UI: draws the finished model and turns keys into actions. It never waits on the
//! network or on derivation: the session task (`crate::live`) hands it each new model over a
//! watch channel, and the loop only swaps in what is already there.

pub mod app;
pub mod body;
pub mod chart;
pub mod chrome;
pub mod keys;
pub mod list;
pub mod panel;
pub mod replay;
pub mod screens;
pub mod sparkline;
pub mod terminal;
pub mod theme;
pub mod view;

use std::io::Write;
use std::time::{Duration, SystemTime};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::Frame;

use crate::collect::Collectors;
use crate::config::Config;
use crate::model::SnapshotsReplaced;
use app::{Action, App, Mode};
use theme::{ColorDepth, Theme};

/// Redraw at least this often so data ages tick even when nothing else happens.
const AGE_TICK: Duration = Duration::from_secs(1);

pub struct UiOptions {
    pub theme: Theme,
    pub depth: ColorDepth,
    pub mouse: bool,
    /// Where `e` writes the export.
    pub export: std::path::PathBuf,
    /// The config file's contexts, which `:ctx` lists (empty: none).
    pub contexts: Vec<String>,
    /// Loads and validates the config of a context for `:ctx NAME` (the message on failure).
    pub load_context: Option<ContextLoader>,
    /// `--record FILE`: record the context the dashboard starts with (a `:ctx` switch ends it).
    pub record: Option<crate::recording::recorder::RecordTo>,
}

/// A context's name → its validated config, as a start with `--context NAME` would read it.
pub type ContextLoader = Box<dyn Fn(&str) -> Result<Config, String> + Send>;

/// The collectors and the session task of one context, as the event loop holds them. Dropping it
/// closes their channels: the session task ends, and with it the collectors it was reading.
struct Live {
    control: crate::collect::CollectorControl,
    session: crate::live::SessionHandle,
}

impl Live {
    fn start(
        config: &Config,
        collectors: Collectors,
        record: Option<crate::recording::recorder::RecordTap>,
    ) -> anyhow::Result<Live> {
        let control = collectors.control();
        let session =
            crate::live::spawn_session(config, collectors.kafka, collectors.clickhouse, record)?;
        Ok(Live { control, session })
    }
}

/// Draws one frame of the whole screen. Pure: everything comes from `app`.
pub fn render(frame: &mut Frame, app: &mut App) {
    if frame.area().width < chrome::MIN_WIDTH || frame.area().height < chrome::MIN_HEIGHT {
        chrome::draw_compact(frame, frame.area(), app);
        return;
    }
    let (header, crumb, body, footer) = chrome::layout(frame.area());
    chrome::draw_header(frame, header, app);
    if let Some(crumb) = crumb {
        chrome::draw_breadcrumb(frame, crumb, app);
    }
    body::draw(frame, body, app);
    chrome::draw_footer(frame, footer, app);
    if app.mode == Mode::Help {
        chrome::draw_help(frame, frame.area(), &app.theme, app.replay.is_some());
    }
}

pub async fn run(
    config: &Config,
    collectors: Collectors,
    options: UiOptions,
) -> anyhow::Result<()> {
    // Started before the screen takes over, so a path that cannot be written is said plainly.
    let (tap, recorder) = match &options.record {
        Some(to) => {
            let (tap, recorder) =
                crate::recording::recorder::start(to).map_err(anyhow::Error::msg)?;
            (Some(tap), Some(recorder))
        }
        None => (None, None),
    };
    let mut terminal = terminal::enter(options.mouse)?;
    let stats = recorder.as_ref().map(|r| std::sync::Arc::clone(&r.stats));
    let record_path = options.record.as_ref().map(|r| r.path.clone());
    let result = match event_loop(&mut terminal, config, collectors, options, tap, stats).await {
        Err(e) if terminal::hung_up(&e) => Ok(()),
        result => result,
    };
    terminal::leave(terminal);
    if let (Some(recorder), Some(path)) = (recorder, record_path) {
        // The session thread has stopped with the loop; what it queued is written now.
        let finished = tokio::task::spawn_blocking(move || recorder.finish());
        if let Ok(Ok(stats)) = tokio::time::timeout(Duration::from_secs(10), finished).await {
            // Not `eprintln!`: stderr may be the terminal that hung up.
            let _ = writeln!(std::io::stderr(), "pipetop: {}", stats.describe(&path));
        }
    }
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    config: &Config,
    collectors: Collectors,
    options: UiOptions,
    tap: Option<crate::recording::recorder::RecordTap>,
    recording: Option<std::sync::Arc<crate::recording::recorder::RecorderStats>>,
) -> anyhow::Result<()> {
    let mut live = Live::start(config, collectors, tap)?;
    let mut recording_trouble = (0, false);
    // Work done off the loop (the recording export) reports here.
    let (notices, mut notices_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let model = live.session.models.borrow_and_update().clone();
    let mut app = App::new(
        config.context.clone(),
        config.refresh,
        model,
        options.theme.clone(),
        options.depth,
    );
    app.contexts = options.contexts.clone();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(AGE_TICK);
    let mut bell = config.alerts.bell;
    let mut criticals_seen = 0;
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    // An export asked for while the session was deriving a newer model: done when it arrives.
    let mut export_waits = false;
    loop {
        if let Some(name) = app.switch_to.take() {
            match switch(&options, &name) {
                Ok((config, next)) => {
                    // The old context's collectors and session stop as their channels drop.
                    live = next;
                    app.switch_context(
                        config.context.clone(),
                        config.refresh,
                        live.session.models.borrow_and_update().clone(),
                    );
                    bell = config.alerts.bell;
                    criticals_seen = 0;
                }
                Err(e) => app.notice = Some(format!("cannot switch to context {name}: {e}")),
            }
        }
        let (control, session) = (&live.control, &mut live.session);
        app.now = SystemTime::now();
        if let (Some(stats), Some(to)) = (&recording, &options.record) {
            // Said once per change: the recorder fell behind, or stopped.
            let trouble = (
                stats.dropped.load(std::sync::atomic::Ordering::Relaxed),
                stats.error().is_some(),
            );
            if trouble != recording_trouble {
                recording_trouble = trouble;
                app.notice = Some(stats.describe(&to.path));
            }
        }
        // The partition view's parts are fetched on demand: tell the collector what is open.
        control.focus(screens::focus_of(&app.level().view));
        // A waiting export or pause needs the next model's snapshots: the collectors keep them.
        control.keep_snapshots(export_waits || app.freezing());
        if app.model.criticals_fired > criticals_seen {
            criticals_seen = app.model.criticals_fired;
            if bell {
                use std::io::Write;
                let _ = std::io::stdout().write_all(b"\x07");
            }
        }
        terminal.draw(|frame| render(frame, &mut app))?;
        tokio::select! {
            event = events.next() => {
                let action = match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => keys::action_for_key(&app.mode, key),
                    Some(Ok(Event::Mouse(mouse))) => keys::action_for_mouse(mouse),
                    Some(Ok(_)) => None,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                };
                match action {
                    Some(Action::RefreshNow) => control.refresh(),
                    Some(Action::Export) => {
                        app.notice = export_notice(&app, &options.export);
                        if app.notice.is_none() {
                            export_waits = true;
                            app.notice = Some("export: waiting for the model of the newest poll".into());
                        }
                    }
                    Some(Action::ExportRecording) => {
                        app.notice = Some(export_recording(&options, config, notices.clone()));
                    }
                    Some(action) => {
                        let was_paused = app.paused;
                        if !app.apply(action) {
                            return Ok(());
                        }
                        if was_paused && !app.paused {
                            let shown = session.models.borrow_and_update().clone();
                            session.retire(app.set_model(shown));
                        }
                    }
                    None => {}
                }
            }
            changed = session.models.changed(), if !app.paused || app.freezing() => {
                changed?;
                let shown = session.models.borrow_and_update().clone();
                session.retire(app.set_model(shown));
                if std::mem::take(&mut export_waits) {
                    app.notice = export_notice(&app, &options.export);
                    export_waits = app.notice.is_none();
                }
            }
            Some(notice) = notices_rx.recv() => app.notice = Some(notice),
            _ = tick.tick() => {}
            // A dropped ssh session or a kill must still leave the terminal usable.
            _ = hangup.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        }
    }
}

/// The config of context `name` and its collectors and session, started.
fn switch(options: &UiOptions, name: &str) -> Result<(Config, Live), String> {
    let load = options
        .load_context
        .as_ref()
        .ok_or_else(|| "no config file to read it from".to_string())?;
    let config = load(name)?;
    let collectors = Collectors::spawn(&config).map_err(|e| format!("{e:#}"))?;
    let live = Live::start(&config, collectors, None).map_err(|e| format!("{e:#}"))?;
    Ok((config, live))
}

/// The same JSON as `pipetop snapshot --json`, from what is on screen now. Fails with
/// [`SnapshotsReplaced`] while a poll runs that let go of the snapshots the screen's model came
/// from (and while a pause waits to freeze the next model): the export then waits for the next
/// model (see `event_loop`). Returns the sources whose snapshot is gone for good (`let_go`).
pub(crate) fn export(app: &App, path: &std::path::Path) -> anyhow::Result<Vec<&'static str>> {
    let snapshots = match &app.frozen {
        Some(frozen) if app.paused => frozen.clone(),
        _ => app.model.snapshots()?,
    };
    let let_go = snapshots.let_go.clone();
    let report = crate::report::Report::with_snapshots(&app.context, 0, &app.model, snapshots);
    std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    Ok(let_go)
}

/// The notice of an export: written, waiting for the next model (`None`), or failed.
fn export_notice(app: &App, path: &std::path::Path) -> Option<String> {
    match export(app, path) {
        Ok(let_go) if let_go.is_empty() => Some(format!(
            "exported the model and alert history to {}",
            path.display()
        )),
        Ok(let_go) => Some(format!(
            "exported the model and alert history to {}, without the {} snapshot (its last poll failed)",
            path.display(),
            let_go.join(" and ")
        )),
        Err(e) if e.is::<SnapshotsReplaced>() => None,
        Err(e) => Some(format!("export to {} failed: {e}", path.display())),
    }
}

/// `E`: the last `export_window` of the `--record` recording, written on a blocking thread (it
/// may be large); the outcome arrives as a notice. Returns the notice to show meanwhile.
fn export_recording(
    options: &UiOptions,
    config: &Config,
    notices: tokio::sync::mpsc::UnboundedSender<String>,
) -> String {
    let Some(record) = &options.record else {
        return "E exports the last minutes of a recording: start with --record FILE".into();
    };
    let stamp = crate::recording::at::clock(SystemTime::now()).replace(':', "");
    let to = std::path::PathBuf::from(format!("pipetop-incident-{stamp}.rec"));
    let (from, window) = (record.path.clone(), config.export_window);
    let shown = to.display().to_string();
    tokio::task::spawn_blocking(move || {
        let notice = match crate::recording::export::export_window(&from, &to, window) {
            Ok(span) => format!(
                "exported the last {span} of the recording to {path} (pipetop replay {path})",
                span = crate::time::short_duration(span),
                path = to.display()
            ),
            Err(e) => format!("recording export to {} failed: {e}", to.display()),
        };
        let _ = notices.send(notice);
    });
    format!(
        "exporting the last {} to {shown} …",
        crate::time::short_duration(window)
    )
}

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    Ok(tokio::signal::unix::signal(kind)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::kafka::snapshot::KafkaSnapshot;
    use crate::session::Session;
    use crate::source::SourceStatus;

    fn poll(status: &mut SourceStatus<KafkaSnapshot>, s: u64) {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s);
        let snapshot = KafkaSnapshot {
            taken_at_ms: crate::time::unix_ms(at),
            ..KafkaSnapshot::default()
        };
        status.record(Ok(snapshot), at);
    }

    fn exported_kafka_taken_at(path: &std::path::Path) -> serde_json::Value {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        json["snapshots"]["kafka"]["taken_at_ms"].clone()
    }

    /// The export writes the snapshots the screen's model came from. The collector keeps them
    /// until its next poll starts: an export or a pause in that poll waits for the next model
    /// (no notice yet) and takes that one; a paused screen exports the snapshots it froze; after
    /// a failed poll the export goes without the snapshot that poll let go, and says so.
    #[test]
    fn export_and_pause_take_the_models_own_snapshots_or_the_next_model() {
        let path = std::env::temp_dir().join(format!("pipetop-export-{}.json", std::process::id()));
        let mut session = Session::new(&crate::config::Config::default());
        let mut status = SourceStatus::default();
        // As the session thread does: ingest what the channel holds, and mark it taken.
        let mut publish = |status: &SourceStatus<KafkaSnapshot>| {
            session.ingest(Some(status.clone()), None);
            status.mark_taken();
            Arc::clone(session.model())
        };
        poll(&mut status, 10);
        let mut app = App::new(
            "test",
            Duration::from_secs(2),
            publish(&status),
            Theme::fallback(ColorDepth::TrueColor),
            ColorDepth::TrueColor,
        );
        let notice = export_notice(&app, &path).unwrap();
        assert!(notice.starts_with("exported"), "{notice}");
        assert_eq!(exported_kafka_taken_at(&path), 1_700_000_010_000_i64);
        std::fs::remove_file(&path).unwrap();

        // The next poll starts and lets go of the snapshot: export and pause wait for its model.
        status.let_go_if_taken();
        assert_eq!(export_notice(&app, &path), None, "waits for the next model");
        assert!(!path.exists());
        assert!(app.apply(Action::TogglePause));
        assert!(app.freezing());
        poll(&mut status, 12);
        let _ = app.set_model(publish(&status));
        assert!(!app.freezing(), "the next model is frozen");
        assert!(export_notice(&app, &path).unwrap().starts_with("exported"));
        assert_eq!(exported_kafka_taken_at(&path), 1_700_000_012_000_i64);

        // Polls go on behind the paused screen; it exports what it froze.
        status.let_go_if_taken();
        poll(&mut status, 14);
        let latest = publish(&status);
        assert!(export_notice(&app, &path).unwrap().starts_with("exported"));
        assert_eq!(
            exported_kafka_taken_at(&path),
            1_700_000_012_000_i64,
            "the paused model's own snapshot"
        );
        assert!(app.apply(Action::TogglePause));
        let _ = app.set_model(latest);
        assert!(export_notice(&app, &path).unwrap().starts_with("exported"));
        assert_eq!(exported_kafka_taken_at(&path), 1_700_000_014_000_i64);

        // A poll that fails after letting go: the snapshot is gone until Kafka answers again.
        status.let_go_if_taken();
        let failed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_016);
        status.record(Err::<KafkaSnapshot, _>("refused".into()), failed);
        let _ = app.set_model(publish(&status));
        let notice = export_notice(&app, &path).unwrap();
        assert!(
            notice.ends_with("without the kafka snapshot (its last poll failed)"),
            "{notice}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(json["snapshots"]["kafka"].is_null());
        assert_eq!(json["snapshots"]["let_go"], serde_json::json!(["kafka"]));
        assert_eq!(
            json["model"]["sources"]["kafka"]["last_good_at"],
            1_700_000_014_000_i64
        );
        // Pause then freezes at once: nothing better is on the way.
        assert!(app.apply(Action::TogglePause));
        assert!(!app.freezing());
        let _ = std::fs::remove_file(&path);
    }
}
