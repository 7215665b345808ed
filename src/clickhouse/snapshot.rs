//! What one ClickHouse poll saw, as plain immutable data.

use serde::{Deserialize, Serialize};

use super::section_id::SectionId;

use super::kafka_chain::{KafkaEvent, KafkaTableChain, ViewRuns};
use super::own_load::OwnLoad;
use super::replication::{KeeperSession, Replica, ReplicationQueue};
use super::resources::{Disk, DistributionQueue, Memory};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClickHouseSnapshot {
    pub taken_at_ms: i64,
    pub poll_ms: u64,
    /// Queries this poll sent, over all hosts.
    pub queries: u32,
    /// The first configured host that answered (kept at the top for the single-host case and for
    /// the stable `server` / `tables` fields); every host, this one included, is in `hosts`.
    pub server: ServerInfo,
    /// Active parts per table of that first host (system database excluded), worst partition first.
    pub tables: Section<Vec<TableParts>>,
    pub hosts: Vec<HostOutcome>,
}

/// One host's poll: its figures, or why it could not be reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HostOutcome {
    Ok(Box<HostSnapshot>),
    Failed { host: String, error: String },
}

impl HostOutcome {
    pub fn host(&self) -> &str {
        match self {
            HostOutcome::Ok(s) => &s.host,
            HostOutcome::Failed { host, .. } => host,
        }
    }

    pub fn snapshot(&self) -> Option<&HostSnapshot> {
        match self {
            HostOutcome::Ok(s) => Some(s),
            HostOutcome::Failed { .. } => None,
        }
    }
}

/// Everything one host reported. Each section stands alone: a slow or failing query leaves the
/// others intact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// The endpoint URL, without credentials.
    pub host: String,
    pub server: ServerInfo,
    /// When this host's poll ended (Unix ms): a slow host's last answer can be older than the
    /// snapshot it is reported in (see `ClickHouseCollector`).
    pub taken_at_ms: i64,
    pub poll_ms: u64,
    pub queries: u32,
    /// The query_log window the insert and latency figures cover.
    pub window_s: u64,
    pub tables: Section<Vec<TableParts>>,
    /// The partitions with the most active parts, a few per table.
    pub partitions: Section<Vec<PartitionParts>>,
    pub thresholds: Section<PartsThresholds>,
    pub detached_parts: Section<Vec<DetachedParts>>,
    pub merges: Section<Vec<Merge>>,
    pub mutations: Section<Vec<Mutation>>,
    pub inserts: Section<Vec<TableInserts>>,
    pub failed_inserts: Section<Vec<FailedInserts>>,
    pub latency: Section<Vec<KindLatency>>,
    pub slow_queries: Section<Vec<SlowQuery>>,
    pub insert_counters: Section<InsertCounters>,
    pub kafka_consumers: Section<Vec<KafkaConsumer>>,
    pub freshness: Vec<Freshness>,
    /// Server errors (system.errors) that happened in the window, newest first.
    pub errors: Section<Vec<ServerError>>,
    /// The parts of the partition the UI drilled into, when it names one for this host.
    pub focused_parts: Option<FocusedParts>,
    /// This host's replica of each replicated table (system.replicas).
    pub replicas: Section<Vec<Replica>>,
    /// Its replication queue per table, the most stuck first.
    pub replication_queue: Section<Vec<ReplicationQueue>>,
    /// Its ZooKeeper/Keeper session.
    pub keeper: Section<KeeperSession>,
    /// Why `replicas` carry no `zookeeper_exception` (the server has no such column), if so.
    pub zookeeper_exception_missing: Option<String>,
    /// Its disks (system.disks). Recordings made before these sections read them as not recorded.
    #[serde(default = "not_recorded")]
    pub disks: Section<Vec<Disk>>,
    /// Its tracked memory against the server's limit.
    #[serde(default = "not_recorded")]
    pub memory: Section<Memory>,
    /// The send queues of its Distributed tables, the worst first.
    #[serde(default = "not_recorded")]
    pub distribution_queue: Section<Vec<DistributionQueue>>,
    /// Each Kafka engine table with the materialized views reading it and their targets.
    #[serde(default = "not_recorded")]
    pub kafka_chains: Section<Vec<KafkaTableChain>>,
    /// Each materialized view's pushes and failures in the window (system.query_views_log).
    #[serde(default = "not_recorded")]
    pub view_runs: Section<Vec<ViewRuns>>,
    /// The server's Kafka counters (system.events), cumulative.
    #[serde(default = "not_recorded")]
    pub kafka_events: Section<Vec<KafkaEvent>>,
    /// Async inserts whose data was not written (system.asynchronous_insert_log), per table,
    /// status and exception code.
    #[serde(default = "not_recorded")]
    pub async_insert_failures: Section<Vec<AsyncInsertFailures>>,
    /// What pipetop's own queries cost this server (its query_log).
    #[serde(default = "not_recorded")]
    pub own_load: Section<OwnLoad>,
    /// The sections on a cadence (`cadence::INTERVALS`) with a good answer, how often each is
    /// read, and when the figures above were read: at an earlier poll when kept, else at this
    /// one (`taken_at_ms`).
    #[serde(default)]
    pub cadenced: Vec<CadencedRead>,
}

/// When a section on a cadence (`cadence::INTERVALS`) was last read (its figures in this snapshot
/// are from then), and its interval in force (0: every poll, as configured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadencedRead {
    pub section: SectionId,
    pub every_s: u64,
    /// Unix ms of the read.
    pub read_at_ms: i64,
}

/// A section a recording made by an older pipetop does not hold.
pub fn not_recorded<T>() -> Section<T> {
    Section::Unavailable {
        reason: "not in this recording (made before pipetop read it)".into(),
    }
}

impl HostSnapshot {
    /// When `section`'s figures were read: at this poll, unless it is on a cadence and kept.
    pub fn read_at_ms(&self, section: SectionId) -> i64 {
        self.cadenced
            .iter()
            .find(|r| r.section == section)
            .map_or(self.taken_at_ms, |r| r.read_at_ms)
    }

    /// The error of the first section whose query failed, if any did.
    pub fn first_failure(&self) -> Option<&str> {
        [
            self.tables.error(),
            self.partitions.error(),
            self.thresholds.error(),
            self.detached_parts.error(),
            self.merges.error(),
            self.mutations.error(),
            self.inserts.error(),
            self.failed_inserts.error(),
            self.latency.error(),
            self.slow_queries.error(),
            self.insert_counters.error(),
            self.kafka_consumers.error(),
            self.errors.error(),
            self.replicas.error(),
            self.replication_queue.error(),
            self.keeper.error(),
            self.disks.error(),
            self.memory.error(),
            self.distribution_queue.error(),
            self.kafka_chains.error(),
            self.view_runs.error(),
            self.kafka_events.error(),
            self.async_insert_failures.error(),
            self.own_load.error(),
        ]
        .into_iter()
        .chain(self.freshness.iter().map(|f| f.result.error()))
        .flatten()
        .next()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub uptime_s: u64,
}

/// One figure of the snapshot: present, or why it is missing. A failing query degrades only the
/// section it feeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Section<T> {
    Ok {
        data: T,
    },
    /// The server is too old or not configured for it; not an error, and not retried as one.
    Unavailable {
        reason: String,
    },
    Failed {
        error: String,
    },
}

impl<T> Section<T> {
    pub fn data(&self) -> Option<&T> {
        match self {
            Section::Ok { data } => Some(data),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Section<U> {
        match self {
            Section::Ok { data } => Section::Ok { data: f(data) },
            Section::Unavailable { reason } => Section::Unavailable { reason },
            Section::Failed { error } => Section::Failed { error },
        }
    }

    /// The data turned into another section (which may say it has none).
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Section<U>) -> Section<U> {
        match self {
            Section::Ok { data } => f(data),
            Section::Unavailable { reason } => Section::Unavailable { reason },
            Section::Failed { error } => Section::Failed { error },
        }
    }

    /// Why the query failed, if it did (not when the section is unavailable).
    pub fn error(&self) -> Option<&str> {
        match self {
            Section::Failed { error } => Some(error),
            _ => None,
        }
    }

    /// Why there is no data, if there is none.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Section::Ok { .. } => None,
            Section::Unavailable { reason } => Some(reason),
            Section::Failed { error } => Some(error),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableParts {
    pub database: String,
    pub table: String,
    pub active_parts: u64,
    pub partitions: u64,
    pub rows: u64,
    pub bytes_on_disk: u64,
    /// The partition with the most active parts: where "Too many parts" strikes first.
    pub worst_partition: String,
    pub max_parts_in_partition: u64,
    /// The most partitions whose data starts on the same day; None when the partition key holds
    /// no date (nothing to count per day).
    pub max_partitions_per_day: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionParts {
    pub database: String,
    pub table: String,
    pub partition: String,
    pub partition_id: String,
    pub active_parts: u64,
    pub rows: u64,
    pub bytes_on_disk: u64,
}

/// The parts thresholds in force: the server's MergeTree defaults and the tables that set their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsThresholds {
    pub default_parts_to_delay_insert: u64,
    pub default_parts_to_throw_insert: u64,
    pub overrides: Vec<TableThresholds>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableThresholds {
    pub database: String,
    pub table: String,
    pub parts_to_delay_insert: Option<u64>,
    pub parts_to_throw_insert: Option<u64>,
}

impl PartsThresholds {
    /// (delay, throw) for one table: its own SETTINGS where set, else the server's defaults.
    /// A setting of 0 means "use the default" in ClickHouse, and so it does here.
    pub fn effective(&self, database: &str, table: &str) -> (u64, u64) {
        let own = self
            .overrides
            .iter()
            .find(|t| t.database == database && t.table == table);
        let pick = |own: Option<u64>, default: u64| own.filter(|v| *v > 0).unwrap_or(default);
        (
            pick(
                own.and_then(|t| t.parts_to_delay_insert),
                self.default_parts_to_delay_insert,
            ),
            pick(
                own.and_then(|t| t.parts_to_throw_insert),
                self.default_parts_to_throw_insert,
            ),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedParts {
    pub database: String,
    pub table: String,
    pub parts: u64,
    pub bytes_on_disk: u64,
    /// Distinct reasons ("" = detached by a user), at most ten.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub database: String,
    pub table: String,
    pub elapsed_s: f64,
    /// 0..1
    pub progress: f64,
    pub num_parts: u64,
    pub total_size_bytes_compressed: u64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub memory_usage: u64,
    pub result_part_name: String,
    /// None on servers whose system.merges has no is_mutation column.
    pub is_mutation: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    pub database: String,
    pub table: String,
    pub mutation_id: String,
    pub command: String,
    pub create_time: u32,
    pub parts_to_do: i64,
    /// None on servers that do not record failures (system.mutations without latest_fail_reason).
    pub latest_fail_reason: Option<String>,
    pub latest_fail_time: Option<u32>,
}

/// Inserts into one table over the window, from query_log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInserts {
    /// `database.table`.
    pub table: String,
    pub inserts: u64,
    pub rows: u64,
    pub failed: u64,
    pub inserts_per_s: f64,
    pub rows_per_s: f64,
    /// p50 / p95 / p99 of query_duration_ms over successful inserts (server-side `quantiles`).
    pub latency_ms: Option<Quantiles>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Quantiles {
    /// `quantiles(0.5, 0.95, 0.99)` answers NaN over no rows: that is "no data", not a figure.
    pub fn from_slice(q: &[f64]) -> Option<Quantiles> {
        match q {
            [p50, p95, p99] if !(p50.is_nan() || p95.is_nan() || p99.is_nan()) => Some(Quantiles {
                p50: *p50,
                p95: *p95,
                p99: *p99,
            }),
            _ => None,
        }
    }
}

/// Failed inserts into one table with one exception code, over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedInserts {
    pub table: String,
    pub exception_code: i32,
    pub failures: u64,
    /// The latest exception in full, and the query that raised it.
    pub latest_exception: String,
    pub latest_query_id: String,
    /// The text of that query (an INSERT's data is not part of it), at most 4096 characters.
    pub latest_query: String,
    pub latest_time: u32,
}

/// Async inserts into one table that failed the same way over the window: the server accepted
/// them into its buffer (with `wait_for_async_insert = 0` the client was told "Ok") and then could
/// not parse or write them, so their rows are lost unless the client retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncInsertFailures {
    /// `database.table`.
    pub table: String,
    /// `ParsingError` or `FlushError`.
    pub status: String,
    /// From the exception's `Code: N.`; 0 when it has none.
    pub exception_code: i32,
    pub failures: u64,
    /// The bytes those inserts carried.
    pub bytes: u64,
    /// The latest one's exception, query id and query text (at most 4096 characters).
    pub latest_exception: String,
    pub latest_query_id: String,
    pub latest_query: String,
    pub latest_time: u32,
}

/// Latency of one kind of query (Insert, Select) over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindLatency {
    pub kind: String,
    pub queries: u64,
    pub latency_ms: Option<Quantiles>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowQuery {
    /// The query with literals replaced, as one example of its pattern.
    pub normalized_query: String,
    pub kind: String,
    pub count: u64,
    pub p95_ms: f64,
    pub max_ms: u64,
}

/// Cumulative counters from system.events since the server started (deltas live in the model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertCounters {
    pub delayed_inserts: u64,
    pub rejected_inserts: u64,
    pub delayed_inserts_ms: u64,
    pub failed_insert_queries: u64,
    pub insert_queries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaConsumer {
    pub database: String,
    pub table: String,
    pub consumer_id: String,
    pub assignments: Vec<KafkaAssignment>,
    /// Seconds since the last poll / commit; None when it never happened.
    pub last_poll_age_s: Option<u64>,
    pub last_commit_age_s: Option<u64>,
    pub num_messages_read: u64,
    pub num_commits: u64,
    pub num_rebalance_assignments: u64,
    pub num_rebalance_revocations: u64,
    pub is_currently_used: bool,
    /// Newest first, at most three.
    pub latest_exceptions: Vec<KafkaException>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaAssignment {
    pub topic: String,
    pub partition: i32,
    pub current_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaException {
    pub time: u32,
    pub text: String,
}

/// How old the newest row of a watched table is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Freshness {
    /// `database.table`, as configured.
    pub table: String,
    pub column: String,
    pub result: Section<FreshnessData>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessData {
    /// Unix seconds of the newest value; None when the table has no rows.
    pub newest: Option<i64>,
    /// `now() − newest` on the server's clock, so a skewed local clock does not matter.
    pub age_s: Option<i64>,
}

/// One error counter of system.errors: how often the server raised this error since it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    pub name: String,
    pub code: i32,
    /// Times raised since the server started (`value`).
    pub count: u64,
    /// Unix seconds of the latest occurrence and its message; None on servers whose system.errors
    /// has no such columns (before ~21.4).
    pub last_time: Option<u32>,
    pub last_message: Option<String>,
}

/// The partition whose parts the UI shows: chosen by the user, so every name is bound as a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsFocus {
    /// A host as shown in `HostSnapshot.host`; None = every host.
    pub host: Option<String>,
    pub database: String,
    pub table: String,
    pub partition_id: String,
}

impl PartsFocus {
    pub fn applies_to(&self, host: &str) -> bool {
        self.host.as_deref().is_none_or(|h| h == host)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FocusedParts {
    pub focus: PartsFocus,
    /// Active parts of the partition, newest first (at most 1000).
    pub parts: Section<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub name: String,
    pub rows: u64,
    pub bytes_on_disk: u64,
    pub level: u32,
    /// Unix seconds.
    pub modification_time: u32,
    pub marks: u64,
}
