//! The dashboard's update path: the collectors publish snapshots, the session derives each model
//! on a thread of its own (never the UI's), and the newest finished model is handed to the UI over
//! a `watch` channel, which it swaps in without waiting.
//!
//! One thread, not the blocking pool: models are built and freed where they were allocated, so
//! the allocator does not keep a generation of 200,000 rows alive in each of several per-thread
//! arenas (peak RSS of `serve` at 20,000 partitions and 1,000 groups: 964 MiB with the pool; of the
//! dashboard: 720 MiB while it kept the previous model, 303 MiB with this thread; `measure-cost`).

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::watch;

use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::config::Config;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::model::Model;
use crate::recording::recorder::RecordTap;
use crate::session::Session;
use crate::source::SourceStatus;

type Published<T> = watch::Receiver<SourceStatus<T>>;

/// What the session thread is told.
enum Message {
    /// A collector published: ingest what the channels hold now.
    Changed,
    /// A model the UI no longer shows, to free here rather than on the UI thread.
    Retire(Arc<Model>),
}

/// The running session: its models, and a way to hand back the ones no longer shown. Dropping it
/// stops the session thread, which drops the collectors' channels, and so the collectors.
pub struct SessionHandle {
    pub models: watch::Receiver<Arc<Model>>,
    messages: mpsc::Sender<Message>,
}

impl SessionHandle {
    /// Frees a model the UI replaced on the session thread: a model of 200,000 group-partitions
    /// takes milliseconds to free.
    pub fn retire(&self, model: Option<Arc<Model>>) {
        if let Some(model) = model {
            // A session that has stopped frees nothing more: then the model is freed here.
            let _ = self.messages.send(Message::Retire(model));
        }
    }
}

/// Starts the session thread on what the collectors publish (`Collectors::spawn`), and a task
/// that tells it when they publish. With a `record` tap, each batch the session ingests is
/// offered to the recorder (never waited for).
pub fn spawn_session(
    config: &Config,
    kafka: Published<KafkaSnapshot>,
    clickhouse: Published<ClickHouseSnapshot>,
    record: Option<RecordTap>,
) -> anyhow::Result<SessionHandle> {
    spawn(Session::new(config), kafka, clickhouse, record)
}

/// [`spawn_session`] for a session built by the caller (`serve`'s, without events).
pub fn spawn(
    session: Session,
    kafka: Published<KafkaSnapshot>,
    clickhouse: Published<ClickHouseSnapshot>,
    record: Option<RecordTap>,
) -> anyhow::Result<SessionHandle> {
    let (tx, models) = watch::channel(Arc::clone(session.model()));
    let (messages, inbox) = mpsc::channel();
    let (kafka_now, clickhouse_now) = (kafka.clone(), clickhouse.clone());
    let models_closed = tx.clone();
    std::thread::Builder::new()
        .name("pipetop-session".into())
        .spawn(move || derive(session, kafka_now, clickhouse_now, inbox, tx, record))
        .map_err(|e| anyhow::anyhow!("cannot start the session thread: {e}"))?;
    tokio::spawn(notify(kafka, clickhouse, messages.clone(), models_closed));
    Ok(SessionHandle { models, messages })
}

/// Tells the session thread each time a collector publishes, until both stop or nobody reads the
/// models any more.
async fn notify(
    mut kafka: Published<KafkaSnapshot>,
    mut clickhouse: Published<ClickHouseSnapshot>,
    messages: mpsc::Sender<Message>,
    models: watch::Sender<Arc<Model>>,
) {
    let (mut kafka_open, mut clickhouse_open) = (true, true);
    while kafka_open || clickhouse_open {
        tokio::select! {
            changed = kafka.changed(), if kafka_open => kafka_open = changed.is_ok(),
            changed = clickhouse.changed(), if clickhouse_open => clickhouse_open = changed.is_ok(),
            _ = models.closed() => return,
        }
        // Marked seen here; the thread reads whatever the channels hold when it gets to it.
        kafka.borrow_and_update();
        clickhouse.borrow_and_update();
        if messages.send(Message::Changed).is_err() {
            return;
        }
    }
}

/// The session thread: ingests once per batch of news (however many publications queued up
/// while it was deriving), frees retired models, and stops when every sender is gone.
fn derive(
    mut session: Session,
    kafka: Published<KafkaSnapshot>,
    clickhouse: Published<ClickHouseSnapshot>,
    inbox: mpsc::Receiver<Message>,
    tx: watch::Sender<Arc<Model>>,
    mut record: Option<RecordTap>,
) {
    while let Ok(first) = inbox.recv() {
        let mut changed = false;
        for message in std::iter::once(first).chain(inbox.try_iter()) {
            match message {
                Message::Changed => changed = true,
                // Freed here, where models are built.
                Message::Retire(model) => drop(model),
            }
        }
        if !changed {
            continue;
        }
        let kafka_now = kafka.borrow().clone();
        let clickhouse_now = clickhouse.borrow().clone();
        // This thread holds them now: each collector lets go of its copy of the latest snapshot
        // when its next poll starts, not after that poll, beside the snapshot it builds.
        kafka_now.mark_taken();
        clickhouse_now.mark_taken();
        // Cheap clones (the snapshots are shared), kept only to offer them to the recorder.
        let offered = record
            .as_ref()
            .map(|_| (kafka_now.clone(), clickhouse_now.clone()));
        // The collectors' answers are freed by now: their pages go back before the model is
        // derived beside the one on screen, not under it (`freed_pages`).
        crate::freed_pages::release();
        if !session.ingest(Some(kafka_now), Some(clickhouse_now)) {
            continue;
        }
        if let (Some(tap), Some((k, c))) = (record.as_mut(), offered) {
            tap.offer(&k, &c, session.model().judged_at);
        }
        if tx.send(Arc::clone(session.model())).is_err() {
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
        let session = spawn_session(&Config::default(), kafka_rx, ch_rx, None).unwrap();
        tokio::task::yield_now().await;
        assert!(!kafka_tx.is_closed() && !ch_tx.is_closed(), "running");
        drop(session);
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
