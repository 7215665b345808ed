//! pipetop's own load on the server: its queries of the window in `system.query_log`, found by
//! their markers (this process's only: the marker names it), summed per poll and per section in
//! one scan (each row counted twice through ARRAY JOIN, as in the latency query).

use clickhouse::Row;
use serde::Deserialize;

use super::query_log::window;
use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::{Arg, ChClient, marker_prefix};
use crate::clickhouse::own_load::{LoadGroup, LoadRow, OwnLoad};
use crate::clickhouse::snapshot::Section;

/// Rows at most: one per poll of the window and one per section. A 5-minute window at the
/// shortest refresh (500 ms) holds 600 polls.
pub const ROWS: u32 = 5000;

#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    kind: String,
    key: String,
    queries: u64,
    duration_ms: u64,
    cpu_us: u64,
    read_rows: u64,
    read_bytes: u64,
    peak_memory: u64,
}

/// `log_comment` (where the server has it) is a short column the PREWHERE reads before the long
/// query text; the marker's prefix then keeps this process's queries only.
pub fn own_load_sql(ctx: &Ctx) -> String {
    let marked = if ctx.own_queries_marked {
        " AND log_comment = 'pipetop'"
    } else {
        ""
    };
    format!(
        r"SELECT tupleElement(g, 1) AS kind, tupleElement(g, 2) AS key,
       toUInt64(count()) AS queries, toUInt64(sum(query_duration_ms)) AS duration_ms,
       toUInt64(sum(cpu)) AS cpu_us,
       toUInt64(sum(read_rows)) AS read_rows, toUInt64(sum(read_bytes)) AS read_bytes,
       toUInt64(greatest(max(memory_usage), 0)) AS peak_memory
FROM (
    SELECT query_duration_ms, {cpu} AS cpu, read_rows, read_bytes, memory_usage,
           extract(query, '^/\\* pipetop [0-9a-f]+:([0-9]+) ') AS poll,
           extract(query, '^/\\* pipetop [0-9a-f]+:[0-9]+ ([a-z_]+) ') AS label
    {window}{marked}
    WHERE toUInt8(type) != 1 AND startsWith(query, ?)
)
ARRAY JOIN [('p', poll), ('s', label)] AS g
GROUP BY kind, key
LIMIT {ROWS}",
        window = window(ctx.window_s),
        cpu = cpu_us(ctx).unwrap_or("toUInt64(0)"),
    )
}

/// User + system CPU of a query, µs: a Map from 21.x, two parallel arrays before; None when the
/// log has neither.
fn cpu_us(ctx: &Ctx) -> Option<&'static str> {
    if ctx.caps.has_column("query_log", "ProfileEvents") {
        Some("ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']")
    } else if ctx.caps.has_column("query_log", "ProfileEvents.Names") {
        Some(
            "arrayElement(ProfileEvents.Values, indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')) \
             + arrayElement(ProfileEvents.Values, indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds'))",
        )
    } else {
        None
    }
}

pub async fn own_load(client: &ChClient, ctx: &Ctx) -> Section<OwnLoad> {
    if let Some(reason) = ctx.caps.missing(features::QUERY_LOG) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx
        .stmt(SectionId::OwnLoad, own_load_sql(ctx))
        .arg(Arg::Str(marker_prefix()));
    let has_cpu = cpu_us(ctx).is_some();
    section(fetch::<GroupRow>(client, &stmt).await).map(|rows| {
        let rows: Vec<LoadRow> = rows
            .into_iter()
            .filter_map(|r| {
                let group = match r.kind.as_str() {
                    "p" => LoadGroup::Poll(r.key.parse().ok()?),
                    _ => LoadGroup::Section(r.key),
                };
                Some(LoadRow {
                    group,
                    queries: r.queries,
                    duration_ms: r.duration_ms,
                    cpu_us: has_cpu.then_some(r.cpu_us),
                    read_rows: r.read_rows,
                    read_bytes: r.read_bytes,
                    peak_memory_bytes: r.peak_memory,
                })
            })
            .collect();
        OwnLoad::from_rows(ctx.window_s, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_log_comment_first_where_there_is_one() {
        let new = Ctx {
            own_queries_marked: true,
            ..Ctx::for_test("26.9.1", &[("query_log", "log_comment")])
        };
        let sql = own_load_sql(&new);
        assert!(sql.contains("PREWHERE event_date"), "{sql}");
        assert!(sql.contains("AND log_comment = 'pipetop'\n"), "{sql}");
        assert!(sql.contains("LIMIT 5000"), "{sql}");
        let old = Ctx::for_test("18.16.1", &[]);
        assert!(!own_load_sql(&old).contains("log_comment"));
    }
}
