//! A snapshot's partitions by topic and partition id, built once per derivation.
//!
//! A group's rows come sorted by topic, so the model looks a topic up once per run of its rows
//! ([`PartitionIndex::topic`]) and then each partition by its id, an index into a vector: at
//! 1,000,000 group-partitions that is 5,000 string hashes a poll instead of 1,000,000.
//! Partition ids are small and dense in practice; an id outside its topic's dense range (negative,
//! or far beyond the topic's partition count) is kept in a map instead, so a hostile id never
//! sizes a vector. As with a map collected from the snapshot, a (topic, partition) listed twice
//! resolves to its last listing.

use crate::kafka::snapshot::{KafkaSnapshot, Partition};

/// Ids below `DENSE_SLACK + 2 × partitions` of their topic are indexed by position.
const DENSE_SLACK: usize = 64;

#[derive(Debug, Default)]
pub struct PartitionIndex<'a> {
    topics: foldhash::HashMap<&'a str, Slots<'a>>,
}

#[derive(Debug, Default)]
struct Slots<'a> {
    /// By partition id.
    dense: Vec<Option<&'a Partition>>,
    /// Ids outside the dense range, in listing order.
    sparse: Vec<(i32, &'a Partition)>,
}

/// One topic's partitions (possibly none: a topic the snapshot does not have).
#[derive(Debug, Clone, Copy)]
pub struct TopicPartitions<'i, 'a> {
    slots: Option<&'i Slots<'a>>,
}

impl<'a> PartitionIndex<'a> {
    pub fn of(snapshot: &'a KafkaSnapshot) -> PartitionIndex<'a> {
        // Every listing of a name first (a name listed twice is one topic, last listing wins),
        // then each topic's dense range from how many partitions it has.
        let mut listed: foldhash::HashMap<&'a str, Vec<&'a Partition>> = Default::default();
        for t in &snapshot.topics {
            listed
                .entry(t.name.as_str())
                .or_default()
                .extend(t.partitions.iter());
        }
        let mut index = PartitionIndex::default();
        index.topics.reserve(listed.len());
        for (name, partitions) in listed {
            let limit = DENSE_SLACK + 2 * partitions.len();
            let dense_len = partitions
                .iter()
                .filter_map(|p| usize::try_from(p.partition).ok())
                .filter(|&i| i < limit)
                .max()
                .map_or(0, |m| m + 1);
            let mut slots = Slots {
                dense: vec![None; dense_len],
                sparse: Vec::new(),
            };
            for p in partitions {
                match usize::try_from(p.partition).ok().filter(|&i| i < limit) {
                    Some(i) => slots.dense[i] = Some(p),
                    None => slots.sparse.push((p.partition, p)),
                }
            }
            index.topics.insert(name, slots);
        }
        index
    }

    /// The partition `partition` of `topic`, if the snapshot has it.
    pub fn get(&self, topic: &str, partition: i32) -> Option<&'a Partition> {
        self.topic(topic).get(partition)
    }

    /// A topic's partitions, to look several up without hashing its name again.
    pub fn topic(&self, topic: &str) -> TopicPartitions<'_, 'a> {
        TopicPartitions {
            slots: self.topics.get(topic),
        }
    }
}

impl<'a> TopicPartitions<'_, 'a> {
    pub fn get(&self, partition: i32) -> Option<&'a Partition> {
        let slots = self.slots?;
        match usize::try_from(partition)
            .ok()
            .and_then(|i| slots.dense.get(i))
        {
            // An id inside the dense range that the topic lacks is a None slot.
            Some(slot) => *slot,
            None => slots
                .sparse
                .iter()
                .rev()
                .find(|(id, _)| *id == partition)
                .map(|(_, p)| *p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::Topic;

    fn part(partition: i32, end: i64) -> Partition {
        Partition {
            partition,
            leader: Some(1),
            replicas: vec![1].into(),
            isr: vec![1].into(),
            start_offset: Some(0),
            start_read_ms: None,
            end_offset: Some(end),
            error: None,
        }
    }

    fn topic(name: &str, partitions: Vec<Partition>) -> Topic {
        Topic {
            name: name.into(),
            internal: false,
            partitions,
            error: None,
        }
    }

    /// The same answers as a map collected from the snapshot, hostile ids included.
    #[test]
    fn finds_what_a_map_of_the_snapshot_finds() {
        let snapshot = KafkaSnapshot {
            topics: vec![
                topic("a", vec![part(0, 1), part(2, 3), part(-1, 9)]),
                topic("b", vec![part(i32::MAX, 5), part(1, 6)]),
                // Listed again: the last listing wins.
                topic("a", vec![part(2, 30)]),
            ],
            ..KafkaSnapshot::default()
        };
        let map: std::collections::HashMap<(&str, i32), &Partition> = snapshot
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| ((t.name.as_str(), p.partition), p))
            })
            .collect();
        let index = PartitionIndex::of(&snapshot);
        for name in ["a", "b", "c"] {
            for id in [-1, 0, 1, 2, 3, 64, i32::MAX, i32::MIN] {
                let want = map.get(&(name, id)).map(|p| p.end_offset);
                assert_eq!(
                    index.get(name, id).map(|p| p.end_offset),
                    want,
                    "{name}[{id}]"
                );
            }
        }
        assert_eq!(index.get("a", 2).and_then(|p| p.end_offset), Some(30));
    }
}
