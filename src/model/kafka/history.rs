//! A bounded history of one partition's log-end offset: when each offset range appeared.
//!
//! Time lag is "how long ago was the oldest unconsumed message produced". Kafka's admin API does
//! not say when a message was produced, so pipetop remembers, per partition, at which poll the log
//! end moved and interpolates inside that record (as kafka-lag-exporter does), with three fixes:
//!
//! * A point remembers the first *and last* poll that saw its end offset. A quiet topic's flat
//!   stretch therefore still brackets the next message between two consecutive polls, instead of
//!   spreading it over the whole quiet period (kafka-lag-exporter's 0↔30 s jitter).
//! * Inside a bracket messages are taken as evenly spread and each sits mid-slot, so the error is
//!   at most half a poll interval and does not jump between 0 and a full interval.
//! * A committed offset older than the whole history is not extrapolated without bound (the
//!   "astronomical" time lag on reprocessing from the start): the certain lower bound is reported
//!   instead, flagged `at_least`, unless a short extrapolation at the observed rate covers it.
//!
//! Memory is fixed: at most `HISTORY_POINTS` points. When full, the interior point whose removal
//! widens a bracket the least relative to its age is dropped, so recent history stays at poll
//! resolution and older history thins out geometrically.

use serde::Serialize;

/// Points per partition: 32 × 16 bytes and a base time, 520 bytes per partition, 10 MB for
/// 20,000 partitions.
pub const HISTORY_POINTS: usize = 32;

/// A point as stored: its poll times in ms after the history's `base_ms` (16 bytes, not 24; a
/// history spans at most `u32::MAX` ms, 49.7 days, see `EndHistory::fit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    end: i64,
    first: u32,
    last: u32,
}

/// A point in Unix ms: the end offset, and the first and last poll that saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    end: i64,
    first_ms: i64,
    last_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct EndHistory {
    /// Unix ms the stored times count from: the first poll of the history, moved forward when
    /// the history would otherwise span more than `u32::MAX` ms.
    base_ms: i64,
    points: Vec<Stored>,
}

/// How a time lag was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLagKind {
    /// Caught up: 0 s, not an estimate.
    Exact,
    /// The committed offset falls inside the history: error at most half a poll interval.
    Interpolated,
    /// Older than the history: the brokers' timestamp index says when the message was produced
    /// (to within 1 s or 1% of its age; see `kafka::produce_time`).
    LookedUp,
    /// Slightly older than the history: extrapolated at the rate observed over the history, for
    /// no more messages than the history itself covers.
    Estimate,
    /// Older than the history and too far to extrapolate: the value is a lower bound (the
    /// history's age); the true time lag is larger.
    AtLeast,
    /// No history or no committed offset.
    Unknown,
}

impl TimeLagKind {
    /// As the JSON spells it (snake_case).
    pub fn name(self) -> &'static str {
        match self {
            TimeLagKind::Exact => "exact",
            TimeLagKind::Interpolated => "interpolated",
            TimeLagKind::LookedUp => "looked_up",
            TimeLagKind::Estimate => "estimate",
            TimeLagKind::AtLeast => "at_least",
            TimeLagKind::Unknown => "unknown",
        }
    }
}

/// Time lag of one committed offset, in seconds (never NaN, never negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeLag {
    pub seconds: Option<f64>,
    pub kind: TimeLagKind,
    /// When the oldest unconsumed message was produced (Unix ms), as far as known.
    pub since_ms: Option<i64>,
}

impl TimeLag {
    pub const UNKNOWN: TimeLag = TimeLag {
        seconds: None,
        kind: TimeLagKind::Unknown,
        since_ms: None,
    };
}

impl EndHistory {
    /// Records the end offset seen at `at_ms`. Out-of-order points are ignored; an end that went
    /// down (topic recreated, log truncated) starts a fresh history, since the old one describes
    /// messages that no longer exist.
    pub fn observe(&mut self, end: i64, at_ms: i64) {
        match self.points.last().map(|&p| self.point(p)) {
            Some(last) if at_ms <= last.last_ms => return,
            Some(last) if end < last.end => self.points.clear(),
            Some(last) if end == last.end => {
                if let Some(at) = self.fit(at_ms)
                    && let Some(last) = self.points.last_mut()
                {
                    last.last = at;
                    return;
                }
                // More than 49.7 days since the last poll: `fit` dropped every point.
            }
            _ => {}
        }
        if self.points.is_empty() {
            self.base_ms = at_ms;
        }
        let Some(at) = self.fit(at_ms) else {
            return;
        };
        let new = Stored {
            end,
            first: at,
            last: at,
        };
        // A full history drops a point before it takes the new one, so its room stays at
        // exactly `HISTORY_POINTS`: 512 bytes, one of the allocator's size classes, where one
        // point more would take the next class, 640 (2.5 MB more at 20,000 partitions).
        if self.points.len() >= HISTORY_POINTS {
            self.thin(new, at_ms);
        }
        // Grown by hand: doubling past a size class would hold room the history never uses.
        let (len, room) = (self.points.len(), self.points.capacity());
        if len == room {
            let want = (2 * room).clamp(4, HISTORY_POINTS);
            self.points.reserve_exact(want.saturating_sub(len).max(1));
        }
        self.points.push(new);
    }

    /// `at_ms` as a stored time. When it lies more than `u32::MAX` ms after the base, the base
    /// moves to the oldest point, and points older than that span (49.7 days) are dropped: the
    /// history then reaches back 49.7 days, and older commits are looked up (`produce_time`) or
    /// reported as at least that old. None only for a time before the base (never: polls come
    /// in order and the base is the first).
    fn fit(&mut self, at_ms: i64) -> Option<u32> {
        let span = i64::from(u32::MAX);
        if at_ms.saturating_sub(self.base_ms) > span {
            let keep_from = at_ms - span;
            let full: Vec<Point> = self
                .points
                .iter()
                .map(|&p| self.point(p))
                .filter(|p| p.last_ms >= keep_from)
                .collect();
            self.base_ms = full.first().map_or(at_ms, |p| p.first_ms.max(keep_from));
            let base = self.base_ms;
            let since = |ms: i64| u32::try_from((ms - base).max(0)).unwrap_or(u32::MAX);
            self.points = full
                .iter()
                .map(|p| Stored {
                    end: p.end,
                    first: since(p.first_ms),
                    last: since(p.last_ms),
                })
                .collect();
        }
        u32::try_from(at_ms.saturating_sub(self.base_ms)).ok()
    }

    fn point(&self, p: Stored) -> Point {
        Point {
            end: p.end,
            first_ms: self.base_ms + i64::from(p.first),
            last_ms: self.base_ms + i64::from(p.last),
        }
    }

    fn at(&self, i: usize) -> Point {
        self.point(self.points[i])
    }

    fn first(&self) -> Option<Point> {
        self.points.first().map(|&p| self.point(p))
    }

    fn newest(&self) -> Option<Point> {
        self.points.last().map(|&p| self.point(p))
    }

    /// Drops the point whose removal widens a bracket the least relative to its age, among the
    /// stored points and `new`, which comes after them: never the oldest (the history's reach)
    /// nor `new` (the current end).
    fn thin(&mut self, new: Stored, now_ms: i64) {
        let len = self.points.len();
        let at = |i: usize| {
            if i == len {
                self.point(new)
            } else {
                self.at(i)
            }
        };
        let cost = |i: usize| {
            let (before, p, after) = (at(i - 1), at(i), at(i + 1));
            let widened = (after.first_ms - before.last_ms) as f64;
            let age = (now_ms - p.last_ms).max(1) as f64;
            widened / age
        };
        let victim = (1..len).min_by(|&a, &b| cost(a).total_cmp(&cost(b)));
        if let Some(i) = victim {
            self.points.remove(i);
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Time lag at `now_ms` of a group whose committed offset (next message to read) is
    /// `committed`, on a partition whose current end is the newest point.
    pub fn time_lag(&self, committed: i64, now_ms: i64) -> TimeLag {
        let (Some(oldest), Some(newest)) = (self.first(), self.newest()) else {
            return TimeLag::UNKNOWN;
        };
        if committed >= newest.end {
            return TimeLag {
                seconds: Some(0.0),
                kind: TimeLagKind::Exact,
                since_ms: None,
            };
        }
        let at = |produced_ms: f64, kind| {
            let since = produced_ms.min(now_ms as f64);
            TimeLag {
                seconds: Some(((now_ms as f64 - since) / 1000.0).max(0.0)),
                kind,
                since_ms: Some(since.round() as i64),
            }
        };
        // The first point at which message `committed` existed.
        let j = self.points.partition_point(|p| p.end <= committed);
        if j == 0 {
            // Produced before the history began. With a rate over the history, extrapolate only
            // as far back as the history itself reaches in offsets; beyond that only the lower
            // bound is honest.
            let behind = (oldest.end - committed) as f64;
            let span_offsets = (newest.end - oldest.end) as f64;
            let span_ms = (newest.first_ms - oldest.first_ms) as f64;
            if span_offsets > 0.0 && span_ms > 0.0 && behind <= span_offsets {
                let rate = span_offsets / span_ms;
                return at(
                    oldest.first_ms as f64 - behind / rate,
                    TimeLagKind::Estimate,
                );
            }
            return at(oldest.first_ms as f64, TimeLagKind::AtLeast);
        }
        let (a, b) = (self.at(j - 1), self.at(j));
        // Messages a.end .. b.end-1 appeared between the last poll that saw a.end and the first
        // that saw b.end; each is placed in the middle of its share of that interval.
        let slot = (committed - a.end) as f64 + 0.5;
        let share = slot / (b.end - a.end) as f64;
        let produced = a.last_ms as f64 + share * (b.first_ms - a.last_ms) as f64;
        at(produced, TimeLagKind::Interpolated)
    }

    /// The end offset at `t_ms`, interpolated between polls; None before the history.
    pub fn end_at(&self, t_ms: i64) -> Option<i64> {
        let first = self.first()?;
        if t_ms < first.first_ms {
            return None;
        }
        let j = self
            .points
            .partition_point(|&p| self.point(p).first_ms <= t_ms);
        let a = self.at(j - 1);
        if t_ms <= a.last_ms || j == self.points.len() {
            return Some(a.end);
        }
        let b = self.at(j);
        let share = (t_ms - a.last_ms) as f64 / (b.first_ms - a.last_ms).max(1) as f64;
        Some(a.end + (share * (b.end - a.end) as f64).round() as i64)
    }

    /// Messages per second produced between `from_ms` (or the history's start, if later) and
    /// `now_ms`; None until two polls are known.
    pub fn produce_rate(&self, from_ms: i64, now_ms: i64) -> Option<f64> {
        let first = self.first()?;
        let newest = self.newest()?;
        let from = from_ms.max(first.first_ms);
        if now_ms <= from {
            return None;
        }
        let start = self.end_at(from)?;
        Some((newest.end - start).max(0) as f64 * 1000.0 / (now_ms - from) as f64)
    }

    /// Bytes this history holds on the heap (its fixed capacity once full).
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<Stored>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(points: &[(i64, i64)]) -> EndHistory {
        let mut h = EndHistory::default();
        for &(end, at) in points {
            h.observe(end, at);
        }
        h
    }

    #[test]
    fn caught_up_is_exactly_zero_even_on_a_quiet_topic_with_one_point() {
        let h = history(&[(100, 0)]);
        let lag = h.time_lag(100, 3_600_000);
        assert_eq!((lag.seconds, lag.kind), (Some(0.0), TimeLagKind::Exact));
        assert_eq!(EndHistory::default().time_lag(5, 10), TimeLag::UNKNOWN);
    }

    #[test]
    fn interpolates_inside_the_history_with_messages_mid_slot() {
        // 100 messages between t=10s and t=20s.
        let h = history(&[(0, 10_000), (100, 20_000), (100, 30_000)]);
        let lag = h.time_lag(50, 30_000);
        assert_eq!(lag.kind, TimeLagKind::Interpolated);
        // Message 50 is the 51st of 100: produced at 10s + 50.5% of 10s = 15.05s.
        assert!((lag.seconds.unwrap() - 14.95).abs() < 1e-9, "{lag:?}");
    }

    #[test]
    fn quiet_topic_does_not_jitter_with_poll_resolution() {
        // A topic quiet for an hour, polled every 2 s; one message arrives between two polls.
        let mut h = EndHistory::default();
        let mut t = 0;
        while t <= 3_600_000 {
            h.observe(7, t);
            t += 2_000;
        }
        h.observe(8, t);
        // The message is placed between the last poll at end 7 and the first at end 8: one
        // second ago on average, never the hour kafka-lag-exporter would report.
        let lag = h.time_lag(7, t);
        assert_eq!(lag.kind, TimeLagKind::Interpolated);
        assert!((lag.seconds.unwrap() - 1.0).abs() < 1e-9, "{lag:?}");
        // Two seconds later (no new message) it has aged by exactly two seconds.
        h.observe(8, t + 2_000);
        assert!((h.time_lag(7, t + 2_000).seconds.unwrap() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn reprocessing_from_the_start_reports_a_lower_bound_not_an_absurd_value() {
        // A large topic (10M messages) observed for one minute at 10 msg/s.
        let h = history(&[(10_000_000, 0), (10_000_600, 60_000)]);
        let lag = h.time_lag(0, 60_000);
        assert_eq!(lag.kind, TimeLagKind::AtLeast);
        assert_eq!(lag.seconds, Some(60.0));
        // Just before the history: a short, bounded extrapolation at the observed rate.
        let lag = h.time_lag(10_000_000 - 100, 60_000);
        assert_eq!(lag.kind, TimeLagKind::Estimate);
        assert!((lag.seconds.unwrap() - 70.0).abs() < 1e-9, "{lag:?}");
    }

    #[test]
    fn never_nan_or_negative() {
        let h = history(&[(5, 1_000), (5, 1_000), (9, 1_000)]);
        for c in -3..12 {
            let lag = h.time_lag(c, 500);
            if let Some(s) = lag.seconds {
                assert!(s.is_finite() && s >= 0.0, "{c}: {lag:?}");
            }
        }
    }

    #[test]
    fn an_end_that_goes_down_restarts_the_history() {
        let mut h = history(&[(100, 0), (200, 1_000)]);
        h.observe(3, 2_000);
        assert_eq!(h.len(), 1);
        assert_eq!(h.end_at(2_000), Some(3));
        assert_eq!(h.end_at(1_000), None);
    }

    #[test]
    fn memory_is_bounded_and_recent_history_keeps_poll_resolution() {
        let mut h = EndHistory::default();
        for i in 0..10_000i64 {
            h.observe(i * 10, i * 1_000);
        }
        assert_eq!(h.len(), HISTORY_POINTS);
        assert_eq!(h.heap_bytes(), HISTORY_POINTS * 16);
        let now = 9_999_000;
        // The oldest point is kept: the history still reaches back to the start.
        assert_eq!(h.time_lag(0, now).kind, TimeLagKind::Interpolated);
        // A consumer 5 s behind is placed to within a second.
        let five_s = h.time_lag(99_990 - 50, now).seconds.unwrap();
        assert!((five_s - 5.0).abs() <= 1.0, "{five_s}");
        // Rates come out right from the thinned history.
        let rate = h.produce_rate(now - 60_000, now).unwrap();
        assert!((rate - 10.0).abs() < 0.5, "{rate}");
    }

    #[test]
    fn a_history_longer_than_the_stored_span_keeps_its_last_49_days() {
        const DAY: i64 = 86_400_000;
        let mut h = history(&[(0, 0), (100, 15 * DAY), (200, 40 * DAY)]);
        assert_eq!(h.heap_bytes(), 4 * 16);
        // 60 days in: the point of day 0 is older than the span and goes; the rest keep their
        // exact times.
        h.observe(300, 60 * DAY);
        assert_eq!(h.len(), 3);
        assert_eq!(h.end_at(15 * DAY), Some(100));
        assert_eq!(h.end_at(14 * DAY), None);
        assert_eq!(h.end_at(60 * DAY), Some(300));
        let lag = h.time_lag(250, 60 * DAY);
        assert_eq!(lag.kind, TimeLagKind::Interpolated);
        assert_eq!(lag.since_ms, Some(40 * DAY + (20 * DAY) * 505 / 1000));
        // The same end seen again after a gap longer than the span starts over from that poll.
        h.observe(300, 200 * DAY);
        assert_eq!(h.len(), 1);
        assert_eq!(h.end_at(200 * DAY), Some(300));
        assert_eq!(h.end_at(199 * DAY), None);
    }

    #[test]
    fn produce_rate_needs_two_polls_and_counts_flat_stretches() {
        let h = history(&[(0, 0)]);
        assert_eq!(h.produce_rate(-10_000, 0), None);
        let h = history(&[(0, 0), (100, 10_000), (100, 20_000)]);
        assert_eq!(h.produce_rate(0, 20_000), Some(5.0));
        assert_eq!(h.produce_rate(10_000, 20_000), Some(0.0));
    }
}
