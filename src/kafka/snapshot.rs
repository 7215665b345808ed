//! What one Kafka poll saw, as plain immutable data. The model derives everything else from it.

use serde::{Deserialize, Serialize};

pub use super::commits::{Commit, CommitRef, Commits, Committed};

use super::produce_time::ProduceTimeStats;
use super::types::{BrokerIds, GroupState, Node};

/// `Default` is the snapshot of an empty cluster, polled at the epoch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaSnapshot {
    pub taken_at_ms: i64,
    /// Wall time of the whole poll.
    pub poll_ms: u64,
    /// Kafka requests this poll sent, counted per broker as librdkafka sends them: ListOffsets is
    /// one request per batch of up to 500 partitions of one leader broker, ListGroups one per
    /// broker, OffsetFetch one per group, DescribeGroups one per group with members (two for a
    /// classic group on Kafka 4: librdkafka tries ConsumerGroupDescribe first); groups listed
    /// Empty are not described. FindCoordinator lookups, which librdkafka caches, are not counted.
    pub requests: u32,
    pub requests_by_kind: RequestCounts,
    /// Where `poll_ms` went, to tell a slow coordinator from a slow partition leader.
    pub phases_ms: PhaseTimes,
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Vec<Node>,
    /// Every broker the cluster refers to (metadata, replica lists) and whether it answered.
    pub broker_health: Vec<BrokerHealth>,
    pub topics: Vec<Topic>,
    pub groups: Vec<Group>,
    /// End offsets of `__consumer_offsets` partitions, fetched even when internal topics are
    /// hidden: they show commit activity that committed offsets alone cannot (see `group_log`).
    pub group_log: Vec<GroupLogPartition>,
    /// The search for old messages' produce times this poll (see `produce_time`).
    pub produce_times: ProduceTimeStats,
    /// Each topic's retention settings, read every few minutes (see `topic_configs`): shared
    /// between the snapshots of the polls in between, never copied.
    pub topic_configs: std::sync::Arc<super::topic_configs::TopicConfigs>,
}

/// Wall time per phase. DescribeGroups, OffsetFetch followed by the log ends, and the log
/// starts run concurrently, so these overlap and do not add up to `poll_ms`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// The direct check of the known brokers (`broker_probe`), before everything else.
    pub probe: u64,
    /// From the poll's start until Metadata, the check, DescribeCluster and ListGroups (all
    /// side by side) ended.
    pub metadata: u64,
    /// DescribeCluster, inside `metadata`.
    pub describe_cluster: u64,
    /// ListGroups, inside `metadata`.
    pub list_groups: u64,
    pub describe_groups: u64,
    pub offset_fetch: u64,
    /// Both ListOffsets calls (log end and log start), the sum of the two below.
    pub list_offsets: u64,
    /// The log-end part of `list_offsets`.
    pub list_offsets_end: u64,
    /// The log-start part of `list_offsets`.
    pub list_offsets_start: u64,
    /// Building the snapshot from the answers (no requests).
    pub assemble: u64,
    /// Dating messages older than pipetop's history: picking the offsets, the search, and
    /// filling them in (after everything else).
    pub produce_times: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RequestCounts {
    pub metadata: u32,
    pub describe_cluster: u32,
    pub list_groups: u32,
    pub describe_groups: u32,
    pub offset_fetch: u32,
    pub list_offsets: u32,
    /// ListOffsets by timestamp, for produce times (see `produce_time`).
    pub list_offsets_by_time: u32,
}

impl RequestCounts {
    pub fn total(&self) -> u32 {
        self.metadata
            + self.describe_cluster
            + self.list_groups
            + self.describe_groups
            + self.offset_fetch
            + self.list_offsets
            + self.list_offsets_by_time
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerHealth {
    pub id: i32,
    /// None for a broker only known from replica lists (it left the metadata: down or fenced).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Listed in the cluster metadata (registered and not fenced).
    pub in_metadata: bool,
    /// Partitions it leads among those this poll asked offsets for.
    pub leader_of: u32,
    /// Some(true) when it answered ListOffsets for a partition it leads, Some(false) when every
    /// such answer failed, None when it leads nothing this poll asked about.
    pub answered: Option<bool>,
    /// Some(why) when the direct check at the start of the poll failed (`broker_probe`): its
    /// connection refused, or no answer to ApiVersions within the short limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    pub error: Option<String>,
}

impl BrokerHealth {
    /// Gone from the metadata (dead, fenced), failing every answer for the partitions it leads,
    /// or failing the direct check at the start of the poll.
    pub fn is_down(&self) -> bool {
        !self.in_metadata || self.answered == Some(false) || self.unreachable.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupLogPartition {
    pub partition: i32,
    pub end_offset: Option<i64>,
    /// Groups hashed to this partition that pipetop does not watch (filtered out) but that have
    /// members: their commits land here too, so activity here cannot be attributed to one group.
    pub unwatched_active_groups: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<Partition>,
    /// Why a topic that a pipeline or a member's assignment names has no partitions here: the
    /// broker would not describe it to pipetop, or it does not exist (see `named_topics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partition {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: BrokerIds,
    pub isr: BrokerIds,
    /// Oldest offset still on disk (log start). None when the broker did not answer for it.
    pub start_offset: Option<i64>,
    /// When `start_offset` was read (Unix ms): log starts are read on a slower cadence than the
    /// rest (see `kafka::log_starts`), so it may be older than the snapshot.
    #[serde(default)]
    pub start_read_ms: Option<i64>,
    /// Log-end offset (high watermark, read_uncommitted, as kafka-consumer-groups uses).
    pub end_offset: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub partition_assignor: String,
    pub coordinator: Option<i32>,
    pub members: Vec<Member>,
    /// Every partition the group has committed, assigned or not: lag hides in the unassigned ones.
    pub committed: Commits,
    /// Describing or fetching offsets for this group failed; the rest of the snapshot is fine.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub consumer_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<Assigned>,
}

/// A partition assigned to a member. The topic name is shared by every row of the snapshot that
/// names it (interned by the collector), as in `Committed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    pub topic: std::sync::Arc<str>,
    pub partition: i32,
}

impl Assigned {
    pub fn new(topic: impl Into<std::sync::Arc<str>>, partition: i32) -> Assigned {
        Assigned {
            topic: topic.into(),
            partition,
        }
    }
}

impl KafkaSnapshot {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        self.topic(topic)?.partition(partition)
    }
}

impl Topic {
    /// A partition by id: partitions are listed 0, 1, 2… as a rule, so it is looked for at its
    /// index first.
    pub fn partition(&self, id: i32) -> Option<&Partition> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .filter(|p| p.partition == id)
            .or_else(|| self.partitions.iter().find(|p| p.partition == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(id: i32) -> Partition {
        Partition {
            partition: id,
            leader: None,
            replicas: Default::default(),
            isr: Default::default(),
            start_offset: None,
            start_read_ms: None,
            end_offset: None,
            error: None,
        }
    }

    #[test]
    fn a_partition_is_found_by_id_in_any_order() {
        let topic = |ids: &[i32]| Topic {
            name: "t".into(),
            internal: false,
            partitions: ids.iter().map(|&id| partition(id)).collect(),
            error: None,
        };
        let listed = topic(&[0, 1, 2]);
        assert_eq!(listed.partition(1).map(|p| p.partition), Some(1));
        let shuffled = topic(&[2, 0, 1]);
        for id in [0, 1, 2] {
            assert_eq!(shuffled.partition(id).map(|p| p.partition), Some(id));
        }
        assert!(shuffled.partition(3).is_none() && shuffled.partition(-1).is_none());
    }
}
