//! Consumer status per group-partition, in the spirit of Burrow but from what a read-only admin
//! client sees each poll: the committed offset, the log end and its history, and whether the
//! group's `__consumer_offsets` partition received writes.
//!
//! Burrow decides STOP from the spacing of commits, so a consumer on a quiet topic (which commits
//! rarely because there is rarely anything to commit) looks stopped, and a real stop is only seen
//! after a window of commits. pipetop instead asks how long there has been *work waiting* without
//! the committed offset moving: `idle = now − max(last move of the commit, arrival of the oldest
//! unconsumed message)`. A quiet topic that is caught up has no waiting work and stays OK however
//! rarely it commits; a consumer that stops while messages arrive is STOP once `idle` exceeds what
//! its own observed commit rhythm allows (twice its usual gap between commits while it had work,
//! and at least one poll more than that gap).

use serde::Serialize;

/// Consumer status, from best to worst (the derived order is the severity order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Caught up, or consuming at least as fast as messages arrive.
    Ok,
    /// Not enough known to judge: lag unknown (deleted topic) or no history yet.
    Unknown,
    /// Assigned to a member but never committed.
    NoCommit,
    /// Lag rose across the whole window while the consumer was committing: falling behind.
    Warn,
    /// Committing the same offset again and again while lag > 0 (alive, but not progressing).
    Stall,
    /// The committed offset went backwards (a reset or seek): messages are being re-read.
    Rewind,
    /// Not committing while lag > 0: nobody consumes (stopped, paused, stuck, or no members).
    Stop,
}

impl Status {
    /// How much a status needs attention, for "worst first" lists: a group that cannot be judged
    /// (no partitions left, no history yet) is less urgent than a healthy one that is consuming.
    pub fn urgency(self) -> u8 {
        match self {
            Status::Unknown => 0,
            Status::Ok => 1,
            Status::NoCommit => 2,
            Status::Warn => 3,
            Status::Stall => 4,
            Status::Rewind => 5,
            Status::Stop => 6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Unknown => "UNKNOWN",
            Status::NoCommit => "NO COMMIT",
            Status::Warn => "WARN",
            Status::Stall => "STALL",
            Status::Rewind => "REWIND",
            Status::Stop => "STOP",
        }
    }
}

/// Before any commit gap was observed (pipetop just started, or the consumer never moved while
/// watched), a stuck offset is only called STOP after this long: longer than any sane batching.
pub const DEFAULT_STOP_AFTER_MS: i64 = 60_000;
/// Bounds of the learned STOP threshold.
pub const MIN_STOP_AFTER_MS: i64 = 1_000;
pub const MAX_STOP_AFTER_MS: i64 = 600_000;
/// Checkpoints kept for the consume rate and the WARN trend, spaced at least this far apart.
pub const CHECKPOINTS: usize = 4;
pub const CHECKPOINT_SPACING_MS: i64 = 5_000;
/// A rewind stays visible for this many polls (at least).
pub const REWIND_HOLD_POLLS: i64 = 3;

/// What pipetop remembers per group-partition between polls: 80 bytes, fixed, and no more in
/// an `Option` (the checkpoint count's spare values mark the empty slot). A group's tracks on a
/// topic are one allocation: 200 partitions take 16 KiB, not the 20 KiB size class that 88-byte
/// tracks fell into (4 MB at 1,000 groups).
#[derive(Debug, Clone)]
pub struct PartitionTrack {
    pub committed: i64,
    /// Poll at which `committed` was first seen at its current value.
    pub changed_ms: i64,
    /// When the oldest message still unconsumed at the last poll was produced (`i64::MAX` when
    /// caught up).
    pub waiting_since_ms: i64,
    /// The consumer's usual gap between commit moves while it had work, in ms (0: not seen yet).
    /// Rises at once to a longer gap, decays slowly: a consumer's slow moments set the bar.
    pub gap_ms: u32,
    /// The first poll that saw this group-partition, and the last that saw its commit go
    /// backwards, as ms before `changed_ms` (neither is after it: both moved the commit, or
    /// started it). `u32::MAX`: never, or more than 49.7 days before; that long ago neither
    /// matters any more (see `first_look` and `rewind_ms`).
    first_before_change: u32,
    rewind_before_change: u32,
    /// (poll ms, committed) checkpoints, oldest first, for the consume rate and the WARN trend:
    /// the oldest in full, the later ones as ms and offsets after it (they only grow: a rewind
    /// starts them over). A checkpoint more than 49 days or 2^32 offsets after the oldest starts
    /// them over too.
    oldest: (i64, i64),
    later: [(u32, u32); CHECKPOINTS - 1],
    len: Filled,
}

/// A track's checkpoints, (poll ms, committed), oldest first, as a slice.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoints {
    points: [(i64, i64); CHECKPOINTS],
    len: usize,
}

impl std::ops::Deref for Checkpoints {
    type Target = [(i64, i64)];

    fn deref(&self) -> &[(i64, i64)] {
        &self.points[..self.len]
    }
}

/// How many checkpoints are kept: an enum rather than a `u8` so that `Option<PartitionTrack>`
/// needs no tag of its own (a million of them at scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Filled {
    Zero,
    One,
    Two,
    Three,
    Four,
}

const _: () = assert!(CHECKPOINTS == Filled::Four as usize);

impl Filled {
    fn count(self) -> usize {
        self as usize
    }

    fn next(self) -> Filled {
        match self {
            Filled::Zero => Filled::One,
            Filled::One => Filled::Two,
            Filled::Two => Filled::Three,
            Filled::Three | Filled::Four => Filled::Four,
        }
    }

    fn previous(self) -> Filled {
        match self {
            Filled::Zero | Filled::One => Filled::Zero,
            Filled::Two => Filled::One,
            Filled::Three => Filled::Two,
            Filled::Four => Filled::Three,
        }
    }
}

impl PartitionTrack {
    pub fn new(committed: i64, now_ms: i64) -> PartitionTrack {
        let mut t = PartitionTrack {
            committed,
            changed_ms: now_ms,
            waiting_since_ms: i64::MAX,
            gap_ms: 0,
            first_before_change: 0,
            rewind_before_change: u32::MAX,
            oldest: (0, 0),
            later: [(0, 0); CHECKPOINTS - 1],
            len: Filled::Zero,
        };
        t.checkpoint(now_ms, committed);
        t
    }

    /// Takes in this poll's committed offset and the produce time of the oldest unconsumed
    /// message (`None` when caught up).
    pub fn observe(
        &mut self,
        committed: i64,
        waiting_since_ms: Option<i64>,
        now_ms: i64,
        poll_interval_ms: i64,
    ) {
        if committed != self.committed {
            let rewound = committed < self.committed;
            if rewound {
                // A rate across a rewind means nothing.
                self.len = Filled::Zero;
            } else if self.waiting_since_ms < now_ms {
                // The consumer had work since `start` and took this long to move its commit.
                let start = self.changed_ms.max(self.waiting_since_ms);
                let gap = (now_ms - start).max(0);
                let learned = i64::from(self.gap_ms);
                let next = if gap > self.stop_after_ms(poll_interval_ms) && self.gap_ms > 0 {
                    // Longer than this consumer's STOP bar: an outage that just ended, not its
                    // rhythm. Learn only a tenth of it, so a consumer that really slowed down
                    // is still learned after some commits, but one outage does not make the
                    // next STOP take much longer to report.
                    learned + (gap - learned) / 10
                } else if gap >= learned {
                    gap
                } else {
                    // Decay a tenth of the way down per move.
                    learned - (learned - gap) / 10
                };
                self.gap_ms = u32::try_from(next.max(0)).unwrap_or(u32::MAX);
            }
            self.committed = committed;
            self.move_change_to(now_ms);
            if rewound {
                self.rewind_before_change = 0;
            }
        }
        self.waiting_since_ms = waiting_since_ms.unwrap_or(i64::MAX);
        self.checkpoint(now_ms, committed);
    }

    /// Moves `changed_ms` forward to `now_ms`, keeping the first poll and the last rewind where
    /// they were.
    fn move_change_to(&mut self, now_ms: i64) {
        let moved = (now_ms - self.changed_ms).max(0);
        let later = |before: u32| match before {
            u32::MAX => u32::MAX,
            b => u32::try_from(i64::from(b) + moved).unwrap_or(u32::MAX),
        };
        self.first_before_change = later(self.first_before_change);
        self.rewind_before_change = later(self.rewind_before_change);
        self.changed_ms = now_ms;
    }

    /// Whether `now_ms` is the poll that first saw this group-partition.
    pub fn first_look(&self, now_ms: i64) -> bool {
        self.first_before_change == 0 && self.changed_ms == now_ms
    }

    /// The last poll that saw the commit go backwards, if one did in the last 49.7 days.
    pub fn rewind_ms(&self) -> Option<i64> {
        (self.rewind_before_change != u32::MAX)
            .then(|| self.changed_ms - i64::from(self.rewind_before_change))
    }

    fn checkpoint(&mut self, now_ms: i64, committed: i64) {
        let points = self.checkpoints();
        if points
            .last()
            .is_some_and(|&(at, _)| now_ms - at < CHECKPOINT_SPACING_MS)
        {
            return;
        }
        if points.len() == CHECKPOINTS {
            // The oldest goes; the next is the new base.
            let (dt, dc) = self.later[0];
            self.oldest = (self.oldest.0 + i64::from(dt), self.oldest.1 + i64::from(dc));
            for i in 0..CHECKPOINTS - 2 {
                let (t, c) = self.later[i + 1];
                self.later[i] = (t.saturating_sub(dt), c.saturating_sub(dc));
            }
            self.len = self.len.previous();
        }
        let len = self.len.count();
        let after = (
            u32::try_from(now_ms - self.oldest.0),
            u32::try_from(committed - self.oldest.1),
        );
        match after {
            (Ok(dt), Ok(dc)) if len > 0 => {
                self.later[len - 1] = (dt, dc);
                self.len = self.len.next();
            }
            // The first, or too far after the oldest to be stored beside it: start over.
            _ => {
                self.oldest = (now_ms, committed);
                self.len = Filled::One;
            }
        }
    }

    /// The (poll ms, committed) checkpoints, oldest first.
    pub fn checkpoints(&self) -> Checkpoints {
        let mut points = [(0, 0); CHECKPOINTS];
        points[0] = self.oldest;
        for (point, &(dt, dc)) in points[1..].iter_mut().zip(&self.later) {
            *point = (self.oldest.0 + i64::from(dt), self.oldest.1 + i64::from(dc));
        }
        Checkpoints {
            points,
            len: self.len.count(),
        }
    }

    /// Messages per second committed since the oldest checkpoint; None without one in the past.
    pub fn consume_rate(&self, now_ms: i64) -> Option<f64> {
        let &(t, c) = self.checkpoints().first()?;
        (now_ms > t).then(|| (self.committed - c).max(0) as f64 * 1000.0 / (now_ms - t) as f64)
    }

    /// How long work may wait without the commit moving before this consumer counts as stopped.
    pub fn stop_after_ms(&self, poll_interval_ms: i64) -> i64 {
        if self.gap_ms == 0 {
            return DEFAULT_STOP_AFTER_MS.max(2 * poll_interval_ms);
        }
        let gap = i64::from(self.gap_ms);
        (2 * gap)
            .max(gap + poll_interval_ms)
            .clamp(MIN_STOP_AFTER_MS, MAX_STOP_AFTER_MS)
    }

    /// How long work has been waiting without the commit moving.
    pub fn idle_ms(&self, now_ms: i64) -> i64 {
        (now_ms - self.changed_ms.max(self.waiting_since_ms)).max(0)
    }
}

/// Everything the status of one group-partition depends on this poll.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput {
    pub lag: Option<u64>,
    pub never_committed: bool,
    /// No member consumes this partition: the group is Empty, or it is Stable and nobody is
    /// assigned the partition.
    pub unconsumed: bool,
    pub now_ms: i64,
    pub poll_interval_ms: i64,
    /// Last poll at which the group wrote to its `__consumer_offsets` partition without any of
    /// its committed offsets changing (a re-commit), if that could be attributed to the group.
    pub recommit_ms: Option<i64>,
    /// Lag rose across the whole window (see `lag_rising`).
    pub rising: bool,
}

pub fn partition_status(track: Option<&PartitionTrack>, input: StatusInput) -> Status {
    if input.never_committed {
        return Status::NoCommit;
    }
    let (Some(track), Some(lag)) = (track, input.lag) else {
        return Status::Unknown;
    };
    let hold = REWIND_HOLD_POLLS * input.poll_interval_ms.max(1);
    if track.rewind_ms().is_some_and(|at| input.now_ms - at < hold) {
        return Status::Rewind;
    }
    if lag == 0 {
        return Status::Ok;
    }
    // Nobody is assigned the partition. Work waits for no one, unless something commits without
    // group membership (Flink, Spark and other assign-only consumers do): once its commits were
    // seen moving with work waiting, it is judged like any consumer.
    if input.unconsumed && track.gap_ms == 0 {
        return Status::Stop;
    }
    // A single look at a consumer says nothing about whether it moves.
    if track.first_look(input.now_ms) {
        return Status::Unknown;
    }
    if track.idle_ms(input.now_ms) >= track.stop_after_ms(input.poll_interval_ms) {
        return match input.recommit_ms {
            Some(at) if at > track.changed_ms => Status::Stall,
            _ => Status::Stop,
        };
    }
    if input.rising {
        return Status::Warn;
    }
    Status::Ok
}

/// WARN's test: the window is full, the consumer moved during it (otherwise it is a STOP
/// question), and the lag rose at every checkpoint and again up to now. Batching consumers give
/// saw-tooth lag; requiring a rise at every step of a 15 s+ window keeps that from warning.
pub fn lag_rising(lags: &[i64], committed_moved: bool) -> bool {
    lags.len() > CHECKPOINTS && committed_moved && lags.windows(2).all(|w| w[1] > w[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(lag: u64, now_ms: i64) -> StatusInput {
        StatusInput {
            lag: Some(lag),
            never_committed: false,
            unconsumed: false,
            now_ms,
            poll_interval_ms: 1_000,
            recommit_ms: None,
            rising: false,
        }
    }

    /// A consumer that moves its commit every poll while messages arrive every poll.
    fn busy_track(until_ms: i64) -> PartitionTrack {
        let mut t = PartitionTrack::new(0, 0);
        let mut now = 0;
        while now < until_ms {
            now += 1_000;
            t.observe(now / 10, Some(now - 500), now, 1_000);
        }
        t
    }

    #[test]
    fn a_busy_consumer_that_stops_is_stop_two_polls_after_its_last_move() {
        let mut t = busy_track(20_000);
        assert_eq!(t.gap_ms, 1_000);
        assert_eq!(partition_status(Some(&t), input(50, 20_000)), Status::Ok);
        // Stops at 20 s: polls at 21 s and 22 s see the same offset, work keeps arriving.
        // The oldest unconsumed message is the one produced just after 19.5 s.
        t.observe(2_000, Some(19_500), 21_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(60, 21_000)), Status::Ok);
        t.observe(2_000, Some(19_500), 22_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(70, 22_000)), Status::Stop);
    }

    #[test]
    fn a_caught_up_consumer_on_a_quiet_topic_is_never_stop() {
        let mut t = busy_track(10_000);
        // An hour without new messages, so without commits.
        for now in (11_000..3_600_000).step_by(1_000) {
            t.observe(1_000, None, now, 1_000);
            assert_eq!(partition_status(Some(&t), input(0, now)), Status::Ok);
        }
        // One message arrives: waiting work, but only since it arrived.
        t.observe(1_000, Some(3_600_500), 3_601_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(1, 3_601_000)), Status::Ok);
        t.observe(1_001, None, 3_602_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(0, 3_602_000)), Status::Ok);
    }

    #[test]
    fn a_slow_batching_consumer_sets_its_own_bar() {
        // Commits every 10 s while messages arrive constantly.
        let mut t = PartitionTrack::new(0, 0);
        for now in (1_000..=60_000).step_by(1_000) {
            t.observe(now / 10_000 * 100, Some(now / 10_000 * 10_000), now, 1_000);
            assert_eq!(
                partition_status(Some(&t), input(90, now)),
                Status::Ok,
                "{now}"
            );
        }
        assert!(t.gap_ms >= 9_000);
        assert!(t.stop_after_ms(1_000) >= 18_000);
    }

    #[test]
    fn same_offset_re_committed_is_stall_and_backwards_is_rewind() {
        let mut t = busy_track(10_000);
        t.observe(1_000, Some(9_500), 11_000, 1_000);
        t.observe(1_000, Some(9_500), 12_000, 1_000);
        let mut i = input(30, 12_000);
        i.recommit_ms = Some(12_000);
        assert_eq!(partition_status(Some(&t), i), Status::Stall);
        // A re-commit seen before the offset stopped moving proves nothing.
        i.recommit_ms = Some(10_000);
        assert_eq!(partition_status(Some(&t), i), Status::Stop);

        t.observe(500, Some(9_000), 13_000, 1_000);
        assert_eq!(
            partition_status(Some(&t), input(500, 13_000)),
            Status::Rewind
        );
        assert_eq!(partition_status(Some(&t), input(0, 15_000)), Status::Rewind);
        assert_eq!(partition_status(Some(&t), input(0, 16_000)), Status::Ok);
    }

    /// The first poll and the last rewind are kept as offsets before the last commit move: they
    /// stay where they were as the commit moves on, and only a first look is a first look.
    #[test]
    fn a_rewind_is_held_while_the_commit_moves_on_and_a_first_look_is_once() {
        let mut t = busy_track(10_000);
        t.observe(500, Some(9_000), 11_000, 1_000);
        assert_eq!(t.rewind_ms(), Some(11_000));
        t.observe(600, Some(10_500), 12_000, 1_000);
        t.observe(700, Some(11_500), 13_000, 1_000);
        assert_eq!(t.rewind_ms(), Some(11_000));
        assert_eq!(partition_status(Some(&t), input(5, 13_000)), Status::Rewind);
        assert_eq!(partition_status(Some(&t), input(5, 14_000)), Status::Ok);
        assert!(!t.first_look(13_000));

        let mut t = PartitionTrack::new(5, 1_000);
        assert!(t.first_look(1_000));
        assert_eq!(t.rewind_ms(), None);
        t.observe(5, Some(500), 1_000, 1_000);
        assert!(
            t.first_look(1_000),
            "the first poll observes what it created"
        );
        t.observe(6, Some(1_500), 2_000, 1_000);
        assert!(!t.first_look(2_000));
        // 60 days on, the first poll is too far back to count from, and still not now.
        let day = 86_400_000;
        t.observe(7, Some(60 * day), 60 * day + 1_000, 1_000);
        assert!(!t.first_look(60 * day + 1_000));
        t.observe(3, Some(60 * day), 60 * day + 2_000, 1_000);
        assert_eq!(t.rewind_ms(), Some(60 * day + 2_000));
        t.observe(4, Some(120 * day), 120 * day, 1_000);
        assert_eq!(t.rewind_ms(), None, "a rewind 60 days ago is forgotten");
    }

    #[test]
    fn no_members_with_lag_is_stop_at_once_and_no_commit_is_its_own_status() {
        let t = PartitionTrack::new(5, 0);
        // Members present, first look: cannot tell yet.
        assert_eq!(partition_status(Some(&t), input(10, 0)), Status::Unknown);
        let mut i = input(10, 0);
        i.unconsumed = true;
        assert_eq!(partition_status(Some(&t), i), Status::Stop);
        i.lag = Some(0);
        assert_eq!(partition_status(Some(&t), i), Status::Ok);
        i.never_committed = true;
        assert_eq!(partition_status(None, i), Status::NoCommit);
        let mut i = input(0, 0);
        i.lag = None;
        assert_eq!(partition_status(Some(&t), i), Status::Unknown);
    }

    #[test]
    fn an_outage_does_not_teach_a_long_gap() {
        let mut t = busy_track(20_000);
        // Stopped 20 s, then resumed: one 20 s gap, far beyond the 2 s bar.
        t.observe(2_001, Some(19_500), 40_000, 1_000);
        assert!(t.gap_ms < 3_000, "{}", t.gap_ms);
        assert!(t.stop_after_ms(1_000) < 6_000);
    }

    #[test]
    fn without_a_learned_gap_stop_waits_for_the_default() {
        let mut t = PartitionTrack::new(5, 0);
        t.observe(5, Some(-1_000), 30_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(10, 30_000)), Status::Ok);
        t.observe(5, Some(-1_000), 60_000, 1_000);
        assert_eq!(partition_status(Some(&t), input(10, 60_000)), Status::Stop);
    }

    #[test]
    fn consume_rate_and_rising_lag() {
        let t = busy_track(30_000);
        let rate = t.consume_rate(30_000).unwrap();
        assert!((rate - 100.0).abs() < 1e-9, "{rate}");
        assert!(lag_rising(&[1, 2, 3, 4, 5], true));
        assert!(!lag_rising(&[1, 2, 3, 4, 5], false));
        assert!(!lag_rising(&[1, 3, 2, 4, 5], true), "saw-tooth");
        assert!(!lag_rising(&[1, 2, 3], true), "window not full");
        assert_eq!(std::mem::size_of::<PartitionTrack>(), 80);
        assert_eq!(std::mem::size_of::<Option<PartitionTrack>>(), 80);
    }

    /// The compact checkpoints hold what a plain list of the last four would: spaced at least
    /// `CHECKPOINT_SPACING_MS` apart, oldest dropped first, started over by a rewind.
    #[test]
    fn checkpoints_are_the_last_four_spaced_ones() {
        let mut t = PartitionTrack::new(1_000, 0);
        let mut plain: Vec<(i64, i64)> = vec![(0, 1_000)];
        let mut committed = 1_000;
        for poll in 1..60i64 {
            let now = poll * 2_000 + poll % 3;
            let rewind = poll % 17 == 0;
            committed = if rewind {
                committed - 700
            } else {
                committed + poll * 1_000_003
            };
            t.observe(committed, Some(now - 100), now, 2_000);
            if rewind {
                plain.clear();
            }
            if plain
                .last()
                .is_none_or(|&(at, _)| now - at >= CHECKPOINT_SPACING_MS)
            {
                if plain.len() == CHECKPOINTS {
                    plain.remove(0);
                }
                plain.push((now, committed));
            }
            assert_eq!(&*t.checkpoints(), &plain[..], "poll {poll}");
        }
    }

    /// A checkpoint too far after the oldest to be stored beside it starts them over, rather than
    /// wrapping into a wrong rate.
    #[test]
    fn a_checkpoint_too_far_after_the_oldest_starts_them_over() {
        let mut t = PartitionTrack::new(0, 0);
        t.observe(10, None, 10_000, 10_000);
        let far = 1i64 << 33;
        t.observe(far, None, 20_000, 10_000);
        assert_eq!(&*t.checkpoints(), &[(20_000, far)]);
        t.observe(far + 100, None, 30_000, 10_000);
        assert_eq!(t.consume_rate(30_000), Some(10.0));
        let late = 30_000 + (1i64 << 32);
        t.observe(far + 200, None, late, 10_000);
        assert_eq!(&*t.checkpoints(), &[(late, far + 200)]);
    }
}
