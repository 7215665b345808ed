//! The ClickHouse health engine against the live servers: the current engine (chdb, 26.x) and the
//! legacy 18.16 server. Each test uses its own uniquely-named tables and drops them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use clickhouse::Row;
use serde::Deserialize;

use pipetop::alerts::Severity;
use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::clickhouse::sections::SectionId;
use pipetop::clickhouse::snapshot::{HostOutcome, HostSnapshot, Section};
use pipetop::config::{ClickHouseConfig, Config, WatchedTable};
use pipetop::model::clickhouse::ClickHouseTracker;
use pipetop::source::Collector;

#[derive(Debug, Row, Deserialize)]
struct Count {
    n: u64,
}

#[derive(Debug, Row, Deserialize)]
struct Quantiles {
    q: Vec<f64>,
}

fn reader(url: &str) -> clickhouse::Client {
    // 18.16 cannot send RowBinaryWithNamesAndTypes.
    common::writer(url).with_validation(false)
}

fn config(url: &str, table: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        freshness: vec![WatchedTable {
            table: format!("default.{table}"),
            column: "ts".into(),
        }],
        ..common::clickhouse_config(url)
    }
}

/// (section, why, unavailable) for each section of the host without data, as the model lists them.
fn sections_without_data(h: &HostSnapshot) -> Vec<(String, String, bool)> {
    pipetop::model::clickhouse::problems(h)
        .into_iter()
        .map(|p| (p.section, p.reason, p.unavailable))
        .collect()
}

/// Tiny batches pile parts into one partition: pipetop's per-partition count equals system.parts,
/// the table's own SETTINGS thresholds apply, and the model flags the table.
async fn tiny_batches_raise_the_right_partition(url: &str) {
    let table = common::unique("tiny_parts");
    common::exec(url, &format!(
        "CREATE TABLE default.{table} (ts DateTime, x UInt64) ENGINE = MergeTree() PARTITION BY toDate(ts) ORDER BY x SETTINGS parts_to_delay_insert = 6, parts_to_throw_insert = 12, index_granularity = 8192"
    )).await;
    // No merge may shrink the count between pipetop's read and ours.
    common::exec(url, &format!("SYSTEM STOP MERGES default.{table}")).await;
    for i in 0..8 {
        let day = if i < 7 { "2026-11-03" } else { "2026-11-02" };
        common::exec(
            url,
            &format!("INSERT INTO default.{table} VALUES ('{day} 10:00:00', {i})"),
        )
        .await;
    }
    let host = common::poll_clickhouse(&config(url, &table)).await;
    let expected = reader(url)
        .query("SELECT toUInt64(count()) AS n FROM system.parts WHERE active AND database = 'default' AND table = ? AND partition_id = '20261103'")
        .bind(table.as_str())
        .fetch_one::<Count>()
        .await
        .unwrap()
        .n;
    assert_eq!(expected, 7);
    let partitions = host.partitions.data().expect("partitions section");
    let worst = partitions
        .iter()
        .find(|p| p.table == table)
        .expect("table's partitions listed");
    assert_eq!(worst.partition_id, "20261103");
    assert_eq!(worst.active_parts, expected);
    let t = host
        .tables
        .data()
        .expect("tables section")
        .iter()
        .find(|t| t.table == table)
        .expect("table listed")
        .clone();
    assert_eq!(t.max_parts_in_partition, expected);
    assert_eq!(t.active_parts, 8);
    assert_eq!(t.partitions, 2);
    assert_eq!(t.max_partitions_per_day, Some(1));

    let model = ClickHouseTracker::default()
        .update(&snapshot_of(host), &pipetop::alerts::RuleSet::default());
    let health = model
        .health
        .iter()
        .find(|h| h.table == format!("default.{table}"))
        .expect("health row");
    assert_eq!(
        health.parts_to_delay_insert,
        Some(6),
        "table SETTINGS override the default"
    );
    assert_eq!(health.parts_to_throw_insert, Some(12));
    assert_eq!(
        health.severity,
        Some(Severity::Critical),
        "{:?}",
        health.reasons
    );
    assert!(health.freshness_s.is_some(), "watched table has an age");
    common::exec(url, &format!("DROP TABLE default.{table}")).await;
}

fn snapshot_of(host: HostSnapshot) -> pipetop::clickhouse::snapshot::ClickHouseSnapshot {
    pipetop::clickhouse::snapshot::ClickHouseSnapshot {
        taken_at_ms: 0,
        poll_ms: host.poll_ms,
        queries: host.queries,
        server: host.server.clone(),
        tables: host.tables.clone(),
        hosts: vec![HostOutcome::Ok(Box::new(host))],
    }
}

#[tokio::test]
async fn tiny_batches_raise_the_right_partition_on_current_engine() {
    common::needs!(ClickHouse);
    tiny_batches_raise_the_right_partition(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn tiny_batches_raise_the_right_partition_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    tiny_batches_raise_the_right_partition(common::LEGACY_CLICKHOUSE).await;
}

/// A batch ClickHouse rejects is a failed insert of that table, with its code and full text, in the
/// next poll.
async fn rejected_batch_is_a_failed_insert(url: &str, qualified: bool) {
    let table = common::unique("rejects");
    common::exec(
        url,
        &format!(
            "CREATE TABLE default.{table} (ts DateTime, n UInt32) ENGINE = MergeTree() ORDER BY ts"
        ),
    )
    .await;
    let target = if qualified {
        format!("default.{table}")
    } else {
        table.clone()
    };
    let err = common::writer(url)
        .query(&format!(
            "INSERT INTO {target} FORMAT JSONEachRow {{\"ts\":\"2026-11-03 10:00:00\",\"n\":\"not a number\"}}"
        ))
        .execute()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Code: 27"), "{err}");
    common::flush_logs(url).await;
    let host = common::poll_clickhouse(&config(url, &table)).await;
    let failed = host.failed_inserts.data().expect("failed inserts section");
    let f = failed
        .iter()
        .find(|f| f.table == format!("default.{table}"))
        .unwrap_or_else(|| panic!("no failed insert for {table} in {failed:?}"));
    assert_eq!(f.exception_code, 27);
    assert_eq!(f.failures, 1);
    assert!(
        f.latest_exception.contains("Cannot parse"),
        "{}",
        f.latest_exception
    );
    assert!(!f.latest_query_id.is_empty());
    // The statement as sent, without the rejected data.
    assert_eq!(
        f.latest_query.trim(),
        format!("INSERT INTO {target} FORMAT JSONEachRow"),
    );
    let inserts = host.inserts.data().expect("inserts section");
    let i = inserts
        .iter()
        .find(|i| i.table == format!("default.{table}"))
        .expect("insert row");
    assert_eq!((i.inserts, i.failed), (0, 1));

    let model = ClickHouseTracker::default()
        .update(&snapshot_of(host), &pipetop::alerts::RuleSet::default());
    assert!(
        model
            .failed_inserts
            .iter()
            .any(|f| f.table == format!("default.{table}"))
    );
    common::exec(url, &format!("DROP TABLE default.{table}")).await;
}

#[tokio::test]
async fn rejected_batch_is_a_failed_insert_on_current_engine() {
    common::needs!(ClickHouse);
    rejected_batch_is_a_failed_insert(common::CLICKHOUSE, false).await;
}

#[tokio::test]
async fn rejected_batch_is_a_failed_insert_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    // No current_database in 18.16's query_log: an unqualified name is read as the client's database.
    rejected_batch_is_a_failed_insert(common::LEGACY_CLICKHOUSE, false).await;
}

/// Per-table insert latency equals the same server-side quantile query run directly.
async fn insert_latency_matches_direct_quantiles(url: &str, direct_filter: &str) {
    let table = common::unique("latency");
    common::exec(
        url,
        &format!(
            "CREATE TABLE default.{table} (n UInt64, s UInt8) ENGINE = MergeTree() ORDER BY n"
        ),
    )
    .await;
    for rows in [1, 2, 3, 5, 8, 13] {
        // Spread the durations so p50, p95 and p99 differ.
        common::exec(url, &format!(
            "INSERT INTO default.{table} SELECT number, sleepEachRow(0.01) FROM system.numbers LIMIT {rows}"
        )).await;
    }
    common::flush_logs(url).await;
    let host = common::poll_clickhouse(&config(url, &table)).await;
    let direct = reader(url)
        .query(&format!(
            "SELECT quantiles(0.5, 0.95, 0.99)(query_duration_ms) AS q FROM system.query_log
             WHERE event_date >= today() - 1 AND event_time >= now() - 300 AND type = 2 AND {direct_filter}"
        ))
        .bind(table.as_str())
        .fetch_one::<Quantiles>()
        .await
        .unwrap()
        .q;
    let ours = host
        .inserts
        .data()
        .expect("inserts section")
        .iter()
        .find(|i| i.table == format!("default.{table}"))
        .expect("insert row")
        .clone();
    assert_eq!(ours.inserts, 6);
    assert_eq!(ours.rows, 32);
    let q = ours.latency_ms.expect("latency");
    assert_eq!(vec![q.p50, q.p95, q.p99], direct);
    assert!(q.p99 > q.p50, "durations were spread: {q:?}");
    common::exec(url, &format!("DROP TABLE default.{table}")).await;
}

#[tokio::test]
async fn insert_latency_matches_direct_quantiles_on_current_engine() {
    common::needs!(ClickHouse);
    insert_latency_matches_direct_quantiles(
        common::CLICKHOUSE,
        "query_kind = 'Insert' AND has(tables, concat('default.', ?))",
    )
    .await;
}

#[tokio::test]
async fn insert_latency_matches_direct_quantiles_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    insert_latency_matches_direct_quantiles(
        common::LEGACY_CLICKHOUSE,
        "startsWith(query, concat('INSERT INTO default.', ?, ' '))",
    )
    .await;
}

/// On 18.16 every section has data or says what the server lacks, poll after poll.
#[tokio::test]
async fn legacy_server_sections_have_data_or_say_what_is_missing() {
    common::needs!(LegacyClickHouse);
    let mut collector =
        ClickHouseCollector::new(&common::clickhouse_config(common::LEGACY_CLICKHOUSE));
    for _ in 0..2 {
        let snapshot = collector.poll().await.unwrap();
        let host = snapshot.hosts[0].snapshot().expect("host answered").clone();
        let missing = sections_without_data(&host);
        assert!(
            missing.iter().all(|(_, _, unavailable)| *unavailable),
            "{missing:?}"
        );
        let reason = |name: &str| {
            missing
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, r, _)| r.clone())
                .unwrap_or_default()
        };
        assert!(
            reason("kafka_consumers").contains("not available on ClickHouse 18.16 (needs ≥ 23.8)")
        );
        assert!(reason("detached_parts").contains("not available on ClickHouse 18.16"));
        assert!(
            reason("errors")
                .contains("system.errors: not available on ClickHouse 18.16 (needs ≥ 20.11)"),
            "{missing:?}"
        );
        // Everything else is answered through fallbacks for the missing columns.
        for present in [
            "tables",
            "partitions",
            "thresholds",
            "merges",
            "mutations",
            "inserts",
            "failed_inserts",
            "latency",
            "slow_queries",
            "insert_counters",
            "replicas",
            "replication_queue",
        ] {
            assert_eq!(reason(present), "", "{present}");
        }
        // This server has no ZooKeeper in its config (the replicated pair has one).
        assert_eq!(
            reason("keeper"),
            pipetop::clickhouse::sections::replication::NOT_CONFIGURED
        );
    }
}

#[tokio::test]
async fn current_engine_answers_every_section() {
    common::needs!(Kafka, ClickHouse, LoadGenerator);
    // The pipeline's Kafka-engine table, as the demo creates it, so system.kafka_consumers has rows.
    let status = common::load_generator()
        .args(["setup", "--kafka-engine"])
        .status()
        .unwrap();
    assert!(status.success(), "pipeline setup --kafka-engine failed");
    common::wait_for_kafka_engine_consumer().await;
    let host = common::poll_clickhouse(&common::clickhouse_config(common::CLICKHOUSE)).await;
    let missing: Vec<_> = sections_without_data(&host)
        .into_iter()
        // The default watched table belongs to the load generator, which may not have run.
        .filter(|(n, _, _)| n != "freshness default.events")
        .collect();
    // The stack's 26.x engine runs without ZooKeeper/Keeper (replication is tested on the 18.16
    // pair): that, and only that, it says it cannot show.
    assert_eq!(
        missing,
        [(
            "keeper".to_string(),
            pipetop::clickhouse::sections::replication::NOT_CONFIGURED.to_string(),
            true
        )]
    );
    assert!(host.replicas.data().is_some() && host.replication_queue.data().is_some());
    assert!(
        !host.kafka_consumers.data().unwrap().is_empty(),
        "kafka engine consumers (pipeline setup --kafka-engine)"
    );
}

/// A section whose query runs past its time limit fails alone; the rest of the poll is produced.
#[tokio::test]
async fn a_query_over_its_time_limit_degrades_only_its_section() {
    common::needs!(ClickHouse);
    let url = common::CLICKHOUSE;
    let slow = common::unique("slow_view");
    let fine = common::unique("fresh");
    // A genuinely slow table: max() over an endless number stream.
    common::exec(url, &format!("CREATE VIEW default.{slow} AS SELECT toDateTime(number % 1000000000) AS ts FROM system.numbers")).await;
    common::exec(
        url,
        &format!("CREATE TABLE default.{fine} (ts DateTime) ENGINE = MergeTree() ORDER BY ts"),
    )
    .await;
    common::exec(url, &format!("INSERT INTO default.{fine} SELECT now() - 5")).await;
    let mut config = common::clickhouse_config(url);
    config.freshness = vec![
        WatchedTable {
            table: format!("default.{slow}"),
            column: "ts".into(),
        },
        WatchedTable {
            table: format!("default.{fine}"),
            column: "ts".into(),
        },
    ];
    config
        .section_time_limits
        .insert(SectionId::Freshness, Duration::from_secs(1));
    let mut collector = ClickHouseCollector::new(&config);
    let started = Instant::now();
    let snapshot = collector.poll().await.unwrap();
    let elapsed = started.elapsed();
    let host = snapshot.hosts[0].snapshot().unwrap();
    match &host.freshness[0].result {
        Section::Failed { error } => assert!(
            error.contains("159") || error.contains("TIMEOUT"),
            "{error}"
        ),
        other => panic!("slow freshness should fail: {other:?}"),
    }
    let age = host.freshness[1]
        .result
        .data()
        .expect("the other watched table")
        .age_s
        .unwrap();
    assert!((0..120).contains(&age), "{age}");
    let missing: Vec<_> = sections_without_data(host)
        .into_iter()
        .filter(|(n, _, unavailable)| !(n == "keeper" && *unavailable))
        .collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    common::exec(url, &format!("DROP TABLE default.{slow}")).await;
    common::exec(url, &format!("DROP TABLE default.{fine}")).await;
}

/// Several hosts: each polled on its own; one down does not fail the source.
#[tokio::test]
async fn several_hosts_are_polled_independently() {
    common::needs!(ClickHouse, LegacyClickHouse);
    let mut config = common::clickhouse_config(common::CLICKHOUSE);
    config.hosts = vec![
        common::CLICKHOUSE.to_string(),
        common::LEGACY_CLICKHOUSE.to_string(),
        "http://127.0.0.1:1".to_string(),
    ];
    let snapshot = ClickHouseCollector::new(&config).poll().await.unwrap();
    let versions: Vec<Option<&str>> = snapshot
        .hosts
        .iter()
        .map(|h| h.snapshot().map(|s| s.server.version.as_str()))
        .collect();
    assert!(versions[0].unwrap().starts_with("26."), "{versions:?}");
    assert!(versions[1].unwrap().starts_with("18.16"), "{versions:?}");
    assert_eq!(versions[2], None);
    assert_eq!(snapshot.server.version, versions[0].unwrap().to_string());

    config.hosts = vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()];
    let err = ClickHouseCollector::new(&config).poll().await.unwrap_err();
    assert!(
        err.contains("127.0.0.1:1") && err.contains("127.0.0.1:2"),
        "{err}"
    );
}

/// `include_tables` / `exclude_tables` from a config file narrow the table lists on the server
/// (RE2 `match()`, on 26.x and on 18.16 alike), and the patterns travel as bound values.
async fn table_filter_from_config_limits_the_tables(url: &str) {
    let table = common::unique("filtered");
    for t in [table.clone(), format!("{table}_tmp")] {
        common::exec(
            url,
            &format!("CREATE TABLE default.{t} (x UInt8) ENGINE = MergeTree() ORDER BY x"),
        )
        .await;
        common::exec(url, &format!("INSERT INTO default.{t} VALUES (1)")).await;
    }
    let poll = |toml: String| async move {
        let config = Config::parse(&toml, std::path::Path::new("pipetop.toml")).unwrap();
        config.validate(None).unwrap();
        ClickHouseCollector::new(&config.clickhouse)
            .poll()
            .await
            .unwrap()
    };
    let snapshot = poll(format!(
        r#"
        [clickhouse]
        url = "{url}"
        include_tables = ["default\\.{table}.*"]
        exclude_tables = [".*_tmp"]
        "#
    ))
    .await;
    let host = snapshot.hosts[0].snapshot().unwrap();
    let tables: Vec<(&str, &str)> = host
        .tables
        .data()
        .unwrap()
        .iter()
        .map(|t| (t.database.as_str(), t.table.as_str()))
        .collect();
    assert_eq!(tables, [("default", table.as_str())]);
    let partitions = host.partitions.data().unwrap();
    assert!(
        !partitions.is_empty() && partitions.iter().all(|p| p.table == table),
        "{partitions:?}"
    );
    // Without the exclude both tables show; the filter matches whole names only.
    let snapshot = poll(format!(
        "[clickhouse]\nurl = \"{url}\"\ninclude_tables = [\"default\\\\.{table}.*\"]\n"
    ))
    .await;
    assert_eq!(snapshot.tables.data().unwrap().len(), 2);
    let snapshot = poll(format!(
        "[clickhouse]\nurl = \"{url}\"\ninclude_tables = [\"{table}\"]\n"
    ))
    .await;
    assert_eq!(
        snapshot.tables.data().unwrap().len(),
        0,
        "no database: no match"
    );
    // Quotes and SQL in a pattern are just text to match.
    let snapshot = poll(format!(
        "[clickhouse]\nurl = \"{url}\"\ninclude_tables = [\"x' OR 1 = 1 OR 'x\"]\n"
    ))
    .await;
    assert_eq!(snapshot.tables.data().unwrap().len(), 0);
    for t in [table.clone(), format!("{table}_tmp")] {
        common::exec(url, &format!("DROP TABLE default.{t}")).await;
    }
}

#[tokio::test]
async fn table_filter_from_config_limits_the_tables_on_current_engine() {
    common::needs!(ClickHouse);
    table_filter_from_config_limits_the_tables(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn table_filter_from_config_limits_the_tables_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    table_filter_from_config_limits_the_tables(common::LEGACY_CLICKHOUSE).await;
}

/// A failed insert's query text is cut to 4096 characters on the server, whole characters.
async fn long_failed_insert_text_is_cut(url: &str) {
    let table = common::unique("long_insert");
    common::exec(
        url,
        &format!("CREATE TABLE default.{table} (n UInt64) ENGINE = MergeTree() ORDER BY n"),
    )
    .await;
    // 5,000 two-byte characters in a literal: the text is far over the limit, and a cut by
    // bytes would split a character.
    let long = "é".repeat(5000);
    let sql = format!(
        "INSERT INTO default.{table} SELECT length('{long}') + throwIf(number = 0) FROM numbers(1)"
    );
    let err = common::writer(url).query(&sql).execute().await.unwrap_err();
    assert!(err.to_string().contains("Code: 395"), "{err}");
    common::flush_logs(url).await;
    let host = common::poll_clickhouse(&config(url, &table)).await;
    let failed = host.failed_inserts.data().expect("failed inserts section");
    let f = failed
        .iter()
        .find(|f| f.table == format!("default.{table}"))
        .unwrap_or_else(|| panic!("no failed insert for {table} in {failed:?}"));
    assert_eq!(f.latest_query.chars().count(), 4096);
    let expected: String = sql.chars().take(4096).collect();
    assert_eq!(f.latest_query, expected);
    common::exec(url, &format!("DROP TABLE default.{table}")).await;
}

#[tokio::test]
async fn long_failed_insert_text_is_cut_on_current_engine() {
    common::needs!(ClickHouse);
    long_failed_insert_text_is_cut(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn long_failed_insert_text_is_cut_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    long_failed_insert_text_is_cut(common::LEGACY_CLICKHOUSE).await;
}

/// An error the server raised (here a bad query from another client) is in the next poll's server
/// errors, with its count, time and message.
#[tokio::test]
async fn server_error_is_reported_with_its_latest_message() {
    common::needs!(ClickHouse);
    let url = common::CLICKHOUSE;
    let marker = common::unique("pipetop_missing");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let err = common::writer(url)
        .query(&format!("SELECT * FROM default.{marker}"))
        .execute()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Code: 60"), "{err}");
    let host = common::poll_clickhouse(&common::clickhouse_config(url)).await;
    let errors = host.errors.data().expect("errors section");
    let e = errors
        .iter()
        .find(|e| e.name == "UNKNOWN_TABLE")
        .unwrap_or_else(|| panic!("no UNKNOWN_TABLE in {errors:?}"));
    assert_eq!(e.code, 60);
    assert!(e.count >= 1);
    let last = e.last_time.expect("26.x has last_error_time");
    assert!(last + 1 >= before, "{last} < {before}");
    // pipetop itself never raises UNKNOWN_TABLE (a missing watched table is looked up), so the
    // latest one is ours.
    let message = e.last_message.clone().unwrap_or_default();
    assert!(message.contains(&marker), "{message}");
    // Newest first.
    let times: Vec<u32> = errors.iter().filter_map(|e| e.last_time).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(errors.len() <= 100);
}
