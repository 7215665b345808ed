//! Parts per table and per partition, partitions per day, the parts thresholds in force, and
//! detached parts: everything that says how close a table is to "Too many parts".

use clickhouse::Row;
use serde::Deserialize;

use std::collections::HashMap;

use super::partition_names::{self, PartitionKey, PartitionNames};
use super::{Ctx, SYSTEM_DATABASES, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::{Arg, ChClient};
use crate::clickhouse::engine_settings::engine_settings;
use crate::clickhouse::snapshot::{
    DetachedParts, FocusedParts, Part, PartitionParts, PartsFocus, PartsThresholds, Section,
    TableParts, TableThresholds,
};
use crate::clickhouse::text::Text;

#[derive(Debug, Row, Deserialize)]
struct TableRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    active_parts: u64,
    partitions: u64,
    rows: u64,
    bytes_on_disk: u64,
    /// Its `partition_id`: the printed value comes from `partition_names`.
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    worst_partition: String,
    max_parts_in_partition: u64,
    max_partitions_per_day: u64,
    /// (partition_id, active parts, rows, bytes), most parts first.
    top_partitions: Vec<(Text, u64, u64, u64)>,
}

/// Partitions shown per table: the worst few are what an on-call engineer acts on.
pub const PARTITIONS_PER_TABLE: u32 = 5;

/// Most parts first, then partition_id: the order of the partitions list.
const BY_PARTS: &str = "p -> (-toInt64(tupleElement(p, 2)), tupleElement(p, 1))";

/// Three levels over one scan of system.parts (the scan is most of the cost): parts → partition
/// (with the day its data starts, from the partition key's min date/time) → (table, day) →
/// table. The worst partitions of each table ride along as an array, cut to the top few at each
/// level (the top few of the per-day top few are the table's). Partitions are known by their
/// `partition_id` here: the server would format the `partition` column for every part
/// (`partition_names` names the few shown).
pub fn tables_sql(filter: &str) -> String {
    format!(
        "SELECT database, table,
       toUInt64(sum(day_parts)) AS active_parts,
       toUInt64(sum(day_partitions)) AS partitions,
       toUInt64(sum(day_rows)) AS rows,
       toUInt64(sum(day_bytes)) AS bytes_on_disk,
       argMax(day_worst, day_max) AS worst_partition,
       toUInt64(max(day_max)) AS max_parts_in_partition,
       toUInt64(maxIf(day_partitions, day > toDate(0))) AS max_partitions_per_day,
       arraySlice(arraySort({BY_PARTS}, groupArrayArray(day_top)), 1, {PARTITIONS_PER_TABLE})
           AS top_partitions
FROM (
    SELECT database, table, day,
           count() AS day_partitions, sum(p_parts) AS day_parts, sum(p_rows) AS day_rows,
           sum(p_bytes) AS day_bytes, argMax(partition_id, p_parts) AS day_worst,
           max(p_parts) AS day_max,
           arraySlice(arraySort({BY_PARTS},
                                groupArray((partition_id, p_parts, p_rows, p_bytes))),
                      1, {PARTITIONS_PER_TABLE}) AS day_top
    FROM (
        SELECT database, table, partition_id,
               toUInt64(count()) AS p_parts, toUInt64(sum(rows)) AS p_rows,
               toUInt64(sum(bytes_on_disk)) AS p_bytes,
               if(min(min_date) > toDate(0), min(min_date), toDate(min(min_time))) AS day
        FROM system.parts
        WHERE active AND database NOT IN {SYSTEM_DATABASES}{filter}
        GROUP BY database, table, partition_id
    )
    GROUP BY database, table, day
)
GROUP BY database, table
ORDER BY max_parts_in_partition DESC, database, table
LIMIT 1000"
    )
}

/// The tables section and the partitions section, from one query (both fail together), and
/// the partitions' names this poll learned (see `partition_names`).
pub async fn tables_and_partitions(
    client: &ChClient,
    ctx: &Ctx,
    names: &PartitionNames,
) -> (
    Section<(Vec<TableParts>, Vec<PartitionParts>)>,
    Vec<(PartitionKey, String)>,
) {
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt_for(
            &[SectionId::Tables, SectionId::Partitions],
            tables_sql(&filter),
        )
        .args(args);
    let rows = match fetch::<TableRow>(client, &stmt).await {
        Ok(rows) => rows,
        Err(e) => return (section(Err(e)), Vec::new()),
    };
    let missing: Vec<PartitionKey> = rows
        .iter()
        .flat_map(|r| {
            r.top_partitions
                .iter()
                .map(|p| (r.database.clone(), r.table.clone(), p.0.0.clone()))
        })
        .filter(|key| names.get(key).is_none())
        .collect();
    let learned = partition_names::read(client, ctx, &missing).await;
    let new: HashMap<&PartitionKey, &str> = learned.iter().map(|(k, v)| (k, v.as_str())).collect();
    let name_of = |database: &str, table: &str, partition_id: &str| -> String {
        let key = (
            database.to_string(),
            table.to_string(),
            partition_id.to_string(),
        );
        names
            .get(&key)
            .or_else(|| new.get(&key).copied())
            // Not named yet (more new partitions than one poll names, or the read failed).
            .unwrap_or(partition_id)
            .to_string()
    };
    (
        Section::Ok {
            data: split_tables(rows, name_of),
        },
        learned,
    )
}

/// `parts_to_delay_insert` when the server's own is not known yet: the lowest default of any
/// version (150 up to 23.x; 1,000 since).
const LOWEST_DEFAULT_DELAY: u64 = 150;

/// Whether some table's worst partition holds at least a quarter of the parts at which its
/// inserts are delayed: then the parts scan runs every poll rather than on its cadence (half is
/// where `parts_pressure` warns by default).
pub fn near_the_limit(tables: &[TableParts], thresholds: Option<&PartsThresholds>) -> bool {
    tables.iter().any(|t| {
        let delay = thresholds.map_or(LOWEST_DEFAULT_DELAY, |th| {
            th.effective(&t.database, &t.table).0
        });
        t.max_parts_in_partition.saturating_mul(4) >= delay.max(1)
    })
}

fn split_tables(
    rows: Vec<TableRow>,
    name_of: impl Fn(&str, &str, &str) -> String,
) -> (Vec<TableParts>, Vec<PartitionParts>) {
    let mut partitions = Vec::new();
    let tables = rows
        .into_iter()
        .map(|r| {
            partitions.extend(r.top_partitions.into_iter().map(
                |(partition_id, active_parts, rows, bytes_on_disk)| PartitionParts {
                    database: r.database.clone(),
                    table: r.table.clone(),
                    partition: name_of(&r.database, &r.table, &partition_id.0),
                    partition_id: partition_id.0,
                    active_parts,
                    rows,
                    bytes_on_disk,
                },
            ));
            TableParts {
                worst_partition: name_of(&r.database, &r.table, &r.worst_partition),
                database: r.database,
                table: r.table,
                active_parts: r.active_parts,
                partitions: r.partitions,
                rows: r.rows,
                bytes_on_disk: r.bytes_on_disk,
                max_parts_in_partition: r.max_parts_in_partition,
                // 0 only when no partition has a date: the key is not time-based.
                max_partitions_per_day: (r.max_partitions_per_day > 0)
                    .then_some(r.max_partitions_per_day),
            }
        })
        .collect();
    // Worst partitions of every table first, as one list.
    partitions.sort_by(|a, b| {
        b.active_parts
            .cmp(&a.active_parts)
            .then_with(|| a.database.cmp(&b.database))
            .then_with(|| a.table.cmp(&b.table))
            .then_with(|| a.partition_id.cmp(&b.partition_id))
    });
    (tables, partitions)
}

#[derive(Debug, Row, Deserialize)]
struct PartRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    rows: u64,
    bytes_on_disk: u64,
    level: u32,
    modification_time: u32,
    marks: u64,
}

/// Database, table and partition are the user's choice: bound as values, never spliced. At most
/// 1000 parts: a partition with more is far past any threshold, and the newest explain it.
pub const FOCUSED_SQL: &str = "SELECT name, toUInt64(rows) AS rows,
       toUInt64(bytes_on_disk) AS bytes_on_disk, toUInt32(level) AS level,
       toUInt32(modification_time) AS modification_time, toUInt64(marks) AS marks
FROM system.parts
WHERE active AND database = ? AND table = ? AND partition_id = ?
ORDER BY modification_time DESC, name
LIMIT 1000";

pub async fn focused(client: &ChClient, ctx: &Ctx, focus: &PartsFocus) -> FocusedParts {
    let stmt = ctx.stmt(SectionId::FocusedParts, FOCUSED_SQL).args([
        Arg::Str(focus.database.clone()),
        Arg::Str(focus.table.clone()),
        Arg::Str(focus.partition_id.clone()),
    ]);
    let parts = section(fetch::<PartRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| Part {
                name: r.name,
                rows: r.rows,
                bytes_on_disk: r.bytes_on_disk,
                level: r.level,
                modification_time: r.modification_time,
                marks: r.marks,
            })
            .collect()
    });
    FocusedParts {
        focus: focus.clone(),
        parts,
    }
}

#[derive(Debug, Row, Deserialize)]
struct EngineRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    engine_full: String,
}

const DELAY: &str = "parts_to_delay_insert";
const THROW: &str = "parts_to_throw_insert";

/// One statement: the server defaults (database '') and the tables that mention a parts threshold
/// in their engine definition (the rest use the defaults).
pub fn thresholds_sql(filter: &str) -> String {
    format!(
        "SELECT '' AS database, name, value AS engine_full FROM system.merge_tree_settings
WHERE name IN ('{DELAY}', '{THROW}')
UNION ALL
SELECT database, name, engine_full FROM system.tables
WHERE database NOT IN {SYSTEM_DATABASES} AND engine LIKE '%MergeTree%'
  AND position(engine_full, 'parts_to_') > 0{filter}
LIMIT 10000"
    )
}

pub async fn thresholds(client: &ChClient, ctx: &Ctx) -> Section<PartsThresholds> {
    let (filter, args) = ctx.filter.clause("concat(database, '.', name)");
    let stmt = ctx
        .stmt(SectionId::Thresholds, thresholds_sql(&filter))
        .args(args);
    section(fetch::<EngineRow>(client, &stmt).await).map(|rows| {
        let (defaults, tables): (Vec<EngineRow>, Vec<EngineRow>) =
            rows.into_iter().partition(|r| r.database.is_empty());
        let default = |name: &str, fallback: u64| {
            defaults
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.engine_full.trim().parse().ok())
                .unwrap_or(fallback)
        };
        PartsThresholds {
            // Fallbacks are ClickHouse's own defaults, used only if the server lists neither.
            default_parts_to_delay_insert: default(DELAY, 1000),
            default_parts_to_throw_insert: default(THROW, 3000),
            overrides: overrides(tables),
        }
    })
}

fn overrides(tables: Vec<EngineRow>) -> Vec<TableThresholds> {
    tables
        .into_iter()
        .filter_map(|t| {
            let settings = engine_settings(&t.engine_full);
            let get = |name: &str| settings.get(name).and_then(|v| v.parse::<u64>().ok());
            let (delay, throw) = (get(DELAY), get(THROW));
            (delay.is_some() || throw.is_some()).then_some(TableThresholds {
                database: t.database,
                table: t.name,
                parts_to_delay_insert: delay,
                parts_to_throw_insert: throw,
            })
        })
        .collect()
}

#[derive(Debug, Row, Deserialize)]
struct DetachedRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    parts: u64,
    bytes_on_disk: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_vec")]
    reasons: Vec<String>,
}

pub async fn detached(client: &ChClient, ctx: &Ctx) -> Section<Vec<DetachedParts>> {
    if let Some(reason) = ctx.caps.missing(features::DETACHED_PARTS) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let sql = format!(
        "SELECT database, table, toUInt64(count()) AS parts,
       toUInt64(sum(bytes_on_disk)) AS bytes_on_disk,
       groupUniqArray(10)(ifNull(reason, '')) AS reasons
FROM system.detached_parts
WHERE database NOT IN {SYSTEM_DATABASES}{filter}
GROUP BY database, table
ORDER BY parts DESC, database, table
LIMIT 1000"
    );
    let stmt = ctx.stmt(SectionId::DetachedParts, sql).args(args);
    section(fetch::<DetachedRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| DetachedParts {
                database: r.database,
                table: r.table,
                parts: r.parts,
                bytes_on_disk: r.bytes_on_disk,
                reasons: r.reasons,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_overrides_come_from_engine_settings() {
        let rows = vec![
            EngineRow {
                database: "db".into(),
                name: "a".into(),
                engine_full: "MergeTree ORDER BY x SETTINGS parts_to_delay_insert = 50, index_granularity = 8192".into(),
            },
            EngineRow {
                database: "db".into(),
                name: "b".into(),
                // Mentions the name only inside a quoted value: no override.
                engine_full: "MergeTree ORDER BY x SETTINGS storage_policy = 'parts_to_throw_insert = 1'".into(),
            },
        ];
        let o = overrides(rows);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].table, "a");
        assert_eq!(o[0].parts_to_delay_insert, Some(50));
        assert_eq!(o[0].parts_to_throw_insert, None);
    }

    #[test]
    fn the_parts_scan_runs_every_poll_once_a_partition_nears_its_limit() {
        let table = |name: &str, worst: u64| TableParts {
            database: "db".into(),
            table: name.into(),
            active_parts: worst,
            partitions: 1,
            rows: 0,
            bytes_on_disk: 0,
            worst_partition: "p".into(),
            max_parts_in_partition: worst,
            max_partitions_per_day: None,
        };
        let thresholds = PartsThresholds {
            default_parts_to_delay_insert: 1_000,
            default_parts_to_throw_insert: 3_000,
            overrides: vec![TableThresholds {
                database: "db".into(),
                table: "tight".into(),
                parts_to_delay_insert: Some(40),
                parts_to_throw_insert: None,
            }],
        };
        let calm = [table("a", 249), table("tight", 9)];
        assert!(!near_the_limit(&calm, Some(&thresholds)));
        assert!(near_the_limit(&[table("a", 250)], Some(&thresholds)));
        assert!(near_the_limit(&[table("tight", 10)], Some(&thresholds)));
        // Thresholds not read yet: the lowest default of any version (150).
        assert!(!near_the_limit(&[table("a", 37)], None));
        assert!(near_the_limit(&[table("a", 38)], None));
        assert!(!near_the_limit(&[], None));
    }
}
