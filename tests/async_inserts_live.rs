//! Async inserts the server accepted and then lost, from `system.asynchronous_insert_log`:
//! - a 26.9 engine of the test's own with the log enabled: failed entries of one table show per
//!   status and exception code with the latest exception, count as the table's failed inserts
//!   (`failed_inserts` fires, its reason says they were async), and list among the failures;
//! - the legacy 18.16 server says why it has no such log (needs ≥ 22.10).
//!
//! The log's rows are written by the test. This engine is clickhouse-local, which has no
//! async-insert queue: an INSERT with `async_insert = 1` is written at once and never reaches the
//! log (checked below), and 18.16 predates async inserts, so no server here can lose one. The
//! rows follow the server's own schema, and pipetop reads them with its real query.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};
use pipetop::clickhouse::snapshot::Section;

const ASYNC_LOG: &str = "  <asynchronous_insert_log>\n    <database>system</database>\n    \
     <table>asynchronous_insert_log</table>\n    <flush_interval_milliseconds>1000</flush_interval_milliseconds>\n  \
     </asynchronous_insert_log>";

/// One entry of the log as the server writes it: `status` Ok, ParsingError or FlushError.
fn entry(db: &str, n: u32, status: &str, exception: &str, bytes: u64) -> String {
    format!(
        "(today(), now() - {n}, now64(6) - {n}, 'INSERT INTO {db}.events FORMAT JSONEachRow', \
         '{db}', 'events', 'JSONEachRow', 'q-{status}-{n}', {bytes}, '{exception}', '{status}', \
         now() - {n}, now64(6) - {n}, 'flush-{n}')"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_async_inserts_count_as_the_tables_failed_inserts() {
    common::needs!(ChdbVenv, Loopback);
    let own = common::OwnClickHouse::start_with(ASYNC_LOG);
    // A log table appears at its first flush.
    common::exec(&own.url, "SYSTEM FLUSH LOGS").await;
    let db = common::unique("async_db");
    common::exec(&own.url, &format!("CREATE DATABASE {db}")).await;
    common::exec(
        &own.url,
        &format!("CREATE TABLE {db}.events (n UInt64) ENGINE = MergeTree ORDER BY n"),
    )
    .await;
    // This engine writes an async insert at once: nothing reaches the log.
    common::writer(&own.url)
        .query(&format!("INSERT INTO {db}.events VALUES (1)"))
        .with_setting("async_insert", "1")
        .with_setting("wait_for_async_insert", "0")
        .execute()
        .await
        .unwrap();
    common::exec(&own.url, "SYSTEM FLUSH LOGS").await;
    assert_eq!(
        common::count(
            &own.url,
            &format!("SELECT count() FROM system.asynchronous_insert_log WHERE database = '{db}'")
        )
        .await,
        0
    );

    let disk_full =
        "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)";
    let bad_row = "Code: 27. DB::Exception: Cannot parse input: expected \\'\"\\' before: \\'x}\\': (at row 1). (CANNOT_PARSE_INPUT_ASSERTION_FAILED)";
    let mut rows: Vec<String> = (1..=10).map(|n| entry(&db, n, "Ok", "", 100)).collect();
    rows.extend((11..=13).map(|n| entry(&db, n, "FlushError", disk_full, 1_000)));
    rows.extend((14..=15).map(|n| entry(&db, n, "ParsingError", bad_row, 10)));
    common::exec(
        &own.url,
        &format!(
            "INSERT INTO system.asynchronous_insert_log (event_date, event_time, \
             event_time_microseconds, query, database, table, format, query_id, bytes, \
             exception, status, flush_time, flush_time_microseconds, flush_query_id) VALUES {}",
            rows.join(", ")
        ),
    )
    .await;

    let mut watch = common::Watch::new(&common::config_from_toml(&format!(
        r#"
        refresh = "1s"
        [clickhouse]
        hosts = ["{url}"]
        freshness = []
        "#,
        url = own.url
    )));
    watch.poll_clickhouse().await;
    let model = watch.model();
    let table = format!("{db}.events");
    let lost: Vec<_> = model
        .clickhouse
        .failed_inserts
        .iter()
        .filter(|f| f.table == table)
        .collect();
    let mut groups: Vec<(Option<&str>, i32, u64, u64)> = lost
        .iter()
        .map(|f| {
            (
                f.async_status.as_deref(),
                f.exception_code,
                f.failures,
                f.bytes,
            )
        })
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        [
            (Some("FlushError"), 243, 3, 3_000),
            (Some("ParsingError"), 27, 2, 20),
        ],
        "{lost:#?}"
    );
    let flush = lost.iter().find(|f| f.exception_code == 243).unwrap();
    assert_eq!(flush.latest_exception, disk_full);
    // The newest of the three (11 s ago).
    assert_eq!(flush.latest_query_id, "q-FlushError-11");
    assert_eq!(
        flush.latest_query,
        format!("INSERT INTO {db}.events FORMAT JSONEachRow")
    );

    let row = model
        .clickhouse
        .health
        .iter()
        .find(|t| t.table == table)
        .expect("the table among the tables");
    assert_eq!(
        (row.failed_inserts, row.async_failed_inserts),
        (Some(5), 5),
        "{row:?}"
    );
    assert!(
        row.reasons
            .iter()
            .any(|r| r.contains("5 failed inserts") && r.contains("async")),
        "{row:?}"
    );
    let alert = watch
        .alert(
            RuleKind::FailedInserts,
            &Subject::new(SubjectKind::Table, table.as_str()),
        )
        .expect("failed_inserts");
    assert_eq!(
        (alert.severity, alert.state),
        (Severity::Warning, AlertState::Firing)
    );
    common::exec(&own.url, &format!("DROP DATABASE {db}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_18_16_says_it_has_no_async_insert_log() {
    common::needs!(LegacyClickHouse);
    let mut watch = common::Watch::new(&common::config_from_toml(&format!(
        r#"
        [clickhouse]
        hosts = ["{url}"]
        freshness = []
        "#,
        url = common::LEGACY_CLICKHOUSE
    )));
    watch.poll_clickhouse().await;
    let snapshot = watch.model().snapshots().unwrap().clickhouse.unwrap();
    let host = snapshot.hosts[0].snapshot().unwrap();
    assert!(
        matches!(host.async_insert_failures, Section::Unavailable { .. }),
        "{:?}",
        host.async_insert_failures
    );
    assert_eq!(
        host.async_insert_failures.problem(),
        Some("system.asynchronous_insert_log: not available on ClickHouse 18.16 (needs ≥ 22.10)")
    );
}
