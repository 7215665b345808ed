//! The Kafka table engine's consumers (system.kafka_consumers, ClickHouse 23.8+).

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::capabilities::features;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::snapshot::{KafkaAssignment, KafkaConsumer, KafkaException, Section};

#[derive(Debug, Row, Deserialize)]
struct ConsumerRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    consumer_id: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_vec")]
    topics: Vec<String>,
    partitions: Vec<i32>,
    offsets: Vec<i64>,
    exception_times: Vec<u32>,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy_vec")]
    exception_texts: Vec<String>,
    last_poll: u32,
    num_messages_read: u64,
    last_commit: u32,
    num_commits: u64,
    num_rebalance_assignments: u64,
    num_rebalance_revocations: u64,
    is_currently_used: u8,
    now: u32,
}

/// Exceptions kept per consumer: the newest explain the current state.
const EXCEPTIONS: usize = 3;

pub fn consumers_sql(filter: &str) -> String {
    format!(
        "SELECT database, table, consumer_id,
       assignments.topic AS topics, assignments.partition_id AS partitions,
       assignments.current_offset AS offsets,
       arrayMap(t -> toUInt32(t), exceptions.time) AS exception_times,
       arrayMap(t -> substring(t, 1, 2000), exceptions.text) AS exception_texts,
       toUInt32(last_poll_time) AS last_poll, num_messages_read,
       toUInt32(last_commit_time) AS last_commit, num_commits,
       num_rebalance_assignments, num_rebalance_revocations,
       toUInt8(is_currently_used) AS is_currently_used, toUInt32(now()) AS now
FROM system.kafka_consumers
WHERE 1{filter}
ORDER BY database, table, consumer_id
LIMIT 1000"
    )
}

pub async fn consumers(client: &ChClient, ctx: &Ctx) -> Section<Vec<KafkaConsumer>> {
    if let Some(reason) = ctx.caps.missing(features::KAFKA_CONSUMERS) {
        return Section::Unavailable { reason };
    }
    let (filter, args) = ctx.filter.clause("concat(database, '.', table)");
    let stmt = ctx
        .stmt(SectionId::KafkaConsumers, consumers_sql(&filter))
        .args(args);
    section(fetch::<ConsumerRow>(client, &stmt).await)
        .map(|rows| rows.into_iter().map(consumer).collect())
}

fn consumer(r: ConsumerRow) -> KafkaConsumer {
    // Ages on the server's clock; a zero time means "never".
    let age = |t: u32| (t > 0).then(|| u64::from(r.now.saturating_sub(t)));
    let assignments = r
        .topics
        .iter()
        .zip(&r.partitions)
        .zip(&r.offsets)
        .map(|((topic, partition), offset)| KafkaAssignment {
            topic: topic.clone(),
            partition: *partition,
            current_offset: *offset,
        })
        .collect();
    let mut latest_exceptions: Vec<KafkaException> = r
        .exception_times
        .iter()
        .zip(&r.exception_texts)
        .map(|(time, text)| KafkaException {
            time: *time,
            text: text.clone(),
        })
        .collect();
    latest_exceptions.sort_by_key(|e| std::cmp::Reverse(e.time));
    latest_exceptions.truncate(EXCEPTIONS);
    KafkaConsumer {
        last_poll_age_s: age(r.last_poll),
        last_commit_age_s: age(r.last_commit),
        database: r.database,
        table: r.table,
        consumer_id: r.consumer_id,
        assignments,
        num_messages_read: r.num_messages_read,
        num_commits: r.num_commits,
        num_rebalance_assignments: r.num_rebalance_assignments,
        num_rebalance_revocations: r.num_rebalance_revocations,
        is_currently_used: r.is_currently_used != 0,
        latest_exceptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_on_the_server_clock_and_exceptions_newest_first() {
        let c = consumer(ConsumerRow {
            database: "k".into(),
            table: "t".into(),
            consumer_id: "c1".into(),
            topics: vec!["events".into(), "events".into()],
            partitions: vec![0, 1],
            offsets: vec![10, -1001],
            exception_times: vec![100, 300, 200, 50],
            exception_texts: vec!["a".into(), "c".into(), "b".into(), "old".into()],
            last_poll: 990,
            num_messages_read: 5,
            last_commit: 0,
            num_commits: 0,
            num_rebalance_assignments: 1,
            num_rebalance_revocations: 0,
            is_currently_used: 1,
            now: 1000,
        });
        assert_eq!(c.last_poll_age_s, Some(10));
        assert_eq!(c.last_commit_age_s, None);
        assert_eq!(c.assignments.len(), 2);
        assert_eq!(c.assignments[1].current_offset, -1001);
        let texts: Vec<&str> = c
            .latest_exceptions
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, ["c", "b", "a"]);
    }
}
