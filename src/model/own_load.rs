//! What pipetop itself costs the servers it watches, for `:self`: the Kafka requests and phase
//! times of the latest poll, and per ClickHouse host the server time its queries took (read back
//! from the host's query_log, `clickhouse::own_load`) and which sections are on a cadence.

use crate::clickhouse::own_load::OwnLoad;
use crate::clickhouse::snapshot::CadencedRead;
use crate::clickhouse::snapshot::{ClickHouseSnapshot, HostOutcome, Section};
use crate::kafka::snapshot::{KafkaSnapshot, PhaseTimes, RequestCounts};

/// Server time pipetop's queries may cost one ClickHouse host per poll: above it, `:self` shows
/// the figure as a warning (a monitor must not become the incident).
pub const SERVER_MS_PER_POLL_BUDGET: f64 = 50.0;

#[derive(Debug, Clone, Default)]
pub struct PipetopLoad {
    pub kafka: Option<KafkaLoad>,
    pub hosts: Vec<HostLoad>,
}

/// The latest Kafka poll: what it asked the brokers and where its time went.
#[derive(Debug, Clone, Copy)]
pub struct KafkaLoad {
    pub poll_ms: u64,
    pub requests: u32,
    pub by_kind: RequestCounts,
    pub phases_ms: PhaseTimes,
}

/// One ClickHouse host: its latest poll, and its own-load read-back.
#[derive(Debug, Clone)]
pub struct HostLoad {
    pub host: String,
    /// The latest poll's wall time and queries; None when the host did not answer.
    pub poll: Option<(u64, u32)>,
    /// The read-back, or why there is none (host down, no query_log, not read yet).
    pub load: Result<OwnLoad, String>,
    /// When the read-back was made (Unix ms).
    pub read_at_ms: Option<i64>,
    /// The sections whose figures are kept from an earlier poll, and when each was read.
    pub cadenced: Vec<CadencedRead>,
}

impl PipetopLoad {
    /// What the Kafka poll of `snapshot` cost.
    pub fn kafka_of(snapshot: &KafkaSnapshot) -> KafkaLoad {
        KafkaLoad {
            poll_ms: snapshot.poll_ms,
            requests: snapshot.requests,
            by_kind: snapshot.requests_by_kind,
            phases_ms: snapshot.phases_ms,
        }
    }

    /// What the ClickHouse poll of `snapshot` cost each host, and each host's own-load read-back.
    pub fn hosts_of(snapshot: &ClickHouseSnapshot) -> Vec<HostLoad> {
        snapshot
            .hosts
            .iter()
            .map(|outcome| match outcome {
                HostOutcome::Ok(h) => HostLoad {
                    host: h.host.clone(),
                    poll: Some((h.poll_ms, h.queries)),
                    load: match &h.own_load {
                        Section::Ok { data } => Ok(data.clone()),
                        Section::Unavailable { reason } => Err(reason.clone()),
                        Section::Failed { error } => Err(error.clone()),
                    },
                    read_at_ms: Some(
                        h.read_at_ms(crate::clickhouse::section_id::SectionId::OwnLoad),
                    ),
                    cadenced: h.cadenced.clone(),
                },
                HostOutcome::Failed { host, error } => HostLoad {
                    host: host.clone(),
                    poll: None,
                    load: Err(error.clone()),
                    read_at_ms: None,
                    cadenced: Vec::new(),
                },
            })
            .collect()
    }
}
