//! A group's committed offsets in a snapshot: 200,000 of them at 1,000 groups, a million at
//! scale, so each is 24 bytes and its topic is the run of commits it sits in (the collector sorts
//! a group's commits by topic and partition). Read one with its topic as a [`CommitRef`]; build
//! them from [`Committed`]s. Both serialize as the list of `Committed` they always were.

use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::compact::OptI64;
use crate::topic_runs::{self, TopicRuns};

/// A commit with its topic: what a snapshot's commits are built from and read back as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Committed {
    /// Shared by every commit on the topic in the snapshot (see the collector's `groups`).
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// When the next message to consume was produced (Unix ms), looked up only for offsets older
    /// than pipetop's own history of the partition; none otherwise or while not known. Stored
    /// without an `Option` tag; it serializes as the `Option`.
    pub produced_ms: OptI64,
}

/// A commit as stored: without its topic (24 bytes, not 40).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Commit {
    pub partition: i32,
    pub offset: i64,
    /// See [`Committed::produced_ms`].
    pub produced_ms: OptI64,
}

/// A group's commits, in topic/partition order.
#[derive(Debug, Clone, Default)]
pub struct Commits(TopicRuns<Commit>);

/// One commit with its topic; derefs to the commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitRef<'a> {
    pub topic: &'a Arc<str>,
    commit: &'a Commit,
}

impl Deref for CommitRef<'_> {
    type Target = Commit;

    fn deref(&self) -> &Commit {
        self.commit
    }
}

impl Commits {
    pub fn with_capacity(commits: usize) -> Commits {
        Commits(TopicRuns::with_capacity(commits))
    }

    /// Appends a commit (commits are pushed in topic/partition order).
    pub fn push(&mut self, c: Committed) {
        let commit = Commit {
            partition: c.partition,
            offset: c.offset,
            produced_ms: c.produced_ms,
        };
        self.0.push(&c.topic, commit);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    /// The commits alone, to change them (tests, benchmarks, the produce times filled in).
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Commit> {
        self.0.items_mut().iter_mut()
    }

    /// Each commit with its topic, to change the commit.
    pub fn iter_mut_with_topics(&mut self) -> impl Iterator<Item = (&Arc<str>, &mut Commit)> {
        self.0.iter_mut()
    }
}

impl FromIterator<Committed> for Commits {
    fn from_iter<I: IntoIterator<Item = Committed>>(commits: I) -> Commits {
        let commits = commits.into_iter();
        let mut all = Commits::with_capacity(commits.size_hint().0);
        commits.for_each(|c| all.push(c));
        all
    }
}

impl From<Vec<Committed>> for Commits {
    fn from(commits: Vec<Committed>) -> Commits {
        commits.into_iter().collect()
    }
}

impl CommitRef<'_> {
    /// The commit with its topic, owned.
    pub fn to_committed(&self) -> Committed {
        Committed {
            topic: Arc::clone(self.topic),
            partition: self.partition,
            offset: self.offset,
            produced_ms: self.produced_ms,
        }
    }
}

/// The commits in order, each with its topic.
#[derive(Debug, Clone)]
pub struct Iter<'a>(topic_runs::Iter<'a, Commit>);

impl<'a> Iterator for Iter<'a> {
    type Item = CommitRef<'a>;

    fn next(&mut self) -> Option<CommitRef<'a>> {
        let (topic, commit) = self.0.next()?;
        Some(CommitRef { topic, commit })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Commits {
    type Item = CommitRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Commits {
    type Item = &'a mut Commit;
    type IntoIter = std::slice::IterMut<'a, Commit>;

    fn into_iter(self) -> std::slice::IterMut<'a, Commit> {
        self.0.items_mut().iter_mut()
    }
}

impl Serialize for CommitRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut c = serializer.serialize_struct("Committed", 4)?;
        c.serialize_field("topic", &**self.topic)?;
        c.serialize_field("partition", &self.partition)?;
        c.serialize_field("offset", &self.offset)?;
        c.serialize_field("produced_ms", &self.produced_ms)?;
        c.end()
    }
}

impl Serialize for Commits {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Commits {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Commits, D::Error> {
        Vec::<Committed>::deserialize(deserializer).map(Commits::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(topic: &str, partition: i32, offset: i64) -> Committed {
        Committed {
            topic: Arc::from(topic),
            partition,
            offset,
            produced_ms: OptI64::new((partition == 1).then_some(7)),
        }
    }

    /// A commit is 24 bytes; commits come back in order with their topics, change in place,
    /// and serialize as the `Committed` list they were built from, which reads back the same.
    #[test]
    fn commits_keep_their_topic_and_serialize_as_before() {
        assert_eq!(std::mem::size_of::<Commit>(), 24);
        let given = vec![
            committed("a", 0, 10),
            committed("a", 1, 11),
            committed("b", 0, 5),
        ];
        let mut commits = Commits::from(given.clone());
        assert_eq!(commits.len(), 3);
        let seen: Vec<_> = commits
            .iter()
            .map(|c| {
                (
                    c.topic.to_string(),
                    c.partition,
                    c.offset,
                    c.produced_ms.get(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a".to_string(), 0, 10, None),
                ("a".to_string(), 1, 11, Some(7)),
                ("b".to_string(), 0, 5, None),
            ]
        );
        let json = serde_json::to_string(&commits).unwrap();
        assert_eq!(json, serde_json::to_string(&given).unwrap());
        let back: Commits = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        for c in commits.iter_mut() {
            c.offset += 1;
        }
        for (topic, c) in commits.iter_mut_with_topics() {
            if &**topic == "b" {
                c.offset *= 10;
            }
        }
        assert_eq!(
            commits.iter().map(|c| c.offset).collect::<Vec<_>>(),
            [11, 12, 60]
        );
        assert_eq!(
            commits.iter().nth(2).unwrap().to_committed().topic,
            given[2].topic
        );
        commits.clear();
        assert!(commits.is_empty());
    }
}
