//! The log ends are read side by side with the commits (OffsetFetch), not after them: one after
//! the other, a broker that stalls costs a poll both requests' time limits. Read together, a
//! consumer that commits between the two reads can leave an end older than the commit it is
//! compared with, which would look like a truncated log (committed > end). Those partitions'
//! ends, and only those, are read again once the commits are in: an end read after a commit is
//! never older than it.

use std::collections::BTreeSet;

use foldhash::HashMap;

use super::fetched_commits::FetchedCommits;
use super::last_topic::LastTopic;
use super::types::{PartitionOffset, TopicPartition};

/// Partitions with a fetched commit beyond the end read alongside it.
pub fn ends_behind_commits(
    fetched: &[FetchedCommits],
    ends: &[PartitionOffset],
) -> Vec<TopicPartition> {
    // By topic, then partition id: a group's commits come sorted with their name shared per
    // topic (`FetchedCommits`), so one lookup by name serves a run of them.
    let mut end_of: HashMap<&str, HashMap<i32, i64>> = HashMap::default();
    for e in ends {
        if let Some(offset) = e.offset {
            end_of
                .entry(&*e.tp.topic)
                .or_default()
                .insert(e.tp.partition, offset);
        }
    }
    let mut last = LastTopic::default();
    let mut behind: BTreeSet<(&str, i32)> = BTreeSet::new();
    for c in fetched.iter().flat_map(|g| g.commits.iter()) {
        let ends = last.get(c.topic, |name| end_of.get(name));
        let end = ends.and_then(|ends| ends.get(&c.partition));
        if matches!(end, Some(&end) if c.offset > end) {
            behind.insert((&**c.topic, c.partition));
        }
    }
    behind
        .into_iter()
        .map(|(topic, partition)| TopicPartition::new(topic, partition))
        .collect()
}

/// Puts the ends read again in place of the first ones; a partition whose second read failed
/// keeps its first end.
pub fn replace_ends(ends: &mut [PartitionOffset], again: Vec<PartitionOffset>) {
    let again: HashMap<TopicPartition, PartitionOffset> = again
        .into_iter()
        .filter(|e| e.offset.is_some())
        .map(|e| (e.tp.clone(), e))
        .collect();
    for end in ends.iter_mut() {
        if let Some(fresh) = again.get(&end.tp) {
            *end = fresh.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fetched_commits::TopicNames;
    use crate::kafka::types::{CommittedOffset, GroupOffsets};

    fn end(p: i32, offset: Option<i64>) -> PartitionOffset {
        PartitionOffset {
            tp: TopicPartition::new("t", p),
            offset,
            timestamp: None,
            error: None,
        }
    }

    #[test]
    fn only_ends_older_than_a_commit_are_read_again() {
        let commit = |p, o| CommittedOffset::new("t".into(), p, o, None, None);
        let answer = GroupOffsets {
            group_id: "g".into(),
            error: None,
            offsets: vec![
                commit(0, Some(10)),
                commit(1, Some(12)),
                commit(2, None),
                commit(3, Some(5)),
            ],
        };
        let offsets = vec![FetchedCommits::read(answer, &mut TopicNames::default())];
        let mut ends = vec![
            end(0, Some(10)),
            end(1, Some(11)),
            end(2, Some(1)),
            end(3, None),
        ];
        let behind = ends_behind_commits(&offsets, &ends);
        assert_eq!(behind, [TopicPartition::new("t", 1)]);
        replace_ends(&mut ends, vec![end(1, Some(13)), end(0, None)]);
        assert_eq!(ends[1].offset, Some(13));
        assert_eq!(
            ends[0].offset,
            Some(10),
            "a failed second read keeps the first"
        );
    }
}
