//! Server errors from system.errors: which exceptions the server raised lately, however they were
//! raised (queries, merges, the Kafka engine, replication), with the latest message.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::snapshot::{Section, ServerError};

#[derive(Debug, Row, Deserialize)]
struct ErrorRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    code: i32,
    count: u64,
    last_time: Option<u32>,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_opt")]
    last_message: Option<String>,
}

/// Error counters shown, newest first.
pub const ERRORS: u32 = 100;

pub fn errors_sql(ctx: &Ctx) -> String {
    let has = |c: &str| ctx.caps.has_column("errors", c);
    if has("last_error_time") && has("last_error_message") {
        // Counters live for the server's lifetime: only those raised inside the window are news.
        format!(
            "SELECT name, toInt32(code) AS code, toUInt64(value) AS count,
       toNullable(toUInt32(last_error_time)) AS last_time,
       toNullable(substringUTF8(last_error_message, 1, 2000)) AS last_message
FROM system.errors
WHERE last_error_time >= now() - {window}
ORDER BY last_error_time DESC, value DESC, name
LIMIT {ERRORS}",
            window = ctx.window_s
        )
    } else {
        // No time column: nothing tells recent from old, so every counter that ever moved.
        format!(
            "SELECT name, toInt32(code) AS code, toUInt64(value) AS count,
       CAST(NULL AS Nullable(UInt32)) AS last_time, CAST(NULL AS Nullable(String)) AS last_message
FROM system.errors
WHERE value > 0
ORDER BY value DESC, name
LIMIT {ERRORS}"
        )
    }
}

pub async fn errors(client: &ChClient, ctx: &Ctx) -> Section<Vec<ServerError>> {
    if let Some(reason) = ctx.caps.missing(features::ERRORS) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx.stmt(SectionId::Errors, errors_sql(ctx));
    section(fetch::<ErrorRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| ServerError {
                name: r.name,
                code: r.code,
                count: r.count,
                last_time: r.last_time,
                last_message: r.last_message,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose `system.errors` has `columns`.
    fn ctx(version: &str, columns: &[&str]) -> Ctx {
        let pairs: Vec<(&str, &str)> = columns.iter().map(|c| ("errors", *c)).collect();
        Ctx::for_test(version, &pairs)
    }

    #[test]
    fn window_applies_only_where_the_time_column_exists() {
        let new = errors_sql(&ctx(
            "21.4",
            &[
                "name",
                "code",
                "value",
                "last_error_time",
                "last_error_message",
            ],
        ));
        assert!(new.contains("last_error_time >= now() - 300"), "{new}");
        assert!(new.contains("ORDER BY last_error_time DESC"), "{new}");
        let old = errors_sql(&ctx("20.11", &["name", "code", "value"]));
        assert!(!old.contains("last_error"), "{old}");
        assert!(old.contains("WHERE value > 0"), "{old}");
    }

    #[test]
    fn servers_without_the_table_say_which_version_has_it() {
        let c = ctx("18.16", &[]);
        assert_eq!(
            c.caps.missing(features::ERRORS).as_deref(),
            Some("system.errors: not available on ClickHouse 18.16 (needs ≥ 20.11)")
        );
    }
}
