//! `topic_traffic` against the live stack: the load generator's producer at a steady rate raises
//! nothing; stopped, the topic's rate falls under its `min_rate` and the rule fires while the
//! group reading the topic is caught up (lag 0): the producer-side half of "freshness is old but
//! lag is zero". pipetop is driven through its library, as in tests/alerts_kafka.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};

const REFRESH: Duration = Duration::from_millis(500);
const RATE: u32 = 20;
const MIN_RATE: f64 = 10.0;

/// The topic's produce rate and end offset (one partition) in the latest model.
fn topic_figures(watch: &common::Watch, topic: &str) -> (Option<f64>, Option<i64>) {
    let t = watch.model().kafka.topics.iter().find(|t| t.name == topic);
    (
        t.and_then(|t| t.produce_rate),
        t.and_then(|t| t.partitions.first()?.end_offset()),
    )
}

fn group_lag(watch: &common::Watch, group: &str) -> Option<u64> {
    let g = watch
        .model()
        .kafka
        .groups
        .iter()
        .find(|g| g.group_id == group);
    g.map(|g| g.total_lag)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_producer_fires_topic_traffic_while_the_group_lag_stays_zero() {
    common::needs!(Kafka, LoadGenerator);
    let topic = common::unique("traffic");
    let group = common::unique("traffic_g");
    common::create_topic(&topic, 1).await;
    let config = common::config_from_toml(&format!(
        r#"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{group}"]
        include_topics = ["{topic}"]
        [[alerts.overrides]]
        rule = "topic_traffic"
        match = "topic:{topic}"
        min_rate = {MIN_RATE}
        for = "2s"
        "#,
        kafka = common::KAFKA,
    ));
    let subject = Subject::new(SubjectKind::Topic, &topic);
    let producer = common::start_producer(&topic, RATE);

    // Wait until the producer is producing, so that the judged history starts at its rate.
    let mut warm_up = common::Watch::new(&config);
    let started = Instant::now();
    loop {
        warm_up.poll_kafka().await;
        if topic_figures(&warm_up, &topic).1.is_some_and(|end| end > 0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing produced"
        );
        tokio::time::sleep(REFRESH).await;
    }
    drop(warm_up);

    // Steady: the rate is about 20/s, above min_rate; nothing pending, nothing fired.
    let mut watch = common::Watch::new(&config);
    let mut log = Vec::new();
    let mut ticker = tokio::time::interval(REFRESH);
    for _ in 0..16 {
        ticker.tick().await;
        watch.poll_kafka().await;
        let (rate, end) = topic_figures(&watch, &topic);
        let alert = watch.alert(RuleKind::TopicTraffic, &subject);
        log.push(format!("steady {rate:?} {end:?} {alert:?}"));
        assert!(alert.is_none(), "while producing:\n{}", log.join("\n"));
    }
    let (rate, _) = topic_figures(&watch, &topic);
    assert!(
        rate.is_some_and(|r| r > MIN_RATE),
        "the producer's rate over the steady phase:\n{}",
        log.join("\n")
    );

    // Stopped: commit the group at the end offset, so it is caught up, then wait for the alert.
    drop(producer);
    tokio::time::sleep(Duration::from_secs(1)).await;
    watch.poll_kafka().await;
    let end = topic_figures(&watch, &topic).1.expect("end offset known");
    common::commit(&group, &topic, &[(0, end)]);
    let started = Instant::now();
    let alert = loop {
        ticker.tick().await;
        watch.poll_kafka().await;
        let (rate, now_end) = topic_figures(&watch, &topic);
        let lag = group_lag(&watch, &group);
        let alert = watch.alert(RuleKind::TopicTraffic, &subject);
        log.push(format!(
            "stopped {rate:?} {now_end:?} lag {lag:?} {alert:?}"
        ));
        assert_eq!(now_end, Some(end), "nothing produced after the stop");
        if let Some(lag) = lag {
            assert_eq!(lag, 0, "the group is caught up:\n{}", log.join("\n"));
        }
        if let Some(a) = alert.filter(|a| a.state == AlertState::Firing) {
            assert_eq!(lag, Some(0), "the group is watched and caught up");
            break a;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "topic_traffic never fired:\n{}",
            log.join("\n")
        );
    };
    eprintln!(
        "topic_traffic fired {:.1}s after the stop: {}",
        started.elapsed().as_secs_f64() + 1.0,
        alert.detail
    );
    assert_eq!(alert.severity, Severity::Warning);
    assert!(alert.below, "{alert:?}");
    assert!(alert.value < MIN_RATE, "{alert:?}");
    assert_eq!(alert.threshold, MIN_RATE);
    assert!(
        alert
            .detail
            .contains("msg/s, expected ≥ 10/s (over up to 60s); 1 group reads it"),
        "{}",
        alert.detail
    );
    // Firing after its `for`: pending for at least 2 s first.
    let since = watch.kafka_polled_at().unwrap();
    assert!(
        since
            .duration_since(alert.since)
            .is_ok_and(|d| d >= Duration::from_secs(2)),
        "{alert:?}"
    );
    common::delete_groups(&[&group]).await;
    common::delete_topic(&topic).await;
}
