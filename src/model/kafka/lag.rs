//! Offset lag per partition and per group, derived from one Kafka snapshot.
//!
//! Lag is `end − committed`, exactly as kafka-consumer-groups computes it, and only where a commit
//! exists: a partition without a commit has *unknown* lag, shown as such, never as 0 and never
//! summed into the group's total.
//!
//! This is the stateless part (one snapshot); time lag, rates and status need history and are
//! filled in by `KafkaModel` (`kafka.rs`), which starts from these rows.

use std::cmp::Ordering;
use std::sync::Arc;

use serde::Serialize;

use super::history::TimeLagKind;
use super::index::{PartitionIndex, TopicPartitions};
use super::partition_lag::{OffsetFlag, PartitionLag};
use super::rows::Rows;
use super::status::Status;
use crate::kafka::snapshot::{Group, KafkaSnapshot, Member, Partition};
use crate::kafka::types::GroupState;
use crate::topic_runs::same_topic;

/// A group member as the members panel shows it: not its assignment list, which at scale is a
/// second copy of every group-partition (the snapshot has the first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberView {
    pub consumer_id: String,
    pub client_id: String,
    pub host: String,
    /// Partitions assigned to it.
    pub partitions: usize,
}

impl MemberView {
    pub fn of(m: &Member) -> MemberView {
        MemberView {
            consumer_id: m.consumer_id.clone(),
            client_id: m.client_id.clone(),
            host: m.host.clone(),
            partitions: m.assignment.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupLag {
    pub group_id: String,
    pub state: GroupState,
    pub members: usize,
    /// Each member with its client, host and how many partitions it is assigned (the group's
    /// members panel; the assignment itself is in the rows' `owner`).
    pub member_list: Vec<MemberView>,
    pub topics: Vec<String>,
    /// Sum of the known partition lags.
    pub total_lag: u64,
    pub max_lag: u64,
    /// Partitions assigned to a member but never committed: their lag is unknown.
    pub partitions_without_commit: usize,
    /// The rows, in topic/partition order (read with their topic and owner as `rows::Row`).
    pub partitions: Rows,
    pub error: Option<String>,
    /// Seconds since this group's committed offsets were last read, when not this poll (its
    /// coordinator did not answer, or was not asked because it is down): the rows then hold
    /// those last commits against this poll's log ends, and no status is judged on them.
    /// None: read this poll.
    pub stale_s: Option<f64>,
    /// Worst partition status (see `kafka_status`).
    pub status: Status,
    /// Largest partition time lag, seconds; `time_lag_kind` says how it was obtained.
    pub time_lag_s: Option<f64>,
    pub time_lag_kind: TimeLagKind,
    /// Messages per second produced into, and committed from, the group's partitions.
    pub produce_rate: Option<f64>,
    pub consume_rate: Option<f64>,
    /// Seconds until caught up at the current rates (0 when caught up, None when not catching up).
    pub catch_up_s: Option<f64>,
    pub trend: Trend,
    /// The same figures per topic the group consumes.
    pub topic_lags: Vec<TopicLag>,
    /// How near its unread messages are to deletion by retention, and how many were deleted.
    pub retention: super::retention::GroupRetention,
}

/// Whether a group (or topic within it) is gaining on its backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    CaughtUp,
    /// Consuming faster than producing: `catch_up_s` is the estimate.
    CatchingUp,
    /// Producing faster than consuming: lag grows.
    FallingBehind,
    /// Lag > 0 and neither side moving (e.g. stopped consumer on a quiet topic).
    Steady,
    /// Rates not known yet (first poll) or lag unknown.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicLag {
    pub topic: String,
    #[serde(flatten)]
    pub lag: Rollup,
}

/// Sums and extremes over a set of partition rows: a group's, or one topic's within a group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rollup {
    pub partitions: usize,
    pub total_lag: u64,
    pub max_lag: u64,
    pub partitions_without_commit: usize,
    pub status: Status,
    pub time_lag_s: Option<f64>,
    pub time_lag_kind: TimeLagKind,
    pub produce_rate: Option<f64>,
    pub consume_rate: Option<f64>,
    pub catch_up_s: Option<f64>,
    pub trend: Trend,
}

/// When the next message to consume was produced, as the brokers said, for the rows of a group
/// that have it (only offsets older than the model's history; see `kafka::produce_time`): the
/// input to their time lag, kept beside the rows rather than in each (few rows have one).
/// (row index, produced ms), in row order.
pub type LookedUp = Vec<(usize, i64)>;

pub fn group_lags(snapshot: &KafkaSnapshot) -> Vec<GroupLag> {
    let partitions = partition_index(snapshot);
    snapshot
        .groups
        .iter()
        .map(|g| group_lag(g, &partitions))
        .collect()
}

/// The snapshot's partitions by (topic, partition).
pub fn partition_index(snapshot: &KafkaSnapshot) -> PartitionIndex<'_> {
    PartitionIndex::of(snapshot)
}

pub fn group_lag(group: &Group, partitions: &PartitionIndex) -> GroupLag {
    group_lag_looked_up(group, partitions).0
}

/// A group's rows, and the produce times the collector looked up for them.
pub fn group_lag_looked_up(group: &Group, partitions_of: &PartitionIndex) -> (GroupLag, LookedUp) {
    // Committed and assigned partitions merged, in topic/partition order.
    let rows = merged_rows(group);

    // The rows' topic runs keep the snapshot's shared topic names (interned by the collector);
    // the topic is looked up once per run of its rows.
    let mut topic: Option<(&Arc<str>, TopicPartitions)> = None;
    let mut looked_up = LookedUp::new();
    let mut partitions = Rows::with_capacity(rows.len(), owners(group));
    let mut topics: Vec<String> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let of_topic = match topic {
            Some((name, found)) if same_topic(name, row.topic) => found,
            _ => {
                let found = partitions_of.topic(row.topic);
                topic = Some((row.topic, found));
                topics.push(row.topic.to_string());
                found
            }
        };
        let info = of_topic.get(row.partition);
        if let Some(produced) = row.produced_ms {
            looked_up.push((i, produced));
        }
        partitions.push(
            row.topic,
            partition_lag(row.partition, row.committed, info, row.owner),
        );
    }

    let known = partitions.plain().iter().filter_map(PartitionLag::lag);
    let lag = GroupLag {
        group_id: group.group_id.clone(),
        state: group.state,
        members: group.members.len(),
        member_list: group.members.iter().map(MemberView::of).collect(),
        topics,
        total_lag: known.clone().sum(),
        max_lag: known.max().unwrap_or(0),
        partitions_without_commit: partitions
            .plain()
            .iter()
            .filter(|p| p.flag() == OffsetFlag::NoCommit)
            .count(),
        partitions,
        error: group.error.clone(),
        stale_s: None,
        status: Status::Unknown,
        time_lag_s: None,
        time_lag_kind: TimeLagKind::Unknown,
        produce_rate: None,
        consume_rate: None,
        catch_up_s: None,
        trend: Trend::Unknown,
        topic_lags: Vec::new(),
        retention: Default::default(),
    };
    (lag, looked_up)
}

/// Orders (topic, partition) keys as a map of `(&str, i32)` would, without comparing the text of
/// a shared name with itself, and remembering how the last two different names compared: the
/// rows of a group (and of two polls of it) compare the same few names over and over.
#[derive(Debug, Default)]
pub struct KeyOrder {
    last: Option<(*const u8, *const u8, Ordering)>,
}

impl KeyOrder {
    pub fn cmp(&mut self, a: (&Arc<str>, i32), b: (&Arc<str>, i32)) -> Ordering {
        let topics = if Arc::ptr_eq(a.0, b.0) {
            Ordering::Equal
        } else {
            // Both names are alive while compared, so their addresses name them.
            let pair = (a.0.as_ptr(), b.0.as_ptr());
            match self.last {
                Some((x, y, order)) if (x, y) == pair => order,
                _ => {
                    let order = (**a.0).cmp(&**b.0);
                    self.last = Some((pair.0, pair.1, order));
                    order
                }
            }
        };
        topics.then(a.1.cmp(&b.1))
    }
}

struct GroupPartition<'g> {
    topic: &'g Arc<str>,
    partition: i32,
    committed: Option<i64>,
    produced_ms: Option<i64>,
    /// The owning member's place in the group's member list.
    owner: Option<usize>,
}

impl GroupPartition<'_> {
    fn key(&self) -> (&Arc<str>, i32) {
        (self.topic, self.partition)
    }
}

/// Sorts rows by key (stable) and keeps the last row of each key, as collecting them into a
/// map would; rows already in strictly increasing order (the collector's) are left as they are.
fn sort_keep_last(rows: &mut Vec<GroupPartition>, order: &mut KeyOrder) {
    if rows
        .windows(2)
        .all(|w| order.cmp(w[0].key(), w[1].key()) == Ordering::Less)
    {
        return;
    }
    rows.sort_by(|a, b| order.cmp(a.key(), b.key()));
    let mut kept: Vec<GroupPartition> = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        match kept.last_mut() {
            Some(last) if order.cmp(last.key(), row.key()) == Ordering::Equal => *last = row,
            _ => kept.push(row),
        }
    }
    *rows = kept;
}

/// A group's committed partitions and its members' assignments, one row per (topic, partition)
/// in topic/partition order: a partition committed more than once keeps its last commit, one
/// assigned more than once its last owner.
fn merged_rows(group: &Group) -> Vec<GroupPartition<'_>> {
    let mut rows: Vec<GroupPartition> = group
        .committed
        .iter()
        .map(|c| GroupPartition {
            topic: c.topic,
            partition: c.partition,
            committed: Some(c.offset),
            produced_ms: c.produced_ms.get(),
            owner: None,
        })
        .collect();
    let mut order = KeyOrder::default();
    sort_keep_last(&mut rows, &mut order);
    // Assigned but never committed.
    let mut assigned_only: Vec<GroupPartition> = Vec::new();
    for (owner, member) in group.members.iter().enumerate() {
        for tp in &member.assignment {
            let key = (&tp.topic, tp.partition);
            match rows.binary_search_by(|r| order.cmp(r.key(), key)) {
                Ok(i) => rows[i].owner = Some(owner),
                Err(_) => assigned_only.push(GroupPartition {
                    topic: &tp.topic,
                    partition: tp.partition,
                    committed: None,
                    produced_ms: None,
                    owner: Some(owner),
                }),
            }
        }
    }
    if assigned_only.is_empty() {
        return rows;
    }
    sort_keep_last(&mut assigned_only, &mut order);
    // Two sorted lists without a key in common: merge them.
    let mut merged = Vec::with_capacity(rows.len() + assigned_only.len());
    let mut committed = rows.into_iter().peekable();
    let mut assigned = assigned_only.into_iter().peekable();
    loop {
        let take_committed = match (committed.peek(), assigned.peek()) {
            (Some(c), Some(a)) => order.cmp(c.key(), a.key()) == Ordering::Less,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_committed {
            committed.next()
        } else {
            assigned.next()
        };
        merged.extend(next);
    }
    merged
}

/// client_id@host of each member, in the group's member order (the rows' owner indexes).
fn owners(group: &Group) -> Vec<String> {
    group
        .members
        .iter()
        .map(|m| format!("{}@{}", m.client_id, m.host.trim_start_matches('/')))
        .collect()
}

fn partition_lag(
    partition: i32,
    committed: Option<i64>,
    info: Option<&Partition>,
    owner: Option<usize>,
) -> PartitionLag {
    let end = info.and_then(|p| p.end_offset);
    let start = info.and_then(|p| p.start_offset);
    let flag = match (committed, end) {
        (None, _) => OffsetFlag::NoCommit,
        (Some(_), None) if info.is_none() => OffsetFlag::UnknownPartition,
        (Some(c), Some(e)) if c > e => OffsetFlag::AheadOfEnd,
        (Some(c), _) if start.is_some_and(|s| c < s) => OffsetFlag::BelowLogStart,
        _ => OffsetFlag::Ok,
    };
    PartitionLag::new(partition, committed, end, flag, owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::Assigned;
    use crate::kafka::snapshot::{Committed, Member, Topic};

    fn part(partition: i32, start: i64, end: i64) -> Partition {
        Partition {
            partition,
            leader: Some(1),
            replicas: vec![1].into(),
            isr: vec![1].into(),
            start_offset: Some(start),
            start_read_ms: None,
            end_offset: Some(end),
            error: None,
        }
    }

    fn snapshot(groups: Vec<Group>) -> KafkaSnapshot {
        KafkaSnapshot {
            topics: vec![Topic {
                name: "t".into(),
                internal: false,
                error: None,
                partitions: vec![part(0, 0, 100), part(1, 50, 200), part(2, 0, 10)],
            }],
            groups,
            ..KafkaSnapshot::default()
        }
    }

    fn group(committed: &[(&str, i32, i64)], assigned: &[i32]) -> Group {
        Group {
            group_id: "g".into(),
            state: GroupState::Stable,
            partition_assignor: "range".into(),
            coordinator: Some(1),
            members: vec![Member {
                consumer_id: "c-1".into(),
                client_id: "sink".into(),
                host: "/127.0.0.1".into(),
                assignment: assigned
                    .iter()
                    .map(|&p| Assigned {
                        topic: "t".into(),
                        partition: p,
                    })
                    .collect(),
            }],
            committed: committed
                .iter()
                .map(|&(t, p, o)| Committed {
                    topic: t.into(),
                    partition: p,
                    offset: o,
                    produced_ms: crate::compact::OptI64::NONE,
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn lag_is_end_minus_committed_and_uncommitted_partitions_do_not_poison_the_sum() {
        let lags = group_lags(&snapshot(vec![group(
            &[("t", 0, 40), ("t", 1, 190)],
            &[0, 1, 2],
        )]));
        let g = &lags[0];
        assert_eq!(g.total_lag, 60 + 10);
        assert_eq!(g.max_lag, 60);
        assert_eq!(g.partitions_without_commit, 1);
        let p2 = g.partitions.row(2);
        assert_eq!((p2.lag(), p2.flag()), (None, OffsetFlag::NoCommit));
        assert_eq!(g.partitions.row(0).owner(), Some("sink@127.0.0.1"));
    }

    #[test]
    fn unassigned_committed_partitions_still_count() {
        let lags = group_lags(&snapshot(vec![group(&[("t", 0, 0)], &[])]));
        assert_eq!(lags[0].total_lag, 100);
        assert_eq!(lags[0].partitions.row(0).owner(), None);
    }

    /// Rows as a map of the commits and then the assignments would give them: in topic and
    /// partition order, a partition committed twice keeps its last commit, one assigned twice its
    /// last owner, whatever order the snapshot lists them in and whether names are shared.
    #[test]
    fn rows_merge_as_a_map_would() {
        let mut g = group(
            &[("t", 2, 7), ("a", 1, 1), ("t", 0, 3), ("t", 2, 8)],
            &[2, 1],
        );
        let mut other = g.members[0].clone();
        other.client_id = "late".into();
        other.assignment = vec![Assigned::new("t", 1), Assigned::new("b", 0)];
        g.members.push(other);
        let lags = group_lags(&snapshot(vec![g]));
        let rows: Vec<_> = lags[0]
            .partitions
            .iter()
            .map(|p| (&**p.topic, p.partition, p.committed(), p.owner()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("a", 1, Some(1), None),
                ("b", 0, None, Some("late@127.0.0.1")),
                ("t", 0, Some(3), None),
                ("t", 1, None, Some("late@127.0.0.1")),
                ("t", 2, Some(8), Some("sink@127.0.0.1")),
            ]
        );
        assert_eq!(lags[0].topics, ["a", "b", "t"]);
    }

    #[test]
    fn suspicious_commits_are_flagged() {
        let lags = group_lags(&snapshot(vec![group(
            &[("t", 0, 150), ("t", 1, 10), ("gone", 0, 5)],
            &[],
        )]));
        let flags: Vec<_> = lags[0]
            .partitions
            .iter()
            .map(|p| (&**p.topic, p.flag()))
            .collect();
        assert_eq!(
            flags,
            vec![
                ("gone", OffsetFlag::UnknownPartition),
                ("t", OffsetFlag::AheadOfEnd),
                ("t", OffsetFlag::BelowLogStart)
            ]
        );
        // Ahead of the end is not negative lag; below the log start is all of the remaining log.
        assert_eq!(lags[0].partitions.row(1).lag(), Some(0));
        assert_eq!(lags[0].partitions.row(2).lag(), Some(190));
        assert_eq!(lags[0].partitions.row(0).lag(), None);
        assert_eq!(std::mem::size_of::<PartitionLag>(), 40);
    }
}
