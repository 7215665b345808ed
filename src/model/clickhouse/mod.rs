//! The ClickHouse half of the model: per-table health derived from the latest snapshot, per host,
//! with the counters' growth between polls kept in bounded state.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::alerts::RuleSet;

pub mod activity;
pub mod counters;
pub mod disk_history;
pub mod health;
pub mod kafka_chain;
pub mod replication;
pub mod resources;
pub mod table_series;

use self::activity::Activity;
use self::counters::{CounterDeltas, CounterHistory};
use self::disk_history::DiskHistory;
use self::health::{TableHealth, kafka_table_health, sort_worst_first, table_health};
use self::kafka_chain::{KafkaChains, KafkaEventHistory};
use self::replication::Replication;
use self::resources::Resources;
use self::table_series::{ClickHouseHistory, ClickHouseSeries};
use crate::clickhouse::snapshot::{
    ClickHouseSnapshot, HostOutcome, HostSnapshot, Section, TableParts,
};

/// Failed-insert groups kept for drill-down, newest first.
pub const FAILED_INSERTS_KEPT: usize = 200;

/// The ClickHouse half of the model as of one snapshot: plain data, never changed once built.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClickHouseModel {
    /// MergeTree tables of the first host that answered, the one closest to "Too many parts" first.
    pub tables: Vec<TableParts>,
    /// Why `tables` is empty when the server could not tell us (old server, failed query).
    pub tables_problem: Option<String>,
    pub hosts: Vec<HostHealth>,
    /// Every table of every host, worst first.
    pub health: Vec<TableHealth>,
    /// Failed inserts per host, table and exception code, newest first, with the latest full
    /// exception text and query id.
    pub failed_inserts: Vec<FailedInsert>,
    /// Merges, Kafka-engine consumers, server errors, partitions and latency across hosts.
    pub activity: Activity,
    /// Replicas, replication queues and ZooKeeper/Keeper sessions across hosts.
    pub replication: Replication,
    /// Disks, memory and Distributed send queues across hosts.
    pub resources: Resources,
    /// Kafka engine tables with their views and targets, the views' failures, Kafka counters.
    pub kafka_chains: KafkaChains,
    /// Each table's figures, poll by poll (charts, sparklines, projections).
    #[serde(skip)]
    pub series: ClickHouseSeries,
}

impl ClickHouseModel {
    /// The hosts whose latest poll failed; each keeps the time of its last answer.
    pub fn down_hosts(&self) -> impl Iterator<Item = &HostHealth> {
        self.hosts.iter().filter(|h| h.error.is_some())
    }
}

/// Keeps the counters' previous values per host (to turn them into growth between polls) and
/// derives a fresh [`ClickHouseModel`] from each snapshot.
#[derive(Debug, Clone, Default)]
pub struct ClickHouseTracker {
    counters: CounterHistory,
    /// When each host last answered (its poll's end), so a host that is down now still shows the
    /// age of the data it last gave. One entry per configured host.
    answered_at: BTreeMap<String, SystemTime>,
    series: ClickHouseHistory,
    /// Each disk's free space over the last hour, for its time until full.
    disks: DiskHistory,
    /// Each host's Kafka counters at its previous poll, for their rates.
    kafka_events: KafkaEventHistory,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostHealth {
    pub host: String,
    /// When this host last answered: its poll's end, older than the snapshot when a slow host's
    /// poll is still running, and before `error` when it is down now. None if it never did.
    #[serde(serialize_with = "crate::time::ser_opt_unix_ms")]
    pub last_good_at: Option<SystemTime>,
    /// None when the host could not be reached this poll (see `error`).
    pub version: Option<String>,
    pub uptime_s: Option<u64>,
    pub error: Option<String>,
    /// DelayedInserts / RejectedInserts growth since the previous poll.
    pub insert_counters: Option<CounterDeltas>,
    /// Sections without data and why: "not available on ..." or the query's error.
    pub problems: Vec<SectionProblem>,
    /// Its read-only replicas; None when it could not say (down, or system.replicas failed).
    pub readonly_replicas: Option<u64>,
    /// Free share of its fullest disk; None when it could not say (down, no system.disks).
    pub disk_free_ratio: Option<f64>,
    /// Tracked memory as a share of the server's limit; None when either is unknown.
    pub memory_used_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionProblem {
    pub section: String,
    pub unavailable: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedInsert {
    pub host: String,
    pub table: String,
    pub exception_code: i32,
    pub failures: u64,
    pub latest_exception: String,
    pub latest_query_id: String,
    /// The failed INSERT's query text (without its data), at most 4096 characters.
    pub latest_query: String,
    pub latest_time: u32,
    /// For an async insert the server accepted and then lost (`asynchronous_insert_log`): how it
    /// failed, `ParsingError` or `FlushError`. None for an INSERT that failed in query_log.
    pub async_status: Option<String>,
    /// The bytes those async inserts carried (0 for query_log failures: not logged there).
    pub bytes: u64,
}

impl ClickHouseTracker {
    /// A tracker whose charted series keep the last `points` polls.
    pub fn with_history(points: usize) -> ClickHouseTracker {
        ClickHouseTracker {
            counters: CounterHistory::default(),
            answered_at: BTreeMap::new(),
            series: ClickHouseHistory::new(points),
            disks: DiskHistory::default(),
            kafka_events: KafkaEventHistory::default(),
        }
    }

    /// Heap bytes held by the charted series (see `table_series`).
    pub fn series_bytes(&self) -> usize {
        self.series.heap_bytes()
    }

    /// The model of this snapshot; table health is judged by the alert thresholds in `rules`.
    pub fn update(&mut self, snapshot: &ClickHouseSnapshot, rules: &RuleSet) -> ClickHouseModel {
        let mut model = ClickHouseModel::default();
        match &snapshot.tables {
            Section::Ok { data } => model.tables = data.clone(),
            Section::Unavailable { reason } => model.tables_problem = Some(reason.clone()),
            Section::Failed { error } => model.tables_problem = Some(error.clone()),
        }
        model.hosts = snapshot.hosts.iter().map(|h| self.host_health(h)).collect();
        let answered: Vec<&str> = snapshot
            .hosts
            .iter()
            .filter_map(HostOutcome::snapshot)
            .map(|s| s.host.as_str())
            .collect();
        self.counters.retain(&answered);
        let configured: Vec<&str> = snapshot.hosts.iter().map(HostOutcome::host).collect();
        self.answered_at
            .retain(|h, _| configured.contains(&h.as_str()));
        self.disks.retain_hosts(&configured);
        self.kafka_events.retain_hosts(&configured);
        let hosts: Vec<&HostSnapshot> = snapshot
            .hosts
            .iter()
            .filter_map(HostOutcome::snapshot)
            .collect();
        model.health = hosts.iter().flat_map(|h| table_health(h, rules)).collect();
        model.failed_inserts = hosts.iter().flat_map(|h| failed_inserts(h)).collect();
        model.failed_inserts.sort_by(|a, b| {
            b.latest_time
                .cmp(&a.latest_time)
                .then(b.failures.cmp(&a.failures))
        });
        model.failed_inserts.truncate(FAILED_INSERTS_KEPT);
        model.activity = Activity::gather(&hosts);
        model.replication = Replication::gather(&hosts);
        model.resources = Resources::gather(&hosts, &mut self.disks);
        model.kafka_chains = KafkaChains::gather(&hosts, &mut self.kafka_events);
        model.series = self.series.record(snapshot.taken_at_ms, &model.health);
        // After the series: a Kafka table has no parts to chart.
        model
            .health
            .extend(kafka_table_health(&model.kafka_chains, rules));
        sort_worst_first(&mut model.health);
        model
    }

    fn host_health(&mut self, outcome: &HostOutcome) -> HostHealth {
        match outcome {
            HostOutcome::Failed { host, error } => HostHealth {
                host: host.clone(),
                last_good_at: self.answered_at.get(host).copied(),
                version: None,
                uptime_s: None,
                error: Some(error.clone()),
                insert_counters: None,
                problems: Vec::new(),
                readonly_replicas: None,
                disk_free_ratio: None,
                memory_used_ratio: None,
            },
            HostOutcome::Ok(s) => {
                let at = crate::time::from_unix_ms(s.taken_at_ms);
                self.answered_at.insert(s.host.clone(), at);
                HostHealth {
                    host: s.host.clone(),
                    last_good_at: Some(at),
                    version: Some(s.server.version.clone()),
                    uptime_s: Some(s.server.uptime_s),
                    error: None,
                    // The host's own poll time: a slow host reported again with the same answer
                    // has no growth to show.
                    insert_counters: s.insert_counters.data().and_then(|c| {
                        self.counters
                            .observe(&s.host, s.server.uptime_s, s.taken_at_ms, *c)
                    }),
                    problems: problems(s),
                    readonly_replicas: s
                        .replicas
                        .data()
                        .map(|r| r.iter().filter(|r| r.is_readonly).count() as u64),
                    disk_free_ratio: s.disks.data().and_then(|d| {
                        d.iter()
                            .filter_map(|d| d.free_ratio())
                            .min_by(f64::total_cmp)
                    }),
                    memory_used_ratio: s.memory.data().and_then(|m| m.used_ratio()),
                }
            }
        }
    }
}

fn failed_inserts(s: &HostSnapshot) -> Vec<FailedInsert> {
    s.failed_inserts
        .data()
        .into_iter()
        .flatten()
        .map(|f| FailedInsert {
            host: s.host.clone(),
            table: f.table.clone(),
            exception_code: f.exception_code,
            failures: f.failures,
            latest_exception: f.latest_exception.clone(),
            latest_query_id: f.latest_query_id.clone(),
            latest_query: f.latest_query.clone(),
            latest_time: f.latest_time,
            async_status: None,
            bytes: 0,
        })
        .chain(
            s.async_insert_failures
                .data()
                .into_iter()
                .flatten()
                .map(|f| FailedInsert {
                    host: s.host.clone(),
                    table: f.table.clone(),
                    exception_code: f.exception_code,
                    failures: f.failures,
                    latest_exception: f.latest_exception.clone(),
                    latest_query_id: f.latest_query_id.clone(),
                    latest_query: f.latest_query.clone(),
                    latest_time: f.latest_time,
                    async_status: Some(f.status.clone()),
                    bytes: f.bytes,
                }),
        )
        .collect()
}

/// The sections of one host without data, and why (not available there, or the query failed).
pub fn problems(s: &HostSnapshot) -> Vec<SectionProblem> {
    fn one<T>(name: &str, section: &Section<T>) -> Option<SectionProblem> {
        match section {
            Section::Ok { .. } => None,
            Section::Unavailable { reason } => Some(SectionProblem {
                section: name.to_string(),
                unavailable: true,
                reason: reason.clone(),
            }),
            Section::Failed { error } => Some(SectionProblem {
                section: name.to_string(),
                unavailable: false,
                reason: error.clone(),
            }),
        }
    }
    let mut out: Vec<SectionProblem> = [
        one("tables", &s.tables),
        one("partitions", &s.partitions),
        one("thresholds", &s.thresholds),
        one("detached_parts", &s.detached_parts),
        one("merges", &s.merges),
        one("mutations", &s.mutations),
        one("inserts", &s.inserts),
        one("failed_inserts", &s.failed_inserts),
        one("latency", &s.latency),
        one("slow_queries", &s.slow_queries),
        one("insert_counters", &s.insert_counters),
        one("kafka_consumers", &s.kafka_consumers),
        one("errors", &s.errors),
        one("replicas", &s.replicas),
        one("replication_queue", &s.replication_queue),
        one("keeper", &s.keeper),
        one("disks", &s.disks),
        one("memory", &s.memory),
        one("distribution_queue", &s.distribution_queue),
        one("kafka_chains", &s.kafka_chains),
        one("view_runs", &s.view_runs),
        one("kafka_events", &s.kafka_events),
        one("async_inserts", &s.async_insert_failures),
    ]
    .into_iter()
    .flatten()
    .collect();
    out.extend(
        s.freshness
            .iter()
            .filter_map(|f| one(&format!("freshness {}", f.table), &f.result)),
    );
    out
}

#[cfg(test)]
pub(crate) mod tests;
