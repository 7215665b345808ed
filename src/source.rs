//! One data source as the rest of pipetop sees it: the last good snapshot, when it was taken, and the
//! latest failure. Collectors publish this over a `watch` channel, so a slow reader only ever sees the
//! newest state and a slow source never blocks anyone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{Notify, watch};

#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus<T> {
    /// The newest snapshot that was polled without a source-wide failure.
    pub last_good: Option<Arc<T>>,
    #[serde(serialize_with = "crate::time::ser_opt_unix_ms")]
    pub last_good_at: Option<SystemTime>,
    /// Set when the latest poll failed; cleared by the next good one.
    pub error: Option<SourceError>,
    pub polls: u64,
    /// The polls its reader has taken, shared by every clone of the status: the dashboard's
    /// session marks each status it takes from the collector's channel (`mark_taken`), and the
    /// collector then lets go of the channel's `last_good` when its next poll starts
    /// (`let_go_if_taken`). A status nobody marks keeps its snapshot.
    #[serde(skip)]
    taken: Taken,
}

/// The highest `polls` of a status its reader has taken.
#[derive(Debug, Clone, Default)]
struct Taken(Arc<AtomicU64>);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceError {
    pub message: String,
    #[serde(serialize_with = "crate::time::ser_unix_ms")]
    pub at: SystemTime,
}

impl<T> Default for SourceStatus<T> {
    fn default() -> Self {
        SourceStatus {
            last_good: None,
            last_good_at: None,
            error: None,
            polls: 0,
            taken: Taken::default(),
        }
    }
}

/// What the model keeps of a source: whether and when it answered, without its data (the model
/// holds what it derived from that).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceState {
    #[serde(serialize_with = "crate::time::ser_opt_unix_ms")]
    pub last_good_at: Option<SystemTime>,
    pub error: Option<SourceError>,
    pub polls: u64,
}

impl SourceState {
    /// Age of the last good data, or None if there never was any.
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        self.last_good_at
            .map(|at| now.duration_since(at).unwrap_or_default())
    }

    /// When the source last reported anything, good or bad.
    pub fn latest_event(&self) -> Option<SystemTime> {
        self.last_good_at.max(self.error.as_ref().map(|e| e.at))
    }
}

impl<T> SourceStatus<T> {
    pub fn state(&self) -> SourceState {
        SourceState {
            last_good_at: self.last_good_at,
            error: self.error.clone(),
            polls: self.polls,
        }
    }

    /// Says that the reader holds what it needs of this status: its own copy of `last_good`, or
    /// what it derived from it.
    pub fn mark_taken(&self) {
        self.taken.0.fetch_max(self.polls, Ordering::AcqRel);
    }

    /// Lets go of `last_good` once the reader has taken it (see `taken`), so the collector's
    /// channel does not keep it through the next poll, beside the snapshot being built (13 MiB
    /// at 20,000 partitions). `last_good_at` stays: if that poll fails, the age of the last good
    /// data is still known, though its snapshot is gone.
    pub fn let_go_if_taken(&mut self) {
        if self.taken.0.load(Ordering::Acquire) >= self.polls {
            self.last_good = None;
        }
    }

    pub fn record(&mut self, result: Result<T, String>, at: SystemTime) {
        self.polls += 1;
        match result {
            Ok(snapshot) => {
                self.last_good = Some(Arc::new(snapshot));
                self.last_good_at = Some(at);
                self.error = None;
            }
            Err(message) => self.error = Some(SourceError { message, at }),
        }
    }
}

/// A source that can be polled for a fresh snapshot. A source-wide failure (unreachable, auth) is
/// an `Err` with a message fit for the screen; partial failures live inside the snapshot.
pub trait Collector: Send + 'static {
    type Snapshot: Send + Sync + 'static;
    fn poll(&mut self) -> impl Future<Output = Result<Self::Snapshot, String>> + Send;
}

/// Polls `collector` every `interval` (or at once when `refresh_now` is notified) and publishes
/// each outcome; the latest snapshot is let go when the next poll starts if the reader has taken
/// it ([`SourceStatus::let_go_if_taken`]), unless `keep_latest` is set (the screen waits for a
/// model with its snapshots: an export, a pause). Runs until every receiver is gone. `refresh_now` belongs to this collector alone
/// and is woken with `notify_one`, which keeps the request when it arrives mid-poll: the next poll
/// then starts as soon as this one ends, so no refresh or focus change is lost.
pub async fn run_collector<C: Collector>(
    interval: Duration,
    refresh_now: Arc<Notify>,
    keep_latest: Arc<AtomicBool>,
    tx: watch::Sender<SourceStatus<C::Snapshot>>,
    mut collector: C,
) {
    let mut ticker = tokio::time::interval(interval);
    // A poll that overran its interval must not be followed by a burst of catch-up polls.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = refresh_now.notified() => {}
            _ = tx.closed() => return,
        }
        // Not a change the reader is told of: it has what it needs of this status already.
        if !keep_latest.load(Ordering::Acquire) {
            tx.send_if_modified(|status| {
                status.let_go_if_taken();
                false
            });
        }
        let result = collector.poll().await;
        let at = SystemTime::now();
        tx.send_modify(|status| status.record(result, at));
        if tx.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_last_good_data_and_its_age() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut s = SourceStatus::<u32>::default();
        s.record(Ok(7), t0);
        s.record(Err("broker down".into()), t0 + Duration::from_secs(4));
        assert_eq!(s.last_good.as_deref(), Some(&7));
        assert_eq!(
            s.error.as_ref().map(|e| e.message.as_str()),
            Some("broker down")
        );
        assert_eq!(
            s.state().age(t0 + Duration::from_secs(6)),
            Some(Duration::from_secs(6))
        );
        s.record(Ok(8), t0 + Duration::from_secs(8));
        assert!(s.error.is_none());
        assert_eq!(s.polls, 3);
    }

    #[tokio::test]
    async fn collector_publishes_and_stops_when_nobody_listens() {
        struct Counter(u32);
        impl Collector for Counter {
            type Snapshot = u32;
            async fn poll(&mut self) -> Result<u32, String> {
                self.0 += 1;
                if self.0 == 2 {
                    Err("boom".to_string())
                } else {
                    Ok(self.0)
                }
            }
        }
        let (tx, mut rx) = watch::channel(SourceStatus::<u32>::default());
        let notify = Arc::new(Notify::new());
        let task = tokio::spawn(run_collector(
            Duration::from_millis(10),
            notify,
            Arc::default(),
            tx,
            Counter(0),
        ));
        rx.wait_for(|s| s.polls >= 3).await.unwrap();
        assert!(rx.borrow().last_good.is_some());
        drop(rx);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .unwrap()
            .unwrap();
    }

    /// The channel lets go of the latest snapshot when the next poll starts, once the reader has
    /// taken it (and has its own copy); a status the reader has not taken keeps its snapshot, so
    /// a poll that starts right after a publication loses nothing, and so does one while the
    /// screen asks to keep it.
    #[tokio::test]
    async fn the_latest_snapshot_is_let_go_at_the_next_poll_once_taken() {
        struct Held(Arc<Notify>, Arc<Notify>, u32);
        impl Collector for Held {
            type Snapshot = u32;
            async fn poll(&mut self) -> Result<u32, String> {
                self.2 += 1;
                self.0.notify_one(); // started
                self.1.notified().await; // held until the test says so
                Ok(self.2)
            }
        }
        let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (tx, mut rx) = watch::channel(SourceStatus::<u32>::default());
        let refresh = Arc::new(Notify::new());
        let keep = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run_collector(
            Duration::from_secs(3600),
            Arc::clone(&refresh),
            Arc::clone(&keep),
            tx,
            Held(Arc::clone(&started), Arc::clone(&release), 0),
        ));
        let wait = |rx: &mut watch::Receiver<SourceStatus<u32>>, polls| {
            let mut rx = rx.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| s.polls >= polls))
                    .await
                    .expect("published")
                    .unwrap();
            }
        };
        started.notified().await;
        release.notify_one();
        wait(&mut rx, 1).await;

        // Not taken: poll 2 runs beside poll 1's snapshot.
        refresh.notify_one();
        started.notified().await;
        assert_eq!(rx.borrow().last_good.as_deref(), Some(&1));
        release.notify_one();
        wait(&mut rx, 2).await;

        // Taken: poll 3 starts without it; the reader's copy and the age stay.
        let taken = rx.borrow().clone();
        taken.mark_taken();
        refresh.notify_one();
        started.notified().await;
        assert!(rx.borrow().last_good.is_none());
        assert_eq!(rx.borrow().last_good_at, taken.last_good_at);
        assert_eq!(taken.last_good.as_deref(), Some(&2));
        release.notify_one();
        wait(&mut rx, 3).await;
        assert_eq!(rx.borrow().last_good.as_deref(), Some(&3));

        // Taken, but the screen waits for a snapshot: poll 4 runs beside poll 3's.
        rx.borrow().mark_taken();
        keep.store(true, Ordering::Release);
        refresh.notify_one();
        started.notified().await;
        assert_eq!(rx.borrow().last_good.as_deref(), Some(&3));
        release.notify_one();
        wait(&mut rx, 4).await;
        drop(rx);
        task.abort();
    }

    /// A refresh asked for while a poll is running (the `r` key, or the partition the user just
    /// opened) is served by a poll right after it, not at the next tick an interval later.
    #[tokio::test]
    async fn a_refresh_requested_mid_poll_is_served() {
        struct Slow(Arc<Notify>, Arc<Notify>);
        impl Collector for Slow {
            type Snapshot = ();
            async fn poll(&mut self) -> Result<(), String> {
                self.0.notify_one(); // started
                self.1.notified().await; // held until the test says so
                Ok(())
            }
        }
        let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (tx, mut rx) = watch::channel(SourceStatus::<()>::default());
        let refresh = Arc::new(Notify::new());
        let task = tokio::spawn(run_collector(
            Duration::from_secs(3600),
            Arc::clone(&refresh),
            Arc::default(),
            tx,
            Slow(Arc::clone(&started), Arc::clone(&release)),
        ));
        started.notified().await; // the first tick's poll is running
        refresh.notify_one();
        release.notify_one();
        rx.wait_for(|s| s.polls >= 1).await.unwrap();
        // The second poll starts because of the refresh, long before the hour-long tick.
        tokio::time::timeout(Duration::from_secs(5), started.notified())
            .await
            .expect("the refresh asked for mid-poll was lost");
        release.notify_one();
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| s.polls >= 2))
            .await
            .unwrap()
            .unwrap();
        drop(rx);
        task.abort();
    }
}
