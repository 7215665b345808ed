//! pipetop's Kafka poll against the live broker: lag equals end − committed, and polling changes
//! nothing in the group it watches.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::filter::Pattern;
use pipetop::kafka::types::GroupState;
use pipetop::kafka::unlisted::{UNLISTED, UNLISTED_POLLS};
use pipetop::model::kafka::lag::group_lags;
use pipetop::model::kafka::partition_lag::OffsetFlag;
use pipetop::source::Collector;

#[tokio::test]
async fn lag_is_end_minus_committed_and_polling_changes_nothing() {
    common::needs!(Kafka);
    let topic = common::unique("lag_topic");
    let group = common::unique("lag_group");
    common::create_topic(&topic, 3).await;
    common::produce(&topic, &[100, 40, 7]);
    common::commit(&group, &topic, &[(0, 25), (1, 40)]);

    let mut collector = KafkaCollector::new(&common::config().kafka).unwrap();
    let first = collector.poll().await.unwrap();
    let second = collector.poll().await.unwrap();

    for snapshot in [&first, &second] {
        let lags = group_lags(snapshot);
        let g = lags
            .iter()
            .find(|g| g.group_id == group)
            .expect("group listed");
        assert_eq!(g.state, GroupState::Empty);
        assert_eq!(g.members, 0, "pipetop must never join the group");
        let by_partition: Vec<_> = g
            .partitions
            .iter()
            .map(|p| (p.partition, p.committed(), p.end(), p.lag(), p.flag()))
            .collect();
        assert_eq!(
            by_partition,
            vec![
                (0, Some(25), Some(100), Some(75), OffsetFlag::Ok),
                (1, Some(40), Some(40), Some(0), OffsetFlag::Ok),
            ],
            "partition 2 was never committed, so it is not in an empty group's rows"
        );
        assert_eq!(g.total_lag, 75);
    }
    // The commits pipetop saw on the second poll are exactly the ones the test made.
    let g = second.groups.iter().find(|g| g.group_id == group).unwrap();
    let committed: Vec<_> = g
        .committed
        .iter()
        .map(|c| (c.partition, c.offset))
        .collect();
    assert_eq!(committed, vec![(0, 25), (1, 40)]);
    assert!(second.requests > 0);
    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}

#[tokio::test]
async fn unreachable_broker_is_an_error_not_a_hang() {
    let mut config = common::config();
    config.kafka.bootstrap_servers = "127.0.0.1:1".to_string();
    config.kafka.request_timeout = std::time::Duration::from_secs(2);
    let mut collector = KafkaCollector::new(&config.kafka).unwrap();
    let started = std::time::Instant::now();
    let result = collector.poll().await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

/// A group of the last snapshot that ListGroups no longer lists (here: deleted; a listing can
/// also leave out a group that still exists, see `kafka::collector::unlisted_groups`) stays for
/// a few polls, marked and without data, never asked about directly, and is then forgotten.
#[tokio::test]
async fn a_group_left_out_of_the_listing_is_kept_marked_then_forgotten() {
    common::needs!(Kafka);
    let topic = common::unique("gone_topic");
    let group = common::unique("gone_group");
    common::create_topic(&topic, 1).await;
    common::produce(&topic, &[10]);
    common::commit(&group, &topic, &[(0, 4)]);
    let mut config = common::config();
    config.kafka.include_groups = vec![Pattern::new(&regex::escape(&group)).unwrap()];
    let mut collector = KafkaCollector::new(&config.kafka).unwrap();

    let first = collector.poll().await.unwrap();
    let g = first.groups.iter().find(|g| g.group_id == group).unwrap();
    assert_eq!((g.state, g.error.as_deref()), (GroupState::Empty, None));
    assert_eq!(first.requests_by_kind.offset_fetch, 1);

    common::delete_groups(&[&group]).await;
    for poll in 1..=UNLISTED_POLLS {
        let s = collector.poll().await.unwrap();
        let ids: Vec<&str> = s.groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, [group.as_str()], "poll {poll} after the delete");
        let g = &s.groups[0];
        let error = g.error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with(UNLISTED) && error.ends_with(&format!("kept {poll} of 3 polls")),
            "{error}"
        );
        assert_eq!(g.state, GroupState::Unknown);
        assert!(
            g.committed.is_empty() && g.members.is_empty(),
            "no data: {g:?}"
        );
        // Not described; its commits are asked for (a coordinator that has just taken a group
        // over leaves it out of its listing while it loads, but answers for its commits), and a
        // deleted group has none, so it stays marked, without data.
        assert_eq!(s.requests_by_kind.describe_groups, 0);
        assert_eq!(s.requests_by_kind.offset_fetch, 1);
        // The model shows it, with the reason, rather than dropping it.
        let lags = group_lags(&s);
        assert_eq!(lags[0].error.as_deref(), Some(error));
    }
    let gone = collector.poll().await.unwrap();
    assert!(gone.groups.is_empty(), "{:?}", gone.groups);
    common::delete_topic(&topic).await;
}
