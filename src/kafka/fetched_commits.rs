//! A group's OffsetFetch answer as the collector keeps it until the snapshot is assembled.
//!
//! The answers of a poll all live until the snapshot is put together: 200,000 committed offsets
//! at 20,000 partitions and 1,000 groups, at the poll's peak, beside the snapshot the session
//! still holds. Each answer is therefore read into the snapshot's own form as it arrives (24-byte
//! commits in runs of a topic, the topic names shared snapshot-wide) rather than kept as the
//! admin client's 40-byte rows until the end (README, Performance).

use std::sync::Arc;

use foldhash::HashMap;

use super::commits::Commits;
use super::snapshot::Committed;
use super::types::GroupOffsets;
use crate::compact::OptI64;

/// One shared name per topic for a whole snapshot (200,000 commits and every member's
/// assignment name a few hundred topics).
#[derive(Default)]
pub struct TopicNames {
    names: HashMap<String, Arc<str>>,
    /// The name read last and the one kept for it: an answer shares its name per topic and its
    /// rows come sorted, so the name before is usually the one, found without hashing it.
    last: Option<(Arc<str>, Arc<str>)>,
}

impl TopicNames {
    /// The snapshot's name for `topic` (read from an answer).
    pub fn shared(&mut self, topic: &Arc<str>) -> Arc<str> {
        if let Some((read, kept)) = &self.last
            && Arc::ptr_eq(read, topic)
        {
            return Arc::clone(kept);
        }
        let kept = match self.names.get(&**topic) {
            Some(n) => Arc::clone(n),
            None => {
                let n: Arc<str> = Arc::from(&**topic);
                self.names.insert(topic.to_string(), Arc::clone(&n));
                n
            }
        };
        self.last = Some((Arc::clone(topic), Arc::clone(&kept)));
        kept
    }
}

/// What the collector keeps of one group's OffsetFetch answer.
#[derive(Debug)]
pub struct FetchedCommits {
    pub group_id: String,
    pub error: Option<String>,
    /// Whether the answer named any partition at all, committed or not.
    pub named_partitions: bool,
    /// The partitions with a committed offset, on every topic (the topic filter is applied
    /// when the snapshot's group is made), in topic/partition order.
    pub commits: Commits,
}

impl FetchedCommits {
    /// Reads an answer into the snapshot's form; the answer's rows are freed here.
    pub fn read(answer: GroupOffsets, names: &mut TopicNames) -> FetchedCommits {
        let GroupOffsets {
            group_id,
            error,
            offsets,
        } = answer;
        // Exactly the room they need: a group's commits are one allocation, and 1,000 of them
        // live at once.
        let committed = offsets.iter().filter(|c| c.offset().is_some()).count();
        let mut commits = Commits::with_capacity(committed);
        // The answer comes sorted by topic, then partition (`read_group_offsets`).
        for c in &offsets {
            if let Some(offset) = c.offset() {
                commits.push(Committed {
                    topic: names.shared(&c.topic),
                    partition: c.partition,
                    offset,
                    produced_ms: OptI64::NONE,
                });
            }
        }
        FetchedCommits {
            group_id,
            error,
            named_partitions: !offsets.is_empty(),
            commits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::types::CommittedOffset;

    #[test]
    fn an_answer_keeps_its_committed_partitions_with_shared_names() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let answer = |offsets| GroupOffsets {
            group_id: "g".into(),
            error: None,
            offsets,
        };
        let mut names = TopicNames::default();
        let first = FetchedCommits::read(
            answer(vec![
                CommittedOffset::new(Arc::clone(&a), 0, Some(5), None, None),
                CommittedOffset::new(Arc::clone(&a), 1, None, None, None),
                CommittedOffset::new(Arc::clone(&b), 0, Some(7), Some("m".into()), None),
            ]),
            &mut names,
        );
        let rows: Vec<_> = first
            .commits
            .iter()
            .map(|c| (c.topic.to_string(), c.partition, c.offset))
            .collect();
        assert_eq!(rows, [("a".into(), 0, 5), ("b".into(), 0, 7)]);
        assert!(first.named_partitions);
        // Another answer's "a" (another allocation) gets the same shared name.
        let other: Arc<str> = "a".into();
        let second = FetchedCommits::read(
            answer(vec![CommittedOffset::new(other, 3, Some(1), None, None)]),
            &mut names,
        );
        let name = |f: &FetchedCommits| Arc::clone(f.commits.iter().next().unwrap().topic);
        assert!(Arc::ptr_eq(&name(&first), &name(&second)));
        // An answer without partitions, or with none committed.
        let none = FetchedCommits::read(answer(Vec::new()), &mut names);
        assert!(!none.named_partitions && none.commits.is_empty());
        let uncommitted = FetchedCommits::read(
            answer(vec![CommittedOffset::new(a, 0, None, None, None)]),
            &mut names,
        );
        assert!(uncommitted.named_partitions && uncommitted.commits.is_empty());
    }
}
