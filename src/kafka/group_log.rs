//! Where a group's commits land: the partition of `__consumer_offsets` that holds its records.
//!
//! Every offset commit appends a record there, even one that re-commits an unchanged offset. The
//! committed offsets themselves (OffsetFetch) cannot tell "committing the same offset again" from
//! "not committing at all"; the end offset of this partition can, when no other active group
//! shares it. That is how pipetop tells Burrow's STALL from STOP without reading the topic.

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
