//! The Kafka half's history for charts, sparklines and projections: per consumer group (and per
//! group-topic, for groups reading several topics) the lag, time lag, produce and consume rate
//! and status at each poll, and the broker count, on one time axis of poll times.
//!
//! Recorded by `KafkaTracker::update` from the groups it has just derived, once per poll; each
//! model gets views that share the stored points (see `model::series`). A group's series go when
//! the group leaves the model, so memory follows the groups watched, never the uptime.

use std::collections::HashMap;
use std::sync::Arc;

use super::lag::{GroupLag, Rollup};
use crate::model::projection::series_time_to_reach;
use crate::model::series::{
    CodeRecorder, Codes, TimeRecorder, Times, ValueRecorder, Values, point,
};

/// One group's (or group-topic's) figures over time.
#[derive(Debug, Clone, Default)]
pub struct LagSeries {
    pub lag: Values,
    pub time_lag_s: Values,
    pub produce_rate: Values,
    pub consume_rate: Values,
    /// `Status::urgency()` codes (see `Status::from_urgency`).
    pub status: Codes,
}

#[derive(Debug, Clone, Default)]
pub struct GroupSeries {
    pub group: LagSeries,
    /// Seconds to drain the backlog at the current rates (`catch_up_s`), only while the lag's
    /// history shows it draining (`model::projection`); None otherwise, and when caught up.
    pub drain_s: Option<f64>,
    /// Per topic, only for groups that read more than one (otherwise the group's own series).
    pub topics: Vec<(Arc<str>, LagSeries)>,
}

/// The history as of one model: what charts and sparklines read.
#[derive(Debug, Clone, Default)]
pub struct KafkaSeries {
    /// Poll times (Unix ms), the axis every series below is aligned to by poll number.
    pub times: Times,
    pub brokers: Values,
    pub groups: HashMap<Arc<str>, GroupSeries>,
}

impl KafkaSeries {
    pub fn group(&self, group_id: &str) -> Option<&GroupSeries> {
        self.groups.get(group_id)
    }
}

#[derive(Debug, Clone)]
struct LagRecorders {
    lag: ValueRecorder,
    time_lag_s: ValueRecorder,
    produce_rate: ValueRecorder,
    consume_rate: ValueRecorder,
    status: CodeRecorder,
}

/// The figures of a group or of one of its topics, as recorded.
struct Figures {
    lag: f32,
    time_lag_s: f32,
    produce_rate: f32,
    consume_rate: f32,
    status: u8,
}

impl Figures {
    fn of_group(g: &GroupLag) -> Figures {
        Figures {
            lag: g.total_lag as f32,
            time_lag_s: point(g.time_lag_s),
            produce_rate: point(g.produce_rate),
            consume_rate: point(g.consume_rate),
            status: g.status.urgency(),
        }
    }

    fn of_topic(r: &Rollup) -> Figures {
        Figures {
            lag: r.total_lag as f32,
            time_lag_s: point(r.time_lag_s),
            produce_rate: point(r.produce_rate),
            consume_rate: point(r.consume_rate),
            status: r.status.urgency(),
        }
    }
}

impl LagRecorders {
    fn new(capacity: usize, first: u64) -> LagRecorders {
        LagRecorders {
            lag: ValueRecorder::new(capacity, first),
            time_lag_s: ValueRecorder::new(capacity, first),
            produce_rate: ValueRecorder::new(capacity, first),
            consume_rate: ValueRecorder::new(capacity, first),
            status: CodeRecorder::new(capacity, first),
        }
    }

    fn push(&mut self, f: Figures) {
        self.lag.push(f.lag);
        self.time_lag_s.push(f.time_lag_s);
        self.produce_rate.push(f.produce_rate);
        self.consume_rate.push(f.consume_rate);
        self.status.push(f.status);
    }

    fn view(&self) -> LagSeries {
        LagSeries {
            lag: self.lag.view(),
            time_lag_s: self.time_lag_s.view(),
            produce_rate: self.produce_rate.view(),
            consume_rate: self.consume_rate.view(),
            status: self.status.view(),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.lag.heap_bytes()
            + self.time_lag_s.heap_bytes()
            + self.produce_rate.heap_bytes()
            + self.consume_rate.heap_bytes()
            + self.status.heap_bytes()
    }
}

#[derive(Debug, Clone)]
struct GroupRecorders {
    group: LagRecorders,
    topics: Vec<(Arc<str>, LagRecorders)>,
}

/// The recording end, kept by the Kafka tracker.
#[derive(Debug, Clone)]
pub struct KafkaHistory {
    capacity: usize,
    times: TimeRecorder,
    brokers: ValueRecorder,
    groups: HashMap<Arc<str>, GroupRecorders>,
}

impl Default for KafkaHistory {
    fn default() -> KafkaHistory {
        KafkaHistory::new(crate::model::series::DEFAULT_HISTORY_POINTS)
    }
}

impl KafkaHistory {
    /// Keeps the last `capacity` polls.
    pub fn new(capacity: usize) -> KafkaHistory {
        KafkaHistory {
            capacity,
            times: TimeRecorder::new(capacity, 0),
            brokers: ValueRecorder::new(capacity, 0),
            groups: HashMap::new(),
        }
    }

    /// Appends one poll of the derived groups; returns the views for the model.
    pub fn record(&mut self, at_ms: i64, groups: &[GroupLag], brokers: usize) -> KafkaSeries {
        let index = self.times.next_index();
        self.times.push(at_ms);
        self.brokers.push(brokers as f32);
        let mut old = std::mem::take(&mut self.groups);
        let capacity = self.capacity;
        let mut views = HashMap::with_capacity(groups.len());
        let times = self.times.view();
        for g in groups {
            let (key, mut recorders) = match old.remove_entry(g.group_id.as_str()) {
                Some(entry) => entry,
                None => (
                    Arc::from(g.group_id.as_str()),
                    GroupRecorders {
                        group: LagRecorders::new(capacity, index),
                        topics: Vec::new(),
                    },
                ),
            };
            recorders.group.push(Figures::of_group(g));
            if g.topic_lags.len() > 1 {
                let mut topics = std::mem::take(&mut recorders.topics);
                recorders.topics = g
                    .topic_lags
                    .iter()
                    .map(|t| {
                        let found = topics.iter().position(|(name, _)| **name == *t.topic);
                        let (name, mut r) = match found {
                            Some(i) => topics.swap_remove(i),
                            None => (
                                Arc::from(t.topic.as_str()),
                                LagRecorders::new(capacity, index),
                            ),
                        };
                        r.push(Figures::of_topic(&t.lag));
                        (name, r)
                    })
                    .collect();
            } else {
                recorders.topics.clear();
            }
            let group = recorders.group.view();
            // The fit runs only for a group the rates say is catching up.
            let draining = g.total_lag > 0
                && g.catch_up_s.is_some()
                && series_time_to_reach(&times, &group.lag, 0.0).is_some();
            views.insert(
                Arc::clone(&key),
                GroupSeries {
                    drain_s: g.catch_up_s.filter(|_| draining),
                    group,
                    topics: recorders
                        .topics
                        .iter()
                        .map(|(name, r)| (Arc::clone(name), r.view()))
                        .collect(),
                },
            );
            self.groups.insert(key, recorders);
        }
        KafkaSeries {
            times,
            brokers: self.brokers.view(),
            groups: views,
        }
    }

    /// Heap bytes held by the recorded series (approximate: keys and map slots included).
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Arc<str>, GroupRecorders)>() + 8;
        self.times.heap_bytes()
            + self.brokers.heap_bytes()
            + self
                .groups
                .iter()
                .map(|(k, g)| {
                    slot + k.len()
                        + 16
                        + g.group.heap_bytes()
                        + g.topics
                            .iter()
                            .map(|(t, r)| t.len() + 16 + r.heap_bytes())
                            .sum::<usize>()
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::super::KafkaTracker;
    use crate::kafka::snapshot::{Committed, Group, KafkaSnapshot, Partition, Topic};
    use crate::kafka::types::GroupState;
    use crate::model::series::CHUNK;

    /// Poll `n` (every 2 s): topics "a" and "b" grow by 10 a poll; each group commits 5 a poll
    /// on the topics given.
    fn snapshot(n: i64, groups: &[(&str, &[&str])]) -> KafkaSnapshot {
        let topic = |name: &str| Topic {
            name: name.into(),
            internal: false,
            error: None,
            partitions: vec![Partition {
                partition: 0,
                leader: Some(1),
                replicas: vec![1].into(),
                isr: vec![1].into(),
                start_offset: Some(0),
                start_read_ms: None,
                end_offset: Some(1_000 + 10 * n),
                error: None,
            }],
        };
        KafkaSnapshot {
            taken_at_ms: 1_000_000_000 + 2_000 * n,
            topics: vec![topic("a"), topic("b")],
            groups: groups
                .iter()
                .map(|(id, topics)| Group {
                    group_id: (*id).into(),
                    state: GroupState::Empty,
                    partition_assignor: String::new(),
                    coordinator: Some(1),
                    members: Vec::new(),
                    committed: topics
                        .iter()
                        .map(|t| Committed {
                            topic: (*t).into(),
                            partition: 0,
                            offset: 500 + 5 * n,
                            produced_ms: crate::compact::OptI64::NONE,
                        })
                        .collect(),
                    error: None,
                })
                .collect(),
            ..KafkaSnapshot::default()
        }
    }

    #[test]
    fn each_poll_appends_one_point_per_group_on_one_time_axis() {
        let mut tracker = KafkaTracker::with_history(1_000);
        let mut model = None;
        for n in 0..10 {
            model = tracker.update(&snapshot(n, &[("g", &["a"]), ("h", &["a", "b"])]));
        }
        let series = model.unwrap().series;
        assert_eq!(series.times.len(), 10);
        assert_eq!(series.times.last(), Some(1_000_000_000 + 18_000));
        let g = series.group("g").unwrap();
        // Lag grows by 5 a poll: 500 + 5n.
        let lags: Vec<f32> = g.group.lag.iter().collect();
        assert_eq!(lags.first(), Some(&500.0));
        assert_eq!(lags.last(), Some(&545.0));
        assert!(g.topics.is_empty(), "one topic: the group's own series");
        let h = series.group("h").unwrap();
        let topics: Vec<&str> = h.topics.iter().map(|(t, _)| &**t).collect();
        assert_eq!(topics, ["a", "b"]);
        assert_eq!(h.group.lag.last(), Some(1_090.0));
        assert_eq!(h.topics[0].1.lag.last(), Some(545.0));
    }

    #[test]
    fn a_group_that_leaves_takes_its_series_and_a_new_one_starts_at_its_first_poll() {
        let mut tracker = KafkaTracker::with_history(1_000);
        for n in 0..5 {
            tracker.update(&snapshot(n, &[("g", &["a"])]));
        }
        let with_g = tracker.series_bytes();
        let model = tracker.update(&snapshot(5, &[("k", &["a"])])).unwrap();
        assert!(model.series.group("g").is_none());
        assert!(tracker.series_bytes() <= with_g);
        let new = &model.series.group("k").unwrap().group.lag;
        assert_eq!((new.first_index(), new.len()), (5, 1));
        assert_eq!(model.series.times.at(5), Some(1_000_000_000 + 10_000));
    }

    #[test]
    fn bounded_memory_that_does_not_grow_with_uptime() {
        let capacity = 100;
        let mut tracker = KafkaTracker::with_history(capacity);
        let groups: &[(&str, &[&str])] = &[("g", &["a"]), ("h", &["a", "b"])];
        for n in 0..(2 * capacity as i64) {
            tracker.update(&snapshot(n, groups));
        }
        let steady = tracker.series_bytes();
        let mut model = None;
        for n in (2 * capacity as i64)..5_000 {
            model = tracker.update(&snapshot(n, groups));
            assert!(tracker.series_bytes() <= steady, "grew at poll {n}");
        }
        let series = model.unwrap().series;
        let lag = &series.group("h").unwrap().topics[1].1.lag;
        assert!(lag.len() >= capacity && lag.len() < capacity + 2 * CHUNK);
        assert!(series.times.len() >= capacity && series.times.len() < capacity + 2 * CHUNK);
    }

    #[test]
    fn consecutive_models_share_the_points_they_have_in_common() {
        let mut tracker = KafkaTracker::with_history(1_000);
        for n in 0..70 {
            tracker.update(&snapshot(n, &[("g", &["a"])]));
        }
        let before = tracker.update(&snapshot(70, &[("g", &["a"])])).unwrap();
        let after = tracker.update(&snapshot(71, &[("g", &["a"])])).unwrap();
        let (b, a) = (
            &before.series.group("g").unwrap().group.lag,
            &after.series.group("g").unwrap().group.lag,
        );
        assert!(b.shares_storage_with(a), "an update copied the history");
        assert_eq!((b.len(), a.len()), (71, 72));
        assert_eq!(b.last(), Some(850.0));
    }
}
