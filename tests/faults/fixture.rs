//! What a fault test watches on the fault cluster: a replicated topic, a topic of one replica on
//! the victim (its partition loses its only leader), a topic on the brokers that stay up, a group
//! coordinated by each broker, a group that keeps committing on a coordinator that stays up, and
//! a producer keeping some load.
//! Everything has a unique name and is deleted when the fixture is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use pipetop::kafka::group_log::{GROUP_LOG_TOPIC, group_log_partition};

use super::cluster::{NODES, client_config};
use crate::common::{commit_on, produce_on, unique};

pub const PARTITIONS: i32 = 3;
/// Messages produced to each partition before the test; committed offsets stay below this.
const PRELOAD: usize = 2_000;

pub struct Fixture {
    /// Replication factor 3: survives one broker.
    pub replicated: String,
    /// One partition, one replica, on the victim: leaderless while it is down.
    pub single: String,
    /// Replicas on the two brokers that stay up only: the producer writes here and the live
    /// group commits here. Its log ends (high watermarks) move during the fault, which those of
    /// a topic with the victim in its ISR do not until Kafka fences the victim (after
    /// `broker.session.timeout.ms`): a leader's high watermark waits for every in-sync replica.
    pub live: String,
    /// Idle groups (committed offsets, no members) by the broker that coordinates them.
    pub coordinated_by: HashMap<i32, String>,
    /// Commits a growing offset every 200 ms, on a coordinator that is not the victim.
    pub committing: String,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Fixture {
    pub async fn new(victim: i32) -> Fixture {
        let replicated = unique("fault_rf3");
        let single = unique("fault_rf1");
        let live = unique("fault_live");
        let survivors: Vec<i32> = NODES.iter().copied().filter(|&b| b != victim).collect();
        // Leaders alternate between the two survivors.
        let live_replicas: Vec<Vec<i32>> = (0..PARTITIONS)
            .map(|p| {
                let mut r = survivors.clone();
                let n = r.len();
                r.rotate_left(usize::try_from(p).unwrap() % n);
                r
            })
            .collect();
        let live_assignment: Vec<&[i32]> = live_replicas.iter().map(Vec::as_slice).collect();
        let on_survivors = NewTopic::new(
            &live,
            PARTITIONS,
            TopicReplication::Variable(&live_assignment),
        );
        let admin: AdminClient<DefaultClientContext> = client_config().create().unwrap();
        let rf3 = NewTopic::new(&replicated, PARTITIONS, TopicReplication::Fixed(3));
        let on_victim = [victim];
        let assignment = [&on_victim[..]];
        let rf1 = NewTopic::new(&single, 1, TopicReplication::Variable(&assignment));
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for r in admin
            .create_topics([&rf3, &rf1, &on_survivors], &options)
            .await
            .unwrap()
        {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
        wait_leaders(&[&replicated, &single, &live]);
        produce(&replicated, PARTITIONS, PRELOAD);
        produce(&single, 1, PRELOAD);
        produce(&live, PARTITIONS, PRELOAD);

        let leaders = group_log_leaders(&replicated);
        let mut coordinated_by = HashMap::new();
        for &b in &NODES {
            let group = group_coordinated_by(&leaders, b, "fault_idle");
            let offsets: Vec<(i32, i64)> =
                (0..PARTITIONS).map(|p| (p, 100 + i64::from(p))).collect();
            commit(&group, &replicated, &offsets);
            commit(&group, &single, &[(0, 50)]);
            coordinated_by.insert(b, group);
        }
        let committing = group_coordinated_by(&leaders, survivors[0], "fault_live");
        let stop = Arc::new(AtomicBool::new(false));
        let threads = vec![
            committer(committing.clone(), live.clone(), Arc::clone(&stop)),
            producer(live.clone(), Arc::clone(&stop)),
        ];
        Fixture {
            replicated,
            single,
            live,
            coordinated_by,
            committing,
            stop,
            threads,
        }
    }

    /// The watched groups: every group of the fixture.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.coordinated_by.values().cloned().collect();
        groups.push(self.committing.clone());
        groups.sort();
        groups
    }

    /// A regex that matches exactly the fixture's groups (the collector's group filter).
    pub fn group_pattern(&self) -> String {
        format!("^({})$", self.groups().join("|"))
    }

    pub fn topic_pattern(&self) -> String {
        format!("^({}|{}|{})$", self.replicated, self.single, self.live)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Best effort, with the cluster whole again (the test's `Whole` guard outlives this).
        let Ok(admin) = client_config().create::<AdminClient<DefaultClientContext>>() else {
            return;
        };
        let groups = self.groups();
        let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let topics = [
            self.replicated.as_str(),
            self.single.as_str(),
            self.live.as_str(),
        ];
        // Drop runs inside the test's runtime, which cannot block: a thread of its own does.
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        std::thread::scope(|s| {
            s.spawn(|| {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    let _ = admin.delete_groups(&group_refs, &options).await;
                    let _ = admin.delete_topics(&topics, &options).await;
                });
            });
        });
    }
}

/// The leader of each `__consumer_offsets` partition: the coordinator of the groups hashed to it.
/// On a fresh cluster the topic does not exist until the first commit, so one is made first.
pub fn group_log_leaders(topic: &str) -> Vec<i32> {
    let consumer: BaseConsumer = client_config().create().unwrap();
    for _ in 0..100 {
        let md = consumer
            .fetch_metadata(Some(GROUP_LOG_TOPIC), Duration::from_secs(10))
            .unwrap();
        let leaders: Vec<i32> = md
            .topics()
            .first()
            .map(|t| {
                let mut leaders = vec![-1; t.partitions().len()];
                for p in t.partitions() {
                    leaders[usize::try_from(p.id()).unwrap()] = p.leader();
                }
                leaders
            })
            .unwrap_or_default();
        if !leaders.is_empty() && leaders.iter().all(|&l| l >= 0) {
            return leaders;
        }
        if leaders.is_empty() {
            commit(&unique("fault_first_commit"), topic, &[(0, 0)]);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{GROUP_LOG_TOPIC} never got leaders");
}

/// A fresh group name whose coordinator is `broker` (Kafka hashes the name onto a partition of
/// the group log; that partition's leader coordinates the group).
pub fn group_coordinated_by(leaders: &[i32], broker: i32, prefix: &str) -> String {
    (0..1_000)
        .map(|i| unique(&format!("{prefix}{i}")))
        .find(|g| {
            group_log_partition(g, leaders.len())
                .and_then(|p| leaders.get(usize::try_from(p).ok()?))
                == Some(&broker)
        })
        .unwrap_or_else(|| {
            panic!("no group name hashes to a partition led by {broker}: {leaders:?}")
        })
}

fn wait_leaders(topics: &[&str]) {
    let consumer: BaseConsumer = client_config().create().unwrap();
    for _ in 0..200 {
        let ready = topics.iter().all(|name| {
            consumer
                .fetch_metadata(Some(name), Duration::from_secs(5))
                .is_ok_and(|md| {
                    md.topics().first().is_some_and(|t| {
                        t.error().is_none()
                            && !t.partitions().is_empty()
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                })
        });
        if ready {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("topics {topics:?} never got leaders");
}

fn produce(topic: &str, partitions: i32, per_partition: usize) {
    let counts = vec![per_partition; usize::try_from(partitions).unwrap()];
    produce_on(client_config(), topic, &counts);
}

/// Commits offsets for `group` on the fault cluster without joining it.
pub fn commit(group: &str, topic: &str, offsets: &[(i32, i64)]) {
    commit_on(client_config(), group, topic, offsets);
}

/// Commits offset 200, 201, 202, ... on every partition, every 200 ms (a commit that fails
/// during a fault is retried with the next offset).
fn committer(group: String, topic: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let consumer: BaseConsumer = client_config()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut offset = 200i64;
        while !stop.load(Ordering::SeqCst) {
            let mut tpl = TopicPartitionList::new();
            for p in 0..PARTITIONS {
                tpl.add_partition_offset(&topic, p, Offset::Offset(offset))
                    .unwrap();
            }
            let _ = consumer.commit(&tpl, CommitMode::Sync);
            offset += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

/// About 50 messages a second over the replicated topic's partitions.
fn producer(topic: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let producer: BaseProducer = client_config()
            .set("linger.ms", "5")
            .set("message.timeout.ms", "5000")
            // The leader's write alone: the ends of live leaders keep moving while a stalled
            // follower is still in the ISR (acks=all would wait for it).
            .set("acks", "1")
            .create()
            .unwrap();
        // Each partition in turn, explicitly: a partition without a leader only fails its own
        // messages, never holds up the others' (as a sticky partitioner's batch could).
        let mut partition = 0;
        while !stop.load(Ordering::SeqCst) {
            let record = BaseRecord::<(), _>::to(&topic)
                .partition(partition)
                .payload("{}");
            let _ = producer.send(record);
            partition = (partition + 1) % PARTITIONS;
            producer.poll(Duration::from_millis(20));
        }
        let _ = producer.flush(Duration::from_secs(5));
    })
}
