//! Opens a recording: checks its prefix and header, and indexes its frames (kind, time, offset)
//! by reading only their heads, so any frame can be decoded without reading the ones before it.
//! A partial last frame (the recorder crashed mid-write) or a corrupt one ends the readable part;
//! what stopped it is kept as a warning.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::content::{self, Header, RawStatuses, Statuses};
use super::frame::{self, FrameError, FrameHead, Kind};
use crate::config::Config;

pub struct Recording {
    pub path: PathBuf,
    file: File,
    pub header: Header,
    /// The format version the file was written in (`frame::FORMAT_VERSION` or an older one).
    pub version: u32,
    /// The config the recording was made with (secrets masked): the alerts are judged by it.
    pub config: Config,
    /// Every complete frame after the header, in file order.
    pub frames: Vec<FrameHead>,
    /// Why the readable part ends before the file does, if it does.
    pub warning: Option<FrameError>,
}

impl Recording {
    pub fn open(path: &Path) -> Result<Recording, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?
            .len();
        let mut prefix = [0u8; frame::FILE_HEAD];
        let got = file.read_at(&mut prefix, 0).unwrap_or(0);
        let version = frame::read_file_head(&mut &prefix[..got])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let (mut frames, warning) = index(&file, len);
        let header_frame = match frames.first() {
            Some(h) if h.kind == Kind::Header => frames.remove(0),
            _ => {
                return Err(format!(
                    "{}: the recording has no readable header{}",
                    path.display(),
                    warning.map(|w| format!(" ({w})")).unwrap_or_default()
                ));
            }
        };
        let header: Header = content::decode(&read_body(&file, &header_frame)?)
            .map_err(|e| format!("{}: the header: {e}", path.display()))?;
        let config = Config::parse(&header.config_toml, path)
            .map_err(|e| format!("the recording's config: {e}"))?;
        Ok(Recording {
            path: path.to_path_buf(),
            file,
            header,
            version,
            config,
            frames,
            warning,
        })
    }

    /// The statuses a batch or keyframe holds (the CRC checked).
    pub fn statuses(&self, head: &FrameHead) -> Result<Statuses, String> {
        let body = read_body(&self.file, head)?;
        content::decode(&body).map_err(|e| format!("the frame at byte {}: {e}", head.offset))
    }

    /// The statuses a batch or keyframe holds, their snapshots as the file encodes them (what the
    /// player reads: see `chain::resolve`).
    pub fn raw_statuses(&self, head: &FrameHead) -> Result<RawStatuses, String> {
        let body = read_body(&self.file, head)?;
        content::decode(&body).map_err(|e| format!("the frame at byte {}: {e}", head.offset))
    }

    /// When the first and last frames were recorded (Unix ns), if there are any.
    pub fn span_ns(&self) -> Option<(u64, u64)> {
        Some((self.frames.first()?.at_ns, self.frames.last()?.at_ns))
    }
}

fn read_body(file: &File, head: &FrameHead) -> Result<Vec<u8>, String> {
    let mut body = vec![0u8; head.body_len as usize];
    file.read_exact_at(&mut body, head.offset + frame::FRAME_HEAD as u64)
        .map_err(|e| format!("cannot read the frame at byte {}: {e}", head.offset))?;
    frame::check_body(head, &body).map_err(|e| e.to_string())?;
    Ok(body)
}

/// The heads of every complete frame, and why the scan stopped early, if it did. Bodies are not
/// read here: a corrupt body is found when it is decoded (and its CRC fails).
fn index(file: &File, len: u64) -> (Vec<FrameHead>, Option<FrameError>) {
    let mut frames = Vec::new();
    let mut offset = frame::FILE_HEAD as u64;
    let mut head = [0u8; frame::FRAME_HEAD];
    while offset < len {
        let got = file.read_at(&mut head, offset).unwrap_or(0);
        match frame::parse_head(&head[..got], offset, len - offset) {
            Ok(h) => {
                offset = h.end();
                frames.push(h);
            }
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, None)
}
