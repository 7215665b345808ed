//! pipetop's real Kafka collector on its own task (as the dashboard runs it, `run_collector`),
//! each published status taken into a `Session` the moment it arrives: the test sees every model
//! the screen would draw, and when it was ready.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use pipetop::config::Config;
use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::snapshot::KafkaSnapshot;
use pipetop::model::Model;
use pipetop::session::Session;
use pipetop::source::{SourceStatus, run_collector};

/// One model, as the session finished it.
#[derive(Clone)]
pub struct Frame {
    pub at: Instant,
    /// Kafka polls published so far (good or failed).
    pub polls: u64,
    /// The latest poll failed as a whole: the source's error.
    pub error: Option<String>,
    pub snapshot: Option<Arc<KafkaSnapshot>>,
    pub model: Arc<Model>,
}

pub struct Watcher {
    rx: watch::Receiver<SourceStatus<KafkaSnapshot>>,
    session: Session,
    pub frames: Vec<Frame>,
}

impl Watcher {
    pub fn start(config: &Config) -> Watcher {
        let collector = KafkaCollector::new(&config.kafka).unwrap();
        let (tx, rx) = watch::channel(SourceStatus::default());
        tokio::spawn(run_collector(
            config.refresh,
            Arc::new(Notify::new()),
            Arc::default(),
            tx,
            collector,
        ));
        Watcher {
            rx,
            session: Session::new(config),
            frames: Vec::new(),
        }
    }

    /// The next published status, as a frame; None when `deadline` passes first.
    pub async fn next(&mut self, deadline: Instant) -> Option<Frame> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, self.rx.changed()).await {
            Ok(Ok(())) => {}
            _ => return None,
        }
        let status = self.rx.borrow_and_update().clone();
        self.session.ingest(Some(status.clone()), None);
        let frame = Frame {
            at: Instant::now(),
            polls: status.polls,
            error: status.error.as_ref().map(|e| e.message.clone()),
            snapshot: status.last_good.clone(),
            model: Arc::clone(self.session.model()),
        };
        self.frames.push(frame.clone());
        Some(frame)
    }

    /// Frames until one satisfies `done`; Err with the last frame's description at `limit`.
    pub async fn until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Frame) -> bool,
    ) -> Result<Frame, String> {
        let deadline = Instant::now() + limit;
        let mut last = None;
        while let Some(frame) = self.next(deadline).await {
            if done(&frame) {
                return Ok(frame);
            }
            last = Some(frame);
        }
        Err(format!(
            "not within {limit:?}; last frame: {}",
            last.as_ref().map_or("none".to_string(), describe)
        ))
    }
}

/// One line about a frame, for failure messages and the test log.
pub fn describe(frame: &Frame) -> String {
    let k = &frame.model.kafka;
    let groups: Vec<String> = k
        .groups
        .iter()
        .map(|g| {
            format!(
                "{}: lag {} rows {} err {:?}",
                g.group_id,
                g.total_lag,
                g.partitions.len(),
                g.error
                    .as_deref()
                    .map(|e| e.chars().take(60).collect::<String>())
            )
        })
        .collect();
    format!(
        "poll {} ({} ms) error {:?}; brokers {} known, down {:?}; {}",
        frame.polls,
        frame.snapshot.as_ref().map_or(0, |s| s.poll_ms),
        frame.error,
        k.brokers_known(),
        k.brokers_down(),
        groups.join("; ")
    )
}
