//! Background work: merges in flight and mutations not done.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::client::ChClient;
use crate::clickhouse::snapshot::{Merge, Mutation, Section};

#[derive(Debug, Row, Deserialize)]
struct MergeRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    elapsed: f64,
    progress: f64,
    num_parts: u64,
    total_size_bytes_compressed: u64,
    rows_read: u64,
    rows_written: u64,
    memory_usage: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    result_part_name: String,
    is_mutation: Option<u8>,
}

/// A column that old servers lack is selected as a typed NULL, so the row shape never changes.
fn nullable(ctx: &Ctx, table: &str, column: &str, null_type: &str) -> String {
    if ctx.caps.has_column(table, column) {
        format!("toNullable({column}) AS {column}")
    } else {
        format!("CAST(NULL AS Nullable({null_type})) AS {column}")
    }
}

pub fn merges_sql(ctx: &Ctx, filter: &str) -> String {
    let is_mutation = nullable(ctx, "merges", "is_mutation", "UInt8");
    format!(
        "SELECT database, table, elapsed, progress, toUInt64(num_parts) AS num_parts,
       toUInt64(total_size_bytes_compressed) AS total_size_bytes_compressed,
       toUInt64(rows_read) AS rows_read, toUInt64(rows_written) AS rows_written,
       toUInt64(memory_usage) AS memory_usage, result_part_name, {is_mutation}
FROM system.merges
WHERE 1{filter}
ORDER BY elapsed DESC
LIMIT 200"
    )
}

pub async fn merges(client: &ChClient, ctx: &Ctx) -> Section<Vec<Merge>> {
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::Merges, merges_sql(ctx, &filter))
        .args(args);
    section(fetch::<MergeRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| Merge {
                database: r.database,
                table: r.table,
                elapsed_s: r.elapsed,
                progress: r.progress,
                num_parts: r.num_parts,
                total_size_bytes_compressed: r.total_size_bytes_compressed,
                rows_read: r.rows_read,
                rows_written: r.rows_written,
                memory_usage: r.memory_usage,
                result_part_name: r.result_part_name,
                is_mutation: r.is_mutation.map(|m| m != 0),
            })
            .collect()
    })
}

#[derive(Debug, Row, Deserialize)]
struct MutationRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    mutation_id: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    command: String,
    create_time: u32,
    parts_to_do: i64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_opt")]
    latest_fail_reason: Option<String>,
    latest_fail_time: Option<u32>,
}

pub fn mutations_sql(ctx: &Ctx, filter: &str) -> String {
    let reason = nullable(ctx, "mutations", "latest_fail_reason", "String");
    let time = if ctx.caps.has_column("mutations", "latest_fail_time") {
        "toNullable(toUInt32(latest_fail_time)) AS latest_fail_time".to_string()
    } else {
        "CAST(NULL AS Nullable(UInt32)) AS latest_fail_time".to_string()
    };
    format!(
        "SELECT database, table, mutation_id, substring(command, 1, 500) AS command,
       toUInt32(create_time) AS create_time, toInt64(parts_to_do) AS parts_to_do, {reason}, {time}
FROM system.mutations
WHERE is_done = 0{filter}
ORDER BY create_time
LIMIT 200"
    )
}

pub async fn mutations(client: &ChClient, ctx: &Ctx) -> Section<Vec<Mutation>> {
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::Mutations, mutations_sql(ctx, &filter))
        .args(args);
    section(fetch::<MutationRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| Mutation {
                database: r.database,
                table: r.table,
                mutation_id: r.mutation_id,
                command: r.command,
                create_time: r.create_time,
                parts_to_do: r.parts_to_do,
                latest_fail_reason: r.latest_fail_reason,
                latest_fail_time: r.latest_fail_time.filter(|t| *t > 0),
            })
            .collect()
    })
}
