//! ListOffsets in batches: by leader broker, at most [`LIST_OFFSETS_BATCH`] partitions each, many
//! in flight at once, a failed batch turned into per-partition errors.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::admin::{Admin, take_turns};
use super::types::{
    OffsetSpec, OffsetsBatch, PartitionOffset, TopicPartition, topic_partition_order,
};

/// The partitions of one leader broker, in batches of at most this many: librdkafka 2.12 spends
/// time quadratic in the partitions of one ListOffsets call (it files every partition under its
/// leader, and later matches every answer to the request, by linear scans), which at 20,000
/// partitions was 3 to 6 s per call on the benchmark machine. (The vendored librdkafka's patch 5
/// makes both linear for a sorted list, which the batches are.) At 500 a batch costs well under a
/// millisecond of that; 20,000 partitions take 40 requests per offset kind, each still answered
/// by its leader in one go (measured: 1,000 saved requests but cost more librdkafka CPU).
const LIST_OFFSETS_BATCH: usize = 500;

/// ListOffsets calls in flight at once, the leaders taking turns (`offsets_batches`). Each holds
/// about half a kilobyte of librdkafka's lists per partition until its answer is read (the
/// request's copies, the answer, the topic name copied into each), so all 40 batches of 20,000
/// partitions at once added about 20 MB to a poll's peak; eight at a time, 4,000 partitions,
/// still ask eight leaders together.
const MAX_LIST_OFFSETS_IN_FLIGHT: usize = 8;

type Question = (TopicPartition, OffsetSpec);

/// Groups the questions by leader (librdkafka sends one request per leader per call, so a batch
/// of one leader's partitions is exactly one request) and splits each leader's share into
/// batches of at most [`LIST_OFFSETS_BATCH`]. Partitions without a known leader go in batches of
/// their own, which librdkafka answers (or fails) per partition. A partition asked about twice
/// goes in a second batch (one call cannot ask a partition two things).
pub fn offsets_batches(
    questions: Vec<(TopicPartition, OffsetSpec)>,
    leaders: &HashMap<(&str, i32), i32>,
) -> Vec<OffsetsBatch> {
    let mut asked: HashMap<TopicPartition, usize> = HashMap::new();
    // (how many times the partition was asked before, its leader) → questions
    let mut by_leader: BTreeMap<(usize, Option<i32>), Vec<Question>> = BTreeMap::new();
    for (tp, spec) in questions {
        let leader = leaders.get(&(&*tp.topic, tp.partition)).copied();
        let times = asked.entry(tp.clone()).or_default();
        let round = *times;
        *times += 1;
        by_leader
            .entry((round, leader))
            .or_default()
            .push((tp, spec));
    }
    let per_leader = by_leader
        .into_values()
        .map(|mut questions| {
            // Sorted by topic (bytewise, as C's strcmp) and partition: librdkafka (with pipetop's
            // patch) then files and matches them in linear time, not quadratic.
            questions.sort_by(|(a, _), (b, _)| {
                topic_partition_order((&a.topic, a.partition), (&b.topic, b.partition))
            });
            questions
                .chunks(LIST_OFFSETS_BATCH)
                .map(|chunk| OffsetsBatch {
                    partitions: chunk.to_vec(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // Few are in flight at once: each leader works on one of its batches while the others do.
    take_turns(per_leader)
}

pub fn ask_all(
    partitions: &[TopicPartition],
    spec: OffsetSpec,
) -> Vec<(TopicPartition, OffsetSpec)> {
    partitions.iter().map(|tp| (tp.clone(), spec)).collect()
}

/// A failed ListOffsets batch (its leader unreachable) is a per-partition error, not a failed
/// poll: groups and their commits, and the other leaders' offsets, are still worth showing.
pub fn list_offsets(
    admin: &Admin,
    batches: &[OffsetsBatch],
    timeout: std::time::Duration,
) -> Vec<PartitionOffset> {
    admin
        .list_offsets_batches(batches, MAX_LIST_OFFSETS_IN_FLIGHT, timeout)
        .into_iter()
        .zip(batches)
        .flat_map(|(result, batch)| {
            result.unwrap_or_else(|e| {
                let error = e.to_string();
                batch
                    .partitions
                    .iter()
                    .map(|(tp, _)| PartitionOffset {
                        tp: tp.clone(),
                        offset: None,
                        timestamp: None,
                        error: Some(error.clone()),
                    })
                    .collect()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_batches_hold_one_leader_and_at_most_a_batch() {
        let tps: Vec<TopicPartition> = (0..1_201)
            .map(|p| TopicPartition::new("t", p))
            .chain((0..3).map(|p| TopicPartition::new("u", p)))
            .collect();
        // Partition p of t is led by broker 1 + p % 2; u is led by 3, except u-2 (no leader).
        let mut leaders: HashMap<(&str, i32), i32> =
            (0..1_201).map(|p| (("t", p), 1 + p % 2)).collect();
        leaders.insert(("u", 0), 3);
        leaders.insert(("u", 1), 3);
        let batches = offsets_batches(ask_all(&tps, OffsetSpec::Earliest), &leaders);
        let sizes: Vec<usize> = batches.iter().map(|b| b.partitions.len()).collect();
        // No leader (None sorts first), broker 1: 601 (500 + 101), 2: 600, 3: 2; the leaders
        // take turns, so the second batches of brokers 1 and 2 come last.
        assert_eq!(sizes, [1, 500, 500, 2, 101, 100]);
        let leader_of = |b: &OffsetsBatch| {
            let (tp, _) = &b.partitions[0];
            leaders.get(&(&*tp.topic, tp.partition)).copied()
        };
        let order: Vec<Option<i32>> = batches.iter().map(leader_of).collect();
        assert_eq!(order, [None, Some(1), Some(2), Some(3), Some(1), Some(2)]);
        for b in &batches {
            assert!(b.partitions.iter().all(|(_, s)| *s == OffsetSpec::Earliest));
            let owners: foldhash::HashSet<Option<i32>> = b
                .partitions
                .iter()
                .map(|(tp, _)| leaders.get(&(&*tp.topic, tp.partition)).copied())
                .collect();
            assert_eq!(owners.len(), 1, "one leader per batch: {owners:?}");
        }
        let total: usize = sizes.iter().sum();
        assert_eq!(total, tps.len(), "every partition asked exactly once");
    }

    #[test]
    fn each_batch_is_sorted_as_strcmp_sorts() {
        let tps = vec![
            TopicPartition::new("b", 2),
            TopicPartition::new("a", 10),
            TopicPartition::new("B", 1),
            TopicPartition::new("a", 9),
        ];
        let leaders: HashMap<(&str, i32), i32> = tps
            .iter()
            .map(|tp| ((&*tp.topic, tp.partition), 1))
            .collect();
        let batches = offsets_batches(ask_all(&tps, OffsetSpec::Latest), &leaders);
        let order: Vec<(&str, i32)> = batches[0]
            .partitions
            .iter()
            .map(|(tp, _)| (&*tp.topic, tp.partition))
            .collect();
        assert_eq!(order, [("B", 1), ("a", 9), ("a", 10), ("b", 2)]);
    }

    #[test]
    fn a_partition_asked_twice_goes_in_a_second_batch() {
        let leaders: HashMap<(&str, i32), i32> =
            [(("t", 0), 1), (("t", 1), 1)].into_iter().collect();
        let questions = vec![
            (TopicPartition::new("t", 0), OffsetSpec::AtTime(10)),
            (TopicPartition::new("t", 1), OffsetSpec::AtTime(10)),
            (TopicPartition::new("t", 0), OffsetSpec::AtTime(20)),
        ];
        let batches = offsets_batches(questions, &leaders);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].partitions.len(), 2);
        assert_eq!(
            batches[1].partitions,
            [(TopicPartition::new("t", 0), OffsetSpec::AtTime(20))]
        );
    }
}
