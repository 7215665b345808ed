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
