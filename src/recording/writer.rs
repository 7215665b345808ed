//! Appends frames to a recording file: the header, each batch the session ingested (a new
//! snapshot as a delta from the one before it: `chain`), a keyframe (both sources' full state)
//! every [`KEY_INTERVAL`], and rotation at the size limit.
//!
//! Rotation: when the next frame would take the file past `limit`, FILE is renamed FILE.1
//! (replacing an older FILE.1) and a new FILE starts with a header marked `continues` and a
//! keyframe, so it replays on its own. At most about twice the limit is on disk, and FILE always
//! holds the newest part of the incident.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::chain::{Chain, Link};
use super::content::{self, Header, StatusFrame, Statuses};
use super::frame::{self, Kind};
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::source::SourceStatus;

/// How often a keyframe is written, in recording time: seeking decodes from the nearest one.
pub const KEY_INTERVAL: Duration = Duration::from_secs(60);

/// The default `--record-limit`.
pub const DEFAULT_LIMIT: u64 = 512 << 20;

/// What the session ingested at once: the statuses that changed, at the session's clock.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub kafka: Option<SourceStatus<KafkaSnapshot>>,
    pub clickhouse: Option<SourceStatus<ClickHouseSnapshot>>,
    pub at_ns: u64,
}

pub struct RecordingWriter {
    path: PathBuf,
    file: File,
    header: Header,
    limit: u64,
    written: u64,
    rotations: u32,
    /// Each source's status as the file holds it so far, and the snapshot its next delta is
    /// made from.
    kafka: SourceStatus<KafkaSnapshot>,
    clickhouse: SourceStatus<ClickHouseSnapshot>,
    kafka_chain: Chain<KafkaSnapshot>,
    clickhouse_chain: Chain<ClickHouseSnapshot>,
    last_key_ns: Option<u64>,
}

impl RecordingWriter {
    /// Creates (or truncates) `path` and writes the header. `config_toml` must already have its
    /// secrets masked (`config_effective::effective_toml`).
    pub fn create(
        path: &Path,
        config_toml: String,
        started_ns: u64,
        limit: u64,
    ) -> Result<RecordingWriter, String> {
        let header = Header {
            pipetop_version: crate::VERSION.to_string(),
            started_ns,
            config_toml,
            continues: false,
        };
        let file = new_file(path, &header)?;
        let written = file_len(&file, path)?;
        Ok(RecordingWriter {
            path: path.to_path_buf(),
            file,
            header,
            limit,
            written,
            rotations: 0,
            kafka: SourceStatus::default(),
            clickhouse: SourceStatus::default(),
            kafka_chain: Chain::default(),
            clickhouse_chain: Chain::default(),
            last_key_ns: None,
        })
    }

    /// Bytes in the current file.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn rotations(&self) -> u32 {
        self.rotations
    }

    /// Appends one batch, and a keyframe after it when one is due.
    pub fn append(&mut self, batch: &Ingested) -> Result<(), String> {
        let (kafka, kafka_link) = framed(&self.kafka_chain, batch.kafka.as_ref(), &self.kafka)?;
        let (clickhouse, clickhouse_link) = framed(
            &self.clickhouse_chain,
            batch.clickhouse.as_ref(),
            &self.clickhouse,
        )?;
        let frame = Statuses { kafka, clickhouse };
        let bytes = frame::encode(Kind::Batch, batch.at_ns, &content::encode(&frame)?);
        if self.written + bytes.len() as u64 > self.limit && self.written > self.header_len() {
            self.rotate(batch.at_ns)?;
            // The new file's keyframe holds the state before this batch: its snapshots are
            // there, but this batch's new ones are not.
            return self.append(batch);
        }
        self.write(&bytes)?;
        self.kafka_chain.advance(kafka_link);
        self.clickhouse_chain.advance(clickhouse_link);
        if let Some(k) = &batch.kafka {
            self.kafka = holding(k, &self.kafka);
        }
        if let Some(c) = &batch.clickhouse {
            self.clickhouse = holding(c, &self.clickhouse);
        }
        let due = self
            .last_key_ns
            .is_none_or(|k| batch.at_ns.saturating_sub(k) >= KEY_INTERVAL.as_nanos() as u64);
        if due {
            self.keyframe(batch.at_ns)?;
        }
        Ok(())
    }

    fn header_len(&self) -> u64 {
        // Anything past the prefix and a header: a file of only a header is never rotated.
        frame::FILE_HEAD as u64 + frame::FRAME_HEAD as u64 + 64 * 1024
    }

    fn keyframe(&mut self, at_ns: u64) -> Result<(), String> {
        let state = Statuses {
            kafka: Some(StatusFrame::of(&self.kafka, true)),
            clickhouse: Some(StatusFrame::of(&self.clickhouse, true)),
        };
        let bytes = frame::encode(Kind::Keyframe, at_ns, &content::encode(&state)?);
        self.write(&bytes)?;
        self.last_key_ns = Some(at_ns);
        Ok(())
    }

    fn rotate(&mut self, at_ns: u64) -> Result<(), String> {
        let old = rotated_path(&self.path);
        std::fs::rename(&self.path, &old).map_err(|e| {
            format!(
                "cannot rotate {} to {}: {e}",
                self.path.display(),
                old.display()
            )
        })?;
        self.header.continues = true;
        self.header.started_ns = at_ns;
        self.file = new_file(&self.path, &self.header)?;
        self.written = file_len(&self.file, &self.path)?;
        self.rotations += 1;
        self.keyframe(at_ns)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        // One write per frame: a crash leaves at most the last frame partial.
        self.file
            .write_all(bytes)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// `status` as the file holds it after its frame: a failed poll's status, whose snapshot the
/// collector let go when that poll started (`SourceStatus::let_go_if_taken`), keeps the last good
/// one, which the next keyframe writes and the next delta applies to.
fn holding<T: Clone>(status: &SourceStatus<T>, before: &SourceStatus<T>) -> SourceStatus<T> {
    let mut status = status.clone();
    if status.last_good.is_none() && status.last_good_at == before.last_good_at {
        status.last_good = before.last_good.clone();
    }
    status
}

/// A source's frame in a batch, if the batch has its status (see `Chain::frame`).
#[allow(clippy::type_complexity)]
fn framed<T: serde::Serialize>(
    chain: &Chain<T>,
    status: Option<&SourceStatus<T>>,
    before: &SourceStatus<T>,
) -> Result<(Option<StatusFrame<T>>, Option<Link<T>>), String> {
    match status {
        Some(status) => {
            let (frame, link) = chain.frame(status, before)?;
            Ok((Some(frame), link))
        }
        None => Ok((None, None)),
    }
}

/// FILE.1: where the older part goes at rotation.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

fn new_file(path: &Path, header: &Header) -> Result<File, String> {
    let mut file =
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut head = Vec::new();
    frame::write_file_head(&mut head, frame::FORMAT_VERSION).map_err(|e| e.to_string())?;
    head.extend(frame::encode(
        Kind::Header,
        header.started_ns,
        &content::encode(header)?,
    ));
    file.write_all(&head)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(file)
}

fn file_len(file: &File, path: &Path) -> Result<u64, String> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

/// A size as `--record-limit` takes it: bytes, or with a KiB/MiB/GiB (or K/M/G) suffix.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 512MiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}
