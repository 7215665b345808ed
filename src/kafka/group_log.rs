//! Where a group's commits land: the partition of `__consumer_offsets` that holds its records.
//!
//! Every offset commit appends a record there, even one that re-commits an unchanged offset. The
//! committed offsets themselves (OffsetFetch) cannot tell "committing the same offset again" from
//! "not committing at all"; the end offset of this partition can, when no other active group
//! shares it. That is how pipetop tells Burrow's STALL from STOP without reading the topic.

use foldhash::HashMap;

use super::metadata::TopicMetadata;
use super::snapshot::GroupLogPartition;
use super::types::{GroupListing, GroupState, PartitionOffset};

/// The name of the topic holding group commits and metadata.
pub const GROUP_LOG_TOPIC: &str = "__consumer_offsets";

/// The broker's own mapping: `Utils.abs(groupId.hashCode()) % partitions`, with Java's
/// `String.hashCode` over UTF-16 code units.
pub fn group_log_partition(group_id: &str, partitions: usize) -> Option<i32> {
    if partitions == 0 {
        return None;
    }
    let hash = group_id.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    let n = i32::try_from(partitions).ok()?;
    Some(abs % n)
}

/// Each partition of the group log with its end, and how many groups pipetop does not watch have
/// members there (their commits land there too).
pub fn group_log_partitions(
    topic: Option<&TopicMetadata>,
    end_of: &HashMap<(&str, i32), &PartitionOffset>,
    unwatched: &[GroupListing],
) -> Vec<GroupLogPartition> {
    let Some(topic) = topic else {
        return Vec::new();
    };
    let n = topic.partitions.len();
    let mut unwatched_active = vec![0u32; n];
    for g in unwatched {
        if !matches!(g.state, GroupState::Empty | GroupState::Dead)
            && let Some(p) = group_log_partition(&g.group_id, n)
            && let Some(slot) = usize::try_from(p)
                .ok()
                .and_then(|i| unwatched_active.get_mut(i))
        {
            *slot += 1;
        }
    }
    topic
        .partitions
        .iter()
        .map(|p| GroupLogPartition {
            partition: p.partition,
            end_offset: end_of
                .get(&(GROUP_LOG_TOPIC, p.partition))
                .and_then(|o| o.offset),
            unwatched_active_groups: usize::try_from(p.partition)
                .ok()
                .and_then(|i| unwatched_active.get(i).copied())
                .unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_string_hash_code() {
        // "hello".hashCode() == 99162322 in Java; 99162322 % 50 == 22.
        assert_eq!(group_log_partition("hello", 50), Some(22));
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs gives 0.
        assert_eq!(group_log_partition("polygenelubricants", 50), Some(0));
        // Negative hash: "clickhouse_group".hashCode() is negative; abs, then modulo.
        let h = "clickhouse_group"
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
        assert!(h < 0);
        assert_eq!(
            group_log_partition("clickhouse_group", 10),
            Some(h.abs() % 10)
        );
        assert_eq!(group_log_partition("g", 0), None);
    }
}
