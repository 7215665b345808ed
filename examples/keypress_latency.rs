//! Keypress-to-frame latency while the model keeps changing under the UI.
//!
//!   cargo run --release --example keypress_latency -- [--seconds 15] [--kafka 127.0.0.1:9092]
//!   cargo run --release --example keypress_latency -- --scale [--seconds 30]
//!
//! Both modes run the dashboard's real update path: collector statuses go over `watch` channels
//! to the session task (`live::spawn_session`), which derives each model off the UI and hands it
//! over; the loop below does what `ui::event_loop` does (select over keys and new models, apply,
//! draw into a 200×60 TestBackend). A task types keys at `--rate` per second, walking the screens
//! the way an engineer does: move, open, back, `:` jumps, `r`, `/` filters, sort, pause. Latency
//! is measured from the moment a key was sent to the end of the frame drawn after it was applied,
//! so it includes any queueing behind a frame or a model swap.
//!
//! - default: the real collectors, Kafka against `--kafka` (the live local broker when it is up),
//!   ClickHouse against a local listener that accepts every connection and never answers (target
//!   ≤ 30 ms at p99);
//! - `--scale`: no servers; every refresh a synthetic Kafka snapshot of 100 topics × 200
//!   partitions (20,000) and 1,000 groups reading them (200,000 group-partitions) is published,
//!   so the session derives a full-size model every refresh while keys are typed (target ≤ 16 ms
//!   at p99).

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, watch};

use pipetop::collect::{CollectorControl, Collectors};
use pipetop::config::Config;
use pipetop::source::SourceStatus;
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
    /// No servers: feed 20,000-partition, 1,000-group snapshots every refresh instead.
    #[arg(long)]
    scale: bool,
    #[arg(long, default_value_t = 100)]
    topics: usize,
    #[arg(long, default_value_t = 200)]
    partitions: i32,
    #[arg(long, default_value_t = 1000)]
    groups: usize,
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Where the models come from, and what to do with the `r` key and an opened partition.
struct Feed {
    session: pipetop::live::SessionHandle,
    control: Option<CollectorControl>,
    describe: Box<dyn Fn() -> String>,
    /// `--scale`: when each snapshot (by its time) was published, to time its way to the screen.
    published_at: Option<Published>,
}

type Published = Arc<std::sync::Mutex<std::collections::HashMap<i64, Instant>>>;

/// The real collectors, ClickHouse hanging.
async fn live_feed(args: &Args, config: &mut Config) -> anyhow::Result<Feed> {
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
    config.kafka.bootstrap_servers = args.kafka.clone();
    config.clickhouse.url = format!("http://127.0.0.1:{port}");
    config.clickhouse.query_timeout = Duration::from_secs(3600);
    let collectors = Collectors::spawn(config)?;
    let control = collectors.control();
    let (kafka, clickhouse) = (collectors.kafka.clone(), collectors.clickhouse.clone());
    let session =
        pipetop::live::spawn_session(config, collectors.kafka, collectors.clickhouse, None)?;
    let broker = args.kafka.clone();
    Ok(Feed {
        session,
        control: Some(control),
        describe: Box::new(move || {
            let (k, c) = (kafka.borrow(), clickhouse.borrow());
            format!(
                "kafka {broker}: {} polls, last error: {}\nclickhouse 127.0.0.1:{port} (never answers): {} connections accepted, {} polls completed",
                k.polls,
                k.error.as_ref().map_or("none", |e| e.message.as_str()),
                accepted.load(Ordering::Relaxed),
                c.polls
            )
        }),
        published_at: None,
    })
}

/// Synthetic full-size Kafka snapshots every refresh, through the real session task.
fn scale_feed(args: &Args, config: &Config) -> anyhow::Result<Feed> {
    let (kafka_tx, kafka_rx) = watch::channel(SourceStatus::default());
    let (_clickhouse_tx, clickhouse_rx) = watch::channel(SourceStatus::default());
    let session = pipetop::live::spawn_session(config, kafka_rx, clickhouse_rx, None)?;
    let (topics, partitions, groups, refresh) =
        (args.topics, args.partitions, args.groups, args.refresh);
    let published = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&published);
    let published_at: Published = Arc::default();
    let stamps = Arc::clone(&published_at);
    tokio::spawn(async move {
        let _keep = _clickhouse_tx;
        let mut ticker = tokio::time::interval(refresh);
        for n in 0.. {
            ticker.tick().await;
            let now = SystemTime::now();
            let at_ms = pipetop::time::unix_ms(now);
            let Ok(snapshot) = tokio::task::spawn_blocking(move || {
                fixtures::scale_snapshot(topics, partitions, groups, n, at_ms)
            })
            .await
            else {
                return;
            };
            if let Ok(mut stamps) = stamps.lock() {
                stamps.insert(at_ms, Instant::now());
            }
            kafka_tx.send_modify(|s| s.record(Ok(snapshot), now));
            count.fetch_add(1, Ordering::Relaxed);
            if kafka_tx.is_closed() {
                return;
            }
        }
    });
    let gp = partitions as usize * groups;
    Ok(Feed {
        session,
        control: None,
        describe: Box::new(move || {
            format!(
                "scale: {} partitions, {groups} groups, {gp} group-partitions; {} snapshots published",
                topics * partitions as usize,
                published.load(Ordering::Relaxed)
            )
        }),
        published_at: Some(published_at),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config {
        refresh: args.refresh,
        ..Config::default()
    };
    let mut feed = if args.scale {
        scale_feed(&args, &config)?
    } else {
        live_feed(&args, &mut config).await?
    };

    let theme = Theme::load("dark", ColorDepth::TrueColor).map_err(anyhow::Error::msg)?;
    let mut app = App::new(
        config.context.clone(),
        config.refresh,
        feed.session.models.borrow_and_update().clone(),
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
    let mut updates = 0u32;
    // Snapshot published → its model in the UI's hands: the session's derivation, and any wait.
    let mut update_ms: Vec<f64> = Vec::new();
    loop {
        app.now = SystemTime::now();
        if let Some(control) = &feed.control {
            control.focus(screens::focus_of(&app.level().view));
        }
        let started = Instant::now();
        terminal.draw(|frame| pipetop::ui::render(frame, &mut app))?;
        frames.push(started.elapsed());
        latencies.extend(pending.drain(..).map(|sent| sent.elapsed()));
        tokio::select! {
            key = keys.recv() => {
                let Some((action, sent)) = key else { break };
                match action {
                    Action::RefreshNow => {
                        if let Some(control) = &feed.control {
                            control.refresh();
                        }
                    }
                    action => {
                        let was_paused = app.paused;
                        app.apply(action);
                        if was_paused && !app.paused {
                            let shown = feed.session.models.borrow_and_update().clone();
                            feed.session.retire(app.set_model(shown));
                        }
                    }
                }
                pending.push(sent);
            }
            changed = feed.session.models.changed(), if !app.paused => {
                changed?;
                updates += 1;
                let shown = feed.session.models.borrow_and_update().clone();
                // The published snapshot's time is its status's `last_good_at`.
                let taken = shown.sources.kafka.last_good_at.map(pipetop::time::unix_ms);
                if let (Some(stamps), Some(taken)) = (&feed.published_at, taken)
                    && let Some(at) = stamps.lock().ok().and_then(|mut s| s.remove(&taken))
                {
                    update_ms.push(at.elapsed().as_secs_f64() * 1e3);
                }
                feed.session.retire(app.set_model(shown));
            }
            _ = tick.tick() => {}
        }
    }

    latencies.sort();
    frames.sort();
    let what = if args.scale {
        "full-size model updates every refresh"
    } else {
        "ClickHouse hanging"
    };
    println!(
        "keypress → frame latency, {} keys over {seconds}s at {}/s, 200×60, {what}:",
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
    if !update_ms.is_empty() {
        update_ms.sort_by(f64::total_cmp);
        println!(
            "update (snapshot published → its model in the UI, the session's derivation and any wait): median {:.0} ms, range {:.0}–{:.0} ms over {} updates",
            update_ms[update_ms.len() / 2],
            update_ms[0],
            update_ms[update_ms.len() - 1],
            update_ms.len()
        );
    }
    println!("{}", (feed.describe)());
    if let Some(peak) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(str::to_string))
        })
    {
        println!("peak RSS: {}", peak.trim());
    }
    println!(
        "models taken by the UI: {updates}; on screen: {} groups, {} topics",
        app.model.kafka.groups.len(),
        app.model.kafka.topics.len(),
    );
    let (target, limit) = if args.scale {
        ("16 ms", 16)
    } else {
        ("30 ms", 30)
    };
    let p99 = percentile(&latencies, 0.99);
    println!(
        "target ≤ {target} at p99: {}",
        if p99 <= Duration::from_millis(limit) {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
