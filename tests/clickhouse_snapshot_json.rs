//! `pipetop snapshot --json` carries every ClickHouse figure under stable field names.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::Command;

const SECTIONS: &[&str] = &[
    "tables",
    "partitions",
    "thresholds",
    "detached_parts",
    "merges",
    "mutations",
    "inserts",
    "failed_inserts",
    "latency",
    "slow_queries",
    "insert_counters",
    "kafka_consumers",
    "errors",
    "replicas",
    "replication_queue",
    "keeper",
    "disks",
    "memory",
    "distribution_queue",
    "kafka_chains",
    "view_runs",
    "kafka_events",
    "own_load",
];

#[test]
fn snapshot_json_has_every_clickhouse_section_per_host() {
    common::needs!(ClickHouse, LegacyClickHouse);
    let dir = common::scratch_dir("pipetop_cfg");
    let path = dir.path().join("pipetop.toml");
    std::fs::write(
        &path,
        format!(
            "[clickhouse]\nhosts = [\"{}\", \"{}\"]\nwindow = \"2m\"\nfreshness = [{{ table = \"system.query_log\", column = \"event_time\" }}]\n",
            common::CLICKHOUSE,
            common::LEGACY_CLICKHOUSE
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pipetop"))
        .args(["snapshot", "--json", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let model = &v["model"];
    let last_good = &v["snapshots"]["clickhouse"];
    assert!(last_good["server"]["version"].is_string());
    assert!(last_good["queries"].as_u64().unwrap() > 10);
    let hosts = last_good["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 2);
    for host in hosts {
        assert_eq!(host["status"], "ok", "{host}");
        assert_eq!(host["window_s"], 120);
        for section in SECTIONS {
            let status = host[section]["status"].as_str().unwrap_or("missing");
            assert!(
                status == "ok" || status == "unavailable",
                "{section}: {}",
                host[section]
            );
        }
        // A single snapshot reads its own load at its only poll: the log holds no poll of it yet.
        let own = &host["own_load"]["data"];
        assert_eq!(own["window_s"], 120, "{own}");
        assert!(own["sections"].is_array(), "{own}");
        assert!(host["cadenced"].is_array(), "{host}");
        let fresh = &host["freshness"][0];
        assert_eq!(fresh["table"], "system.query_log");
        assert!(fresh["result"]["data"]["age_s"].is_i64(), "{fresh}");
    }
    let ch = &model["clickhouse"];
    for key in ["tables", "hosts", "health", "failed_inserts"] {
        assert!(ch[key].is_array(), "model.clickhouse.{key}");
    }
    let resources = &ch["resources"];
    for key in ["disks", "distribution"] {
        assert!(resources[key]["rows"].is_array(), "resources.{key}");
    }
    assert_eq!(resources["memory"].as_array().map(Vec::len), Some(2));
    let chains = &ch["kafka_chains"];
    assert!(chains["tables"]["rows"].is_array(), "{chains}");
    // One entry of Kafka counters per host; 18.16 has no view log and says why.
    assert_eq!(chains["counters"].as_array().map(Vec::len), Some(2));
    assert!(chains["views_problem"].is_string(), "{chains}");
    // The 26.x engine tells its disks and memory limit; 18.16 neither.
    assert!(
        ch["hosts"][0]["disk_free_ratio"].is_f64(),
        "{}",
        ch["hosts"][0]
    );
    assert!(
        ch["hosts"][0]["memory_used_ratio"].is_f64(),
        "{}",
        ch["hosts"][0]
    );
    assert!(
        ch["hosts"][1]["disk_free_ratio"].is_null(),
        "{}",
        ch["hosts"][1]
    );
    let health = ch["health"].as_array().unwrap();
    assert!(health.iter().any(|h| h["table"] == "system.query_log"
        && h["freshness_s"].is_i64()
        && (h["severity"].is_null() || h["severity"].is_string())
        && h["parts_to_throw_ratio"].is_null()));
    assert_eq!(ch["hosts"][1]["problems"][0]["unavailable"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}
