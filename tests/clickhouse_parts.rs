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
    common::needs!(ClickHouse);
    parts_match_system_parts(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn parts_match_system_parts_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    parts_match_system_parts(common::LEGACY_CLICKHOUSE).await;
}

#[tokio::test]
async fn legacy_server_reports_its_version() {
    common::needs!(LegacyClickHouse);
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
    common::needs!(ClickHouse);
    let client =
        pipetop::clickhouse::client::ChClient::new(&common::clickhouse_config(common::CLICKHOUSE));
    let err = client
        // Lifting readonly is itself a write of settings: refused when readonly is in force.
        .fetch_all::<Count>("test", "SELECT toUInt64(1) AS n SETTINGS readonly = 0")
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(pipetop::clickhouse::client::codes::READONLY),
        "{err}"
    );
}

/// The UI's focus on one partition: its parts, as system.parts lists them, newest first, fetched
/// at every poll while the focus stands and only then.
async fn focused_partition_lists_its_parts(url: &str) {
    use pipetop::clickhouse::snapshot::PartsFocus;

    #[derive(Debug, Row, Deserialize)]
    struct PartName {
        name: String,
    }

    let table = common::unique("focus_t");
    common::exec(
        url,
        &format!(
            "CREATE TABLE default.{table} (d Date, x UInt64) ENGINE = MergeTree() PARTITION BY d ORDER BY x"
        ),
    )
    .await;
    common::exec(url, &format!("SYSTEM STOP MERGES default.{table}")).await;
    for (day, rows) in [("01", 3), ("01", 5), ("02", 1), ("01", 7)] {
        common::exec(url, &format!("INSERT INTO default.{table} SELECT toDate('2026-11-{day}'), number FROM system.numbers LIMIT {rows}")).await;
    }
    let expected: Vec<String> = common::writer(url)
        .with_validation(false)
        .query("SELECT name FROM system.parts WHERE active AND database = 'default' AND table = ? AND partition_id = '20261101' ORDER BY modification_time DESC, name")
        .bind(table.as_str())
        .fetch_all::<PartName>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(expected.len(), 3);

    let focus = PartsFocus {
        host: None,
        database: "default".into(),
        table: table.clone(),
        partition_id: "20261101".into(),
    };
    let (tx, rx) = tokio::sync::watch::channel(Some(focus.clone()));
    let mut collector = ClickHouseCollector::new(&common::clickhouse_config(url)).with_focus(rx);
    let snapshot = collector.poll().await.unwrap();
    let host = snapshot.hosts[0].snapshot().unwrap();
    let focused = host.focused_parts.as_ref().expect("focused parts");
    assert_eq!(focused.focus, focus);
    let parts = focused.parts.data().expect("parts of the partition");
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, expected);
    let mut rows: Vec<u64> = parts.iter().map(|p| p.rows).collect();
    rows.sort();
    assert_eq!(rows, [3, 5, 7]);
    assert!(
        parts
            .iter()
            .all(|p| p.level == 0 && p.marks >= 1 && p.bytes_on_disk > 0)
    );
    assert!(
        parts
            .windows(2)
            .all(|w| w[0].modification_time >= w[1].modification_time)
    );

    // A focus on another host is not this host's business: it costs no query.
    let steady = collector.poll().await.unwrap().queries;
    tx.send(Some(PartsFocus {
        host: Some("http://elsewhere:8123".into()),
        ..focus.clone()
    }))
    .unwrap();
    let snapshot = collector.poll().await.unwrap();
    assert!(
        snapshot.hosts[0]
            .snapshot()
            .unwrap()
            .focused_parts
            .is_none()
    );
    assert_eq!(snapshot.queries + 1, steady);
    tx.send(None).unwrap();
    let snapshot = collector.poll().await.unwrap();
    assert!(
        snapshot.hosts[0]
            .snapshot()
            .unwrap()
            .focused_parts
            .is_none()
    );

    // Names are bound values: quotes are just characters of a table that does not exist.
    tx.send(Some(PartsFocus {
        host: Some(pipetop::clickhouse::host::display_host(url)),
        table: format!("{table}' OR 1 = 1 OR '"),
        ..focus
    }))
    .unwrap();
    let snapshot = collector.poll().await.unwrap();
    let focused = snapshot.hosts[0].snapshot().unwrap().focused_parts.clone();
    let parts = focused.expect("focus names this host").parts;
    assert_eq!(parts.data().map(Vec::len), Some(0), "{parts:?}");
    common::exec(url, &format!("DROP TABLE default.{table}")).await;
}

#[tokio::test]
async fn focused_partition_lists_its_parts_on_current_engine() {
    common::needs!(ClickHouse);
    focused_partition_lists_its_parts(common::CLICKHOUSE).await;
}

#[tokio::test]
async fn focused_partition_lists_its_parts_on_legacy_18_16() {
    common::needs!(LegacyClickHouse);
    focused_partition_lists_its_parts(common::LEGACY_CLICKHOUSE).await;
}
