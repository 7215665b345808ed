//! Input librdkafka would reject for a whole request (an empty or NUL-containing
//! name, a negative partition, a duplicate), caught per entry before anything
//! is sent so that one bad entry fails only itself.

use foldhash::{HashSet, HashSetExt};
use std::hash::Hash;

use crate::kafka::types::TopicPartition;

pub(super) const NUL_IN_GROUP: &str = "group id contains a NUL byte";
pub(super) const NUL_IN_TOPIC: &str = "topic name contains a NUL byte";

/// Input librdkafka would reject for the whole request; caught per entry.
pub(super) fn check_partition(tp: &TopicPartition) -> Result<(), &'static str> {
    if tp.topic.is_empty() {
        Err("topic name is empty")
    } else if tp.topic.contains('\0') {
        Err(NUL_IN_TOPIC)
    } else if tp.partition < 0 {
        Err("partition is negative")
    } else {
        Ok(())
    }
}

/// librdkafka fails a whole request that names a group or partition twice.
pub(super) fn dedup<T: Clone + Eq + Hash>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_occurrence_order() {
        assert_eq!(dedup(["b", "a", "b", "c", "a"]), ["b", "a", "c"]);
    }

    #[test]
    fn partition_validation() {
        assert!(check_partition(&TopicPartition::new("t", 0)).is_ok());
        assert!(check_partition(&TopicPartition::new("", 0)).is_err());
        assert!(check_partition(&TopicPartition::new("a\0b", 0)).is_err());
        assert!(check_partition(&TopicPartition::new("t", -1)).is_err());
    }
}
