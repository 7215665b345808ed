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
    /// read the derived fields above. Held weakly: nobody keeps a snapshot for the models' sake
    /// (the dashboard's collector lets go of its latest when the next poll starts, so at 20,000
    /// partitions 13 MiB less is alive while that poll builds the next).
    #[serde(skip)]
    snapshots: SnapshotLinks,
}

/// [`Snapshots`] held weakly, as the session passes them to each model. `None`: the source had no
/// good snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapshotLinks {
    pub kafka: Option<std::sync::Weak<KafkaSnapshot>>,
    pub clickhouse: Option<std::sync::Weak<ClickHouseSnapshot>>,
}

/// The snapshots a model was derived from are gone and newer ones are on the way: the source's
/// next poll started (and let them go) and has not failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotsReplaced;

impl std::fmt::Display for SnapshotsReplaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the snapshots this model was derived from were let go for a newer poll")
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
    /// Sources whose last good snapshot was let go when their next poll started, and that poll
    /// failed: the model still holds what was derived from it, the raw snapshot is gone until
    /// the source answers again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub let_go: Vec<&'static str>,
}

impl Model {
    /// A model of the two halves and the pipelines joining them; alerts are added by the judge.
    pub fn new(
        sources: Sources,
        kafka: Arc<kafka::KafkaModel>,
        clickhouse: Arc<clickhouse::ClickHouseModel>,
        pipelines: &[crate::config::PipelineConfig],
        pipetop_load: own_load::PipetopLoad,
        snapshots: SnapshotLinks,
    ) -> Model {
        let pipelines = pipeline::pipeline_rows(pipelines, &kafka, &clickhouse);
        Model {
            sources,
            kafka,
            clickhouse,
            pipelines,
            pipetop_load,
            snapshots,
            ..Model::default()
        }
    }

    /// The snapshots this model was derived from, while someone keeps them: the collector keeps
    /// the latest until its next poll starts, a paused screen the ones it froze, `snapshot` and a
    /// replay all of theirs. A source whose snapshot was let go and whose poll since has failed
    /// is listed in `let_go`; one whose next poll is still running is [`SnapshotsReplaced`].
    pub fn snapshots(&self) -> Result<Snapshots, SnapshotsReplaced> {
        fn upgrade<T>(
            name: &'static str,
            link: &Option<std::sync::Weak<T>>,
            state: &SourceState,
            let_go: &mut Vec<&'static str>,
        ) -> Result<Option<Arc<T>>, SnapshotsReplaced> {
            let Some(weak) = link else {
                return Ok(None);
            };
            match weak.upgrade() {
                Some(snapshot) => Ok(Some(snapshot)),
                None if state.error.is_some() => {
                    let_go.push(name);
                    Ok(None)
                }
                None => Err(SnapshotsReplaced),
            }
        }
        let mut let_go = Vec::new();
        let kafka = upgrade(
            "kafka",
            &self.snapshots.kafka,
            &self.sources.kafka,
            &mut let_go,
        )?;
        let clickhouse = upgrade(
            "clickhouse",
            &self.snapshots.clickhouse,
            &self.sources.clickhouse,
            &mut let_go,
        )?;
        Ok(Snapshots {
            kafka,
            clickhouse,
            let_go,
        })
    }
}
