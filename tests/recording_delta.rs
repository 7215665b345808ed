//! Format version 2's delta chain, offline, on the UI fixtures' scenario: successive snapshots
//! with random changes (offsets moving, groups and topics coming and going, hosts failing, polls
//! failing) recorded with deltas and replayed give back every status byte for byte, at every
//! batch, from the start, from a checkpoint or from a keyframe; a file of format version 1 still
//! replays, to the same model as the same statuses recorded again with deltas; and the replay
//! screen's cursor (`Player::jump`) lands anywhere from the minute's keyframe, then turns exact.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod fixtures;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pipetop::clickhouse::snapshot::{ClickHouseSnapshot, HostOutcome};
use pipetop::kafka::snapshot::KafkaSnapshot;
use pipetop::recording::content::ns;
use pipetop::recording::player::Player;
use pipetop::recording::writer::{Ingested, RecordingWriter};
use pipetop::source::SourceStatus;

const TOML: &str = "context = \"prod-eu\"\nrefresh = \"2s\"\n";

fn temp(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("pipetop-delta-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// A status as bytes: its snapshot's CBOR and the rest.
fn bytes<T: serde::Serialize>(s: &SourceStatus<T>) -> (Option<Vec<u8>>, String) {
    (
        s.last_good.as_deref().map(cbor),
        format!("{:?} {:?} {}", s.last_good_at, s.error, s.polls),
    )
}

/// The next Kafka snapshot: the fixtures' poll `n` with random changes on top.
fn kafka(n: u64, rng: &mut fastrand::Rng) -> KafkaSnapshot {
    let mut s = fixtures::kafka_snapshot(n);
    for t in &mut s.topics {
        for p in &mut t.partitions {
            if rng.u8(0..4) == 0 {
                p.end_offset = p.end_offset.map(|e| e + rng.i64(1..100_000));
            }
            if rng.u8(0..20) == 0 {
                p.error = Some(format!("NOT_LEADER {}", rng.u8(..)));
            }
        }
    }
    for g in &mut s.groups {
        for c in &mut g.committed {
            if rng.u8(0..3) == 0 {
                c.offset += rng.i64(-5..1_000_000);
                c.produced_ms =
                    pipetop::compact::OptI64::new(rng.bool().then(|| rng.i64(0..i64::MAX)));
            }
        }
    }
    match rng.u8(0..6) {
        0 if !s.groups.is_empty() => {
            s.groups.remove(rng.usize(0..s.groups.len()));
        }
        1 if !s.topics.is_empty() => {
            let t = s.topics.remove(rng.usize(0..s.topics.len()));
            s.topics.insert(rng.usize(0..=s.topics.len()), t);
        }
        2 if !s.groups.is_empty() => {
            let mut g = s.groups[rng.usize(0..s.groups.len())].clone();
            g.group_id = format!("new-{}\u{1b}[31m", rng.u32(..));
            s.groups.insert(rng.usize(0..=s.groups.len()), g);
        }
        _ => {}
    }
    s.cluster_id = rng.bool().then(|| "cluster-😀".into());
    s.poll_ms = rng.u64(..);
    s
}

fn clickhouse(n: u64, rng: &mut fastrand::Rng) -> ClickHouseSnapshot {
    let mut s = fixtures::clickhouse_snapshot(n);
    s.poll_ms = rng.u64(0..5_000);
    match rng.u8(0..4) {
        0 => s.hosts.push(HostOutcome::Failed {
            host: "http://ch-2:8123".into(),
            error: format!("refused {}", rng.u8(..)),
        }),
        1 => s.hosts.clear(),
        _ => {}
    }
    s
}

/// Records `polls` polls 2 s apart (the ClickHouse half 300 ms later, in its own batch), some
/// failing; returns each batch's statuses as written, and the batches' times.
fn record(
    path: &Path,
    polls: u64,
    seed: u64,
) -> Vec<(
    SourceStatus<KafkaSnapshot>,
    SourceStatus<ClickHouseSnapshot>,
)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut writer =
        RecordingWriter::create(path, TOML.into(), ns(fixtures::t(0)), u64::MAX).unwrap();
    let (mut k, mut c) = (SourceStatus::default(), SourceStatus::default());
    let mut written = Vec::new();
    for n in 0..polls {
        let at = fixtures::t(n);
        if rng.u8(0..8) == 0 {
            k.record(Err("all brokers down".into()), at);
        } else {
            k.record(Ok(kafka(n, &mut rng)), at);
        }
        writer
            .append(&Ingested {
                kafka: Some(k.clone()),
                clickhouse: None,
                at_ns: ns(at),
            })
            .unwrap();
        written.push((k.clone(), c.clone()));
        let at = at + Duration::from_millis(300);
        if rng.u8(0..8) == 0 {
            c.record(Err("connection refused".into()), at);
        } else {
            c.record(Ok(clickhouse(n, &mut rng)), at);
        }
        writer
            .append(&Ingested {
                kafka: None,
                clickhouse: Some(c.clone()),
                at_ns: ns(at),
            })
            .unwrap();
        written.push((k.clone(), c.clone()));
    }
    written
}

fn same_as_written(
    player: &Player,
    written: &(
        SourceStatus<KafkaSnapshot>,
        SourceStatus<ClickHouseSnapshot>,
    ),
    what: &str,
) {
    assert_eq!(
        bytes(player.kafka_status()),
        bytes(&written.0),
        "{what}: Kafka"
    );
    assert_eq!(
        bytes(player.clickhouse_status()),
        bytes(&written.1),
        "{what}: ClickHouse"
    );
}

#[test]
fn a_delta_chain_replays_every_status_byte_for_byte() {
    for seed in 0..4 {
        let path = temp(&format!("chain-{seed}"));
        // Five minutes: keyframes every minute, 300 batches.
        let written = record(&path, 150, seed);
        let mut player = Player::open(&path).unwrap();
        assert_eq!(player.recording().version, 2);
        let mut i = 0;
        while player.step() {
            same_as_written(&player, &written[i], &format!("seed {seed}, batch {i}"));
            i += 1;
        }
        assert_eq!(i, written.len());
        assert!(player.problem().is_none(), "{:?}", player.problem());
        // Seeks back and forth (from checkpoints) and cold jumps (from keyframes) land on the
        // same bytes.
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..20 {
            let b = rng.usize(0..written.len());
            let at = fixtures::t(b as u64 / 2) + Duration::from_millis(300 * (b as u64 % 2));
            player.seek(at);
            same_as_written(&player, &written[b], &format!("seed {seed}, seek to {b}"));
            let mut cold = Player::open(&path).unwrap();
            cold.jump(at);
            same_as_written(&cold, &written[b], &format!("seed {seed}, jump to {b}"));
        }
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn deltas_make_the_recording_much_smaller() {
    let path = temp("size");
    record(&path, 150, 9);
    let size = std::fs::metadata(&path).unwrap().len();
    // The same batches with every snapshot whole, as format 1 wrote them: each batch's frame
    // body again with the snapshot in place of its delta.
    let player = Player::open(&path).unwrap();
    let batches = player.recording().frames.len();
    assert!(batches > 300);
    let whole =
        cbor(&fixtures::kafka_snapshot(0)).len() + cbor(&fixtures::clickhouse_snapshot(0)).len();
    // Uncompressed, 300 whole snapshots would be 150 × (Kafka + ClickHouse).
    assert!(
        (size as usize) < 150 * whole / 10,
        "{size} bytes for 150 polls of snapshots of {whole} bytes"
    );
    let _ = std::fs::remove_file(&path);
}

/// `tests/fixtures/recording-v1.rec`: 32 polls of the fixtures' scenario (both sources, 2 s
/// apart, the ClickHouse half 300 ms later) recorded by pipetop 0.x with format version 1, whole
/// snapshots in every batch, keyframes at 0 s and 60 s.
const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/recording-v1.rec"
);

#[test]
fn a_version_1_recording_replays_as_the_same_statuses_recorded_with_deltas() {
    let mut old = Player::open(Path::new(V1)).unwrap();
    assert_eq!(old.recording().version, 1);
    assert!(old.problem().is_none());
    // Its statuses, batch by batch, recorded again (format 2, deltas).
    let path = temp("v1-again");
    let mut writer = RecordingWriter::create(
        &path,
        old.recording().header.config_toml.clone(),
        old.recording().header.started_ns,
        u64::MAX,
    )
    .unwrap();
    let mut statuses = Vec::new();
    let mut polls = (0, 0);
    while old.step() {
        let (k, c) = (old.kafka_status().clone(), old.clickhouse_status().clone());
        let at_ns = ns(old.cursor().unwrap());
        writer
            .append(&Ingested {
                kafka: (k.polls != polls.0).then(|| k.clone()),
                clickhouse: (c.polls != polls.1).then(|| c.clone()),
                at_ns,
            })
            .unwrap();
        polls = (k.polls, c.polls);
        statuses.push((k, c, Arc::clone(old.model())));
    }
    assert_eq!(polls, (32, 32));
    drop(writer);
    let mut again = Player::open(&path).unwrap();
    assert_eq!(again.recording().version, 2);
    let mut i = 0;
    while again.step() {
        let (k, c, model) = &statuses[i];
        assert_eq!(bytes(again.kafka_status()), bytes(k), "batch {i}");
        assert_eq!(bytes(again.clickhouse_status()), bytes(c), "batch {i}");
        // The same session on the same statuses: the same model, alerts and events.
        assert_eq!(
            serde_json::to_string(again.model().as_ref()).unwrap(),
            serde_json::to_string(model.as_ref()).unwrap(),
            "batch {i}"
        );
        i += 1;
    }
    assert_eq!(i, statuses.len());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_cold_jump_starts_at_the_minutes_keyframe_then_turns_exact() {
    let path = temp("jump");
    // Ten minutes.
    let written = record(&path, 300, 3);
    let at = fixtures::t(280);
    let mut exact = Player::open(&path).unwrap();
    exact.seek(at);
    assert!(exact.partial_since().is_none());

    let mut player = Player::open(&path).unwrap();
    player.jump(at);
    let since = player
        .partial_since()
        .expect("no exact state near minute 9: from its keyframe");
    assert!(since <= at && at.duration_since(since).unwrap() <= Duration::from_secs(60));
    same_as_written(&player, &written[560], "the jump");
    assert_eq!(
        format!("{:?}", player.model().sources),
        format!("{:?}", exact.model().sources)
    );
    // Playing on stays partial; nothing to make it exact with yet.
    player.jump(at + Duration::from_secs(10));
    assert!(player.partial_since().is_some());
    assert!(!player.make_exact());
    // A scout played the recording: the player turns exact where it is.
    let mut scout = Player::open(&path).unwrap();
    scout.play_to_end();
    player.adopt_checkpoints(&scout);
    assert!(player.make_exact());
    assert!(player.partial_since().is_none());
    exact.seek(at + Duration::from_secs(10));
    assert_eq!(
        serde_json::to_string(player.model().as_ref()).unwrap(),
        serde_json::to_string(exact.model().as_ref()).unwrap()
    );
    let _ = std::fs::remove_file(&path);
}
