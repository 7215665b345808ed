//! `pipetop serve`'s cost at scale without servers: the real session task fed a synthetic Kafka
//! snapshot of 100 topics × 200 partitions (20,000) and 1,000 groups (200,000 group-partitions)
//! every refresh, and a scrape (`serve::metrics::render_with` on a runtime worker, as the HTTP
//! handler does) every `--scrape`. Prints the scrapes' time and size, the CPU time of the process
//! and its peak RSS, to set beside `keypress_latency --scale` (the dashboard's path, same feed).
//!
//!   cargo run --release --example serve_scale -- [--seconds 60] [--scrape 1s]

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use tokio::sync::watch;

use pipetop::config::Config;
use pipetop::serve::metrics::{Format, Series, render_with};
use pipetop::source::SourceStatus;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    refresh: Duration,
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    scrape: Duration,
    #[arg(long, default_value_t = 100)]
    topics: usize,
    #[arg(long, default_value_t = 200)]
    partitions: i32,
    #[arg(long, default_value_t = 1000)]
    groups: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config {
        refresh: args.refresh,
        ..Config::default()
    };
    let (kafka_tx, kafka_rx) = watch::channel(SourceStatus::default());
    let (_clickhouse_tx, clickhouse_rx) = watch::channel(SourceStatus::default());
    let session = pipetop::live::spawn_session(&config, kafka_rx, clickhouse_rx, None)?;
    let (topics, partitions, groups) = (args.topics, args.partitions, args.groups);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(args.refresh);
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
            kafka_tx.send_modify(|s| s.record(Ok(snapshot), now));
        }
    });

    let cpu_start = cpu_ms()?;
    let start = Instant::now();
    let mut times = Vec::new();
    let mut bytes = 0;
    let mut ticker = tokio::time::interval(args.scrape);
    while start.elapsed() < Duration::from_secs(args.seconds) {
        ticker.tick().await;
        let model = Arc::clone(&session.models.borrow());
        let scrape = tokio::spawn(async move {
            let t = Instant::now();
            let body = render_with(&model, SystemTime::now(), Format::Text, Series::Bounded);
            (t.elapsed(), body.len())
        });
        let (took, len) = scrape.await?;
        times.push(took);
        bytes = len;
    }
    let cpu = cpu_ms()? - cpu_start;
    times.sort();
    let pct = |p: usize| times[(times.len() - 1) * p / 100].as_secs_f64() * 1000.0;
    println!(
        "serve at scale: {} partitions, {groups} groups; {} scrapes of {:.0} KiB",
        topics * partitions as usize,
        times.len(),
        bytes as f64 / 1024.0
    );
    println!(
        "  scrape render: p50 {:.1} ms, max {:.1} ms",
        pct(50),
        pct(100)
    );
    println!(
        "  cpu {cpu} ms over {} s ({:.1} % of one core), peak RSS {:.1} MiB",
        args.seconds,
        cpu as f64 / 10.0 / args.seconds as f64,
        peak_rss_kib()? as f64 / 1024.0
    );
    Ok(())
}

/// user + system time of this process, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_ms() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no ) in /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks * 10)
}

fn peak_rss_kib() -> anyhow::Result<u64> {
    std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")
}
