//! One finished [`Model`] as Prometheus metrics: every figure is a gauge (the model already holds
//! windows and rates, not monotonic counters), rendered by `prometheus-client` into a registry
//! built for this scrape alone, so nothing is shared with the session and nothing is stale.
//!
//! Cardinality is bounded by what the model lists: series per group and topic, per topic, per
//! broker, per table and host, per source and per active alert; never per partition. A figure the
//! model does not know (a time lag without history, a rate on the first poll) has no sample at all:
//! never NaN, never 0.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::SystemTime;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::alerts::engine::AlertState;
use crate::alerts::severity::Severity;
use crate::model::Model;
use crate::model::kafka::status::Status;
use crate::source::SourceState;

use super::labels::Labels;

/// The exposition format a scraper asked for (`Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`): the default.
    Text,
    /// OpenMetrics 1.0 (`application/openmetrics-text`): `# UNIT` lines and the final `# EOF`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header offers it, the Prometheus text format otherwise.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// `pipetop_consumer_status`'s value: the status's place in the severity order, best first.
pub fn status_code(status: Status) -> i64 {
    match status {
        Status::Ok => 0,
        Status::Unknown => 1,
        Status::NoCommit => 2,
        Status::Warn => 3,
        Status::Stall => 4,
        Status::Rewind => 5,
        Status::Stop => 6,
    }
}

type FloatFamily = Family<Labels, Gauge<f64, AtomicU64>>;
type IntFamily = Family<Labels, Gauge<i64, AtomicI64>>;

/// Registers a float gauge family named `pipetop_<name>_<unit>` (OpenMetrics: `# UNIT`).
fn float(registry: &mut Registry, name: &str, help: &str, unit: Option<Unit>) -> FloatFamily {
    let family = FloatFamily::default();
    match unit {
        Some(unit) => registry.register_with_unit(name, help, unit, family.clone()),
        None => registry.register(name, help, family.clone()),
    }
    family
}

fn int(registry: &mut Registry, name: &str, help: &str) -> IntFamily {
    let family = IntFamily::default();
    registry.register(name, help, family.clone());
    family
}

fn set_float(family: &FloatFamily, labels: Vec<(&'static str, String)>, value: Option<f64>) {
    if let Some(v) = value.filter(|v| v.is_finite()) {
        family.get_or_create(&Labels::from(labels)).set(v);
    }
}

fn set_int(family: &IntFamily, labels: Vec<(&'static str, String)>, value: impl TryInto<i64>) {
    family
        .get_or_create(&Labels::from(labels))
        .set(value.try_into().unwrap_or(i64::MAX));
}

fn messages_per_second() -> Option<Unit> {
    Some(Unit::Other("messages_per_second".to_string()))
}

/// The metrics of `model` as of `now` (the scrape's clock, for the sources' data age).
pub fn render(model: &Model, now: SystemTime, format: Format) -> String {
    render_with(model, now, format, Series::Bounded)
}

/// Which series a scrape holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Per group and topic, table, broker, source and alert: bounded by the number of things
    /// watched, never by partitions.
    Bounded,
    /// Also one lag and time-lag series per group and partition (`serve --partition-series`):
    /// 200,000 series for 1,000 groups on 200 partitions each. Filter the groups first.
    WithPartitions,
}

pub fn render_with(model: &Model, now: SystemTime, format: Format, series: Series) -> String {
    let mut out = render_model_part(model, format, series);
    out.push_str(&render_clock_part(model, now, format));
    out
}

/// Every family that depends on the model alone: the same for every scrape of one model, so
/// `serve` renders it once per model (`render_cache`).
pub fn render_model_part(model: &Model, format: Format, series: Series) -> String {
    let mut registry = Registry::with_prefix("pipetop");
    kafka(&mut registry, model);
    if series == Series::WithPartitions {
        partitions(&mut registry, model);
    }
    clickhouse(&mut registry, model);
    own_load(&mut registry, model);
    alerts(&mut registry, model);
    encode(&registry, format, false)
}

/// The families that move with the scrape's clock (the sources' data age), and the end of the
/// exposition.
pub fn render_clock_part(model: &Model, now: SystemTime, format: Format) -> String {
    let mut registry = Registry::with_prefix("pipetop");
    sources(&mut registry, model, now);
    encode(&registry, format, true)
}

fn encode(registry: &Registry, format: Format, last: bool) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode_registry(&mut out, registry);
    match format {
        Format::OpenMetrics => {
            if last {
                let _ = encode_eof(&mut out);
            }
            out
        }
        // Only gauges: the text format is OpenMetrics without its UNIT lines and EOF marker.
        Format::Text => without_unit_lines(out),
    }
}

/// `text` without its `# UNIT` lines, filtered in place (the exposition is about 1.5 MB at 1,000
/// groups: no second copy of it).
fn without_unit_lines(text: String) -> String {
    let mut bytes = text.into_bytes();
    let (mut kept, mut start) = (0, 0);
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |newline| start + newline + 1);
        if !bytes[start..end].starts_with(b"# UNIT ") {
            bytes.copy_within(start..end, kept);
            kept += end - start;
        }
        start = end;
    }
    bytes.truncate(kept);
    // Whole lines were taken out at their newlines, so what is left is still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn kafka(registry: &mut Registry, model: &Model) {
    let lag = int(
        registry,
        "consumer_lag_messages",
        "Committed-offset lag (end - committed) summed over the partitions whose lag is known",
    );
    let time_lag = float(
        registry,
        "consumer_time_lag",
        "Age of the oldest unconsumed message; no sample while unknown",
        Some(Unit::Seconds),
    );
    let time_lag_kind = int(
        registry,
        "consumer_time_lag_kind",
        "1, labelled with how consumer_time_lag was obtained: exact, interpolated, looked_up, estimate, at_least (a lower bound) or unknown",
    );
    let produce = float(
        registry,
        "produce_rate",
        "Messages per second produced into the group's partitions of the topic",
        messages_per_second(),
    );
    let consume = float(
        registry,
        "consume_rate",
        "Messages per second the group committed on the topic",
        messages_per_second(),
    );
    let status = int(
        registry,
        "consumer_status",
        "Worst partition status: 0 ok, 1 unknown, 2 no_commit, 3 warn, 4 stall, 5 rewind, 6 stop",
    );
    let members = int(
        registry,
        "consumer_members",
        "Members of the consumer group",
    );
    let retention_left = float(
        registry,
        "consumer_retention_left",
        "Time until the group's oldest unread message may be deleted by its topic's retention.ms; no sample while unknown or unlimited",
        Some(Unit::Seconds),
    );
    let retention_used = float(
        registry,
        "consumer_retention_used_ratio",
        "Age of the group's oldest unread message as a share of its topic's retention.ms",
        None,
    );
    let lost = int(
        registry,
        "consumer_messages_lost",
        "Messages deleted by retention before the group read them (committed below the log start)",
    );
    for g in &model.kafka.groups {
        set_float(
            &retention_left,
            vec![("group", g.group_id.clone())],
            g.retention.left_s,
        );
        set_float(
            &retention_used,
            vec![("group", g.group_id.clone())],
            g.retention.used,
        );
        set_int(&lost, vec![("group", g.group_id.clone())], g.retention.lost);
        set_int(
            &status,
            vec![("group", g.group_id.clone())],
            status_code(g.status),
        );
        set_int(&members, vec![("group", g.group_id.clone())], g.members);
        // The topics with a known lag: a group's rows come topic by topic, and a group reads
        // few topics, so a list beats hashing each of its rows (200,000 a render at scale).
        let mut known: Vec<&str> = Vec::new();
        for (topic, rows) in g.partitions.runs() {
            if rows.iter().any(|p| p.lag().is_some()) && !known.contains(&&**topic) {
                known.push(topic);
            }
        }
        for t in &g.topic_lags {
            let labels = || vec![("group", g.group_id.clone()), ("topic", t.topic.clone())];
            if known.contains(&t.topic.as_str()) {
                set_int(&lag, labels(), t.lag.total_lag);
            }
            set_float(&time_lag, labels(), t.lag.time_lag_s);
            let mut kind = labels();
            kind.push(("kind", t.lag.time_lag_kind.name().to_string()));
            set_int(&time_lag_kind, kind, 1);
            set_float(&produce, labels(), t.lag.produce_rate);
            set_float(&consume, labels(), t.lag.consume_rate);
        }
    }

    let under = int(
        registry,
        "topic_under_replicated_partitions",
        "Partitions whose ISR is smaller than their replica set",
    );
    let leaderless = int(
        registry,
        "topic_leaderless_partitions",
        "Partitions without a leader",
    );
    let partitions = int(registry, "topic_partitions", "Partitions of the topic");
    let topic_rate = float(
        registry,
        "topic_produce_rate",
        "Messages per second produced into the topic (last minute)",
        messages_per_second(),
    );
    for t in &model.kafka.topics {
        let labels = || vec![("topic", t.name.clone())];
        set_int(&under, labels(), t.under_replicated);
        set_int(&leaderless, labels(), t.leaderless);
        set_int(&partitions, labels(), t.partitions.len());
        set_float(&topic_rate, labels(), t.produce_rate);
    }

    let up = int(
        registry,
        "broker_up",
        "1 when the broker is in the cluster metadata and answered for the partitions it leads",
    );
    for b in &model.kafka.brokers {
        let answering = !b.is_down();
        set_int(
            &up,
            vec![("broker", b.id.to_string())],
            i64::from(answering),
        );
    }
}

fn partitions(registry: &mut Registry, model: &Model) {
    let lag = int(
        registry,
        "partition_lag_messages",
        "Committed-offset lag (end - committed) of one partition; no sample while unknown",
    );
    let time_lag = float(
        registry,
        "partition_time_lag",
        "Age of the oldest unconsumed message of one partition; no sample while unknown",
        Some(Unit::Seconds),
    );
    for g in &model.kafka.groups {
        for p in &g.partitions {
            let labels = || {
                vec![
                    ("group", g.group_id.clone()),
                    ("topic", p.topic.to_string()),
                    ("partition", p.partition.to_string()),
                ]
            };
            if let Some(l) = p.lag() {
                set_int(&lag, labels(), l);
            }
            set_float(&time_lag, labels(), p.time_lag_s());
        }
    }
}

fn clickhouse(registry: &mut Registry, model: &Model) {
    let parts = int(
        registry,
        "table_worst_partition_active_parts",
        "Active parts in the table's partition with the most of them",
    );
    let ratio = float(
        registry,
        "table_parts_to_delay_ratio",
        "Worst partition's active parts / parts_to_delay_insert (1 = inserts are slowed down)",
        None,
    );
    let failed = int(
        registry,
        "table_failed_inserts",
        "Failed INSERTs in the query_log window (a windowed count, not a counter)",
    );
    let p95 = float(
        registry,
        "table_insert_latency_p95",
        "95th percentile INSERT duration in the query_log window",
        Some(Unit::Seconds),
    );
    let freshness = float(
        registry,
        "table_freshness",
        "Age of the newest row of a watched table",
        Some(Unit::Seconds),
    );
    for t in &model.clickhouse.health {
        let labels = || vec![("host", t.host.clone()), ("table", t.table.clone())];
        if let Some(n) = t.max_parts_in_partition {
            set_int(&parts, labels(), n);
        }
        set_float(&ratio, labels(), t.parts_to_delay_ratio);
        if let Some(n) = t.failed_inserts {
            set_int(&failed, labels(), n);
        }
        set_float(&p95, labels(), t.p95_insert_ms.map(|ms| ms / 1000.0));
        set_float(&freshness, labels(), t.freshness_s.map(|s| s as f64));
    }
    let host_up = int(
        registry,
        "clickhouse_host_up",
        "1 when the ClickHouse host answered the last poll",
    );
    for h in &model.clickhouse.hosts {
        set_int(
            &host_up,
            vec![("host", h.host.clone())],
            i64::from(h.error.is_none()),
        );
    }
    resources(registry, model);
    kafka_chains(registry, model);
}

/// Each view reading a Kafka engine table with its pushes and failures in the window, and each
/// host's Kafka counters (cumulative, as the server reports them: a scraper takes the rate).
fn kafka_chains(registry: &mut Registry, model: &Model) {
    let chains = &model.clickhouse.kafka_chains;
    let runs = int(
        registry,
        "clickhouse_mv_pushes",
        "Pushes through a materialized view reading a Kafka engine table in the window (system.query_views_log); no sample where the log is not read",
    );
    let failures = int(
        registry,
        "clickhouse_mv_failures",
        "Pushes through a materialized view reading a Kafka engine table that threw in the window (system.query_views_log); no sample where the log is not read",
    );
    for c in &chains.tables.rows {
        for v in &c.item.views {
            let labels = || {
                vec![
                    ("host", c.host.clone()),
                    ("kafka_table", c.item.full_name()),
                    ("view", v.view.clone()),
                ]
            };
            if let (Some(r), Some(f)) = (v.runs, v.failures) {
                set_int(&runs, labels(), r);
                set_int(&failures, labels(), f);
            }
        }
    }
    let events = int(
        registry,
        "clickhouse_kafka_events",
        "The server's Kafka counters since its start (system.events KafkaCommitFailures, KafkaConsumerErrors, …; one the server does not list reads 0)",
    );
    for h in &chains.counters {
        for c in &h.counters {
            set_int(
                &events,
                vec![("host", h.host.clone()), ("event", c.name.clone())],
                c.total,
            );
        }
    }
}

/// Disks and memory per host, send queues per host and Distributed table.
fn resources(registry: &mut Registry, model: &Model) {
    let r = &model.clickhouse.resources;
    let free = float(
        registry,
        "clickhouse_disk_free",
        "Free space of the disk (system.disks free_space)",
        Some(Unit::Bytes),
    );
    let total = float(
        registry,
        "clickhouse_disk_total",
        "Size of the disk (system.disks total_space)",
        Some(Unit::Bytes),
    );
    let full_in = float(
        registry,
        "clickhouse_disk_full_in",
        "Time until the disk's free space reaches keep_free_space at the last hour's rate; no sample unless the history supports it within a day",
        Some(Unit::Seconds),
    );
    for d in &r.disks.rows {
        let labels = || vec![("host", d.host.clone()), ("disk", d.item.disk.name.clone())];
        // A disk without a total (object storage) reports 2^64 - 1: no figure, not a huge one.
        if d.item.free_ratio.is_some() {
            set_float(&free, labels(), Some(d.item.disk.free_bytes as f64));
            set_float(&total, labels(), Some(d.item.disk.total_bytes as f64));
        }
        set_float(&full_in, labels(), d.item.full_in_s);
    }
    let tracked = float(
        registry,
        "clickhouse_memory_tracked",
        "Memory the server's tracker counts (system.metrics MemoryTracking)",
        Some(Unit::Bytes),
    );
    let limit = float(
        registry,
        "clickhouse_memory_limit",
        "The server's memory limit (max_server_memory_usage, else the OS total times its ratio); no sample while unknown",
        Some(Unit::Bytes),
    );
    for m in &r.memory {
        let Some(memory) = &m.memory else { continue };
        let labels = || vec![("host", m.host.clone())];
        set_float(&tracked, labels(), Some(memory.tracked_bytes as f64));
        set_float(&limit, labels(), memory.limit_bytes.map(|l| l as f64));
    }
    let files = int(
        registry,
        "distributed_files",
        "Files waiting in a Distributed table's send queue (system.distribution_queue data_files)",
    );
    let broken = int(
        registry,
        "distributed_broken_files",
        "Files of a Distributed table's queue the server gave up on; no sample where the server has no such column",
    );
    let errors = int(
        registry,
        "distributed_send_errors",
        "Failed sends of a Distributed table's queue (error_count)",
    );
    for q in &r.distribution.rows {
        let labels = || {
            vec![
                ("host", q.host.clone()),
                ("table", format!("{}.{}", q.item.database, q.item.table)),
            ]
        };
        set_int(&files, labels(), q.item.data_files);
        if let Some(b) = q.item.broken_data_files {
            set_int(&broken, labels(), b);
        }
        set_int(&errors, labels(), q.item.error_count);
    }
}

/// What pipetop's own polls cost each ClickHouse host (`:self`), read back from its query_log.
fn own_load(registry: &mut Registry, model: &Model) {
    let server = float(
        registry,
        "own_clickhouse_poll_server_time",
        "Server time of pipetop's queries per poll (sum of query_duration_ms; they run side by side, so waits count), mean over the query_log window",
        Some(Unit::Seconds),
    );
    let cpu = float(
        registry,
        "own_clickhouse_poll_cpu",
        "CPU (user + system) of pipetop's queries per poll, mean over the query_log window",
        Some(Unit::Seconds),
    );
    let rows = float(
        registry,
        "own_clickhouse_poll_read_rows",
        "Rows pipetop's queries read per poll, mean over the query_log window",
        None,
    );
    for h in &model.pipetop_load.hosts {
        let Ok(load) = &h.load else { continue };
        let labels = || vec![("host", h.host.clone())];
        set_float(&server, labels(), load.poll_ms.map(|s| s.mean / 1000.0));
        set_float(&cpu, labels(), load.cpu_ms.map(|s| s.mean / 1000.0));
        set_float(&rows, labels(), Some(load.read_rows_per_poll));
    }
}

fn sources(registry: &mut Registry, model: &Model, now: SystemTime) {
    let up = int(
        registry,
        "source_up",
        "1 when the source's last poll succeeded",
    );
    let age = float(
        registry,
        "source_data_age",
        "Age of the source's last good data; no sample before the first",
        Some(Unit::Seconds),
    );
    let sources: [(&str, &SourceState); 2] = [
        ("kafka", &model.sources.kafka),
        ("clickhouse", &model.sources.clickhouse),
    ];
    for (name, state) in sources {
        let labels = || vec![("source", name.to_string())];
        let good = state.error.is_none() && state.last_good_at.is_some();
        set_int(&up, labels(), i64::from(good));
        set_float(&age, labels(), state.age(now).map(|d| d.as_secs_f64()));
    }
}

fn alerts(registry: &mut Registry, model: &Model) {
    let alert = int(
        registry,
        "alert",
        "1 per active alert of pipetop's own rules (pending or firing)",
    );
    for a in &model.alerts.active {
        let state = match a.state {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        };
        let severity = match a.severity {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        };
        let labels = vec![
            ("rule", a.rule.name().to_string()),
            ("subject_kind", a.subject.kind.name().to_string()),
            ("subject", a.subject.name.clone()),
            ("severity", severity.to_string()),
            ("state", state.to_string()),
        ];
        set_int(&alert, labels, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lines_are_taken_out_whole_and_nothing_else() {
        let open = "# HELP a_seconds x\n# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n\
                    a_seconds{l=\"# UNIT \"} 1\n# UNIT b b\nb 2\n# UNIT c c";
        assert_eq!(
            without_unit_lines(open.to_string()),
            "# HELP a_seconds x\n# TYPE a_seconds gauge\na_seconds{l=\"# UNIT \"} 1\nb 2\n"
        );
        assert_eq!(without_unit_lines(String::new()), "");
        assert_eq!(without_unit_lines("é\n# UNIT x\n".into()), "é\n");
    }

    #[test]
    fn the_text_format_is_openmetrics_without_units_and_eof() {
        let mut model = Model::default();
        model.sources.kafka.last_good_at =
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(90));
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(100);
        let open = render(&model, now, Format::OpenMetrics);
        let text = render(&model, now, Format::Text);
        assert!(open.contains("# UNIT ") && open.ends_with("# EOF\n"));
        // The same lines (a family's series come in no fixed order from one render to the next).
        let mut expected: Vec<&str> = open
            .lines()
            .filter(|l| !l.starts_with("# UNIT ") && *l != "# EOF")
            .collect();
        let mut got: Vec<&str> = text.lines().collect();
        expected.sort_unstable();
        got.sort_unstable();
        assert!(text.ends_with('\n'));
        assert_eq!(got, expected);
    }
}
