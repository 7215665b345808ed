//! `pipetop::kafka::admin` against the live local broker started by `tests/stack/up`
//! (127.0.0.1:9092). Every test uses its own fresh topic and groups and deletes them afterwards;
//! setup (topics, messages, commits, a live member) goes through rdkafka's safe clients only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use pipetop::kafka::admin::{Admin, OffsetFetchesInFlight};
use pipetop::kafka::types::{
    GroupDescription, GroupOffsetsRequest, GroupState, Node, OffsetSpec, TopicPartition,
};

const BOOTSTRAP: &str = "127.0.0.1:9092";
const TIMEOUT: Duration = Duration::from_secs(10);

/// `unwrap` with the failing step named (the crate denies bare `unwrap` outside `#[test]` fns).
trait OrPanic<T> {
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> OrPanic<T> for Result<T, E> {
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e}"))
    }
}

fn require_broker() {
    let addr: std::net::SocketAddr = BOOTSTRAP.parse().or_panic("BOOTSTRAP");
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
        panic!("no Kafka broker on {BOOTSTRAP}; start it with `tests/stack/up --only kafka`");
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("pipetop_admin_{prefix}_{}_{nanos}", std::process::id())
}

fn client_config() -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", BOOTSTRAP);
    cc
}

fn admin() -> Admin {
    require_broker();
    Admin::new(&client_config()).or_panic("Admin::new")
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// A topic (and the groups a test registers) that is deleted when the test ends, pass or fail.
struct Fixture {
    topic: String,
    groups: Vec<String>,
    setup: AdminClient<DefaultClientContext>,
}

impl Fixture {
    fn new(prefix: &str, partitions: i32) -> Fixture {
        require_broker();
        let topic = unique(prefix);
        let setup: AdminClient<DefaultClientContext> =
            client_config().create().or_panic("setup admin client");
        let new_topic = NewTopic::new(&topic, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        for result in block_on(setup.create_topics([&new_topic], &opts)).or_panic("create topic") {
            result.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
        let fixture = Fixture {
            topic,
            groups: Vec::new(),
            setup,
        };
        fixture.wait_for_leaders(partitions);
        fixture
    }

    fn wait_for_leaders(&self, partitions: i32) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(md) = self
                .setup
                .inner()
                .fetch_metadata(Some(&self.topic), Duration::from_secs(5))
                && md.topics().first().is_some_and(|t| {
                    t.error().is_none()
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("topic {} has no leaders after 30 s", self.topic);
    }

    fn group(&mut self, prefix: &str) -> String {
        let group = unique(prefix);
        self.groups.push(group.clone());
        group
    }

    fn tps(&self, partitions: i32) -> Vec<TopicPartition> {
        (0..partitions).map(|p| tp(&self.topic, p)).collect()
    }

    /// `counts[p]` messages into partition p, each delivery confirmed.
    fn produce(&self, counts: &[usize]) {
        let producer: FutureProducer = client_config()
            .set("message.timeout.ms", "10000")
            .create()
            .or_panic("producer");
        let mut pending = Vec::new();
        for (partition, &count) in counts.iter().enumerate() {
            for i in 0..count {
                let payload = format!("message {i} for partition {partition}");
                let record = FutureRecord::to(&self.topic)
                    .partition(partition as i32)
                    .key("k")
                    .payload(&payload);
                let delivery = producer
                    .send_result(record)
                    .unwrap_or_else(|(e, _)| panic!("enqueue: {e}"));
                pending.push(delivery);
            }
        }
        for delivery in pending {
            match block_on(delivery) {
                Ok(Ok(_)) => {}
                other => panic!("delivery failed: {other:?}"),
            }
        }
    }

    /// Commits `offsets` for `group` the way a manually-assigned consumer does
    /// (assign + commit, no subscribe), then drops the consumer.
    fn commit(&self, group: &str, offsets: &[(i32, i64, Option<&str>)]) {
        let consumer: BaseConsumer = client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .or_panic("committing consumer");
        let mut tpl = TopicPartitionList::new();
        for &(partition, offset, metadata) in offsets {
            let mut elem = tpl.add_partition(&self.topic, partition);
            elem.set_offset(Offset::Offset(offset))
                .or_panic("set offset");
            if let Some(metadata) = metadata {
                elem.set_metadata(metadata);
            }
        }
        consumer.assign(&tpl).or_panic("assign");
        common::commit_sync(&consumer, &tpl).or_panic("commit");
    }

    /// The group's committed offsets as a consumer sees them (OffsetFetch, without joining).
    fn committed(&self, group: &str, partitions: i32) -> BTreeMap<i32, Option<i64>> {
        let consumer: BaseConsumer = client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .or_panic("offset-fetching consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(&self.topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, TIMEOUT)
            .or_panic("committed offsets");
        committed
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset().to_raw().filter(|&o| o >= 0)))
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        if !self.groups.is_empty() {
            let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
            if let Err(e) = block_on(self.setup.delete_groups(&groups, &opts)) {
                eprintln!("cleanup: delete groups: {e}");
            }
        }
        if let Err(e) = block_on(self.setup.delete_topics(&[&self.topic], &opts)) {
            eprintln!("cleanup: delete topic {}: {e}", self.topic);
        }
    }
}

fn membership(desc: &GroupDescription) -> (GroupState, Vec<(String, Vec<TopicPartition>)>) {
    let mut members: Vec<_> = desc
        .members
        .iter()
        .map(|m| (m.consumer_id.clone(), m.assignment.clone()))
        .collect();
    members.sort();
    (desc.state, members)
}

#[test]
fn empty_group_offsets_and_watermarks() {
    common::needs!(Kafka);
    let mut fx = Fixture::new("wm", 3);
    let group = fx.group("empty");
    fx.produce(&[10, 4, 0]);
    fx.commit(&group, &[(0, 6, Some("pipetop-test")), (1, 4, None)]);
    let admin = admin();

    let committed_before = fx.committed(&group, 3);
    assert_eq!(
        committed_before,
        BTreeMap::from([(0, Some(6)), (1, Some(4)), (2, None)])
    );
    let described_before = admin
        .describe_groups(std::slice::from_ref(&group), TIMEOUT)
        .unwrap();

    let started = Instant::now();
    let listed = admin.list_groups(TIMEOUT).unwrap().groups;
    let listing = listed
        .iter()
        .find(|g| g.group_id == group)
        .unwrap_or_else(|| panic!("{group} not in {listed:?}"));
    assert_eq!(listing.state, GroupState::Empty);
    // Only ever committed, never joined: no protocol type, i.e. a "simple" group.
    assert!(listing.is_simple);
    eprintln!(
        "list_groups: {} groups in {:?}",
        listed.len(),
        started.elapsed()
    );

    // Default: every committed partition, nothing else.
    let offsets = admin
        .list_group_offsets(std::slice::from_ref(&group), 256, TIMEOUT)
        .unwrap();
    assert_eq!(offsets.len(), 1);
    let g = &offsets[0];
    assert_eq!(g.group_id, group);
    assert_eq!(g.error, None);
    let got: Vec<_> = g
        .offsets
        .iter()
        .map(|c| (c.tp(), c.offset(), c.metadata(), c.error()))
        .collect();
    assert_eq!(
        got,
        vec![
            (tp(&fx.topic, 0), Some(6), Some("pipetop-test"), None),
            (tp(&fx.topic, 1), Some(4), None, None),
        ]
    );

    // Explicit partitions: the uncommitted one is reported as None.
    let explicit = admin
        .list_group_offsets_for(
            &[GroupOffsetsRequest {
                group_id: group.clone(),
                partitions: Some(fx.tps(3)),
            }],
            256,
            TIMEOUT,
        )
        .unwrap();
    assert_eq!(explicit[0].error, None);
    let got: Vec<_> = explicit[0]
        .offsets
        .iter()
        .map(|c| (c.partition, c.offset(), c.error()))
        .collect();
    assert_eq!(
        got,
        vec![(0, Some(6), None), (1, Some(4), None), (2, None, None)]
    );

    // Watermarks; the duplicate is answered once.
    let mut request = fx.tps(3);
    request.push(tp(&fx.topic, 0));
    let started = Instant::now();
    let latest = admin
        .list_offsets(&request, OffsetSpec::Latest, TIMEOUT)
        .unwrap();
    eprintln!("list_offsets(3 partitions): {:?}", started.elapsed());
    let got: Vec<_> = latest
        .iter()
        .map(|o| (o.tp.clone(), o.offset, o.error.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (tp(&fx.topic, 0), Some(10), None),
            (tp(&fx.topic, 1), Some(4), None),
            (tp(&fx.topic, 2), Some(0), None),
        ]
    );
    let earliest = admin
        .list_offsets(&fx.tps(3), OffsetSpec::Earliest, TIMEOUT)
        .unwrap();
    let got: Vec<_> = earliest
        .iter()
        .map(|o| (o.offset, o.error.clone()))
        .collect();
    assert_eq!(got, vec![(Some(0), None), (Some(0), None), (Some(0), None)]);

    // A partition that does not exist fails alone.
    let mixed = admin
        .list_offsets(
            &[tp(&fx.topic, 0), tp(&fx.topic, 99)],
            OffsetSpec::Latest,
            TIMEOUT,
        )
        .unwrap();
    assert_eq!(mixed.len(), 2);
    assert_eq!(
        (mixed[0].offset, mixed[0].error.as_deref()),
        (Some(10), None)
    );
    assert_eq!(mixed[1].tp, tp(&fx.topic, 99));
    assert_eq!(mixed[1].offset, None);
    assert!(mixed[1].error.is_some(), "{mixed:?}");

    // A topic that does not exist: an error (whole call or per partition), promptly, no panic.
    let missing_topic = unique("missing");
    let started = Instant::now();
    match admin.list_offsets(&[tp(&missing_topic, 0)], OffsetSpec::Latest, TIMEOUT) {
        Ok(parts) => assert!(parts[0].error.is_some(), "{parts:?}"),
        Err(e) => eprintln!("list_offsets(missing topic): {e}"),
    }
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(3));

    // pipetop's calls changed neither the commits nor the (empty) membership.
    let described_after = admin
        .describe_groups(std::slice::from_ref(&group), TIMEOUT)
        .unwrap();
    assert_eq!(described_after.len(), 1);
    assert_eq!(described_after[0].error, None);
    assert!(described_after[0].is_simple);
    // The coordinator is a real broker (any of them: the stack may run 1 or 3 nodes).
    let coordinator = described_after[0].coordinator.clone().expect("coordinator");
    assert_eq!(coordinator.host, "127.0.0.1");
    assert!(coordinator.id >= 1, "{coordinator:?}");
    assert_eq!(described_after[0].state, GroupState::Empty);
    assert!(described_after[0].members.is_empty());
    assert_eq!(
        membership(&described_before[0]),
        membership(&described_after[0])
    );
    assert_eq!(fx.committed(&group, 3), committed_before);
}

#[test]
fn live_member_is_described_and_left_alone() {
    common::needs!(Kafka);
    let mut fx = Fixture::new("live", 3);
    let group = fx.group("live");
    let client_id = unique("client");
    let admin = admin();

    let consumer: BaseConsumer = client_config()
        .set("group.id", &group)
        .set("client.id", &client_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[&fx.topic]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(Err(e)) = consumer.poll(Duration::from_millis(100)) {
                    eprintln!("consumer: {e}");
                }
            }
            // Dropping the consumer closes it: it leaves the group cleanly.
        })
    };
    // Stop the member even if an assertion fails, so cleanup can delete the group.
    struct StopOnDrop(Arc<AtomicBool>, Option<thread::JoinHandle<()>>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
            if let Some(handle) = self.1.take() {
                let _ = handle.join();
            }
        }
    }
    let _member = StopOnDrop(stop, Some(poller));

    let joining = Instant::now();
    let deadline = joining + Duration::from_secs(60);
    let stable = loop {
        let desc = admin
            .describe_groups(std::slice::from_ref(&group), TIMEOUT)
            .unwrap()
            .remove(0);
        if desc.state == GroupState::Stable
            && desc.members.len() == 1
            && desc.members[0].assignment.len() == 3
        {
            eprintln!("live group stable after {:?}", joining.elapsed());
            break desc;
        }
        assert!(
            Instant::now() < deadline,
            "group never became stable: {desc:?}"
        );
        thread::sleep(Duration::from_millis(200));
    };

    assert_eq!(stable.group_id, group);
    assert_eq!(stable.error, None);
    assert!(!stable.is_simple);
    assert!(!stable.partition_assignor.is_empty());
    let cluster = admin.describe_cluster(TIMEOUT).unwrap();
    let coordinator = stable.coordinator.clone().expect("coordinator");
    assert!(
        cluster.nodes.contains(&coordinator),
        "{coordinator:?} not in {cluster:?}"
    );
    let member = &stable.members[0];
    assert_eq!(member.client_id, client_id);
    assert!(member.host.contains("127.0.0.1"), "{member:?}");
    assert!(!member.consumer_id.is_empty());
    assert_eq!(member.group_instance_id, None);
    assert_eq!(member.assignment, fx.tps(3));

    // A nonexistent group in the same request: Dead or an error entry, never a failure.
    let ghost = unique("ghost");
    let both = admin
        .describe_groups(&[ghost.clone(), group.clone()], TIMEOUT)
        .unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].group_id, ghost);
    assert!(
        both[0].state == GroupState::Dead || both[0].error.is_some(),
        "{:?}",
        both[0]
    );
    assert!(both[0].members.is_empty());
    assert_eq!(both[1].group_id, group);

    // Everything pipetop does in a refresh, then the group must be exactly as before.
    let listed = admin.list_groups(TIMEOUT).unwrap().groups;
    let listing = listed.iter().find(|g| g.group_id == group).unwrap();
    assert_eq!(listing.state, GroupState::Stable);
    assert!(!listing.is_simple);
    let offsets = admin
        .list_group_offsets(std::slice::from_ref(&group), 256, TIMEOUT)
        .unwrap();
    assert_eq!(offsets[0].error, None);
    assert!(offsets[0].offsets.is_empty(), "{offsets:?}");
    admin
        .list_offsets(&fx.tps(3), OffsetSpec::Latest, TIMEOUT)
        .unwrap();
    admin.describe_cluster(TIMEOUT).unwrap();

    let after = admin
        .describe_groups(std::slice::from_ref(&group), TIMEOUT)
        .unwrap()
        .remove(0);
    assert_eq!(membership(&after), membership(&stable));
    assert_eq!(
        fx.committed(&group, 3),
        BTreeMap::from([(0, None), (1, None), (2, None)])
    );
}

#[test]
fn offsets_of_fifty_groups_at_once() {
    common::needs!(Kafka);
    const GROUPS: usize = 50;
    let mut fx = Fixture::new("many", 3);
    fx.produce(&[20, 20, 20]);
    let groups: Vec<String> = (0..GROUPS).map(|i| fx.group(&format!("g{i}"))).collect();
    let expected = |i: usize| (i as i32 % 3, (i as i64 % 20) + 1);
    thread::scope(|s| {
        for chunk in groups.chunks(10).enumerate().collect::<Vec<_>>() {
            let fx = &fx;
            s.spawn(move || {
                let (c, chunk) = chunk;
                for (j, group) in chunk.iter().enumerate() {
                    let (partition, offset) = expected(c * 10 + j);
                    fx.commit(group, &[(partition, offset, None)]);
                }
            });
        }
    });
    let admin = admin();

    let mut request = groups.clone();
    let ghost = unique("ghost");
    request.push(ghost.clone());
    for max_in_flight in [8, 256] {
        let started = Instant::now();
        let offsets = admin
            .list_group_offsets(&request, max_in_flight, TIMEOUT)
            .unwrap();
        eprintln!(
            "list_group_offsets({} groups, max_in_flight {max_in_flight}): {:?}",
            request.len(),
            started.elapsed()
        );
        assert_eq!(offsets.len(), GROUPS + 1);
        for (i, g) in offsets[..GROUPS].iter().enumerate() {
            assert_eq!(g.group_id, groups[i]);
            assert_eq!(g.error, None, "{g:?}");
            let (partition, offset) = expected(i);
            let got: Vec<_> = g.offsets.iter().map(|c| (c.tp(), c.offset())).collect();
            assert_eq!(got, vec![(tp(&fx.topic, partition), Some(offset))], "{g:?}");
        }
        let g = &offsets[GROUPS];
        assert_eq!(g.group_id, ghost);
        assert_eq!(g.error, None);
        assert!(g.offsets.is_empty(), "{g:?}");
    }

    // Duplicates are separate requests and each gets its own answer.
    let twice = admin
        .list_group_offsets(&[groups[4].clone(), groups[4].clone()], 256, TIMEOUT)
        .unwrap();
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[0].offsets.len(), 1);
    assert_eq!(twice[0].offsets[0].offset(), twice[1].offsets[0].offset());

    // Describing all of them is one request.
    let described = admin.describe_groups(&groups, TIMEOUT).unwrap();
    assert_eq!(described.len(), GROUPS);
    assert!(
        described
            .iter()
            .all(|d| d.state == GroupState::Empty && d.error.is_none())
    );
}

#[test]
fn describe_cluster_lists_the_broker() {
    common::needs!(Kafka);
    let admin = admin();
    let started = Instant::now();
    let cluster = admin.describe_cluster(TIMEOUT).unwrap();
    eprintln!("describe_cluster: {:?}", started.elapsed());
    let node = Node {
        id: 1,
        host: "127.0.0.1".to_owned(),
        port: 9092,
        rack: None,
    };
    assert!(cluster.nodes.contains(&node), "{cluster:?}");
    assert!(
        cluster
            .cluster_id
            .as_deref()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(cluster.controller.is_some(), "{cluster:?}");
}

/// Many groups in one OffsetFetch (librdkafka patch 11, `Admin::list_group_offsets_batched`)
/// answer exactly as one request per group does: commits, metadata, a group that never
/// committed, and a name librdkafka cannot send (asked alone, refused as before).
#[test]
fn many_groups_in_one_offset_fetch_answer_as_one_request_each() {
    common::needs!(Kafka);
    let mut fx = Fixture::new("batch", 3);
    fx.produce(&[10, 10, 10]);
    let groups: Vec<String> = (0..5).map(|i| fx.group(&format!("b{i}"))).collect();
    for (i, g) in groups.iter().enumerate() {
        let i = i64::try_from(i).unwrap();
        fx.commit(g, &[(0, i, Some("pipetop-batch")), (2, 9 - i, None)]);
    }
    let admin = admin();
    let broker = admin.describe_cluster(TIMEOUT).unwrap().nodes[0].id;
    let mut asked: Vec<(String, Option<i32>)> =
        groups.iter().map(|g| (g.clone(), Some(broker))).collect();
    asked.push((unique("never_committed"), Some(broker)));
    asked.push(("nul\0group".to_string(), Some(broker)));
    let ids: Vec<String> = asked.iter().map(|(g, _)| g.clone()).collect();

    let one_each = admin.list_group_offsets(&ids, 256, TIMEOUT).unwrap();
    // One batch at a time, as a poll sends few; the groups asked alone all at once.
    const IN_FLIGHT: OffsetFetchesInFlight = OffsetFetchesInFlight {
        batches: 1,
        alone: 256,
    };
    let (batched, sent) = admin
        .list_group_offsets_batched(&asked, IN_FLIGHT, TIMEOUT)
        .unwrap();
    let json = |v: &[pipetop::kafka::types::GroupOffsets]| serde_json::to_string(v).unwrap();
    assert_eq!(json(&batched), json(&one_each));
    // One request for the six groups; the NUL name is refused before sending, as alone.
    assert_eq!(sent, 1);
    assert_eq!(batched[0].offsets.len(), 2);
    assert_eq!(batched[4].offsets[1].offset(), Some(5));
    assert_eq!(batched[0].offsets[0].metadata(), Some("pipetop-batch"));
    assert!(batched[5].offsets.is_empty() && batched[5].error.is_none());
    assert!(batched[6].error.is_some());

    // A group whose coordinator is not known goes alone, through librdkafka's lookup.
    asked[1].1 = None;
    let (batched, sent) = admin
        .list_group_offsets_batched(&asked, IN_FLIGHT, TIMEOUT)
        .unwrap();
    assert_eq!(json(&batched), json(&one_each));
    assert_eq!(sent, 2);
}
