//! The plain data of pipetop's Kafka admin queries: what is asked ([`OffsetSpec`],
//! [`OffsetsBatch`], [`GroupOffsetsRequest`]) and what comes back (groups, offsets, brokers).
//!
//! Owned Rust values only, no FFI: [`crate::kafka::admin`] fills them from librdkafka's
//! results, and the model and UI use them without depending on that module.

use std::fmt;
use std::sync::Arc;

use crate::compact::OptI64;

/// A partition's replicas or in-sync replicas (broker ids), as Metadata gave them: read once a
/// poll and shared, not copied, by the snapshot and each model's topic views (20,000 partitions
/// at scale, two lists each).
pub type BrokerIds = Arc<[i32]>;

#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TopicPartition {
    /// Shared: a poll names each of 20,000 partitions in several requests and answers, and a
    /// clone of the name is a reference count, not an allocation.
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Orders (topic, partition) as the tuple would, without comparing the text of a shared name with
/// itself: a group's 200 commits on one topic share its name.
pub fn topic_partition_order(a: (&Arc<str>, i32), b: (&Arc<str>, i32)) -> std::cmp::Ordering {
    if Arc::ptr_eq(a.0, b.0) {
        a.1.cmp(&b.1)
    } else {
        (&**a.0, a.1).cmp(&(&**b.0, b.1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// Log-start offset.
    Earliest,
    /// Log-end offset (high watermark).
    Latest,
    /// The first offset whose message timestamp is at or after this time (Unix ms), answered
    /// with that message's timestamp; no offset when every message is older.
    AtTime(i64),
}

/// One batch for [`Admin::list_offsets_batches`]: partitions with what to ask of each. A partition
/// appears at most once per batch (librdkafka rejects duplicates); later repeats are dropped.
///
/// [`Admin::list_offsets_batches`]: crate::kafka::admin::Admin::list_offsets_batches
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetsBatch {
    pub partitions: Vec<(TopicPartition, OffsetSpec)>,
}

impl OffsetsBatch {
    /// The same question for every partition.
    pub fn uniform(spec: OffsetSpec, partitions: &[TopicPartition]) -> OffsetsBatch {
        OffsetsBatch {
            partitions: partitions.iter().map(|tp| (tp.clone(), spec)).collect(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupListing {
    pub group_id: String,
    pub state: GroupState,
    pub is_simple: bool,
    /// The group's protocol as the broker reports it (ListGroups v5+, Kafka 3.8+), else Unknown.
    pub group_type: GroupType,
}

/// Which rebalance protocol a group uses: `classic` (JoinGroup/SyncGroup) or `consumer`
/// (KIP-848). Unknown when the broker is too old to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum GroupType {
    Unknown,
    Classic,
    Consumer,
}

/// Consumer group state.
///
/// `Assigning` and `Reconciling` are KIP-848 (`consumer` protocol) states.
/// librdkafka 2.12 has no code for them and reports such groups as `Unknown`;
/// they exist so callers can already handle them when librdkafka learns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupState {
    Unknown,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
    Empty,
    Assigning,
    Reconciling,
}

impl GroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Unknown => "Unknown",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
            GroupState::Empty => "Empty",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
        }
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupDescription {
    pub group_id: String,
    pub error: Option<String>,
    pub state: GroupState,
    pub is_simple: bool,
    pub partition_assignor: String,
    pub coordinator: Option<Node>,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupMember {
    pub consumer_id: String,
    pub client_id: String,
    pub host: String,
    pub group_instance_id: Option<String>,
    /// Sorted by topic, then partition.
    pub assignment: Vec<TopicPartition>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupOffsets {
    pub group_id: String,
    pub error: Option<String>,
    /// Sorted by topic, then partition.
    pub offsets: Vec<CommittedOffset>,
}

/// offset None = the group has no committed offset for that partition
/// (librdkafka returns -1001 / RD_KAFKA_OFFSET_INVALID).
///
/// The topic name is shared by the group's commits on that topic: one allocation a topic, not
/// one a partition (a poll at scale reads hundreds of thousands of these).
///
/// A poll holds every watched group's answers at once (200,000 rows at scale) before they become
/// the snapshot's commits, so a row is 40 bytes: the offset without an `Option` tag, and the
/// commit's metadata and the partition's error, which few rows carry, in one box.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommittedOffset {
    pub topic: Arc<str>,
    pub partition: i32,
    offset: OptI64,
    #[serde(flatten)]
    extras: Option<Box<CommitExtras>>,
}

/// What few commits carry beside their offset.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct CommitExtras {
    metadata: Option<String>,
    error: Option<String>,
}

impl CommittedOffset {
    /// `metadata`: None when the commit carried none (or an empty one).
    pub fn new(
        topic: Arc<str>,
        partition: i32,
        offset: Option<i64>,
        metadata: Option<String>,
        error: Option<String>,
    ) -> CommittedOffset {
        let extras = (metadata.is_some() || error.is_some())
            .then(|| Box::new(CommitExtras { metadata, error }));
        CommittedOffset {
            topic,
            partition,
            offset: OptI64::new(offset),
            extras,
        }
    }

    /// None: the group has no committed offset for the partition.
    pub fn offset(&self) -> Option<i64> {
        self.offset.get()
    }

    /// The metadata string the commit carried.
    pub fn metadata(&self) -> Option<&str> {
        self.extras.as_ref()?.metadata.as_deref()
    }

    /// Why the partition's offset could not be read.
    pub fn error(&self) -> Option<&str> {
        self.extras.as_ref()?.error.as_deref()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionOffset {
    pub tp: TopicPartition,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller: Option<Node>,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// One group for [`Admin::list_group_offsets_for`].
///
/// [`Admin::list_group_offsets_for`]: crate::kafka::admin::Admin::list_group_offsets_for
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffsetsRequest {
    pub group_id: String,
    /// `None`: every partition the group has committed (uncommitted partitions
    /// are absent). `Some(list)`: exactly these partitions, uncommitted ones
    /// included with `offset: None`.
    pub partitions: Option<Vec<TopicPartition>>,
}

impl CommittedOffset {
    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(Arc::clone(&self.topic), self.partition)
    }
}

impl PartitionOffset {
    pub fn failed(tp: &TopicPartition, error: &str) -> Self {
        PartitionOffset {
            tp: tp.clone(),
            offset: None,
            timestamp: None,
            error: Some(error.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partition_order_is_the_tuples_order() {
        let (a, a2, b): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "a".into(), "b".into());
        let cases = [
            (&a, 1, &a, 2),
            (&a, 2, &a, 1),
            (&a, 3, &a2, 3),
            (&a, 9, &b, 0),
            (&b, 0, &a2, 9),
        ];
        for (t1, p1, t2, p2) in cases {
            assert_eq!(
                topic_partition_order((t1, p1), (t2, p2)),
                (&**t1, p1).cmp(&(&**t2, p2)),
                "{t1} {p1} against {t2} {p2}"
            );
        }
    }

    /// A poll holds 200,000 of these at scale: 40 bytes each (88 with the three `Option`s), and
    /// what few rows carry reads back as it was given.
    #[test]
    fn a_committed_offset_is_40_bytes_and_keeps_its_extras() {
        assert_eq!(std::mem::size_of::<CommittedOffset>(), 40);
        let plain = CommittedOffset::new("t".into(), 3, Some(42), None, None);
        assert_eq!(
            (plain.offset(), plain.metadata(), plain.error()),
            (Some(42), None, None)
        );
        assert!(plain.extras.is_none(), "nothing boxed for a plain commit");
        let odd = CommittedOffset::new("t".into(), 0, None, Some("m".into()), Some("e".into()));
        assert_eq!(
            (odd.offset(), odd.metadata(), odd.error()),
            (None, Some("m"), Some("e"))
        );
        assert_eq!(
            serde_json::to_value(&odd).unwrap(),
            serde_json::json!({"topic": "t", "partition": 0, "offset": null, "metadata": "m", "error": "e"})
        );
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            serde_json::json!({"topic": "t", "partition": 3, "offset": 42})
        );
    }
}
