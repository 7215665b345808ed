//! One group-partition's row of the model: its offsets and lag, time lag, rates, idle time and
//! status, stored compact (a million of them at scale).

use std::sync::Arc;

use serde::Serialize;

use super::history::TimeLagKind;
use super::status::Status;
use crate::compact::{OptF32, OptF64, OptI64};

/// One group-partition's row. A million of them at scale, so stored compact (48 bytes, not
/// 168): optional numbers without `Option` tags (see `crate::compact`), read through methods that
/// return the `Option`s, the lag computed from the offsets rather than stored, and the topic and
/// owner kept once per group (`rows::Rows`, which reads a row with both as a `rows::Row`).
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionLag {
    committed: OptI64,
    end: OptI64,
    /// Age of the oldest unconsumed message, seconds (0 when caught up, never NaN).
    time_lag_s: OptF64,
    /// Messages per second produced into the partition / committed by the group, over the same
    /// recent window (up to the last ~20 s). Shown, and summed into the group's and topic's
    /// rates in `f64`, so 32 bits: 7 significant digits, where the window's own noise is in the
    /// third. It makes a row 48 bytes, not 56: a group's 200 rows take jemalloc's 10 KiB size
    /// class instead of 12 KiB, in each of the two models alive while the next is derived.
    produce_rate: OptF32,
    consume_rate: OptF32,
    pub partition: i32,
    /// Seconds work has waited without the committed offset moving (what STOP is judged on):
    /// shown, never summed, so 32 bits (to the ms for 4 hours, to 0.1 s for 19 days).
    idle_s: OptF32,
    /// The member that owns the partition, as an index into its group's owners (`u32::MAX`:
    /// none).
    owner: u32,
    pub flag: OffsetFlag,
    pub time_lag_kind: TimeLagKind,
    pub status: Status,
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
            time_lag_s: OptF64::NONE,
            produce_rate: OptF32::NONE,
            consume_rate: OptF32::NONE,
            partition,
            idle_s: OptF32::NONE,
            owner: owner
                .and_then(|i| u32::try_from(i).ok())
                .unwrap_or(u32::MAX),
            flag,
            time_lag_kind: TimeLagKind::Unknown,
            status: Status::Unknown,
        }
    }

    /// Which of the group's owners owns the partition, if any.
    pub fn owner_index(&self) -> Option<usize> {
        (self.owner != u32::MAX).then_some(self.owner as usize)
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

    /// Age of the oldest unconsumed message, seconds; `time_lag_kind` says how it was obtained.
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
        self.time_lag_s = OptF64::new(seconds);
        self.time_lag_kind = kind;
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
        row.serialize_field("flag", &self.flag)?;
        row.serialize_field("owner", &owner)?;
        row.serialize_field("time_lag_s", &self.time_lag_s())?;
        row.serialize_field("time_lag_kind", &self.time_lag_kind)?;
        row.serialize_field("status", &self.status)?;
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
