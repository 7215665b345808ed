//! Starts one collector task per source and hands out the channels the UI reads.

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
    /// Notify to poll every source now instead of at the next tick.
    pub refresh_now: Arc<Notify>,
    /// The partition whose parts the ClickHouse collector fetches at each poll (None: none).
    pub focus: watch::Sender<Option<PartsFocus>>,
}

impl Collectors {
    /// Spawns the collector tasks on the current tokio runtime. Fails only on configuration the
    /// Kafka client rejects outright (an unknown librdkafka property, say).
    pub fn spawn(config: &Config) -> anyhow::Result<Collectors> {
        let kafka = KafkaCollector::new(&config.kafka)
            .map_err(|e| anyhow::anyhow!("kafka client configuration: {e}"))?;
        let (focus, focus_rx) = watch::channel(None);
        let clickhouse = ClickHouseCollector::new(&config.clickhouse).with_focus(focus_rx);
        let refresh_now = Arc::new(Notify::new());
        let (kafka_tx, kafka_rx) = watch::channel(SourceStatus::default());
        let (ch_tx, ch_rx) = watch::channel(SourceStatus::default());
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_now),
            kafka_tx,
            kafka,
        ));
        tokio::spawn(run_collector(
            config.refresh,
            Arc::clone(&refresh_now),
            ch_tx,
            clickhouse,
        ));
        Ok(Collectors {
            kafka: kafka_rx,
            clickhouse: ch_rx,
            refresh_now,
            focus,
        })
    }
}
