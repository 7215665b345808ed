//! ClickHouse alerts against the live engine: tiny inserts piling parts into one partition, and
//! rejected batches. Each test uses its own MergeTree table with a small `parts_to_delay_insert`,
//! inserts directly, polls with pipetop's own collector into a `Model`, and drops what it created.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};

fn config(extra: &str) -> pipetop::config::Config {
    common::config_from_toml(&format!(
        r#"
        refresh = "500ms"
        [clickhouse]
        url = "{url}"
        freshness = []
        # The tests compare polls moments apart: the query_log sections are read at every one.
        section_intervals = {{ inserts = "0s", latency = "0s" }}
        {extra}
        # The machine's own disk is not what these tests judge (a build machine's may be 90 % full).
        [alerts.rules.disk_free]
        disabled = true
        "#,
        url = common::CLICKHOUSE,
    ))
}

/// A MergeTree table that slows inserts at 20 parts per partition and never merges.
async fn parts_table(name: &str) {
    common::exec(
        common::CLICKHOUSE,
        &format!(
            "CREATE TABLE default.{name} (x UInt64) ENGINE = MergeTree() ORDER BY x SETTINGS parts_to_delay_insert = 20"
        ),
    )
    .await;
    common::exec(
        common::CLICKHOUSE,
        &format!("SYSTEM STOP MERGES default.{name}"),
    )
    .await;
}

/// One single-row insert per part until the table has `parts` of them.
async fn insert_parts(name: &str, from: u64, to: u64) {
    for i in from..to {
        common::exec(
            common::CLICKHOUSE,
            &format!("INSERT INTO default.{name} VALUES ({i})"),
        )
        .await;
    }
}

fn level(watch: &common::Watch, rule: RuleKind, table: &str) -> Option<(Severity, AlertState)> {
    watch
        .alert(rule, &Subject::new(SubjectKind::Table, table))
        .map(|a| (a.severity, a.state))
}

/// Parts at half of the table's own parts_to_delay_insert raise the warning, at it the critical,
/// for that table only; `disabled = true` for another table keeps it quiet at the same count;
/// dropping the table resolves the alert into the history.
#[tokio::test(flavor = "multi_thread")]
async fn tiny_batches_raise_the_parts_alert_for_that_table() {
    common::needs!(ClickHouse);
    let table = common::unique("alerts_parts");
    let quiet = common::unique("alerts_parts_off");
    parts_table(&table).await;
    parts_table(&quiet).await;
    let (name, quiet_name) = (format!("default.{table}"), format!("default.{quiet}"));
    let mut watch = common::Watch::new(&config(&format!(
        r#"
        [[alerts.overrides]]
        rule = "parts_pressure"
        match = "table:{quiet_name}"
        disabled = true
        "#
    )));
    let subject = Subject::new(SubjectKind::Table, &name);

    insert_parts(&table, 0, 9).await;
    insert_parts(&quiet, 0, 20).await;
    watch.poll_clickhouse().await;
    let health = |w: &common::Watch, t: &str| {
        w.model()
            .clickhouse
            .health
            .iter()
            .find(|h| h.table == t)
            .cloned()
            .unwrap_or_else(|| panic!("no health row for {t}"))
    };
    let h = health(&watch, &name);
    assert_eq!(
        (h.max_parts_in_partition, h.parts_to_delay_insert),
        (Some(9), Some(20))
    );
    assert_eq!(
        level(&watch, RuleKind::PartsPressure, &name),
        None,
        "9 of 20"
    );

    insert_parts(&table, 9, 10).await;
    watch.poll_clickhouse().await;
    assert_eq!(
        level(&watch, RuleKind::PartsPressure, &name),
        Some((Severity::Warning, AlertState::Firing)),
        "10 of 20 parts is 50 %"
    );

    insert_parts(&table, 10, 20).await;
    watch.poll_clickhouse().await;
    let alert = watch.alert(RuleKind::PartsPressure, &subject).unwrap();
    assert_eq!(
        (alert.severity, alert.state),
        (Severity::Critical, AlertState::Firing)
    );
    assert_eq!((alert.value, alert.threshold), (1.0, 1.0));
    assert!(
        alert.detail.contains("20 active parts") && alert.detail.contains("at 20"),
        "{}",
        alert.detail
    );
    // The disabled table is just as full: measured, not judged.
    let q = health(&watch, &quiet_name);
    assert_eq!(
        (q.max_parts_in_partition, q.parts_to_delay_insert),
        (Some(20), Some(20))
    );
    assert_eq!(level(&watch, RuleKind::PartsPressure, &quiet_name), None);
    // No other table's parts alert mentions these tables.
    for a in watch.model().alerts.active.clone() {
        if a.rule == RuleKind::PartsPressure {
            assert!(
                a.subject.name != quiet_name
                    && (a.subject.name == name || !a.detail.contains(&table)),
                "{a:?}"
            );
        }
    }

    common::exec(common::CLICKHOUSE, &format!("DROP TABLE {name}")).await;
    common::exec(common::CLICKHOUSE, &format!("DROP TABLE {quiet_name}")).await;
    watch.poll_clickhouse().await;
    assert_eq!(
        level(&watch, RuleKind::PartsPressure, &name),
        None,
        "dropped"
    );
    let history = watch.history(RuleKind::PartsPressure, &subject);
    assert_eq!(
        history
            .iter()
            .map(|e| (e.severity, e.cleared_at.is_some()))
            .collect::<Vec<_>>(),
        [(Severity::Warning, true), (Severity::Critical, true)],
        "{history:?}"
    );
    assert_eq!(history[1].peak, 1.0);
    assert!(
        watch
            .history(
                RuleKind::PartsPressure,
                &Subject::new(SubjectKind::Table, &quiet_name)
            )
            .is_empty()
    );
}

/// The batch the load generator's `ctl reject` sends (a non-numeric number) into a table of the
/// test's own: the first rejected batch is a warning for that table, more than `crit` (lowered to
/// 2 here) a critical.
#[tokio::test(flavor = "multi_thread")]
async fn rejected_batches_raise_the_failed_insert_alert_for_that_table() {
    common::needs!(ClickHouse);
    let table = common::unique("alerts_rejects");
    let name = format!("default.{table}");
    common::exec(
        common::CLICKHOUSE,
        &format!(
            "CREATE TABLE {name} (event_id UInt64, user_id UInt64, event_type String, timestamp DateTime, payload String) ENGINE = MergeTree() ORDER BY event_id"
        ),
    )
    .await;
    let mut watch = common::Watch::new(&config(
        r#"
        [alerts.rules.failed_inserts]
        crit = 2
        "#,
    ));
    let subject = Subject::new(SubjectKind::Table, &name);
    let reject = || async {
        let err = common::writer(common::CLICKHOUSE)
            .query(&format!(
                "INSERT INTO {name} FORMAT JSONEachRow {{\"event_id\":\"not-a-number\",\"user_id\":1,\"event_type\":\"x\",\"timestamp\":\"2026-01-01 00:00:00\",\"payload\":\"\"}}"
            ))
            .execute()
            .await
            .expect_err("ClickHouse accepted the bad batch");
        assert!(err.to_string().contains("Code: 27"), "{err}");
    };
    // A good insert first: the table has inserts and no failures.
    common::exec(
        common::CLICKHOUSE,
        &format!("INSERT INTO {name} VALUES (1, 1, 'x', now(), '')"),
    )
    .await;
    common::flush_logs(common::CLICKHOUSE).await;
    watch.poll_clickhouse().await;
    assert_eq!(level(&watch, RuleKind::FailedInserts, &name), None);

    reject().await;
    common::flush_logs(common::CLICKHOUSE).await;
    watch.poll_clickhouse().await;
    let alert = watch
        .alert(RuleKind::FailedInserts, &subject)
        .unwrap_or_else(|| {
            panic!(
                "no failed-insert alert for {name}: {:#?}",
                watch.model().alerts.active.clone()
            )
        });
    assert_eq!(
        (alert.severity, alert.state, alert.value, alert.threshold),
        (Severity::Warning, AlertState::Firing, 1.0, 0.0)
    );

    reject().await;
    reject().await;
    common::flush_logs(common::CLICKHOUSE).await;
    watch.poll_clickhouse().await;
    let alert = watch.alert(RuleKind::FailedInserts, &subject).unwrap();
    assert_eq!(
        (alert.severity, alert.state, alert.value, alert.threshold),
        (Severity::Critical, AlertState::Firing, 3.0, 2.0)
    );
    // No other table got this table's failures.
    for a in watch.model().alerts.active.clone() {
        if a.rule == RuleKind::FailedInserts && a.subject != subject {
            assert!(!a.subject.name.contains(&table), "{a:?}");
        }
    }
    common::exec(common::CLICKHOUSE, &format!("DROP TABLE {name}")).await;
}

/// The same table on two servers (the current engine and 18.16), too many parts on one only: the
/// table is judged by the worse host, once per poll, so the alert fires and stays firing instead
/// of the healthy host clearing it again in the same round.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_on_two_hosts_is_judged_by_the_worse_one() {
    common::needs!(ClickHouse, LegacyClickHouse);
    let table = common::unique("alerts_two_hosts");
    let name = format!("default.{table}");
    for url in [common::CLICKHOUSE, common::LEGACY_CLICKHOUSE] {
        common::exec(
            url,
            &format!(
                "CREATE TABLE {name} (x UInt64) ENGINE = MergeTree() ORDER BY x SETTINGS parts_to_delay_insert = 20"
            ),
        )
        .await;
        common::exec(url, &format!("SYSTEM STOP MERGES {name}")).await;
    }
    insert_parts(&table, 0, 20).await;
    common::exec(
        common::LEGACY_CLICKHOUSE,
        &format!("INSERT INTO {name} VALUES (0)"),
    )
    .await;
    let mut watch = common::Watch::new(&config(&format!(
        "hosts = [\"{}\", \"{}\"]",
        common::CLICKHOUSE,
        common::LEGACY_CLICKHOUSE
    )));
    let subject = Subject::new(SubjectKind::Table, &name);
    for round in 0..3 {
        watch.poll_clickhouse().await;
        let rows: Vec<_> = watch
            .model()
            .clickhouse
            .health
            .iter()
            .filter(|h| h.table == name)
            .map(|h| (h.host.clone(), h.max_parts_in_partition))
            .collect();
        assert_eq!(rows.len(), 2, "one row per host: {rows:?}");
        assert_eq!(
            level(&watch, RuleKind::PartsPressure, &name),
            Some((Severity::Critical, AlertState::Firing)),
            "round {round}: {rows:?}"
        );
    }
    let history = watch.history(RuleKind::PartsPressure, &subject);
    assert_eq!(history.len(), 1, "fired once, never cleared: {history:?}");
    assert_eq!(history[0].cleared_at, None);
    assert_eq!(
        watch.model().criticals_fired,
        1,
        "the bell would ring once: {:#?}",
        watch.model().alerts.history
    );
    for url in [common::CLICKHOUSE, common::LEGACY_CLICKHOUSE] {
        common::exec(url, &format!("DROP TABLE {name}")).await;
    }
}
