//! Async inserts the server accepted and then lost: `system.asynchronous_insert_log` (22.10+,
//! where the server config enables it) over the window, the entries whose data failed to parse or
//! to flush, per table, status and exception code. With `wait_for_async_insert = 0` the client was
//! told "Ok", so these failures appear nowhere else: query_log has the accepted INSERT, and (from
//! 23.6) the flush as an `AsyncInsertFlush` query, not as a failed insert into the table.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::snapshot::{AsyncInsertFailures, Section};

/// Groups (table, status, code) kept, newest first.
pub const GROUPS: usize = 200;

#[derive(Debug, Row, Deserialize)]
struct FailureRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    target: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    status_name: String,
    exception_code: i32,
    failures: u64,
    lost_bytes: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    latest_exception: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    latest_query_id: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    latest_query: String,
    latest_time: u32,
}

/// `filter` is the table filter's clause on `concat(database, '.', table)`.
pub fn failures_sql(window_s: u64, filter: &str) -> String {
    format!(
        "SELECT concat(database, '.', table) AS target, toString(status) AS status_name,
       toInt32(toInt32OrZero(extract(exception, 'Code: ([0-9]+)'))) AS exception_code,
       toUInt64(count()) AS failures, toUInt64(sum(bytes)) AS lost_bytes,
       substringUTF8(argMax(exception, event_time_microseconds), 1, 2000) AS latest_exception,
       argMax(query_id, event_time_microseconds) AS latest_query_id,
       substringUTF8(argMax(query, event_time_microseconds), 1, 4096) AS latest_query,
       toUInt32(max(event_time)) AS latest_time
FROM system.asynchronous_insert_log
PREWHERE event_date >= toDate(now() - {window_s}) AND event_time >= now() - {window_s}
WHERE status != 'Ok'{filter}
GROUP BY target, status_name, exception_code
ORDER BY latest_time DESC, target, status_name, exception_code
LIMIT {GROUPS}"
    )
}

pub async fn failures(client: &ChClient, ctx: &Ctx) -> Section<Vec<AsyncInsertFailures>> {
    if let Some(reason) = ctx.caps.missing(features::ASYNC_INSERT_LOG) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::AsyncInserts, failures_sql(ctx.window_s, &filter))
        .args(args);
    section(fetch::<FailureRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| AsyncInsertFailures {
                table: r.target,
                status: r.status_name,
                exception_code: r.exception_code,
                failures: r.failures,
                bytes: r.lost_bytes,
                latest_exception: r.latest_exception,
                latest_query_id: r.latest_query_id,
                latest_query: r.latest_query,
                latest_time: r.latest_time,
            })
            .collect()
    })
}
