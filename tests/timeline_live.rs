//! The events timeline on the live broker: a sink's consumer stops (the pause an on-call engineer
//! wants to see on the timeline), an operator rewinds the group's offset, and the consumer comes
//! back. pipetop's real collector and session at a 500 ms refresh must record each as an event
//! about the group, dated by the poll that saw it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use pipetop::alerts::{Subject, SubjectKind};
use pipetop::kafka::collector::KafkaCollector;
use pipetop::kafka::filter::Pattern;
use pipetop::model::event::{Event, EventKind};
use pipetop::session::Session;
use pipetop::source::{Collector, SourceStatus};

const REFRESH: Duration = Duration::from_millis(500);

/// A sink's member: consumes `topic` and commits every message until `stop`, then leaves.
fn sink(group: String, topic: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let c: BaseConsumer = common::kafka_config()
            .set("group.id", &group)
            .set("client.id", "timeline-sink")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        c.subscribe(&[&topic]).unwrap();
        while !stop.load(Ordering::SeqCst) {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(&topic, m.partition(), Offset::Offset(m.offset() + 1))
                    .unwrap();
                common::commit_sync(&c, &tpl).unwrap();
            }
        }
        // Leaves the group (LeaveGroup) on drop.
    })
}

struct Watch {
    collector: KafkaCollector,
    status: SourceStatus<pipetop::kafka::snapshot::KafkaSnapshot>,
    session: Session,
    group: String,
}

impl Watch {
    async fn refresh(&mut self) {
        tokio::time::sleep(REFRESH).await;
        let result = self.collector.poll().await;
        self.status.record(result, SystemTime::now());
        self.session.ingest(Some(self.status.clone()), None);
    }

    fn events(&self) -> Vec<Event> {
        let subject = Subject::new(SubjectKind::Group, self.group.clone());
        self.session
            .model()
            .events
            .iter()
            .filter(|e| e.subject == subject)
            .cloned()
            .collect()
    }

    /// Refreshes until an event about the group of `kind` whose text contains `text` appears;
    /// returns it.
    async fn until(&mut self, kind: EventKind, text: &str, max: usize) -> Event {
        for _ in 0..max {
            if let Some(e) = self
                .events()
                .into_iter()
                .find(|e| e.kind == kind && e.text.contains(text))
            {
                return e;
            }
            self.refresh().await;
        }
        panic!(
            "no {kind:?} event with {text:?} after {max} refreshes; the group's events: {:#?}",
            self.events()
        );
    }

    fn members(&self) -> usize {
        self.session
            .model()
            .kafka
            .group(&self.group)
            .map_or(0, |g| g.members)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_sink_an_operator_rewind_and_the_resume_are_on_the_timeline() {
    common::needs!(Kafka);
    let topic = common::unique("timeline_t");
    let group = common::unique("timeline_g");
    common::create_topic(&topic, 1).await;
    common::produce(&topic, &[200]);

    let mut config = common::config();
    config.kafka.include_groups = vec![Pattern::new(&regex::escape(&group)).unwrap()];
    config.kafka.include_topics = vec![Pattern::new(&regex::escape(&topic)).unwrap()];
    let mut watch = Watch {
        collector: KafkaCollector::new(&config.kafka).unwrap(),
        status: SourceStatus::default(),
        session: Session::new(&config),
        group: group.clone(),
    };

    // The sink runs and has read everything: a member, its commits at the end.
    let stop = Arc::new(AtomicBool::new(false));
    let member = sink(group.clone(), topic.clone(), Arc::clone(&stop));
    for _ in 0..60 {
        watch.refresh().await;
        let g = watch.session.model().kafka.group(&group).cloned();
        if g.is_some_and(|g| g.members == 1 && g.total_lag == 0 && g.partitions_without_commit == 0)
        {
            break;
        }
    }
    assert_eq!(watch.members(), 1, "the sink never joined and caught up");

    // Paused: the sink's consumer stops and leaves the group.
    stop.store(true, Ordering::SeqCst);
    member.join().unwrap();
    let left = watch.until(EventKind::Members, "1 member left", 20).await;
    assert!(
        left.text.contains("timeline-sink@"),
        "names who left: {}",
        left.text
    );
    watch.until(EventKind::Group, "→ Empty", 20).await;

    // An operator rewinds the (now empty) group by 150 messages.
    common::commit(&group, &topic, &[(0, 50)]);
    let rewind = watch.until(EventKind::Rewind, "150 messages", 20).await;
    assert!(rewind.text.contains("200→50"), "{}", rewind.text);

    // Resumed: the member is back.
    let stop = Arc::new(AtomicBool::new(false));
    let member = sink(group.clone(), topic.clone(), Arc::clone(&stop));
    watch.until(EventKind::Members, "1 member joined", 40).await;

    // Newest first, each dated by its poll.
    let events = watch.events();
    assert!(events.windows(2).all(|w| w[0].at >= w[1].at), "{events:#?}");
    eprintln!(
        "timeline of {group}: {:#?}",
        events.iter().map(|e| &e.text).collect::<Vec<_>>()
    );

    stop.store(true, Ordering::SeqCst);
    member.join().unwrap();
    common::delete_groups(&[&group]).await;
    common::delete_topic(&topic).await;
}
