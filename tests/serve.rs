//! `pipetop serve`: the metrics of the fixture model line by line, and a real Prometheus scraping
//! the real binary against the live stack, finding the lag `kafka-consumer-groups` reports.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;
mod fixtures;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipetop::kafka::snapshot::KafkaSnapshot;
use pipetop::serve::metrics::{Format, render};
use pipetop::session::Session;
use pipetop::source::SourceStatus;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn fixture_model_renders_lag_status_and_alerts() {
    let text = render(&fixtures::model(), fixtures::now(), Format::Text);
    let lines = lines(&text);
    for expected in [
        "# TYPE pipetop_consumer_lag_messages gauge",
        r#"pipetop_consumer_lag_messages{group="orders_enricher",topic="orders"} 4710"#,
        r#"pipetop_consumer_lag_messages{group="clickhouse_group",topic="events_topic"} 1185"#,
        r#"pipetop_consumer_status{group="orders_enricher"} 6"#,
        r#"pipetop_consumer_status{group="clicks_loader"} 2"#,
        r#"pipetop_produce_rate_messages_per_second{group="orders_enricher",topic="orders"} 180.0"#,
        r#"pipetop_consume_rate_messages_per_second{group="orders_enricher",topic="orders"} 0.0"#,
        r#"pipetop_topic_under_replicated_partitions{topic="orders"} 1"#,
        r#"pipetop_broker_up{broker="3"} 1"#,
        r#"pipetop_table_worst_partition_active_parts{host="http://ch-1.prod:8123",table="metrics.raw_samples"} 285"#,
        r#"pipetop_table_parts_to_delay_ratio{host="http://ch-1.prod:8123",table="metrics.raw_samples"} 0.95"#,
        r#"pipetop_table_failed_inserts{host="http://ch-1.prod:8123",table="default.events_dedup"} 37"#,
        r#"pipetop_table_insert_latency_p95_seconds{host="http://ch-1.prod:8123",table="metrics.raw_samples"} 1.85"#,
        r#"pipetop_source_up{source="kafka"} 1"#,
        r#"pipetop_source_data_age_seconds{source="clickhouse"} 1.0"#,
        r#"pipetop_alert{rule="consumer_status",subject_kind="group",subject="orders_enricher",severity="critical",state="firing"} 1"#,
        r#"pipetop_alert{rule="insert_latency_p95",subject_kind="table",subject="metrics.raw_samples",severity="warning",state="pending"} 1"#,
    ] {
        assert!(lines.contains(&expected), "no line {expected}\n{text}");
    }
    // The text format has neither OpenMetrics' UNIT lines nor its EOF marker, and never NaN.
    assert!(
        !text.contains("# UNIT") && !text.contains("# EOF"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("nan"), "{text}");
    // Bounded cardinality: no partition label anywhere.
    assert!(!text.contains("partition="), "{text}");
}

/// Disks, memory and send queues (fixtures/resources.rs): a series per host and disk, per host,
/// per host and Distributed table; an object-storage disk without a total has no free/total
/// sample, a disk without a projection no `full_in` one.
#[test]
fn resources_render_per_host_disk_and_distributed_table() {
    let text = render(
        &fixtures::resources::resources_model(),
        fixtures::now(),
        Format::Text,
    );
    let lines = lines(&text);
    for expected in [
        r#"pipetop_clickhouse_disk_total_bytes{host="http://ch-2.prod:8123",disk="default"} 100000000000.0"#,
        r#"pipetop_clickhouse_disk_free_bytes{host="http://ch-2.prod:8123",disk="default"} 11620000000.0"#,
        r#"pipetop_clickhouse_memory_tracked_bytes{host="http://ch-2.prod:8123"} 24700000000.0"#,
        r#"pipetop_clickhouse_memory_limit_bytes{host="http://ch-2.prod:8123"} 28300000000.0"#,
        r#"pipetop_distributed_files{host="http://ch-2.prod:8123",table="default.events_dist"} 83"#,
        r#"pipetop_distributed_broken_files{host="http://ch-2.prod:8123",table="default.events_dist"} 2"#,
        r#"pipetop_distributed_send_errors{host="http://ch-2.prod:8123",table="default.events_dist"} 41"#,
        r#"pipetop_alert{rule="distributed_files",subject_kind="table",subject="default.events_dist",severity="critical",state="firing"} 1"#,
        r#"pipetop_alert{rule="disk_free",subject_kind="server",subject="http://ch-2.prod:8123",severity="critical",state="firing"} 1"#,
        r#"pipetop_alert{rule="memory_pressure",subject_kind="server",subject="http://ch-2.prod:8123",severity="warning",state="firing"} 1"#,
    ] {
        assert!(lines.contains(&expected), "no line {expected}\n{text}");
    }
    let full_in: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("pipetop_clickhouse_disk_full_in_seconds{"))
        .collect();
    assert_eq!(full_in.len(), 1, "{full_in:?}");
    assert!(
        full_in[0].starts_with(
            r#"pipetop_clickhouse_disk_full_in_seconds{host="http://ch-2.prod:8123",disk="default"} "#
        ),
        "{full_in:?}"
    );
    assert!(!text.contains(r#"disk="s3""#), "{text}");
}

/// pipetop's own load on the base host (fixtures/own_load.rs): server time and CPU per poll in
/// seconds, rows read per poll, one series per host.
#[test]
fn own_load_renders_per_host() {
    let text = render(&fixtures::model(), fixtures::now(), Format::Text);
    let value = |name: &str| -> f64 {
        let prefix = format!(r#"{name}{{host="http://ch-1.prod:8123"}} "#);
        let line = lines(&text)
            .into_iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix}\n{text}"));
        line[prefix.len()..].parse().unwrap()
    };
    // Whole polls of the fixture: 78 ms, every tenth 96 ms; CPU 24 ms, every tenth 31 ms.
    let server = value("pipetop_own_clickhouse_poll_server_time_seconds");
    assert!((0.0795..0.0800).contains(&server), "{server}");
    let cpu = value("pipetop_own_clickhouse_poll_cpu_seconds");
    assert!((0.0245..0.0250).contains(&cpu), "{cpu}");
    assert_eq!(value("pipetop_own_clickhouse_poll_read_rows"), 23_000.0);
}

/// The Kafka-engine chain (fixtures/kafka_chain.rs): each view's pushes and failures under its
/// Kafka table, the host's Kafka counters as the server counts them, the two chain alerts.
#[test]
fn kafka_chain_renders_views_counters_and_alerts() {
    let text = render(
        &fixtures::kafka_chain::chain_model(),
        fixtures::now(),
        Format::Text,
    );
    let lines = lines(&text);
    for expected in [
        r#"pipetop_clickhouse_mv_pushes{host="http://ch-1.prod:8123",kafka_table="kafka_engine.events_queue",view="kafka_engine.events_mv"} 40"#,
        r#"pipetop_clickhouse_mv_failures{host="http://ch-1.prod:8123",kafka_table="kafka_engine.events_queue",view="kafka_engine.events_mv"} 12"#,
        r#"pipetop_clickhouse_mv_failures{host="http://ch-1.prod:8123",kafka_table="kafka_engine.events_queue",view="kafka_engine.events_dedup_mv"} 0"#,
        r#"pipetop_clickhouse_kafka_events{host="http://ch-1.prod:8123",event="KafkaCommitFailures"} 68"#,
        r#"pipetop_clickhouse_kafka_events{host="http://ch-1.prod:8123",event="KafkaConsumerErrors"} 0"#,
        r#"pipetop_alert{rule="mv_failures",subject_kind="table",subject="kafka_engine.events_mv",severity="warning",state="firing"} 1"#,
        r#"pipetop_alert{rule="kafka_engine_commit_failures",subject_kind="server",subject="http://ch-1.prod:8123",severity="warning",state="firing"} 1"#,
    ] {
        assert!(lines.contains(&expected), "no line {expected}\n{text}");
    }
}

#[test]
fn openmetrics_has_units_and_eof() {
    let text = render(&fixtures::model(), fixtures::now(), Format::OpenMetrics);
    let lines = lines(&text);
    assert_eq!(lines.last(), Some(&"# EOF"));
    assert!(lines.contains(&"# UNIT pipetop_consumer_time_lag_seconds seconds"));
    assert!(
        lines
            .contains(&r#"pipetop_consumer_lag_messages{group="clicks_loader",topic="clicks"} 75"#)
    );
    assert_eq!(
        Format::from_accept(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )),
        Format::OpenMetrics
    );
    assert_eq!(Format::from_accept(Some("*/*")), Format::Text);
    assert_eq!(Format::from_accept(None), Format::Text);
}

/// `clicks_loader`'s members are assigned `clicks` but the group never committed anything: its lag
/// and time lag are unknown and have no sample at all (never NaN, never 0); its status says so.
#[test]
fn unknown_lag_and_time_lag_have_no_sample() {
    let mut session = Session::new(&fixtures::config());
    let mut kafka: SourceStatus<KafkaSnapshot> = SourceStatus::default();
    for n in 0..5 {
        let mut snapshot = fixtures::kafka_snapshot(n);
        for g in &mut snapshot.groups {
            if g.group_id == "clicks_loader" {
                g.committed.clear();
            }
        }
        kafka.record(Ok(snapshot), fixtures::t(n));
        session.ingest(Some(kafka.clone()), None);
    }
    let model = session.model();
    let clicks = model
        .kafka
        .group("clicks_loader")
        .expect("the group is listed");
    assert_eq!(clicks.topic_lags[0].lag.time_lag_s, None);
    let text = render(model, fixtures::t(4), Format::Text);
    let lines = lines(&text);
    assert!(
        !text.contains(r#"pipetop_consumer_time_lag_seconds{group="clicks_loader""#),
        "{text}"
    );
    assert!(
        !text.contains(r#"pipetop_consumer_lag_messages{group="clicks_loader""#),
        "{text}"
    );
    assert!(
        lines.contains(&r#"pipetop_consumer_status{group="clicks_loader"} 2"#),
        "{text}"
    );
    // Its time lag's kind says why there is none.
    assert!(
        lines.contains(
            &r#"pipetop_consumer_time_lag_kind{group="clicks_loader",topic="clicks",kind="unknown"} 1"#
        ),
        "{text}"
    );
    // The other groups keep their samples.
    assert!(
        text.contains(
            r#"pipetop_consumer_time_lag_seconds{group="orders_enricher",topic="orders"}"#
        ),
        "{text}"
    );
    assert_eq!(
        text.matches(r#"pipetop_consumer_time_lag_kind{group="orders_enricher",topic="orders","#)
            .count(),
        1,
        "one kind at a time: {text}"
    );
    // ClickHouse never answered: down, and no data age without data.
    assert!(
        lines.contains(&r#"pipetop_source_up{source="clickhouse"} 0"#),
        "{text}"
    );
    assert!(!text.contains(r#"pipetop_source_data_age_seconds{source="clickhouse"}"#));
}

// ------------------------------------------------------------------ end to end, real Prometheus

fn curl(url: &str, query: Option<&str>) -> Option<String> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-f", "--max-time", "5"]);
    if let Some(q) = query {
        cmd.args(["--get", "--data-urlencode", &format!("query={q}")]);
    }
    let out = cmd.arg(url).output().expect("curl runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The values of an instant query's vector result, or nothing yet.
fn prometheus_values(port: u16, query: &str) -> Vec<f64> {
    let Some(body) = curl(
        &format!("http://127.0.0.1:{port}/api/v1/query"),
        Some(query),
    ) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).expect("Prometheus answers JSON");
    v["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["value"][1].as_str()?.parse().ok())
        .collect()
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_lag_kafka_consumer_groups_reports() {
    common::needs!(Kafka, ClickHouse, Prometheus, Curl);
    let topic = common::unique("serve_topic");
    let group = common::unique("serve_group");
    common::create_topic(&topic, 3).await;
    common::produce(&topic, &[10, 20, 30]);
    common::commit(&group, &topic, &[(0, 4), (1, 5), (2, 30)]);

    let serve_port = common::unused_port();
    let mut serve = common::Process(
        Command::new(env!("CARGO_BIN_EXE_pipetop"))
            .env_remove("PIPETOP_CONFIG")
            .args(["--kafka", common::KAFKA, "--clickhouse", common::CLICKHOUSE])
            .args(["--refresh", "1s", "serve", "--listen"])
            .arg(format!("127.0.0.1:{serve_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pipetop serve starts"),
    );
    let healthz = wait_for("pipetop serve /healthz", Duration::from_secs(20), || {
        curl(&format!("http://127.0.0.1:{serve_port}/healthz"), None)
    });
    assert_eq!(healthz, "ok\n");

    let dir = std::env::temp_dir().join(common::unique("serve_prometheus"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  \
             - job_name: pipetop\n    static_configs:\n      - targets: ['127.0.0.1:{serve_port}']\n"
        ),
    )
    .unwrap();
    let prometheus_port = common::unused_port();
    let prometheus = common::Process(
        Command::new(common::PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );

    let query = format!(r#"pipetop_consumer_lag_messages{{group="{group}"}}"#);
    let scraped = wait_for(
        "the group's lag in Prometheus",
        Duration::from_secs(60),
        || {
            let values = prometheus_values(prometheus_port, &query);
            (!values.is_empty()).then(|| values.iter().sum::<f64>())
        },
    );
    let described: i64 = common::describe_groups_with_reference_tool(&[&group])
        .iter()
        .filter(|r| r.topic == topic)
        .map(|r| r.lag.expect("the group committed every partition"))
        .sum();
    assert_eq!(described, 6 + 15);
    assert_eq!(scraped, described as f64, "{query}");
    // Prometheus negotiated and parsed the exposition; the sources are up.
    assert_eq!(
        prometheus_values(prometheus_port, r#"up{job="pipetop"}"#),
        [1.0]
    );
    assert_eq!(
        prometheus_values(prometheus_port, r#"pipetop_source_up{source="kafka"}"#),
        [1.0]
    );
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);

    // SIGTERM: a clean exit.
    let pid = serve.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_for("pipetop serve to exit", Duration::from_secs(10), || {
        serve.0.try_wait().unwrap()
    });
    assert!(status.success(), "{status}");
    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}

/// Per-partition series only when asked for: the bounded scrape has none, `--partition-series`
/// adds one lag and one time-lag series per group and partition.
#[test]
fn partition_series_only_when_turned_on() {
    use pipetop::serve::metrics::{Series, render_with};
    let model = fixtures::model();
    let bounded = render_with(&model, fixtures::now(), Format::Text, Series::Bounded);
    assert!(!bounded.contains("partition="), "{bounded}");
    let full = render_with(
        &model,
        fixtures::now(),
        Format::Text,
        Series::WithPartitions,
    );
    let rows: usize = model
        .kafka
        .groups
        .iter()
        .map(|g| g.partitions.iter().filter(|p| p.lag().is_some()).count())
        .sum();
    let lag_lines = full
        .lines()
        .filter(|l| l.starts_with("pipetop_partition_lag_messages{"))
        .count();
    assert_eq!(lag_lines, rows, "{full}");
    let g = &model.kafka.groups[0];
    let p = g.partitions.iter().find(|p| p.lag().is_some()).unwrap();
    let line = format!(
        "pipetop_partition_lag_messages{{group=\"{}\",topic=\"{}\",partition=\"{}\"}} {}",
        g.group_id,
        p.topic,
        p.partition,
        p.lag().unwrap()
    );
    assert!(full.contains(&line), "{line} missing");
}
