//! Cluster metadata (brokers, topics, partitions, leaders, replicas, ISR) through rdkafka's safe API.

use std::time::Duration;

use rdkafka::client::Client;
use rdkafka::error::KafkaError;

use super::types::{BrokerIds, Node};

#[derive(Debug, Clone)]
pub struct ClusterMetadata {
    pub brokers: Vec<Node>,
    pub topics: Vec<TopicMetadata>,
}

#[derive(Debug, Clone)]
pub struct TopicMetadata {
    pub name: String,
    /// Kafka's own topics (`__consumer_offsets`, `__transaction_state`, ...).
    pub internal: bool,
    pub partitions: Vec<PartitionMetadata>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// None when the partition has no leader right now (offline).
    pub leader: Option<i32>,
    pub replicas: BrokerIds,
    pub isr: BrokerIds,
    pub error: Option<String>,
}

/// One Metadata request for every topic. Never creates topics: a request for all topics cannot.
pub fn fetch<C: rdkafka::ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<ClusterMetadata, KafkaError> {
    let md = client.fetch_metadata(None, timeout)?;
    let brokers = md
        .brokers()
        .iter()
        .map(|b| Node {
            id: b.id(),
            host: b.host().to_string(),
            port: u16::try_from(b.port()).unwrap_or(0),
            rack: None,
        })
        .collect();
    let mut topics: Vec<TopicMetadata> = md
        .topics()
        .iter()
        .map(|t| {
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions()
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.id(),
                    leader: (p.leader() >= 0).then_some(p.leader()),
                    replicas: p.replicas().into(),
                    isr: p.isr().into(),
                    error: p
                        .error()
                        .map(|e| format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(e))),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            TopicMetadata {
                name: t.name().to_string(),
                internal: t.name().starts_with("__"),
                partitions,
                error: t
                    .error()
                    .map(|e| format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(e))),
            }
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ClusterMetadata { brokers, topics })
}
