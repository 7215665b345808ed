//! The Kafka-engine chains across hosts: topic → group → Kafka table → materialized view → target
//! table, each view with its failures in the window and its latest exception, each Kafka table
//! with its consumers' latest exception; and each host's Kafka counters turned into rates between
//! polls. For the table drill-down, the pipeline strip, the alerts and the metrics.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::activity::{AcrossHosts, OnHost};
use crate::clickhouse::kafka_chain::{KAFKA_EVENTS, KafkaEvent};
use crate::clickhouse::snapshot::{HostSnapshot, Section};

#[derive(Debug, Clone, Default, Serialize)]
pub struct KafkaChains {
    /// One row per host × Kafka engine table: those with failing views first.
    pub tables: AcrossHosts<ChainState>,
    /// Why the views' failures are not known (no query_views_log), the first host's reason.
    pub views_problem: Option<String>,
    /// Each answering host's Kafka counters with their rates.
    pub counters: Vec<HostKafkaCounters>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainState {
    pub database: String,
    pub table: String,
    pub topics: Vec<String>,
    pub group: Option<String>,
    pub views: Vec<ViewState>,
    /// The newest exception of the table's consumers (system.kafka_consumers), if any.
    pub consumer_exception: Option<String>,
}

impl ChainState {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }

    /// Failures of all its views in the window; None when no view's runs are known.
    pub fn failures(&self) -> Option<u64> {
        self.views
            .iter()
            .filter_map(|v| v.failures)
            .reduce(|a, b| a + b)
    }

    /// Whether `table` (`database.table`) is one of its links: the Kafka table, a view or a target.
    pub fn links(&self, table: &str) -> bool {
        self.full_name() == table
            || self
                .views
                .iter()
                .any(|v| v.view == table || v.target.as_deref() == Some(table))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewState {
    /// `database.name`.
    pub view: String,
    /// `database.table` it writes to; None for an inner table.
    pub target: Option<String>,
    /// Pushes through it and failures in the window; None when query_views_log is not read.
    pub runs: Option<u64>,
    pub failures: Option<u64>,
    /// The newest failure's exception in the window.
    pub last_exception: Option<String>,
    pub last_failure_time: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostKafkaCounters {
    pub host: String,
    /// Every counter of [`KAFKA_EVENTS`], in that order; empty with `problem` set when the host's
    /// section has none.
    pub counters: Vec<CounterRate>,
    pub problem: Option<String>,
}

impl HostKafkaCounters {
    pub fn get(&self, name: &str) -> Option<&CounterRate> {
        self.counters.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterRate {
    pub name: String,
    /// Since the server started (a counter `system.events` does not list reads 0).
    pub total: u64,
    /// Since this host's previous poll; None on its first poll or after a restart (it went down).
    pub delta: Option<u64>,
    pub per_s: Option<f64>,
    /// Over the window (since this host's newest poll at or before the window's start, or its
    /// oldest); None on its first poll or after a restart.
    pub in_window: Option<u64>,
}

/// Points a host keeps at most: a 5-minute window at the shortest refresh (500 ms) holds 600.
const MAX_POINTS: usize = 1024;

/// Each host's counters at its polls of the last window (oldest first), for the change since
/// the previous poll and over the window: a commit failure keeps its alert for the window rather
/// than for one poll. Bounded by the window and by [`MAX_POINTS`].
#[derive(Debug, Clone, Default)]
pub struct KafkaEventHistory {
    points: BTreeMap<String, VecDeque<(i64, Vec<u64>)>>,
}

impl KafkaEventHistory {
    pub fn retain_hosts(&mut self, hosts: &[&str]) {
        self.points.retain(|h, _| hosts.contains(&h.as_str()));
    }

    /// This poll's counters of `host` (taken at `at_ms`) with their change since its last poll
    /// and over the last `window_ms`, in the order of [`KAFKA_EVENTS`] (a counter
    /// `system.events` does not list reads 0).
    pub fn record(
        &mut self,
        host: &str,
        at_ms: i64,
        window_ms: i64,
        events: &[KafkaEvent],
    ) -> Vec<CounterRate> {
        let totals: Vec<u64> = KAFKA_EVENTS
            .iter()
            .map(|name| {
                events
                    .iter()
                    .find(|e| e.name == *name)
                    .map_or(0, |e| e.value)
            })
            .collect();
        let points = self.points.entry(host.to_string()).or_default();
        // Restarted: a counter went down, and nothing before it compares.
        if points
            .back()
            .is_some_and(|(_, old)| old.iter().zip(&totals).any(|(o, t)| t < o))
        {
            points.clear();
        }
        // The baseline is the newest poll at or before the window's start: keep it, drop older.
        while points
            .get(1)
            .is_some_and(|(at, _)| *at <= at_ms - window_ms)
        {
            points.pop_front();
        }
        let previous = points.back().filter(|(at, _)| at_ms > *at);
        let oldest = points.front().filter(|(at, _)| at_ms > *at);
        let rates = KAFKA_EVENTS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let total = totals[i];
                // None on the host's first poll, and after a restart.
                let delta = previous.map(|(at, old)| (total - old[i], (at_ms - at) as f64 / 1e3));
                CounterRate {
                    name: name.to_string(),
                    total,
                    delta: delta.map(|(d, _)| d),
                    per_s: delta.map(|(d, s)| d as f64 / s),
                    in_window: oldest.map(|(_, old)| total - old[i]),
                }
            })
            .collect();
        // A poll at the same instant (a replayed frame) keeps the older baseline.
        if points.back().is_none_or(|(at, _)| at_ms > *at) {
            points.push_back((at_ms, totals));
            if points.len() > MAX_POINTS {
                points.pop_front();
            }
        }
        rates
    }
}

impl KafkaChains {
    pub fn gather(hosts: &[&HostSnapshot], history: &mut KafkaEventHistory) -> KafkaChains {
        let mut tables = AcrossHosts::default();
        let mut views_problem = None;
        let mut counters = Vec::new();
        for h in hosts {
            let runs = match &h.view_runs {
                Section::Ok { data } => Some(data),
                other => {
                    views_problem = views_problem.or_else(|| {
                        other.problem().map(|p| match other {
                            Section::Failed { .. } => format!("{}: {p}", h.host),
                            _ => p.to_string(),
                        })
                    });
                    None
                }
            };
            match &h.kafka_chains {
                Section::Ok { data } => {
                    for chain in data {
                        let views = chain
                            .views
                            .iter()
                            .map(|v| {
                                let name = v.full_name();
                                let seen = runs.map(|r| r.iter().find(|r| r.view == name));
                                let seen_run = seen.flatten();
                                ViewState {
                                    target: v.target.clone().or_else(|| {
                                        seen_run.map(|r| r.target.clone()).filter(|t| !t.is_empty())
                                    }),
                                    view: name,
                                    // Read, and no push in the window: 0 of 0.
                                    runs: seen.map(|r| r.map_or(0, |r| r.runs)),
                                    failures: seen.map(|r| r.map_or(0, |r| r.failures)),
                                    last_exception: seen_run
                                        .map(|r| r.last_exception.clone())
                                        .filter(|e| !e.is_empty()),
                                    last_failure_time: seen_run.and_then(|r| r.last_failure_time),
                                }
                            })
                            .collect();
                        let consumer_exception = h
                            .kafka_consumers
                            .data()
                            .into_iter()
                            .flatten()
                            .filter(|c| c.database == chain.database && c.table == chain.table)
                            .flat_map(|c| c.latest_exceptions.iter())
                            .max_by_key(|e| e.time)
                            .map(|e| e.text.clone());
                        tables.rows.push(OnHost {
                            host: h.host.clone(),
                            item: ChainState {
                                database: chain.database.clone(),
                                table: chain.table.clone(),
                                topics: chain.topics.clone(),
                                group: chain.group.clone(),
                                views,
                                consumer_exception,
                            },
                        });
                    }
                }
                Section::Unavailable { reason } => {
                    tables.problem = tables.problem.or_else(|| Some(reason.clone()))
                }
                Section::Failed { error } => {
                    tables.problem = tables
                        .problem
                        .or_else(|| Some(format!("{}: {error}", h.host)))
                }
            }
            counters.push(match &h.kafka_events {
                Section::Ok { data } => HostKafkaCounters {
                    host: h.host.clone(),
                    counters: history.record(
                        &h.host,
                        h.taken_at_ms,
                        (h.window_s as i64).saturating_mul(1000),
                        data,
                    ),
                    problem: None,
                },
                other => HostKafkaCounters {
                    host: h.host.clone(),
                    counters: Vec::new(),
                    problem: other.problem().map(str::to_string),
                },
            });
        }
        tables.rows.sort_by(|a, b| {
            let failing = |c: &ChainState| c.failures().unwrap_or(0);
            failing(&b.item)
                .cmp(&failing(&a.item))
                .then((&a.item.database, &a.item.table).cmp(&(&b.item.database, &b.item.table)))
                .then(a.host.cmp(&b.host))
        });
        KafkaChains {
            tables,
            views_problem,
            counters,
        }
    }

    /// The chains (on any host) that `table` is a link of.
    pub fn chains_of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a OnHost<ChainState>> {
        self.tables.rows.iter().filter(move |c| c.item.links(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, value: u64) -> KafkaEvent {
        KafkaEvent {
            name: name.into(),
            value,
        }
    }

    const W: i64 = 300_000;

    #[test]
    fn counters_become_rates_between_polls_and_a_restart_has_none() {
        let mut h = KafkaEventHistory::default();
        let first = h.record("a", 1_000, W, &[ev("KafkaCommitFailures", 3)]);
        let failures = first
            .iter()
            .find(|c| c.name == "KafkaCommitFailures")
            .unwrap();
        assert_eq!((failures.total, failures.delta), (3, None));
        assert_eq!(first.len(), KAFKA_EVENTS.len());
        assert_eq!(first[0].name, KAFKA_EVENTS[0]);
        // An unlisted counter is 0.
        assert!(
            first
                .iter()
                .any(|c| c.name == "KafkaCommits" && c.total == 0)
        );
        let second = h.record("a", 11_000, W, &[ev("KafkaCommitFailures", 8)]);
        let failures = second
            .iter()
            .find(|c| c.name == "KafkaCommitFailures")
            .unwrap();
        assert_eq!(failures.delta, Some(5));
        assert_eq!(failures.per_s, Some(0.5));
        // Restarted: the counter went down, no delta.
        let third = h.record("a", 21_000, W, &[ev("KafkaCommitFailures", 1)]);
        let failures = third
            .iter()
            .find(|c| c.name == "KafkaCommitFailures")
            .unwrap();
        assert_eq!(failures.delta, None);
        // Other hosts keep their own baselines.
        let other = h.record("b", 21_000, W, &[ev("KafkaCommitFailures", 100)]);
        assert_eq!(other[0].delta, None);
        h.retain_hosts(&["b"]);
        let again = h.record("a", 31_000, W, &[ev("KafkaCommitFailures", 2)]);
        assert_eq!(again[0].delta, None);
    }

    #[test]
    fn a_failure_counts_over_the_window_then_leaves_it() {
        let mut h = KafkaEventHistory::default();
        let failures = |h: &mut KafkaEventHistory, at_s: i64, total: u64| {
            let rates = h.record(
                "a",
                at_s * 1000,
                60_000,
                &[ev("KafkaCommitFailures", total)],
            );
            let c = rates
                .into_iter()
                .find(|c| c.name == "KafkaCommitFailures")
                .unwrap();
            (c.delta, c.in_window)
        };
        assert_eq!(failures(&mut h, 0, 0), (None, None));
        assert_eq!(failures(&mut h, 10, 2), (Some(2), Some(2)));
        // No new failure: none since the previous poll, still two in the window.
        assert_eq!(failures(&mut h, 20, 2), (Some(0), Some(2)));
        assert_eq!(failures(&mut h, 65, 2), (Some(0), Some(2)));
        // The poll before the failures has left the window.
        assert_eq!(failures(&mut h, 75, 2), (Some(0), Some(0)));
    }
}
