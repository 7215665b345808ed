//! The dashboard's update path: the collectors publish snapshots, the session ingests them on a
//! task of its own (deriving on a blocking thread, never on the UI's), and the newest finished
//! model is handed to the UI over a `watch` channel, which it swaps in without waiting.

use std::sync::Arc;

use tokio::sync::watch;

use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::config::Config;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::model::Model;
use crate::session::Session;
use crate::source::SourceStatus;

type Published<T> = watch::Receiver<SourceStatus<T>>;

/// Starts the session task on what the collectors publish (`Collectors::spawn`). It runs until
/// the returned receiver is dropped or both collectors stop.
pub fn spawn_session(
    config: &Config,
    kafka: Published<KafkaSnapshot>,
    clickhouse: Published<ClickHouseSnapshot>,
) -> watch::Receiver<Arc<Model>> {
    let session = Session::new(config);
    let (tx, rx) = watch::channel(Arc::clone(session.model()));
    tokio::spawn(run(session, kafka, clickhouse, tx));
    rx
}

async fn run(
    mut session: Session,
    mut kafka_rx: Published<KafkaSnapshot>,
    mut clickhouse_rx: Published<ClickHouseSnapshot>,
    tx: watch::Sender<Arc<Model>>,
) {
    let (mut kafka_open, mut clickhouse_open) = (true, true);
    // The model the UI was showing before the latest one: held here so that its last reference is
    // dropped on the blocking thread below, not on the UI's (freeing a model of 200,000
    // group-partitions takes milliseconds).
    let mut retired: Option<Arc<Model>> = None;
    while kafka_open || clickhouse_open {
        tokio::select! {
            changed = kafka_rx.changed(), if kafka_open => kafka_open = changed.is_ok(),
            changed = clickhouse_rx.changed(), if clickhouse_open => clickhouse_open = changed.is_ok(),
            _ = tx.closed() => return,
        }
        // Both halves as they are now: whatever else arrived meanwhile is taken in the same change.
        let kafka = kafka_rx.borrow_and_update().clone();
        let clickhouse = clickhouse_rx.borrow_and_update().clone();
        let shown = Arc::clone(session.model());
        let derived = tokio::task::spawn_blocking(move || {
            drop(retired);
            let changed = session.ingest(Some(kafka), Some(clickhouse));
            (session, changed)
        })
        .await;
        let changed;
        (session, changed) = match derived {
            Ok(result) => result,
            // A panic in derivation: the UI keeps the last model (the panic hook has reported it).
            Err(_) => return,
        };
        retired = Some(shown);
        if changed && tx.send(Arc::clone(session.model())).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `:ctx` switches by dropping the old session's receiver: the session task ends and drops
    /// the collectors' receivers, so each collector sees its channel closed and stops.
    #[tokio::test]
    async fn dropping_the_models_receiver_stops_the_session_and_releases_the_collectors() {
        let (kafka_tx, kafka_rx) = watch::channel(SourceStatus::default());
        let (ch_tx, ch_rx) = watch::channel(SourceStatus::default());
        let models = spawn_session(&Config::default(), kafka_rx, ch_rx);
        tokio::task::yield_now().await;
        assert!(!kafka_tx.is_closed() && !ch_tx.is_closed(), "running");
        drop(models);
        let both = async {
            kafka_tx.closed().await;
            ch_tx.closed().await;
        };
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), both).await;
        assert!(
            stopped.is_ok(),
            "the session still holds the collectors' channels"
        );
    }
}
