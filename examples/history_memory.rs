//! The charts' history at scale: its memory after an hour of polls, and what recording one poll
//! costs the session.
//!
//!   cargo run --release --example history_memory -- [--topics 100] [--partitions 200]
//!       [--groups 1000] [--hours 1] [--refresh-ms 2000]
//!
//! One synthetic Kafka snapshot of `topics` × `partitions` (20,000 partitions by default) read by
//! `groups` groups (1,000) is derived by the real `KafkaTracker` once; its groups are then
//! recorded into a `KafkaHistory` (the tracker's own recording step, `group_series`) once per poll
//! for an hour of polls and more, so the figure is the steady state, after eviction started.
//! Deriving 200,000 group-partitions 1,800 times would take minutes and change nothing here: the
//! history holds per group what the derived group says, whatever its partitions did.
//!
//! Run three times: the fixture's figures as they are every poll ("idle": each sealed chunk holds
//! one value, kept as that value); every group stopped ("stopped": its time lag grows with the
//! poll time, which comes a few ms early or late, and nothing else moves: `bench_kafka`'s
//! cluster, whose groups never consume); and every figure of every group changing every poll
//! ("moving", the worst case: every chunk keeps its slots).
//!
//! Printed: the history's heap bytes (series chunks, time axis, keys), the points kept, the
//! bytes per group, and the time one poll's recording takes (plus handing its views to a model).

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use clap::Parser;

use pipetop::model::kafka::KafkaTracker;
use pipetop::model::kafka::group_series::KafkaHistory;
use pipetop::model::kafka::lag::GroupLag;
use pipetop::model::series::history_points;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    topics: usize,
    #[arg(long, default_value_t = 200)]
    partitions: i32,
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    #[arg(long, default_value_t = 2000)]
    refresh_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let refresh = Duration::from_millis(args.refresh_ms);
    let history = Duration::from_secs_f64(args.hours * 3600.0);
    let capacity = history_points(history, refresh);
    let t0 = 1_800_000_000_000_i64;
    let step = i64::try_from(args.refresh_ms)?;

    // Two polls so rates, time lag and status are known, as on a running dashboard.
    let mut tracker = KafkaTracker::default();
    let snapshot = |n: u64| {
        fixtures::scale_snapshot(
            args.topics,
            args.partitions,
            args.groups,
            n,
            t0 + step * n as i64,
        )
    };
    tracker.update(&snapshot(0));
    let model = tracker
        .update(&snapshot(1))
        .ok_or_else(|| anyhow::anyhow!("the second poll was not newer"))?;
    let groups = &model.groups;
    let group_partitions: usize = groups.iter().map(|g| g.partitions.len()).sum();
    println!(
        "scale: {} topics × {} partitions, {} groups ({} group-partitions); history {} at {} ms = {} points",
        args.topics,
        args.partitions,
        groups.len(),
        group_partitions,
        humantime::format_duration(history),
        args.refresh_ms,
        capacity
    );

    // The recording reads each group's own figures, not its rows: a copy without them moves
    // cheaply from poll to poll.
    let mut moving: Vec<GroupLag> = groups
        .iter()
        .map(|g| GroupLag {
            partitions: Default::default(),
            ..g.clone()
        })
        .collect();
    for label in ["idle", "stopped", "moving"] {
        let mut recorder = KafkaHistory::new(capacity);
        // Past the first hour: the oldest chunks are being dropped, memory is at its steady state.
        let polls = capacity * 2;
        let mut record_times = Vec::with_capacity(polls);
        let mut kept = 0;
        for n in 0..polls {
            // A poll's time: the refresh, give or take a few ms, as a live collector's.
            let at = t0 + step * n as i64 + ((n * 7_919) % 23) as i64;
            let recorded = if label == "stopped" {
                for (i, g) in moving.iter_mut().enumerate() {
                    let since = groups[i].time_lag_s.unwrap_or(0.0) + 86_400.0;
                    g.time_lag_s = Some(since + (at - t0) as f64 / 1000.0);
                }
                &moving[..]
            } else if label == "moving" {
                // Every figure of every group and topic changes every poll: the worst case.
                for (i, g) in moving.iter_mut().enumerate() {
                    let wobble = (n + i) % 61;
                    g.total_lag = groups[i].total_lag + wobble as u64;
                    g.time_lag_s = Some(1.0 + wobble as f64 / 7.0);
                    g.produce_rate = Some(100.0 + wobble as f64 / 3.0);
                    g.consume_rate = Some(99.0 + wobble as f64 / 5.0);
                    for t in &mut g.topic_lags {
                        t.lag.total_lag = wobble as u64;
                    }
                }
                &moving[..]
            } else {
                groups
            };
            let started = Instant::now();
            let series = recorder.record(at, recorded, 3);
            record_times.push(started.elapsed());
            kept = series.times.len();
            // The model drops its views when the next one replaces it, as on the dashboard.
            drop(series);
        }
        let bytes = recorder.heap_bytes();
        record_times.sort();
        let pct = |p: f64| record_times[((record_times.len() - 1) as f64 * p) as usize];
        println!(
            "{label:6}: history after {polls} polls: {:.1} MiB ({} bytes), {kept} points a series, {} bytes a group",
            bytes as f64 / (1024.0 * 1024.0),
            bytes,
            bytes / groups.len().max(1)
        );
        println!(
            "{label:6}: recording one poll of {} groups: p50 {:.2} ms, p99 {:.2} ms",
            groups.len(),
            pct(0.5).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
