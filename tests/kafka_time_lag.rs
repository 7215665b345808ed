//! Time lag of consumers that fell behind before pipetop started, against the live broker: the
//! produce time of the oldest unconsumed message comes from ListOffsets by timestamp on the first
//! poll, within the documented precision of the timestamp the test produced it with.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, SystemTime};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::snapshot::KafkaSnapshot;
use pipetop::model::kafka::KafkaTracker;
use pipetop::model::kafka::history::TimeLagKind;
use pipetop::source::Collector;

/// Produces one message per timestamp to `partition`, in order.
fn produce_at(topic: &str, partition: i32, timestamps: &[i64]) {
    let producer: BaseProducer = common::kafka_config()
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for (i, &ts) in timestamps.iter().enumerate() {
        let payload = format!("{{\"n\":{i}}}");
        let mut record = BaseRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload)
            .timestamp(ts);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A collector that watches only these groups and topic, so other tests' groups cost nothing.
fn collector(groups: &[&str], topic: &str) -> KafkaCollector {
    let groups: Vec<String> = groups.iter().map(|g| format!("\"{g}\"")).collect();
    let config = common::config_from_toml(&format!(
        r#"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = [{groups}]
        include_topics = ["{topic}"]
        "#,
        kafka = common::KAFKA,
        groups = groups.join(", "),
    ));
    KafkaCollector::new(&config.kafka).unwrap()
}

fn committed_produced_ms(snapshot: &KafkaSnapshot, group: &str, partition: i32) -> Option<i64> {
    snapshot
        .groups
        .iter()
        .find(|g| g.group_id == group)
        .and_then(|g| g.committed.iter().find(|c| c.partition == partition))
        .and_then(|c| c.produced_ms.get())
}

#[tokio::test]
async fn a_consumer_hours_behind_is_dated_on_the_first_poll() {
    common::needs!(Kafka);
    let topic = common::unique("timelag_topic");
    let group = common::unique("timelag_group");
    let reader = common::unique("timelag_from_start");
    common::create_topic(&topic, 3).await;
    let now = pipetop::time::unix_ms(SystemTime::now());
    let t0 = now - 3 * 3_600_000;
    // Partition 0: one message a second for an hour, three hours ago.
    let steady: Vec<i64> = (0..3_600).map(|i| t0 + i * 1_000).collect();
    produce_at(&topic, 0, &steady);
    // Partition 1: bursts of 200 messages in one millisecond, every 10 minutes for 3 hours.
    let bursty: Vec<i64> = (0..18)
        .flat_map(|b| std::iter::repeat_n(t0 + b * 600_000 + 3, 200))
        .collect();
    produce_at(&topic, 1, &bursty);
    // Partition 2: 100 messages, of which retention (here DeleteRecords) took the first 60.
    let old: Vec<i64> = (0..100).map(|i| t0 + i * 10_000).collect();
    produce_at(&topic, 2, &old);
    let admin: AdminClient<DefaultClientContext> = common::kafka_config().create().unwrap();
    let mut cut = TopicPartitionList::new();
    cut.add_partition_offset(&topic, 2, Offset::Offset(60))
        .unwrap();
    admin
        .delete_records(&cut, &AdminOptions::new())
        .await
        .unwrap();

    common::commit(&group, &topic, &[(0, 1_234), (1, 2_345), (2, 10)]);
    common::commit(&reader, &topic, &[(0, 0)]);

    let mut collector = collector(&[&group, &reader], &topic);
    let first = collector.poll().await.unwrap();

    // The timestamps produced, found without reading a message: to within 1 % of their age
    // (the documented precision) in the middle of the log, exactly at its start.
    let within_precision = |found: Option<i64>, truth: i64| {
        let found = found.expect("dated on the first poll");
        let allowed = ((first.taken_at_ms - truth) / 100).max(1_000);
        assert!(
            (found - truth).abs() <= allowed,
            "{found} vs {truth}: more than {allowed} ms off"
        );
    };
    within_precision(committed_produced_ms(&first, &group, 0), steady[1_234]);
    assert_eq!(committed_produced_ms(&first, &reader, 0), Some(steady[0]));
    // The burst holding message 2,345 (the 12th, offsets 2,200..2,399): 200 messages with one
    // timestamp, the next burst ten minutes later.
    within_precision(committed_produced_ms(&first, &group, 1), bursty[2_345]);
    // Committed 10, but 10..59 are gone: the oldest message waiting is 60.
    assert_eq!(committed_produced_ms(&first, &group, 2), Some(old[60]));
    let stats = &first.produce_times;
    assert!(stats.known >= 4, "{stats:?}");
    assert!(stats.rounds <= 8, "{stats:?}");
    assert!(stats.error.is_none(), "{stats:?}");
    assert_eq!(first.requests_by_kind.list_offsets_by_time, stats.requests);

    let model = KafkaTracker::default().update(&first).unwrap();
    let g = model
        .groups
        .iter()
        .find(|g| g.group_id == group)
        .expect("group in the model");
    let p0 = g.partitions.iter().find(|p| p.partition == 0).unwrap();
    assert_eq!(p0.time_lag_kind(), TimeLagKind::LookedUp);
    let produced = committed_produced_ms(&first, &group, 0).unwrap();
    let expected = (first.taken_at_ms - produced) as f64 / 1000.0;
    assert_eq!(p0.time_lag_s(), Some(expected));
    assert!(expected > 2.0 * 3_600.0, "{expected}");

    // What was found is kept: the next poll asks the brokers nothing new.
    let second = collector.poll().await.unwrap();
    assert_eq!(second.produce_times.rounds, 0, "{:?}", second.produce_times);
    assert_eq!(committed_produced_ms(&second, &group, 0), Some(produced));

    common::delete_topic(&topic).await;
    common::delete_groups(&[&group, &reader]).await;
}

#[tokio::test]
async fn offsets_produced_while_watching_are_left_to_the_history() {
    common::needs!(Kafka);
    let topic = common::unique("timelag_new_topic");
    let group = common::unique("timelag_new_group");
    common::create_topic(&topic, 1).await;
    common::produce(&topic, &[10]);
    common::commit(&group, &topic, &[(0, 10)]);

    let mut collector = collector(&[&group], &topic);
    let first = collector.poll().await.unwrap();
    assert_eq!(committed_produced_ms(&first, &group, 0), None, "caught up");
    // Messages that arrive after pipetop's first look are dated by its own history.
    common::produce(&topic, &[5]);
    let second = collector.poll().await.unwrap();
    assert_eq!(committed_produced_ms(&second, &group, 0), None);
    assert_eq!(second.requests_by_kind.list_offsets_by_time, 0);

    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}
