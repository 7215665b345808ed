//! Bounded time series that a model can hand out without copying them.
//!
//! A tracker owns one [`Recorder`] per figure and appends one value per poll; each model gets a
//! [`SeriesView`] of it. Values live in fixed chunks of [`CHUNK`] slots. Full chunks are sealed
//! and shared (`Arc`) by every view that covers them; the open chunk is shared too, because a
//! recorder only ever writes slots past the length any view was given: a view reads slots below
//! its own length, which are never written again. So a model update clones a few pointers per
//! series, whatever the history's length, and an hour of history is never copied.
//!
//! The slots are atomics so that the one writer and the views on other threads share them without
//! `unsafe`; relaxed ordering is enough because a view reaches another thread only through a
//! channel (the session's `watch`), which orders the writes before it.
//!
//! A sealed chunk whose points are all the same (an idle group's lag, rates and status) is kept as
//! that one value: an hour of an idle group's charts is a few hundred bytes, not 36 kB.
//!
//! Memory is bounded by the recorder's capacity: once a chunk is sealed, whole chunks that hold
//! only points beyond the capacity are dropped (the oldest), so a recorder holds fewer than
//! `capacity + 2 * CHUNK` points however long pipetop runs. A view keeps the chunks it covers alive
//! only as long as the model holding it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, Ordering};

/// Points per chunk: small enough that the open chunk wastes little, large enough that the list
/// of sealed chunks (rebuilt once per chunk) stays short.
pub const CHUNK: usize = 64;

/// Points an hour holds at the default 2 s refresh (the default `history` and `refresh`).
pub const DEFAULT_HISTORY_POINTS: usize = 1_800;

/// Points each series keeps: one per poll over `history` (the config's key), at least two.
pub fn history_points(history: std::time::Duration, refresh: std::time::Duration) -> usize {
    let refresh = refresh.as_millis().max(1);
    usize::try_from(history.as_millis().div_ceil(refresh))
        .unwrap_or(usize::MAX)
        .max(2)
}

/// A value a series can hold, stored in an atomic slot of the same size.
pub trait Slot: Send + Sync + 'static {
    type Value: Copy + Send + Sync + 'static;
    fn empty() -> Self;
    fn get(&self) -> Self::Value;
    fn set(&self, value: Self::Value);
    /// The value's bits: two points are the same point when these are equal (NaN included).
    fn bits(value: Self::Value) -> u64;
}

/// Figures: f32 keeps an hour of 1,000 groups small; `NaN` is "unknown at that poll".
impl Slot for AtomicU32 {
    type Value = f32;
    fn empty() -> Self {
        AtomicU32::new(f32::NAN.to_bits())
    }
    fn get(&self) -> f32 {
        f32::from_bits(self.load(Ordering::Relaxed))
    }
    fn set(&self, value: f32) {
        self.store(value.to_bits(), Ordering::Relaxed);
    }
    fn bits(value: f32) -> u64 {
        u64::from(value.to_bits())
    }
}

/// Poll times in Unix milliseconds (one time axis per source).
impl Slot for AtomicI64 {
    type Value = i64;
    fn empty() -> Self {
        AtomicI64::new(0)
    }
    fn get(&self) -> i64 {
        self.load(Ordering::Relaxed)
    }
    fn set(&self, value: i64) {
        self.store(value, Ordering::Relaxed);
    }
    fn bits(value: i64) -> u64 {
        value as u64
    }
}

/// Small codes (a status), one byte a point.
impl Slot for AtomicU8 {
    type Value = u8;
    fn empty() -> Self {
        AtomicU8::new(0)
    }
    fn get(&self) -> u8 {
        self.load(Ordering::Relaxed)
    }
    fn set(&self, value: u8) {
        self.store(value, Ordering::Relaxed);
    }
    fn bits(value: u8) -> u64 {
        u64::from(value)
    }
}

struct Chunk<S> {
    slots: [S; CHUNK],
}

impl<S: Slot> Chunk<S> {
    fn new() -> Arc<Chunk<S>> {
        Arc::new(Chunk {
            slots: std::array::from_fn(|_| S::empty()),
        })
    }
}

/// A full chunk as kept once sealed. A chunk whose points are all the same (an idle group's lag,
/// rates and status: most of the groups on a cluster that keeps old groups' commits) is kept as
/// that one value, 16 bytes instead of a chunk's 300; any other keeps its slots.
enum Sealed<S: Slot> {
    Slots(Arc<Chunk<S>>),
    Same(S::Value),
}

impl<S: Slot> Sealed<S> {
    fn of(chunk: Arc<Chunk<S>>) -> Sealed<S> {
        let first = chunk.slots[0].get();
        let same = chunk
            .slots
            .iter()
            .all(|s| S::bits(s.get()) == S::bits(first));
        if same {
            Sealed::Same(first)
        } else {
            Sealed::Slots(chunk)
        }
    }

    fn get(&self, slot: usize) -> S::Value {
        match self {
            Sealed::Slots(chunk) => chunk.slots[slot].get(),
            Sealed::Same(value) => *value,
        }
    }

    fn shares_storage_with(&self, other: &Sealed<S>) -> bool {
        match (self, other) {
            (Sealed::Slots(a), Sealed::Slots(b)) => Arc::ptr_eq(a, b),
            (Sealed::Same(a), Sealed::Same(b)) => S::bits(*a) == S::bits(*b),
            _ => false,
        }
    }
}

impl<S: Slot> Clone for Sealed<S> {
    fn clone(&self) -> Sealed<S> {
        match self {
            Sealed::Slots(chunk) => Sealed::Slots(Arc::clone(chunk)),
            Sealed::Same(value) => Sealed::Same(*value),
        }
    }
}

/// The writing end of one series. Owned by one tracker; each model gets a [`SeriesView`].
pub struct Recorder<S: Slot> {
    /// Full chunks, oldest first; replaced (not changed) when a chunk is sealed, so views share it.
    sealed: Arc<Vec<Sealed<S>>>,
    open: Arc<Chunk<S>>,
    open_len: usize,
    /// The poll number of the oldest point held (polls counted since the recorder's source began).
    first: u64,
    capacity: usize,
}

impl<S: Slot> Recorder<S> {
    /// A recorder keeping at least the last `capacity` points, starting at poll number `first`.
    pub fn new(capacity: usize, first: u64) -> Recorder<S> {
        Recorder {
            sealed: Arc::default(),
            open: Chunk::new(),
            open_len: 0,
            first,
            capacity: capacity.max(1),
        }
    }

    /// Points held now.
    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.open_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The poll number the next point will have.
    pub fn next_index(&self) -> u64 {
        self.first + self.len() as u64
    }

    pub fn push(&mut self, value: S::Value) {
        // Only this slot is written: every view handed out so far ends before it.
        self.open.slots[self.open_len].set(value);
        self.open_len += 1;
        if self.open_len == CHUNK {
            let mut sealed: Vec<Sealed<S>> = Vec::with_capacity(self.sealed.len() + 1);
            // Whole chunks beyond the capacity go; the newest `capacity` points always stay.
            let total = self.len();
            let drop = (total.saturating_sub(self.capacity) / CHUNK).min(self.sealed.len() + 1);
            let full = Sealed::of(Arc::clone(&self.open));
            let kept = self.sealed.iter().cloned().chain([full]);
            sealed.extend(kept.skip(drop));
            self.first += (drop * CHUNK) as u64;
            self.sealed = Arc::new(sealed);
            self.open = Chunk::new();
            self.open_len = 0;
        }
    }

    /// What a model holds: the points recorded so far, sharing their storage.
    pub fn view(&self) -> SeriesView<S> {
        SeriesView {
            sealed: Arc::clone(&self.sealed),
            open: Arc::clone(&self.open),
            open_len: self.open_len,
            first: self.first,
        }
    }

    /// Heap bytes held (chunks counted whole, sealed lists at their capacity).
    pub fn heap_bytes(&self) -> usize {
        let chunk = std::mem::size_of::<Chunk<S>>() + 2 * std::mem::size_of::<usize>();
        let with_slots = self
            .sealed
            .iter()
            .filter(|c| matches!(c, Sealed::Slots(_)))
            .count();
        (with_slots + 1) * chunk
            + self.sealed.capacity() * std::mem::size_of::<Sealed<S>>()
            + 2 * std::mem::size_of::<usize>()
    }
}

/// A copy owns its own open chunk: two recorders writing one shared chunk would overwrite points
/// the other's views already read. (The session is cloned by benchmarks and `--window` polling.)
impl<S: Slot> Clone for Recorder<S> {
    fn clone(&self) -> Recorder<S> {
        let open = Chunk::<S>::new();
        for (to, from) in open.slots.iter().zip(&self.open.slots).take(self.open_len) {
            to.set(from.get());
        }
        Recorder {
            sealed: Arc::clone(&self.sealed),
            open,
            open_len: self.open_len,
            first: self.first,
            capacity: self.capacity,
        }
    }
}

impl<S: Slot> std::fmt::Debug for Recorder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recorder({} points from {})", self.len(), self.first)
    }
}

/// The points of one series as of one model: immutable, cheap to clone, read by index.
pub struct SeriesView<S: Slot> {
    sealed: Arc<Vec<Sealed<S>>>,
    open: Arc<Chunk<S>>,
    open_len: usize,
    first: u64,
}

impl<S: Slot> Clone for SeriesView<S> {
    fn clone(&self) -> SeriesView<S> {
        SeriesView {
            sealed: Arc::clone(&self.sealed),
            open: Arc::clone(&self.open),
            open_len: self.open_len,
            first: self.first,
        }
    }
}

impl<S: Slot> Default for SeriesView<S> {
    fn default() -> SeriesView<S> {
        Recorder::new(1, 0).view()
    }
}

impl<S: Slot> std::fmt::Debug for SeriesView<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeriesView({} points from {})", self.len(), self.first)
    }
}

impl<S: Slot> SeriesView<S> {
    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.open_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The poll number of the first point.
    pub fn first_index(&self) -> u64 {
        self.first
    }

    /// The point at poll number `index`, if held.
    pub fn at(&self, index: u64) -> Option<S::Value> {
        let i = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.get(i)
    }

    /// The `i`-th point held, oldest first.
    pub fn get(&self, i: usize) -> Option<S::Value> {
        let (chunk, slot) = (i / CHUNK, i % CHUNK);
        match self.sealed.get(chunk) {
            Some(c) => Some(c.get(slot)),
            None if chunk == self.sealed.len() && slot < self.open_len => {
                Some(self.open.slots[slot].get())
            }
            None => None,
        }
    }

    pub fn last(&self) -> Option<S::Value> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every point, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = S::Value> + '_ {
        let sealed = self
            .sealed
            .iter()
            .flat_map(|c| (0..CHUNK).map(|slot| c.get(slot)));
        let open = self.open.slots[..self.open_len].iter().map(Slot::get);
        sealed.chain(open)
    }

    /// Whether two views share their stored points (chunk for chunk): for tests of the sharing.
    pub fn shares_storage_with(&self, other: &SeriesView<S>) -> bool {
        Arc::ptr_eq(&self.open, &other.open)
            && self
                .sealed
                .iter()
                .zip(other.sealed.iter())
                .all(|(a, b)| a.shares_storage_with(b))
    }
}

/// A figure's series (f32, NaN for unknown).
pub type Values = SeriesView<AtomicU32>;
/// A source's poll times (Unix ms).
pub type Times = SeriesView<AtomicI64>;
/// A status's series (small codes).
pub type Codes = SeriesView<AtomicU8>;

pub type ValueRecorder = Recorder<AtomicU32>;
pub type TimeRecorder = Recorder<AtomicI64>;
pub type CodeRecorder = Recorder<AtomicU8>;

/// An optional figure as a point: unknown is NaN, never 0.
pub fn point(value: Option<f64>) -> f32 {
    value
        .filter(|v| v.is_finite())
        .map_or(f32::NAN, |v| v as f32)
}

/// One series against its source's time axis: (Unix ms, value) for the points both hold, oldest
/// first, from `since_ms` on; unknown values are left out.
pub fn timed(times: &Times, values: &Values, since_ms: i64) -> Vec<(i64, f32)> {
    let from = times.first_index().max(values.first_index());
    let to =
        (times.first_index() + times.len() as u64).min(values.first_index() + values.len() as u64);
    if from >= to {
        return Vec::new();
    }
    // Poll times only grow: the first point in the window is found by bisection, so a window of
    // 15 minutes reads 15 minutes of points, not the whole hour.
    let (mut lo, mut hi) = (from, to);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if times.at(mid).is_some_and(|t| t < since_ms) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo..to)
        .filter_map(|i| Some((times.at(i)?, values.at(i)?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(capacity: usize, n: usize) -> ValueRecorder {
        let mut r = ValueRecorder::new(capacity, 0);
        for i in 0..n {
            r.push(i as f32);
        }
        r
    }

    #[test]
    fn keeps_the_newest_points_in_order() {
        let r = filled(1000, 200);
        let v = r.view();
        assert_eq!(v.len(), 200);
        assert_eq!(v.get(0), Some(0.0));
        assert_eq!(v.last(), Some(199.0));
        assert_eq!(v.iter().count(), 200);
        assert!(v.iter().enumerate().all(|(i, x)| x == i as f32));
        assert_eq!(v.at(150), Some(150.0));
        assert_eq!(v.get(200), None);
    }

    #[test]
    fn evicts_whole_chunks_beyond_the_capacity() {
        let r = filled(100, 1_000);
        let v = r.view();
        // The newest 100 always stay; less than two chunks more.
        assert!(v.len() >= 100 && v.len() < 100 + 2 * CHUNK, "{}", v.len());
        assert_eq!(v.last(), Some(999.0));
        assert_eq!(v.first_index() + v.len() as u64, 1_000);
        assert_eq!(v.at(v.first_index()), Some(v.first_index() as f32));
        assert_eq!(v.at(0), None, "the oldest points are gone");
    }

    #[test]
    fn memory_does_not_grow_with_uptime() {
        // Two hours of points at the one-hour capacity: past the first eviction.
        let mut r = filled(1_800, 3_600);
        let steady = r.heap_bytes();
        for i in 0..100_000 {
            r.push(i as f32);
            assert!(r.len() >= 1_800 && r.len() < 1_800 + 2 * CHUNK);
        }
        assert_eq!(r.heap_bytes(), steady);
    }

    #[test]
    fn views_share_storage_and_never_see_later_points() {
        let mut r = filled(1_000, 130);
        let before = r.view();
        r.push(130.0);
        let after = r.view();
        // The sealed chunks and the open chunk are the same allocations: nothing was copied.
        assert!(before.shares_storage_with(&after));
        assert_eq!(before.len(), 130);
        assert_eq!(before.last(), Some(129.0));
        assert_eq!(after.last(), Some(130.0));
        // Sealing a chunk keeps the earlier views intact.
        for i in 131..300 {
            r.push(i as f32);
        }
        assert_eq!(before.iter().count(), 130);
        assert_eq!(before.last(), Some(129.0));
        assert!(before.iter().enumerate().all(|(i, x)| x == i as f32));
    }

    #[test]
    fn a_chunk_of_one_value_is_kept_as_that_value() {
        let mut idle = ValueRecorder::new(1_000, 0);
        let mut moving = ValueRecorder::new(1_000, 0);
        let mut unknown = ValueRecorder::new(1_000, 0);
        for i in 0..5 * CHUNK {
            idle.push(42.0);
            // One point in each chunk differs: the chunk keeps its slots.
            moving.push(if i % CHUNK == 7 { 43.0 } else { 42.0 });
            unknown.push(f32::NAN);
        }
        let (iv, mv, uv) = (idle.view(), moving.view(), unknown.view());
        assert_eq!(iv.len(), 5 * CHUNK);
        assert!(iv.iter().all(|x| x == 42.0));
        assert_eq!(iv.get(3 * CHUNK + 5), Some(42.0));
        assert!(uv.iter().all(f32::is_nan), "unknown stays unknown");
        assert!(
            mv.iter()
                .enumerate()
                .all(|(i, x)| { x == if i % CHUNK == 7 { 43.0 } else { 42.0 } })
        );
        assert_eq!(mv.get(2 * CHUNK + 7), Some(43.0));
        // Five sealed chunks: the idle series holds one chunk of slots (the open one), the
        // moving series six.
        let chunk = std::mem::size_of::<Chunk<AtomicU32>>();
        assert!(moving.heap_bytes() >= 6 * chunk, "{}", moving.heap_bytes());
        assert!(idle.heap_bytes() < 2 * chunk, "{}", idle.heap_bytes());
        assert_eq!(idle.heap_bytes(), unknown.heap_bytes());
        // Later views share the sealed values as they share sealed slots.
        idle.push(42.0);
        assert!(iv.shares_storage_with(&idle.view()));
    }

    #[test]
    fn a_cloned_recorder_does_not_write_into_the_originals_views() {
        let mut a = filled(1_000, 10);
        let view = a.view();
        let mut b = a.clone();
        b.push(-1.0);
        a.push(10.0);
        assert_eq!(a.view().last(), Some(10.0));
        assert_eq!(b.view().last(), Some(-1.0));
        assert_eq!(view.len(), 10);
    }

    #[test]
    fn timed_aligns_a_late_series_with_its_time_axis() {
        let mut times = TimeRecorder::new(1_000, 0);
        for i in 0..10 {
            times.push(i * 1_000);
        }
        let mut values = ValueRecorder::new(1_000, 6);
        values.push(1.0);
        values.push(f32::NAN);
        values.push(3.0);
        let points = timed(&times.view(), &values.view(), 0);
        assert_eq!(points, vec![(6_000, 1.0), (8_000, 3.0)]);
        assert_eq!(
            timed(&times.view(), &values.view(), 7_000),
            vec![(8_000, 3.0)]
        );
    }
}
