//! A source's delta chain (format version 2): a batch's new snapshot is written as the difference
//! ([`delta`]) from that source's snapshot before it in the file, so what did not change between
//! two polls costs next to nothing; keyframes hold the snapshots whole. The writer diffs against
//! the last snapshot it wrote, the player applies to the last one it read: the same snapshot,
//! since both go through the file's frames in order (a keyframe holds the state after the batch
//! before it, so a file cut at a keyframe, rotated or exported, chains on from it).
//!
//! The writer keeps the last snapshot's CBOR encoding beside it (20 MiB at 20,000 partitions), so
//! a batch encodes one snapshot, not two. The player keeps the file's own encoding of it in its
//! state (checkpoints included), see [`resolve`].

use std::sync::Arc;

use ciborium::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::content::{Delta, StatusFrame};
use super::delta;
use crate::source::SourceStatus;

/// A snapshot and its CBOR encoding, the base of the next delta.
pub struct Link<T> {
    snapshot: Arc<T>,
    cbor: Vec<u8>,
}

pub struct Chain<T> {
    last: Option<Link<T>>,
}

impl<T> Default for Chain<T> {
    fn default() -> Self {
        Chain { last: None }
    }
}

impl<T: Serialize> Chain<T> {
    /// The frame for `status`, written after `before` (the source's status as the file holds it
    /// so far): its snapshot, when new, as a delta from `before`'s (whole when there is none).
    /// The link is what [`Chain::advance`] takes once the frame is written.
    pub fn frame(
        &self,
        status: &SourceStatus<T>,
        before: &SourceStatus<T>,
    ) -> Result<(StatusFrame<T>, Option<Link<T>>), String> {
        let mut frame = StatusFrame::of(status, status.last_good_at != before.last_good_at);
        let Some(snapshot) = frame.snapshot.clone() else {
            return Ok((frame, None));
        };
        let cbor = to_cbor(&*snapshot)?;
        if let Some(base) = &before.last_good {
            let delta = match &self.last {
                Some(last) if Arc::ptr_eq(&last.snapshot, base) => delta::diff(&last.cbor, &cbor),
                _ => delta::diff(&to_cbor(&**base)?, &cbor),
            }?;
            frame.snapshot = None;
            frame.delta = Some(Delta(delta));
        }
        Ok((frame, Some(Link { snapshot, cbor })))
    }

    /// The frame `frame` made is written: its snapshot is the base of the next delta.
    pub fn advance(&mut self, link: Option<Link<T>>) {
        if link.is_some() {
            self.last = link;
        }
    }
}

/// A frame as read back (`RawStatuses`) with its snapshot decoded: whole, or its delta applied to
/// `base`, the file's own encoding of the source's snapshot before it. Returns the frame and, when
/// it carried a snapshot, that snapshot's encoding: the base of the next delta. Only the file's
/// bytes are diffed against, never this build's encoding of what it decoded, so a snapshot type
/// that gained a field (read with its default) still chains the deltas of an older file.
#[allow(clippy::type_complexity)]
pub fn resolve<T: DeserializeOwned>(
    raw: StatusFrame<Value>,
    base: Option<&Arc<[u8]>>,
) -> Result<(StatusFrame<T>, Option<Arc<[u8]>>), String> {
    let cbor: Option<Arc<[u8]>> = match (&raw.snapshot, &raw.delta) {
        (Some(value), _) => Some(to_cbor(&**value)?.into()),
        (None, Some(Delta(delta))) => {
            let base = base.ok_or("a delta with no snapshot before it")?;
            Some(delta::apply(base, delta)?.into())
        }
        (None, None) => None,
    };
    let snapshot = match &cbor {
        Some(bytes) => Some(Arc::new(
            ciborium::from_reader::<T, _>(&bytes[..])
                .map_err(|e| format!("cannot decode a snapshot: {e}"))?,
        )),
        None => None,
    };
    let frame = StatusFrame {
        polls: raw.polls,
        last_good_at_ns: raw.last_good_at_ns,
        error: raw.error,
        snapshot,
        delta: None,
    };
    Ok((frame, cbor))
}

fn to_cbor<T: Serialize>(snapshot: &T) -> Result<Vec<u8>, String> {
    let mut cbor = Vec::new();
    ciborium::into_writer(snapshot, &mut cbor)
        .map_err(|e| format!("cannot encode a snapshot: {e}"))?;
    Ok(cbor)
}
