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
//! that one value: an hour of an idle group's charts is a few hundred bytes, not 36 kB. One whose
//! points follow a trend closely (a stopped consumer's time lag, poll times) is kept as that line
//! and each point's few bits of distance from it (`packed_chunk`).
//!
//! Memory is bounded by the recorder's capacity: once a chunk is sealed, whole chunks that hold
//! only points beyond the capacity are dropped (the oldest), so a recorder holds fewer than
//! `capacity + 2 * CHUNK` points however long pipetop runs. A view keeps the chunks it covers alive
//! only as long as the model holding it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, Ordering};

use super::packed_chunk::PackedChunk;

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
    /// The value whose `bits` these are.
    fn from_bits(bits: u64) -> Self::Value;
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
    fn from_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
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
    fn from_bits(bits: u64) -> i64 {
        bits as i64
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
    fn from_bits(bits: u64) -> u8 {
        bits as u8
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
/// that one value, 16 bytes instead of a chunk's 300; one whose points follow a line closely (a
/// stopped consumer's time lag grows by a poll interval each poll) as that line and the points'
/// distances from it, about 100 bytes; any other keeps its slots.
enum Sealed<S: Slot> {
    Slots(Arc<Chunk<S>>),
    Same(S::Value),
    Packed(PackedChunk),
}

/// A plain chunk's allocation: its slots and the `Arc`'s counts.
fn plain_bytes<S>() -> usize {
    std::mem::size_of::<Chunk<S>>() + 2 * std::mem::size_of::<usize>()
}

impl<S: Slot> Sealed<S> {
    fn of(chunk: Arc<Chunk<S>>) -> Sealed<S> {
        let bits: [u64; CHUNK] = std::array::from_fn(|i| S::bits(chunk.slots[i].get()));
        if bits.iter().all(|&b| b == bits[0]) {
            return Sealed::Same(S::from_bits(bits[0]));
        }
        match PackedChunk::pack(&bits, plain_bytes::<S>()) {
            Some(packed) => Sealed::Packed(packed),
            None => Sealed::Slots(chunk),
        }
    }

    fn get(&self, slot: usize) -> S::Value {
        match self {
            Sealed::Slots(chunk) => chunk.slots[slot].get(),
            Sealed::Same(value) => *value,
            Sealed::Packed(packed) => S::from_bits(packed.get(slot)),
        }
    }

    /// Heap bytes of the chunk's own allocation.
    fn heap_bytes(&self) -> usize {
        match self {
            Sealed::Slots(_) => plain_bytes::<S>(),
            Sealed::Same(_) => 0,
            Sealed::Packed(packed) => packed.heap_bytes(),
        }
    }

    /// Whether this chunk is `value` at every point.
    fn is_the_value(&self, value: S::Value) -> bool {
        matches!(self, Sealed::Same(v) if S::bits(*v) == S::bits(value))
    }

    fn shares_storage_with(&self, other: &Sealed<S>) -> bool {
        match (self, other) {
            (Sealed::Slots(a), Sealed::Slots(b)) => Arc::ptr_eq(a, b),
            (Sealed::Same(a), Sealed::Same(b)) => S::bits(*a) == S::bits(*b),
            (Sealed::Packed(a), Sealed::Packed(b)) => a.same_storage(b),
            _ => false,
        }
    }
}

impl<S: Slot> Clone for Sealed<S> {
    fn clone(&self) -> Sealed<S> {
        match self {
            Sealed::Slots(chunk) => Sealed::Slots(Arc::clone(chunk)),
            Sealed::Same(value) => Sealed::Same(*value),
            Sealed::Packed(packed) => Sealed::Packed(packed.clone()),
        }
    }
}

/// A series' sealed chunks, oldest first. While every one of them is the same single value (an
/// idle group's lag, rates and status, for as long as it stays idle: most series on a cluster
/// that keeps old groups) the list is that value and a count, not 16 bytes a chunk.
enum SealedList<S: Slot> {
    Uniform { chunks: usize, value: S::Value },
    Chunks(Vec<Sealed<S>>),
}

impl<S: Slot> SealedList<S> {
    const EMPTY: SealedList<S> = SealedList::Chunks(Vec::new());

    fn len(&self) -> usize {
        match self {
            SealedList::Uniform { chunks, .. } => *chunks,
            SealedList::Chunks(chunks) => chunks.len(),
        }
    }

    /// Point `slot` of chunk `chunk`, if that chunk is held.
    fn get(&self, chunk: usize, slot: usize) -> Option<S::Value> {
        match self {
            SealedList::Uniform { chunks, value } => (chunk < *chunks).then_some(*value),
            SealedList::Chunks(chunks) => chunks.get(chunk).map(|c| c.get(slot)),
        }
    }

    /// This list with `full` sealed after it and its `drop` oldest chunks gone (`drop` is at
    /// most `len() + 1`).
    fn with(&self, full: Sealed<S>, drop: usize) -> SealedList<S> {
        if let SealedList::Uniform { chunks, value } = self
            && full.is_the_value(*value)
        {
            return SealedList::Uniform {
                chunks: chunks + 1 - drop,
                value: *value,
            };
        }
        let mut kept: Vec<Sealed<S>> = Vec::with_capacity(self.len() + 1 - drop);
        match self {
            SealedList::Uniform { chunks, value } => {
                kept.extend((0..*chunks).map(|_| Sealed::Same(*value)).skip(drop));
            }
            SealedList::Chunks(chunks) => kept.extend(chunks.iter().skip(drop).cloned()),
        }
        if drop <= self.len() {
            kept.push(full);
        }
        // One value throughout again (the last other chunk just went): that value and a count.
        match kept.first() {
            Some(&Sealed::Same(value)) if kept.iter().all(|c| c.is_the_value(value)) => {
                SealedList::Uniform {
                    chunks: kept.len(),
                    value,
                }
            }
            _ => SealedList::Chunks(kept),
        }
    }

    /// Heap bytes of the chunks and of the list's own room.
    fn heap_bytes(&self) -> usize {
        match self {
            SealedList::Uniform { .. } => 0,
            SealedList::Chunks(chunks) => {
                chunks.iter().map(Sealed::heap_bytes).sum::<usize>()
                    + chunks.capacity() * std::mem::size_of::<Sealed<S>>()
            }
        }
    }

    fn shares_storage_with(&self, other: &SealedList<S>) -> bool {
        match (self, other) {
            (SealedList::Uniform { value: a, .. }, SealedList::Uniform { value: b, .. }) => {
                S::bits(*a) == S::bits(*b)
            }
            (SealedList::Chunks(a), SealedList::Chunks(b)) => {
                a.iter().zip(b).all(|(a, b)| a.shares_storage_with(b))
            }
            _ => false,
        }
    }
}

/// The writing end of one series. Owned by one tracker; each model gets a [`SeriesView`].
pub struct Recorder<S: Slot> {
    /// Full chunks, oldest first; replaced (not changed) when a chunk is sealed, so views share it.
    sealed: Arc<SealedList<S>>,
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
            sealed: Arc::new(SealedList::EMPTY),
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
            // Whole chunks beyond the capacity go; the newest `capacity` points always stay.
            let total = self.len();
            let drop = (total.saturating_sub(self.capacity) / CHUNK).min(self.sealed.len() + 1);
            let full = Sealed::of(Arc::clone(&self.open));
            self.first += (drop * CHUNK) as u64;
            self.sealed = Arc::new(self.sealed.with(full, drop));
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
        self.sealed.heap_bytes()
            + plain_bytes::<S>()
            + std::mem::size_of::<SealedList<S>>()
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
    sealed: Arc<SealedList<S>>,
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
        match self.sealed.get(chunk, slot) {
            Some(value) => Some(value),
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
        let sealed = (0..self.sealed.len())
            .flat_map(move |c| (0..CHUNK).filter_map(move |slot| self.sealed.get(c, slot)));
        let open = self.open.slots[..self.open_len].iter().map(Slot::get);
        sealed.chain(open)
    }

    /// Whether two views share their stored points (chunk for chunk): for tests of the sharing.
    pub fn shares_storage_with(&self, other: &SeriesView<S>) -> bool {
        Arc::ptr_eq(&self.open, &other.open) && self.sealed.shares_storage_with(&other.sealed)
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
        // Five sealed chunks: the idle series holds one chunk of slots (the open one); the
        // moving one's sealed chunks are packed along their line, smaller than slots.
        let chunk = std::mem::size_of::<Chunk<AtomicU32>>();
        assert!(idle.heap_bytes() < 2 * chunk, "{}", idle.heap_bytes());
        assert!(moving.heap_bytes() > idle.heap_bytes() + 5 * 100);
        // Plain, they would take six chunks (five sealed, one open).
        assert!(moving.heap_bytes() < 6 * chunk, "{}", moving.heap_bytes());
        assert_eq!(idle.heap_bytes(), unknown.heap_bytes());
        // Later views share the sealed values as they share sealed slots.
        idle.push(42.0);
        assert!(iv.shares_storage_with(&idle.view()));
    }

    /// An idle series keeps its sealed chunks as one value and a count; a chunk that moves makes
    /// it a list until that chunk is evicted, and every point reads back as pushed throughout.
    #[test]
    fn a_series_of_one_value_keeps_a_count_not_a_list() {
        let capacity = 4 * CHUNK;
        let mut r = ValueRecorder::new(capacity, 0);
        let mut pushed = Vec::new();
        fn push(r: &mut ValueRecorder, pushed: &mut Vec<f32>, value: f32) {
            r.push(value);
            pushed.push(value);
        }
        for _ in 0..3 * CHUNK {
            push(&mut r, &mut pushed, 7.0);
        }
        assert!(matches!(
            *r.sealed,
            SealedList::Uniform { chunks: 3, value } if value == 7.0
        ));
        let idle = r.heap_bytes();
        // One chunk with a spike: a list of chunks, for as long as that chunk is held.
        for i in 0..CHUNK {
            push(&mut r, &mut pushed, if i == 9 { 8.0 } else { 7.0 });
        }
        assert!(matches!(&*r.sealed, SealedList::Chunks(c) if c.len() == 4));
        assert!(r.heap_bytes() > idle);
        let v = r.view();
        assert_eq!(v.get(3 * CHUNK + 9), Some(8.0));
        assert!(v.iter().eq(pushed.iter().copied()));
        // Idle again until the spike's chunk is evicted: one value and a count once more.
        let mut polls = 0;
        while matches!(&*r.sealed, SealedList::Chunks(_)) {
            push(&mut r, &mut pushed, 7.0);
            polls += 1;
            assert!(polls <= capacity + 2 * CHUNK, "never evicted");
        }
        let v = r.view();
        let first = usize::try_from(v.first_index()).unwrap();
        assert!(v.iter().eq(pushed[first..].iter().copied()));
        assert!(v.iter().all(|x| x == 7.0));
        assert_eq!(r.heap_bytes(), idle);
        // Unknown (NaN) is one value too, and a different one from any number.
        let mut unknown = ValueRecorder::new(capacity, 0);
        for _ in 0..2 * CHUNK {
            unknown.push(f32::NAN);
        }
        assert!(matches!(
            *unknown.sealed,
            SealedList::Uniform { chunks: 2, .. }
        ));
        for _ in 0..CHUNK {
            unknown.push(0.0);
        }
        assert!(matches!(&*unknown.sealed, SealedList::Chunks(c) if c.len() == 3));
        assert!(unknown.view().iter().take(2 * CHUNK).all(f32::is_nan));
    }

    #[test]
    fn chunks_along_a_trend_are_packed_and_read_back_exactly() {
        // A stopped consumer's time lag: a poll interval more each poll, with the poll's jitter;
        // poll times; and figures that jump about, which keep their slots.
        let mut ramp = ValueRecorder::new(10_000, 0);
        let mut times = TimeRecorder::new(10_000, 0);
        let mut noisy = ValueRecorder::new(10_000, 0);
        let ramp_at = |i: usize| 60.0 + i as f32 * 2.0 + (i * 7 % 5) as f32 * 0.003;
        let time_at = |i: usize| 1_764_800_000_000 + i as i64 * 2_000 + (i * 13 % 17) as i64;
        let noise_at = |i: usize| match i % 4 {
            0 => f32::NAN,
            1 => -1.0e9 * i as f32,
            2 => 1.0e-9 / (i + 1) as f32,
            _ => f32::from_bits((i as u32).wrapping_mul(0x9E37_79B9)),
        };
        let n = 20 * CHUNK + 5;
        for i in 0..n {
            ramp.push(ramp_at(i));
            times.push(time_at(i));
            noisy.push(noise_at(i));
        }
        let (rv, tv, nv) = (ramp.view(), times.view(), noisy.view());
        for i in 0..n {
            assert_eq!(rv.get(i).map(f32::to_bits), Some(ramp_at(i).to_bits()));
            assert_eq!(tv.get(i), Some(time_at(i)));
            assert_eq!(nv.get(i).map(f32::to_bits), Some(noise_at(i).to_bits()));
        }
        assert!(
            rv.iter()
                .map(f32::to_bits)
                .eq((0..n).map(|i| ramp_at(i).to_bits()))
        );
        let plain = |sealed: usize, slots: usize| sealed * (slots + 16) + slots + 16;
        let f32_chunk = std::mem::size_of::<Chunk<AtomicU32>>();
        let i64_chunk = std::mem::size_of::<Chunk<AtomicI64>>();
        assert!(
            ramp.heap_bytes() < plain(20, f32_chunk) * 3 / 5,
            "{}",
            ramp.heap_bytes()
        );
        assert!(
            times.heap_bytes() < plain(20, i64_chunk) / 3,
            "{}",
            times.heap_bytes()
        );
        assert!(
            noisy.heap_bytes() >= plain(20, f32_chunk),
            "{}",
            noisy.heap_bytes()
        );
        // A chunk list's entry is no larger for the packed kind.
        assert_eq!(std::mem::size_of::<Sealed<AtomicU32>>(), 16);
        assert_eq!(std::mem::size_of::<Sealed<AtomicI64>>(), 16);
        // Views share packed chunks as they share slots.
        ramp.push(0.0);
        assert!(rv.shares_storage_with(&ramp.view()));
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
