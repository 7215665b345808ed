//! DelayedInserts / RejectedInserts are cumulative since the server started: what matters is how
//! much they grew since the previous poll. The previous values live here, one entry per host.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clickhouse::snapshot::InsertCounters;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CounterDeltas {
    pub delayed_inserts: u64,
    pub rejected_inserts: u64,
    pub delayed_inserts_ms: u64,
    pub failed_insert_queries: u64,
    /// Milliseconds between the two polls the deltas span.
    pub interval_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct Previous {
    uptime_s: u64,
    taken_at_ms: i64,
    counters: InsertCounters,
}

/// Bounded: one entry per host of the latest snapshot.
#[derive(Debug, Clone, Default)]
pub struct CounterHistory {
    previous: BTreeMap<String, Previous>,
}

impl CounterHistory {
    /// Records this poll's counters and returns the growth since the host's previous poll; None
    /// on the first poll and after a restart (counters start again from zero).
    pub fn observe(
        &mut self,
        host: &str,
        uptime_s: u64,
        taken_at_ms: i64,
        counters: InsertCounters,
    ) -> Option<CounterDeltas> {
        let current = Previous {
            uptime_s,
            taken_at_ms,
            counters,
        };
        let previous = self.previous.insert(host.to_string(), current)?;
        let c = counters;
        let p = previous.counters;
        let restarted = uptime_s < previous.uptime_s
            || c.delayed_inserts < p.delayed_inserts
            || c.rejected_inserts < p.rejected_inserts
            || c.delayed_inserts_ms < p.delayed_inserts_ms
            || c.failed_insert_queries < p.failed_insert_queries;
        if restarted || taken_at_ms <= previous.taken_at_ms {
            return None;
        }
        Some(CounterDeltas {
            delayed_inserts: c.delayed_inserts - p.delayed_inserts,
            rejected_inserts: c.rejected_inserts - p.rejected_inserts,
            delayed_inserts_ms: c.delayed_inserts_ms - p.delayed_inserts_ms,
            failed_insert_queries: c.failed_insert_queries - p.failed_insert_queries,
            interval_ms: taken_at_ms - previous.taken_at_ms,
        })
    }

    /// Forgets hosts that are no longer configured or answering.
    pub fn retain(&mut self, hosts: &[&str]) {
        self.previous.retain(|h, _| hosts.contains(&h.as_str()));
    }

    pub fn len(&self) -> usize {
        self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.previous.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(delayed: u64, rejected: u64) -> InsertCounters {
        InsertCounters {
            delayed_inserts: delayed,
            rejected_inserts: rejected,
            ..InsertCounters::default()
        }
    }

    #[test]
    fn first_poll_has_no_delta_then_growth_is_reported() {
        let mut h = CounterHistory::default();
        assert_eq!(h.observe("a", 100, 1_000, counters(5, 1)), None);
        let d = h.observe("a", 102, 3_000, counters(8, 1)).unwrap();
        assert_eq!(
            (d.delayed_inserts, d.rejected_inserts, d.interval_ms),
            (3, 0, 2_000)
        );
    }

    #[test]
    fn a_restart_is_not_a_negative_delta() {
        let mut h = CounterHistory::default();
        h.observe("a", 100, 1_000, counters(5, 1));
        assert_eq!(h.observe("a", 2, 3_000, counters(0, 0)), None);
        let d = h.observe("a", 4, 5_000, counters(0, 2)).unwrap();
        assert_eq!(d.rejected_inserts, 2);
    }

    #[test]
    fn hosts_are_tracked_apart_and_forgotten() {
        let mut h = CounterHistory::default();
        h.observe("a", 100, 1_000, counters(5, 0));
        h.observe("b", 100, 1_000, counters(50, 0));
        let d = h.observe("a", 101, 2_000, counters(6, 0)).unwrap();
        assert_eq!(d.delayed_inserts, 1);
        h.retain(&["a"]);
        assert_eq!(h.len(), 1);
    }
}
