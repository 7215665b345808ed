//! `pipetop check` — the real binary, a temporary config file, the live stack — exits like a Nagios
//! plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The config watches only this test's own objects
//! (group/topic filters, and table rules switched off except for the test's table), so what other
//! tests leave behind on the shared servers cannot change the verdict.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A config that judges only `table` among the ClickHouse tables and sees no Kafka group or topic
/// of anyone else's. The rules that stay on everywhere are the reachability ones.
fn config(clickhouse_url: &str, table: &str, extra: &str) -> String {
    let own = common::unique("check_nothing");
    let mut text = format!(
        r#"
        context = "check-test"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{own}"]
        include_topics = ["{own}"]
        [clickhouse]
        url = "{clickhouse_url}"
        freshness = []
        "#,
        kafka = common::KAFKA,
    );
    for rule in [
        "failed_inserts",
        "insert_latency_p95",
        "select_latency_p95",
        "parts_pressure",
        "rejected_inserts",
        "delayed_inserts",
        "partitions_per_day",
        "freshness",
        "kafka_engine_exceptions",
        // The machine's disk and the server's memory: not the test's to decide.
        "disk_free",
        "memory_pressure",
        "distributed_files",
    ] {
        text.push_str(&format!("[alerts.rules.{rule}]\ndisabled = true\n"));
    }
    // Switched back on, with the shipped thresholds, for the test's own table only.
    text.push_str(&format!(
        "[[alerts.overrides]]\nrule = \"parts_pressure\"\nmatch = \"table:default.{table}\"\n{extra}\n"
    ));
    text
}

struct ConfigFile(std::path::PathBuf);

impl ConfigFile {
    fn new(text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!("{}.toml", common::unique("check_config")));
        std::fs::write(&path, text).unwrap();
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn check_command(config: &ConfigFile, window: &str, format: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipetop"));
    cmd.arg("--config")
        .arg(&config.0)
        .args(["check", "--window", window, "--format", format])
        .env_remove("PIPETOP_CONFIG")
        .stdin(Stdio::null());
    cmd
}

fn check(config: &str, window: &str, format: &str) -> Output {
    let file = ConfigFile::new(config);
    check_command(&file, window, format).output().unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The JSON report, checked for the fields every consumer relies on.
fn report(out: &Output) -> Value {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", show(out)));
    assert_eq!(
        v["code"].as_i64(),
        out.status.code().map(i64::from),
        "code matches the exit status:\n{}",
        show(out)
    );
    let word = match out.status.code() {
        Some(0) => "OK",
        Some(1) => "WARNING",
        Some(2) => "CRITICAL",
        Some(3) => "UNKNOWN",
        other => panic!("not a Nagios code: {other:?}\n{}", show(out)),
    };
    assert_eq!(v["status"], word, "{}", show(out));
    assert!(v["alerts"].is_array(), "{}", show(out));
    assert!(v["unreachable"].is_array(), "{}", show(out));
    v
}

fn firing(v: &Value) -> Vec<(String, String, String, String)> {
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| {
            let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
            (
                s(&a["rule"]),
                s(&a["subject"]["kind"]),
                s(&a["subject"]["name"]),
                s(&a["severity"]),
            )
        })
        .collect()
}

/// One table's parts take `check` from OK to WARNING (half of its parts_to_delay_insert) to
/// CRITICAL (at it); `disabled = true` for that table turns the same state back into OK.
#[tokio::test(flavor = "multi_thread")]
async fn check_exit_code_follows_one_tables_parts() {
    common::needs!(Kafka, ClickHouse);
    let table = common::unique("check_parts");
    let url = common::CLICKHOUSE;
    common::exec(
        url,
        &format!(
            "CREATE TABLE default.{table} (x UInt64) ENGINE = MergeTree() ORDER BY x SETTINGS parts_to_delay_insert = 20"
        ),
    )
    .await;
    common::exec(url, &format!("SYSTEM STOP MERGES default.{table}")).await;
    let insert = |from: u64, to: u64| {
        let table = table.clone();
        async move {
            for i in from..to {
                common::exec(url, &format!("INSERT INTO default.{table} VALUES ({i})")).await;
            }
        }
    };
    let name = format!("default.{table}");
    let parts_alert = |severity: &str| {
        (
            "parts_pressure".to_string(),
            "table".to_string(),
            name.clone(),
            severity.to_string(),
        )
    };
    let judged = config(url, &table, "");

    insert(0, 1).await;
    let out = check(&judged, "0s", "json");
    let v = report(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(firing(&v), [], "{}", show(&out));
    assert_eq!(v["polls"], 1);

    insert(1, 10).await;
    let out = check(&judged, "0s", "json");
    let v = report(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(firing(&v), [parts_alert("warning")], "{}", show(&out));
    // The text form says the same, one line per alert.
    let out = check(&judged, "0s", "text");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("PIPETOP WARNING - 0 critical, 1 warning")
            && text.contains(&format!(
                "WARNING   parts_pressure table {name}: 50% (threshold 50%)"
            )),
        "{}",
        show(&out)
    );

    insert(10, 20).await;
    let out = check(&judged, "0s", "json");
    let v = report(&out);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(firing(&v), [parts_alert("critical")], "{}", show(&out));
    let alert = &v["alerts"][0];
    assert_eq!(
        (alert["value"].as_f64(), alert["threshold"].as_f64()),
        (Some(1.0), Some(1.0))
    );

    // Same table, same 20 parts, the rule switched off for it (the later override wins).
    let off = config(
        url,
        &table,
        &format!(
            "[[alerts.overrides]]\nrule = \"parts_pressure\"\nmatch = \"table:{name}\"\ndisabled = true\n"
        ),
    );
    let out = check(&off, "0s", "json");
    let v = report(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(firing(&v), [], "{}", show(&out));

    common::exec(url, &format!("DROP TABLE {name}")).await;
}

/// ClickHouse unreachable when the check starts: UNKNOWN (3), naming the source and the reason.
#[test]
fn check_is_unknown_when_clickhouse_is_unreachable_at_start() {
    common::needs!(Kafka);
    let url = format!("http://127.0.0.1:{}", common::unused_port());
    let text = config(&url, "none", "");
    let out = check(&text, "0s", "text");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("UNKNOWN"))
        .unwrap_or_else(|| panic!("no UNKNOWN line:\n{}", show(&out)));
    assert!(
        stdout.starts_with("PIPETOP UNKNOWN") && line.contains("clickhouse unreachable"),
        "{}",
        show(&out)
    );
    assert!(
        line.to_lowercase().contains("connect") || line.contains("refused"),
        "the reason is given: {line}"
    );

    let out = check(&text, "0s", "json");
    let v = report(&out);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let unreachable = v["unreachable"].as_array().unwrap();
    assert_eq!(unreachable.len(), 1, "kafka answered: {}", show(&out));
    assert!(
        unreachable[0]
            .as_str()
            .unwrap()
            .starts_with("clickhouse unreachable: "),
        "{}",
        show(&out)
    );
}

/// A ClickHouse of the test's own, killed mid-window: the check had good data, then lost the
/// server, and says CRITICAL (2) with the clickhouse_unreachable alert and its reason.
#[tokio::test(flavor = "multi_thread")]
async fn check_is_critical_when_clickhouse_dies_during_the_window() {
    common::needs!(Kafka, ChdbVenv);
    let mut own = common::OwnClickHouse::start();
    let file = ConfigFile::new(&config(&own.url, "none", ""));
    let window = Duration::from_secs(8);
    let started = Instant::now();
    let child = check_command(&file, "8s", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = common::Process(child);
    // Each poll opens with the server query; its second one means the first poll is done.
    const SERVER_QUERY: &str = "SELECT version() AS version";
    while own.requests_containing(SERVER_QUERY) < 2 {
        assert!(
            started.elapsed() < window / 2,
            "pipetop's second poll did not reach its own ClickHouse in {:?}: {}",
            window / 2,
            std::fs::read_to_string(&own.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    own.kill();
    let killed_at = started.elapsed();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < window * 3, "check did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut buf = Vec::new();
        pipe.unwrap().read_to_end(&mut buf).unwrap();
        buf
    };
    let out = Output {
        status,
        stdout: read(child.0.stdout.as_mut().map(|p| p as &mut dyn std::io::Read)),
        stderr: read(child.0.stderr.as_mut().map(|p| p as &mut dyn std::io::Read)),
    };
    // It polls until the next poll would end past the window (refresh 500 ms).
    assert!(
        started.elapsed() >= window - Duration::from_millis(500),
        "the check ran its window: {:?}\n{}",
        started.elapsed(),
        show(&out)
    );
    assert!(
        killed_at < window - Duration::from_secs(2),
        "killed at {killed_at:?}"
    );
    let v = report(&out);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        v["unreachable"].as_array().unwrap().len(),
        0,
        "it answered at first"
    );
    assert!(v["polls"].as_u64().unwrap() >= 4, "{}", show(&out));
    assert_eq!(
        firing(&v),
        [(
            "clickhouse_unreachable".to_string(),
            "source".to_string(),
            "clickhouse".to_string(),
            "critical".to_string()
        )],
        "{}",
        show(&out)
    );
    let detail = v["alerts"][0]["detail"].as_str().unwrap();
    assert!(
        detail.to_lowercase().contains("connect") || detail.contains("refused"),
        "the reason is given: {detail}"
    );
}
