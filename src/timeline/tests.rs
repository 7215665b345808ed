//! The timeline through the real session: snapshots in, events out.

use std::time::{Duration, SystemTime};

use super::*;
use crate::alerts::{Severity, SubjectKind};
use crate::config::Config;
use crate::kafka::snapshot::{
    Assigned, BrokerHealth, Committed, Group, KafkaSnapshot, Member, Partition, Topic,
};
use crate::kafka::types::GroupState;
use crate::session::Session;
use crate::source::SourceStatus;

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

fn member(id: &str, client: &str) -> Member {
    Member {
        consumer_id: id.into(),
        client_id: client.into(),
        host: "/10.0.0.7".into(),
        assignment: vec![Assigned {
            topic: "orders".into(),
            partition: 0,
        }],
    }
}

fn broker(id: i32, down: bool) -> BrokerHealth {
    BrokerHealth {
        id,
        host: Some("127.0.0.1".into()),
        port: Some(9092 + 100 * (id as u16 - 1)),
        in_metadata: true,
        leader_of: 1,
        answered: Some(!down),
        unreachable: None,
        error: down.then(|| "connection refused".into()),
    }
}

/// A three-broker cluster, topic `orders` with two partitions, group `sink` reading it.
struct Cluster {
    state: GroupState,
    members: Vec<Member>,
    committed: [i64; 2],
    leaders: [i32; 2],
    isr: [Vec<i32>; 2],
    down: Vec<i32>,
}

impl Cluster {
    fn healthy() -> Cluster {
        Cluster {
            state: GroupState::Stable,
            members: vec![member("m-1", "sink-a")],
            committed: [1_000, 1_000],
            leaders: [1, 2],
            isr: [vec![1, 2, 3], vec![1, 2, 3]],
            down: vec![],
        }
    }

    fn snapshot(&self, s: u64) -> KafkaSnapshot {
        KafkaSnapshot {
            taken_at_ms: crate::time::unix_ms(at(s)),
            broker_health: (1..=3)
                .map(|id| broker(id, self.down.contains(&id)))
                .collect(),
            topics: vec![Topic {
                name: "orders".into(),
                internal: false,
                error: None,
                partitions: (0..2)
                    .map(|p| Partition {
                        partition: p as i32,
                        leader: Some(self.leaders[p]),
                        replicas: vec![1, 2, 3].into(),
                        isr: self.isr[p].as_slice().into(),
                        start_offset: Some(0),
                        start_read_ms: None,
                        end_offset: Some(1_000),
                        error: None,
                    })
                    .collect(),
            }],
            groups: vec![Group {
                group_id: "sink".into(),
                state: self.state,
                partition_assignor: "range".into(),
                coordinator: Some(1),
                members: self.members.clone(),
                committed: (0..2)
                    .map(|p| Committed {
                        topic: "orders".into(),
                        partition: p as i32,
                        offset: self.committed[p],
                        produced_ms: crate::compact::OptI64::NONE,
                    })
                    .collect(),
                error: None,
            }],
            ..KafkaSnapshot::default()
        }
    }
}

fn kafka(status: &mut SourceStatus<KafkaSnapshot>, snapshot: KafkaSnapshot, s: u64) {
    status.record(Ok(snapshot), at(s));
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {}: {}", e.kind.name(), e.subject, e.text))
        .collect()
}

#[test]
fn the_first_poll_is_no_news_and_a_quiet_poll_adds_nothing() {
    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    kafka(&mut status, Cluster::healthy().snapshot(0), 0);
    session.ingest(Some(status.clone()), None);
    assert!(
        session.model().events.is_empty(),
        "{:?}",
        texts(&session.model().events)
    );
    kafka(&mut status, Cluster::healthy().snapshot(2), 2);
    session.ingest(Some(status.clone()), None);
    assert!(
        session.model().events.is_empty(),
        "{:?}",
        texts(&session.model().events)
    );
}

#[test]
fn a_broker_failure_shows_as_what_changed_with_its_time_and_subject() {
    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    kafka(&mut status, Cluster::healthy().snapshot(0), 0);
    session.ingest(Some(status.clone()), None);
    let before = session.model().events.clone();

    // Broker 2 dies: its partition's leadership moves to 3, the ISRs shrink, the group
    // rebalances (one member goes, another comes) and re-reads from an older offset.
    let failed = Cluster {
        state: GroupState::PreparingRebalance,
        members: vec![member("m-2", "sink-b")],
        committed: [1_000, 700],
        leaders: [1, 3],
        isr: [vec![1, 3], vec![1, 3]],
        down: vec![2],
    };
    kafka(&mut status, failed.snapshot(2), 2);
    session.ingest(Some(status.clone()), None);
    let events = session.model().events.clone();
    let got = texts(&events);
    for wanted in [
        "broker broker 2: broker 2 (127.0.0.1:9192) down: connection refused",
        "leaders topic orders: 1 partition moved their leader, to broker 3",
        "replication topic orders: 2 partitions under-replicated (was 0)",
        "group group sink: state Stable → PreparingRebalance",
        "members group sink: 1 member joined: sink-b@/10.0.0.7 (now 1)",
        "members group sink: 1 member left: sink-a@/10.0.0.7 (now 1)",
        "rewind group sink: committed offset went back on 1 partition (300 messages to read again): orders[1] 1000→700",
    ] {
        assert!(
            got.iter().any(|g| g == wanted),
            "{wanted:?} not in {got:#?}"
        );
    }
    assert!(
        events.iter().all(|e| e.at == at(2)),
        "dated by the poll that showed them: {events:#?}"
    );
    let broker = events.iter().find(|e| e.kind == EventKind::Broker).unwrap();
    assert_eq!(broker.severity, Some(Severity::Critical));
    assert_eq!(broker.subject, subject(SubjectKind::Broker, "2"));
    // A model that changed nothing shares the events of the one before it.
    assert!(before.is_empty());

    // Back to health: the broker rejoins, replication recovers; the rebalance ends.
    let recovered = Cluster {
        members: vec![member("m-2", "sink-b")],
        committed: [1_000, 700],
        ..Cluster::healthy()
    };
    kafka(&mut status, recovered.snapshot(4), 4);
    session.ingest(Some(status.clone()), None);
    let got = texts(&session.model().events);
    for wanted in [
        "broker broker 2: broker 2 (127.0.0.1:9192) back",
        "replication topic orders: no partition under-replicated any more (was 2)",
        "group group sink: state PreparingRebalance → Stable",
        "leaders topic orders: 1 partition moved their leader, to broker 2",
    ] {
        assert!(
            got.iter().any(|g| g == wanted),
            "{wanted:?} not in {got:#?}"
        );
    }
    // Newest first.
    assert_eq!(session.model().events[0].at, at(4));
}

#[test]
fn the_timeline_is_bounded_and_shared_until_something_happens() {
    let mut timeline = Timeline::default();
    let change = || {
        Change::new(
            EventKind::Group,
            subject(SubjectKind::Group, "g"),
            "state Stable → Empty",
        )
    };
    assert!(!timeline.record(at(0), Vec::new()));
    for s in 0..(TIMELINE_LEN as u64 + 50) {
        assert!(timeline.record(at(s), vec![change()]));
    }
    let shared = timeline.shared();
    assert_eq!(shared.len(), TIMELINE_LEN);
    assert_eq!(shared[0].at, at(TIMELINE_LEN as u64 + 49), "newest first");
    assert!(!timeline.record(at(9_999), Vec::new()));
    assert!(
        Arc::ptr_eq(&shared, &timeline.shared()),
        "nothing new, nothing copied"
    );
}

#[test]
fn a_group_without_data_this_poll_is_not_everyone_leaving() {
    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    kafka(&mut status, Cluster::healthy().snapshot(0), 0);
    session.ingest(Some(status.clone()), None);
    let mut unlisted = Cluster::healthy().snapshot(2);
    unlisted.groups[0].state = GroupState::Unknown;
    unlisted.groups[0].members.clear();
    unlisted.groups[0].committed.clear();
    unlisted.groups[0].error = Some("not in this poll's ListGroups answer".into());
    kafka(&mut status, unlisted, 2);
    session.ingest(Some(status.clone()), None);
    assert!(
        session.model().events.is_empty(),
        "{:?}",
        texts(&session.model().events)
    );
}

#[test]
fn a_clickhouse_restart_a_new_exception_and_a_parts_threshold_are_events() {
    use crate::clickhouse::snapshot::FailedInserts;
    use crate::model::clickhouse::tests::{host, ok, parts, snapshot};

    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    // `tight` delays inserts at 10 parts in a partition and rejects them at 20.
    let first = host("a", vec![parts("tight", 4, Some(1))]);
    status.record(
        Ok(snapshot(vec![first], crate::time::unix_ms(at(0)))),
        at(0),
    );
    session.ingest(None, Some(status.clone()));
    assert!(
        session.model().events.is_empty(),
        "{:?}",
        texts(&session.model().events)
    );

    let mut second = host("a", vec![parts("tight", 12, Some(1))]);
    second.server.uptime_s = 3;
    second.server.version = "26.9.3.1".into();
    second.failed_inserts = ok(vec![FailedInserts {
        table: "db.tight".into(),
        exception_code: 27,
        failures: 2,
        latest_exception: "Code: 27. DB::Exception: Cannot parse input\nstack".into(),
        latest_query_id: "q2".into(),
        latest_query: "INSERT INTO db.tight FORMAT JSONEachRow".into(),
        latest_time: 200,
    }]);
    status.record(
        Ok(snapshot(vec![second], crate::time::unix_ms(at(2)))),
        at(2),
    );
    session.ingest(None, Some(status.clone()));
    let got = texts(&session.model().events);
    for wanted in [
        "server server a: a restarted (up 3s, was up 100s)",
        "server server a: a version 26.9.2.1 → 26.9.3.1",
        "exception table db.tight: inserts failing with code 27 (2 on a): Code: 27. DB::Exception: Cannot parse input",
        "table table db.tight: 12 parts in a partition on a reached 10, parts_to_delay_insert: inserts are slowed down",
    ] {
        assert!(
            got.iter().any(|g| g == wanted),
            "{wanted:?} not in {got:#?}"
        );
    }
}

#[test]
fn a_distributed_tables_failing_sends_and_broken_files_are_events() {
    use crate::clickhouse::resources::DistributionQueue;
    use crate::model::clickhouse::tests::{host, ok, snapshot};

    let queue = |errors: u64, broken: u64| DistributionQueue {
        database: "db".into(),
        table: "dist".into(),
        data_files: 3,
        data_compressed_bytes: 1500,
        broken_data_files: Some(broken),
        broken_data_compressed_bytes: Some(broken * 20),
        error_count: errors,
        is_blocked: false,
        last_exception: if errors > 0 {
            "Code: 279. All connection tries failed. Log: \n\nConnection refused".into()
        } else {
            String::new()
        },
        last_exception_time: None,
    };
    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    for (poll, (errors, broken)) in [(0, 0), (4, 0), (9, 2)].into_iter().enumerate() {
        let mut h = host("a", vec![]);
        h.distribution_queue = ok(vec![queue(errors, broken)]);
        let t = at(2 * poll as u64);
        status.record(Ok(snapshot(vec![h], crate::time::unix_ms(t))), t);
        session.ingest(None, Some(status.clone()));
    }
    let got = texts(&session.model().events);
    for wanted in [
        "table table db.dist: sends to its shards failing on a, 3 files waiting: Code: 279. All connection tries failed. Log: Connection refused",
        "table table db.dist: 2 broken files on a (was 0): their rows never reach the shard",
    ] {
        assert!(
            got.iter().any(|g| g == wanted),
            "{wanted:?} not in {got:#?}"
        );
    }
}

#[test]
fn a_view_under_a_kafka_table_starting_to_throw_is_an_event() {
    use crate::clickhouse::kafka_chain::{ChainView, KafkaTableChain, ViewRuns};
    use crate::model::clickhouse::tests::{host, ok, snapshot};

    let mut session = Session::new(&Config::default());
    let mut status = SourceStatus::default();
    for (poll, failures) in [0u64, 0, 3, 5].into_iter().enumerate() {
        let mut h = host("a", vec![]);
        h.kafka_chains = ok(vec![KafkaTableChain {
            database: "k".into(),
            table: "queue".into(),
            topics: vec!["t".into()],
            group: Some("g".into()),
            views: vec![ChainView {
                database: "k".into(),
                name: "mv".into(),
                target: Some("k.target".into()),
            }],
        }]);
        h.view_runs = ok(vec![ViewRuns {
            view: "k.mv".into(),
            target: "k.target".into(),
            runs: 10,
            failures,
            last_exception: if failures > 0 {
                "Code: 395. bad\nrow".into()
            } else {
                String::new()
            },
            last_failure_time: None,
        }]);
        let t = at(2 * poll as u64);
        status.record(Ok(snapshot(vec![h], crate::time::unix_ms(t))), t);
        session.ingest(None, Some(status.clone()));
    }
    let got = texts(&session.model().events);
    let wanted = "table table k.mv: pushes from k.queue failing on a, 3 of 10: Code: 395. bad row";
    // Once when it starts, not again while it keeps failing.
    assert_eq!(
        got.iter()
            .filter(|g| g.starts_with("table table k.mv: pushes from"))
            .count(),
        1,
        "{got:#?}"
    );
    assert!(
        got.iter().any(|g| g == wanted),
        "{wanted:?} not in {got:#?}"
    );
}
