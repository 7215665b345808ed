//! The pipeline's ClickHouse tables, as in the design.

pub const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS events (
        event_id UInt64,
        user_id UInt64,
        event_type LowCardinality(String),
        timestamp DateTime,
        payload String,
        ingested_at DateTime DEFAULT now()
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(timestamp)
    ORDER BY (timestamp, event_id)",
    "CREATE TABLE IF NOT EXISTS events_dedup (
        event_id UInt64,
        user_id UInt64,
        event_type LowCardinality(String),
        timestamp DateTime,
        payload String,
        _sign UInt8 DEFAULT 1
    ) ENGINE = ReplacingMergeTree(_sign)
    ORDER BY event_id",
];

/// Tables the sink writes every batch into.
pub const SINK_TABLES: &[&str] = &["events", "events_dedup"];

/// The ClickHouse Kafka table engine path, side by side with the sink: its own consumer group
/// and its own copy of the design's tables in database `kafka_engine`, so the two ingestion paths
/// never write the same rows twice. Every field arrives as a string and is cast in the views
/// (`toUInt64OrNull`, `toDateTimeOrNull`): rows that do not cast are dropped, broken JSON is skipped
/// and shows up in `system.kafka_consumers.exceptions`.
pub const KAFKA_ENGINE_DATABASE: &str = "CREATE DATABASE IF NOT EXISTS kafka_engine";

pub fn kafka_engine_tables(brokers: &str, topic: &str) -> Vec<String> {
    let targets = TABLES.iter().map(|sql| {
        sql.replace(
            "CREATE TABLE IF NOT EXISTS ",
            "CREATE TABLE IF NOT EXISTS kafka_engine.",
        )
    });
    let consumer = format!(
        "CREATE TABLE IF NOT EXISTS kafka_engine.events_kafka (
            event_id String, user_id String, event_type String, timestamp String, payload String
        ) ENGINE = Kafka
        SETTINGS kafka_broker_list = '{brokers}',
                 kafka_topic_list = '{topic}',
                 kafka_group_name = 'clickhouse_kafka_engine',
                 kafka_format = 'JSONEachRow',
                 kafka_skip_broken_messages = 1000"
    );
    let view = |name: &str, target: &str| {
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS kafka_engine.{name} TO kafka_engine.{target} AS
            SELECT assumeNotNull(id) AS event_id, assumeNotNull(uid) AS user_id, event_type,
                   assumeNotNull(ts) AS timestamp, payload
            FROM (SELECT toUInt64OrNull(event_id) AS id, toUInt64OrNull(user_id) AS uid,
                         toDateTimeOrNull(timestamp) AS ts, event_type, payload
                  FROM kafka_engine.events_kafka)
            WHERE id IS NOT NULL AND uid IS NOT NULL AND ts IS NOT NULL"
        )
    };
    targets
        .chain([
            consumer,
            view("events_mv", "events"),
            view("events_dedup_mv", "events_dedup"),
        ])
        .collect()
}
