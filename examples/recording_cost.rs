//! What recording costs and how fast replay seeks, without servers: the UI fixtures' demo-scale
//! scenario (`tests/fixtures`: five groups, a few topics, one ClickHouse host with several tables)
//! polled every 2 s for an hour, both sources, each poll ingested by the real `Session` and
//! appended by the real `RecordingWriter`; then the file replayed by the real `Player`.
//! Optionally the same at 20,000 partitions and 1,000 groups (`scale_snapshot`), for size.
//!
//! Prints: file size per hour, the recorder's CPU time (encode, compress, write) against the
//! session's (derive and judge) for the same polls, the replay's open and first-pass time, and
//! the time to seek to every minute of the hour (from checkpoints, and cold).
//!
//!   cargo run --release --example recording_cost -- [--minutes 60] [--scale-batches 20]

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::time::{Duration, Instant, SystemTime};

use clap::Parser;

use pipetop::recording::content::ns;
use pipetop::recording::player::Player;
use pipetop::recording::writer::{Ingested, RecordingWriter};
use pipetop::session::Session;
use pipetop::source::SourceStatus;

#[derive(Parser)]
struct Args {
    /// Minutes of demo-scale recording (at the fixtures' 2 s refresh).
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Batches at 20,000 partitions and 1,000 groups, for the size per hour there (0: skip).
    #[arg(long, default_value_t = 20)]
    scale_batches: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir();
    let path = dir.join(format!("pipetop-recording-cost-{}.rec", std::process::id()));
    let config = fixtures::config();
    let toml = String::from("refresh = \"2s\"\n");

    // --- an hour at demo scale: the session's work and the recorder's, measured apart
    let polls = args.minutes * 30;
    let mut writer = RecordingWriter::create(&path, toml.clone(), ns(fixtures::t(0)), u64::MAX)
        .map_err(anyhow::Error::msg)?;
    let mut session = Session::new(&config);
    let (mut kafka, mut clickhouse) = (SourceStatus::default(), SourceStatus::default());
    let (mut session_time, mut record_time) = (Duration::ZERO, Duration::ZERO);
    for n in 0..polls {
        let at = fixtures::t(n);
        kafka.record(Ok(fixtures::kafka_snapshot(n)), at);
        clickhouse.record(
            Ok(fixtures::clickhouse_snapshot(n)),
            at + Duration::from_millis(300),
        );
        for (k, c) in [
            (Some(kafka.clone()), None),
            (None, Some(clickhouse.clone())),
        ] {
            let t = Instant::now();
            session.ingest(k.clone(), c.clone());
            session_time += t.elapsed();
            let judged = session.model().judged_at.map_or(0, ns);
            let t = Instant::now();
            writer
                .append(&Ingested {
                    kafka: k,
                    clickhouse: c,
                    at_ns: judged,
                })
                .map_err(anyhow::Error::msg)?;
            record_time += t.elapsed();
        }
    }
    let size = writer.written();
    drop(writer);
    let hours = args.minutes as f64 / 60.0;
    println!(
        "demo scale, {} min at 2 s ({} batches):",
        args.minutes,
        polls * 2
    );
    println!(
        "  file: {:.1} MiB, {:.1} MiB per hour, {:.1} KiB per batch",
        mib(size),
        mib(size) / hours,
        size as f64 / 1024.0 / (polls * 2) as f64
    );
    println!(
        "  CPU: recorder {:.0} ms, session {:.0} ms for the same polls: recording adds {:.1} % \
         to the session's work; {:.3} % of one core at this refresh",
        ms(record_time),
        ms(session_time),
        100.0 * record_time.as_secs_f64() / session_time.as_secs_f64(),
        100.0 * record_time.as_secs_f64() / (args.minutes as f64 * 60.0)
    );

    // --- replay: open, first pass, seeks
    let t = Instant::now();
    let mut player = Player::open(&path).map_err(anyhow::Error::msg)?;
    let open = t.elapsed();
    let (start, _) = player.span().ok_or_else(|| anyhow::anyhow!("empty"))?;
    let t = Instant::now();
    player.play_to_end();
    let pass = t.elapsed();
    println!(
        "  replay: open (index) {:.1} ms, first pass to the end {:.0} ms",
        ms(open),
        ms(pass)
    );
    let minutes: Vec<u64> = shuffled(args.minutes);
    let mut warm = Vec::new();
    for m in &minutes {
        let t = Instant::now();
        player.seek(start + Duration::from_secs(60 * m + 30));
        warm.push(ms(t.elapsed()));
    }
    report(
        "  seek to each minute, after the first pass (checkpoints)",
        warm,
    );
    let mut cold = Vec::new();
    for m in [
        0,
        args.minutes / 4,
        args.minutes / 2,
        args.minutes.saturating_sub(1),
    ] {
        let mut fresh = Player::open(&path).map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        fresh.seek(start + Duration::from_secs(60 * m + 30));
        cold.push(ms(t.elapsed()));
    }
    report(
        "  seek cold (a fresh player) to minutes 0, ¼, ½, last",
        cold,
    );
    let _ = std::fs::remove_file(&path);

    // --- size at 20,000 partitions and 1,000 groups
    if args.scale_batches > 0 {
        let mut writer = RecordingWriter::create(&path, toml, ns(SystemTime::now()), u64::MAX)
            .map_err(anyhow::Error::msg)?;
        let first = writer.written();
        let mut kafka = SourceStatus::default();
        let mut encode = Duration::ZERO;
        for n in 0..args.scale_batches {
            let at = fixtures::t(n);
            let snapshot = fixtures::scale_snapshot(100, 200, 1000, n, pipetop::time::unix_ms(at));
            kafka.record(Ok(snapshot), at);
            let t = Instant::now();
            writer
                .append(&Ingested {
                    kafka: Some(kafka.clone()),
                    clickhouse: None,
                    at_ns: ns(at),
                })
                .map_err(anyhow::Error::msg)?;
            encode += t.elapsed();
        }
        // The first batch is followed by a keyframe (a second copy): count the batches alone.
        let per_batch = (writer.written() - first) as f64 / (args.scale_batches + 1) as f64;
        println!("20,000 partitions, 1,000 groups (200,000 group-partitions), Kafka half:");
        println!(
            "  {:.2} MiB per batch, {:.0} MiB per hour at 2 s (+ a keyframe a minute: {:.0} MiB), \
             {:.0} ms to encode and write one batch",
            per_batch / 1048576.0,
            per_batch * 1800.0 / 1048576.0,
            per_batch * 1860.0 / 1048576.0,
            ms(encode) / args.scale_batches as f64
        );
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

fn report(what: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!("{what}: median {median:.1} ms, max {max:.1} ms");
}

/// 0..n in a fixed scrambled order, so seeks go back as well as forward.
fn shuffled(n: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    let mut rng = fastrand::Rng::with_seed(7);
    rng.shuffle(&mut v);
    v
}
