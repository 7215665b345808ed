//! The events timeline: what changed between one model and the next, each with its time and
//! subject (so Enter can jump to it). The session compares each new model with the one before and
//! keeps the newest [`TIMELINE_LEN`] events; a model shares them behind an `Arc` that is replaced
//! only when something happened.
//!
//! Detection is pure (`kafka.rs`, `clickhouse.rs`, `alerts.rs`): two models in, changes out.

mod alerts;
mod clickhouse;
mod kafka;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::Model;
pub use crate::model::event::{Change, Event, EventKind, subject};

/// How many events the timeline keeps: the oldest go first.
pub const TIMELINE_LEN: usize = 1000;

/// Everything that changed from `before` to `after`. Each half is compared only when it was
/// derived again (its `Arc` differs); sources and alerts every time.
pub fn changes(before: &Model, after: &Model) -> Vec<Change> {
    let mut out = Vec::new();
    clickhouse::sources(before, after, &mut out);
    if !Arc::ptr_eq(&before.kafka, &after.kafka) {
        kafka::changes(&before.kafka, &after.kafka, &mut out);
    }
    if !Arc::ptr_eq(&before.clickhouse, &after.clickhouse) {
        clickhouse::changes(&before.clickhouse, &after.clickhouse, &mut out);
    }
    alerts::changes(&before.alerts, &after.alerts, &mut out);
    out
}

/// The newest events, newest first, bounded.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    events: VecDeque<Event>,
    shared: Arc<[Event]>,
}

impl Timeline {
    /// Adds what changed at `at`; returns whether anything did.
    pub fn record(&mut self, at: SystemTime, changes: Vec<Change>) -> bool {
        if changes.is_empty() {
            return false;
        }
        for c in changes {
            self.events.push_front(Event {
                at,
                kind: c.kind,
                subject: c.subject,
                severity: c.severity,
                text: c.text,
            });
        }
        self.events.truncate(TIMELINE_LEN);
        self.shared = self.events.iter().cloned().collect();
        true
    }

    /// The events, newest first, shared with every model until the next one happens.
    pub fn shared(&self) -> Arc<[Event]> {
        Arc::clone(&self.shared)
    }
}

#[cfg(test)]
mod tests;
