//! Inserts, failed inserts, latency and slow query patterns from system.query_log over a sliding
//! window. Every query filters event_date and event_time first (PREWHERE): the table is large.
//!
//! Old servers (before query_kind, exception_code and current_database existed, e.g. 18.16) are
//! read the same way with the missing columns derived from the query and exception text.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::{Arg, ChClient};
use crate::clickhouse::identifier::unquote_qualified;
use crate::clickhouse::snapshot::{
    FailedInserts, KindLatency, Quantiles, Section, SlowQuery, TableInserts,
};
use crate::clickhouse::text::Text;

/// The target of `INSERT INTO [TABLE] db.t ...` as written, quotes and escapes and all (`??` is a
/// literal `?` for the client): `identifier::unquote_qualified` reads it back to the names.
const RAW_TARGET: &str =
    r"extract(query, '(??i)^\\s*INSERT\\s+INTO\\s+(??:TABLE\\s+)??([^\\s(]+)')";

/// The target as the table filter matches it: without its quotes, as the names were matched
/// before quotes were kept (a name with escapes in it is matched as written).
const FILTERED_TARGET: &str = "replaceAll(target, '`', '')";

/// The pieces of SQL that differ between servers with and without the newer query_log columns.
#[derive(Debug, Clone)]
pub struct Dialect {
    /// `database.table` an insert wrote to.
    pub target: String,
    pub target_args: Vec<Arg>,
    pub is_insert: String,
    pub exception_code: String,
    /// Orders events within one second, for "the latest".
    pub order_time: String,
    pub kind: String,
    pub pattern_hash: String,
    /// Applied to `any(query)` after grouping, so it runs once per pattern.
    pub normalize: fn(&str) -> String,
    /// Leaves pipetop's own queries out of the latency figures.
    pub not_own: String,
}

fn normalize_new(q: &str) -> String {
    format!("normalizeQuery({q})")
}

fn normalize_old(q: &str) -> String {
    format!(r"replaceRegexpAll({q}, '\\b\\d+\\b|''[^'']*''', '??')")
}

impl Dialect {
    pub fn for_ctx(ctx: &Ctx) -> Dialect {
        let has = |c: &str| ctx.caps.has_column("query_log", c);
        let (qualified, target_args) = if has("current_database") {
            (
                "if(position(t0, '.') > 0, t0, concat(current_database, '.', t0))".to_string(),
                vec![],
            )
        } else {
            // No record of the session's database: read unqualified names as tables of ours.
            (
                "if(position(t0, '.') > 0, t0, concat(?, '.', t0))".to_string(),
                vec![Arg::Str(ctx.database.clone())],
            )
        };
        let from_text = qualified.replace("t0", RAW_TARGET);
        // A plain INSERT touches one table, named by the server: no regex over the query text
        // (INSERT ... SELECT lists its sources too, in no useful order, so falls back to the text).
        let target = if has("tables") {
            format!("if(length(tables) = 1, toString(tables[1]), {from_text})")
        } else {
            from_text
        };
        let is_insert = if has("query_kind") {
            "query_kind = 'Insert'".to_string()
        } else {
            r"match(query, '(??i)^\\s*INSERT\\s')".to_string()
        };
        let exception_code = if has("exception_code") {
            "toInt32(exception_code)".to_string()
        } else {
            r"toInt32(toUInt32OrZero(extract(exception, '^Code: (\\d+)')))".to_string()
        };
        let order_time = if has("event_time_microseconds") {
            "event_time_microseconds"
        } else {
            "event_time"
        }
        .to_string();
        let kind = if has("query_kind") {
            "toString(query_kind)".to_string()
        } else {
            r"multiIf(match(query, '(??i)^\\s*INSERT\\s'), 'Insert', match(query, '(??i)^\\s*(SELECT|WITH)\\s'), 'Select', 'Other')".to_string()
        };
        let (pattern_hash, normalize): (String, fn(&str) -> String) =
            if has("normalized_query_hash") {
                ("normalized_query_hash".to_string(), normalize_new)
            } else {
                (
                    format!("cityHash64({})", normalize_old("query")),
                    normalize_old,
                )
            };
        // Servers without log_comment still keep each query's marker (`client::marker_prefix`).
        let not_own = if ctx.own_queries_marked {
            " AND log_comment != 'pipetop'".to_string()
        } else {
            " AND NOT startsWith(query, '/* pipetop ')".to_string()
        };
        Dialect {
            target,
            target_args,
            is_insert,
            exception_code,
            order_time,
            kind,
            pattern_hash,
            normalize,
            not_own,
        }
    }
}

/// `FROM system.query_log` over the last `window_s` seconds, time filters first.
pub fn window(window_s: u64) -> String {
    format!(
        "FROM system.query_log
PREWHERE event_date >= toDate(now() - {window_s}) AND event_time >= now() - {window_s}"
    )
}

fn unavailable(ctx: &Ctx) -> Option<String> {
    ctx.caps.missing(features::QUERY_LOG)
}

#[derive(Debug, Row, Deserialize)]
struct InsertRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    inserts: u64,
    rows: u64,
    failed: u64,
    latency_ms: Vec<f64>,
    /// One per exception code: (code, failures, latest exception, its query id, its query text,
    /// its time).
    failures: Vec<(i32, u64, Text, Text, Text, u32)>,
}

/// Characters of a failed insert's query text kept (cut on the server: it can be long).
pub const QUERY_TEXT_CHARS: u32 = 4096;

/// Inserts and failed inserts from one scan: rows are grouped by target table and outcome
/// (`code_key` −1 = success, else the exception code), then by table, the failures riding along
/// as an array. Success quantiles come from the success group alone, so they are exact.
/// Failures whose target cannot be read (`''`) still count as failed inserts, as before, but are
/// not an inserts row.
pub fn inserts_sql(ctx: &Ctx, d: &Dialect, filter: &str) -> String {
    format!(
        "SELECT target AS table,
       toUInt64(sumIf(n, code_key < 0)) AS inserts,
       toUInt64(sumIf(written, code_key < 0)) AS rows,
       toUInt64(sumIf(n, code_key >= 0)) AS failed,
       anyIf(q, code_key < 0) AS latency_ms,
       groupArrayIf((code_key, n, latest_exception, latest_query_id, latest_query, latest_time),
                    code_key >= 0) AS failures
FROM (
    SELECT target, code_key, toUInt64(count()) AS n, toUInt64(sum(written_rows)) AS written,
           quantiles(0.5, 0.95, 0.99)(query_duration_ms) AS q,
           argMax(exception, t) AS latest_exception, argMax(query_id, t) AS latest_query_id,
           substringUTF8(argMax(query, t), 1, {QUERY_TEXT_CHARS}) AS latest_query,
           toUInt32(max(event_time)) AS latest_time
    FROM (
        SELECT {target} AS target, toUInt8(type) AS type_n,
               if(type_n = 2, toInt32(-1), {code}) AS code_key,
               written_rows, query_duration_ms, exception, query_id, query, event_time, {order} AS t
        {window}
        WHERE type != 1 AND {is_insert}
    )
    WHERE (target != '' OR code_key >= 0){filter}
    GROUP BY target, code_key
)
GROUP BY target
ORDER BY failed DESC, inserts DESC, table
LIMIT 1000",
        target = d.target,
        code = d.exception_code,
        order = d.order_time,
        window = window(ctx.window_s),
        is_insert = d.is_insert,
    )
}

/// Failed-insert groups kept, newest first.
pub const FAILED_GROUPS: usize = 200;

/// The inserts section and the failed inserts section, from one query: both fail together
/// (`sections::split` parts them).
pub async fn inserts_and_failures(
    client: &ChClient,
    ctx: &Ctx,
) -> Section<(Vec<TableInserts>, Vec<FailedInserts>)> {
    if let Some(reason) = unavailable(ctx) {
        return Section::Unavailable { reason };
    }
    let d = Dialect::for_ctx(ctx);
    let (filter, filter_args) = ctx.filter.clause(FILTERED_TARGET);
    let stmt = ctx
        .stmt_for(
            &[SectionId::Inserts, SectionId::FailedInserts],
            inserts_sql(ctx, &d, &filter),
        )
        .args(d.target_args.clone())
        .args(filter_args);
    let window_s = ctx.window_s;
    section(fetch::<InsertRow>(client, &stmt).await).map(|rows| split_inserts(rows, window_s))
}

fn split_inserts(rows: Vec<InsertRow>, window_s: u64) -> (Vec<TableInserts>, Vec<FailedInserts>) {
    let per_s = |n: u64| n as f64 / window_s.max(1) as f64;
    let mut failed = Vec::new();
    let mut inserts = Vec::new();
    for mut r in rows {
        // 26.x quotes names that need it in query_log.tables; 18.16's come from the query text.
        r.table = unquote_qualified(&r.table);
        failed.extend(r.failures.into_iter().map(
            |(
                exception_code,
                failures,
                latest_exception,
                latest_query_id,
                latest_query,
                latest_time,
            )| {
                FailedInserts {
                    table: r.table.clone(),
                    exception_code,
                    failures,
                    latest_exception: latest_exception.0,
                    latest_query_id: latest_query_id.0,
                    latest_query: latest_query.0,
                    latest_time,
                }
            },
        ));
        if r.table.is_empty() {
            continue;
        }
        inserts.push(TableInserts {
            inserts_per_s: per_s(r.inserts),
            rows_per_s: per_s(r.rows),
            table: r.table,
            inserts: r.inserts,
            rows: r.rows,
            failed: r.failed,
            latency_ms: Quantiles::from_slice(&r.latency_ms),
        });
    }
    failed.sort_by(|a, b| {
        b.latest_time
            .cmp(&a.latest_time)
            .then(b.failures.cmp(&a.failures))
            .then_with(|| a.table.cmp(&b.table))
    });
    failed.truncate(FAILED_GROUPS);
    (inserts, failed)
}

#[derive(Debug, Row, Deserialize)]
struct FinishedRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    grp: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    kind: String,
    count: u64,
    latency_ms: Vec<f64>,
    max_ms: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    normalized_query: String,
}

/// Query patterns shown, slowest first.
pub const SLOW_QUERIES: u32 = 10;

/// Latency per kind and the slowest patterns from one scan of finished queries: each row is
/// counted twice through ARRAY JOIN, once in its kind's group (`k`, Insert and Select only) and
/// once in its pattern's (`p`). `quantiles(...)[2]` is the same estimate as `quantile(0.95)`.
pub fn finished_sql(ctx: &Ctx, d: &Dialect) -> String {
    format!(
        "SELECT grp, any(kind) AS kind, toUInt64(count()) AS count,
       quantiles(0.5, 0.95, 0.99)(query_duration_ms) AS latency_ms,
       toUInt64(max(query_duration_ms)) AS max_ms,
       if(grp = 'p', substringUTF8({normalized}, 1, 500), '') AS normalized_query
FROM (
    SELECT kind, query_duration_ms, query, tupleElement(g, 1) AS grp, tupleElement(g, 2) AS key
    FROM (
        SELECT {kind} AS kind, query_duration_ms, query, {hash} AS h
        {window}
        WHERE type = 2{not_own}
    )
    ARRAY JOIN arrayFilter(x -> tupleElement(x, 1) != '',
                           [(if(kind IN ('Insert', 'Select'), 'k', ''), kind),
                            ('p', toString(h))]) AS g
)
GROUP BY grp, key
ORDER BY grp, arrayElement(latency_ms, 2) DESC, count DESC
LIMIT {SLOW_QUERIES} BY grp",
        normalized = (d.normalize)("any(query)"),
        hash = d.pattern_hash,
        kind = d.kind,
        window = window(ctx.window_s),
        not_own = d.not_own,
    )
}

/// The latency section and the slow queries section, from one query: both fail together
/// (`sections::split` parts them).
pub async fn latency_and_slow(
    client: &ChClient,
    ctx: &Ctx,
) -> Section<(Vec<KindLatency>, Vec<SlowQuery>)> {
    if let Some(reason) = unavailable(ctx) {
        return Section::Unavailable { reason };
    }
    let d = Dialect::for_ctx(ctx);
    let stmt = ctx.stmt_for(
        &[SectionId::Latency, SectionId::SlowQueries],
        finished_sql(ctx, &d),
    );
    section(fetch::<FinishedRow>(client, &stmt).await).map(split_finished)
}

fn split_finished(rows: Vec<FinishedRow>) -> (Vec<KindLatency>, Vec<SlowQuery>) {
    let mut latency = Vec::new();
    let mut slow = Vec::new();
    for r in rows {
        if r.grp == "k" {
            latency.push(KindLatency {
                kind: r.kind,
                queries: r.count,
                latency_ms: Quantiles::from_slice(&r.latency_ms),
            });
        } else {
            slow.push(SlowQuery {
                normalized_query: r.normalized_query,
                kind: r.kind,
                count: r.count,
                p95_ms: r.latency_ms.get(1).copied().unwrap_or(f64::NAN),
                max_ms: r.max_ms,
            });
        }
    }
    latency.sort_by(|a, b| a.kind.cmp(&b.kind));
    (latency, slow)
}
