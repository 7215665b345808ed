//! pipetop's CURRENT-OFFSET / LOG-END-OFFSET / LAG per partition equal what the reference tool,
//! `kafka-consumer-groups --describe` from the stack's own Kafka jars, prints for the same groups
//! at the same moment, in every situation where lag tools disagree. Nothing is produced or
//! committed while the two look, so both see the same offsets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use common::DescribeRow;
use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::filter::Pattern;
use pipetop::kafka::snapshot::KafkaSnapshot;
use pipetop::model::kafka::KafkaTracker;
use pipetop::model::kafka::status::Status;
use pipetop::source::Collector;

/// A group member that consumed `consume` messages from every partition, committed only
/// partition 0, then stopped fetching but stays in the group until `stop` is set.
fn active_member(
    group: String,
    topic: String,
    consume: usize,
    ready: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let consumer: BaseConsumer = common::kafka_config()
            .set("group.id", &group)
            .set("client.id", "reference-member")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[&topic]).unwrap();
        let mut seen: BTreeMap<i32, i64> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.values().filter(|&&n| n as usize >= consume).count() < 3 {
            assert!(
                Instant::now() < deadline,
                "member never consumed its messages"
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                use rdkafka::Message;
                let n = seen.entry(m.partition()).or_default();
                if (*n as usize) < consume {
                    *n = m.offset() + 1;
                }
            }
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Offset(consume as i64))
            .unwrap();
        common::commit_sync(&consumer, &tpl).unwrap();
        consumer.pause(&consumer.assignment().unwrap()).unwrap();
        ready.store(true, Ordering::SeqCst);
        while !stop.load(Ordering::SeqCst) {
            consumer.poll(Duration::from_millis(100));
        }
    })
}

fn pipetop_rows(snapshot: &KafkaSnapshot, groups: &[&str]) -> Vec<DescribeRow> {
    let model = KafkaTracker::default().update(snapshot).unwrap();
    let mut rows: Vec<DescribeRow> = model
        .groups
        .iter()
        .filter(|g| groups.contains(&g.group_id.as_str()))
        .flat_map(|g| {
            g.partitions.iter().map(|p| DescribeRow {
                group: g.group_id.clone(),
                topic: p.topic.to_string(),
                partition: p.partition,
                current: p.committed(),
                end: p.end(),
                lag: p.lag().map(|l| l as i64),
                consumer_id: None,
            })
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_and_lag_equal_kafka_consumer_groups_describe() {
    common::needs!(Kafka);
    let main = common::unique("ref_main");
    let grown = common::unique("ref_grown");
    let large = common::unique("ref_large");
    let deleted = common::unique("ref_deleted");
    let g_active = common::unique("ref_active");
    let g_empty = common::unique("ref_empty");
    let g_grown = common::unique("ref_grown_g");
    let g_start = common::unique("ref_start");
    let g_deleted = common::unique("ref_deleted_g");
    for (t, n) in [(&main, 3), (&grown, 2), (&large, 2), (&deleted, 1)] {
        common::create_topic(t, n).await;
    }
    common::produce(&main, &[120, 80, 40]);
    common::produce(&grown, &[30, 30]);
    common::produce(&large, &[60_000, 40_000]);
    common::produce(&deleted, &[10]);

    // An active (Stable) group whose member consumed but committed only partition 0: two
    // assigned partitions never committed.
    let ready = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let member = active_member(
        g_active.clone(),
        main.clone(),
        20,
        Arc::clone(&ready),
        Arc::clone(&stop),
    );
    // An Empty group with commits (one partition never committed, so absent from its rows).
    common::commit(&g_empty, &main, &[(0, 100), (1, 80)]);
    // A group that committed before its topic grew from 2 to 4 partitions.
    common::commit(&g_grown, &grown, &[(0, 10), (1, 30)]);
    common::create_partitions(&grown, 4).await;
    common::produce(&grown, &[0, 0, 5, 7]);
    // A group reading a large topic from the start.
    common::commit(&g_start, &large, &[(0, 0), (1, 1)]);
    // A group whose topic was deleted after it committed.
    common::commit(&g_deleted, &deleted, &[(0, 4)]);
    common::delete_topic(&deleted).await;
    common::wait_topic_gone(&deleted);

    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "member not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let groups = [
        g_active.as_str(),
        g_empty.as_str(),
        g_grown.as_str(),
        g_start.as_str(),
        g_deleted.as_str(),
    ];
    let mut config = common::config();
    config.kafka.include_groups = vec![Pattern::new("ref_.*").unwrap()];
    let mut collector = KafkaCollector::new(&config.kafka).unwrap();
    let before = collector.poll().await.unwrap();
    // The tool blocks for a few seconds (JVM start); the member thread keeps heartbeating.
    let reference = common::describe_groups_with_reference_tool(&groups);
    let after = collector.poll().await.unwrap();
    stop.store(true, Ordering::SeqCst);
    member.join().unwrap();

    let ours = pipetop_rows(&before, &groups);
    assert_eq!(
        ours,
        pipetop_rows(&after, &groups),
        "offsets moved during the comparison"
    );
    let reference_rows: Vec<DescribeRow> = reference
        .iter()
        .map(|r| DescribeRow {
            consumer_id: None,
            ..r.clone()
        })
        .collect();
    assert_eq!(ours, reference_rows);

    // Each scenario is really there, so the equality above covers it.
    let row = |g: &str, t: &str, p: i32| {
        ours.iter()
            .find(|r| r.group == g && r.topic == t && r.partition == p)
            .unwrap_or_else(|| panic!("no row {g} {t} {p}"))
            .clone()
    };
    assert_eq!(row(&g_active, &main, 0).lag, Some(100));
    assert_eq!(
        row(&g_active, &main, 1).current,
        None,
        "assigned, never committed"
    );
    assert!(
        reference
            .iter()
            .any(|r| r.group == g_active && r.consumer_id.is_some())
    );
    assert_eq!(row(&g_empty, &main, 1).lag, Some(0));
    assert_eq!(row(&g_grown, &grown, 0).lag, Some(20));
    assert!(
        ours.iter()
            .all(|r| !(r.group == g_grown && r.partition >= 2))
    );
    assert_eq!(row(&g_start, &large, 0).lag, Some(60_000));
    // Kafka 4's group coordinator deletes a deleted topic's committed offsets with the topic
    // (older brokers kept them until offsets.retention.minutes; the model flags those rows
    // `unknown_partition`, see its unit tests). Both tools agree the group has no rows left,
    // and pipetop still lists the group.
    assert!(ours.iter().all(|r| r.group != g_deleted));

    // What pipetop adds on top of the reference for the same groups.
    let model = KafkaTracker::default().update(&after).unwrap();
    let group = |id: &str| model.groups.iter().find(|g| g.group_id == id).unwrap();
    let statuses: Vec<Status> = group(&g_empty)
        .partitions
        .iter()
        .map(|p| p.status())
        .collect();
    assert_eq!(
        statuses,
        [Status::Stop, Status::Ok],
        "no members: lag 20 is STOP, lag 0 is OK"
    );
    assert_eq!(
        group(&g_start).status,
        Status::Stop,
        "Empty group with lag: nobody consumes"
    );
    assert!(group(&g_deleted).partitions.is_empty());
    assert_eq!(group(&g_deleted).status, Status::Unknown);
    assert_eq!(group(&g_active).partitions_without_commit, 2);
    assert!(
        model.groups.iter().all(|g| g.group_id.starts_with("ref_")),
        "include_groups filters the rest out"
    );
    // One broker leads everything: one ListOffsets request for ends, one for starts.
    assert_eq!(after.requests_by_kind.list_offsets, 2);
    // One broker coordinates every group: one OffsetFetch names them all (patch 11).
    assert!(after.groups.len() > 1);
    assert_eq!(after.requests_by_kind.offset_fetch, 1);

    for t in [&main, &grown, &large] {
        common::delete_topic(t).await;
    }
    common::delete_groups(&groups).await;
}
