//! The names of the ClickHouse sections, as the config file and the snapshot spell them. Plain
//! data: the config refers to sections without depending on how they are queried.

use serde::{Deserialize, Deserializer, Serialize};

/// The sections, for per-section time limits (`[clickhouse.section_time_limits]`, keyed by these
/// names in snake_case) and for naming them in errors and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionId {
    Tables,
    Partitions,
    Thresholds,
    DetachedParts,
    Merges,
    Mutations,
    Inserts,
    FailedInserts,
    Latency,
    SlowQueries,
    InsertCounters,
    KafkaConsumers,
    Freshness,
    Errors,
    /// The parts of the partition the UI drilled into (on demand).
    FocusedParts,
    Replicas,
    ReplicationQueue,
    Keeper,
    Disks,
    /// Tracked memory (read with the counters) against the limit (`MemoryLimit`).
    Memory,
    /// The server's memory limit (changes with its config only).
    MemoryLimit,
    DistributionQueue,
    KafkaChains,
    ViewRuns,
    KafkaEvents,
    /// Async-insert flushes that failed (system.asynchronous_insert_log).
    AsyncInserts,
    /// pipetop's own queries, read back from query_log.
    OwnLoad,
    /// Which kinds of table the server has (which sections a poll can skip).
    Inventory,
}

impl SectionId {
    pub const ALL: [SectionId; 28] = [
        SectionId::Tables,
        SectionId::Partitions,
        SectionId::Thresholds,
        SectionId::DetachedParts,
        SectionId::Merges,
        SectionId::Mutations,
        SectionId::Inserts,
        SectionId::FailedInserts,
        SectionId::Latency,
        SectionId::SlowQueries,
        SectionId::InsertCounters,
        SectionId::KafkaConsumers,
        SectionId::Freshness,
        SectionId::Errors,
        SectionId::FocusedParts,
        SectionId::Replicas,
        SectionId::ReplicationQueue,
        SectionId::Keeper,
        SectionId::Disks,
        SectionId::Memory,
        SectionId::MemoryLimit,
        SectionId::DistributionQueue,
        SectionId::KafkaChains,
        SectionId::ViewRuns,
        SectionId::KafkaEvents,
        SectionId::AsyncInserts,
        SectionId::OwnLoad,
        SectionId::Inventory,
    ];

    /// The name in the config file and the snapshot (snake_case, as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Tables => "tables",
            SectionId::Partitions => "partitions",
            SectionId::Thresholds => "thresholds",
            SectionId::DetachedParts => "detached_parts",
            SectionId::Merges => "merges",
            SectionId::Mutations => "mutations",
            SectionId::Inserts => "inserts",
            SectionId::FailedInserts => "failed_inserts",
            SectionId::Latency => "latency",
            SectionId::SlowQueries => "slow_queries",
            SectionId::InsertCounters => "insert_counters",
            SectionId::KafkaConsumers => "kafka_consumers",
            SectionId::Freshness => "freshness",
            SectionId::Errors => "errors",
            SectionId::FocusedParts => "focused_parts",
            SectionId::Replicas => "replicas",
            SectionId::ReplicationQueue => "replication_queue",
            SectionId::Keeper => "keeper",
            SectionId::Disks => "disks",
            SectionId::Memory => "memory",
            SectionId::MemoryLimit => "memory_limit",
            SectionId::DistributionQueue => "distribution_queue",
            SectionId::KafkaChains => "kafka_chains",
            SectionId::ViewRuns => "view_runs",
            SectionId::KafkaEvents => "kafka_events",
            SectionId::AsyncInserts => "async_inserts",
            SectionId::OwnLoad => "own_load",
            SectionId::Inventory => "inventory",
        }
    }
}

/// By name; an unknown one is an error listing every name (a config key names sections).
impl<'de> Deserialize<'de> for SectionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SectionId, D::Error> {
        let name = String::deserialize(d)?;
        SectionId::ALL
            .into_iter()
            .find(|id| id.name() == name)
            .ok_or_else(|| {
                let names: Vec<String> = SectionId::ALL
                    .iter()
                    .map(|id| format!("`{}`", id.name()))
                    .collect();
                serde::de::Error::custom(format!(
                    "unknown section `{name}`, expected one of {}",
                    names.join(", ")
                ))
            })
    }
}
