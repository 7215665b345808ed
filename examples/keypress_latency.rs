//! Keypress-to-frame latency while the ClickHouse endpoint hangs (target ≤ 30 ms).
//!
//!   cargo run --release --example keypress_latency -- [--seconds 15] [--kafka 127.0.0.1:9092]
//!
//! Spawns the real collectors (`Collectors::spawn`): Kafka against `--kafka` (the live local
//! broker when it is up; an unreachable one just fails its polls), ClickHouse against a local TCP
//! listener that accepts every connection and never answers (query timeout one hour, so every
//! ClickHouse poll hangs for the whole run). A task types keys into a channel at `--rate` per second
//! while the loop below does what `ui::event_loop` does: select over keys and collector updates,
//! apply, draw into a 200×60 TestBackend. Latency is measured from the moment the key was sent to
//! the end of the frame drawn after it was applied, so it includes any queueing behind a frame or a
//! model update. The key script walks the screens the way an engineer does: move, open, back,
//! `:` jumps, `r` (refresh now, which wakes the hanging collector), `/` filters, sort, pause.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use pipetop::collect::Collectors;
use pipetop::config::Config;
use pipetop::model::Model;
use pipetop::ui::app::{Action, App};
use pipetop::ui::screens;
use pipetop::ui::theme::{ColorDepth, Theme};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Keys per second.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    #[arg(long, default_value = "127.0.0.1:9092")]
    kafka: String,
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    refresh: Duration,
}

fn script() -> Vec<Action> {
    use Action::*;
    let mut keys = vec![
        Down, Down, Up, Open, Down, Down, PageDown, Bottom, Top, Back, FocusNext, Down,
    ];
    keys.extend([
        StartCommand,
        Input('t'),
        Input('a'),
        Complete,
        Submit,
        Down,
        Open,
        Open,
        Back,
        Back,
    ]);
    keys.extend([
        RefreshNow,
        StartCommand,
        Input('g'),
        Input('r'),
        Submit,
        SortNext,
        SortNext,
        SortReverse,
    ]);
    keys.extend([
        Open,
        Down,
        Back,
        StartFilter,
        Input('c'),
        Input('l'),
        Submit,
        Open,
        Back,
        Back,
    ]);
    keys.extend([
        TogglePause,
        Down,
        Up,
        TogglePause,
        ToggleHelp,
        ToggleHelp,
        RefreshNow,
    ]);
    keys.extend([StartCommand, Input('a'), Input('l'), Submit, Down, Back]);
    keys
}

fn take_latest(app: &mut App, collectors: &mut Collectors) {
    app.model
        .ingest_kafka(collectors.kafka.borrow_and_update().clone());
    app.model
        .ingest_clickhouse(collectors.clickhouse.borrow_and_update().clone());
    app.model_changed();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();

    // A "ClickHouse" that accepts and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            held.push(socket);
        }
    });

    let mut config = Config {
        refresh: args.refresh,
        ..Config::default()
    };
    config.kafka.bootstrap_servers = args.kafka.clone();
    config.clickhouse.url = format!("http://127.0.0.1:{port}");
    config.clickhouse.query_timeout = Duration::from_secs(3600);
    let mut collectors = Collectors::spawn(&config)?;

    let theme = Theme::load("dark", ColorDepth::TrueColor).map_err(anyhow::Error::msg)?;
    let mut app = App::new(
        config.context.clone(),
        config.refresh,
        Model::new(&config),
        theme,
        ColorDepth::TrueColor,
    );
    let mut terminal = Terminal::new(TestBackend::new(200, 60))?;

    let (tx, mut keys) = mpsc::unbounded_channel::<(Action, Instant)>();
    let interval = Duration::from_secs(1) / args.rate.max(1);
    let seconds = args.seconds;
    tokio::spawn(async move {
        let script = script();
        let start = Instant::now();
        let mut ticker = tokio::time::interval(interval);
        for action in script.iter().cycle() {
            ticker.tick().await;
            if start.elapsed() > Duration::from_secs(seconds)
                || tx.send((*action, Instant::now())).is_err()
            {
                return;
            }
        }
    });

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut latencies: Vec<Duration> = Vec::new();
    let mut frames: Vec<Duration> = Vec::new();
    let mut pending: Vec<Instant> = Vec::new();
    let (mut kafka_updates, mut clickhouse_updates) = (0u32, 0u32);
    loop {
        app.now = SystemTime::now();
        let focus = screens::focus_of(&app.level().view);
        if *collectors.focus.borrow() != focus {
            collectors.focus.send_replace(focus);
            collectors.refresh_now.notify_waiters();
        }
        let started = Instant::now();
        terminal.draw(|frame| pipetop::ui::render(frame, &mut app))?;
        frames.push(started.elapsed());
        latencies.extend(pending.drain(..).map(|sent| sent.elapsed()));
        tokio::select! {
            key = keys.recv() => {
                let Some((action, sent)) = key else { break };
                match action {
                    Action::RefreshNow => collectors.refresh_now.notify_waiters(),
                    action => {
                        let was_paused = app.paused;
                        app.apply(action);
                        if was_paused && !app.paused {
                            take_latest(&mut app, &mut collectors);
                        }
                    }
                }
                pending.push(sent);
            }
            changed = collectors.kafka.changed(), if !app.paused => {
                changed?;
                kafka_updates += 1;
                take_latest(&mut app, &mut collectors);
            }
            changed = collectors.clickhouse.changed(), if !app.paused => {
                changed?;
                clickhouse_updates += 1;
                take_latest(&mut app, &mut collectors);
            }
            _ = tick.tick() => {}
        }
    }

    let kafka = collectors.kafka.borrow().clone();
    let clickhouse = collectors.clickhouse.borrow().clone();
    latencies.sort();
    frames.sort();
    println!(
        "keypress → frame latency, {} keys over {seconds}s at {}/s, 200×60, ClickHouse hanging:",
        latencies.len(),
        args.rate
    );
    for (name, p) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)] {
        println!(
            "  {name:>4} {:>8.3} ms",
            percentile(&latencies, p).as_secs_f64() * 1e3
        );
    }
    println!(
        "frame draw: p50 {:.3} ms, max {:.3} ms over {} frames",
        percentile(&frames, 0.5).as_secs_f64() * 1e3,
        percentile(&frames, 1.0).as_secs_f64() * 1e3,
        frames.len()
    );
    println!(
        "kafka {}: {} polls published, {} updates taken, {} groups, {} topics; last error: {}",
        args.kafka,
        kafka.polls,
        kafka_updates,
        app.model.kafka.groups.len(),
        app.model.kafka.topics.len(),
        kafka.error.as_ref().map_or("none", |e| e.message.as_str())
    );
    println!(
        "clickhouse 127.0.0.1:{port} (never answers): {} connections accepted, {} polls completed, {} updates taken",
        accepted.load(Ordering::Relaxed),
        clickhouse.polls,
        clickhouse_updates
    );
    let p99 = percentile(&latencies, 0.99);
    println!(
        "target ≤ 30 ms at p99: {}",
        if p99 <= Duration::from_millis(30) {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
