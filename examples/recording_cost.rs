//! What recording costs and how fast replay seeks, without servers: the UI fixtures' demo-scale
//! scenario (`tests/fixtures`: five groups, a few topics, one ClickHouse host with several tables)
//! polled every 2 s for an hour, both sources, each poll ingested by the real `Session` and
//! appended by the real `RecordingWriter`; then the file replayed by the real `Player`.
//! Optionally the Kafka half at 20,000 partitions and 1,000 groups (`scale_snapshot`), for size,
//! with offsets moving as in a busy cluster: each poll a random `--scale-moving` percent of the
//! partitions get 1–200 new messages, and every group reading such a partition commits up to a
//! few messages behind its new end (the rest stay where they were); poll time and phases vary.
//!
//! Prints: file size per hour, the recorder's CPU time (encode, compress, write) against the
//! session's (derive and judge) for the same polls, the replay's open and first-pass time, and
//! the time to seek to every minute of the hour: from checkpoints (after a first pass), and cold
//! (a fresh player), both as the replay screen's cursor does (`Player::jump`: from the minute's
//! keyframe when no exact state is near) and exactly (`Player::seek`: what `check --at` does).
//!
//!   cargo run --release --example recording_cost -- [--minutes 60] [--scale-batches 20]
//!       [--scale-moving 10]

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
    /// Percent of the 20,000 partitions whose log end moves each poll, at scale.
    #[arg(long, default_value_t = 10.0)]
    scale_moving: f64,
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
    let mut partial = 0;
    for m in &minutes {
        let mut fresh = Player::open(&path).map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        fresh.jump(start + Duration::from_secs(60 * m + 30));
        cold.push(ms(t.elapsed()));
        partial += usize::from(fresh.partial_since().is_some());
    }
    report(
        &format!(
            "  jump cold (a fresh player, as the replay cursor) to each minute ({partial} from \
             the minute's keyframe)"
        ),
        cold,
    );
    let mut exact = Vec::new();
    for m in [
        0,
        args.minutes / 4,
        args.minutes / 2,
        args.minutes.saturating_sub(1),
    ] {
        let mut fresh = Player::open(&path).map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        fresh.seek(start + Duration::from_secs(60 * m + 30));
        exact.push(ms(t.elapsed()));
    }
    report(
        "  seek cold and exact (a fresh player, as check --at) to minutes 0, ¼, ½, last",
        exact,
    );
    let _ = std::fs::remove_file(&path);

    // --- size at 20,000 partitions and 1,000 groups
    if args.scale_batches > 0 {
        let mut writer = RecordingWriter::create(&path, toml, ns(SystemTime::now()), u64::MAX)
            .map_err(anyhow::Error::msg)?;
        let mut kafka = SourceStatus::default();
        let mut cluster = Moving::new(args.scale_moving / 100.0);
        let (mut batches, mut encode) = (Vec::new(), Vec::new());
        for n in 0..args.scale_batches {
            let at = fixtures::t(n);
            let snapshot = cluster.poll(n, pipetop::time::unix_ms(at));
            kafka.record(Ok(snapshot), at);
            let before = writer.written();
            let t = Instant::now();
            writer
                .append(&Ingested {
                    kafka: Some(kafka.clone()),
                    clickhouse: None,
                    at_ns: ns(at),
                })
                .map_err(anyhow::Error::msg)?;
            encode.push(t.elapsed());
            batches.push(writer.written() - before);
        }
        // The first batch holds the snapshot whole and is followed by a keyframe (a second
        // copy); the others are deltas (no keyframe falls within 20 batches at 2 s).
        let key = batches[0] as f64 / 2.0;
        let n = (batches.len() - 1).max(1) as f64;
        let per_batch = batches[1..].iter().sum::<u64>() as f64 / n;
        let encode_ms = encode[1..].iter().map(|d| ms(*d)).sum::<f64>() / n;
        let hour = per_batch * 1800.0 + key * 60.0;
        println!(
            "20,000 partitions, 1,000 groups (200,000 group-partitions), Kafka half, {}% of the \
             partitions moving per poll:",
            args.scale_moving
        );
        println!(
            "  a batch {:.1} KiB (a delta), a keyframe {:.2} MiB: {:.0} MiB per hour at 2 s \
             (1,800 batches and 60 keyframes); {:.0} ms to encode and write a batch, {:.0} ms \
             the first (whole, and its keyframe)",
            per_batch / 1024.0,
            key / 1048576.0,
            hour / 1048576.0,
            encode_ms,
            ms(encode[0])
        );
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// The scale snapshot polled again and again, with a fraction of its partitions moving.
struct Moving {
    snapshot: pipetop::kafka::snapshot::KafkaSnapshot,
    /// Index of the scale topics by name, for the groups' commits.
    topics: std::collections::HashMap<String, usize>,
    moving: f64,
    rng: fastrand::Rng,
}

impl Moving {
    fn new(moving: f64) -> Moving {
        let snapshot = fixtures::scale_snapshot(100, 200, 1000, 0, 0);
        let topics = snapshot
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Moving {
            snapshot,
            topics,
            moving,
            rng: fastrand::Rng::with_seed(11),
        }
    }

    fn poll(&mut self, n: u64, taken_at_ms: i64) -> pipetop::kafka::snapshot::KafkaSnapshot {
        let rng = &mut self.rng;
        let s = &mut self.snapshot;
        s.taken_at_ms = taken_at_ms;
        s.poll_ms = 700 + rng.u64(0..600);
        s.phases_ms.offset_fetch = 200 + rng.u64(0..300);
        s.phases_ms.list_offsets = 300 + rng.u64(0..300);
        let mut moved = std::collections::HashSet::new();
        for (t, topic) in s.topics.iter_mut().enumerate() {
            if !topic.name.starts_with("scale_topic_") {
                continue;
            }
            for p in &mut topic.partitions {
                if rng.f64() < self.moving {
                    p.end_offset = p.end_offset.map(|e| e + rng.i64(1..=200));
                    moved.insert((t, p.partition));
                }
            }
        }
        for g in &mut s.groups {
            for (topic, c) in g.committed.iter_mut_with_topics() {
                let Some(&t) = self.topics.get(&**topic) else {
                    continue;
                };
                if moved.contains(&(t, c.partition))
                    && let Some(end) = s.topics[t].partitions[c.partition as usize].end_offset
                {
                    c.offset = c.offset.max(end - rng.i64(0..5));
                }
            }
        }
        let _ = n;
        s.clone()
    }
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
