//! pipetop's ClickHouse poll against the live servers: part counts equal system.parts, on the
//! current engine and on the legacy 18.16 server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use clickhouse::Row;
use serde::Deserialize;

use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::source::Collector;

#[derive(Debug, Row, Deserialize)]
struct Count {
    n: u64,
}

async fn active_parts(url: &str, table: &str) -> u64 {
    common::writer(url)
        .with_validation(false)
        .query("SELECT toUInt64(count()) AS n FROM system.parts WHERE active AND database = 'default' AND table = ?")
        .bind(table)
        .fetch_one::<Count>()
        .await
        .unwrap()
        .n
}

async fn parts_match_system_parts(url: &str) {
    let table = common::unique("parts_t");
    common::exec(
        url,
        &format!(
            "CREATE TABLE {table} (d Date, x UInt64) ENGINE = MergeTree() PARTITION BY d ORDER BY x"
        ),
    )
    .await;
    for batch in 0..4 {
        common::exec(url, &format!("INSERT INTO {table} SELECT toDate('2026-11-0{}'), number FROM system.numbers LIMIT 10", batch % 2 + 1)).await;
    }

    let mut collector = ClickHouseCollector::new(&common::clickhouse_config(url));
    let snapshot = collector.poll().await.unwrap();
    let tables = snapshot.tables.data().expect("parts section");
    let t = tables
        .iter()
        .find(|t| t.table == table)
        .expect("table listed");
    let expected = active_parts(url, &table).await;
    assert_eq!(t.active_parts, expected);
    assert_eq!(t.partitions, 2);
    assert_eq!(t.rows, 40);
    assert!(t.max_parts_in_partition >= 1 && t.max_parts_in_partition <= 2);
    assert!(!snapshot.server.version.is_empty());
    common::exec(url, &format!("DROP TABLE {table}")).await;
}

#[tokio::test]
async fn parts_match_system_parts_on_current_engine() {
    common::require_stack();
    parts_match_system_parts(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn parts_match_system_parts_on_legacy_18_16() {
    common::require_stack();
    parts_match_system_parts(common::LEGACY_CLICKHOUSE).await;
}

#[tokio::test]
async fn legacy_server_reports_its_version() {
    common::require_stack();
    let mut collector =
        ClickHouseCollector::new(&common::clickhouse_config(common::LEGACY_CLICKHOUSE));
    let snapshot = collector.poll().await.unwrap();
    assert!(
        snapshot.server.version.starts_with("18.16"),
        "{}",
        snapshot.server.version
    );
}

#[tokio::test]
async fn pipetop_cannot_write() {
    common::require_stack();
    let client =
        pipetop::clickhouse::client::ChClient::new(&common::clickhouse_config(common::CLICKHOUSE));
    let err = client
        // Lifting readonly is itself a write of settings: refused when readonly is in force.
        .fetch_all::<Count>("SELECT toUInt64(1) AS n SETTINGS readonly = 0")
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(pipetop::clickhouse::client::codes::READONLY),
        "{err}"
    );
}
