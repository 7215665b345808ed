//! `pipetop snapshot --json`: one poll of every source, derived through the model, as JSON.

use std::time::SystemTime;

use serde::Serialize;

use crate::clickhouse::collector::ClickHouseCollector;
use crate::config::Config;
use crate::kafka::collector::KafkaCollector;
use crate::model::Model;
use crate::source::{Collector, SourceStatus};

/// Bumped when a field is renamed or removed; additions keep the version.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct SnapshotReport<'a> {
    pub schema_version: u32,
    pub context: &'a str,
    pub model: &'a Model,
}

/// Polls every source once, concurrently. The model is returned even when a source failed, so
/// the caller can print what is known and still exit non-zero.
pub async fn poll_once(config: &Config) -> anyhow::Result<Model> {
    let mut kafka = KafkaCollector::new(&config.kafka)
        .map_err(|e| anyhow::anyhow!("kafka client configuration: {e}"))?;
    let mut clickhouse = ClickHouseCollector::new(&config.clickhouse);
    let (kafka_result, ch_result) = tokio::join!(kafka.poll(), clickhouse.poll());
    let now = SystemTime::now();
    let mut model = Model::new(config);
    let mut kafka_status = SourceStatus::default();
    kafka_status.record(kafka_result, now);
    let mut ch_status = SourceStatus::default();
    ch_status.record(ch_result, now);
    model.ingest_kafka(kafka_status);
    model.ingest_clickhouse(ch_status);
    Ok(model)
}

/// Like [`poll_once`], but polls Kafka every `config.refresh` for `window` (ClickHouse once, at
/// the end), so time lag, rates and status have history to work from.
pub async fn poll_window(config: &Config, window: std::time::Duration) -> anyhow::Result<Model> {
    if window.is_zero() {
        return poll_once(config).await;
    }
    let mut kafka = KafkaCollector::new(&config.kafka)
        .map_err(|e| anyhow::anyhow!("kafka client configuration: {e}"))?;
    let mut model = Model::new(config);
    let mut kafka_status = SourceStatus::default();
    let started = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval(config.refresh);
    loop {
        ticker.tick().await;
        let result = kafka.poll().await;
        kafka_status.record(result, SystemTime::now());
        model.ingest_kafka(kafka_status.clone());
        if started.elapsed() >= window {
            break;
        }
    }
    let mut clickhouse = ClickHouseCollector::new(&config.clickhouse);
    let mut ch_status = SourceStatus::default();
    ch_status.record(clickhouse.poll().await, SystemTime::now());
    model.ingest_clickhouse(ch_status);
    Ok(model)
}

/// Sources that could not be reached, as "kafka: <why>" lines.
pub fn failures(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &model.sources.kafka.error {
        out.push(format!("kafka: {}", e.message));
    }
    if let Some(e) = &model.sources.clickhouse.error {
        out.push(format!("clickhouse: {}", e.message));
    }
    out
}
