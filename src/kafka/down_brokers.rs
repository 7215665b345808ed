//! What a poll does about brokers that were down at the last poll (gone from the metadata, or
//! failing every answer for the partitions they lead: `BrokerHealth::is_down`).
//!
//! A broker that is stalled (alive, sockets open, no answers: the worst case) makes every request
//! to it hang for the whole request timeout, and a dead one makes librdkafka wait the same for a
//! connection. Asked like the others, such a broker would hold up every poll by a request timeout
//! per phase. So, once it is known down:
//! - the partitions it leads are asked with a short time limit ([`PROBE_TIMEOUT`]), which is also
//!   how its recovery is seen (an answer: up again at this poll);
//! - the groups it coordinates are not asked at all: they are kept, marked, without data, and the
//!   model keeps their last figures (their history waits for their data). Not asking also keeps
//!   pipetop off librdkafka's coordinator-request error paths, which crashed on exactly these
//!   brokers (see vendor/rdkafka-sys/PIPETOP-PATCH.md);
//! - the cluster-wide requests (ListGroups, DescribeCluster) get the short limit too: the brokers
//!   that answer do so in milliseconds, and the listing of the others is partial anyway.
//!
//! A group is coordinated by the leader of its `__consumer_offsets` partition, from this poll's
//! metadata: when the controller moves that leadership to a live broker, the group is asked again.

use std::collections::BTreeSet;

use foldhash::HashMap;
use std::time::Duration;

use super::group_log::{GROUP_LOG_TOPIC, group_log_partition};
use super::metadata::TopicMetadata;
use super::snapshot::{Commits, Group};
use super::types::{GroupState, OffsetsBatch};

/// The time limit for requests to brokers known down, and for cluster-wide requests while some
/// broker is down: a live broker on loopback or a LAN answers well within it.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The start of the `error` of a group whose coordinator is down (see the module comment).
pub const COORDINATOR_DOWN: &str = "coordinator down";

/// The broker that coordinates `group_id`: the leader of its `__consumer_offsets` partition.
pub fn coordinator_of(
    group_id: &str,
    group_log: Option<&TopicMetadata>,
    leaders: &HashMap<(&str, i32), i32>,
) -> Option<i32> {
    let partitions = group_log?.partitions.len();
    let p = group_log_partition(group_id, partitions)?;
    leaders.get(&(GROUP_LOG_TOPIC, p)).copied()
}

/// A group not asked about because its coordinator `broker` is down: kept, without data.
pub fn coordinator_down_group(group_id: &str, broker: i32) -> Group {
    Group {
        group_id: group_id.to_string(),
        state: GroupState::Unknown,
        partition_assignor: String::new(),
        coordinator: Some(broker),
        members: Vec::new(),
        committed: Commits::default(),
        error: Some(format!(
            "{COORDINATOR_DOWN}: broker {broker} did not answer the last poll, so the group was \
             not asked this poll (last figures kept)"
        )),
    }
}

/// The batches led by a broker that is down, and the others. Every batch holds one leader's
/// partitions (`offsets_batches`), so its first partition's leader is the batch's.
pub fn split_batches(
    batches: Vec<OffsetsBatch>,
    leaders: &HashMap<(&str, i32), i32>,
    down: &BTreeSet<i32>,
) -> (Vec<OffsetsBatch>, Vec<OffsetsBatch>) {
    batches.into_iter().partition(|b| {
        b.partitions
            .first()
            .and_then(|(tp, _)| leaders.get(&(&*tp.topic, tp.partition)))
            .is_some_and(|leader| down.contains(leader))
    })
}

/// `timeout` while every broker answered the last poll, else [`PROBE_TIMEOUT`] (never longer).
pub fn cluster_wide_timeout(timeout: Duration, down: &BTreeSet<i32>) -> Duration {
    if down.is_empty() {
        timeout
    } else {
        timeout.min(PROBE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::metadata::PartitionMetadata;
    use crate::kafka::types::{OffsetSpec, TopicPartition};

    #[test]
    fn batches_led_by_a_down_broker_are_set_apart() {
        let leaders: HashMap<(&str, i32), i32> =
            [(("t", 0), 1), (("t", 1), 2)].into_iter().collect();
        let batch = |p| OffsetsBatch {
            partitions: vec![(TopicPartition::new("t", p), OffsetSpec::Latest)],
        };
        let down: BTreeSet<i32> = [2].into();
        let (probe, normal) = split_batches(vec![batch(0), batch(1), batch(7)], &leaders, &down);
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0].partitions[0].0, TopicPartition::new("t", 1));
        // A partition without a known leader is asked normally.
        assert_eq!(normal.len(), 2);
        assert_eq!(
            cluster_wide_timeout(Duration::from_secs(10), &down),
            PROBE_TIMEOUT
        );
        let none = BTreeSet::new();
        assert_eq!(
            cluster_wide_timeout(Duration::from_secs(10), &none),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn a_group_is_coordinated_by_its_group_log_partition_leader() {
        let log = TopicMetadata {
            name: GROUP_LOG_TOPIC.to_string(),
            internal: true,
            partitions: (0..10)
                .map(|p| PartitionMetadata {
                    partition: p,
                    leader: Some(100 + p),
                    replicas: Default::default(),
                    isr: Default::default(),
                    error: None,
                })
                .collect(),
            error: None,
        };
        let leaders: HashMap<(&str, i32), i32> =
            (0..10).map(|p| ((GROUP_LOG_TOPIC, p), 100 + p)).collect();
        let p = group_log_partition("g", 10).unwrap();
        assert_eq!(coordinator_of("g", Some(&log), &leaders), Some(100 + p));
        assert_eq!(coordinator_of("g", None, &leaders), None);
        let g = coordinator_down_group("g", 3);
        assert!(g.committed.is_empty() && g.members.is_empty());
        assert!(g.error.unwrap().starts_with(COORDINATOR_DOWN));
        assert_eq!(g.coordinator, Some(3));
    }
}
