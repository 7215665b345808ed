//! Starts one collector task per source and hands out the channels the session reads.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use crate::clickhouse::collector::ClickHouseCollector;
use crate::clickhouse::snapshot::{ClickHouseSnapshot, PartsFocus};
use crate::config::Config;
use crate::kafka::collector::KafkaCollector;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::{SourceStatus, run_collector};

pub struct Collectors {
    pub kafka: watch::Receiver<SourceStatus<KafkaSnapshot>>,
    pub clickhouse: watch::Receiver<SourceStatus<ClickHouseSnapshot>>,
    /// One per collector: a request to poll now that arrives mid-poll is kept (`notify_one`).
    refresh_kafka: Arc<Notify>,
    refresh_clickhouse: Arc<Notify>,
    /// The partition whose parts the ClickHouse collector fetches at each poll (None: none).
    focus: watch::Sender<Option<PartsFocus>>,
}

/// What the UI may ask of the collectors, without holding their channels.
#[derive(Clone)]
pub struct CollectorControl {
    refresh_kafka: Arc<Notify>,
    refresh_clickhouse: Arc<Notify>,
    focus: watch::Sender<Option<PartsFocus>>,
}

impl CollectorControl {
    /// Polls every source now instead of at the next tick; a poll already running is followed by
    /// another as soon as it ends.
    pub fn refresh(&self) {
        self.refresh_kafka.notify_one();
        self.refresh_clickhouse.notify_one();
    }

    /// Tells the ClickHouse collector which partition's parts to fetch, and fetches them now.
    pub fn focus(&self, focus: Option<PartsFocus>) {
        if *self.focus.borrow() != focus {
            self.focus.send_replace(focus);
            self.refresh_clickhouse.notify_one();
        }
    }
}

impl Collectors {
    /// Spawns the collector tasks on the current tokio runtime. Fails only on configuration the
    /// Kafka client rejects outright (an unknown librdkafka property, say).
    pub fn spawn(config: &Config) -> anyhow::Result<Collectors> {
        let kafka = KafkaCollector::new(&config.kafka)
            .map_err(|e| anyhow::anyhow!("kafka client configuration: {e}"))?
            .with_named_topics(config.pipelines.iter().map(|p| p.topic.clone()));
        let (focus, focus_rx) = watch::channel(None);
        // A stalled host must not hold back the others' figures past this refresh's tick.
        let clickhouse = ClickHouseCollector::new(&config.clickhouse)
            .with_focus(focus_rx)
            .with_patience(config.refresh / 2);
        let refresh_kafka = Arc::new(Notify::new());
        let refresh_clickhouse = Arc::new(Notify::new());
        let (kafka_tx, kafka_rx) = watch::channel(SourceStatus::default());
        let (ch_tx, ch_rx) = watch::channel(SourceStatus::default());
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_kafka),
            kafka_tx,
            kafka,
        ));
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_clickhouse),
            ch_tx,
            clickhouse,
        ));
        Ok(Collectors {
            kafka: kafka_rx,
            clickhouse: ch_rx,
            refresh_kafka,
            refresh_clickhouse,
            focus,
        })
    }

    pub fn control(&self) -> CollectorControl {
        CollectorControl {
            refresh_kafka: Arc::clone(&self.refresh_kafka),
            refresh_clickhouse: Arc::clone(&self.refresh_clickhouse),
            focus: self.focus.clone(),
        }
    }
}
