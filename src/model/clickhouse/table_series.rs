//! The ClickHouse half's history for charts, sparklines and projections: per table and host the
//! inserts and rows per second, failed inserts, active parts in the worst partition, merges in
//! flight, p95 insert latency and freshness at each poll, on one time axis of poll times.
//!
//! Recorded by `ClickHouseTracker::update` from the table health it has just derived, once per
//! poll; each model gets views sharing the stored points (see `model::series`). A table's series
//! go when it leaves the model.

use std::collections::HashMap;
use std::sync::Arc;

use super::health::TableHealth;
use crate::model::projection::series_time_to_reach;
use crate::model::series::{TimeRecorder, Times, ValueRecorder, Values, point};

/// One table's figures on one host over time.
#[derive(Debug, Clone, Default)]
pub struct TableSeries {
    pub inserts_per_s: Values,
    pub rows_per_s: Values,
    pub failed_inserts: Values,
    /// Active parts in the worst partition (`max_parts_in_partition`).
    pub worst_parts: Values,
    pub merges_running: Values,
    pub p95_insert_ms: Values,
    pub freshness_s: Values,
    /// Seconds until the worst partition reaches `parts_to_throw_insert` at its current growth,
    /// only when the parts' history supports it (`model::projection`).
    pub throw_in_s: Option<f64>,
}

/// Per host, per table (`database.table`).
type PerTable<T> = HashMap<Arc<str>, HashMap<Arc<str>, T>>;

/// The history as of one model.
#[derive(Debug, Clone, Default)]
pub struct ClickHouseSeries {
    /// Poll times (Unix ms), the axis the series are aligned to by poll number.
    pub times: Times,
    tables: PerTable<TableSeries>,
}

impl ClickHouseSeries {
    pub fn table(&self, host: &str, table: &str) -> Option<&TableSeries> {
        self.tables.get(host)?.get(table)
    }
}

#[derive(Debug, Clone)]
struct TableRecorders {
    inserts_per_s: ValueRecorder,
    rows_per_s: ValueRecorder,
    failed_inserts: ValueRecorder,
    worst_parts: ValueRecorder,
    merges_running: ValueRecorder,
    p95_insert_ms: ValueRecorder,
    freshness_s: ValueRecorder,
}

impl TableRecorders {
    fn new(capacity: usize, first: u64) -> TableRecorders {
        let r = || ValueRecorder::new(capacity, first);
        TableRecorders {
            inserts_per_s: r(),
            rows_per_s: r(),
            failed_inserts: r(),
            worst_parts: r(),
            merges_running: r(),
            p95_insert_ms: r(),
            freshness_s: r(),
        }
    }

    fn push(&mut self, t: &TableHealth) {
        self.inserts_per_s.push(point(t.inserts_per_s));
        self.rows_per_s.push(point(t.rows_per_s));
        self.failed_inserts
            .push(point(t.failed_inserts.map(|n| n as f64)));
        self.worst_parts
            .push(point(t.max_parts_in_partition.map(|n| n as f64)));
        self.merges_running.push(t.merges_running as f32);
        self.p95_insert_ms.push(point(t.p95_insert_ms));
        self.freshness_s
            .push(point(t.freshness_s.map(|s| s as f64)));
    }

    fn view(&self) -> TableSeries {
        TableSeries {
            inserts_per_s: self.inserts_per_s.view(),
            rows_per_s: self.rows_per_s.view(),
            failed_inserts: self.failed_inserts.view(),
            worst_parts: self.worst_parts.view(),
            merges_running: self.merges_running.view(),
            p95_insert_ms: self.p95_insert_ms.view(),
            freshness_s: self.freshness_s.view(),
            throw_in_s: None,
        }
    }

    fn heap_bytes(&self) -> usize {
        [
            &self.inserts_per_s,
            &self.rows_per_s,
            &self.failed_inserts,
            &self.worst_parts,
            &self.merges_running,
            &self.p95_insert_ms,
            &self.freshness_s,
        ]
        .iter()
        .map(|r| r.heap_bytes())
        .sum()
    }
}

/// The recording end, kept by the ClickHouse tracker.
#[derive(Debug, Clone)]
pub struct ClickHouseHistory {
    capacity: usize,
    times: TimeRecorder,
    tables: PerTable<TableRecorders>,
}

impl Default for ClickHouseHistory {
    fn default() -> ClickHouseHistory {
        ClickHouseHistory::new(crate::model::series::DEFAULT_HISTORY_POINTS)
    }
}

impl ClickHouseHistory {
    pub fn new(capacity: usize) -> ClickHouseHistory {
        ClickHouseHistory {
            capacity,
            times: TimeRecorder::new(capacity, 0),
            tables: HashMap::new(),
        }
    }

    /// Appends one poll of the derived table health; returns the views for the model.
    pub fn record(&mut self, at_ms: i64, health: &[TableHealth]) -> ClickHouseSeries {
        let index = self.times.next_index();
        self.times.push(at_ms);
        // Tables not in this poll stay behind in `old` and are dropped with it.
        let mut old = std::mem::take(&mut self.tables);
        let mut views: PerTable<TableSeries> = HashMap::new();
        let times = self.times.view();
        for t in health {
            let host = self
                .tables
                .get_key_value(t.host.as_str())
                .or_else(|| old.get_key_value(t.host.as_str()))
                .map_or_else(|| Arc::from(t.host.as_str()), |(k, _)| Arc::clone(k));
            let found = old
                .get_mut(t.host.as_str())
                .and_then(|tables| tables.remove_entry(t.table.as_str()));
            let (name, mut recorders) = found.unwrap_or_else(|| {
                (
                    Arc::from(t.table.as_str()),
                    TableRecorders::new(self.capacity, index),
                )
            });
            recorders.push(t);
            let mut view = recorders.view();
            view.throw_in_s = t
                .parts_to_throw_insert
                .and_then(|throw| series_time_to_reach(&times, &view.worst_parts, throw as f64));
            views
                .entry(Arc::clone(&host))
                .or_default()
                .insert(Arc::clone(&name), view);
            self.tables.entry(host).or_default().insert(name, recorders);
        }
        ClickHouseSeries {
            times,
            tables: views,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.times.heap_bytes()
            + self
                .tables
                .iter()
                .map(|(h, tables)| {
                    h.len()
                        + 64
                        + tables
                            .iter()
                            .map(|(t, r)| t.len() + 64 + r.heap_bytes())
                            .sum::<usize>()
                })
                .sum::<usize>()
    }
}
