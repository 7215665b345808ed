//! Where pipetop's heap goes at scale, part by part (issue 16: "find where it goes first").
//!
//!   cargo run --release --example heap_breakdown -- [--topics 100] [--partitions 200]
//!       [--groups 1000] [--polls 30]
//!
//! Synthetic Kafka snapshots of `topics` × `partitions` (20,000 by default) read by `groups`
//! groups (1,000; 200,000 group-partitions) go through the real `Session` (the dashboard's
//! tracker, model derivation, alerts, timeline), one per refresh of 2 s, for `--polls` polls. A
//! counting allocator (`stats_alloc`) measures the bytes live on the heap after each step, and
//! dropping each part in turn splits the total: one snapshot, the derived model, the session's
//! own state (offset histories for rates and time lag, the group and table series). The groups'
//! chart history at its full hour is `examples/history_memory` (it grows with polls; this run
//! covers the first `--polls`). What is not here: librdkafka's own memory and the collector's
//! transient buffers during a poll, which only the live benchmark (`bench_kafka`) sees in its RSS.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

use pipetop::config::Config;
use pipetop::session::Session;
use pipetop::source::SourceStatus;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    topics: usize,
    #[arg(long, default_value_t = 200)]
    partitions: i32,
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    #[arg(long, default_value_t = 30)]
    polls: u64,
}

/// Bytes live on the heap now, counted from `region`'s start.
fn live(region: &Region<System>) -> i64 {
    let c = region.change();
    let allocated = i64::try_from(c.bytes_allocated).unwrap_or(i64::MAX);
    let freed = i64::try_from(c.bytes_deallocated).unwrap_or(i64::MAX);
    // (A realloc is counted in both already; `bytes_reallocated` is the same change again.)
    allocated - freed
}

/// Bytes live on the heap since the process started.
fn heap_live() -> i64 {
    let stats = GLOBAL.stats();
    i64::try_from(stats.bytes_allocated).unwrap_or(i64::MAX)
        - i64::try_from(stats.bytes_deallocated).unwrap_or(0)
}

/// The most bytes live on the heap while watching, sampled every 100 µs from a thread of its
/// own (the counting allocator keeps totals, not a peak).
struct PeakSampler {
    watching: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<i64>,
}

impl PeakSampler {
    /// Counts from now, like a `Region` made now.
    fn start() -> PeakSampler {
        let base = heap_live();
        let watching = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (w, s) = (Arc::clone(&watching), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !s.load(Ordering::Relaxed) {
                if w.load(Ordering::Relaxed) {
                    peak = peak.max(heap_live());
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            peak - base
        });
        PeakSampler {
            watching,
            stop,
            thread,
        }
    }

    fn watch(&self, on: bool) {
        self.watching.store(on, Ordering::SeqCst);
    }

    fn stop(self) -> i64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or(0)
    }
}

fn mib(bytes: i64) -> String {
    format!("{:7.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let refresh = Duration::from_secs(2);
    let config = Config {
        refresh,
        ..Config::default()
    };
    let region = Region::new(GLOBAL);
    let t0 = pipetop::time::unix_ms(SystemTime::now());
    let step = i64::try_from(refresh.as_millis())?;
    let snapshot = |n: u64| {
        fixtures::scale_snapshot(
            args.topics,
            args.partitions,
            args.groups,
            n,
            t0 + step * i64::try_from(n).unwrap_or(0),
        )
    };

    let before = live(&region);
    let one = snapshot(0);
    let snapshot_bytes = live(&region) - before;
    let partitions: usize = one.topics.iter().map(|t| t.partitions.len()).sum();
    let group_partitions: usize = one.groups.iter().map(|g| g.committed.len()).sum();
    drop(one);

    let base = live(&region);
    let peak = PeakSampler::start();
    let mut session = Session::new(&config);
    let mut status: SourceStatus<pipetop::kafka::snapshot::KafkaSnapshot> = SourceStatus::default();
    let mut derive_ms = Vec::new();
    for n in 0..args.polls {
        // As in the dashboard: the screen holds the model before while the next is derived.
        let shown = Arc::clone(session.model());
        let s = snapshot(n);
        // The peak is taken over the steady polls (from the third on), a new snapshot arriving.
        peak.watch(n >= 2);
        status.record(Ok(s), SystemTime::now());
        let started = Instant::now();
        session.ingest(Some(status.clone()), None);
        derive_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(shown);
        peak.watch(false);
    }
    let total = live(&region) - base;
    let steady_peak = peak.stop();
    // Split it: the session holds the newest snapshot (through its status, as does `status`
    // here), the model, and its own state.
    let model = Arc::clone(session.model());
    let before_session = live(&region);
    drop(session);
    let session_state = before_session - live(&region);
    let before_model = live(&region);
    drop(model);
    let model_bytes = before_model - live(&region);
    let before_status = live(&region);
    drop(status);
    let status_bytes = before_status - live(&region);

    derive_ms.sort_by(f64::total_cmp);
    let median = derive_ms.get(derive_ms.len() / 2).copied().unwrap_or(0.0);
    println!(
        "scale: {} topics × {} partitions = {partitions} partitions, {} groups, {group_partitions} group-partitions; {} polls at {refresh:?}",
        args.topics, args.partitions, args.groups, args.polls
    );
    println!("heap live after the last poll: {}", mib(total));
    println!(
        "  peak while a steady poll is taken and derived (the screen holding the model before): {}",
        mib(steady_peak)
    );
    println!(
        "  one Kafka snapshot:            {}  ({} bytes a partition-or-group-partition)",
        mib(snapshot_bytes),
        snapshot_bytes
            / i64::try_from(partitions + group_partitions)
                .unwrap_or(1)
                .max(1)
    );
    println!(
        "  the snapshot held (status):    {}  (shared by Arc with the session, counted once)",
        mib(status_bytes)
    );
    println!("  the derived model:             {}", mib(model_bytes));
    println!(
        "  the session's own state:       {}  (offset histories, series, alerts, timeline)",
        mib(session_state)
    );
    println!(
        "  per group-partition: a model row {} bytes, its track in the session {} bytes",
        std::mem::size_of::<pipetop::model::kafka::partition_lag::PartitionLag>(),
        std::mem::size_of::<Option<pipetop::model::kafka::status::PartitionTrack>>()
    );
    println!(
        "derivation per poll: median {median:.1} ms, range {:.1}–{:.1} ms (the first poll included)",
        derive_ms.first().copied().unwrap_or(0.0),
        derive_ms.last().copied().unwrap_or(0.0)
    );
    if let Some(peak) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(str::to_string))
        })
    {
        println!("peak RSS of this process: {}", peak.trim());
    }
    Ok(())
}
