//! Log-start offsets on their own cadence (`kafka::log_starts`), against the local broker: the
//! first poll reads every partition's start; until the next full read only partitions that need
//! it are read again (a watched group's commit in the older half of the retained log, or behind
//! it), so a deletion there shows at the next poll while a start far from every commit keeps its
//! earlier value, with when it was read.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::{Offset, TopicPartitionList};

use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::snapshot::{KafkaSnapshot, Partition};
use pipetop::model::kafka::KafkaTracker;
use pipetop::source::Collector;

fn collector(group: &str, topic: &str) -> KafkaCollector {
    let config = common::config_from_toml(&format!(
        r#"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["^{group}$"]
        include_topics = ["^{topic}$"]
        "#,
        kafka = common::KAFKA,
    ));
    KafkaCollector::new(&config.kafka).unwrap()
}

fn partition<'a>(snapshot: &'a KafkaSnapshot, topic: &str, p: i32) -> &'a Partition {
    snapshot
        .topic(topic)
        .and_then(|t| t.partitions.iter().find(|x| x.partition == p))
        .unwrap_or_else(|| panic!("{topic}/{p} not in the snapshot"))
}

async fn delete_records(topic: &str, cuts: &[(i32, i64)]) {
    let admin: AdminClient<DefaultClientContext> = common::kafka_config().create().unwrap();
    let mut list = TopicPartitionList::new();
    for &(p, offset) in cuts {
        list.add_partition_offset(topic, p, Offset::Offset(offset))
            .unwrap();
    }
    for r in admin
        .delete_records(&list, &AdminOptions::new())
        .await
        .unwrap()
        .elements()
    {
        r.error().unwrap();
    }
}

#[tokio::test]
async fn between_full_reads_only_starts_near_a_commit_are_read_again() {
    common::needs!(Kafka);
    let topic = common::unique("logstart_topic");
    let group = common::unique("logstart_group");
    common::create_topic(&topic, 2).await;
    common::produce(&topic, &[100, 100]);
    // Partition 0: caught up, far from its log start. Partition 1: nothing consumed yet, at the
    // log start (the oldest message is the next to read).
    common::commit(&group, &topic, &[(0, 100), (1, 0)]);

    let mut collector = collector(&group, &topic);
    let mut tracker = KafkaTracker::default();
    let first = collector.poll().await.unwrap();
    for p in [0, 1] {
        let part = partition(&first, &topic, p);
        assert_eq!(part.start_offset, Some(0), "{p}: read at the first poll");
        assert_eq!(part.start_read_ms, Some(first.taken_at_ms));
    }
    let model = tracker.update(&first).unwrap();
    let lag = model.group(&group).expect("group in the model");
    assert_eq!(lag.retention.lost, 0, "{:?}", lag.retention);

    // Retention takes the oldest 30 messages of both partitions.
    delete_records(&topic, &[(0, 30), (1, 30)]).await;
    let second = collector.poll().await.unwrap();
    let cold = partition(&second, &topic, 0);
    assert_eq!(
        (cold.start_offset, cold.start_read_ms),
        (Some(0), Some(first.taken_at_ms)),
        "far from every commit: kept from the first poll until the next full read"
    );
    let hot = partition(&second, &topic, 1);
    assert_eq!(
        (hot.start_offset, hot.start_read_ms),
        (Some(30), Some(second.taken_at_ms)),
        "the group's commit is at the start: read every poll"
    );
    // The loss shows at once: 30 messages the group never read are gone.
    let model = tracker.update(&second).unwrap();
    let lag = model.group(&group).expect("group in the model");
    assert_eq!(lag.retention.lost, 30, "{:?}", lag.retention);
    // The topic drill-down says how old the oldest start shown is (only once a second passed).
    let view = model.topics.iter().find(|t| t.name == topic).unwrap();
    let expected = u64::try_from((second.taken_at_ms - first.taken_at_ms) / 1000)
        .ok()
        .filter(|&s| s > 0);
    assert_eq!(view.starts_age_s, expected);

    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}
