//! The pure model: everything the screen and `snapshot --json` show is derived here from collector
//! snapshots, with no I/O, so it can be tested without Kafka or ClickHouse.

pub mod lag;

use std::time::SystemTime;

use serde::Serialize;

use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;
use lag::GroupLag;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub kafka: SourceStatus<KafkaSnapshot>,
    pub clickhouse: SourceStatus<ClickHouseSnapshot>,
    /// Consumer groups, worst (largest total lag) first.
    pub groups: Vec<GroupLag>,
}

impl Model {
    pub fn ingest_kafka(&mut self, status: SourceStatus<KafkaSnapshot>) {
        if let Some(snapshot) = &status.last_good {
            let fresh = self.kafka.last_good_at != status.last_good_at;
            if fresh {
                self.groups = lag::group_lags(snapshot);
                self.groups.sort_by(|a, b| {
                    b.total_lag
                        .cmp(&a.total_lag)
                        .then_with(|| a.group_id.cmp(&b.group_id))
                });
            }
        }
        self.kafka = status;
    }

    pub fn ingest_clickhouse(&mut self, status: SourceStatus<ClickHouseSnapshot>) {
        self.clickhouse = status;
    }

    /// The age of each source's last good data, for the header.
    pub fn ages(
        &self,
        now: SystemTime,
    ) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
        (self.kafka.age(now), self.clickhouse.age(now))
    }
}
