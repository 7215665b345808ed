//! The frame codec: how one record sits in a recording file, and how a reader finds where the
//! readable part of a file ends (a crash mid-write leaves a partial last frame, which is ignored).
//!
//! A file is the 8-byte [`MAGIC`], the format version (u32 little-endian; see
//! [`FORMAT_VERSION`]), then frames:
//!
//! ```text
//! u32 LE  length of the body
//! u32 LE  CRC-32 (IEEE) of kind, time and body
//! u8      kind (1 header, 2 batch, 3 keyframe)
//! u64 LE  time: Unix nanoseconds of the newest event in the frame
//! [u8]    body: zstd of the CBOR encoding of the frame's content
//! ```

use std::io::{self, Read, Write};

/// The first bytes of every recording.
pub const MAGIC: [u8; 8] = *b"pipetop\x1e";
/// The format this build writes: 2 has batches whose snapshots are deltas (`delta`).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this build still reads: 1, whose batches hold whole snapshots (a version-2
/// reader decodes them as they are, since a version-1 frame is a version-2 frame without deltas).
pub const OLDEST_READ: u32 = 1;
/// The fixed part before each body: length, CRC, kind, time.
pub const FRAME_HEAD: usize = 4 + 4 + 1 + 8;
/// The file's prefix before the first frame: magic and version.
pub const FILE_HEAD: usize = MAGIC.len() + 4;
/// A body longer than this is a corrupt length field, not a frame (a snapshot of 20,000
/// partitions compresses to a few MiB).
const MAX_BODY: u32 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Header = 1,
    Batch = 2,
    Keyframe = 3,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Header),
            2 => Some(Kind::Batch),
            3 => Some(Kind::Keyframe),
            _ => None,
        }
    }
}

/// Where one frame is, without its body: what the index keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    pub kind: Kind,
    pub at_ns: u64,
    /// Offset of the frame's first byte in the file.
    pub offset: u64,
    pub body_len: u32,
    pub crc: u32,
}

impl FrameHead {
    /// Offset of the next frame.
    pub fn end(&self) -> u64 {
        self.offset + FRAME_HEAD as u64 + u64::from(self.body_len)
    }
}

/// Why reading stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the last {0} bytes are a partial frame (the recorder stopped mid-write); ignored")]
    Truncated(u64),
    #[error("the frame at byte {offset} is corrupt ({why}); the recording is read up to it")]
    Corrupt { offset: u64, why: String },
}

/// The file prefix (magic and version): `FORMAT_VERSION` for a new recording, the source's for
/// frames copied from another file.
pub fn write_file_head(out: &mut impl Write, version: u32) -> io::Result<()> {
    out.write_all(&MAGIC)?;
    out.write_all(&version.to_le_bytes())
}

/// Checks the prefix: a recording, of a version this build reads (otherwise a message saying
/// so). Returns the version.
pub fn read_file_head(input: &mut impl Read) -> Result<u32, String> {
    let mut head = [0u8; FILE_HEAD];
    input
        .read_exact(&mut head)
        .map_err(|_| "not a pipetop recording (too short)".to_string())?;
    if head[..MAGIC.len()] != MAGIC {
        return Err("not a pipetop recording (no pipetop magic at its start)".into());
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&head[MAGIC.len()..]);
    let version = u32::from_le_bytes(version);
    if !(OLDEST_READ..=FORMAT_VERSION).contains(&version) {
        return Err(format!(
            "recording format version {version} is not supported: this pipetop reads versions \
             {OLDEST_READ} to {FORMAT_VERSION}{}",
            if version > FORMAT_VERSION {
                " (made by a newer pipetop: replay it with that one)"
            } else {
                ""
            }
        ));
    }
    Ok(version)
}

/// One whole frame as bytes: written with a single `write_all`, so a crash leaves at most one
/// partial frame at the end.
pub fn encode(kind: Kind, at_ns: u64, body: &[u8]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind as u8]);
    crc.update(&at_ns.to_le_bytes());
    crc.update(body);
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(FRAME_HEAD + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&at_ns.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Parses a frame head at `offset` out of the `FRAME_HEAD` bytes read there; `remaining` is how
/// many bytes the file has from `offset` on.
pub fn parse_head(bytes: &[u8], offset: u64, remaining: u64) -> Result<FrameHead, FrameError> {
    if (bytes.len() as u64) < FRAME_HEAD as u64 || remaining < FRAME_HEAD as u64 {
        return Err(FrameError::Truncated(remaining));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let body_len = word(0);
    let crc = word(4);
    let corrupt = |why: String| FrameError::Corrupt { offset, why };
    let kind = Kind::from_byte(bytes[8]).ok_or_else(|| corrupt(format!("kind {}", bytes[8])))?;
    if body_len > MAX_BODY {
        return Err(corrupt(format!("length {body_len}")));
    }
    let mut at = [0u8; 8];
    at.copy_from_slice(&bytes[9..17]);
    let head = FrameHead {
        kind,
        at_ns: u64::from_le_bytes(at),
        offset,
        body_len,
        crc,
    };
    if remaining < head.end() - offset {
        return Err(FrameError::Truncated(remaining));
    }
    Ok(head)
}

/// Checks a body read for `head` against its CRC.
pub fn check_body(head: &FrameHead, body: &[u8]) -> Result<(), FrameError> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[head.kind as u8]);
    crc.update(&head.at_ns.to_le_bytes());
    crc.update(body);
    if crc.finalize() != head.crc {
        return Err(FrameError::Corrupt {
            offset: head.offset,
            why: "CRC mismatch".into(),
        });
    }
    Ok(())
}
