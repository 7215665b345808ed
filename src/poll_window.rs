//! Polling without a screen, for `snapshot`, `check` and the screenshot generator: both sources
//! polled together, each round ingested into one [`Session`] as one change.
//!
//! `--window W` means the same everywhere: one round at once, then one every `refresh`, the last
//! starting no later than W after the first, so a window of 10 s at a 2 s refresh is six rounds
//! (at 0, 2, 4, 6, 8 and 10 s) and a window of 0 s (the default) is one.

use std::time::{Duration, SystemTime};

use crate::clickhouse::collector::ClickHouseCollector;
use crate::clickhouse::snapshot::{ClickHouseSnapshot, PartsFocus};
use crate::config::Config;
use crate::kafka::collector::KafkaCollector;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::session::Session;
use crate::source::{Collector, SourceStatus};

pub struct Poller {
    kafka: KafkaCollector,
    clickhouse: ClickHouseCollector,
    kafka_status: SourceStatus<KafkaSnapshot>,
    clickhouse_status: SourceStatus<ClickHouseSnapshot>,
    focus: tokio::sync::watch::Sender<Option<PartsFocus>>,
    session: Session,
    rounds: u32,
}

impl Poller {
    /// Fails only on configuration the Kafka client rejects outright.
    pub fn new(config: &Config) -> anyhow::Result<Poller> {
        let kafka = KafkaCollector::new(&config.kafka)
            .map_err(|e| anyhow::anyhow!("kafka client configuration: {e}"))?
            .with_named_topics(config.pipelines.iter().map(|p| p.topic.clone()));
        let (focus, focus_rx) = tokio::sync::watch::channel(None);
        Ok(Poller {
            kafka,
            clickhouse: ClickHouseCollector::new(&config.clickhouse).with_focus(focus_rx),
            kafka_status: SourceStatus::default(),
            clickhouse_status: SourceStatus::default(),
            focus,
            session: Session::new(config),
            rounds: 0,
        })
    }

    /// One round: both sources polled concurrently, then ingested as one change.
    pub async fn poll(&mut self) {
        let (k, c) = tokio::join!(self.kafka.poll(), self.clickhouse.poll());
        let now = SystemTime::now();
        self.kafka_status.record(k, now);
        self.clickhouse_status.record(c, now);
        self.session.ingest(
            Some(self.kafka_status.clone()),
            Some(self.clickhouse_status.clone()),
        );
        self.rounds += 1;
    }

    /// Rounds at once and then every `refresh`, the last starting no later than `window` after
    /// the first (see [`round_starts`]). A round that overruns delays the next, never skips it.
    pub async fn poll_for(&mut self, window: Duration, refresh: Duration) {
        let start = tokio::time::Instant::now();
        for offset in round_starts(window, refresh) {
            tokio::time::sleep_until(start + offset).await;
            self.poll().await;
        }
    }

    /// The partition whose parts the next ClickHouse polls fetch.
    pub fn set_focus(&self, focus: Option<PartsFocus>) {
        self.focus.send_replace(focus);
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }
}

/// A poller that has polled for `window` (see the module docs).
pub async fn poll_window(config: &Config, window: Duration) -> anyhow::Result<Poller> {
    let mut poller = Poller::new(config)?;
    poller.poll_for(window, config.refresh).await;
    Ok(poller)
}

/// When each round of a window starts, counted from the first: 0, refresh, 2 × refresh, … up to
/// and including `window`.
pub fn round_starts(window: Duration, refresh: Duration) -> impl Iterator<Item = Duration> {
    let later = window
        .as_nanos()
        .checked_div(refresh.as_nanos())
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    (0..=later).map(move |i| refresh * i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_a_round_at_once_then_one_per_refresh() {
        let s = Duration::from_secs;
        let starts = |w, r| round_starts(s(w), s(r)).collect::<Vec<_>>();
        assert_eq!(starts(0, 2), [s(0)]);
        assert_eq!(starts(1, 2), [s(0)]);
        assert_eq!(starts(2, 2), [s(0), s(2)]);
        assert_eq!(starts(10, 2), [s(0), s(2), s(4), s(6), s(8), s(10)]);
        assert_eq!(starts(11, 2).len(), 6);
        assert_eq!(starts(5, 0), [s(0)], "no refresh: one round");
    }
}
