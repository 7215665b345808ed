//! A broker that answers Metadata while its controller has it fenced lists no broker at all (none
//! is alive) but still its topics. librdkafka 2.10 and later then decommission every broker they
//! know, the bootstrap ones included, and are left with none to ask again
//! (confluentinc/librdkafka#5301): a pipetop that met one such answer stayed without Kafka until
//! restarted. And the same answer to DescribeCluster's Metadata request (no brokers, no topics)
//! aborted the process inside librdkafka. Here a proxy in front of the stack's broker gives pipetop
//! such answers for a while: pipetop must live through them and read the cluster again once they
//! stop (librdkafka patches 9 and 10, vendor/rdkafka-sys/PIPETOP-PATCH.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::kafka_proxy::KafkaProxy;
use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::filter::Pattern;
use pipetop::source::Collector;

#[tokio::test]
async fn answers_without_brokers_do_not_leave_pipetop_without_kafka() {
    common::needs!(Kafka);
    let topic = common::unique("nobrokers_topic");
    let group = common::unique("nobrokers_group");
    common::create_topic(&topic, 2).await;
    common::produce(&topic, &[30, 10]);
    common::commit(&group, &topic, &[(0, 20), (1, 10)]);

    let proxy = KafkaProxy::start(common::KAFKA);
    let mut config = common::config();
    config.kafka.bootstrap_servers = proxy.bootstrap();
    config.kafka.request_timeout = Duration::from_secs(4);
    config.kafka.include_groups = vec![Pattern::new(&regex::escape(&group)).unwrap()];
    let mut collector = KafkaCollector::new(&config.kafka).unwrap();
    let lag = |s: &pipetop::kafka::snapshot::KafkaSnapshot| {
        s.groups
            .iter()
            .find(|g| g.group_id == group)
            .map(|g| g.committed.len())
    };

    let first = collector.poll().await.unwrap();
    assert_eq!(lag(&first), Some(2), "{first:?}");
    assert!(
        first.brokers.iter().all(|b| b.port == proxy.port),
        "every broker is reached through the proxy: {:?}",
        first.brokers
    );

    proxy.blank_brokers(true);
    let started = Instant::now();
    while proxy.blanked() < 2 && started.elapsed() < Duration::from_secs(30) {
        let _ = collector.poll().await;
    }
    assert!(
        proxy.blanked() >= 2,
        "pipetop asked for Metadata while blanked"
    );
    proxy.blank_brokers(false);

    // Within a minute of the first good answer (librdkafka's own re-bootstrap waits five).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last;
    loop {
        match collector.poll().await {
            Ok(s) if lag(&s) == Some(2) => break,
            Ok(s) => last = format!("a poll without the group: {:?}", s.groups),
            Err(e) => last = e,
        }
        assert!(
            Instant::now() < deadline,
            "no good poll 60 s after Metadata answers list brokers again; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}
