use super::*;
use crate::alerts::RuleSet;
use crate::alerts::Severity;
use crate::clickhouse::snapshot::*;

pub(crate) fn ok<T>(data: T) -> Section<T> {
    Section::Ok { data }
}

pub(crate) fn parts(table: &str, max: u64, per_day: Option<u64>) -> TableParts {
    TableParts {
        database: "db".into(),
        table: table.into(),
        active_parts: max + 1,
        partitions: 2,
        rows: 10,
        bytes_on_disk: 100,
        worst_partition: "202611".into(),
        max_parts_in_partition: max,
        max_partitions_per_day: per_day,
    }
}

pub(crate) fn host(name: &str, tables: Vec<TableParts>) -> HostSnapshot {
    HostSnapshot {
        host: name.into(),
        server: ServerInfo {
            version: "26.9.2.1".into(),
            uptime_s: 100,
        },
        taken_at_ms: 0,
        poll_ms: 5,
        queries: 14,
        window_s: 300,
        tables: ok(tables),
        partitions: ok(vec![]),
        thresholds: ok(PartsThresholds {
            default_parts_to_delay_insert: 1000,
            default_parts_to_throw_insert: 3000,
            overrides: vec![TableThresholds {
                database: "db".into(),
                table: "tight".into(),
                parts_to_delay_insert: Some(10),
                parts_to_throw_insert: Some(20),
            }],
        }),
        detached_parts: ok(vec![]),
        merges: ok(vec![]),
        mutations: ok(vec![]),
        inserts: ok(vec![]),
        failed_inserts: ok(vec![]),
        latency: ok(vec![]),
        slow_queries: ok(vec![]),
        insert_counters: ok(InsertCounters::default()),
        kafka_consumers: Section::Unavailable {
            reason: "system.kafka_consumers: not available on ClickHouse 18.16 (needs ≥ 23.8)"
                .into(),
        },
        freshness: vec![],
        errors: ok(vec![]),
        replicas: ok(vec![]),
        replication_queue: ok(vec![]),
        keeper: Section::Unavailable {
            reason: "no ZooKeeper/Keeper configured on this server".into(),
        },
        zookeeper_exception_missing: None,
        disks: ok(vec![]),
        memory: Section::Unavailable {
            reason: "not read in this test".into(),
        },
        distribution_queue: ok(vec![]),
        kafka_chains: ok(vec![]),
        view_runs: ok(vec![]),
        async_insert_failures: ok(vec![]),
        kafka_events: ok(vec![]),
        own_load: Section::Unavailable {
            reason: "not read in this test".into(),
        },
        cadenced: vec![],
        focused_parts: None,
    }
}

pub(crate) fn snapshot(hosts: Vec<HostSnapshot>, taken_at_ms: i64) -> ClickHouseSnapshot {
    ClickHouseSnapshot {
        taken_at_ms,
        poll_ms: 5,
        queries: 14,
        server: hosts[0].server.clone(),
        tables: hosts[0].tables.clone(),
        hosts: hosts
            .into_iter()
            .map(|h| HostOutcome::Ok(Box::new(HostSnapshot { taken_at_ms, ..h })))
            .collect(),
    }
}

fn find<'a>(m: &'a ClickHouseModel, table: &str) -> &'a TableHealth {
    m.health.iter().find(|h| h.table == table).unwrap()
}

#[test]
fn table_settings_override_server_defaults_and_rank_first() {
    let mut tracker = ClickHouseTracker::default();
    let m = tracker.update(
        &snapshot(
            vec![host(
                "a",
                vec![parts("big", 400, Some(1)), parts("tight", 12, Some(1))],
            )],
            1_000,
        ),
        &RuleSet::default(),
    );
    let tight = find(&m, "db.tight");
    assert_eq!(tight.parts_to_delay_insert, Some(10));
    assert_eq!(tight.parts_to_throw_insert, Some(20));
    assert_eq!(tight.parts_to_throw_ratio, Some(12.0 / 20.0));
    assert_eq!(tight.severity, Some(Severity::Critical));
    let big = find(&m, "db.big");
    assert_eq!(big.parts_to_throw_insert, Some(3000));
    assert_eq!(big.severity, None);
    assert_eq!(m.health[0].table, "db.tight", "worst first");
    assert_eq!(
        m.tables.len(),
        2,
        "first host's tables stay for the overview"
    );
}

#[test]
fn too_granular_partitions_and_half_way_parts_warn() {
    let mut tracker = ClickHouseTracker::default();
    let m = tracker.update(
        &snapshot(
            vec![host(
                "a",
                vec![parts("hourly", 3, Some(24)), parts("busy", 600, None)],
            )],
            1_000,
        ),
        &RuleSet::default(),
    );
    let hourly = find(&m, "db.hourly");
    assert_eq!(hourly.severity, Some(Severity::Warning));
    assert!(
        hourly.reasons[0].contains("24 partitions"),
        "{:?}",
        hourly.reasons
    );
    assert_eq!(find(&m, "db.busy").severity, Some(Severity::Warning));
}

#[test]
fn failed_inserts_freshness_and_latency_combine_per_table() {
    let mut h = host("a", vec![parts("events", 5, Some(1))]);
    h.inserts = ok(vec![TableInserts {
        table: "db.events".into(),
        inserts: 10,
        rows: 1000,
        failed: 2,
        inserts_per_s: 10.0 / 300.0,
        rows_per_s: 1000.0 / 300.0,
        latency_ms: Some(Quantiles {
            p50: 5.0,
            p95: 250.0,
            p99: 300.0,
        }),
    }]);
    h.failed_inserts = ok(vec![
        FailedInserts {
            table: "db.events".into(),
            exception_code: 27,
            failures: 2,
            latest_exception: "Code: 27. DB::Exception: Cannot parse input".into(),
            latest_query_id: "q2".into(),
            latest_query: "INSERT INTO db.events FORMAT JSONEachRow".into(),
            latest_time: 200,
        },
        FailedInserts {
            table: "db.other".into(),
            exception_code: 252,
            failures: 1,
            latest_exception: "Too many parts".into(),
            latest_query_id: "q1".into(),
            latest_query: "INSERT INTO db.other VALUES".into(),
            latest_time: 100,
        },
    ]);
    h.freshness = vec![Freshness {
        table: "db.events".into(),
        column: "ts".into(),
        result: ok(FreshnessData {
            newest: Some(1000),
            age_s: Some(90),
        }),
    }];
    let mut tracker = ClickHouseTracker::default();
    let m = tracker.update(&snapshot(vec![h], 1_000), &RuleSet::default());
    let e = find(&m, "db.events");
    assert_eq!(e.failed_inserts, Some(2));
    assert_eq!(e.p95_insert_ms, Some(250.0));
    assert_eq!(e.freshness_s, Some(90));
    assert_eq!(e.severity, Some(Severity::Critical), "{:?}", e.reasons);
    assert_eq!(e.reasons.len(), 3, "{:?}", e.reasons);
    assert_eq!(m.failed_inserts.len(), 2);
    assert_eq!(m.failed_inserts[0].latest_query_id, "q2", "newest first");
    assert_eq!(m.failed_inserts[0].host, "a");
    assert_eq!(
        m.failed_inserts[0].latest_query,
        "INSERT INTO db.events FORMAT JSONEachRow"
    );
}

#[test]
fn hosts_are_reported_apart_and_counter_deltas_span_polls() {
    let mut a = host("a", vec![parts("t", 1, None)]);
    let b = host("b", vec![parts("t", 700, None)]);
    a.insert_counters = ok(InsertCounters {
        delayed_inserts: 4,
        rejected_inserts: 1,
        ..InsertCounters::default()
    });
    let mut tracker = ClickHouseTracker::default();
    let m = tracker.update(
        &snapshot(vec![a.clone(), b.clone()], 1_000),
        &RuleSet::default(),
    );
    assert_eq!(m.hosts[0].insert_counters, None, "no previous poll yet");
    a.insert_counters = ok(InsertCounters {
        delayed_inserts: 9,
        rejected_inserts: 3,
        ..InsertCounters::default()
    });
    a.server.uptime_s = 102;
    let mut snap = snapshot(vec![a, b], 3_000);
    snap.hosts.push(HostOutcome::Failed {
        host: "c".into(),
        error: "connection refused".into(),
    });
    let m = tracker.update(&snap, &RuleSet::default());
    let d = m.hosts[0].insert_counters.unwrap();
    assert_eq!(
        (d.delayed_inserts, d.rejected_inserts, d.interval_ms),
        (5, 2, 2_000)
    );
    assert_eq!(m.hosts[2].error.as_deref(), Some("connection refused"));
    assert_eq!(m.health.len(), 2);
    assert_eq!(m.health[0].host, "b", "the host with the worse table first");
    assert!(
        m.hosts[0]
            .problems
            .iter()
            .any(|p| p.section == "kafka_consumers" && p.unavailable && p.reason.contains("23.8"))
    );
}

#[test]
fn a_failed_parts_query_keeps_the_problem_visible() {
    let mut h = host("a", vec![]);
    h.tables = Section::Failed {
        error: "Code: 159. Timeout exceeded".into(),
    };
    let mut tracker = ClickHouseTracker::default();
    let m = tracker.update(&snapshot(vec![h], 1_000), &RuleSet::default());
    assert_eq!(
        m.tables_problem.as_deref(),
        Some("Code: 159. Timeout exceeded")
    );
    assert!(
        m.hosts[0]
            .problems
            .iter()
            .any(|p| p.section == "tables" && !p.unavailable)
    );
}
