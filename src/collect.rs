//! Starts one collector task per source and hands out the channels the session reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Both collectors keep their latest snapshot through the next poll while this is set.
    keep_latest: Arc<AtomicBool>,
    /// The partition whose parts the ClickHouse collector fetches at each poll (None: none).
    focus: watch::Sender<Option<PartsFocus>>,
}

/// What the UI may ask of the collectors, without holding their channels.
#[derive(Clone)]
pub struct CollectorControl {
    refresh_kafka: Arc<Notify>,
    refresh_clickhouse: Arc<Notify>,
    keep_latest: Arc<AtomicBool>,
    focus: watch::Sender<Option<PartsFocus>>,
}

impl CollectorControl {
    /// Polls every source now instead of at the next tick; a poll already running is followed by
    /// another as soon as it ends.
    pub fn refresh(&self) {
        self.refresh_kafka.notify_one();
        self.refresh_clickhouse.notify_one();
    }

    /// While `keep` holds, the collectors keep their latest snapshots through their next polls,
    /// instead of letting go when those start: the screen waits for a model it can export or
    /// freeze with its snapshots (see `run_collector`).
    pub fn keep_snapshots(&self, keep: bool) {
        self.keep_latest.store(keep, Ordering::Release);
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
        let keep_latest = Arc::new(AtomicBool::new(false));
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_kafka),
            Arc::clone(&keep_latest),
            kafka_tx,
            kafka,
        ));
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_clickhouse),
            Arc::clone(&keep_latest),
            ch_tx,
            clickhouse,
        ));
        Ok(Collectors {
            kafka: kafka_rx,
            clickhouse: ch_rx,
            refresh_kafka,
            refresh_clickhouse,
            keep_latest,
            focus,
        })
    }

    pub fn control(&self) -> CollectorControl {
        CollectorControl {
            refresh_kafka: Arc::clone(&self.refresh_kafka),
            refresh_clickhouse: Arc::clone(&self.refresh_clickhouse),
            keep_latest: Arc::clone(&self.keep_latest),
            focus: self.focus.clone(),
        }
    }
}
