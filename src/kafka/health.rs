//! Which brokers answered this poll: every broker the cluster refers to, from the metadata and
//! the replica lists, with whether it answered for the partitions it leads.

use std::collections::BTreeMap;

use foldhash::HashMap;

use super::broker_probe::Unreachable;

use super::metadata::ClusterMetadata;
use super::snapshot::BrokerHealth;
use super::types::{PartitionOffset, TopicPartition};

/// Brokers from the metadata plus any only named in replica lists (a broker that died or was
/// fenced leaves the metadata but stays in the replica lists of its partitions).
pub fn broker_health(
    metadata: &ClusterMetadata,
    asked: &[TopicPartition],
    leaders: &HashMap<(&str, i32), i32>,
    end_of: &HashMap<(&str, i32), &PartitionOffset>,
    unreachable: &BTreeMap<i32, Unreachable>,
) -> Vec<BrokerHealth> {
    let mut health: BTreeMap<i32, BrokerHealth> = BTreeMap::new();
    let blank = |id: i32| BrokerHealth {
        id,
        host: None,
        port: None,
        in_metadata: false,
        leader_of: 0,
        answered: None,
        unreachable: None,
        error: None,
    };
    for b in &metadata.brokers {
        let h = health.entry(b.id).or_insert_with(|| blank(b.id));
        h.host = Some(b.host.clone());
        h.port = Some(b.port);
        h.in_metadata = true;
    }
    for t in &metadata.topics {
        for p in &t.partitions {
            for &id in p.replicas.iter().chain(p.isr.iter()).chain(p.leader.iter()) {
                health.entry(id).or_insert_with(|| blank(id));
            }
        }
    }
    for tp in asked {
        let key = (&*tp.topic, tp.partition);
        let Some(&leader) = leaders.get(&key) else {
            continue;
        };
        let h = health.entry(leader).or_insert_with(|| blank(leader));
        h.leader_of += 1;
        match end_of.get(&key) {
            // librdkafka can end a ListOffsets call whose leader never answered with the
            // partition listed, no offset and no error: that is no answer either.
            Some(o) if o.error.is_none() && o.offset.is_some() => h.answered = Some(true),
            other => {
                if h.answered.is_none() {
                    h.answered = Some(false);
                }
                if h.error.is_none() {
                    h.error = other.and_then(|o| o.error.clone());
                }
            }
        }
    }
    for h in health.values_mut() {
        if h.answered == Some(true) {
            h.error = None;
        }
    }
    // A broker that answered this poll's ListOffsets after all is up (it came back, or the check
    // hit a hiccup). One the metadata no longer lists is down anyway.
    for (id, u) in unreachable {
        if let Some(h) = health.get_mut(id).filter(|h| h.answered != Some(true)) {
            h.unreachable = Some(u.reason.clone());
            if h.error.is_none() {
                h.error = Some(u.reason.clone());
            }
        }
    }
    health.into_values().collect()
}
