//! The Kafka-engine chain on live servers:
//! - a 26.9 engine of the test's own with `system.query_views_log` enabled: a Kafka engine table
//!   on a unique topic of the shared Kafka, a materialized view that throws on one value
//!   (`throwIf`) into a MergeTree target. Good messages reach the target; then a batch holding the
//!   bad value makes every push fail: the view's failures show under its Kafka table with the
//!   exception, `mv_failures` fires on the view, and `pipetop check` warns with the same detail;
//! - the legacy 18.16 server lists chains (system.tables has the dependency columns) and says why
//!   it has no view log (needs ≥ 21.9).
//!
//! The tests write (they set the scene); pipetop itself only reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};
use pipetop::model::clickhouse::kafka_chain::ChainState;

const VIEWS_LOG: &str = "  <query_views_log>\n    <database>system</database>\n    \
     <table>query_views_log</table>\n    <flush_interval_milliseconds>1000</flush_interval_milliseconds>\n  \
     </query_views_log>";

fn chain(watch: &common::Watch, table: &str) -> Option<ChainState> {
    watch
        .model()
        .clickhouse
        .kafka_chains
        .tables
        .rows
        .iter()
        .find(|c| c.item.full_name() == table)
        .map(|c| c.item.clone())
}

/// A 26.9 engine of the test's own with `query_views_log`, a Kafka engine table `{db}.queue` on a
/// fresh topic, a view `` {db}.`mv x` `` (a name the log quotes) into `{db}.target` that throws on `n = 7`; 5 good rows delivered,
/// then a batch holding 7, which every push fails on. Returns the server, the database and topic.
async fn throwing_view() -> (common::OwnClickHouse, String, String) {
    let own = common::OwnClickHouse::start_with(VIEWS_LOG);
    let topic = common::unique("mvchain");
    common::create_topic(&topic, 1).await;
    let db = common::unique("mvchain_db");
    common::exec(&own.url, &format!("CREATE DATABASE {db}")).await;
    // The chdb engine answers this CREATE with "Shutdown was called" (LOGICAL_ERROR) and creates the
    // table all the same (seen on every try): the table's presence is what counts.
    let _ = common::writer(&own.url)
        .query(&format!(
            "CREATE TABLE {db}.queue (n UInt64) ENGINE = Kafka SETTINGS \
             kafka_broker_list = '{kafka}', kafka_topic_list = '{topic}', \
             kafka_group_name = '{topic}_g', kafka_format = 'JSONEachRow'",
            kafka = common::KAFKA
        ))
        .execute()
        .await;
    assert_eq!(
        common::count(
            &own.url,
            &format!(
                "SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'queue'"
            )
        )
        .await,
        1,
        "the Kafka table was not created"
    );
    common::exec(
        &own.url,
        &format!("CREATE TABLE {db}.target (n UInt64) ENGINE = MergeTree ORDER BY n"),
    )
    .await;
    common::exec(
        &own.url,
        &format!(
            "CREATE MATERIALIZED VIEW {db}.`mv x` TO {db}.target AS \
             SELECT n FROM {db}.queue WHERE throwIf(n = 7, 'seven is not allowed') = 0"
        ),
    )
    .await;
    // Good rows first (n 0..4): they reach the target.
    common::produce(&topic, &[5]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while common::count(&own.url, &format!("SELECT count() FROM {db}.target")).await < 5 {
        assert!(Instant::now() < deadline, "the good rows never arrived");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Then a batch holding n = 7: every push of it throws, and the consumer retries it.
    common::produce(&topic, &[10]);
    (own, db, topic)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_view_that_throws_shows_under_its_kafka_table_and_raises_mv_failures() {
    common::needs!(ChdbVenv, Kafka);
    let (own, db, topic) = throwing_view().await;
    let mut watch = common::Watch::new(&common::config_from_toml(&format!(
        r#"
        refresh = "1s"
        [clickhouse]
        hosts = ["{url}"]
        freshness = []
        "#,
        url = own.url
    )));
    let kafka_table = format!("{db}.queue");
    // query_views_log writes it `` {db}.`mv x` ``; pipetop shows the bare name.
    let view = format!("{db}.mv x");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        watch.poll_clickhouse().await;
        let failing = chain(&watch, &kafka_table)
            .and_then(|c| c.views.first().and_then(|v| v.failures))
            .unwrap_or(0);
        if failing > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failure within 60s: {:#?}",
            watch.model().clickhouse.kafka_chains
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let c = chain(&watch, &kafka_table).unwrap();
    assert_eq!(c.topics, [topic.as_str()]);
    assert_eq!(c.group.as_deref(), Some(format!("{topic}_g").as_str()));
    assert_eq!(c.views.len(), 1, "{c:?}");
    let v = &c.views[0];
    assert_eq!(v.view, view);
    assert_eq!(v.target.as_deref(), Some(format!("{db}.target").as_str()));
    assert!(v.runs.unwrap() >= v.failures.unwrap(), "{v:?}");
    let e = v.last_exception.as_deref().unwrap_or_default();
    assert!(e.contains("seven is not allowed"), "{e}");
    eprintln!(
        "view {view}: {} of {} pushes failed; consumer exception {:?}",
        v.failures.unwrap(),
        v.runs.unwrap(),
        c.consumer_exception.as_deref().map(|e| e.lines().next())
    );
    let alert = watch
        .alert(
            RuleKind::MvFailures,
            &Subject::new(SubjectKind::Table, view.as_str()),
        )
        .expect("mv_failures");
    assert_eq!(
        (alert.severity, alert.state),
        (Severity::Warning, AlertState::Firing)
    );
    assert!(alert.detail.contains(&kafka_table), "{}", alert.detail);
    assert!(
        alert.detail.contains("seven is not allowed"),
        "{}",
        alert.detail
    );
    // The Kafka table is a row of `:tables`, warning with the same words.
    let model = watch.model();
    let row = model
        .clickhouse
        .health
        .iter()
        .find(|t| t.table == kafka_table)
        .expect("the Kafka table among the tables");
    assert_eq!(row.severity, Some(Severity::Warning), "{row:?}");
    assert!(
        row.reasons
            .iter()
            .any(|r| r.contains(&view) && r.contains("seven is not allowed")),
        "{row:?}"
    );
    let links = row.kafka.as_ref().expect("its links");
    assert_eq!(
        (links.topics.clone(), links.views),
        (vec![topic.clone()], 1)
    );
    // The counters answered, one row per counter read.
    let counters = &watch.model().clickhouse.kafka_chains.counters;
    assert_eq!(counters.len(), 1);
    assert!(counters[0].problem.is_none(), "{counters:?}");
    assert!(
        counters[0]
            .get("KafkaMessagesRead")
            .is_some_and(|c| c.total >= 5),
        "{counters:?}"
    );
    common::exec(&own.url, &format!("DROP DATABASE {db}")).await;
    common::delete_topic(&topic).await;
}

/// `pipetop check` says the same: WARNING, the view with its Kafka table and exception.
#[test]
fn check_warns_about_a_view_that_throws() {
    common::needs!(ChdbVenv, Kafka);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (own, db, topic) = runtime.block_on(throwing_view());
    let path = std::env::temp_dir().join(format!("{}.toml", common::unique("mvchain_check")));
    std::fs::write(
        &path,
        format!(
            r#"
            refresh = "1s"
            [kafka]
            bootstrap_servers = "{kafka}"
            include_groups = ["{topic}_g"]
            include_topics = ["{topic}"]
            [clickhouse]
            url = "{url}"
            freshness = []
            [alerts.rules.disk_free]
            disabled = true
            [alerts.rules.memory_pressure]
            disabled = true
            "#,
            kafka = common::KAFKA,
            url = own.url
        ),
    )
    .unwrap();
    // The failures land in query_views_log within a second of each retry; a few tries at most.
    let deadline = Instant::now() + Duration::from_secs(60);
    let line = loop {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipetop"))
            .arg("--config")
            .arg(&path)
            .args(["check", "--window", "3s"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("WARNING   mv_failures"))
        {
            assert_eq!(out.status.code(), Some(1), "{text}");
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "no mv_failures line:\n{text}");
    };
    let _ = std::fs::remove_file(&path);
    assert!(line.contains(&format!("table {db}.mv x:")), "{line}");
    assert!(
        line.contains(&format!("from {db}.queue to {db}.target")),
        "{line}"
    );
    assert!(line.contains("seven is not allowed"), "{line}");
    runtime.block_on(async {
        common::exec(&own.url, &format!("DROP DATABASE {db}")).await;
        common::delete_topic(&topic).await;
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_18_16_lists_chains_and_says_why_it_has_no_view_log() {
    common::needs!(LegacyClickHouse);
    let host = common::poll_clickhouse(&common::clickhouse_config(common::LEGACY_CLICKHOUSE)).await;
    assert!(
        host.kafka_chains.data().is_some(),
        "{:?}",
        host.kafka_chains
    );
    assert_eq!(
        host.view_runs.problem(),
        Some("system.query_views_log: not available on ClickHouse 18.16 (needs ≥ 21.9)")
    );
    assert!(
        host.kafka_events.data().is_some(),
        "{:?}",
        host.kafka_events
    );
}
