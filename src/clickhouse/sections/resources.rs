//! A host's resources: its disks (system.disks), its tracked memory (system.metrics, read with
//! the `counters`) against the server's limit (system.server_settings,
//! system.asynchronous_metrics), and the send queues of its Distributed tables
//! (system.distribution_queue).

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::resources::{Disk, DistributionQueue, Memory, MemoryLimit};
use crate::clickhouse::snapshot::Section;

/// Disks listed per host.
pub const DISKS: u32 = 100;
/// Distributed tables listed per host, the worst first.
pub const QUEUES: u32 = 200;

#[derive(Debug, Row, Deserialize)]
struct DiskRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    path: String,
    free_bytes: u64,
    total_bytes: u64,
    keep_free_bytes: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_opt")]
    kind: Option<String>,
}

pub fn disks_sql(ctx: &Ctx) -> String {
    let kind = if ctx.caps.has_column("disks", "type") {
        "toNullable(toString(type))"
    } else {
        "CAST(NULL AS Nullable(String))"
    };
    format!(
        "SELECT name, path, toUInt64(free_space) AS free_bytes, toUInt64(total_space) AS total_bytes,
       toUInt64(keep_free_space) AS keep_free_bytes, {kind} AS kind
FROM system.disks
ORDER BY name
LIMIT {DISKS}"
    )
}

pub async fn disks(client: &ChClient, ctx: &Ctx) -> Section<Vec<Disk>> {
    if let Some(reason) = ctx.caps.missing(features::DISKS) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx.stmt(SectionId::Disks, disks_sql(ctx));
    section(fetch::<DiskRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| Disk {
                name: r.name,
                path: r.path,
                free_bytes: r.free_bytes,
                total_bytes: r.total_bytes,
                keep_free_bytes: r.keep_free_bytes,
                kind: r.kind.filter(|k| !k.is_empty()),
            })
            .collect()
    })
}

/// One row: the two settings in one pass over `system.server_settings` (where it exists, else
/// `system.one`) and the OS total as a scalar subquery, an aggregate (one row, 0 when nothing
/// matches) over a handful of named rows: bounded however large the tables.
pub fn memory_limit_sql(ctx: &Ctx) -> String {
    let (server_limit, ratio, from) = if ctx.caps.has_column("server_settings", "value") {
        (
            "maxIf(toUInt64OrZero(value), name = 'max_server_memory_usage')",
            "maxIf(toFloat64OrZero(value), name = 'max_server_memory_usage_to_ram_ratio')",
            "system.server_settings\nWHERE name IN ('max_server_memory_usage', 'max_server_memory_usage_to_ram_ratio')",
        )
    } else {
        ("toUInt64(0)", "toFloat64(0)", "system.one")
    };
    let os_total = if ctx.caps.has_column("asynchronous_metrics", "value") {
        "ifNull((SELECT max(toUInt64(greatest(value, 0))) FROM system.asynchronous_metrics WHERE metric = 'OSMemoryTotal'), 0)"
    } else {
        "toUInt64(0)"
    };
    format!(
        "SELECT toUInt64({server_limit}) AS server_limit, toFloat64({ratio}) AS ratio,
       toUInt64({os_total}) AS os_total
FROM {from}
LIMIT 1"
    )
}

pub async fn memory_limit(client: &ChClient, ctx: &Ctx) -> Section<MemoryLimit> {
    if let Some(reason) = ctx.caps.missing(features::METRICS) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx.stmt(SectionId::MemoryLimit, memory_limit_sql(ctx));
    section(fetch::<MemoryLimit>(client, &stmt).await).and_then(|rows| match rows.first() {
        Some(r) => Section::Ok { data: *r },
        None => Section::Failed {
            error: "the memory limit query answered no row".into(),
        },
    })
}

/// The memory section: the tracked memory (`None` when the server has no `system.metrics`) and
/// the limit as last read (or why it could not be).
pub fn memory(
    ctx: &Ctx,
    tracked: Section<Option<u64>>,
    limit: &Section<MemoryLimit>,
) -> Section<Memory> {
    if let Some(reason) = ctx.caps.missing(features::METRICS) {
        return Section::Unavailable { reason };
    }
    tracked.and_then(|tracked| match (tracked, limit) {
        (None, _) => Section::Failed {
            error: "no MemoryTracking in system.metrics".into(),
        },
        (Some(tracked), Section::Ok { data: l }) => Section::Ok {
            data: memory_of(ctx, tracked, l.server_limit, l.ratio, l.os_total),
        },
        (Some(tracked), other) => {
            let mut m = memory_of(ctx, tracked, 0, 0.0, 0);
            m.limit_missing = Some(format!(
                "the limit could not be read: {}",
                other.problem().unwrap_or("no answer")
            ));
            Section::Ok { data: m }
        }
    })
}

/// The limit in force: `max_server_memory_usage` where it reads above 0 (on current servers it
/// reads as the limit derived from the RAM ratio), else the OS total times the ratio, else the
/// OS total; otherwise why none is known.
pub fn memory_of(ctx: &Ctx, tracked: u64, server_limit: u64, ratio: f64, os_total: u64) -> Memory {
    let (limit, source) = if server_limit > 0 {
        (
            Some(server_limit),
            Some("max_server_memory_usage".to_string()),
        )
    } else if os_total > 0 && ratio > 0.0 && ratio.is_finite() {
        (
            Some((os_total as f64 * ratio) as u64),
            Some(format!(
                "OSMemoryTotal × max_server_memory_usage_to_ram_ratio ({ratio})"
            )),
        )
    } else if os_total > 0 {
        (Some(os_total), Some("OSMemoryTotal".to_string()))
    } else {
        (None, None)
    };
    let limit_missing = limit.is_none().then(|| {
        let settings = ctx
            .caps
            .missing(features::SERVER_SETTINGS)
            .unwrap_or_else(|| "max_server_memory_usage reads 0 (no limit)".to_string());
        format!(
            "no memory limit known: {settings}; no OSMemoryTotal in system.asynchronous_metrics"
        )
    });
    Memory {
        tracked_bytes: tracked,
        limit_bytes: limit,
        limit_source: source,
        limit_missing,
    }
}

#[derive(Debug, Row, Deserialize)]
struct QueueRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    files: u64,
    bytes: u64,
    broken_files: Option<u64>,
    broken_bytes: Option<u64>,
    errors: u64,
    blocked: u8,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    exception: String,
    exception_time: Option<u32>,
}

pub fn distribution_sql(ctx: &Ctx, filter: &str) -> String {
    let has = |c: &str| ctx.caps.has_column("distribution_queue", c);
    let sum_or_null = |c: &str| {
        if has(c) {
            format!("toNullable(toUInt64(sum({c})))")
        } else {
            "CAST(NULL AS Nullable(UInt64))".to_string()
        }
    };
    let broken_files = sum_or_null("broken_data_files");
    let broken_bytes = sum_or_null("broken_data_compressed_bytes");
    let (latest, time) = if has("last_exception_time") {
        (
            "last_exception_time",
            "toNullable(toUInt32(max(last_exception_time)))",
        )
    } else {
        ("error_count", "CAST(NULL AS Nullable(UInt32))")
    };
    // Aliases differ from the columns: an alias named like a column would stand for it inside
    // the other aggregates.
    format!(
        "SELECT database, table, toUInt64(sum(data_files)) AS files,
       toUInt64(sum(data_compressed_bytes)) AS bytes,
       {broken_files} AS broken_files, {broken_bytes} AS broken_bytes,
       toUInt64(sum(error_count)) AS errors, toUInt8(max(is_blocked)) AS blocked,
       substringUTF8(argMax(last_exception, {latest}), 1, 2000) AS exception,
       {time} AS exception_time
FROM system.distribution_queue
WHERE 1{filter}
GROUP BY database, table
ORDER BY ifNull(broken_files, 0) DESC, files DESC, errors DESC, database, table
LIMIT {QUEUES}"
    )
}

pub async fn distribution(client: &ChClient, ctx: &Ctx) -> Section<Vec<DistributionQueue>> {
    if let Some(reason) = ctx.caps.missing(features::DISTRIBUTION_QUEUE) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::DistributionQueue, distribution_sql(ctx, &filter))
        .args(args);
    section(fetch::<QueueRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| DistributionQueue {
                database: r.database,
                table: r.table,
                data_files: r.files,
                data_compressed_bytes: r.bytes,
                broken_data_files: r.broken_files,
                broken_data_compressed_bytes: r.broken_bytes,
                error_count: r.errors,
                is_blocked: r.blocked != 0,
                last_exception: r.exception,
                // 1970-01-01: never failed.
                last_exception_time: r.exception_time.filter(|t| *t > 0),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(version: &str, cols: &[(&str, &str)]) -> Ctx {
        Ctx::for_test(version, cols)
    }

    #[test]
    fn disks_query_is_bounded_and_reads_type_only_where_it_exists() {
        let new = disks_sql(&ctx("26.9", &[("disks", "type")]));
        assert!(new.contains("toNullable(toString(type))"), "{new}");
        assert!(new.contains(&format!("LIMIT {DISKS}")), "{new}");
        let old = disks_sql(&ctx("19.15", &[("disks", "free_space")]));
        assert!(
            old.contains("CAST(NULL AS Nullable(String)) AS kind"),
            "{old}"
        );
    }

    #[test]
    fn memory_limit_query_reads_only_the_tables_the_server_has() {
        let legacy = memory_limit_sql(&ctx("18.16", &[("metrics", "value")]));
        assert!(!legacy.contains("server_settings"), "{legacy}");
        assert!(!legacy.contains("asynchronous_metrics"), "{legacy}");
        assert!(legacy.contains("system.one"), "{legacy}");
        let new = memory_limit_sql(&ctx(
            "26.9",
            &[
                ("metrics", "value"),
                ("server_settings", "value"),
                ("asynchronous_metrics", "value"),
            ],
        ));
        assert!(new.contains("'max_server_memory_usage'"), "{new}");
        assert!(new.contains("'OSMemoryTotal'"), "{new}");
    }

    #[test]
    fn memory_is_the_tracked_figure_with_the_limit_last_read() {
        let c = ctx(
            "26.9",
            &[("server_settings", "value"), ("metrics", "value")],
        );
        let limit = Section::Ok {
            data: MemoryLimit {
                server_limit: 100,
                ratio: 0.9,
                os_total: 1000,
            },
        };
        let m = memory(&c, Section::Ok { data: Some(50) }, &limit);
        assert_eq!(m.data().and_then(Memory::used_ratio), Some(0.5));
        let failed: Section<MemoryLimit> = Section::Failed {
            error: "timed out".into(),
        };
        let m = memory(&c, Section::Ok { data: Some(50) }, &failed);
        let m = m
            .data()
            .expect("the tracked figure stands without its limit");
        assert_eq!((m.tracked_bytes, m.limit_bytes), (50, None));
        assert!(
            m.limit_missing
                .as_deref()
                .is_some_and(|w| w.contains("timed out")),
            "{m:?}"
        );
        let counters_failed = memory(
            &c,
            Section::Failed {
                error: "refused".into(),
            },
            &limit,
        );
        assert_eq!(counters_failed.error(), Some("refused"));
    }

    #[test]
    fn the_limit_is_the_setting_else_the_os_total_times_the_ratio() {
        let c = ctx("26.9", &[("server_settings", "value")]);
        let m = memory_of(&c, 50, 100, 0.9, 1000);
        assert_eq!(
            (m.limit_bytes, m.limit_source.as_deref()),
            (Some(100), Some("max_server_memory_usage"))
        );
        assert_eq!(m.used_ratio(), Some(0.5));
        let m = memory_of(&c, 50, 0, 0.5, 1000);
        assert_eq!(m.limit_bytes, Some(500));
        let m = memory_of(&c, 50, 0, 0.0, 1000);
        assert_eq!(m.limit_bytes, Some(1000));
        let legacy = memory_of(&ctx("18.16", &[]), 50, 0, 0.0, 0);
        assert_eq!((legacy.limit_bytes, legacy.used_ratio()), (None, None));
        let why = legacy.limit_missing.unwrap_or_default();
        assert!(
            why.contains(
                "system.server_settings: not available on ClickHouse 18.16 (needs ≥ 23.3)"
            ),
            "{why}"
        );
    }

    #[test]
    fn distribution_query_groups_per_table_and_degrades_missing_columns() {
        let new = distribution_sql(
            &ctx(
                "26.9",
                &[
                    ("distribution_queue", "broken_data_files"),
                    ("distribution_queue", "broken_data_compressed_bytes"),
                    ("distribution_queue", "last_exception_time"),
                ],
            ),
            " AND x",
        );
        assert!(new.contains("sum(broken_data_files)"), "{new}");
        assert!(
            new.contains("argMax(last_exception, last_exception_time)"),
            "{new}"
        );
        assert!(new.contains("WHERE 1 AND x"), "{new}");
        assert!(new.contains("GROUP BY database, table"), "{new}");
        assert!(new.contains(&format!("LIMIT {QUEUES}")), "{new}");
        let old = distribution_sql(&ctx("20.5", &[("distribution_queue", "data_files")]), "");
        assert!(!old.contains("sum(broken_data_files)"), "{old}");
        assert!(old.contains("CAST(NULL AS Nullable(UInt32))"), "{old}");
    }
}
