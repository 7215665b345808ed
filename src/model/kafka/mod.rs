//! The Kafka half of the model: consumer groups with lag, time lag, rates and status, and the
//! topics view. Offset lag comes from each snapshot alone (`lag.rs`); everything that needs to
//! know how things moved (time lag, rates, status) comes from bounded history kept here across
//! snapshots: one `EndHistory` per partition (at most 32 points, 33 of room) and one
//! `PartitionTrack` per group-partition (88 bytes), both dropped as soon as their partition or
//! group disappears.

pub mod group_series;
pub mod history;
pub mod index;
pub mod lag;
pub mod partition_lag;
pub mod retention;
pub mod rollup;
pub mod rows;
pub mod status;
pub mod topics;

// foldhash rather than SipHash: these maps are keyed by topic and group names pipetop read itself,
// looked up thousands of times a poll.
use foldhash::{HashMap, HashMapExt};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use serde::Serialize;

use self::group_series::{KafkaHistory, KafkaSeries};
use self::history::{EndHistory, TimeLag, TimeLagKind};
use self::index::PartitionIndex;
use self::lag::{GroupLag, LookedUp, group_lag, group_lag_looked_up, partition_index};
use self::partition_lag::PartitionLag;
use self::rollup::fill_group;
use self::status::{PartitionTrack, StatusInput, lag_rising, partition_status};
use self::topics::{TopicView, topic_views};
use crate::kafka::group_log::group_log_partition;
use crate::kafka::snapshot::{BrokerHealth, Committed, Group, KafkaSnapshot};
use crate::kafka::types::GroupState;

/// Rates of partitions without a commit (no checkpoints to align with) use this window.
const DEFAULT_RATE_WINDOW_MS: i64 = 20_000;

/// The Kafka half of the model as of one snapshot: plain data, never changed once built.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KafkaModel {
    /// Consumer groups, worst first: status, then time lag, then total lag.
    pub groups: Vec<GroupLag>,
    /// Watched topics, problems (leaderless, under-replicated) first, then busiest.
    pub topics: Vec<TopicView>,
    /// Brokers in the cluster metadata.
    pub brokers_in_metadata: usize,
    /// Every broker the cluster refers to (metadata, replica lists) and whether it answered.
    pub brokers: Vec<BrokerHealth>,
    /// The groups' figures and the brokers answering, poll by poll (charts, sparklines).
    #[serde(skip)]
    pub series: KafkaSeries,
    /// Each topic's retention settings, as last read (see `kafka::topic_configs`).
    pub topic_configs: std::sync::Arc<crate::kafka::topic_configs::TopicConfigs>,
}

impl KafkaModel {
    pub fn group(&self, group_id: &str) -> Option<&GroupLag> {
        self.groups.iter().find(|g| g.group_id == group_id)
    }

    /// The brokers the cluster refers to that are down (see `BrokerHealth::is_down`).
    pub fn brokers_down(&self) -> Vec<i32> {
        self.brokers
            .iter()
            .filter(|b| b.is_down())
            .map(|b| b.id)
            .collect()
    }

    /// Every broker the cluster refers to, up or down.
    pub fn brokers_known(&self) -> usize {
        self.brokers.len().max(self.brokers_in_metadata)
    }
}

/// Keeps the bounded history that time lag, rates and status need, and derives a fresh
/// [`KafkaModel`] from each snapshot.
#[derive(Debug, Clone, Default)]
pub struct KafkaTracker {
    state: History,
    series: KafkaHistory,
}

#[derive(Debug, Clone, Default)]
struct History {
    last_poll_ms: Option<i64>,
    /// Per topic, indexed by partition id.
    ends: HashMap<Arc<str>, Vec<EndHistory>>,
    groups: HashMap<String, GroupTrack>,
    group_log_ends: Vec<Option<i64>>,
}

#[derive(Debug, Clone, Default)]
struct GroupTrack {
    /// Per topic, indexed by partition id.
    partitions: HashMap<Arc<str>, Vec<Option<PartitionTrack>>>,
    /// Members and state last poll: a change means a rebalance, which writes to the group log.
    members_sig: u64,
    /// Last poll at which the group log advanced with only this group able to have written it,
    /// while none of its committed offsets changed: a re-commit of unchanged offsets.
    recommit_ms: Option<i64>,
    /// The last poll that read the group's data.
    read_ms: i64,
}

impl GroupTrack {
    fn get(&self, topic: &str, partition: i32) -> Option<&PartitionTrack> {
        self.partitions
            .get(topic)?
            .get(usize::try_from(partition).ok()?)?
            .as_ref()
    }
}

/// What a poll says of a group beyond its rows, for `History::fill`.
struct GroupNews<'a> {
    /// The poll time if the group log shows a re-commit by the group, or the last such time.
    recommit_ms: Option<i64>,
    /// Produce times the collector looked up for some of the rows (see `lag::LookedUp`).
    looked_up: &'a [(usize, i64)],
}

/// One topic's run of rows in `History::fill`: what it needs of the topic, looked up once.
struct TopicRun<'h> {
    topic: Arc<str>,
    ends: Option<&'h Vec<EndHistory>>,
    /// The group's tracks on the topic last poll (taken as their rows are filled).
    old: Option<Vec<Option<PartitionTrack>>>,
    /// The new track's slots for the topic, once a row has a track.
    new: Option<(Arc<str>, Vec<Option<PartitionTrack>>)>,
}

impl TopicRun<'_> {
    /// Files the new slots in the new track, and hands back what is left of the old ones (the
    /// topic's rows are one run in practice; if they were not, a later run finds them there).
    fn finish(self, track: &mut GroupTrack, old: &mut GroupTrack) {
        if let Some((key, slots)) = self.new {
            track.partitions.insert(key, slots);
        }
        if let Some(slots) = self.old {
            old.partitions.insert(self.topic, slots);
        }
    }
}

impl KafkaTracker {
    /// A tracker whose charted series keep the last `points` polls.
    pub fn with_history(points: usize) -> KafkaTracker {
        KafkaTracker {
            state: History::default(),
            series: KafkaHistory::new(points),
        }
    }

    /// The model of this snapshot, or None when it is not newer than the last one seen.
    pub fn update(&mut self, snapshot: &KafkaSnapshot) -> Option<KafkaModel> {
        let now = snapshot.taken_at_ms;
        let poll_interval = match self.state.last_poll_ms {
            Some(last) if now <= last => return None,
            Some(last) => now - last,
            None => 0,
        };
        self.state.last_poll_ms = Some(now);
        self.state.observe_ends(snapshot);

        let index = partition_index(snapshot);
        let (mut groups, lookups): (Vec<GroupLag>, Vec<LookedUp>) = snapshot
            .groups
            .iter()
            .map(|g| group_lag_looked_up(g, &index))
            .unzip();
        let recommits = self.state.attribute_group_log(snapshot, &groups);
        let mut tracks = HashMap::with_capacity(groups.len());
        let partitions = &index;
        for (((lag, group), recommit), lookups) in groups
            .iter_mut()
            .zip(&snapshot.groups)
            .zip(recommits)
            .zip(lookups)
        {
            let old = self.state.groups.remove(&lag.group_id).unwrap_or_default();
            // Nothing read this poll (an error, no members, no commits: e.g. a group ListGroups
            // left out, see `kafka::collector::unlisted_groups`, or whose coordinator is down):
            // its history waits for its data, and its last commits are shown, marked stale.
            let unread =
                group.error.is_some() && group.members.is_empty() && group.committed.is_empty();
            let track = if unread {
                if old.read_ms > 0 {
                    *lag = self.state.stale(group, &old, partitions, now);
                }
                old
            } else {
                self.state.fill(
                    lag,
                    group,
                    old,
                    GroupNews {
                        recommit_ms: recommit,
                        looked_up: &lookups,
                    },
                    now,
                    poll_interval,
                )
            };
            fill_group(lag);
            let rows = lag.partitions.iter().map(|p| retention::Row {
                topic: p.topic,
                partition: p.partition,
                committed: p.committed(),
                lag: p.lag(),
                time_lag_s: p.time_lag_s(),
                below_log_start: p.flag() == partition_lag::OffsetFlag::BelowLogStart,
            });
            lag.retention =
                retention::of_group(rows, &snapshot.topic_configs, |topic, partition| {
                    partitions.get(topic, partition)?.start_offset
                });
            if lag.stale_s.is_some() {
                // Nothing is judged on data this old: no status, no trend.
                lag.status = status::Status::Unknown;
            }
            tracks.insert(lag.group_id.clone(), track);
        }
        self.state.groups = tracks;
        groups.sort_by(|a, b| {
            b.status
                .urgency()
                .cmp(&a.status.urgency())
                .then_with(|| {
                    b.time_lag_s
                        .unwrap_or(-1.0)
                        .total_cmp(&a.time_lag_s.unwrap_or(-1.0))
                })
                .then_with(|| b.total_lag.cmp(&a.total_lag))
                .then_with(|| a.group_id.cmp(&b.group_id))
        });
        let ends = &self.state.ends;
        let topics = topic_views(snapshot, |t, p| ends.get(t)?.get(usize::try_from(p).ok()?));
        let mut model = KafkaModel {
            groups,
            topics,
            brokers_in_metadata: snapshot.brokers.len(),
            brokers: snapshot.broker_health.clone(),
            series: KafkaSeries::default(),
            topic_configs: std::sync::Arc::clone(&snapshot.topic_configs),
        };
        let answering = model
            .brokers_known()
            .saturating_sub(model.brokers_down().len());
        model.series = self.series.record(now, &model.groups, answering);
        Some(model)
    }

    /// Heap bytes held by the charted series (see `group_series`).
    pub fn series_bytes(&self) -> usize {
        self.series.heap_bytes()
    }

    /// Group-partitions and partitions whose history the model holds.
    pub fn tracked(&self) -> (usize, usize) {
        let gp = self
            .state
            .groups
            .values()
            .flat_map(|g| g.partitions.values())
            .map(|v| v.iter().flatten().count())
            .sum();
        let p = self.state.ends.values().map(Vec::len).sum();
        (gp, p)
    }

    /// Heap bytes held by the history (approximate: containers at their capacity).
    pub fn history_bytes(&self) -> usize {
        let ends: usize = self
            .state
            .ends
            .iter()
            .map(|(k, v)| {
                k.len()
                    + 32
                    + v.capacity() * std::mem::size_of::<EndHistory>()
                    + v.iter().map(EndHistory::heap_bytes).sum::<usize>()
            })
            .sum();
        let groups: usize = self
            .state
            .groups
            .iter()
            .map(|(id, g)| {
                id.len()
                    + std::mem::size_of::<GroupTrack>()
                    + 32
                    + g.partitions
                        .values()
                        .map(|v| 32 + v.capacity() * std::mem::size_of::<Option<PartitionTrack>>())
                        .sum::<usize>()
            })
            .sum();
        ends + groups
    }
}

impl History {
    fn observe_ends(&mut self, snapshot: &KafkaSnapshot) {
        let now = snapshot.taken_at_ms;
        let mut old = std::mem::take(&mut self.ends);
        for t in &snapshot.topics {
            let (key, mut per_partition) = match old.remove_entry(t.name.as_str()) {
                Some(entry) => entry,
                None => (Arc::from(t.name.as_str()), Vec::new()),
            };
            let count = t
                .partitions
                .iter()
                .filter_map(|p| usize::try_from(p.partition).ok())
                .max()
                .map_or(0, |m| m + 1);
            per_partition.resize_with(count, EndHistory::default);
            for p in &t.partitions {
                if let (Some(end), Ok(i)) = (p.end_offset, usize::try_from(p.partition)) {
                    per_partition[i].observe(end, now);
                }
            }
            self.ends.insert(key, per_partition);
        }
    }

    /// For each group (in order): the poll time if the group log shows a re-commit by it.
    fn attribute_group_log(
        &mut self,
        snapshot: &KafkaSnapshot,
        lags: &[GroupLag],
    ) -> Vec<Option<i64>> {
        let now = snapshot.taken_at_ms;
        let n = snapshot.group_log.len();
        let ends: Vec<Option<i64>> = snapshot.group_log.iter().map(|p| p.end_offset).collect();
        let advanced: Vec<bool> = ends
            .iter()
            .enumerate()
            .map(
                |(i, end)| match (self.group_log_ends.get(i).copied().flatten(), end) {
                    (Some(before), Some(after)) => *after > before,
                    _ => false,
                },
            )
            .collect();
        self.group_log_ends = ends;

        // Who may have written to each log partition since the last poll.
        let mut writers: Vec<u32> = snapshot
            .group_log
            .iter()
            .map(|p| p.unwatched_active_groups)
            .collect();
        let per_group: Vec<(Option<usize>, bool)> = lags
            .iter()
            .zip(&snapshot.groups)
            .map(|(lag, group)| {
                let slot =
                    group_log_partition(&group.group_id, n).and_then(|p| usize::try_from(p).ok());
                let may_write = !group.members.is_empty() || self.moved(lag, group);
                if let Some(w) = slot.and_then(|s| writers.get_mut(s))
                    && may_write
                {
                    *w += 1;
                }
                (slot, may_write)
            })
            .collect();
        lags.iter()
            .zip(&snapshot.groups)
            .zip(per_group)
            .map(|((lag, group), (slot, may_write))| {
                let slot = slot?;
                let others = writers.get(slot)? - u32::from(may_write);
                let recommit = *advanced.get(slot)? && others == 0 && !self.moved(lag, group);
                if recommit {
                    Some(now)
                } else {
                    self.groups.get(&group.group_id).and_then(|g| g.recommit_ms)
                }
            })
            .collect()
    }

    /// Whether the group's commits or membership changed since the last poll (or it is new).
    fn moved(&self, lag: &GroupLag, group: &Group) -> bool {
        let Some(track) = self.groups.get(&group.group_id) else {
            return true;
        };
        track.members_sig != members_sig(group)
            || lag.partitions.iter().any(|p| {
                p.committed().is_some_and(|c| {
                    track
                        .get(p.topic, p.partition)
                        .is_none_or(|t| t.committed != c)
                })
            })
    }

    /// Fills a group's rows with time lag, rates and status; returns its updated track.
    fn fill(
        &self,
        lag: &mut GroupLag,
        group: &Group,
        mut old: GroupTrack,
        news: GroupNews,
        now: i64,
        poll_interval: i64,
    ) -> GroupTrack {
        let GroupNews {
            recommit_ms,
            looked_up: produce_times,
        } = news;
        let mut track = GroupTrack {
            partitions: HashMap::new(),
            members_sig: members_sig(group),
            recommit_ms,
            read_ms: now,
        };
        // Only Empty and Stable groups have settled assignments; mid-rebalance nobody owns
        // anything for a moment and that is not a stop.
        let settled = matches!(
            group.state,
            GroupState::Empty | GroupState::Stable | GroupState::Dead
        );
        // Rows come in topic order: the topic's end histories, its slots in the old track and
        // its slots in the new one are looked up once per run of its rows, not once per row.
        let mut run: Option<TopicRun> = None;
        let mut lookups = produce_times.iter().peekable();
        for (i, (topic, row)) in lag.partitions.iter_mut().enumerate() {
            let produced_ms = lookups.next_if(|&&(at, _)| at == i).map(|&(_, ms)| ms);
            if run
                .as_ref()
                .is_none_or(|r| !crate::topic_runs::same_topic(&r.topic, topic))
            {
                if let Some(done) = run.take() {
                    done.finish(&mut track, &mut old);
                }
                run = Some(TopicRun {
                    topic: Arc::clone(topic),
                    ends: self.ends.get(&**topic),
                    old: old.partitions.remove(&**topic),
                    new: None,
                });
            }
            let Some(run) = run.as_mut() else {
                continue;
            };
            let Ok(index) = usize::try_from(row.partition) else {
                continue;
            };
            let history = run.ends.and_then(|v| v.get(index));
            let (committed, lag_now) = (row.committed(), row.lag());
            let time_lag = match (committed, lag_now, produced_ms) {
                (Some(_), Some(0), _) => TimeLag {
                    seconds: Some(0.0),
                    kind: TimeLagKind::Exact,
                    since_ms: None,
                },
                (Some(_), Some(_), Some(produced)) => looked_up(produced, now),
                (Some(c), Some(_), None) => {
                    history.map_or(TimeLag::UNKNOWN, |h| h.time_lag(c, now))
                }
                _ => TimeLag::UNKNOWN,
            };
            row.set_time_lag(time_lag.seconds, time_lag.kind);

            let previous = run
                .old
                .as_mut()
                .and_then(|v| v.get_mut(index))
                .and_then(Option::take);
            let current = committed.map(|c| {
                let waiting = match lag_now {
                    Some(0) => None,
                    // Work waiting since an unknown time: judge by the commit alone.
                    _ => Some(time_lag.since_ms.unwrap_or(i64::MIN)),
                };
                let mut t = previous.unwrap_or_else(|| PartitionTrack::new(c, now));
                t.observe(c, waiting, now, poll_interval);
                t
            });
            fill_rates(row, current.as_ref(), history, now);
            let rising = match (&current, history, row.end()) {
                (Some(t), Some(h), Some(end)) => {
                    let mut lags = [0i64; status::CHECKPOINTS + 1];
                    let mut n = 0;
                    let points = t.checkpoints();
                    for &(at, c) in points.iter() {
                        match h.end_at(at) {
                            Some(e) if at < now => {
                                lags[n] = e - c;
                                n += 1;
                            }
                            _ => {}
                        }
                    }
                    lags[n] = end - t.committed;
                    n += 1;
                    let moved = points.first().is_some_and(|&(_, c)| t.committed > c);
                    lag_rising(&lags[..n], moved)
                }
                _ => false,
            };
            row.set_status(partition_status(
                current.as_ref(),
                StatusInput {
                    lag: lag_now,
                    never_committed: committed.is_none(),
                    unconsumed: settled && row.owner_index().is_none(),
                    now_ms: now,
                    poll_interval_ms: poll_interval,
                    recommit_ms,
                    rising,
                },
            ));
            row.set_idle_s(
                current
                    .as_ref()
                    .filter(|_| lag_now.is_some())
                    .map(|t| t.idle_ms(now) as f64 / 1000.0),
            );
            if let Some(t) = current {
                let slots = run.new.get_or_insert_with(|| {
                    match track.partitions.remove_entry(&*run.topic) {
                        Some(entry) => entry,
                        // Room for the topic's partitions, not grown by doubling: a million
                        // slots at scale, a quarter of them empty room otherwise.
                        None => (
                            self.topic_key(&run.topic),
                            Vec::with_capacity(run.ends.map_or(0, Vec::len)),
                        ),
                    }
                });
                if slots.1.len() <= index {
                    slots.1.resize_with(index + 1, || None);
                }
                slots.1[index] = Some(t);
            }
        }
        if let Some(done) = run {
            done.finish(&mut track, &mut old);
        }
        track
    }

    /// The rows of a group not read this poll, from the commits of the last poll that read it
    /// (kept in its track) against this poll's log ends: lag and time lag, marked stale with
    /// their age. The track itself is left as it was.
    fn stale(
        &self,
        group: &Group,
        track: &GroupTrack,
        partitions: &PartitionIndex,
        now: i64,
    ) -> GroupLag {
        let mut committed: Vec<Committed> = track
            .partitions
            .iter()
            .flat_map(|(topic, slots)| {
                slots.iter().enumerate().filter_map(move |(i, slot)| {
                    Some(Committed {
                        topic: Arc::clone(topic),
                        partition: i32::try_from(i).ok()?,
                        offset: slot.as_ref()?.committed,
                        produced_ms: crate::compact::OptI64::NONE,
                    })
                })
            })
            .collect();
        committed.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let mut last = group.clone();
        last.committed = committed.into();
        let mut lag = group_lag(&last, partitions);
        // Time lag from the end history; rates and status need fresh commits, so the track's
        // copy is filled and thrown away.
        let news = GroupNews {
            recommit_ms: None,
            looked_up: &[],
        };
        self.fill(&mut lag, &last, track.clone(), news, now, 0);
        for row in lag.partitions.plain_mut() {
            row.set_status(status::Status::Unknown);
            row.set_consume_rate(None);
            row.set_idle_s(None);
        }
        lag.stale_s = Some((now - track.read_ms).max(0) as f64 / 1000.0);
        lag
    }

    /// Shares the topic name with the end history, so 1,000 groups on a topic hold one copy.
    fn topic_key(&self, topic: &str) -> Arc<str> {
        self.ends
            .get_key_value(topic)
            .map_or_else(|| Arc::from(topic), |(k, _)| Arc::clone(k))
    }
}

/// The time lag of a message the brokers dated (a producer clock ahead of ours counts as 0 s).
fn looked_up(produced_ms: i64, now: i64) -> TimeLag {
    let since = produced_ms.min(now);
    TimeLag {
        seconds: Some((now - since) as f64 / 1000.0),
        kind: TimeLagKind::LookedUp,
        since_ms: Some(since),
    }
}

/// Produce and consume rates over the same window: since the track's oldest checkpoint.
fn fill_rates(
    row: &mut PartitionLag,
    track: Option<&PartitionTrack>,
    history: Option<&EndHistory>,
    now: i64,
) {
    let from = track
        .and_then(|t| t.checkpoints().first().map(|&(at, _)| at))
        .unwrap_or(now - DEFAULT_RATE_WINDOW_MS);
    row.set_rates(
        history.and_then(|h| h.produce_rate(from, now)),
        track.and_then(|t| t.consume_rate(now)),
    );
}

/// A fingerprint of the group's state, members and assignments (compared poll to poll only, in
/// this process). A fast hasher, and each run of assignments on one topic hashes the topic's name
/// once: 1,000,000 assignments at the simulated scale.
fn members_sig(group: &Group) -> u64 {
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    group.state.as_str().hash(&mut h);
    for m in &group.members {
        m.consumer_id.hash(&mut h);
        let mut topic: Option<&Arc<str>> = None;
        for tp in &m.assignment {
            if topic.is_none_or(|t| !crate::topic_runs::same_topic(t, &tp.topic)) {
                h.write_u8(0xfe);
                tp.topic.hash(&mut h);
                topic = Some(&tp.topic);
            }
            tp.partition.hash(&mut h);
        }
        h.write_u8(0xfd);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::{Member, Partition, Topic};
    use crate::model::kafka::status::Status;

    fn snapshot(at_ms: i64, end: i64, committed: i64, produced_ms: Option<i64>) -> KafkaSnapshot {
        KafkaSnapshot {
            taken_at_ms: at_ms,
            topics: vec![Topic {
                name: "t".into(),
                internal: false,
                error: None,
                partitions: vec![Partition {
                    partition: 0,
                    leader: Some(1),
                    replicas: vec![1].into(),
                    isr: vec![1].into(),
                    start_offset: Some(0),
                    start_read_ms: None,
                    end_offset: Some(end),
                    error: None,
                }],
            }],
            groups: vec![Group {
                group_id: "g".into(),
                state: GroupState::Empty,
                partition_assignor: String::new(),
                coordinator: Some(1),
                members: Vec::<Member>::new(),
                committed: vec![Committed {
                    topic: "t".into(),
                    partition: 0,
                    offset: committed,
                    produced_ms: crate::compact::OptI64::new(produced_ms),
                }]
                .into(),
                error: None,
            }],
            ..KafkaSnapshot::default()
        }
    }

    #[test]
    fn a_consumer_stopped_before_pipetop_started_shows_its_real_time_lag_at_once() {
        let now = 10_000_000;
        // Without the brokers' answer the first poll knows nothing of the message's age.
        let model = KafkaTracker::default()
            .update(&snapshot(now, 5_000, 1_000, None))
            .unwrap();
        let g = &model.groups[0];
        assert_eq!(g.time_lag_kind, TimeLagKind::AtLeast);
        // With it: two hours, from the first poll on.
        let model = KafkaTracker::default()
            .update(&snapshot(now, 5_000, 1_000, Some(now - 7_200_000)))
            .unwrap();
        let g = &model.groups[0];
        assert_eq!(g.time_lag_kind, TimeLagKind::LookedUp);
        assert_eq!(g.time_lag_s, Some(7_200.0));
    }

    #[test]
    fn a_poll_without_a_groups_data_keeps_its_history() {
        let t0 = 10_000_000;
        let mut tracker = KafkaTracker::default();
        tracker.update(&snapshot(t0, 5_000, 1_000, None)).unwrap();
        // Left out of ListGroups: shown with why, no rows, and its history kept.
        let mut unread = snapshot(t0 + 10_000, 5_000, 1_000, None);
        unread.groups[0].committed.clear();
        unread.groups[0].error = Some("not in this poll's ListGroups answer".into());
        let model = tracker.update(&unread).unwrap();
        let g = &model.groups[0];
        assert_eq!(g.error, unread.groups[0].error);
        // Never an empty group with zero lag: the last commits read, against this poll's end,
        // marked stale with their age, and judged by nothing.
        assert_eq!(g.stale_s, Some(10.0));
        let rows: Vec<_> = g
            .partitions
            .iter()
            .map(|p| (p.committed(), p.end(), p.lag(), p.status()))
            .collect();
        assert_eq!(
            rows,
            [(Some(1_000), Some(5_000), Some(4_000), Status::Unknown)]
        );
        assert_eq!((g.total_lag, g.status), (4_000, Status::Unknown));
        let model = tracker
            .update(&snapshot(t0 + 20_000, 5_000, 1_000, None))
            .unwrap();
        // Idle since the first poll, not since the data came back.
        assert_eq!(model.groups[0].partitions.row(0).idle_s(), Some(20.0));
    }

    #[test]
    fn a_producer_clock_ahead_of_ours_is_no_negative_lag() {
        let now = 10_000_000;
        let model = KafkaTracker::default()
            .update(&snapshot(now, 5_000, 1_000, Some(now + 60_000)))
            .unwrap();
        assert_eq!(model.groups[0].time_lag_s, Some(0.0));
    }
}
