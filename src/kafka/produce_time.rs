//! When the oldest unconsumed message of a partition was produced, for committed offsets older
//! than anything pipetop has watched itself (pipetop just started, or a consumer stopped long ago).
//!
//! The model's own history can only place messages it saw arrive; before that it can give a lower
//! bound ("≥ 10s"), which at 3 a.m. hides a consumer that has been down for hours. This asks the
//! brokers instead, with admin requests only: ListOffsets by timestamp answers "the first offset
//! whose message timestamp is at or after T, and that timestamp". Searching T until the answer is
//! the committed offset gives that message's timestamp without reading any message (no READ
//! permission, no payload, no consumer), one request per leader broker per round.
//!
//! Every answer is a fact about the log and is kept per partition (at most
//! [`FACTS_PER_PARTITION`]), so a later search there (a consumer working through an old backlog
//! commits a new offset every poll) starts from a narrow bracket and usually needs one round.
//!
//! Timestamps are the messages' own (producer CreateTime unless the topic uses LogAppendTime), as
//! the broker's time index sees them; with out-of-order producer clocks the answer is approximate.

use std::collections::VecDeque;

use foldhash::{HashSet, HashSetExt};

use serde::{Deserialize, Serialize};

use super::types::{PartitionOffset, TopicPartition};
use crate::compact::OptI64;

/// Rounds of questions per poll: each costs one round trip to the leaders (a search asks up to
/// four times per round). A search that needs more carries on at the next poll from where it
/// stopped.
pub const MAX_ROUNDS_PER_POLL: u32 = 10;
/// No new round starts after this much of a poll went into searching: the rest of the figures
/// wait for it.
pub const MAX_SEARCH_TIME: std::time::Duration = std::time::Duration::from_secs(2);
/// The same at a collector's first poll, when every search starts at once: the first screen must
/// not wait for them (issue 16: a first poll within 2 s at 20,000 partitions). What is not placed
/// yet shows as a lower bound ("≥") and is placed over the next polls.
pub const FIRST_POLL_SEARCH_TIME: std::time::Duration = std::time::Duration::from_millis(500);
/// Searches advanced per poll, largest lag first; the rest wait for the next poll.
pub const MAX_SEARCHES_PER_POLL: usize = 2_000;
/// Answers remembered per partition (oldest forgotten first): 32 × 24 bytes.
pub const FACTS_PER_PARTITION: usize = 32;
/// A search stops once the message is placed within 1 s, or 1% of its age if that is more.
const MIN_PRECISION_MS: i64 = 1_000;

/// One answer: asking for time `asked` found the first message at or after it, `found()` =
/// (offset, timestamp); None when every message is older than `asked`. 24 bytes (the offset
/// without an `Option` tag): up to 32 of them for each of 20,000 partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fact {
    asked: i64,
    found_offset: OptI64,
    found_timestamp: i64,
}

impl Fact {
    fn new(asked: i64, found: Option<(i64, i64)>) -> Fact {
        Fact {
            asked,
            found_offset: OptI64::new(found.map(|(offset, _)| offset)),
            found_timestamp: found.map_or(0, |(_, ts)| ts),
        }
    }

    fn found(&self) -> Option<(i64, i64)> {
        self.found_offset.get().map(|o| (o, self.found_timestamp))
    }
}

#[derive(Debug, Clone, Default)]
struct PartitionFacts {
    /// The log end the first time this partition was seen, and when: every message before it was
    /// produced by then.
    first_end: Option<(i64, i64)>,
    last_end: i64,
    facts: VecDeque<Fact>,
}

/// A message whose produce time is wanted: the oldest one a group has not consumed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Wanted {
    pub tp: TopicPartition,
    pub offset: i64,
    /// The partition's log end now, for ordering (largest lag first) and as the upper anchor.
    pub end: i64,
}

/// What the search cost and found this poll (shown in `snapshot --json`, checked by tests).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProduceTimeStats {
    /// Distinct (partition, offset) pairs older than pipetop's own history.
    pub wanted: u32,
    /// How many of them have a produce time now.
    pub known: u32,
    pub rounds: u32,
    /// ListOffsets requests sent (one per leader broker per round, in batches of at most 500).
    pub requests: u32,
    pub elapsed_ms: u64,
    /// The latest per-partition failure (e.g. leader not available), if any this poll.
    pub error: Option<String>,
}

/// Where a message's produce time stands, from the facts known so far.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bracket {
    Known(i64),
    /// Produced at or after `low` (a message at or before it was) and before `high_at`; the first
    /// message known after it is `high_offset`.
    Between {
        low: Option<(i64, i64)>,
        high_offset: i64,
        high_at: i64,
    },
}

/// Per topic, indexed by partition id: looked up by `(&str, i32)` without allocating (and with
/// foldhash), since a poll asks once per committed offset (200,000 of them at the benchmark's
/// scale).
/// One topic's partitions as [`ProduceTimes`] knows them (see [`ProduceTimes::topic`]).
#[derive(Debug, Clone, Copy)]
pub struct TopicFacts<'a>(&'a [PartitionFacts]);

impl TopicFacts<'_> {
    /// Whether `offset` is older than pipetop's history of the partition: the log end when
    /// pipetop first saw it. Only such messages need a search for their produce time.
    pub fn predates_history(&self, partition: i32, offset: i64) -> bool {
        usize::try_from(partition)
            .ok()
            .and_then(|i| self.0.get(i))
            .and_then(|p| p.first_end)
            .is_some_and(|(end, _)| offset < end)
    }
}

#[derive(Debug, Default)]
pub struct ProduceTimes {
    partitions: foldhash::HashMap<String, Vec<PartitionFacts>>,
    /// Whether `resolve` ran before: the first poll's searches get [`FIRST_POLL_SEARCH_TIME`].
    resolved_before: bool,
}

impl ProduceTimes {
    /// Takes in this poll's log ends of every watched partition: remembers when each was first
    /// seen, starts afresh where the end went down (topic recreated, log truncated: old facts
    /// describe messages that no longer exist) and forgets partitions no longer watched.
    pub fn observe_ends<'a>(
        &mut self,
        ends: impl IntoIterator<Item = (&'a str, i32, i64)>,
        now_ms: i64,
    ) {
        let mut old = std::mem::take(&mut self.partitions);
        // Ends come topic by topic: the topic being filled is kept out of the map meanwhile.
        let mut current: Option<(&str, Vec<PartitionFacts>)> = None;
        for (topic, partition, end) in ends {
            let Ok(index) = usize::try_from(partition) else {
                continue;
            };
            if current.as_ref().is_none_or(|(t, _)| *t != topic) {
                if let Some((t, slots)) = current.take() {
                    self.partitions.insert(t.to_string(), slots);
                }
                let slots = self.partitions.remove(topic);
                current = Some((
                    topic,
                    slots.or_else(|| old.remove(topic)).unwrap_or_default(),
                ));
            }
            let Some((_, slots)) = current.as_mut() else {
                continue;
            };
            if slots.len() <= index {
                slots.resize_with(index + 1, PartitionFacts::default);
            }
            let p = &mut slots[index];
            if p.first_end.is_none() || end < p.last_end {
                *p = PartitionFacts {
                    first_end: Some((end, now_ms)),
                    ..PartitionFacts::default()
                };
            }
            p.last_end = end;
        }
        if let Some((t, slots)) = current {
            self.partitions.insert(t.to_string(), slots);
        }
    }

    /// What is known of one topic's partitions, to ask about many of them with one lookup.
    pub fn topic(&self, topic: &str) -> Option<TopicFacts<'_>> {
        self.partitions.get(topic).map(|slots| TopicFacts(slots))
    }

    fn get(&self, topic: &str, partition: i32) -> Option<&PartitionFacts> {
        self.partitions
            .get(topic)?
            .get(usize::try_from(partition).ok()?)
    }

    fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionFacts> {
        self.partitions
            .get_mut(&*tp.topic)?
            .get_mut(usize::try_from(tp.partition).ok()?)
    }

    /// Whether the message at `offset` was already there when pipetop first saw its partition:
    /// then only the brokers can say when it was produced.
    pub fn predates_history(&self, topic: &str, partition: i32, offset: i64) -> bool {
        self.topic(topic)
            .is_some_and(|t| t.predates_history(partition, offset))
    }

    /// The produce time of the message at `offset`, if known (exactly, or to the search's
    /// precision).
    pub fn produced_ms(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        now_ms: i64,
    ) -> Option<i64> {
        match self.bracket(topic, partition, offset, i64::MAX)? {
            Bracket::Known(ms) => Some(ms),
            Bracket::Between {
                low: Some((_, low)),
                high_at,
                ..
            } if high_at - low <= precision(now_ms, high_at) => Some(low + (high_at - low) / 2),
            Bracket::Between { .. } => None,
        }
    }

    /// Advances the searches for `wanted` by up to [`MAX_ROUNDS_PER_POLL`] rounds. `ask` sends one
    /// round's questions (a partition may appear more than once) and returns each answer with the
    /// time it answers, and the number of requests it took. A partition whose answer failed is
    /// not asked again this poll (its leader may be down: one timeout per poll is enough). Facts
    /// are kept only for partitions still wanted.
    pub fn resolve(
        &mut self,
        wanted: &[Wanted],
        now_ms: i64,
        mut ask: impl FnMut(Vec<(TopicPartition, i64)>) -> (Vec<(i64, PartitionOffset)>, u32),
    ) -> ProduceTimeStats {
        let started = std::time::Instant::now();
        let budget = if self.resolved_before {
            MAX_SEARCH_TIME
        } else {
            FIRST_POLL_SEARCH_TIME
        };
        self.resolved_before = true;
        let mut stats = ProduceTimeStats {
            wanted: count(wanted.len()),
            ..ProduceTimeStats::default()
        };
        let wanted_tps: HashSet<(&str, i32)> = wanted
            .iter()
            .map(|w| (&*w.tp.topic, w.tp.partition))
            .collect();
        for (topic, slots) in &mut self.partitions {
            for (index, p) in slots.iter_mut().enumerate() {
                let partition = i32::try_from(index).unwrap_or(i32::MAX);
                if !wanted_tps.contains(&(topic.as_str(), partition)) {
                    p.facts.clear();
                }
            }
        }
        let mut order: Vec<&Wanted> = wanted.iter().collect();
        order.sort_by_key(|w| std::cmp::Reverse(w.end - w.offset));
        let mut failed: HashSet<TopicPartition> = HashSet::new();
        for _ in 0..MAX_ROUNDS_PER_POLL {
            if started.elapsed() >= budget {
                break;
            }
            let questions: Vec<(TopicPartition, i64)> = order
                .iter()
                .filter(|w| !failed.contains(&w.tp))
                .map(|w| (w, self.next_questions(&w.tp, w.offset, w.end, now_ms)))
                .filter(|(_, times)| !times.is_empty())
                .take(MAX_SEARCHES_PER_POLL)
                .flat_map(|(w, times)| times.into_iter().map(|at| (w.tp.clone(), at)))
                .collect();
            if questions.is_empty() {
                break;
            }
            let (answers, requests) = ask(questions);
            stats.rounds += 1;
            stats.requests += requests;
            for (at, answer) in answers {
                let tp = answer.tp.clone();
                if let Some(error) = answer.error {
                    stats.error = Some(format!("{}-{}: {error}", tp.topic, tp.partition));
                    failed.insert(tp);
                    continue;
                }
                let found = answer.offset.zip(answer.timestamp);
                if answer.offset.is_some() && found.is_none() {
                    // A message without a timestamp (pre-0.10 format): nothing to learn, and
                    // asking again would not help.
                    stats.error = Some(format!(
                        "{}-{}: messages carry no timestamp",
                        tp.topic, tp.partition
                    ));
                    self.forget(&tp);
                    continue;
                }
                self.learn(&tp, Fact::new(at, found));
            }
        }
        stats.known = count(
            wanted
                .iter()
                .filter(|w| {
                    self.produced_ms(&w.tp.topic, w.tp.partition, w.offset, now_ms)
                        .is_some()
                })
                .count(),
        );
        stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        stats
    }

    fn learn(&mut self, tp: &TopicPartition, fact: Fact) {
        if let Some(p) = self.get_mut(tp) {
            if p.facts.len() >= FACTS_PER_PARTITION {
                p.facts.pop_front();
            }
            p.facts.push_back(fact);
        }
    }

    /// Stops searching a partition whose messages have no timestamps (until it is seen afresh).
    fn forget(&mut self, tp: &TopicPartition) {
        if let Some(p) = self.get_mut(tp) {
            p.first_end = Some((0, 0));
            p.facts.clear();
        }
    }

    /// The times to ask about next for the message at `offset` (none when its time is known, or
    /// known well enough, or the partition is not watched).
    fn next_questions(&self, tp: &TopicPartition, offset: i64, end: i64, now_ms: i64) -> Vec<i64> {
        let Some(Bracket::Between {
            low,
            high_offset,
            high_at,
        }) = self.bracket(&tp.topic, tp.partition, offset, end)
        else {
            return Vec::new();
        };
        let Some((low_offset, low)) = low else {
            // First the two ends: when the log's first message was produced (the answer outright
            // for a group reading from the start) and which message came a second before
            // pipetop's first look (the answer, to the precision, for a consumer just behind).
            // An empty log, or one with timestamps before 1970, has nothing to find.
            let recent = high_at - MIN_PRECISION_MS;
            return match (high_at > 0, recent > 0) {
                (true, true) => vec![0, recent],
                (true, false) => vec![0],
                _ => Vec::new(),
            };
        };
        if high_at - low <= precision(now_ms, high_at) || high_at - low < 2 {
            return Vec::new();
        }
        let mut times = Vec::with_capacity(4);
        // Just after the lower message's time: when the first message after it is beyond ours,
        // ours has that very timestamp. This settles a burst (many messages, one timestamp) at
        // once, where narrowing the time alone never would.
        let probed = self
            .get(&tp.topic, tp.partition)
            .is_some_and(|p| p.facts.iter().any(|f| f.asked == low + 1));
        if !probed {
            times.push(low + 1);
        }
        // Interpolating by offset finds a steadily fed partition in a round or two.
        if high_offset > low_offset {
            let share = (offset - low_offset) as f64 / (high_offset - low_offset) as f64;
            times.push(low + (share * (high_at - low) as f64) as i64);
        }
        // Uneven ones (pauses, bursts, a topic older than its traffic) are cut in thirds of the
        // message's possible *age* on a log scale: the pace the relative precision needs,
        // about six rounds from a week to 1 %.
        let oldest = ((now_ms - low).max(1) as f64).ln();
        let youngest = ((now_ms - high_at).max(MIN_PRECISION_MS) as f64).ln();
        for third in [1.0, 2.0] {
            let age = (youngest + (oldest - youngest) * third / 3.0).exp();
            times.push(now_ms - age as i64);
        }
        let mut times: Vec<i64> = times
            .into_iter()
            .map(|at| at.clamp(low + 1, high_at - 1))
            .collect();
        times.sort_unstable();
        times.dedup();
        times
    }

    /// What the facts say about the message at `offset`. `end` stands for the log end where no
    /// answer gave a later offset.
    fn bracket(&self, topic: &str, partition: i32, offset: i64, end: i64) -> Option<Bracket> {
        let p = self.get(topic, partition)?;
        let (first_end, first_at) = p.first_end?;
        if offset >= first_end {
            return None;
        }
        let mut low: Option<(i64, i64)> = None;
        let (mut high_offset, mut high_at) = (first_end, first_at.saturating_add(1));
        for fact in &p.facts {
            match fact.found() {
                Some((o, ts)) if o == offset => return Some(Bracket::Known(ts)),
                // The first message at or after the asked time is at or before ours: ours was
                // produced no earlier than that one.
                Some((o, ts)) if o < offset => {
                    if low.is_none_or(|(_, l)| ts > l) {
                        low = Some((o, ts));
                    }
                }
                // The first message at or after the asked time comes after ours (or there is
                // none): ours was produced before the asked time.
                other => {
                    if fact.asked < high_at {
                        high_at = fact.asked;
                        high_offset = other.map_or(end.min(high_offset), |(o, _)| o);
                    }
                }
            }
        }
        // The log's first message comes after ours (retention deleted ours): the oldest
        // unconsumed message that still exists is that first one.
        if let Some(first) = p.facts.iter().find(|f| f.asked == 0)
            && let Some((o, ts)) = first.found()
            && o > offset
        {
            return Some(Bracket::Known(ts));
        }
        if let Some((_, l)) = low
            && l >= high_at
        {
            // Out-of-order timestamps contradict each other: the bracket is as good as it gets.
            return Some(Bracket::Known(high_at));
        }
        Some(Bracket::Between {
            low,
            high_offset,
            high_at,
        })
    }
}

/// How precisely a produce time is worth placing: 1 s, or 1% of the message's age.
fn precision(now_ms: i64, produced_before: i64) -> i64 {
    MIN_PRECISION_MS.max(now_ms.saturating_sub(produced_before) / 100)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partition's log as the broker's time index answers it: message i has timestamp ts[i].
    struct Log {
        first_offset: i64,
        ts: Vec<i64>,
    }

    impl Log {
        fn answer(&self, tp: &TopicPartition, at: i64) -> PartitionOffset {
            let found = self.ts.iter().position(|&t| t >= at);
            PartitionOffset {
                tp: tp.clone(),
                offset: found.map(|i| self.first_offset + i as i64),
                timestamp: found.map(|i| self.ts[i]),
                error: None,
            }
        }

        fn end(&self) -> i64 {
            self.first_offset + self.ts.len() as i64
        }
    }

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    /// Runs `polls` polls against `log` and returns the rounds each took.
    fn search(
        times: &mut ProduceTimes,
        log: &Log,
        offset: i64,
        now: i64,
        polls: usize,
    ) -> Vec<u32> {
        let wanted = [Wanted {
            tp: tp(),
            offset,
            end: log.end(),
        }];
        (0..polls)
            .map(|_| {
                times
                    .resolve(&wanted, now, |questions| {
                        let answers = questions
                            .iter()
                            .map(|(tp, at)| (*at, log.answer(tp, *at)))
                            .collect();
                        (answers, 1)
                    })
                    .rounds
            })
            .collect()
    }

    fn watching(log: &Log, since: i64) -> ProduceTimes {
        let mut times = ProduceTimes::default();
        times.observe_ends([("t", 0, log.end())], since);
        times
    }

    /// A fact is 24 bytes and gives back what it was given.
    #[test]
    fn a_fact_is_small_and_reads_back() {
        assert_eq!(std::mem::size_of::<Fact>(), 24);
        assert_eq!(Fact::new(5, Some((7, 9))).found(), Some((7, 9)));
        assert_eq!(Fact::new(5, Some((0, -1))).found(), Some((0, -1)));
        assert_eq!(Fact::new(5, None).found(), None);
    }

    #[test]
    fn a_steady_partition_is_placed_exactly_in_a_few_rounds() {
        // Two hours of one message per second, starting at t = 1,000,000 s.
        let start = 1_000_000_000;
        let log = Log {
            first_offset: 0,
            ts: (0..7_200).map(|i| start + i * 1_000).collect(),
        };
        let now = start + 7_200_000;
        let mut times = watching(&log, now);
        let rounds = search(&mut times, &log, 1_800, now, 1);
        assert!(rounds[0] <= 4, "{rounds:?}");
        assert_eq!(
            times.produced_ms("t", 0, 1_800, now),
            Some(start + 1_800_000)
        );
    }

    #[test]
    fn bursts_far_apart_are_placed_to_the_precision_in_one_poll() {
        // Bursts of 1,000 messages in the same millisecond, an hour apart, over 3 days.
        let mut ts = Vec::new();
        for hour in 0..72 {
            ts.extend(std::iter::repeat_n(hour * 3_600_000 + 7, 1_000));
        }
        let log = Log {
            first_offset: 500,
            ts,
        };
        let now = 72 * 3_600_000;
        let mut times = watching(&log, now);
        // Message 30,250 is in the burst of hour 29 (offsets 29,500..30,499), 43 hours old: placed
        // to within 1% of that in one poll, though the offsets say little about the times.
        let rounds = search(&mut times, &log, 30_250, now, 1);
        let produced = times
            .produced_ms("t", 0, 30_250, now)
            .expect("found in one poll");
        let truth = 29 * 3_600_000 + 7;
        assert!(
            (produced - truth).abs() <= (now - truth) / 100,
            "{produced} vs {truth}, {rounds:?}"
        );
    }

    #[test]
    fn a_consumer_just_behind_on_a_busy_partition_is_dated_in_one_round() {
        // A week of history, then 100 messages a second for the last ten minutes.
        let now = 700_000_000;
        let mut ts: Vec<i64> = (0..1_000).map(|i| i * 600_000).collect();
        ts.extend((0..60_000).map(|i| now - 600_000 + i * 10));
        let log = Log {
            first_offset: 0,
            ts,
        };
        let mut times = watching(&log, now);
        let offset = log.end() - 50;
        assert_eq!(search(&mut times, &log, offset, now, 1), [1]);
        let produced = times.produced_ms("t", 0, offset, now).expect("dated");
        assert!(
            (produced - (now - 500)).abs() <= MIN_PRECISION_MS,
            "{produced}"
        );
    }

    #[test]
    fn a_group_reading_from_the_start_is_answered_in_one_round() {
        let log = Log {
            first_offset: 100,
            ts: (0..50).map(|i| 5_000 + i).collect(),
        };
        let mut times = watching(&log, 10_000);
        assert_eq!(search(&mut times, &log, 100, 10_000, 1), [1]);
        assert_eq!(times.produced_ms("t", 0, 100, 10_000), Some(5_000));
        // Behind the log start (retention deleted its next message): the oldest message left.
        assert_eq!(search(&mut times, &log, 40, 10_000, 1), [0]);
        assert_eq!(times.produced_ms("t", 0, 40, 10_000), Some(5_000));
    }

    #[test]
    fn a_later_search_on_the_same_partition_starts_from_what_is_known() {
        let log = Log {
            first_offset: 0,
            ts: (0..100_000).map(|i| i * 100).collect(),
        };
        let now = 10_000_000;
        let mut times = watching(&log, now);
        let first = search(&mut times, &log, 20_000, now, 1);
        // The consumer moved on a little: the facts already bracket the new offset closely.
        let next = search(&mut times, &log, 20_050, now, 1);
        assert!(next[0] <= first[0], "{first:?} then {next:?}");
        assert_eq!(times.produced_ms("t", 0, 20_050, now), Some(2_005_000));
    }

    #[test]
    fn offsets_seen_arriving_are_left_to_the_history() {
        let log = Log {
            first_offset: 0,
            ts: (0..10).collect(),
        };
        let mut times = watching(&log, 100);
        assert!(times.predates_history("t", 0, 9));
        times.observe_ends([("t", 0, 15)], 200);
        assert!(!times.predates_history("t", 0, 10));
        assert!(times.predates_history("t", 0, 9));
        // The log was truncated: pipetop's view starts again.
        times.observe_ends([("t", 0, 3)], 300);
        assert!(!times.predates_history("t", 0, 5));
        assert!(times.predates_history("t", 0, 2));
        // A partition no longer watched is forgotten.
        times.observe_ends([], 400);
        assert!(!times.predates_history("t", 0, 0));
    }

    #[test]
    fn a_topic_whose_ends_come_in_two_runs_keeps_every_partition() {
        let mut times = ProduceTimes::default();
        times.observe_ends([("a", 0, 10), ("b", 0, 20), ("a", 1, 30)], 100);
        assert!(times.predates_history("a", 0, 9));
        assert!(times.predates_history("a", 1, 29));
        assert!(times.predates_history("b", 0, 19));
        // Seen again in one run, each keeps when it was first seen (its history's start).
        times.observe_ends([("a", 0, 12), ("a", 1, 31), ("b", 0, 25)], 200);
        assert!(times.predates_history("a", 0, 9) && !times.predates_history("a", 0, 10));
        assert!(times.predates_history("a", 1, 29) && !times.predates_history("a", 1, 30));
        assert!(!times.predates_history("c", 0, 0));
        let a = times.topic("a").unwrap();
        assert!(
            a.predates_history(1, 29) && !a.predates_history(2, 0) && !a.predates_history(-1, 0)
        );
    }

    #[test]
    fn failed_answers_leave_the_search_where_it_was() {
        let log = Log {
            first_offset: 0,
            ts: (0..1_000).map(|i| i * 10).collect(),
        };
        let mut times = watching(&log, 20_000);
        let wanted = [Wanted {
            tp: tp(),
            offset: 500,
            end: 1_000,
        }];
        let stats = times.resolve(&wanted, 20_000, |questions| {
            let answers = questions
                .iter()
                .map(|(tp, at)| {
                    (
                        *at,
                        PartitionOffset::failed(tp, "Broker: Leader not available"),
                    )
                })
                .collect();
            (answers, 1)
        });
        assert_eq!(stats.known, 0);
        assert_eq!(
            stats.rounds, 1,
            "a failed partition is not asked again this poll"
        );
        assert!(stats.error.as_deref().is_some_and(|e| e.contains("Leader")));
        assert_eq!(times.produced_ms("t", 0, 500, 20_000), None);
        search(&mut times, &log, 500, 20_000, 1);
        assert_eq!(times.produced_ms("t", 0, 500, 20_000), Some(5_000));
    }
}
