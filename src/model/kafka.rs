//! The Kafka half of the model: consumer groups with their lag, derived snapshot by snapshot.

use serde::Serialize;

use super::lag::{GroupLag, group_lags};
use crate::kafka::snapshot::KafkaSnapshot;

#[derive(Debug, Clone, Default, Serialize)]
pub struct KafkaModel {
    /// Consumer groups, worst (largest total lag) first.
    pub groups: Vec<GroupLag>,
}

impl KafkaModel {
    pub fn update(&mut self, snapshot: &KafkaSnapshot) {
        self.groups = group_lags(snapshot);
        self.groups.sort_by(|a, b| {
            b.total_lag
                .cmp(&a.total_lag)
                .then_with(|| a.group_id.cmp(&b.group_id))
        });
    }
}
