//! `snapshot` and `check` answering from a recording (`--replay FILE --at TIME`) as scripts use
//! them: the binary on a recording of the UI fixtures' scenario (no servers), checked against the
//! same scenario ingested by a `Session` in the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod fixtures;

use std::process::Command;

use pipetop::config::Config;
use pipetop::recording::content::ns;
use pipetop::recording::writer::{Ingested, RecordingWriter};
use pipetop::session::Session;
use pipetop::source::SourceStatus;

const TOML: &str = "context = \"prod-eu\"\nrefresh = \"2s\"\n";

/// A path no other run uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn pipetop(args: &[&str]) -> std::process::Output {
    // No config file: an empty home, removed afterwards.
    let home = tempfile::Builder::new()
        .prefix("pipetop_home_")
        .tempdir()
        .expect("a temp dir");
    Command::new(env!("CARGO_BIN_EXE_pipetop"))
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env("HOME", home.path())
        .env_remove("PIPETOP_CONFIG")
        .output()
        .expect("pipetop runs")
}

/// Records the fixtures' 20 polls of both sources (from 03:00:00 UTC, every 2 s) and returns
/// the session that ingested them, after each poll's batch: the live side.
fn record(path: &std::path::Path) -> Vec<Session> {
    let config = Config::parse(TOML, std::path::Path::new("t.toml")).unwrap();
    let mut writer =
        RecordingWriter::create(path, TOML.to_string(), ns(fixtures::t(0)), u64::MAX).unwrap();
    let mut session = Session::new(&config);
    let (mut kafka, mut clickhouse) = (SourceStatus::default(), SourceStatus::default());
    let mut sessions = Vec::new();
    for n in 0..fixtures::POLLS {
        kafka.record(Ok(fixtures::kafka_snapshot(n)), fixtures::t(n));
        clickhouse.record(Ok(fixtures::clickhouse_snapshot(n)), fixtures::t(n));
        session.ingest(Some(kafka.clone()), Some(clickhouse.clone()));
        writer
            .append(&Ingested {
                kafka: Some(kafka.clone()),
                clickhouse: Some(clickhouse.clone()),
                at_ns: ns(session.model().judged_at.unwrap()),
            })
            .unwrap();
        sessions.push(session.clone());
    }
    sessions
}

fn alerts(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a["rule"], a["subject"], a["state"]))
        .collect()
}

#[test]
fn snapshot_and_check_answer_from_a_recording_at_a_time() {
    let path = std::env::temp_dir().join(unique("replay_cli.rec"));
    let sessions = record(&path);
    let file = path.to_str().unwrap();

    // 03:00:10 is the sixth poll's time (0, 2, 4, 6, 8, 10 s); +10s and RFC 3339 say the same.
    for at in ["03:00:10", "+10s", "2026-11-27T03:00:10Z"] {
        let out = pipetop(&["snapshot", "--json", "--replay", file, "--at", at]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["context"], "prod-eu", "the recording's config");
        assert_eq!(v["model"]["sources"]["kafka"]["polls"], 6, "--at {at}");
        let expected = serde_json::to_value(&sessions[5].model().alerts.active).unwrap();
        assert_eq!(alerts(&v["model"]["alerts"]["active"]), alerts(&expected));
    }

    // The end by default: the verdict and alerts of the last ingest, dated by the recording.
    let last = sessions.last().unwrap().model();
    let verdict = pipetop::check::verdict(last, fixtures::POLLS as u32);
    assert_ne!(verdict.code, 0, "the fixtures' scenario has alerts firing");
    let out = pipetop(&["check", "--replay", file, "--format", "json"]);
    assert_eq!(out.status.code(), Some(i32::from(verdict.code)));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        alerts(&v["alerts"]),
        alerts(&serde_json::to_value(&verdict.alerts).unwrap())
    );
    let out = pipetop(&["check", "--replay", file, "--at", "-0s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("PIPETOP CRITICAL"), "{text}");
    // "for 36s": the alert's age at the cursor, not at the wall clock (years later).
    let oldest = verdict.alerts.iter().map(|a| a.since).min().unwrap();
    let age = fixtures::t(fixtures::POLLS - 1)
        .duration_since(oldest)
        .unwrap();
    let age = pipetop::time::short_duration(age);
    assert!(text.contains(&format!("for {age}")), "{text}");

    // What cannot be answered: exit 2 with the reason, or UNKNOWN for check.
    let out = pipetop(&["snapshot", "--replay", file, "--at", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a time"));
    let missing = format!("{file}.missing");
    let out = pipetop(&["check", "--replay", &missing]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("PIPETOP UNKNOWN"));
    let _ = std::fs::remove_file(&path);
}
