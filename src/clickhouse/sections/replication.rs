//! Replication: each replicated table's replica on this host (system.replicas), its replication
//! queue per table (system.replication_queue), and the host's ZooKeeper/Keeper session
//! (system.zookeeper_connection, or a bounded read of system.zookeeper where that is missing).

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::{ChClient, ChError};
use crate::clickhouse::replication::{
    KeeperSession, QueueEntry, Replica, ReplicationQueue, STUCK_AGE_S, STUCK_TRIES,
};
use crate::clickhouse::snapshot::Section;

/// Replicas (tables) listed per host.
pub const REPLICAS: u32 = 1000;
/// Tables whose queue is listed per host, the most stuck first.
pub const QUEUES: u32 = 200;

#[derive(Debug, Row, Deserialize)]
struct ReplicaRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    replica_name: String,
    is_readonly: u8,
    is_session_expired: u8,
    absolute_delay: u64,
    queue_size: u64,
    inserts_in_queue: u64,
    merges_in_queue: u64,
    log_gap: u64,
    total_replicas: u64,
    active_replicas: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_opt")]
    zookeeper_exception: Option<String>,
}

pub fn replicas_sql(ctx: &Ctx, filter: &str) -> String {
    let exception = if ctx.caps.has_column("replicas", "zookeeper_exception") {
        "if(zookeeper_exception = '', CAST(NULL AS Nullable(String)), \
         toNullable(substringUTF8(zookeeper_exception, 1, 2000)))"
    } else {
        "CAST(NULL AS Nullable(String))"
    };
    format!(
        "SELECT database, table, replica_name,
       toUInt8(is_readonly) AS is_readonly, toUInt8(is_session_expired) AS is_session_expired,
       toUInt64(absolute_delay) AS absolute_delay, toUInt64(queue_size) AS queue_size,
       toUInt64(inserts_in_queue) AS inserts_in_queue, toUInt64(merges_in_queue) AS merges_in_queue,
       toUInt64(greatest(toInt64(log_max_index) - toInt64(log_pointer), 0)) AS log_gap,
       toUInt64(total_replicas) AS total_replicas, toUInt64(active_replicas) AS active_replicas,
       {exception} AS zookeeper_exception
FROM system.replicas
WHERE 1{filter}
ORDER BY database, table
LIMIT {REPLICAS}"
    )
}

pub async fn replicas(client: &ChClient, ctx: &Ctx) -> Section<Vec<Replica>> {
    if let Some(reason) = ctx.caps.missing(features::REPLICAS) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::Replicas, replicas_sql(ctx, &filter))
        .args(args);
    section(fetch::<ReplicaRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| Replica {
                database: r.database,
                table: r.table,
                replica_name: r.replica_name,
                is_readonly: r.is_readonly != 0,
                is_session_expired: r.is_session_expired != 0,
                absolute_delay_s: r.absolute_delay,
                queue_size: r.queue_size,
                inserts_in_queue: r.inserts_in_queue,
                merges_in_queue: r.merges_in_queue,
                log_gap: r.log_gap,
                total_replicas: r.total_replicas,
                active_replicas: r.active_replicas,
                zookeeper_exception: r.zookeeper_exception,
            })
            .collect()
    })
}

#[derive(Debug, Row, Deserialize)]
struct QueueRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    entries: u64,
    oldest_age_s: u64,
    retried: u64,
    stuck: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    kind: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    new_part_name: String,
    max_tries: u64,
    age_s: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    last_exception: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_opt")]
    postpone_reason: Option<String>,
}

pub fn queue_sql(ctx: &Ctx, filter: &str) -> String {
    let postpone = if ctx.caps.has_column("replication_queue", "postpone_reason") {
        "toNullable(substringUTF8(argMax(postpone_reason, num_tries), 1, 2000))"
    } else {
        "CAST(NULL AS Nullable(String))"
    };
    // Ages on the server's clock, as whole seconds (DateTime arithmetic differs across versions).
    let age = "greatest(toInt64(now()) - toInt64(create_time), 0)";
    format!(
        "SELECT database, table, toUInt64(count()) AS entries,
       toUInt64(max({age})) AS oldest_age_s,
       toUInt64(countIf(num_tries > 1)) AS retried,
       toUInt64(countIf(num_tries > {STUCK_TRIES} OR {age} > {STUCK_AGE_S})) AS stuck,
       toString(argMax(type, num_tries)) AS kind, argMax(new_part_name, num_tries) AS new_part_name,
       toUInt64(max(num_tries)) AS max_tries, toUInt64(argMax({age}, num_tries)) AS age_s,
       substringUTF8(argMax(last_exception, num_tries), 1, 2000) AS last_exception,
       {postpone} AS postpone_reason
FROM system.replication_queue
WHERE 1{filter}
GROUP BY database, table
ORDER BY stuck DESC, max_tries DESC, oldest_age_s DESC, database, table
LIMIT {QUEUES}"
    )
}

pub async fn queue(client: &ChClient, ctx: &Ctx) -> Section<Vec<ReplicationQueue>> {
    if let Some(reason) = ctx.caps.missing(features::REPLICATION_QUEUE) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::ReplicationQueue, queue_sql(ctx, &filter))
        .args(args);
    section(fetch::<QueueRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| ReplicationQueue {
                database: r.database,
                table: r.table,
                entries: r.entries,
                oldest_age_s: r.oldest_age_s,
                retried: r.retried,
                stuck: r.stuck,
                worst: QueueEntry {
                    kind: r.kind,
                    new_part_name: r.new_part_name,
                    num_tries: r.max_tries,
                    age_s: r.age_s,
                    last_exception: r.last_exception,
                    postpone_reason: r.postpone_reason.filter(|p| !p.is_empty()),
                },
            })
            .collect()
    })
}

#[derive(Debug, Row, Deserialize)]
struct ConnectionRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    host: String,
    port: u16,
    is_expired: u8,
}

#[derive(Debug, Row, Deserialize)]
struct ProbeRow {
    #[allow(dead_code)]
    nodes: u64,
}

pub const CONNECTION_SQL: &str =
    "SELECT host, toUInt16(port) AS port, toUInt8(is_expired) AS is_expired
FROM system.zookeeper_connection
ORDER BY is_expired DESC, host
LIMIT 10";

/// Reading the root's children goes through the session: an answer proves it, an error is why
/// not. Bounded: one path, a handful of rows.
pub const PROBE_SQL: &str = "SELECT toUInt64(count()) AS nodes FROM (SELECT name FROM system.zookeeper WHERE path = '/' LIMIT 1000)";

/// Why there is no Keeper section on a server that has neither table.
pub const NOT_CONFIGURED: &str = "no ZooKeeper/Keeper configured on this server (neither system.zookeeper_connection nor system.zookeeper exists)";

pub async fn keeper(client: &ChClient, ctx: &Ctx) -> Section<KeeperSession> {
    if ctx.caps.has_column("zookeeper_connection", "is_expired") {
        let stmt = ctx.stmt(SectionId::Keeper, CONNECTION_SQL);
        return section(fetch::<ConnectionRow>(client, &stmt).await).and_then(|rows| {
            match rows.iter().find(|r| r.is_expired == 0) {
                Some(r) => Section::Ok {
                    data: KeeperSession {
                        source: "system.zookeeper_connection".into(),
                        connected: true,
                        address: Some(format!("{}:{}", r.host, r.port)),
                        error: None,
                    },
                },
                None if rows.is_empty() => Section::Unavailable {
                    reason: "no ZooKeeper/Keeper connection in system.zookeeper_connection (none configured)".into(),
                },
                None => Section::Ok {
                    data: KeeperSession {
                        source: "system.zookeeper_connection".into(),
                        connected: false,
                        address: rows.first().map(|r| format!("{}:{}", r.host, r.port)),
                        error: Some("session expired".into()),
                    },
                },
            }
        });
    }
    if !ctx.caps.has_table("zookeeper") {
        return Section::Unavailable {
            reason: NOT_CONFIGURED.into(),
        };
    }
    let stmt = ctx.stmt(SectionId::Keeper, PROBE_SQL);
    let probe = |connected: bool, error: Option<String>| Section::Ok {
        data: KeeperSession {
            source: "system.zookeeper".into(),
            connected,
            address: None,
            error,
        },
    };
    match fetch::<ProbeRow>(client, &stmt).await {
        Ok(_) => probe(true, None),
        // The server answered with the session's error, or could not answer in time because it
        // waited on ZooKeeper: either way the session is not there.
        Err(e @ (ChError::Server { .. } | ChError::Timeout(_))) => {
            probe(false, Some(e.to_string()))
        }
        Err(e) => Section::Failed {
            error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(version: &str, cols: &[(&str, &str)]) -> Ctx {
        Ctx::for_test(version, cols)
    }

    #[test]
    fn zookeeper_exception_is_read_only_where_the_column_exists() {
        let old = replicas_sql(&ctx("18.16", &[("replicas", "is_readonly")]), "");
        assert!(!old.contains("zookeeper_exception,"), "{old}");
        assert!(
            old.contains("CAST(NULL AS Nullable(String)) AS zookeeper_exception"),
            "{old}"
        );
        let new = replicas_sql(
            &ctx("20.3", &[("replicas", "zookeeper_exception")]),
            " AND x",
        );
        assert!(new.contains("substringUTF8(zookeeper_exception"), "{new}");
        assert!(
            new.contains("WHERE 1 AND x") && new.contains("LIMIT 1000"),
            "{new}"
        );
    }

    #[test]
    fn queue_query_is_bounded_and_names_the_stuck_limits() {
        let sql = queue_sql(
            &ctx("18.16", &[("replication_queue", "postpone_reason")]),
            "",
        );
        assert!(sql.contains("num_tries > 100"), "{sql}");
        assert!(sql.contains("> 600"), "{sql}");
        assert!(sql.contains("argMax(postpone_reason"), "{sql}");
        assert!(sql.contains(&format!("LIMIT {QUEUES}")), "{sql}");
        let without = queue_sql(&ctx("18.16", &[("replication_queue", "num_tries")]), "");
        assert!(!without.contains("postpone_reason,"), "{without}");
    }
}
