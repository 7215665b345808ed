//! The frame codec and the file around it: a crash's partial tail, a corrupt frame, a version
//! this build does not read, and that no secret reaches the file.

use std::io::Write;

use super::content::{self, ns};
use super::frame;
use super::player::Player;
use super::reader::Recording;
use super::writer::{Ingested, RecordingWriter};
use crate::config_contexts;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;

/// A path named `name` in a directory of its own, removed with all in it (rotated files too) when
/// the guard drops, whether the test passed or not.
fn temp(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("pipetop-rec-")
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

const T0: u64 = 1_796_180_000_000_000_000;

/// Ten Kafka polls a second apart, each with a topic named after its poll.
/// Records one Kafka poll into `status`, as a collector would, and appends the batch.
fn append_kafka(
    writer: &mut RecordingWriter,
    status: &mut SourceStatus<KafkaSnapshot>,
    snapshot: KafkaSnapshot,
    at: std::time::SystemTime,
) {
    status.record(Ok(snapshot), at);
    writer
        .append(&Ingested {
            kafka: Some(status.clone()),
            clickhouse: None,
            at_ns: ns(at),
        })
        .unwrap();
}

fn write_ten(path: &std::path::Path) -> Vec<u64> {
    let mut writer = RecordingWriter::create(path, String::new(), T0, u64::MAX).unwrap();
    let mut status = SourceStatus::<KafkaSnapshot>::default();
    let mut sizes = Vec::new();
    for i in 0..10u64 {
        let at = content::time(T0 + i * 1_000_000_000);
        let snapshot = KafkaSnapshot {
            taken_at_ms: crate::time::unix_ms(at),
            topics: vec![crate::kafka::snapshot::Topic {
                name: format!("topic-{i}"),
                internal: false,
                error: None,
                partitions: vec![],
            }],
            ..KafkaSnapshot::default()
        };
        append_kafka(&mut writer, &mut status, snapshot, at);
        sizes.push(writer.written());
    }
    sizes
}

#[test]
fn a_recording_replays_its_batches_in_order() {
    let (_path_dir, path) = temp("order");
    write_ten(&path);
    let mut player = Player::open(&path).unwrap();
    assert!(player.problem().is_none());
    let mut topics = Vec::new();
    while player.step() {
        let k = player.kafka_status().last_good.clone().unwrap();
        topics.push(k.topics[0].name.clone());
    }
    assert_eq!(topics.len(), 10);
    assert_eq!(topics[9], "topic-9");
    // Back to the fourth second: the state after the fourth batch, whatever came after.
    player.seek(content::time(T0 + 3_500_000_000));
    let k = player.kafka_status().last_good.clone().unwrap();
    assert_eq!(k.topics[0].name, "topic-3");
    assert_eq!(player.model().sources.kafka.polls, 4);
}

#[test]
fn a_partial_last_frame_is_ignored_and_said() {
    let (_path_dir, path) = temp("truncated");
    let sizes = write_ten(&path);
    let full = std::fs::read(&path).unwrap();
    // Cut in the middle of the last frame, as a crash mid-write leaves it.
    let cut = (sizes[8] + 5) as usize;
    std::fs::write(&path, &full[..cut]).unwrap();
    let mut player = Player::open(&path).unwrap();
    let problem = player.problem().unwrap().to_string();
    assert!(problem.contains("partial frame"), "{problem}");
    player.play_to_end();
    let k = player.kafka_status().last_good.clone().unwrap();
    // Nine batches were complete (and the keyframe after the first).
    assert_eq!(k.topics[0].name, "topic-8");
}

#[test]
fn a_corrupt_frame_ends_the_readable_part_with_a_message() {
    let (_path_dir, path) = temp("crc");
    let sizes = write_ten(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    // Flip a byte in the body of the sixth batch.
    let at = sizes[4] as usize + frame::FRAME_HEAD + 3;
    bytes[at] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let mut player = Player::open(&path).unwrap();
    player.play_to_end();
    let problem = player.problem().unwrap().to_string();
    assert!(problem.contains("CRC mismatch"), "{problem}");
    let k = player.kafka_status().last_good.clone().unwrap();
    assert_eq!(k.topics[0].name, "topic-4", "read up to the corrupt frame");
}

#[test]
fn an_unknown_version_is_refused_with_a_message() {
    let (_path_dir, path) = temp("version");
    write_ten(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[frame::MAGIC.len()..frame::FILE_HEAD].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Recording::open(&path).err().unwrap();
    assert!(
        err.contains("format version 7 is not supported") && err.contains("newer pipetop"),
        "{err}"
    );
    std::fs::write(&path, b"{\"not\": \"a recording\"}").unwrap();
    let err = Recording::open(&path).err().unwrap();
    assert!(err.contains("not a pipetop recording"), "{err}");
}

#[test]
fn rotation_keeps_the_newest_part_replayable_on_its_own() {
    let (_path_dir, path) = temp("rotate");
    let mut writer = RecordingWriter::create(&path, String::new(), T0, 200 * 1024).unwrap();
    let mut status = SourceStatus::<KafkaSnapshot>::default();
    for i in 0..40u64 {
        let at = content::time(T0 + i * 1_000_000_000);
        // Incompressible names, so the limit is reached within the loop.
        let name: String = (0..20_000).map(|_| fastrand::alphanumeric()).collect();
        let snapshot = KafkaSnapshot {
            cluster_id: Some(format!("{i}-{name}")),
            ..KafkaSnapshot::default()
        };
        append_kafka(&mut writer, &mut status, snapshot, at);
    }
    assert!(writer.rotations() > 0);
    assert!(std::fs::metadata(&path).unwrap().len() <= 200 * 1024 + 64 * 1024);
    let mut player = Player::open(&path).unwrap();
    assert!(player.recording().header.continues);
    player.play_to_end();
    let k = player.kafka_status().last_good.clone().unwrap();
    assert!(k.cluster_id.as_deref().unwrap().starts_with("39-"));
    let older = super::writer::rotated_path(&path);
    assert!(Player::open(&older).is_ok());
}

struct Secrets;
impl crate::config::Env for Secrets {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            "CH_PASSWORD" => Some("hunter2-clickhouse".into()),
            "KAFKA_SECRET" => Some("hunter2-kafka-env".into()),
            _ => None,
        }
    }
}

#[test]
fn no_secret_reaches_the_file() {
    let (_config_path_dir, config_path) = temp("secret.toml");
    let mut f = std::fs::File::create(&config_path).unwrap();
    writeln!(
        f,
        "[kafka]\nbootstrap_servers = \"k:9092\"\n[kafka.properties]\n\"sasl.password\" = \"hunter2-kafka-file\"\n\
         [kafka.properties_env]\n\"ssl.key.password\" = \"KAFKA_SECRET\"\n\
         [clickhouse]\nurl = \"http://c:8123\"\npassword_env = \"CH_PASSWORD\""
    )
    .unwrap();
    let loaded = config_contexts::load(Some(&config_path), None, &Secrets).unwrap();
    assert_eq!(
        loaded.config.clickhouse.password.expose(),
        "hunter2-clickhouse"
    );
    let (_path_dir, path) = temp("secret");
    let toml = crate::config_effective::effective_toml(&loaded);
    let mut writer = RecordingWriter::create(&path, toml, T0, u64::MAX).unwrap();
    writer
        .append(&Ingested {
            kafka: Some(SourceStatus::default()),
            clickhouse: None,
            at_ns: T0,
        })
        .unwrap();
    drop(writer);
    // Decompress every frame and look for the secrets in the plain bytes.
    let recording = Recording::open(&path).unwrap();
    let mut plain = recording.header.config_toml.clone().into_bytes();
    let raw = std::fs::read(&path).unwrap();
    for head in &recording.frames {
        plain.extend(format!("{:?}", recording.statuses(head).unwrap()).into_bytes());
        // And each body decompressed as it is (a delta's bytes are not text in the above).
        let start = head.offset as usize + frame::FRAME_HEAD;
        let body = &raw[start..start + head.body_len as usize];
        plain.extend(zstd::stream::decode_all(body).unwrap());
    }
    // Every secret above starts so.
    let secret = b"hunter2";
    let found = |hay: &[u8]| hay.windows(secret.len()).any(|w| w == secret);
    assert!(!found(&plain), "a secret in the recording's content");
    assert!(!found(&raw), "a secret in the recording's bytes");
    assert!(recording.header.config_toml.contains("***"));
    assert_eq!(recording.config.kafka.bootstrap_servers, "k:9092");
}

#[test]
fn an_export_of_the_last_minutes_replays_on_its_own() {
    let (_path_dir, path) = temp("export-src");
    let mut writer = RecordingWriter::create(&path, String::new(), T0, u64::MAX).unwrap();
    let mut status = SourceStatus::<KafkaSnapshot>::default();
    // Ten minutes, a poll every 10 s: keyframes at 0, 60 s, 120 s ...
    for i in 0..60u64 {
        let at = content::time(T0 + i * 10_000_000_000);
        let snapshot = KafkaSnapshot {
            cluster_id: Some(format!("poll-{i}")),
            ..KafkaSnapshot::default()
        };
        append_kafka(&mut writer, &mut status, snapshot, at);
    }
    let (_out_dir, out) = temp("export-out");
    let span =
        super::export::export_window(&path, &out, std::time::Duration::from_secs(150)).unwrap();
    // From the keyframe at 420 s (the last at or before 590 − 150 = 440 s) to 590 s.
    assert_eq!(span.as_secs(), 170);
    let mut player = Player::open(&out).unwrap();
    assert!(player.recording().header.continues);
    assert!(player.step());
    let first = player.kafka_status().last_good.clone().unwrap();
    assert_eq!(first.cluster_id.as_deref(), Some("poll-42"));
    player.play_to_end();
    let last = player.kafka_status().last_good.clone().unwrap();
    assert_eq!(last.cluster_id.as_deref(), Some("poll-59"));
    assert_eq!(player.model().sources.kafka.polls, 60);
}

/// The dashboard's collector lets go of its latest snapshot when the next poll starts, so a
/// failed poll's status arrives without one: the file keeps the last good snapshot all the same,
/// in the keyframes after it and as the base of the next delta.
#[test]
fn failed_polls_that_let_go_of_the_snapshot_still_replay_with_the_last_good_one() {
    let (_path_dir, path) = temp("let-go");
    let mut writer = RecordingWriter::create(&path, String::new(), T0, u64::MAX).unwrap();
    let mut status = SourceStatus::<KafkaSnapshot>::default();
    let at = |s: u64| content::time(T0 + s * 1_000_000_000);
    let polled = |i: u64| KafkaSnapshot {
        cluster_id: Some(format!("poll-{i}")),
        ..KafkaSnapshot::default()
    };
    append_kafka(&mut writer, &mut status, polled(0), at(0));
    // Failures every 10 s for three minutes: keyframes at 60, 120 and 180 s fall among them.
    for s in (10..=180).step_by(10) {
        status.mark_taken();
        status.let_go_if_taken();
        status.record(Err("refused".into()), at(s));
        assert!(status.last_good.is_none());
        writer
            .append(&Ingested {
                kafka: Some(status.clone()),
                clickhouse: None,
                at_ns: ns(at(s)),
            })
            .unwrap();
    }
    status.mark_taken();
    status.let_go_if_taken();
    append_kafka(&mut writer, &mut status, polled(19), at(190));

    let cluster = |player: &Player| {
        let status = player.kafka_status();
        status.last_good.as_ref().and_then(|k| k.cluster_id.clone())
    };
    let mut player = Player::open(&path).unwrap();
    assert!(player.problem().is_none());
    let mut seen = Vec::new();
    while player.step() {
        seen.push(cluster(&player));
    }
    let mut expected = vec![Some("poll-0".to_string()); 19];
    expected.push(Some("poll-19".to_string()));
    assert_eq!(seen, expected);
    // From the keyframe at 180 s alone (a fresh session there), the last good one is there.
    let mut from_key = Player::open(&path).unwrap();
    from_key.jump(at(185));
    assert_eq!(
        from_key.partial_since(),
        Some(at(180)),
        "played from the keyframe"
    );
    assert_eq!(cluster(&from_key).as_deref(), Some("poll-0"));
    assert_eq!(from_key.kafka_status().last_good_at, Some(at(0)));
}

#[test]
fn a_player_seeks_from_the_checkpoints_a_scout_played_ahead_to_the_same_state() {
    let (_path_dir, path) = temp("scout");
    let mut writer = RecordingWriter::create(&path, String::new(), T0, u64::MAX).unwrap();
    let mut status = SourceStatus::<KafkaSnapshot>::default();
    for i in 0..100u64 {
        let at = content::time(T0 + i * 5_000_000_000);
        status.record(
            Ok(KafkaSnapshot {
                cluster_id: Some(format!("poll-{i}")),
                ..KafkaSnapshot::default()
            }),
            at,
        );
        let batch = Ingested {
            kafka: Some(status.clone()),
            clickhouse: None,
            at_ns: ns(at),
        };
        writer.append(&batch).unwrap();
    }
    let mut scout = Player::open(&path).unwrap();
    let mut player = Player::open(&path).unwrap();
    while scout.advance(7) {
        player.adopt_checkpoints(&scout);
    }
    player.adopt_checkpoints(&scout);
    for poll in [83u64, 12, 99, 40] {
        player.seek(content::time(T0 + poll * 5_000_000_000 + 1));
        let k = player.kafka_status().last_good.clone().unwrap();
        assert_eq!(k.cluster_id, Some(format!("poll-{poll}")));
        assert_eq!(player.model().sources.kafka.polls, poll + 1);
    }
}

/// Removes `key` from every map in `v`.
fn strip(v: &mut ciborium::Value, key: &str) {
    match v {
        ciborium::Value::Map(entries) => {
            entries.retain(|(k, _)| k.as_text() != Some(key));
            for (_, value) in entries {
                strip(value, key);
            }
        }
        ciborium::Value::Array(items) => items.iter_mut().for_each(|i| strip(i, key)),
        _ => {}
    }
}

#[test]
fn deltas_apply_to_the_files_own_bytes_not_to_this_builds_encoding_of_them() {
    // Snapshots as an older pipetop encoded them: partitions without `start_read_ms`, which this
    // build reads with its default (and would encode again with it).
    let snapshot = |end: i64| {
        let p = crate::kafka::snapshot::Partition {
            partition: 0,
            leader: Some(1),
            replicas: vec![1].into(),
            isr: vec![1].into(),
            start_offset: Some(0),
            start_read_ms: None,
            end_offset: Some(end),
            error: None,
        };
        let typed = KafkaSnapshot {
            topics: vec![crate::kafka::snapshot::Topic {
                name: "t".into(),
                internal: false,
                error: None,
                partitions: vec![p],
            }],
            ..KafkaSnapshot::default()
        };
        let mut v = ciborium::Value::serialized(&typed).unwrap();
        strip(&mut v, "start_read_ms");
        v
    };
    let (old, new) = (snapshot(10), snapshot(25));
    let cbor = |v: &ciborium::Value| {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    };
    let delta = super::delta::diff(&cbor(&old), &cbor(&new)).unwrap();
    let status = |polls: u64, snapshot: Option<ciborium::Value>, delta: Option<Vec<u8>>| {
        super::content::RawStatuses {
            kafka: Some(super::content::StatusFrame {
                polls,
                last_good_at_ns: Some(T0 + polls),
                error: None,
                snapshot: snapshot.map(std::sync::Arc::new),
                delta: delta.map(super::content::Delta),
            }),
            clickhouse: None,
        }
    };
    let header = super::content::Header {
        pipetop_version: "older".into(),
        started_ns: T0,
        config_toml: String::new(),
        continues: false,
    };
    let mut file = Vec::new();
    frame::write_file_head(&mut file, frame::FORMAT_VERSION).unwrap();
    let frames = [
        (frame::Kind::Header, content::encode(&header).unwrap()),
        (
            frame::Kind::Batch,
            content::encode(&status(1, Some(old), None)).unwrap(),
        ),
        (
            frame::Kind::Batch,
            content::encode(&status(2, None, Some(delta))).unwrap(),
        ),
    ];
    for (i, (kind, body)) in frames.iter().enumerate() {
        file.extend(frame::encode(*kind, T0 + i as u64, body));
    }
    let (_path_dir, path) = temp("older-shape");
    std::fs::write(&path, &file).unwrap();
    let mut player = Player::open(&path).unwrap();
    assert!(player.step() && player.step());
    assert!(player.problem().is_none(), "{:?}", player.problem());
    let k = player.kafka_status().last_good.clone().unwrap();
    assert_eq!(k.topics[0].partitions[0].end_offset, Some(25));
}
