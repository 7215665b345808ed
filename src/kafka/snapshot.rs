//! What one Kafka poll saw, as plain immutable data. The model derives everything else from it.

use serde::Serialize;

use super::admin::{GroupState, Node, TopicPartition};

#[derive(Debug, Clone, Serialize)]
pub struct KafkaSnapshot {
    pub taken_at_ms: i64,
    /// Wall time of the whole poll.
    pub poll_ms: u64,
    /// Admin requests this poll issued (ListOffsets counts once per call: librdkafka splits it per
    /// leader broker itself).
    pub requests: u32,
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Vec<Node>,
    pub topics: Vec<Topic>,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<Partition>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Partition {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Oldest offset still on disk (log start). None when the broker did not answer for it.
    pub start_offset: Option<i64>,
    /// Log-end offset (high watermark, read_uncommitted, as kafka-consumer-groups uses).
    pub end_offset: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub partition_assignor: String,
    pub coordinator: Option<i32>,
    pub members: Vec<Member>,
    /// Every partition the group has committed, assigned or not: lag hides in the unassigned ones.
    pub committed: Vec<Committed>,
    /// Describing or fetching offsets for this group failed; the rest of the snapshot is fine.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub consumer_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Committed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl KafkaSnapshot {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        self.topic(topic)?
            .partitions
            .iter()
            .find(|p| p.partition == partition)
    }
}
