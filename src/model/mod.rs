//! The pure model: everything the screen, `snapshot` and `check` show, derived from collector
//! snapshots with no I/O, so it can be tested without Kafka or ClickHouse.
//!
//! A [`Model`] is plain data, built once per change by the session (`crate::session`) and never
//! changed afterwards: the UI holds it behind an `Arc` and draws it while the next one is built.
//! `kafka` and `clickhouse` are the two halves (each with the tracker that keeps its bounded
//! history), `pipeline` joins them; the alerts are judged from outside, on a finished model.
//! Each half also carries its charted series (`series`: bounded, shared between models, never
//! copied per update) and `projection` says when a series' trend supports a forecast.

pub mod clickhouse;
pub mod event;
pub mod kafka;
pub mod own_load;
pub mod packed_chunk;
pub mod pipeline;
pub mod projection;
pub mod series;

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::alerts::engine::Alerts;
use crate::alerts::rules::RuleSet;
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceState;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub sources: Sources,
    pub kafka: Arc<kafka::KafkaModel>,
    pub clickhouse: Arc<clickhouse::ClickHouseModel>,
    pub pipelines: Vec<pipeline::PipelineRow>,
    /// Judged by the session's alert engine on this model.
    pub alerts: Alerts,
    /// The thresholds the alerts use (overrides included): the screen colours figures by them.
    #[serde(skip)]
    pub thresholds: Arc<RuleSet>,
    /// The clock the alerts were judged on: the newest event of either source, never going back.
    #[serde(serialize_with = "crate::time::ser_opt_unix_ms")]
    pub judged_at: Option<SystemTime>,
    /// What changed, newest first (bounded: `timeline::TIMELINE_LEN`), shared between models until
    /// the next change.
    pub events: Arc<[event::Event]>,
    /// Critical alerts that have fired so far; the UI rings the bell when it grows.
    #[serde(skip)]
    pub criticals_fired: u64,
    /// What pipetop's own polls cost the servers (`:self`).
    #[serde(skip)]
    pub pipetop_load: own_load::PipetopLoad,
    /// The snapshots this model was derived from, for the JSON report only: screens and alerts
    /// read the derived fields above. Held weakly: the session keeps the latest snapshot of each
    /// source and lets the one before go as soon as a new one arrives, before it derives the
    /// next model, not when the screen lets go of this one (at 20,000 partitions that is 16 MiB
    /// less at the moment of derivation, when two models are alive).
    #[serde(skip)]
    snapshots: SnapshotLinks,
}

/// [`Snapshots`] held weakly. `None`: the source had no good snapshot.
#[derive(Debug, Clone, Default)]
struct SnapshotLinks {
    kafka: Option<std::sync::Weak<KafkaSnapshot>>,
    clickhouse: Option<std::sync::Weak<ClickHouseSnapshot>>,
}

/// The snapshots a model was derived from are no longer kept: a newer model replaced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotsReplaced;

impl std::fmt::Display for SnapshotsReplaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a newer poll replaced the snapshots this model was derived from")
    }
}

impl std::error::Error for SnapshotsReplaced {}

/// Whether and when each source answered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sources {
    pub kafka: SourceState,
    pub clickhouse: SourceState,
}

/// The latest good snapshot of each source, exactly as its collector published it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshots {
    pub kafka: Option<Arc<KafkaSnapshot>>,
    pub clickhouse: Option<Arc<ClickHouseSnapshot>>,
}

impl Model {
    /// A model of the two halves and the pipelines joining them; alerts are added by the judge.
    pub fn new(
        sources: Sources,
        kafka: Arc<kafka::KafkaModel>,
        clickhouse: Arc<clickhouse::ClickHouseModel>,
        pipelines: &[crate::config::PipelineConfig],
        snapshots: &Snapshots,
    ) -> Model {
        let pipelines = pipeline::pipeline_rows(pipelines, &kafka, &clickhouse);
        Model {
            sources,
            kafka,
            clickhouse,
            pipelines,
            pipetop_load: own_load::PipetopLoad::gather(
                snapshots.kafka.as_deref(),
                snapshots.clickhouse.as_deref(),
            ),
            snapshots: SnapshotLinks {
                kafka: snapshots.kafka.as_ref().map(Arc::downgrade),
                clickhouse: snapshots.clickhouse.as_ref().map(Arc::downgrade),
            },
            ..Model::default()
        }
    }

    /// The snapshots this model was derived from, while the session still keeps them: the
    /// latest model's always, an older one's until the session has taken a newer poll.
    pub fn snapshots(&self) -> Result<Snapshots, SnapshotsReplaced> {
        fn upgrade<T>(
            link: &Option<std::sync::Weak<T>>,
        ) -> Result<Option<Arc<T>>, SnapshotsReplaced> {
            link.as_ref()
                .map(|weak| weak.upgrade().ok_or(SnapshotsReplaced))
                .transpose()
        }
        Ok(Snapshots {
            kafka: upgrade(&self.snapshots.kafka)?,
            clickhouse: upgrade(&self.snapshots.clickhouse)?,
        })
    }
}
