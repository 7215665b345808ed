//! The Kafka collector: one read-only poll of the cluster's groups, commits and offsets.
//!
//! Read-only by construction: it only issues admin requests (metadata, ListGroups, DescribeGroups,
//! OffsetFetch, ListOffsets). It never creates a consumer, so it can neither join a group nor commit.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rdkafka::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use super::admin::{Admin, AdminError, OffsetSpec, PartitionOffset, TopicPartition};
use super::metadata::{self, TopicMetadata};
use super::snapshot::{Committed, Group, KafkaSnapshot, Member, Partition, Topic};
use crate::config::KafkaConfig;
use crate::source::Collector;

/// Concurrent OffsetFetch requests; enough to keep thousands of groups inside one refresh without
/// flooding the group coordinators.
const MAX_OFFSET_FETCHES_IN_FLIGHT: usize = 256;

pub struct KafkaCollector {
    admin: Arc<Admin>,
    config: KafkaConfig,
}

impl KafkaCollector {
    pub fn new(config: &KafkaConfig) -> Result<KafkaCollector, AdminError> {
        let admin = Admin::new(&client_config(config))?;
        Ok(KafkaCollector {
            admin: Arc::new(admin),
            config: config.clone(),
        })
    }
}

impl Collector for KafkaCollector {
    type Snapshot = KafkaSnapshot;

    /// One full poll. The admin calls block, so they run on tokio's blocking pool.
    async fn poll(&mut self) -> Result<KafkaSnapshot, String> {
        let admin = Arc::clone(&self.admin);
        let config = self.config.clone();
        match tokio::task::spawn_blocking(move || poll_blocking(&admin, &config)).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("kafka poll task failed: {e}")),
        }
    }
}

/// librdkafka settings for the admin client: the user's properties verbatim, then ours.
pub fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut cc = ClientConfig::new();
    for (key, value) in &config.properties {
        cc.set(key, value);
    }
    cc.set("bootstrap.servers", &config.bootstrap_servers);
    cc.set("client.id", "pipetop");
    // Without this librdkafka logs every broker disconnect to stderr, on top of our screen.
    cc.set("log_level", "3");
    cc
}

fn poll_blocking(admin: &Admin, config: &KafkaConfig) -> Result<KafkaSnapshot, AdminError> {
    let started = Instant::now();
    let timeout = config.request_timeout;
    let mut requests = 0u32;

    let metadata =
        metadata::fetch(admin.client().inner(), timeout).map_err(|e| AdminError::Kafka {
            op: "metadata",
            code: e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown),
            message: e.to_string(),
        })?;
    requests += 1;
    let cluster = admin.describe_cluster(timeout).ok();
    requests += 1;

    let listings = admin.list_groups(timeout)?;
    requests += 1;
    let group_ids: Vec<String> = listings.iter().map(|g| g.group_id.clone()).collect();
    let descriptions = admin.describe_groups(&group_ids, timeout)?;
    requests += 1;
    let offsets = admin.list_group_offsets(&group_ids, MAX_OFFSET_FETCHES_IN_FLIGHT, timeout)?;
    requests += u32::try_from(group_ids.len()).unwrap_or(u32::MAX);

    // Kafka's own topics (__consumer_offsets, ...) are noise to a pipeline's on-call engineer.
    let visible_topics: Vec<&TopicMetadata> =
        metadata.topics.iter().filter(|t| !t.internal).collect();
    let partitions: Vec<TopicPartition> = visible_topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| TopicPartition {
                topic: t.name.clone(),
                partition: p.partition,
            })
        })
        .collect();
    let ends = admin.list_offsets(&partitions, OffsetSpec::Latest, timeout)?;
    let starts = admin.list_offsets(&partitions, OffsetSpec::Earliest, timeout)?;
    requests += 2;

    let end_of = index_offsets(&ends);
    let start_of = index_offsets(&starts);
    let topics = visible_topics
        .iter()
        .map(|t| Topic {
            name: t.name.clone(),
            internal: t.internal,
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let key = (t.name.clone(), p.partition);
                    let end = end_of.get(&key);
                    let start = start_of.get(&key);
                    Partition {
                        partition: p.partition,
                        leader: p.leader,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        start_offset: start.and_then(|o| o.offset),
                        end_offset: end.and_then(|o| o.offset),
                        error: p
                            .error
                            .clone()
                            .or_else(|| end.and_then(|o| o.error.clone())),
                    }
                })
                .collect(),
        })
        .collect();

    let mut offsets_by_group: std::collections::HashMap<String, _> = offsets
        .into_iter()
        .map(|o| (o.group_id.clone(), o))
        .collect();
    let mut groups: Vec<Group> = descriptions
        .into_iter()
        .map(|d| {
            let fetched = offsets_by_group.remove(&d.group_id);
            let mut committed: Vec<Committed> = fetched
                .iter()
                .flat_map(|f| f.offsets.iter())
                .filter_map(|c| {
                    c.offset.map(|offset| Committed {
                        topic: c.tp.topic.clone(),
                        partition: c.tp.partition,
                        offset,
                    })
                })
                .collect();
            committed.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            let error = d.error.clone().or_else(|| fetched.and_then(|f| f.error));
            Group {
                group_id: d.group_id,
                state: d.state,
                partition_assignor: d.partition_assignor,
                coordinator: d.coordinator.map(|n| n.id),
                members: d
                    .members
                    .into_iter()
                    .map(|m| Member {
                        consumer_id: m.consumer_id,
                        client_id: m.client_id,
                        host: m.host,
                        assignment: m.assignment,
                    })
                    .collect(),
                committed,
                error,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));

    Ok(KafkaSnapshot {
        taken_at_ms: crate::time::unix_ms(SystemTime::now()),
        poll_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        requests,
        cluster_id: cluster.as_ref().and_then(|c| c.cluster_id.clone()),
        controller_id: cluster
            .as_ref()
            .and_then(|c| c.controller.as_ref().map(|n| n.id)),
        brokers: metadata.brokers,
        topics,
        groups,
    })
}

fn index_offsets(
    offsets: &[PartitionOffset],
) -> std::collections::HashMap<(String, i32), &PartitionOffset> {
    offsets
        .iter()
        .map(|o| ((o.tp.topic.clone(), o.tp.partition), o))
        .collect()
}
