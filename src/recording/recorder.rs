//! Recording off the update path: the session thread offers each batch it ingested to a
//! [`RecordTap`], which hands it to the recorder thread over a bounded channel without waiting.
//! When the recorder falls behind (a slow disk), batches are dropped and counted, never queued
//! without bound and never waited for; the count is in [`RecorderStats`], which `record` prints
//! and the dashboard's status line shows.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::content::ns;
use super::writer::{Ingested, RecordingWriter};
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;

/// Batches waiting for the recorder thread: a minute at a 2 s refresh, both sources.
const QUEUE: usize = 64;

/// What to record to, and the settings in effect (secrets already masked).
#[derive(Debug, Clone)]
pub struct RecordTo {
    pub path: PathBuf,
    pub config_toml: String,
    pub limit: u64,
}

#[derive(Debug, Default)]
pub struct RecorderStats {
    pub batches: AtomicU64,
    pub dropped: AtomicU64,
    pub bytes: AtomicU64,
    pub rotations: AtomicU64,
    /// Set when the recording stopped on an error (the disk is full, say).
    pub error: Mutex<Option<String>>,
}

impl RecorderStats {
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// One line for the status bar or the end of `record`.
    pub fn describe(&self, path: &std::path::Path) -> String {
        let dropped = self.dropped.load(Ordering::Relaxed);
        let mut line = format!(
            "recorded {} batches to {} ({}, {} rotations)",
            self.batches.load(Ordering::Relaxed),
            path.display(),
            crate::format::bytes(self.bytes.load(Ordering::Relaxed)),
            self.rotations.load(Ordering::Relaxed),
        );
        if dropped > 0 {
            line += &format!("; {dropped} dropped: the recorder fell behind");
        }
        if let Some(e) = self.error() {
            line += &format!("; stopped: {e}");
        }
        line
    }
}

/// The session thread's end: offers each ingested batch, never blocking.
pub struct RecordTap {
    tx: SyncSender<Ingested>,
    stats: Arc<RecorderStats>,
    polls: (u64, u64),
}

impl RecordTap {
    /// Offers what the session just ingested: the statuses whose polls changed since the last
    /// offer, at the session's clock.
    pub fn offer(
        &mut self,
        kafka: &SourceStatus<KafkaSnapshot>,
        clickhouse: &SourceStatus<ClickHouseSnapshot>,
        at: Option<SystemTime>,
    ) {
        let batch = Ingested {
            kafka: (kafka.polls != self.polls.0).then(|| kafka.clone()),
            clickhouse: (clickhouse.polls != self.polls.1).then(|| clickhouse.clone()),
            at_ns: at.map_or(0, ns),
        };
        if batch.kafka.is_none() && batch.clickhouse.is_none() {
            return;
        }
        match self.tx.try_send(batch) {
            Ok(()) => self.polls = (kafka.polls, clickhouse.polls),
            // The next offer carries the newest statuses, and their snapshots.
            Err(TrySendError::Full(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// The recorder thread: it ends when its tap is dropped (with the session), after writing what
/// was queued.
pub struct Recorder {
    pub stats: Arc<RecorderStats>,
    thread: std::thread::JoinHandle<()>,
}

impl Recorder {
    /// Waits until everything queued is written (the tap must be gone: drop the session first).
    pub fn finish(self) -> Arc<RecorderStats> {
        let _ = self.thread.join();
        self.stats
    }
}

/// Starts the recorder thread, writing the header at once (so a bad path fails here).
pub fn start(to: &RecordTo) -> Result<(RecordTap, Recorder), String> {
    let mut writer = RecordingWriter::create(
        &to.path,
        to.config_toml.clone(),
        ns(SystemTime::now()),
        to.limit,
    )?;
    let stats = Arc::new(RecorderStats::default());
    stats.bytes.store(writer.written(), Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<Ingested>(QUEUE);
    let thread_stats = Arc::clone(&stats);
    let thread = std::thread::Builder::new()
        .name("pipetop-recorder".into())
        .spawn(move || {
            for batch in rx {
                if let Err(e) = writer.append(&batch) {
                    if let Ok(mut slot) = thread_stats.error.lock() {
                        *slot = Some(e);
                    }
                    return;
                }
                thread_stats.batches.fetch_add(1, Ordering::Relaxed);
                thread_stats
                    .bytes
                    .store(writer.written(), Ordering::Relaxed);
                thread_stats
                    .rotations
                    .store(u64::from(writer.rotations()), Ordering::Relaxed);
            }
        })
        .map_err(|e| format!("cannot start the recorder thread: {e}"))?;
    let tap = RecordTap {
        tx,
        stats: Arc::clone(&stats),
        polls: (0, 0),
    };
    Ok((tap, Recorder { stats, thread }))
}
