//! The `E` key: the last minutes of the dashboard's recording (`--record FILE`) as a recording of
//! their own, for an incident note. Frames are copied as they are, from the last keyframe at or
//! before the window's start (so the export replays on its own) to the newest complete frame.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use super::content::{self, Header};
use super::frame::{self, Kind};
use super::reader::Recording;

/// Writes the last `window` of `recording` to `to`; returns how much recording time it holds.
pub fn export_window(recording: &Path, to: &Path, window: Duration) -> Result<Duration, String> {
    let source = Recording::open(recording)?;
    let (_, end) = source
        .span_ns()
        .ok_or_else(|| "nothing recorded yet".to_string())?;
    let start = end.saturating_sub(u64::try_from(window.as_nanos()).unwrap_or(u64::MAX));
    // The last keyframe at or before the start; a window reaching before the first keyframe
    // starts at the first one.
    let keyframes: Vec<usize> = (0..source.frames.len())
        .filter(|&i| source.frames[i].kind == Kind::Keyframe)
        .collect();
    let from = keyframes
        .iter()
        .rev()
        .find(|&&i| source.frames[i].at_ns <= start)
        .or(keyframes.first())
        .copied()
        .ok_or_else(|| "the recording has no keyframe yet".to_string())?;
    let first = source.frames[from];
    let last = source.frames[source.frames.len() - 1];
    let header = Header {
        started_ns: first.at_ns,
        continues: true,
        ..source.header.clone()
    };
    let mut out = Vec::new();
    // The frames are copied as they are: the file keeps their format version.
    frame::write_file_head(&mut out, source.version).map_err(|e| e.to_string())?;
    out.extend(frame::encode(
        Kind::Header,
        header.started_ns,
        &content::encode(&header)?,
    ));
    let file =
        File::open(recording).map_err(|e| format!("cannot open {}: {e}", recording.display()))?;
    let mut frames = vec![0u8; (last.end() - first.offset) as usize];
    file.read_exact_at(&mut frames, first.offset)
        .map_err(|e| format!("cannot read {}: {e}", recording.display()))?;
    out.extend(frames);
    let mut dest = File::create(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    dest.write_all(&out)
        .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    Ok(Duration::from_nanos(last.at_ns.saturating_sub(first.at_ns)))
}
