//! The pure model: everything the screen and `snapshot --json` show is derived here from collector
//! snapshots, with no I/O, so it can be tested without Kafka or ClickHouse.
//!
//! `sources` keeps what the collectors published (last good snapshot, its age, the latest error);
//! `kafka` and `clickhouse` are derived from those snapshots and keep their own bounded history;
//! `pipelines` joins the two halves; `alerts` judges all of it against the thresholds.

pub mod clickhouse;
pub mod kafka;
pub mod kafka_history;
pub mod kafka_rollup;
pub mod kafka_status;
pub mod kafka_topics;
pub mod lag;
pub mod pipeline;

use std::time::SystemTime;

use serde::{Serialize, Serializer};

use crate::alerts::{AlertEngine, RuleSet, observe};
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::config::{Config, PipelineConfig};
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub sources: Sources,
    pub kafka: kafka::KafkaModel,
    pub clickhouse: clickhouse::ClickHouseModel,
    pub pipelines: Vec<pipeline::PipelineRow>,
    #[serde(serialize_with = "serialize_alerts")]
    pub alerts: AlertEngine,
    /// Critical alerts that have fired so far; the UI rings the bell when it grows.
    #[serde(skip)]
    pub criticals_fired: u64,
    #[serde(skip)]
    settings: Settings,
}

/// What the model needs from the config.
#[derive(Debug, Clone, Default)]
struct Settings {
    pipelines: Vec<PipelineConfig>,
    window_s: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sources {
    pub kafka: SourceStatus<KafkaSnapshot>,
    pub clickhouse: SourceStatus<ClickHouseSnapshot>,
}

impl Model {
    /// A model judged by the config's alert rules (validated when the config was loaded).
    pub fn new(config: &Config) -> Model {
        let mut model = Model {
            alerts: AlertEngine::new(RuleSet::new(&config.alerts).unwrap_or_default()),
            settings: Settings {
                pipelines: config.pipelines.clone(),
                window_s: config.clickhouse.window.as_secs(),
            },
            ..Model::default()
        };
        // The pipeline rows exist from the start (nothing found yet), so the screen's layout does
        // not jump when the first poll lands.
        model.derive(None);
        model
    }

    pub fn ingest_kafka(&mut self, status: SourceStatus<KafkaSnapshot>) {
        if let Some(snapshot) = &status.last_good
            && self.sources.kafka.last_good_at != status.last_good_at
        {
            self.kafka.update(snapshot);
        }
        let at = latest_event(&status);
        self.sources.kafka = status;
        self.derive(at);
    }

    pub fn ingest_clickhouse(&mut self, status: SourceStatus<ClickHouseSnapshot>) {
        if let Some(snapshot) = &status.last_good
            && self.sources.clickhouse.last_good_at != status.last_good_at
        {
            self.clickhouse.update(snapshot, self.alerts.rules());
        }
        let at = latest_event(&status);
        self.sources.clickhouse = status;
        self.derive(at);
    }

    /// Re-joins the halves and re-judges the alerts after either half changed.
    fn derive(&mut self, at: Option<SystemTime>) {
        self.pipelines =
            pipeline::pipeline_rows(&self.settings.pipelines, &self.kafka, &self.clickhouse);
        if let Some(at) = at {
            let observations = observe::observe(
                self,
                crate::time::unix_ms(at) / 1000,
                self.settings.window_s,
            );
            let fired = self.alerts.evaluate(observations, at);
            self.criticals_fired += fired.len() as u64;
        }
    }
}

/// When a source last reported anything, good or bad: the clock alerts run on, so replaying
/// recorded snapshots judges them as they happened.
fn latest_event<T>(status: &SourceStatus<T>) -> Option<SystemTime> {
    let failed = status.error.as_ref().map(|e| e.at);
    status.last_good_at.max(failed)
}

fn serialize_alerts<S: Serializer>(engine: &AlertEngine, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Alerts {
        active: Vec<crate::alerts::Alert>,
        history: Vec<crate::alerts::AlertEvent>,
    }
    Alerts {
        active: engine.active(),
        history: engine.history(),
    }
    .serialize(s)
}
