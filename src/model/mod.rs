//! The pure model: everything the screen and `snapshot --json` show is derived here from collector
//! snapshots, with no I/O, so it can be tested without Kafka or ClickHouse.
//!
//! `sources` keeps what the collectors published (last good snapshot, its age, the latest error);
//! `kafka` and `clickhouse` are derived from those snapshots and keep their own bounded history.

pub mod clickhouse;
pub mod kafka;
pub mod lag;

use serde::Serialize;

use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub sources: Sources,
    pub kafka: kafka::KafkaModel,
    pub clickhouse: clickhouse::ClickHouseModel,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sources {
    pub kafka: SourceStatus<KafkaSnapshot>,
    pub clickhouse: SourceStatus<ClickHouseSnapshot>,
}

impl Model {
    pub fn ingest_kafka(&mut self, status: SourceStatus<KafkaSnapshot>) {
        if let Some(snapshot) = &status.last_good
            && self.sources.kafka.last_good_at != status.last_good_at
        {
            self.kafka.update(snapshot);
        }
        self.sources.kafka = status;
    }

    pub fn ingest_clickhouse(&mut self, status: SourceStatus<ClickHouseSnapshot>) {
        if let Some(snapshot) = &status.last_good
            && self.sources.clickhouse.last_good_at != status.last_good_at
        {
            self.clickhouse.update(snapshot);
        }
        self.sources.clickhouse = status;
    }
}
