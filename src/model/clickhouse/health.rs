//! Per-table health: the sections of one host's snapshot joined into one row per table, with a
//! severity and the reasons for it, so the worst table is on top.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alerts::{RuleKind, RuleSet, Severity, Subject, SubjectKind};

use super::kafka_chain::KafkaChains;
use crate::clickhouse::snapshot::HostSnapshot;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableHealth {
    pub host: String,
    /// `database.table`.
    pub table: String,
    /// None when nothing is wrong.
    pub severity: Option<Severity>,
    /// Why the severity is what it is, worst first; empty when all is well.
    pub reasons: Vec<String>,
    pub active_parts: Option<u64>,
    pub partitions: Option<u64>,
    pub worst_partition: Option<String>,
    pub max_parts_in_partition: Option<u64>,
    pub parts_to_delay_insert: Option<u64>,
    pub parts_to_throw_insert: Option<u64>,
    /// max_parts_in_partition / parts_to_delay_insert: 1.0 is where ClickHouse starts slowing
    /// inserts down (the `parts_pressure` alert's scale).
    pub parts_to_delay_ratio: Option<f64>,
    /// max_parts_in_partition / parts_to_throw_insert: 1.0 is where inserts are rejected.
    pub parts_to_throw_ratio: Option<f64>,
    pub max_partitions_per_day: Option<u64>,
    pub detached_parts: u64,
    pub merges_running: u64,
    pub mutations_pending: u64,
    pub inserts_per_s: Option<f64>,
    pub rows_per_s: Option<f64>,
    /// Failed INSERTs (query_log) and lost async inserts (`async_failed_inserts`) in the window.
    pub failed_inserts: Option<u64>,
    /// Of those, the async inserts the server accepted and then could not parse or flush.
    pub async_failed_inserts: u64,
    pub p95_insert_ms: Option<f64>,
    /// Age of the newest row in seconds, for watched tables.
    pub freshness_s: Option<i64>,
    /// For a Kafka engine table: what it reads and feeds. Such a row has no parts or inserts;
    /// its health is its views' failures and its consumers' exceptions.
    pub kafka: Option<KafkaLinks>,
}

/// A Kafka engine table's links, from its chain (`kafka_chain::ChainState`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KafkaLinks {
    pub topics: Vec<String>,
    pub group: Option<String>,
    /// The materialized views reading it.
    pub views: usize,
    /// Its views' failures in the window; None when no view's runs are known.
    pub view_failures: Option<u64>,
}

impl TableHealth {
    fn new(host: &str, table: &str) -> TableHealth {
        TableHealth {
            host: host.to_string(),
            table: table.to_string(),
            severity: None,
            reasons: Vec::new(),
            active_parts: None,
            partitions: None,
            worst_partition: None,
            max_parts_in_partition: None,
            parts_to_delay_insert: None,
            parts_to_throw_insert: None,
            parts_to_delay_ratio: None,
            parts_to_throw_ratio: None,
            max_partitions_per_day: None,
            detached_parts: 0,
            merges_running: 0,
            mutations_pending: 0,
            inserts_per_s: None,
            rows_per_s: None,
            failed_inserts: None,
            async_failed_inserts: 0,
            p95_insert_ms: None,
            freshness_s: None,
            kafka: None,
        }
    }

    fn flag(&mut self, severity: Severity, reason: String) {
        self.severity = self.severity.max(Some(severity));
        self.reasons.push(reason);
    }
}

/// One row per table seen in any section of this host's snapshot.
pub fn table_health(s: &HostSnapshot, rules: &RuleSet) -> Vec<TableHealth> {
    let mut rows: BTreeMap<String, TableHealth> = BTreeMap::new();
    fn row<'a>(
        rows: &'a mut BTreeMap<String, TableHealth>,
        host: &str,
        name: String,
    ) -> &'a mut TableHealth {
        rows.entry(name.clone())
            .or_insert_with(|| TableHealth::new(host, &name))
    }
    let thresholds = s.thresholds.data();
    for t in s.tables.data().into_iter().flatten() {
        let r = row(&mut rows, &s.host, format!("{}.{}", t.database, t.table));
        r.active_parts = Some(t.active_parts);
        r.partitions = Some(t.partitions);
        r.worst_partition = Some(t.worst_partition.clone());
        r.max_parts_in_partition = Some(t.max_parts_in_partition);
        r.max_partitions_per_day = t.max_partitions_per_day;
        if let Some(th) = thresholds {
            let (delay, throw) = th.effective(&t.database, &t.table);
            r.parts_to_delay_insert = Some(delay);
            r.parts_to_throw_insert = Some(throw);
            let ratio =
                |limit: u64| (limit > 0).then(|| t.max_parts_in_partition as f64 / limit as f64);
            r.parts_to_delay_ratio = ratio(delay);
            r.parts_to_throw_ratio = ratio(throw);
        }
    }
    for d in s.detached_parts.data().into_iter().flatten() {
        row(&mut rows, &s.host, format!("{}.{}", d.database, d.table)).detached_parts = d.parts;
    }
    for m in s.merges.data().into_iter().flatten() {
        row(&mut rows, &s.host, format!("{}.{}", m.database, m.table)).merges_running += 1;
    }
    let mut mutation_failures: BTreeMap<String, String> = BTreeMap::new();
    for m in s.mutations.data().into_iter().flatten() {
        let name = format!("{}.{}", m.database, m.table);
        row(&mut rows, &s.host, name.clone()).mutations_pending += 1;
        if let Some(reason) = m.latest_fail_reason.as_ref().filter(|r| !r.is_empty()) {
            mutation_failures.insert(name, reason.clone());
        }
    }
    for i in s.inserts.data().into_iter().flatten() {
        let r = row(&mut rows, &s.host, i.table.clone());
        r.inserts_per_s = Some(i.inserts_per_s);
        r.rows_per_s = Some(i.rows_per_s);
        r.failed_inserts = Some(i.failed);
        r.p95_insert_ms = i.latency_ms.map(|q| q.p95);
    }
    for a in s.async_insert_failures.data().into_iter().flatten() {
        let r = row(&mut rows, &s.host, a.table.clone());
        r.failed_inserts = Some(r.failed_inserts.unwrap_or(0) + a.failures);
        r.async_failed_inserts += a.failures;
    }
    for f in &s.freshness {
        if let Some(age) = f.result.data().and_then(|d| d.age_s) {
            row(&mut rows, &s.host, f.table.clone()).freshness_s = Some(age);
        }
    }
    let mut out: Vec<TableHealth> = rows
        .into_values()
        // query_log remembers inserts into tables dropped since: only their failures matter.
        .filter(|r| {
            r.active_parts.is_some() || r.failed_inserts.unwrap_or(0) > 0 || r.freshness_s.is_some()
        })
        .map(|mut r| {
            let failure = mutation_failures.get(&r.table).cloned();
            judge(&mut r, failure, rules);
            r
        })
        .collect();
    sort_worst_first(&mut out);
    out
}

/// Flags the table by the alert thresholds in force (config overrides included), so the table
/// list and the alerts always agree about what is a problem.
fn judge(r: &mut TableHealth, mutation_failure: Option<String>, rules: &RuleSet) {
    let subject = Subject::new(SubjectKind::Table, r.table.clone());
    let level =
        |rule: RuleKind, value: f64| rules.threshold(rule, &subject).and_then(|t| t.judge(value));
    if let (Some(max), Some(delay), Some(throw)) = (
        r.max_parts_in_partition,
        r.parts_to_delay_insert,
        r.parts_to_throw_insert,
    ) && delay > 0
        && let Some(severity) = level(RuleKind::PartsPressure, max as f64 / delay as f64)
    {
        let partition = r.worst_partition.clone().unwrap_or_default();
        let what = if max >= throw {
            format!("inserts rejected at {throw}")
        } else if max >= delay {
            format!("inserts delayed from {delay}")
        } else {
            format!("delay starts at {delay}")
        };
        r.flag(
            severity,
            format!("{max} parts in partition {partition}: {what}"),
        );
    }
    if let Some(failed) = r.failed_inserts
        && let Some(severity) = level(RuleKind::FailedInserts, failed as f64)
    {
        let lost = match r.async_failed_inserts {
            0 => String::new(),
            a => format!(" ({a} async, lost after they were accepted)"),
        };
        r.flag(
            severity,
            format!("{failed} failed inserts in the window{lost}"),
        );
    }
    if let Some(age) = r.freshness_s
        && let Some(severity) = level(RuleKind::Freshness, age as f64)
    {
        r.flag(severity, format!("newest row is {age} s old"));
    }
    if let Some(per_day) = r.max_partitions_per_day
        && let Some(severity) = level(RuleKind::PartitionsPerDay, per_day as f64)
    {
        r.flag(
            severity,
            format!("{per_day} partitions for one day: the partition key is too granular"),
        );
    }
    if let Some(p95) = r.p95_insert_ms
        && let Some(severity) = level(RuleKind::InsertLatencyP95, p95)
    {
        r.flag(severity, format!("p95 insert latency {p95:.0} ms"));
    }
    if let Some(reason) = mutation_failure {
        r.flag(Severity::Warning, format!("mutation failing: {reason}"));
    }
}

/// One row per Kafka engine table, judged by the same rules as its alerts: each view's failures
/// (`mv_failures`, the view being the alert's subject) and its consumers' newest exception
/// (`kafka_engine_exceptions`).
pub fn kafka_table_health(chains: &KafkaChains, rules: &RuleSet) -> Vec<TableHealth> {
    chains
        .tables
        .rows
        .iter()
        .map(|c| {
            let chain = &c.item;
            let mut r = TableHealth::new(&c.host, &chain.full_name());
            r.kafka = Some(KafkaLinks {
                topics: chain.topics.clone(),
                group: chain.group.clone(),
                views: chain.views.len(),
                view_failures: chain.failures(),
            });
            for v in &chain.views {
                let (Some(runs), Some(failures)) = (v.runs, v.failures) else {
                    continue;
                };
                let subject = Subject::new(SubjectKind::Table, v.view.as_str());
                let Some(severity) = rules
                    .threshold(RuleKind::MvFailures, &subject)
                    .and_then(|t| t.judge(failures as f64))
                else {
                    continue;
                };
                let mut why = format!("view {}: {failures} of {runs} pushes failed", v.view);
                if let Some(e) = &v.last_exception {
                    why.push_str(&format!(": {e}"));
                }
                r.flag(severity, why);
            }
            if let Some(e) = &chain.consumer_exception {
                let subject = Subject::new(SubjectKind::Consumer, chain.full_name());
                if let Some(severity) = rules
                    .threshold(RuleKind::KafkaEngineExceptions, &subject)
                    .and_then(|t| t.judge(1.0))
                {
                    r.flag(severity, format!("consumer exception: {e}"));
                }
            }
            r
        })
        .collect()
}

/// Severity first; within it, closest to "Too many parts", then most failed inserts, then name.
pub fn sort_worst_first(rows: &mut [TableHealth]) {
    rows.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| {
                b.parts_to_throw_ratio
                    .unwrap_or(0.0)
                    .total_cmp(&a.parts_to_throw_ratio.unwrap_or(0.0))
            })
            .then_with(|| {
                b.failed_inserts
                    .unwrap_or(0)
                    .cmp(&a.failed_inserts.unwrap_or(0))
            })
            .then_with(|| {
                let failures = |t: &TableHealth| t.kafka.as_ref().and_then(|k| k.view_failures);
                failures(b).unwrap_or(0).cmp(&failures(a).unwrap_or(0))
            })
            .then_with(|| a.table.cmp(&b.table))
            .then_with(|| a.host.cmp(&b.host))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::clickhouse::activity::{AcrossHosts, OnHost};
    use crate::model::clickhouse::kafka_chain::{ChainState, ViewState};

    fn view(name: &str, runs: u64, failures: u64) -> ViewState {
        ViewState {
            view: name.into(),
            target: Some("db.events".into()),
            runs: Some(runs),
            failures: Some(failures),
            last_exception: (failures > 0).then(|| "Code: 27. Cannot parse input".into()),
            last_failure_time: None,
        }
    }

    #[test]
    fn a_kafka_table_is_a_row_judged_by_its_views_failures() {
        let chain = |table: &str, views| OnHost {
            host: "h".into(),
            item: ChainState {
                database: "db".into(),
                table: table.into(),
                topics: vec!["events".into()],
                group: Some("g".into()),
                views,
                consumer_exception: None,
            },
        };
        let chains = KafkaChains {
            tables: AcrossHosts {
                rows: vec![
                    chain("quiet", vec![view("db.mv_quiet", 10, 0)]),
                    chain("queue", vec![view("db.mv_a", 10, 3), view("db.mv_b", 5, 0)]),
                ],
                problem: None,
            },
            ..KafkaChains::default()
        };
        let mut rows = kafka_table_health(&chains, &RuleSet::default());
        sort_worst_first(&mut rows);
        let queue = &rows[0];
        assert_eq!(queue.table, "db.queue");
        assert_eq!(queue.severity, Some(Severity::Warning));
        assert_eq!(
            queue.reasons,
            ["view db.mv_a: 3 of 10 pushes failed: Code: 27. Cannot parse input"]
        );
        let links = queue.kafka.as_ref().unwrap();
        assert_eq!((links.views, links.view_failures), (2, Some(3)));
        assert_eq!(
            (rows[1].table.as_str(), rows[1].severity),
            ("db.quiet", None)
        );
        assert_eq!(rows[1].active_parts, None, "a Kafka table has no parts");
    }
}
