//! What a recording's frames hold: the header, and the collectors' statuses as the session
//! ingested them. Encoded as CBOR (self-describing: NaN and every f64 survive exactly, and the
//! snapshots' tagged enums need no schema), compressed with zstd.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::{SourceError, SourceStatus};

/// zstd level: 3 is zstd's default, fast enough to keep up at 20,000 partitions.
const ZSTD_LEVEL: i32 = 3;

/// The first frame of every file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// The pipetop that wrote it (version and commit).
    pub pipetop_version: String,
    /// When the recording (this file of it) started, Unix nanoseconds.
    pub started_ns: u64,
    /// The effective config as `pipetop config check` prints it: every secret masked as "***".
    /// Replay judges the alerts by it.
    pub config_toml: String,
    /// This file continues a recording that reached its size limit; the part before is FILE.1.
    pub continues: bool,
}

/// One source's status: what `SourceStatus` holds, with the snapshot only when it is new.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusFrame<T> {
    pub polls: u64,
    pub last_good_at_ns: Option<u64>,
    pub error: Option<(String, u64)>,
    /// The last good snapshot: in a batch only when it changed since the frame before (from
    /// version 2 on, as `delta` instead when the file holds one before it); always in a keyframe
    /// (when there is one).
    pub snapshot: Option<Arc<T>>,
    /// Version 2: the new snapshot of a batch as the difference from this source's snapshot
    /// before it in the file (`delta`, `chain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
}

/// A delta's bytes (`delta::diff`), a CBOR byte string in the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta(pub Vec<u8>);

impl Serialize for Delta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Delta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Delta, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Delta;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a delta's bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Delta, E> {
                Ok(Delta(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Delta, E> {
                Ok(Delta(v))
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

/// What the session ingested at once (a batch: only the sources that changed), or the full state
/// of both after it (a keyframe).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Statuses {
    pub kafka: Option<StatusFrame<KafkaSnapshot>>,
    pub clickhouse: Option<StatusFrame<ClickHouseSnapshot>>,
}

/// A batch or keyframe as read back: each snapshot still in the CBOR data model, so that its
/// encoding is the file's own, whatever the snapshot types of this build (a delta applies to
/// those bytes, not to this build's encoding of them: `chain`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RawStatuses {
    pub kafka: Option<StatusFrame<ciborium::Value>>,
    pub clickhouse: Option<StatusFrame<ciborium::Value>>,
}

pub fn ns(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub fn time(ns: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)
}

impl<T> StatusFrame<T> {
    /// The status as a frame; the snapshot is included when `with_snapshot`.
    pub fn of(status: &SourceStatus<T>, with_snapshot: bool) -> StatusFrame<T> {
        StatusFrame {
            polls: status.polls,
            last_good_at_ns: status.last_good_at.map(ns),
            error: status.error.as_ref().map(|e| (e.message.clone(), ns(e.at))),
            snapshot: if with_snapshot {
                status.last_good.clone()
            } else {
                None
            },
            delta: None,
        }
    }

    /// The status again, taking the snapshot from `before` when the frame did not carry one and
    /// names the same last good poll (a newer one whose snapshot was not written has none). A
    /// delta must have been turned into its snapshot first (`chain::resolve`).
    pub fn status(&self, before: &SourceStatus<T>) -> SourceStatus<T> {
        let mut status = SourceStatus::default();
        status.last_good_at = self.last_good_at_ns.map(time);
        status.last_good = self.snapshot.clone().or_else(|| {
            before.last_good.clone().filter(|_| {
                status.last_good_at.is_some() && before.last_good_at == status.last_good_at
            })
        });
        status.error = self.error.as_ref().map(|(message, at)| SourceError {
            message: message.clone(),
            at: time(*at),
        });
        status.polls = self.polls;
        status
    }
}

/// CBOR, then zstd.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let mut cbor = Vec::new();
    ciborium::into_writer(value, &mut cbor).map_err(|e| format!("cannot encode a frame: {e}"))?;
    zstd::bulk::compress(&cbor, ZSTD_LEVEL).map_err(|e| format!("cannot compress a frame: {e}"))
}

pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let cbor = zstd::stream::decode_all(body).map_err(|e| format!("cannot decompress: {e}"))?;
    ciborium::from_reader(cbor.as_slice()).map_err(|e| format!("cannot decode: {e}"))
}
