//! Replays a recording through the same [`Session`] as the live dashboard: each batch is ingested
//! as the live session ingested it, so the model, the alerts (judged on the recorded clock, never
//! the wall clock), the timeline and the history come out the same.
//!
//! Seeking: the player keeps a copy of its whole state (the session, cheap to clone: its history
//! is shared chunks) every [`CHECKPOINT`] of recording time it has played through. A seek back
//! restores the nearest checkpoint before the target and plays forward from it (at most a
//! minute of batches); a seek forward plays on from where it is, or from a checkpoint nearer the
//! target. Played for the first time, a span costs what ingesting it costs (the recording is
//! replayed exactly, never approximated from a keyframe).
//!
//! A checkpoint shares its history series with the state that went on from it (`model::series`:
//! a recorder writes only slots past the length any copy was given). Restoring it and playing on
//! writes those slots again with the same values, because the same batches derive the same
//! figures, so the copies never disagree about a slot they both cover.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::content::{self, Statuses};
use super::frame::Kind;
use super::reader::Recording;
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::config::Config;
use crate::kafka::snapshot::KafkaSnapshot;
use crate::model::Model;
use crate::session::Session;
use crate::source::SourceStatus;

/// How far apart (in recording time) the player keeps copies of its state.
pub const CHECKPOINT: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct State {
    session: Session,
    kafka: SourceStatus<KafkaSnapshot>,
    clickhouse: SourceStatus<ClickHouseSnapshot>,
    /// Index of the next frame to apply.
    next: usize,
    /// Whether any batch was ingested yet (a keyframe is the start of a file that continues).
    started: bool,
}

pub struct Player {
    recording: Recording,
    state: State,
    checkpoints: Vec<(u64, State)>,
    /// Why playing stops before the last frame (a partial or corrupt frame), if it does.
    problem: Option<String>,
    /// Frames before this index can be read (all of them unless a corrupt one was met).
    readable: usize,
}

impl Player {
    pub fn open(path: &Path) -> Result<Player, String> {
        let recording = Recording::open(path)?;
        let problem = recording.warning.as_ref().map(|w| w.to_string());
        let state = fresh(&recording.config);
        Ok(Player {
            state,
            readable: recording.frames.len(),
            recording,
            checkpoints: Vec::new(),
            problem,
        })
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    pub fn config(&self) -> &Config {
        &self.recording.config
    }

    pub fn model(&self) -> &Arc<Model> {
        self.state.session.model()
    }

    pub fn session(&self) -> &Session {
        &self.state.session
    }

    /// The sources' statuses as last ingested.
    pub fn kafka_status(&self) -> &SourceStatus<KafkaSnapshot> {
        &self.state.kafka
    }

    pub fn clickhouse_status(&self) -> &SourceStatus<ClickHouseSnapshot> {
        &self.state.clickhouse
    }

    /// What cut the recording short (a partial or corrupt frame), if anything.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The recording time of the last frame applied; before the first, its time.
    pub fn cursor(&self) -> Option<SystemTime> {
        let frames = &self.recording.frames;
        let at = match self.state.next {
            0 => frames.first()?.at_ns,
            n => frames.get(n - 1)?.at_ns,
        };
        Some(content::time(at))
    }

    /// The first and last frames' times.
    pub fn span(&self) -> Option<(SystemTime, SystemTime)> {
        let (a, b) = self.recording.span_ns()?;
        Some((content::time(a), content::time(b)))
    }

    pub fn at_end(&self) -> bool {
        self.state.next >= self.recording.frames.len() || self.problem_at_cursor()
    }

    fn problem_at_cursor(&self) -> bool {
        self.state.next >= self.readable
    }

    /// Applies frames up to and including the next batch. Returns false at the end.
    pub fn step(&mut self) -> bool {
        while !self.at_end() {
            match self.apply_next() {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    self.readable = self.state.next;
                    self.problem = Some(e);
                    return false;
                }
            }
        }
        false
    }

    /// The state after every frame recorded at or before `to`.
    pub fn seek(&mut self, to: SystemTime) {
        let to = content::ns(to);
        let target = self.recording.frames.partition_point(|f| f.at_ns <= to);
        // The nearest checkpoint at or before the target: behind the cursor, or ahead of it but
        // nearer the target than the cursor is.
        let checkpoint = self
            .checkpoints
            .iter()
            .rev()
            .find(|(_, s)| s.next <= target)
            .filter(|(_, s)| target < self.state.next || s.next > self.state.next)
            .map(|(_, s)| s.clone());
        if let Some(state) = checkpoint {
            self.state = state;
        } else if target < self.state.next {
            self.state = fresh(&self.recording.config);
        }
        while self.state.next < target && !self.at_end() {
            if let Err(e) = self.apply_next() {
                self.readable = self.state.next;
                self.problem = Some(e);
                break;
            }
        }
    }

    /// Applies up to `frames` more frames: a scout playing ahead a little at a time (see
    /// [`Player::adopt_checkpoints`]). Returns whether any remain.
    pub fn advance(&mut self, frames: usize) -> bool {
        for _ in 0..frames {
            if !self.step() {
                return false;
            }
        }
        !self.at_end()
    }

    /// Takes the checkpoints of another player of the same recording (a scout that played ahead
    /// on a thread's idle time), so seeks there need not play the whole way first. Its states are
    /// its own (a session of its own), so sharing them changes neither player.
    pub fn adopt_checkpoints(&mut self, scout: &Player) {
        let known = self.checkpoints.last().map_or(0, |(_, s)| s.next);
        let ahead = scout.checkpoints.iter().filter(|(_, s)| s.next > known);
        self.checkpoints.extend(ahead.cloned());
    }

    /// Plays every remaining frame.
    pub fn play_to_end(&mut self) {
        while self.step() {}
    }

    /// Applies frame `next`; true when it was a batch the session ingested.
    fn apply_next(&mut self) -> Result<bool, String> {
        let head = self.recording.frames[self.state.next];
        let ingested = match head.kind {
            Kind::Header => false,
            // The same state as the batches before it, unless nothing was played yet (a file
            // that continues a rotated one starts with one).
            Kind::Keyframe if self.state.started => false,
            Kind::Batch | Kind::Keyframe => {
                let statuses = self.recording.statuses(&head)?;
                self.ingest(statuses);
                true
            }
        };
        self.state.next += 1;
        if ingested {
            let due = self.checkpoints.last().is_none_or(|(at, _)| {
                head.at_ns.saturating_sub(*at) >= CHECKPOINT.as_nanos() as u64
            });
            let newest = self
                .checkpoints
                .last()
                .is_none_or(|(_, s)| s.next < self.state.next);
            if due && newest {
                self.checkpoints.push((head.at_ns, self.state.clone()));
            }
        }
        Ok(ingested)
    }

    fn ingest(&mut self, statuses: Statuses) {
        let state = &mut self.state;
        let kafka = statuses.kafka.map(|f| f.status(&state.kafka));
        let clickhouse = statuses.clickhouse.map(|f| f.status(&state.clickhouse));
        if let Some(k) = &kafka {
            state.kafka = k.clone();
        }
        if let Some(c) = &clickhouse {
            state.clickhouse = c.clone();
        }
        state.session.ingest(kafka, clickhouse);
        state.started = true;
    }
}

fn fresh(config: &Config) -> State {
    State {
        session: Session::new(config),
        kafka: SourceStatus::default(),
        clickhouse: SourceStatus::default(),
        next: 0,
        started: false,
    }
}
