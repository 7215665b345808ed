//! The Kafka-engine chain: each Kafka engine table with the materialized views that read it and
//! their targets (system.tables' dependency columns), each view's pushes and failures in the window
//! (system.query_views_log, 21.9+, where the server config enables it). The server's Kafka
//! counters come with the other counters (`counters`).

use std::collections::BTreeMap;

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::identifier::unquote_qualified;
use crate::clickhouse::kafka_chain::{
    ChainView, KafkaTableChain, ViewRuns, kafka_settings, view_target,
};
use crate::clickhouse::snapshot::Section;

/// Rows read from system.tables: Kafka tables and the views reading them.
pub const CHAIN_ROWS: u32 = 2000;
/// Views listed per host, the most failing first.
pub const VIEWS: u32 = 500;

#[derive(Debug, Row, Deserialize)]
struct TableRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    engine: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_vec")]
    dep_databases: Vec<String>,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_vec")]
    dep_tables: Vec<String>,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    ddl: String,
}

/// The Kafka tables the filter lets through, and every materialized view one of them names as its
/// dependant, in one pass; a Kafka table's settings come from `engine_full` (short, its settings
/// last), a view's target from its `create_table_query` (`TO` comes before the columns).
pub fn chains_sql(filter: &str) -> String {
    format!(
        "SELECT database, name, engine, dependencies_database AS dep_databases,
       dependencies_table AS dep_tables,
       substring(if(engine = 'Kafka', engine_full, create_table_query), 1, 4000) AS ddl
FROM system.tables
WHERE (engine = 'Kafka'{filter})
   OR (engine = 'MaterializedView' AND concat(database, '.', name) IN (
       SELECT arrayJoin(arrayMap((d, t) -> concat(d, '.', t), dependencies_database, dependencies_table))
       FROM system.tables WHERE engine = 'Kafka'{filter}))
ORDER BY database, name
LIMIT {CHAIN_ROWS}"
    )
}

pub async fn chains(client: &ChClient, ctx: &Ctx) -> Section<Vec<KafkaTableChain>> {
    if let Some(reason) = ctx.caps.missing(features::TABLE_DEPENDENCIES) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', name)");
    // The filter appears twice: once for the Kafka tables, once in the views' subquery.
    let stmt = ctx
        .stmt(SectionId::KafkaChains, chains_sql(&filter))
        .args(args.clone())
        .args(args);
    section(fetch::<TableRow>(client, &stmt).await).map(assemble)
}

fn assemble(rows: Vec<TableRow>) -> Vec<KafkaTableChain> {
    let targets: BTreeMap<(String, String), Option<String>> = rows
        .iter()
        .filter(|r| r.engine == "MaterializedView")
        .map(|r| ((r.database.clone(), r.name.clone()), view_target(&r.ddl)))
        .collect();
    rows.into_iter()
        .filter(|r| r.engine == "Kafka")
        .map(|r| {
            let (topics, group) = kafka_settings(&r.ddl);
            let views = r
                .dep_databases
                .iter()
                .zip(&r.dep_tables)
                .map(|(d, t)| ChainView {
                    database: d.clone(),
                    name: t.clone(),
                    target: targets.get(&(d.clone(), t.clone())).cloned().flatten(),
                })
                .collect();
            KafkaTableChain {
                database: r.database,
                table: r.name,
                topics,
                group,
                views,
            }
        })
        .collect()
}

#[derive(Debug, Row, Deserialize)]
struct ViewRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    view: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    target: String,
    runs: u64,
    failures: u64,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    last_exception: String,
    last_failure: u32,
}

pub fn views_sql(window_s: u64) -> String {
    format!(
        "SELECT view_name AS view, any(view_target) AS target, toUInt64(count()) AS runs,
       toUInt64(countIf(exception_code != 0)) AS failures,
       substringUTF8(argMaxIf(exception, event_time_microseconds, exception_code != 0), 1, 2000) AS last_exception,
       toUInt32(maxIf(event_time, exception_code != 0)) AS last_failure
FROM system.query_views_log
PREWHERE event_date >= toDate(now() - {window_s}) AND event_time >= now() - {window_s}
WHERE view_type = 'Materialized' AND status != 'QueryStart'
GROUP BY view_name
ORDER BY failures DESC, view_name
LIMIT {VIEWS}"
    )
}

pub async fn views(client: &ChClient, ctx: &Ctx) -> Section<Vec<ViewRuns>> {
    if let Some(reason) = ctx.caps.missing(features::QUERY_VIEWS_LOG) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx.stmt(SectionId::ViewRuns, views_sql(ctx.window_s));
    section(fetch::<ViewRow>(client, &stmt).await).map(|rows| {
        rows.into_iter()
            .map(|r| ViewRuns {
                // The log may quote a name that needs it (`` `d b`.`v` ``); the chains hold the
                // bare names.
                view: unquote_qualified(&r.view),
                target: unquote_qualified(&r.target),
                runs: r.runs,
                failures: r.failures,
                last_exception: r.last_exception,
                last_failure_time: (r.failures > 0 && r.last_failure > 0).then_some(r.last_failure),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(database: &str, name: &str, engine: &str, deps: &[(&str, &str)], ddl: &str) -> TableRow {
        TableRow {
            database: database.into(),
            name: name.into(),
            engine: engine.into(),
            dep_databases: deps.iter().map(|d| d.0.to_string()).collect(),
            dep_tables: deps.iter().map(|d| d.1.to_string()).collect(),
            ddl: ddl.into(),
        }
    }

    #[test]
    fn a_kafka_table_gets_its_views_and_their_targets() {
        let chains = assemble(vec![
            row(
                "k",
                "events_kafka",
                "Kafka",
                &[("k", "mv"), ("k", "gone")],
                "Kafka SETTINGS kafka_broker_list = 'b', kafka_topic_list = 'events', kafka_group_name = 'g'",
            ),
            row(
                "k",
                "mv",
                "MaterializedView",
                &[],
                "CREATE MATERIALIZED VIEW k.mv TO k.events (`a` UInt8) AS SELECT a FROM k.events_kafka",
            ),
        ]);
        assert_eq!(chains.len(), 1);
        let c = &chains[0];
        assert_eq!(
            (c.database.as_str(), c.table.as_str()),
            ("k", "events_kafka")
        );
        assert_eq!(c.topics, ["events"]);
        assert_eq!(c.group.as_deref(), Some("g"));
        assert_eq!(c.views.len(), 2);
        assert_eq!(c.views[0].target.as_deref(), Some("k.events"));
        // A dependant the query did not return (dropped meanwhile, or past the limit).
        assert_eq!(c.views[1].target, None);
    }

    #[test]
    fn every_query_is_bounded() {
        for sql in [chains_sql(""), views_sql(300)] {
            assert!(sql.contains("LIMIT"), "{sql}");
        }
        assert!(views_sql(300).contains("now() - 300"));
    }
}
