//! The ClickHouse collector: one bounded, read-only poll of the server's system tables.

use std::time::{Instant, SystemTime};

use clickhouse::Row;
use serde::Deserialize;

use super::client::{ChClient, ChError};
use super::snapshot::{ClickHouseSnapshot, Section, ServerInfo, TableParts};
use crate::config::ClickHouseConfig;
use crate::source::Collector;

pub struct ClickHouseCollector {
    client: ChClient,
}

#[derive(Debug, Row, Deserialize)]
struct ServerRow {
    version: String,
    uptime: u64,
}

#[derive(Debug, Row, Deserialize)]
struct TablePartsRow {
    database: String,
    table: String,
    active_parts: u64,
    partitions: u64,
    rows: u64,
    bytes_on_disk: u64,
    worst_partition: String,
    max_parts_in_partition: u64,
}

const SERVER_SQL: &str = "SELECT version() AS version, toUInt64(uptime()) AS uptime";

/// Per table: totals, and the partition with the most active parts.
const TABLE_PARTS_SQL: &str = "
SELECT database, table,
       toUInt64(sum(parts)) AS active_parts,
       toUInt64(count()) AS partitions,
       toUInt64(sum(rows)) AS rows,
       toUInt64(sum(bytes)) AS bytes_on_disk,
       argMax(partition, parts) AS worst_partition,
       toUInt64(max(parts)) AS max_parts_in_partition
FROM (
    SELECT database, table, partition,
           count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes
    FROM system.parts
    WHERE active AND database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
    GROUP BY database, table, partition
)
GROUP BY database, table
ORDER BY max_parts_in_partition DESC, database, table
LIMIT 1000";

impl ClickHouseCollector {
    pub fn new(config: &ClickHouseConfig) -> ClickHouseCollector {
        ClickHouseCollector {
            client: ChClient::new(config),
        }
    }

    pub fn with_client(client: ChClient) -> ClickHouseCollector {
        ClickHouseCollector { client }
    }
}

impl Collector for ClickHouseCollector {
    type Snapshot = ClickHouseSnapshot;

    /// One poll. Fails as a whole only when the server cannot be reached at all; otherwise each
    /// section carries its own outcome.
    async fn poll(&mut self) -> Result<ClickHouseSnapshot, String> {
        let started = Instant::now();
        let server = self.server_info().await.map_err(|e| e.to_string())?;
        let tables = section(
            self.client
                .fetch_all::<TablePartsRow>(TABLE_PARTS_SQL)
                .await,
        )
        .map(|rows| rows.into_iter().map(TableParts::from).collect());
        Ok(ClickHouseSnapshot {
            taken_at_ms: crate::time::unix_ms(SystemTime::now()),
            poll_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            queries: 2,
            server,
            tables,
        })
    }
}

impl ClickHouseCollector {
    /// The first query also decides the wire format: servers from before 2019 cannot send
    /// RowBinaryWithNamesAndTypes, so validation is switched off for them once and for all.
    async fn server_info(&mut self) -> Result<ServerInfo, ChError> {
        let row = match self.client.fetch_one::<ServerRow>(SERVER_SQL).await {
            Err(e) if is_unknown_format(&e) => {
                self.client = self.client.clone().without_validation();
                self.client.fetch_one::<ServerRow>(SERVER_SQL).await?
            }
            other => other?,
        };
        Ok(ServerInfo {
            version: row.version,
            uptime_s: row.uptime,
        })
    }
}

fn is_unknown_format(e: &ChError) -> bool {
    // 73 = UNKNOWN_FORMAT.
    e.code() == Some(73) || e.to_string().contains("RowBinaryWithNamesAndTypes")
}

fn section<T>(result: Result<T, ChError>) -> Section<T> {
    match result {
        Ok(data) => Section::Ok { data },
        Err(e) => Section::Failed {
            error: e.to_string(),
        },
    }
}

impl From<TablePartsRow> for TableParts {
    fn from(r: TablePartsRow) -> TableParts {
        TableParts {
            database: r.database,
            table: r.table,
            active_parts: r.active_parts,
            partitions: r.partitions,
            rows: r.rows,
            bytes_on_disk: r.bytes_on_disk,
            worst_partition: r.worst_partition,
            max_parts_in_partition: r.max_parts_in_partition,
        }
    }
}
