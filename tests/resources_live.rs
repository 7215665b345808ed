//! Disks, memory and Distributed send queues on live servers:
//! - the shared 26.9 engine answers plausible disks (free ≤ total, both > 0) and memory (tracked
//!   under the limit it reports);
//! - the legacy 18.16 server says why it has neither `system.disks` nor
//!   `system.distribution_queue`, and tracks memory without a limit it can tell;
//! - a 26.9 engine of the test's own, whose `Distributed` table has a shard on a loopback port
//!   nobody listens on: inserts with `distributed_foreground_insert = 0` pile up as files, the
//!   background sends fail (`error_count`), `distributed_files` warns above the test's low
//!   threshold; a file made unreadable is moved to `broken/` and the alert turns critical.
//!
//! The tests write (they set the scene); pipetop itself only reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};
use pipetop::clickhouse::snapshot::Section;

#[tokio::test(flavor = "multi_thread")]
async fn the_current_engine_answers_plausible_disks_and_memory() {
    common::needs!(ClickHouse);
    let host = common::poll_clickhouse(&common::clickhouse_config(common::CLICKHOUSE)).await;
    let disks = host.disks.data().expect("system.disks answers");
    assert!(!disks.is_empty());
    for d in disks {
        assert!(d.total_bytes > 0, "{d:?}");
        assert!(d.free_bytes > 0 && d.free_bytes <= d.total_bytes, "{d:?}");
        let free = d.free_ratio().unwrap();
        assert!(free > 0.0 && free <= 1.0, "{d:?}");
    }
    let memory = host.memory.data().expect("memory answers");
    assert!(memory.tracked_bytes > 1_000_000, "{memory:?}");
    let limit = memory.limit_bytes.expect("26.9 reports its limit");
    assert!(limit > memory.tracked_bytes, "{memory:?}");
    assert_eq!(
        memory.limit_source.as_deref(),
        Some("max_server_memory_usage")
    );
    assert!(
        matches!(host.distribution_queue, Section::Ok { .. }),
        "{:?}",
        host.distribution_queue
    );
    eprintln!(
        "26.9: {} disk(s), first {} of {} bytes free; memory {} of {} bytes",
        disks.len(),
        disks[0].free_bytes,
        disks[0].total_bytes,
        memory.tracked_bytes,
        limit
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disks_queue_and_memory_limit_say_why_not_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    let host = common::poll_clickhouse(&common::clickhouse_config(common::LEGACY_CLICKHOUSE)).await;
    assert_eq!(
        host.disks.problem(),
        Some("system.disks: not available on ClickHouse 18.16 (needs ≥ 19.15)")
    );
    assert_eq!(
        host.distribution_queue.problem(),
        Some("system.distribution_queue: not available on ClickHouse 18.16 (needs ≥ 20.5)")
    );
    let memory = host.memory.data().expect("MemoryTracking is there");
    assert_eq!(memory.limit_bytes, None, "{memory:?}");
    let why = memory.limit_missing.as_deref().unwrap_or_default();
    assert!(
        why.contains("system.server_settings: not available on ClickHouse 18.16 (needs ≥ 23.3)"),
        "{why}"
    );
}

/// Polls until `done` holds for the model (at most `secs`), panicking with the queues seen.
async fn poll_until(
    watch: &mut common::Watch,
    secs: u64,
    what: &str,
    done: impl Fn(&common::Watch) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        watch.poll_clickhouse().await;
        if done(watch) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not within {secs}s; resources: {:#?}",
            watch.model().clickhouse.resources.distribution
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn queue(
    watch: &common::Watch,
    table: &str,
) -> Option<pipetop::clickhouse::resources::DistributionQueue> {
    watch
        .model()
        .clickhouse
        .resources
        .distribution
        .rows
        .iter()
        .find(|q| q.item.table == table)
        .map(|q| q.item.clone())
}

/// A 26.9 engine of the test's own whose `Distributed` table has its one shard on a loopback port
/// nobody listens on, with 4 files queued (one per insert). Returns the server and the table.
async fn refused_shard() -> (common::OwnClickHouse, String) {
    // The engine sends a Distributed table's files from its background pool, which chdb sizes 0.
    let dead = common::unused_port();
    let own = common::OwnClickHouse::start_with(&format!(
        "  <background_distributed_schedule_pool_size>2</background_distributed_schedule_pool_size>\n  \
         <remote_servers><dead_shard><shard><replica><host>127.0.0.1</host><port>{dead}</port>\
         </replica></shard></dead_shard></remote_servers>"
    ));
    let table = common::unique("dist");
    common::exec(
        &own.url,
        &format!("CREATE TABLE default.{table}_local (x UInt64) ENGINE = MergeTree ORDER BY x"),
    )
    .await;
    common::exec(
        &own.url,
        &format!(
            "CREATE TABLE default.{table} (x UInt64) ENGINE = Distributed(dead_shard, default, {table}_local)"
        ),
    )
    .await;
    for i in 0..4 {
        common::exec(
            &own.url,
            &format!(
                "INSERT INTO default.{table} SETTINGS distributed_foreground_insert = 0 \
                 SELECT number FROM numbers({i}, 10)"
            ),
        )
        .await;
    }
    (own, table)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distributed_table_whose_shard_refuses_fills_its_queue_and_raises_distributed_files() {
    common::needs!(ChdbVenv, Loopback);
    let (own, table) = refused_shard().await;
    // A warning above 2 files: the shipped 50 would take 51 inserts.
    let mut watch = common::Watch::new(&common::config_from_toml(&format!(
        r#"
        refresh = "1s"
        [clickhouse]
        hosts = ["{url}"]
        freshness = []
        [alerts.rules.distributed_files]
        warn = 2
        "#,
        url = own.url
    )));
    let started = Instant::now();
    poll_until(&mut watch, 30, "4 files waiting, sends failing", |w| {
        queue(w, &table).is_some_and(|q| q.data_files >= 4 && q.error_count >= 1)
    })
    .await;
    let q = queue(&watch, &table).unwrap();
    eprintln!(
        "queue after {:.1}s: {} files, {} bytes, {} failed sends, broken {:?}",
        started.elapsed().as_secs_f64(),
        q.data_files,
        q.data_compressed_bytes,
        q.error_count,
        q.broken_data_files
    );
    assert!(q.data_compressed_bytes > 0, "{q:?}");
    assert_eq!(q.broken_data_files, Some(0), "{q:?}");
    assert!(q.last_exception.contains("Connection refused"), "{q:?}");
    let subject = Subject::new(SubjectKind::Table, format!("default.{table}"));
    let alert = watch
        .alert(RuleKind::DistributedFiles, &subject)
        .expect("distributed_files");
    assert_eq!(
        (alert.severity, alert.state, alert.forced),
        (Severity::Warning, AlertState::Firing, false)
    );
    assert!(
        alert.detail.contains("Connection refused"),
        "{}",
        alert.detail
    );

    // A file cut short cannot be read: the next send moves it to broken/.
    let path = common::writer(&own.url)
        .query(&format!(
            "SELECT any(data_path) FROM system.distribution_queue WHERE table = '{table}'"
        ))
        .fetch_one::<String>()
        .await
        .unwrap();
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&path)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    assert!(!files.is_empty(), "no .bin files in {path}");
    for f in &files {
        std::fs::OpenOptions::new()
            .write(true)
            .open(f)
            .unwrap()
            .set_len(20)
            .unwrap();
    }
    // The sender tries at its own pace (backing off after failures); the flush tries now and
    // fails, which is the point.
    let _ = common::writer(&own.url)
        .query(&format!("SYSTEM FLUSH DISTRIBUTED default.{table}"))
        .execute()
        .await;
    poll_until(&mut watch, 30, "a broken file", |w| {
        queue(w, &table).is_some_and(|q| q.broken_data_files.unwrap_or(0) >= 1)
    })
    .await;
    let alert = watch
        .alert(RuleKind::DistributedFiles, &subject)
        .expect("distributed_files");
    assert_eq!(
        (alert.severity, alert.state),
        (Severity::Critical, AlertState::Firing),
        "{alert:?}"
    );
    assert!(alert.detail.contains("broken"), "{}", alert.detail);
    let shown = watch.model().clickhouse.resources.distribution.rows[0].clone();
    assert_eq!(shown.item.table, table, "broken files rank first");
}

/// `pipetop check` says the same: WARNING, with the table's queue in the detail.
#[test]
fn check_warns_about_the_queue_of_a_refused_shard() {
    common::needs!(ChdbVenv, Loopback, Kafka);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (own, table) = runtime.block_on(refused_shard());
    let nothing = common::unique("check_nothing");
    let path = std::env::temp_dir().join(format!("{}.toml", common::unique("resources_check")));
    std::fs::write(
        &path,
        format!(
            r#"
            refresh = "500ms"
            [kafka]
            bootstrap_servers = "{kafka}"
            include_groups = ["{nothing}"]
            include_topics = ["{nothing}"]
            [clickhouse]
            url = "{url}"
            freshness = []
            [alerts.rules.distributed_files]
            warn = 2
            [alerts.rules.disk_free]
            disabled = true
            [alerts.rules.memory_pressure]
            disabled = true
            "#,
            kafka = common::KAFKA,
            url = own.url
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipetop"))
        .arg("--config")
        .arg(&path)
        .args(["check", "--window", "3s"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("WARNING   distributed_files"))
        .unwrap_or_else(|| panic!("no distributed_files line:\n{text}"));
    assert!(
        line.contains(&format!("table default.{table}: 4 (threshold 2)")),
        "{line}"
    );
    assert!(line.contains("4 files"), "{line}");
    drop(own);
}
