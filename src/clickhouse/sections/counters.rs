//! The server's counters, in one small query each poll: the insert counters and the Kafka
//! counters of `system.events` (cumulative since the server started; the model turns them into
//! growth and rates) and what the memory tracker counts now (`system.metrics`). Three sections'
//! moving figures for the price of one query; the memory limit they are set against changes
//! with the config only and is read on a cadence (`resources::memory_limit`).

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section, split};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::kafka_chain::{KAFKA_EVENTS, KafkaEvent};
use crate::clickhouse::snapshot::{InsertCounters, Section};

/// The counters of `system.events` behind the insert figures.
pub const INSERT_EVENTS: [&str; 5] = [
    "DelayedInserts",
    "RejectedInserts",
    "DelayedInsertsMilliseconds",
    "FailedInsertQuery",
    "InsertQuery",
];

/// One poll's counters. `system.events` leaves out counters still at zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub insert: InsertCounters,
    /// The Kafka counters present, in the server's order.
    pub kafka: Vec<KafkaEvent>,
    /// `MemoryTracking`; None when the server has no `system.metrics`.
    pub memory_tracked: Option<u64>,
}

#[derive(Debug, Row, Deserialize)]
struct CounterRow {
    /// `e` for system.events, `m` for system.metrics.
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    source: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
    value: u64,
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn counters_sql(ctx: &Ctx) -> String {
    // `event` is the column on every release (26.x adds `name` as an alias of it).
    let events = format!(
        "SELECT 'e' AS source, event AS name, toUInt64(value) AS value
FROM system.events
WHERE event IN ({}, {})
LIMIT 100",
        quoted(&INSERT_EVENTS),
        quoted(KAFKA_EVENTS)
    );
    if ctx.caps.missing(features::METRICS).is_some() {
        return events;
    }
    format!(
        "{events}
UNION ALL
SELECT 'm' AS source, metric AS name, toUInt64(greatest(value, 0)) AS value
FROM system.metrics
WHERE metric = 'MemoryTracking'
LIMIT 1"
    )
}

/// The insert counters, Kafka counters and tracked memory; they fail together.
pub async fn counters(client: &ChClient, ctx: &Ctx) -> Section<Counters> {
    if let Some(reason) = ctx.caps.missing(features::EVENTS) {
        return Section::Unavailable { reason };
    }
    let stmt = ctx.stmt_for(
        &[
            SectionId::InsertCounters,
            SectionId::KafkaEvents,
            SectionId::Memory,
        ],
        counters_sql(ctx),
    );
    section(fetch::<CounterRow>(client, &stmt).await).map(|rows| counters_of(ctx, rows))
}

fn counters_of(ctx: &Ctx, rows: Vec<CounterRow>) -> Counters {
    let mut c = Counters {
        // Read with the events when the server has system.metrics: absent means 0 then.
        memory_tracked: ctx.caps.missing(features::METRICS).is_none().then_some(0),
        ..Counters::default()
    };
    for r in rows {
        let i = &mut c.insert;
        match (r.source.as_str(), r.name.as_str()) {
            ("m", _) => c.memory_tracked = Some(r.value),
            (_, "DelayedInserts") => i.delayed_inserts = r.value,
            (_, "RejectedInserts") => i.rejected_inserts = r.value,
            (_, "DelayedInsertsMilliseconds") => i.delayed_inserts_ms = r.value,
            (_, "FailedInsertQuery") => i.failed_insert_queries = r.value,
            (_, "InsertQuery") => i.insert_queries = r.value,
            (_, name) if KAFKA_EVENTS.contains(&name) => c.kafka.push(KafkaEvent {
                name: r.name,
                value: r.value,
            }),
            _ => {}
        }
    }
    c
}

/// The three sections of one read.
pub fn split3(
    s: Section<Counters>,
) -> (
    Section<InsertCounters>,
    Section<Vec<KafkaEvent>>,
    Section<Option<u64>>,
) {
    let (insert, rest) = split(s.map(|c| (c.insert, (c.kafka, c.memory_tracked))));
    let (kafka, memory_tracked) = split(rest);
    (insert, kafka, memory_tracked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, name: &str, value: u64) -> CounterRow {
        CounterRow {
            source: source.into(),
            name: name.into(),
            value,
        }
    }

    #[test]
    fn one_bounded_query_reads_events_and_metrics_where_the_server_has_them() {
        let new = counters_sql(&Ctx::for_test("26.9", &[("metrics", "value")]));
        assert!(new.contains("'KafkaCommitFailures'") && new.contains("'InsertQuery'"));
        assert!(new.contains("UNION ALL") && new.contains("'MemoryTracking'"));
        assert_eq!(new.matches("LIMIT").count(), 2, "{new}");
    }

    #[test]
    fn rows_land_in_their_section() {
        let ctx = Ctx::for_test("26.9", &[("metrics", "value")]);
        let c = counters_of(
            &ctx,
            vec![
                row("e", "InsertQuery", 7),
                row("e", "RejectedInserts", 2),
                row("e", "KafkaCommitFailures", 3),
                row("e", "SelectQuery", 99),
                row("m", "MemoryTracking", 1 << 20),
            ],
        );
        assert_eq!((c.insert.insert_queries, c.insert.rejected_inserts), (7, 2));
        assert_eq!(c.kafka.len(), 1);
        assert_eq!(c.kafka[0].name, "KafkaCommitFailures");
        assert_eq!(c.memory_tracked, Some(1 << 20));
        let quiet = counters_of(&ctx, vec![]);
        assert_eq!(
            (quiet.insert, quiet.memory_tracked),
            (InsertCounters::default(), Some(0))
        );
    }
}
