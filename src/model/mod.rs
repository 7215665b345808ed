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
    /// read the derived fields above.
    #[serde(skip)]
    snapshots: Snapshots,
}

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
        snapshots: Snapshots,
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
            snapshots,
            ..Model::default()
        }
    }

    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }
}
