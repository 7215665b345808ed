//! Log-start offsets on their own, slower cadence.
//!
//! A partition's log start moves only when retention deletes a segment (every
//! `log.retention.check.interval.ms`, 5 minutes by default) or someone deletes records, yet reading
//! it costs a ListOffsets request per leader, as much as the log ends: 374 ms of a 903 ms poll at
//! 20,000 partitions (issue 16). So every partition's start is read every [`FULL_READ_EVERY`],
//! and in between only where it matters at once:
//! - partitions never read (a new topic or partition);
//! - partitions where a watched group's commit is in the older half of the retained log (by
//!   offsets), or already behind the start: the next deletion there is the `messages_lost`
//!   alert, which must not wait for the next full read;
//! - partitions whose log end is below the start kept (the topic was deleted and created again).
//!
//! A start read earlier is still a lower bound (starts only grow), so between reads
//! `messages_lost` and `retention_risk` can only be under-reported, never invented. Each
//! partition carries when its start was read (`Partition::start_read_ms`), which the topic
//! drill-down shows when it is older than the poll.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::last_topic::LastTopic;
use super::snapshot::{Group, Topic};
use super::types::{PartitionOffset, TopicPartition};

/// How often every partition's log start is read again.
pub const FULL_READ_EVERY: Duration = Duration::from_secs(30);

/// A commit this far into the retained log (`(end − commit) / (end − start)`) or further makes
/// its partition's start read every poll.
const HOT_USED: f64 = 0.5;

#[derive(Debug, Clone, Copy)]
struct Known {
    offset: i64,
    /// Unix ms of the poll that read it.
    read_ms: i64,
}

/// What pipetop knows of the log starts, carried from poll to poll. Keyed by topic, then
/// partition, so lookups by `&str` need no allocation at 20,000 partitions a poll.
#[derive(Debug, Default)]
pub struct LogStarts {
    known: HashMap<Arc<str>, HashMap<i32, Known>>,
    /// Read every poll until the next full read.
    hot: HashMap<Arc<str>, HashSet<i32>>,
    last_full: Option<Instant>,
}

/// The partitions to read this poll.
pub struct Due {
    pub partitions: Vec<TopicPartition>,
    /// Every partition (the full read): what was not answered is forgotten.
    pub full: bool,
}

impl LogStarts {
    /// Which of `wanted` (the led partitions of the shown topics) to read this poll.
    pub fn due(&self, wanted: &[TopicPartition], now: Instant) -> Due {
        let full = self
            .last_full
            .is_none_or(|t| now.saturating_duration_since(t) >= FULL_READ_EVERY);
        let partitions = if full {
            wanted.to_vec()
        } else {
            let has = |map: &HashMap<Arc<str>, HashSet<i32>>, tp: &TopicPartition| {
                map.get(&*tp.topic)
                    .is_some_and(|p| p.contains(&tp.partition))
            };
            wanted
                .iter()
                .filter(|tp| self.get(&tp.topic, tp.partition).is_none() || has(&self.hot, tp))
                .cloned()
                .collect()
        };
        Due { partitions, full }
    }

    /// Takes this poll's answers (read at `now_ms`). An unanswered partition keeps its last
    /// start (a lower bound) until a full read finds it gone from `wanted`.
    pub fn merge(
        &mut self,
        due: &Due,
        answers: Vec<PartitionOffset>,
        wanted: &[TopicPartition],
        (now, now_ms): (Instant, i64),
    ) {
        if due.full {
            self.last_full = Some(now);
            let mut wanted_by_topic: HashMap<&str, HashSet<i32>> = HashMap::new();
            for tp in wanted {
                wanted_by_topic
                    .entry(&*tp.topic)
                    .or_default()
                    .insert(tp.partition);
            }
            self.known.retain(|topic, partitions| {
                let Some(w) = wanted_by_topic.get(&**topic) else {
                    return false;
                };
                partitions.retain(|p, _| w.contains(p));
                !partitions.is_empty()
            });
        }
        for a in answers {
            if let Some(offset) = a.offset {
                self.known.entry(a.tp.topic).or_default().insert(
                    a.tp.partition,
                    Known {
                        offset,
                        read_ms: now_ms,
                    },
                );
            }
        }
    }

    /// A partition's start and when it was read (Unix ms).
    pub fn get(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        let k = self.known.get(topic)?.get(&partition)?;
        Some((k.offset, k.read_ms))
    }

    /// After the poll: which partitions to read every poll until the next full read, and which
    /// starts to forget (a log end below the start kept: the topic was created again).
    pub fn review(&mut self, topics: &[Topic], groups: &[Group]) {
        for t in topics {
            for p in &t.partitions {
                if let (Some(start), Some(end)) = (p.start_offset, p.end_offset)
                    && end < start
                    && let Some(known) = self.known.get_mut(t.name.as_str())
                {
                    known.remove(&p.partition);
                }
            }
        }
        self.hot.clear();
        // A group's commits come sorted with their name shared per topic (the collector's
        // `groups`): the topic looked up for the commit before is usually the one.
        let topic_of: HashMap<&str, &Topic> = topics.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut last = LastTopic::default();
        for c in groups.iter().flat_map(|g| &g.committed) {
            let topic = last.get(c.topic, |name| topic_of.get(name).copied());
            let Some(p) = topic.and_then(|t| t.partition(c.partition)) else {
                continue;
            };
            if let (Some(start), Some(end)) = (p.start_offset, p.end_offset)
                && end >= start
                && hot(c.offset, start, end)
            {
                self.hot
                    .entry(Arc::clone(c.topic))
                    .or_default()
                    .insert(c.partition);
            }
        }
    }
}

/// Whether a commit is close enough to its partition's log start that the next deletion matters.
fn hot(commit: i64, start: i64, end: i64) -> bool {
    if commit < start {
        return true;
    }
    let retained = end - start;
    retained > 0 && (end - commit) as f64 / retained as f64 >= HOT_USED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::{Committed, Partition};
    use crate::kafka::types::GroupState;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn answer(p: i32, offset: i64) -> PartitionOffset {
        PartitionOffset {
            tp: tp(p),
            offset: Some(offset),
            timestamp: None,
            error: None,
        }
    }

    fn topic(parts: &[(i64, i64)]) -> Topic {
        Topic {
            name: "t".into(),
            internal: false,
            error: None,
            partitions: parts
                .iter()
                .zip(0..)
                .map(|(&(start, end), partition)| Partition {
                    partition,
                    leader: Some(1),
                    replicas: vec![1].into(),
                    isr: vec![1].into(),
                    start_offset: Some(start),
                    start_read_ms: Some(0),
                    end_offset: Some(end),
                    error: None,
                })
                .collect(),
        }
    }

    fn group(commits: &[(i32, i64)]) -> Group {
        Group {
            group_id: "g".into(),
            state: GroupState::Stable,
            partition_assignor: String::new(),
            coordinator: Some(1),
            members: Vec::new(),
            committed: commits
                .iter()
                .map(|&(partition, offset)| Committed {
                    topic: "t".into(),
                    partition,
                    offset,
                    produced_ms: crate::compact::OptI64::NONE,
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn reads_everything_first_then_only_new_and_hot_partitions_until_the_next_full_read() {
        let mut starts = LogStarts::default();
        let t0 = Instant::now();
        let wanted = vec![tp(0), tp(1), tp(2)];
        let due = starts.due(&wanted, t0);
        assert!(due.full);
        assert_eq!(due.partitions.len(), 3);
        starts.merge(
            &due,
            vec![answer(0, 10), answer(1, 0), answer(2, 5)],
            &wanted,
            (t0, 1_000),
        );
        assert_eq!(starts.get("t", 0), Some((10, 1_000)));
        // Partition 1's group is at the start (hot); 0 and 2 are far from it.
        starts.review(
            &[topic(&[(10, 1_000), (0, 1_000), (5, 1_000)])],
            &[group(&[(0, 990), (1, 100), (2, 900)])],
        );

        let later = t0 + Duration::from_secs(2);
        let mut wanted = wanted;
        wanted.push(tp(3));
        let due = starts.due(&wanted, later);
        assert!(!due.full);
        let asked: Vec<i32> = due.partitions.iter().map(|p| p.partition).collect();
        assert_eq!(asked, vec![1, 3], "the hot partition and the new one");
        starts.merge(
            &due,
            vec![answer(1, 200), answer(3, 0)],
            &wanted,
            (later, 3_000),
        );
        assert_eq!(starts.get("t", 0), Some((10, 1_000)), "kept, with its age");
        assert_eq!(starts.get("t", 1), Some((200, 3_000)), "read again");
        assert_eq!(starts.get("t", 3), Some((0, 3_000)));

        let due = starts.due(&wanted, t0 + FULL_READ_EVERY);
        assert!(due.full);
        assert_eq!(due.partitions.len(), 4);
    }

    #[test]
    fn an_unanswered_partition_keeps_its_last_start_and_a_gone_one_is_forgotten_at_a_full_read() {
        let mut starts = LogStarts::default();
        let t0 = Instant::now();
        let wanted = vec![tp(0), tp(1)];
        let due = starts.due(&wanted, t0);
        starts.merge(&due, vec![answer(0, 7), answer(1, 8)], &wanted, (t0, 1));
        let t1 = t0 + FULL_READ_EVERY;
        let due = starts.due(&wanted, t1);
        starts.merge(&due, vec![answer(1, 9)], &wanted, (t1, 2));
        assert_eq!(
            starts.get("t", 0),
            Some((7, 1)),
            "its leader did not answer"
        );
        assert_eq!(starts.get("t", 1), Some((9, 2)));
        let only_one = vec![tp(1)];
        let t2 = t1 + FULL_READ_EVERY;
        let due = starts.due(&only_one, t2);
        starts.merge(&due, Vec::new(), &only_one, (t2, 3));
        assert_eq!(starts.get("t", 0), None);
        assert_eq!(starts.get("t", 1), Some((9, 2)));
    }

    #[test]
    fn a_log_end_below_the_kept_start_forgets_it_so_the_partition_is_read_again() {
        let mut starts = LogStarts::default();
        let t0 = Instant::now();
        let wanted = vec![tp(0)];
        let due = starts.due(&wanted, t0);
        starts.merge(&due, vec![answer(0, 500)], &wanted, (t0, 1));
        // The topic was deleted and created again: its end is now 3.
        starts.review(&[topic(&[(500, 3)])], &[]);
        let due = starts.due(&wanted, t0 + Duration::from_secs(2));
        assert!(!due.full);
        assert_eq!(due.partitions.len(), 1);
    }

    #[test]
    fn hot_means_in_the_older_half_of_the_retained_log_or_behind_it() {
        assert!(hot(5, 10, 100), "behind the start: messages lost");
        assert!(hot(10, 10, 100));
        assert!(hot(55, 10, 100), "(100 − 55) / 90 = 0.5");
        assert!(!hot(56, 10, 100));
        assert!(!hot(100, 10, 100), "caught up");
        assert!(!hot(0, 0, 0), "empty log");
    }
}
