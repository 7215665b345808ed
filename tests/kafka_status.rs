//! Consumer status transitions on the live broker, driven by a consumer this test controls and
//! watched by pipetop's own collector and model at a 500 ms refresh: pausing gives STOP within two
//! refreshes, re-committing the same offset gives STALL, a seek backwards gives REWIND, and
//! resuming returns to OK.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::filter::Pattern;
use pipetop::kafka::group_log::group_log_partition;
use pipetop::kafka::unlisted::UNLISTED;
use pipetop::model::kafka::KafkaTracker;
use pipetop::model::kafka::status::Status;
use pipetop::source::Collector;

const REFRESH: Duration = Duration::from_millis(500);
const RUN: u8 = 0;
const PAUSE: u8 = 1;
const RECOMMIT: u8 = 2;
const REWIND: u8 = 3;

/// A member of `group` that, by mode: consumes and commits its progress every 200 ms (RUN); stays in the group
/// fetching and committing nothing (PAUSE); fetches nothing but commits the same offset every
/// 200 ms (RECOMMIT); seeks 50 messages back, commits that, then pauses (REWIND).
fn consumer(
    group: String,
    topic: String,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let c: BaseConsumer = common::kafka_config()
            .set("group.id", &group)
            .set("client.id", "status-test")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        c.subscribe(&[&topic]).unwrap();
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
        let mut last_commit = Instant::now();
        let mut paused = false;
        let commit = |next: &BTreeMap<i32, i64>| {
            let mut tpl = TopicPartitionList::new();
            for (&p, &o) in next {
                tpl.add_partition_offset(&topic, p, Offset::Offset(o))
                    .unwrap();
            }
            if tpl.count() > 0 {
                common::commit_sync(&c, &tpl).unwrap();
            }
        };
        while !stop.load(Ordering::SeqCst) {
            let m = mode.load(Ordering::SeqCst);
            if (m == RUN) == paused {
                let assignment = c.assignment().unwrap();
                if paused {
                    c.resume(&assignment).unwrap();
                } else {
                    c.pause(&assignment).unwrap();
                }
                paused = !paused;
            }
            if m == REWIND {
                for (&p, o) in next.iter_mut() {
                    *o = (*o - 50).max(0);
                    c.seek(&topic, p, Offset::Offset(*o), Duration::from_secs(5))
                        .unwrap();
                }
                commit(&next);
                committed.clone_from(&next);
                mode.store(PAUSE, Ordering::SeqCst);
                continue;
            }
            if let Some(Ok(msg)) = c.poll(Duration::from_millis(20))
                && m == RUN
            {
                next.insert(msg.partition(), msg.offset() + 1);
            }
            // RUN commits progress only: right after a resume the first fetch can take longer
            // than a refresh on a loaded machine, and re-committing the old offset meanwhile is
            // what RECOMMIT does (a STALL, which pipetop rightly reports).
            let due = last_commit.elapsed() >= Duration::from_millis(200);
            if due && (m == RECOMMIT || (m == RUN && next != committed)) {
                commit(&next);
                committed.clone_from(&next);
                last_commit = Instant::now();
            }
        }
    })
}

fn producer(topic: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let p: BaseProducer = common::kafka_config().create().unwrap();
        while !stop.load(Ordering::SeqCst) {
            let _ = p.send(BaseRecord::<(), _>::to(&topic).partition(0).payload("{}"));
            p.poll(Duration::from_millis(10));
        }
        p.flush(Duration::from_secs(5)).unwrap();
    })
}

struct Watch {
    collector: KafkaCollector,
    tracker: KafkaTracker,
    group: String,
    polls: Vec<(Status, Option<i64>)>,
    /// Refreshes in which ListGroups left the group out.
    unlisted: u32,
}

impl Watch {
    /// One refresh: poll, update the model, return the group's partition status and commit.
    /// A poll in which ListGroups left the group out (the collector keeps it, marked, without
    /// data; see `kafka::collector::unlisted_groups`) has no status to judge: it is noted and
    /// the refresh repeated.
    async fn refresh(&mut self) -> (Status, Option<i64>) {
        tokio::time::sleep(REFRESH).await;
        let snapshot = self.collector.poll().await.unwrap();
        let model = self.tracker.update(&snapshot).expect("a newer snapshot");
        let g = model
            .groups
            .iter()
            .find(|g| g.group_id == self.group)
            .expect("group watched");
        if let Some(error) = g.error.as_deref().filter(|e| e.starts_with(UNLISTED)) {
            eprintln!("refresh {} without data: {error}", self.polls.len());
            self.unlisted += 1;
            assert!(self.unlisted <= 3, "left out of ListGroups 3 times");
            return Box::pin(self.refresh()).await;
        }
        let p = g
            .partitions
            .first()
            .map_or((g.status, None), |p| (p.status(), p.committed()));
        assert_eq!(g.status, p.0, "one partition: group status is its status");
        self.polls.push(p);
        p
    }

    /// After a resume: OK, then three OK refreshes in a row with the commit moving in at least
    /// two of them. (One refresh without a commit is a consumer thread starved for 500 ms on a
    /// loaded machine, which happened: `[.., (Stop, 194), (Ok, 204), (Ok, 204)]`; it is not a
    /// STOP either, which takes two refreshes.)
    async fn flowing(&mut self, leaving: Status) {
        self.until(Status::Ok, &[leaving], 10).await;
        let mut still = 0;
        for _ in 0..3 {
            let before = self.polls.last().and_then(|p| p.1);
            let (status, committed) = self.refresh().await;
            assert_eq!(status, Status::Ok, "{:?}", self.polls);
            assert!(committed >= before, "commit went back: {:?}", self.polls);
            still += usize::from(committed == before);
            assert!(still <= 1, "not consuming: {:?}", self.polls);
        }
    }

    /// Refreshes until `want`, failing on a status outside `allowed` or after `max` refreshes.
    /// Returns how many refreshes after the commit stopped moving (if it did) `want` came.
    async fn until(&mut self, want: Status, allowed: &[Status], max: usize) -> Option<usize> {
        let mut still_since: Option<usize> = None;
        let mut previous = self.polls.last().and_then(|p| p.1);
        for i in 0..max {
            let (status, committed) = self.refresh().await;
            if committed == previous && still_since.is_none() {
                still_since = Some(i);
            } else if committed != previous {
                still_since = None;
            }
            previous = committed;
            if status == want {
                return still_since.map(|s| i - s);
            }
            assert!(
                allowed.contains(&status),
                "waiting for {want:?}, got {status:?}; history {:?}",
                self.polls
            );
        }
        panic!(
            "no {want:?} after {max} refreshes; history {:?}",
            self.polls
        );
    }
}

/// A group id whose `__consumer_offsets` partition no other active group writes to, so its
/// re-commits are attributable (see `kafka::group_log`).
async fn quiet_group_id() -> String {
    let mut collector = KafkaCollector::new(&common::config().kafka).unwrap();
    let s = collector.poll().await.unwrap();
    let n = s.group_log.len();
    if n == 0 {
        // A broker that has never seen a commit (a fresh stack): no group writes anywhere, and
        // the model sees `__consumer_offsets` from the poll after the consumer creates it.
        return common::unique("status_g");
    }
    let busy: HashSet<i32> = s
        .groups
        .iter()
        .filter(|g| !g.members.is_empty())
        .filter_map(|g| group_log_partition(&g.group_id, n))
        .collect();
    loop {
        let id = common::unique("status_g");
        if group_log_partition(&id, n).is_some_and(|p| !busy.contains(&p)) {
            return id;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_stall_rewind_and_resume() {
    common::needs!(Kafka);
    let topic = common::unique("status_t");
    common::create_topic(&topic, 1).await;
    let group = quiet_group_id().await;

    let mode = Arc::new(AtomicU8::new(RUN));
    let stop = Arc::new(AtomicBool::new(false));
    let prod = producer(topic.clone(), Arc::clone(&stop));
    let cons = consumer(
        group.clone(),
        topic.clone(),
        Arc::clone(&mode),
        Arc::clone(&stop),
    );

    let mut config = common::config();
    config.kafka.include_groups = vec![Pattern::new(&regex::escape(&group)).unwrap()];
    config.kafka.include_topics = vec![Pattern::new(&regex::escape(&topic)).unwrap()];
    let mut watch = Watch {
        collector: KafkaCollector::new(&config.kafka).unwrap(),
        tracker: KafkaTracker::default(),
        group: group.clone(),
        polls: Vec::new(),
        unlisted: 0,
    };
    let started = Instant::now();

    // Warm up: the consumer joins and commits; pipetop learns its rhythm. Three OK in a row.
    let mut ok_in_a_row = 0;
    for _ in 0..40 {
        let (status, _) = watch.refresh().await;
        assert!(
            matches!(status, Status::Ok | Status::Unknown | Status::NoCommit),
            "{:?}",
            watch.polls
        );
        ok_in_a_row = if status == Status::Ok {
            ok_in_a_row + 1
        } else {
            0
        };
        if ok_in_a_row == 3 {
            break;
        }
    }
    assert_eq!(ok_in_a_row, 3, "never settled to OK: {:?}", watch.polls);

    mode.store(PAUSE, Ordering::SeqCst);
    let after = watch.until(Status::Stop, &[Status::Ok], 12).await;
    assert!(
        after.is_some_and(|n| n <= 2),
        "STOP {after:?} refreshes after the commit stopped moving; {:?}",
        watch.polls
    );

    mode.store(RUN, Ordering::SeqCst);
    watch.flowing(Status::Stop).await;

    mode.store(RECOMMIT, Ordering::SeqCst);
    let after = watch.until(Status::Stall, &[Status::Ok], 12).await;
    assert!(
        after.is_some_and(|n| n <= 2),
        "STALL {after:?} refreshes after the commit stopped moving; {:?}",
        watch.polls
    );

    mode.store(RUN, Ordering::SeqCst);
    watch.flowing(Status::Stall).await;

    mode.store(REWIND, Ordering::SeqCst);
    watch.until(Status::Rewind, &[Status::Ok], 4).await;
    mode.store(RUN, Ordering::SeqCst);
    watch.flowing(Status::Rewind).await;

    stop.store(true, Ordering::SeqCst);
    cons.join().unwrap();
    prod.join().unwrap();
    eprintln!(
        "status transitions in {:?}: {:?}",
        started.elapsed(),
        watch.polls
    );
    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}
