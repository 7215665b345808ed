//! One group-partition's row of the model: its offsets and lag, time lag, rates, idle time and
//! status, stored compact (a million of them at scale).

use std::sync::Arc;

use serde::Serialize;

use super::history::TimeLagKind;
use super::status::Status;
use crate::compact::{OptAge, OptF32, OptI64};

/// One group-partition's row. A million of them at scale, so stored compact (40 bytes, not
/// 168): optional numbers without `Option` tags (see `crate::compact`), read through methods that
/// return the `Option`s, the lag computed from the offsets rather than stored, and the topic and
/// owner kept once per group (`rows::Rows`, which reads a row with both as a `rows::Row`). 40
/// bytes puts a group's 200 rows in jemalloc's 8 KiB size class (48 bytes took 10 KiB), in each
/// of the two models alive while the next is derived.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionLag {
    committed: OptI64,
    end: OptI64,
    /// Age of the oldest unconsumed message, seconds (0 when caught up), to the ms.
    time_lag_s: OptAge,
    /// Messages per second produced into the partition / committed by the group, over the same
    /// recent window (up to the last ~20 s). Shown, and summed into the group's and topic's
    /// rates in `f64`, so 32 bits: 7 significant digits, where the window's own noise is in the
    /// third.
    produce_rate: OptF32,
    consume_rate: OptF32,
    pub partition: i32,
    /// Seconds work has waited without the committed offset moving (what STOP is judged on):
    /// shown, never summed, so 32 bits (to the ms for 4 hours, to 0.1 s for 19 days).
    idle_s: OptF32,
    /// The owner's index, the offset flag, how the time lag was obtained and the status.
    tags: Tags,
}

/// A row's owner index (23 bits: which of the group's owners, or none) and its three small
/// enums (3 bits each) in one `u32`, so the row is 40 bytes rather than 48.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tags(u32);

/// The owner index that means none; a group with more owners than this names the rest none.
const NO_OWNER: u32 = (1 << 23) - 1;
const FLAG_SHIFT: u32 = 23;
const KIND_SHIFT: u32 = 26;
const STATUS_SHIFT: u32 = 29;
const THREE_BITS: u32 = 0b111;

/// Each enum by its discriminant (a test checks the order).
const FLAGS: [OffsetFlag; 5] = [
    OffsetFlag::Ok,
    OffsetFlag::NoCommit,
    OffsetFlag::UnknownPartition,
    OffsetFlag::AheadOfEnd,
    OffsetFlag::BelowLogStart,
];
const KINDS: [TimeLagKind; 6] = [
    TimeLagKind::Exact,
    TimeLagKind::Interpolated,
    TimeLagKind::LookedUp,
    TimeLagKind::Estimate,
    TimeLagKind::AtLeast,
    TimeLagKind::Unknown,
];
const STATUSES: [Status; 7] = [
    Status::Ok,
    Status::Unknown,
    Status::NoCommit,
    Status::Warn,
    Status::Stall,
    Status::Rewind,
    Status::Stop,
];

impl Tags {
    fn new(owner: Option<usize>, flag: OffsetFlag) -> Tags {
        let owner = owner
            .and_then(|i| u32::try_from(i).ok())
            .filter(|&i| i < NO_OWNER)
            .unwrap_or(NO_OWNER);
        Tags(owner)
            .with(FLAG_SHIFT, flag as u32)
            .with(KIND_SHIFT, TimeLagKind::Unknown as u32)
            .with(STATUS_SHIFT, Status::Unknown as u32)
    }

    fn with(self, shift: u32, code: u32) -> Tags {
        Tags((self.0 & !(THREE_BITS << shift)) | ((code & THREE_BITS) << shift))
    }

    fn code(self, shift: u32) -> usize {
        ((self.0 >> shift) & THREE_BITS) as usize
    }

    fn owner(self) -> Option<usize> {
        let i = self.0 & NO_OWNER;
        (i != NO_OWNER).then_some(i as usize)
    }

    fn flag(self) -> OffsetFlag {
        FLAGS
            .get(self.code(FLAG_SHIFT))
            .copied()
            .unwrap_or(OffsetFlag::Ok)
    }

    fn kind(self) -> TimeLagKind {
        KINDS
            .get(self.code(KIND_SHIFT))
            .copied()
            .unwrap_or(TimeLagKind::Unknown)
    }

    fn status(self) -> Status {
        STATUSES
            .get(self.code(STATUS_SHIFT))
            .copied()
            .unwrap_or(Status::Unknown)
    }
}

impl PartitionLag {
    /// A row of offsets alone: time lag, rates, idle time and status are not known yet. `owner`
    /// indexes the group's owners (`rows::Rows`).
    pub fn new(
        partition: i32,
        committed: Option<i64>,
        end: Option<i64>,
        flag: OffsetFlag,
        owner: Option<usize>,
    ) -> PartitionLag {
        PartitionLag {
            committed: OptI64::new(committed),
            end: OptI64::new(end),
            time_lag_s: OptAge::NONE,
            produce_rate: OptF32::NONE,
            consume_rate: OptF32::NONE,
            partition,
            idle_s: OptF32::NONE,
            tags: Tags::new(owner, flag),
        }
    }

    /// Which of the group's owners owns the partition, if any.
    pub fn owner_index(&self) -> Option<usize> {
        self.tags.owner()
    }

    /// Whether the committed offset can be taken at face value.
    pub fn flag(&self) -> OffsetFlag {
        self.tags.flag()
    }

    pub fn set_flag(&mut self, flag: OffsetFlag) {
        self.tags = self.tags.with(FLAG_SHIFT, flag as u32);
    }

    /// How the time lag was obtained.
    pub fn time_lag_kind(&self) -> TimeLagKind {
        self.tags.kind()
    }

    pub fn status(&self) -> Status {
        self.tags.status()
    }

    pub fn set_status(&mut self, status: Status) {
        self.tags = self.tags.with(STATUS_SHIFT, status as u32);
    }

    /// The group's committed offset, if it committed here.
    pub fn committed(&self) -> Option<i64> {
        self.committed.get()
    }

    /// The log end offset, if known.
    pub fn end(&self) -> Option<i64> {
        self.end.get()
    }

    /// `end − committed` (0 when committed beyond the end), where both are known.
    pub fn lag(&self) -> Option<u64> {
        let (committed, end) = (self.committed.get()?, self.end.get()?);
        Some(u64::try_from(end.saturating_sub(committed)).unwrap_or(0))
    }

    /// Age of the oldest unconsumed message, seconds (to the ms); `time_lag_kind` says how it
    /// was obtained.
    pub fn time_lag_s(&self) -> Option<f64> {
        self.time_lag_s.get()
    }

    pub fn produce_rate(&self) -> Option<f64> {
        self.produce_rate.get().map(f64::from)
    }

    pub fn consume_rate(&self) -> Option<f64> {
        self.consume_rate.get().map(f64::from)
    }

    /// Seconds work has waited without the committed offset moving.
    pub fn idle_s(&self) -> Option<f64> {
        self.idle_s.get().map(f64::from)
    }

    pub fn set_offsets(&mut self, committed: Option<i64>, end: Option<i64>) {
        self.committed = OptI64::new(committed);
        self.end = OptI64::new(end);
    }

    pub fn set_time_lag(&mut self, seconds: Option<f64>, kind: TimeLagKind) {
        self.time_lag_s = OptAge::new(seconds);
        self.tags = self.tags.with(KIND_SHIFT, kind as u32);
    }

    /// Rounded to the nearest `f32` (see the fields).
    pub fn set_rates(&mut self, produce: Option<f64>, consume: Option<f64>) {
        self.produce_rate = rate(produce);
        self.consume_rate = rate(consume);
    }

    pub fn set_consume_rate(&mut self, consume: Option<f64>) {
        self.consume_rate = rate(consume);
    }

    pub fn set_idle_s(&mut self, idle_s: Option<f64>) {
        // Rounded to the nearest `f32`: a display figure.
        self.idle_s = OptF32::new(idle_s.map(|s| s as f32));
    }

    /// The row as JSON with its topic and owner, as the plain fields would serialize.
    pub(super) fn serialize_as_row<S: serde::Serializer>(
        &self,
        topic: &Arc<str>,
        owner: Option<&str>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut row = serializer.serialize_struct("PartitionLag", 13)?;
        row.serialize_field("topic", &**topic)?;
        row.serialize_field("partition", &self.partition)?;
        row.serialize_field("committed", &self.committed())?;
        row.serialize_field("end", &self.end())?;
        row.serialize_field("lag", &self.lag())?;
        row.serialize_field("flag", &self.flag())?;
        row.serialize_field("owner", &owner)?;
        row.serialize_field("time_lag_s", &self.time_lag_s())?;
        row.serialize_field("time_lag_kind", &self.time_lag_kind())?;
        row.serialize_field("status", &self.status())?;
        // The `f32`s themselves: each prints as the shortest decimal that reads back to it (2.5,
        // not 2.5000000xxx).
        row.serialize_field("produce_rate", &self.produce_rate.get())?;
        row.serialize_field("consume_rate", &self.consume_rate.get())?;
        row.serialize_field("idle_s", &self.idle_s.get())?;
        row.end()
    }
}

/// A rate as stored in a row: the nearest `f32`.
fn rate(per_s: Option<f64>) -> OptF32 {
    OptF32::new(per_s.map(|r| r as f32))
}

/// Committed offsets that cannot be taken at face value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetFlag {
    Ok,
    /// Assigned, but the group never committed here.
    NoCommit,
    /// The topic or partition no longer exists (deleted, or metadata missing).
    UnknownPartition,
    /// Committed beyond the log end: the log was truncated (unclean leader election, recreated topic).
    AheadOfEnd,
    /// Committed before the log start: those messages were deleted by retention before being read.
    BelowLogStart,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each enum reads back as set, whatever the others and the owner are, and the row is 40
    /// bytes.
    #[test]
    fn tags_read_back_as_set() {
        assert!(FLAGS.iter().enumerate().all(|(i, &f)| f as usize == i));
        assert!(KINDS.iter().enumerate().all(|(i, &k)| k as usize == i));
        assert!(STATUSES.iter().enumerate().all(|(i, &s)| s as usize == i));
        for owner in [None, Some(0), Some(7), Some(NO_OWNER as usize - 1)] {
            for &flag in &FLAGS {
                let mut row = PartitionLag::new(3, Some(1), Some(2), flag, owner);
                assert_eq!(row.time_lag_kind(), TimeLagKind::Unknown);
                assert_eq!(row.status(), Status::Unknown);
                for &kind in &KINDS {
                    for &status in &STATUSES {
                        row.set_time_lag(Some(1.5), kind);
                        row.set_status(status);
                        assert_eq!(
                            (
                                row.owner_index(),
                                row.flag(),
                                row.time_lag_kind(),
                                row.status()
                            ),
                            (owner, flag, kind, status)
                        );
                    }
                }
                row.set_flag(OffsetFlag::AheadOfEnd);
                assert_eq!(
                    (row.owner_index(), row.flag(), row.status()),
                    (owner, OffsetFlag::AheadOfEnd, Status::Stop)
                );
            }
        }
        // An index the tags cannot hold names no owner rather than another one.
        let row = PartitionLag::new(0, None, None, OffsetFlag::Ok, Some(NO_OWNER as usize));
        assert_eq!(row.owner_index(), None);
        assert_eq!(std::mem::size_of::<PartitionLag>(), 40);
    }
}
