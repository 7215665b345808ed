//! A source's delta chain (format version 2): a batch's new snapshot is written as the difference
//! ([`delta`]) from that source's snapshot before it in the file, so what did not change between
//! two polls costs next to nothing; keyframes hold the snapshots whole. The writer diffs against
//! the last snapshot it wrote, the player applies to the last one it read: the same snapshot,
//! since both go through the file's frames in order (a keyframe holds the state after the batch
//! before it, so a file cut at a keyframe, rotated or exported, chains on from it).
//!
//! Each side keeps the last snapshot's CBOR encoding beside it (a few MiB at 20,000 partitions),
//! so a batch encodes one snapshot, not two (a player that jumped to a checkpoint encodes its
//! snapshot once, then chains on).

use std::sync::Arc;

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

impl<T: Serialize + DeserializeOwned> Chain<T> {
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

    /// Turns a frame's delta (if it has one) into its snapshot, applied to `before`'s (the
    /// source's status as the player read the file so far).
    pub fn resolve(
        &mut self,
        frame: &mut StatusFrame<T>,
        before: &SourceStatus<T>,
    ) -> Result<(), String> {
        let Some(Delta(delta)) = frame.delta.take() else {
            return Ok(());
        };
        let base = before
            .last_good
            .as_ref()
            .ok_or("a delta with no snapshot before it")?;
        let cbor = match self.last.take() {
            Some(last) if Arc::ptr_eq(&last.snapshot, base) => delta::apply(&last.cbor, &delta)?,
            _ => delta::apply(&to_cbor(&**base)?, &delta)?,
        };
        let snapshot = Arc::new(
            ciborium::from_reader::<T, _>(cbor.as_slice())
                .map_err(|e| format!("cannot decode a delta's snapshot: {e}"))?,
        );
        frame.snapshot = Some(Arc::clone(&snapshot));
        self.last = Some(Link { snapshot, cbor });
        Ok(())
    }
}

fn to_cbor<T: Serialize>(snapshot: &T) -> Result<Vec<u8>, String> {
    let mut cbor = Vec::new();
    ciborium::into_writer(snapshot, &mut cbor)
        .map_err(|e| format!("cannot encode a snapshot: {e}"))?;
    Ok(cbor)
}
