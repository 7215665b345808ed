//! The topics view: every watched topic's partitions with leader, replicas, ISR, offsets and
//! produce rate, problems first.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::history::EndHistory;
use crate::compact::{OptF64, OptI64};
use crate::kafka::snapshot::KafkaSnapshot;
use crate::kafka::types::BrokerIds;

/// Produce rates in the topics view are over this window (or the history, if shorter).
pub const TOPIC_RATE_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicView {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<TopicPartitionView>,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated: usize,
    /// Partitions without a leader: unreadable and unwritable.
    pub leaderless: usize,
    /// Sum of `end − start` over partitions: messages currently retained.
    pub messages: u64,
    pub produce_rate: Option<f64>,
    /// Consumer groups (of those pipetop watches) that committed on the topic or have it
    /// assigned. 0 with messages coming in: nobody reads it (a dead-letter topic filling up, a
    /// new topic nobody consumes).
    pub groups: usize,
    /// How old the oldest log start shown is, when older than the poll (seconds): starts are read
    /// on a slower cadence (`kafka::log_starts`).
    pub starts_age_s: Option<u64>,
    /// Why a topic a pipeline or a consumer names has no partitions here: "not authorized: …",
    /// "does not exist …" (see `kafka::named_topics`).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
/// One partition as the topics view shows it: 96 bytes, so a topic's 200 partitions take 20 KiB
/// rather than 28 in each of the two models alive while the next is derived; the replica lists
/// are the snapshot's own, shared.
pub struct TopicPartitionView {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: BrokerIds,
    pub isr: BrokerIds,
    pub under_replicated: bool,
    pub leaderless: bool,
    start_offset: OptI64,
    end_offset: OptI64,
    produce_rate: OptF64,
    pub error: Option<String>,
}

impl TopicPartitionView {
    /// Oldest offset still on disk, if the broker answered for it.
    pub fn start_offset(&self) -> Option<i64> {
        self.start_offset.get()
    }

    /// Log-end offset, if the broker answered for it.
    pub fn end_offset(&self) -> Option<i64> {
        self.end_offset.get()
    }

    /// Messages per second produced over the topics view's window, once it has history.
    pub fn produce_rate(&self) -> Option<f64> {
        self.produce_rate.get()
    }
}

/// `history(topic, partition)` gives the partition's end-offset history, if any.
pub fn topic_views<'h>(
    snapshot: &KafkaSnapshot,
    history: impl Fn(&str, i32) -> Option<&'h EndHistory>,
) -> Vec<TopicView> {
    let now = snapshot.taken_at_ms;
    let readers = readers(snapshot);
    let mut views: Vec<TopicView> = snapshot
        .topics
        .iter()
        .map(|t| {
            let partitions: Vec<TopicPartitionView> = t
                .partitions
                .iter()
                .map(|p| TopicPartitionView {
                    partition: p.partition,
                    leader: p.leader,
                    replicas: BrokerIds::clone(&p.replicas),
                    isr: BrokerIds::clone(&p.isr),
                    under_replicated: p.isr.len() < p.replicas.len(),
                    leaderless: p.leader.is_none(),
                    start_offset: OptI64::new(p.start_offset),
                    end_offset: OptI64::new(p.end_offset),
                    produce_rate: OptF64::new(
                        history(&t.name, p.partition)
                            .and_then(|h| h.produce_rate(now - TOPIC_RATE_WINDOW_MS, now)),
                    ),
                    error: p.error.clone(),
                })
                .collect();
            // No partitions, no rate (an empty float sum is -0.0, shown as "-0.0/s").
            let rates: Option<Vec<f64>> = partitions
                .iter()
                .map(TopicPartitionView::produce_rate)
                .collect::<Option<Vec<f64>>>()
                .filter(|r| !r.is_empty());
            let starts_age_s = t
                .partitions
                .iter()
                .filter_map(|p| p.start_read_ms)
                .min()
                .and_then(|read| u64::try_from((now - read) / 1000).ok())
                .filter(|&age| age > 0);
            TopicView {
                name: t.name.clone(),
                internal: t.internal,
                under_replicated: partitions.iter().filter(|p| p.under_replicated).count(),
                leaderless: partitions.iter().filter(|p| p.leaderless).count(),
                messages: partitions
                    .iter()
                    .filter_map(|p| {
                        Some(u64::try_from(p.end_offset()? - p.start_offset()?).unwrap_or(0))
                    })
                    .sum(),
                produce_rate: rates.map(|r| r.iter().sum()),
                groups: readers.get(t.name.as_str()).copied().unwrap_or(0),
                starts_age_s,
                partitions,
                error: t.error.clone(),
            }
        })
        .collect();
    views.sort_by(|a, b| {
        (b.error.is_some(), b.leaderless, b.under_replicated)
            .cmp(&(a.error.is_some(), a.leaderless, a.under_replicated))
            .then_with(|| {
                b.produce_rate
                    .unwrap_or(0.0)
                    .total_cmp(&a.produce_rate.unwrap_or(0.0))
            })
            .then_with(|| a.name.cmp(&b.name))
    });
    views
}

/// Per topic, the groups that committed on it or have it assigned.
fn readers(snapshot: &KafkaSnapshot) -> HashMap<&str, usize> {
    let mut readers: HashMap<&str, usize> = HashMap::new();
    let mut topics: HashSet<&str> = HashSet::new();
    for g in &snapshot.groups {
        topics.clear();
        // Commits and assignments come in runs of one topic: each run is one insert.
        let mut last: Option<&str> = None;
        let names = g.committed.iter().map(|c| &**c.topic).chain(
            g.members
                .iter()
                .flat_map(|m| &m.assignment)
                .map(|a| &*a.topic),
        );
        for t in names {
            if last.is_none_or(|l| !(std::ptr::eq(l, t) || l == t)) {
                topics.insert(t);
                last = Some(t);
            }
        }
        for t in topics.iter() {
            *readers.entry(t).or_default() += 1;
        }
    }
    readers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::{Partition, Topic};

    fn snapshot(topics: Vec<Topic>) -> KafkaSnapshot {
        KafkaSnapshot {
            taken_at_ms: 10_000,
            topics,
            ..KafkaSnapshot::default()
        }
    }

    fn part(partition: i32, leader: Option<i32>, replicas: &[i32], isr: &[i32]) -> Partition {
        Partition {
            partition,
            leader,
            replicas: replicas.into(),
            isr: isr.into(),
            start_offset: Some(10),
            start_read_ms: None,
            end_offset: Some(110),
            error: None,
        }
    }

    #[test]
    fn a_partition_view_is_96_bytes_and_shares_the_snapshots_replica_lists() {
        assert_eq!(std::mem::size_of::<TopicPartitionView>(), 96);
        let s = snapshot(vec![Topic {
            name: "t".into(),
            internal: false,
            error: None,
            partitions: vec![part(0, Some(1), &[1, 2], &[1])],
        }]);
        let views = topic_views(&s, |_, _| None);
        let (view, read) = (&views[0].partitions[0], &s.topics[0].partitions[0]);
        assert!(std::sync::Arc::ptr_eq(&view.replicas, &read.replicas));
        assert!(std::sync::Arc::ptr_eq(&view.isr, &read.isr));
        assert_eq!(
            (view.start_offset(), view.end_offset()),
            (Some(10), Some(110))
        );
        let json = serde_json::to_value(view).unwrap();
        assert_eq!(json["start_offset"], 10);
        assert_eq!(json["produce_rate"], serde_json::Value::Null);
        assert_eq!(json["replicas"], serde_json::json!([1, 2]));
    }

    #[test]
    fn problems_first_with_counts_and_rates() {
        let s = snapshot(vec![
            Topic {
                name: "healthy".into(),
                internal: false,
                error: None,
                partitions: vec![part(0, Some(1), &[1, 2], &[1, 2])],
            },
            Topic {
                name: "sick".into(),
                internal: false,
                error: None,
                partitions: vec![part(0, None, &[1, 2], &[]), part(1, Some(2), &[1, 2], &[2])],
            },
        ]);
        let mut h = EndHistory::default();
        h.observe(10, 0);
        h.observe(110, 10_000);
        let views = topic_views(&s, |t, _| (t == "healthy").then_some(&h));
        assert_eq!(views[0].name, "sick");
        assert_eq!((views[0].leaderless, views[0].under_replicated), (1, 2));
        assert_eq!(views[0].produce_rate, None);
        assert_eq!(views[1].messages, 100);
        assert_eq!(views[1].produce_rate, Some(10.0));
    }

    #[test]
    fn groups_reading_a_topic_are_counted_by_commit_or_assignment() {
        use crate::kafka::snapshot::{Assigned, Committed, Group, Member};
        use crate::kafka::types::GroupState;
        let topic = |name: &str| Topic {
            name: name.into(),
            internal: false,
            error: None,
            partitions: vec![part(0, Some(1), &[1], &[1])],
        };
        let group = |id: &str, committed: &str, assigned: &str| Group {
            group_id: id.into(),
            state: GroupState::Stable,
            partition_assignor: String::new(),
            coordinator: None,
            members: vec![Member {
                consumer_id: "c".into(),
                client_id: "c".into(),
                host: "h".into(),
                assignment: vec![Assigned {
                    topic: assigned.into(),
                    partition: 0,
                }],
            }],
            committed: vec![Committed {
                topic: committed.into(),
                partition: 0,
                offset: 1,
                produced_ms: crate::compact::OptI64::NONE,
            }]
            .into(),
            error: None,
        };
        let mut s = snapshot(vec![topic("read"), topic("dead_letter"), topic("new")]);
        s.groups = vec![group("a", "read", "read"), group("b", "read", "new")];
        let views = topic_views(&s, |_, _| None);
        let groups = |name: &str| views.iter().find(|v| v.name == name).unwrap().groups;
        assert_eq!(
            groups("read"),
            2,
            "each group once, commits and assignment alike"
        );
        assert_eq!(groups("new"), 1, "assigned, not committed yet");
        assert_eq!(groups("dead_letter"), 0);
    }
}
