//! What the ClickHouse hosts are doing right now, gathered across hosts for the activity screens:
//! merges in flight, Kafka-engine consumers, server errors, partitions, the parts of the partition
//! the user has open, and each host's query latency.

use serde::Serialize;

use crate::clickhouse::snapshot::{
    FocusedParts, HostSnapshot, KafkaConsumer, KindLatency, Merge, PartitionParts, Section,
    ServerError,
};

/// One section's rows from every host that answered, and the first reason a host could not say.
#[derive(Debug, Clone, Serialize)]
pub struct AcrossHosts<T> {
    pub rows: Vec<OnHost<T>>,
    /// "not available on ..." or "<host>: <error>" of the first host whose section has no data.
    pub problem: Option<String>,
}

impl<T> Default for AcrossHosts<T> {
    fn default() -> Self {
        AcrossHosts {
            rows: Vec::new(),
            problem: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OnHost<T> {
    pub host: String,
    pub item: T,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Activity {
    pub merges: AcrossHosts<Merge>,
    pub kafka_consumers: AcrossHosts<KafkaConsumer>,
    pub errors: AcrossHosts<ServerError>,
    /// Partitions of every MergeTree table (for a table's drill-down).
    pub partitions: AcrossHosts<PartitionParts>,
    /// Query latency by kind per host, for hosts whose latency section answered.
    pub latency: Vec<OnHost<Vec<KindLatency>>>,
    /// Active parts of the partition the user has open, from the first host that has them.
    pub focused_parts: Option<FocusedParts>,
}

impl Activity {
    pub fn gather(hosts: &[&HostSnapshot]) -> Activity {
        Activity {
            merges: across(hosts, |h| &h.merges),
            kafka_consumers: across(hosts, |h| &h.kafka_consumers),
            errors: across(hosts, |h| &h.errors),
            partitions: across(hosts, |h| &h.partitions),
            latency: hosts
                .iter()
                .filter_map(|h| {
                    h.latency.data().map(|l| OnHost {
                        host: h.host.clone(),
                        item: l.clone(),
                    })
                })
                .collect(),
            focused_parts: hosts.iter().find_map(|h| h.focused_parts.clone()),
        }
    }
}

pub(crate) fn across<T: Clone>(
    hosts: &[&HostSnapshot],
    section: impl Fn(&HostSnapshot) -> &Section<Vec<T>>,
) -> AcrossHosts<T> {
    let mut out = AcrossHosts::default();
    for h in hosts {
        match section(h) {
            Section::Ok { data } => out.rows.extend(data.iter().map(|item| OnHost {
                host: h.host.clone(),
                item: item.clone(),
            })),
            Section::Unavailable { reason } => {
                out.problem = out.problem.or_else(|| Some(reason.clone()))
            }
            Section::Failed { error } => {
                out.problem = out.problem.or_else(|| Some(format!("{}: {error}", h.host)))
            }
        }
    }
    out
}
