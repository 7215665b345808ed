//! Replays a recording through the same [`Session`] as the live dashboard: each batch is ingested
//! as the live session ingested it, so the model, the alerts (judged on the recorded clock, never
//! the wall clock), the timeline and the history come out the same.
//!
//! Seeking: the player keeps a copy of its whole state (the session, cheap to clone: its history
//! is shared chunks) every [`CHECKPOINT`] of recording time it has played through. A seek back
//! restores the nearest checkpoint before the target and plays forward from it (at most a
//! minute of batches); a seek forward plays on from where it is, or from a checkpoint nearer the
//! target. Played for the first time, a span costs what ingesting it costs: [`Player::seek`]
//! replays exactly (what `snapshot` and `check --at` answer from), however far that is.
//!
//! [`Player::jump`] (the replay screen's cursor) bounds that cost: when no exact state lies within
//! [`NEAR`] before the target, it replays from the target's keyframe with a fresh session, a
//! *partial* state ([`Player::partial_since`]: the values at the cursor are the recording's, but
//! the history, timeline and alerts start at that keyframe). [`Player::make_exact`] turns it
//! exact as soon as checkpoints (a scout's, playing the recording ahead) reach near it.
//!
//! A checkpoint shares its history series with the state that went on from it (`model::series`:
//! a recorder writes only slots past the length any copy was given). Restoring it and playing on
//! writes those slots again with the same values, because the same batches derive the same
//! figures, so the copies never disagree about a slot they both cover.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::chain;
use super::content::{self, RawStatuses};
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

/// How much recording [`Player::jump`] plays from an exact state before it rather starts a
/// partial one from the target's keyframe (which plays at most a keyframe interval).
pub const NEAR: Duration = Duration::from_secs(120);

#[derive(Clone)]
struct State {
    session: Session,
    kafka: SourceStatus<KafkaSnapshot>,
    clickhouse: SourceStatus<ClickHouseSnapshot>,
    /// Index of the next frame to apply.
    next: usize,
    /// Whether any batch was ingested yet (a keyframe is the start of a file that continues).
    started: bool,
    /// Replayed from the keyframe of this time (Unix ns), not from the start: see
    /// [`Player::jump`].
    partial_since: Option<u64>,
    /// The file's encoding of each source's last snapshot, which the next delta applies to.
    kafka_cbor: Option<Arc<[u8]>>,
    clickhouse_cbor: Option<Arc<[u8]>>,
}

/// Where a seek starts playing from.
#[derive(Clone, Copy)]
enum From {
    /// The state as it is (exact, not past the target).
    Here,
    /// A checkpoint (its index).
    Checkpoint(usize),
    /// A fresh session at the first frame.
    Start,
    /// A fresh session at a keyframe (its frame index): a partial state.
    Keyframe(usize),
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

    /// The state after every frame recorded at or before `to`, replayed exactly (from the start,
    /// or from a checkpoint).
    pub fn seek(&mut self, to: SystemTime) {
        let target = self.target(to);
        self.restore(self.exact_from(target));
        self.play_to(target);
    }

    /// The state at `to` as [`Player::seek`] gives it when an exact state lies within [`NEAR`]
    /// before it (the cursor, a checkpoint, the start); otherwise replayed from the last keyframe
    /// at or before `to` with a fresh session: a partial state, until [`Player::make_exact`].
    pub fn jump(&mut self, to: SystemTime) {
        let target = self.target(to);
        let exact = self.exact_from(target);
        let here = self.state.partial_since.is_some() && self.state.next <= target;
        // A keyframe that can be read (not past a corrupt frame).
        let keyframe = self.recording.frames[..target.min(self.readable)]
            .iter()
            .rposition(|f| f.kind == Kind::Keyframe);
        let from = if self.near(self.next_of(exact), target) {
            exact
        } else if here && self.near(self.state.next, target) {
            // A partial state playing on.
            From::Here
        } else {
            match keyframe {
                Some(k) if k > self.next_of(exact) => From::Keyframe(k),
                _ => exact,
            }
        };
        self.restore(from);
        self.play_to(target);
    }

    /// When the state is replayed from a keyframe (see [`Player::jump`]), that keyframe's time:
    /// the history, timeline and alerts start there.
    pub fn partial_since(&self) -> Option<SystemTime> {
        self.state.partial_since.map(content::time)
    }

    /// Replays a partial state exactly, to the same frame, once an exact state lies within
    /// [`NEAR`] before it (the checkpoints of a scout that played that far). Returns whether it
    /// did.
    pub fn make_exact(&mut self) -> bool {
        if self.state.partial_since.is_none() {
            return false;
        }
        let target = self.state.next;
        let from = self.exact_from(target);
        if !self.near(self.next_of(from), target) {
            return false;
        }
        self.restore(from);
        self.play_to(target);
        true
    }

    /// How many frames lie at or before `to`.
    fn target(&self, to: SystemTime) -> usize {
        let to = content::ns(to);
        self.recording.frames.partition_point(|f| f.at_ns <= to)
    }

    /// The nearest exact state at or before frame `target`: the state as it is (unless it is
    /// partial or past the target), a checkpoint nearer the target, or the start.
    fn exact_from(&self, target: usize) -> From {
        let here = self.state.partial_since.is_none() && self.state.next <= target;
        let checkpoint = self
            .checkpoints
            .iter()
            .rposition(|(_, s)| s.next <= target)
            .filter(|&i| !here || self.checkpoints[i].1.next > self.state.next);
        match checkpoint {
            Some(i) => From::Checkpoint(i),
            None if here => From::Here,
            None => From::Start,
        }
    }

    fn next_of(&self, from: From) -> usize {
        match from {
            From::Here => self.state.next,
            From::Checkpoint(i) => self.checkpoints[i].1.next,
            From::Start => 0,
            From::Keyframe(k) => k,
        }
    }

    /// Whether playing from frame `from` to before frame `target` covers at most [`NEAR`].
    fn near(&self, from: usize, target: usize) -> bool {
        let frames = &self.recording.frames;
        match (
            frames.get(from),
            target.checked_sub(1).and_then(|t| frames.get(t)),
        ) {
            (Some(a), Some(b)) => b.at_ns.saturating_sub(a.at_ns) <= NEAR.as_nanos() as u64,
            _ => true,
        }
    }

    fn restore(&mut self, from: From) {
        match from {
            From::Here => {}
            From::Checkpoint(i) => self.state = self.checkpoints[i].1.clone(),
            From::Start => self.state = fresh(&self.recording.config),
            From::Keyframe(k) => {
                self.state = State {
                    next: k,
                    partial_since: Some(self.recording.frames[k].at_ns),
                    ..fresh(&self.recording.config)
                }
            }
        }
    }

    fn play_to(&mut self, target: usize) {
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
                let statuses = self.recording.raw_statuses(&head)?;
                self.ingest(statuses)
                    .map_err(|e| format!("the frame at byte {}: {e}", head.offset))?;
                true
            }
        };
        self.state.next += 1;
        // A partial state is no checkpoint: its history starts at a keyframe.
        if ingested && self.state.partial_since.is_none() {
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

    fn ingest(&mut self, statuses: RawStatuses) -> Result<(), String> {
        let state = &mut self.state;
        let kafka = match statuses.kafka {
            Some(raw) => {
                let (frame, cbor) =
                    chain::resolve::<KafkaSnapshot>(raw, state.kafka_cbor.as_ref())?;
                state.kafka_cbor = cbor.or(state.kafka_cbor.take());
                Some(frame)
            }
            None => None,
        };
        let clickhouse = match statuses.clickhouse {
            Some(raw) => {
                let (frame, cbor) =
                    chain::resolve::<ClickHouseSnapshot>(raw, state.clickhouse_cbor.as_ref())?;
                state.clickhouse_cbor = cbor.or(state.clickhouse_cbor.take());
                Some(frame)
            }
            None => None,
        };
        let kafka = kafka.map(|f| f.status(&state.kafka));
        let clickhouse = clickhouse.map(|f| f.status(&state.clickhouse));
        if let Some(k) = &kafka {
            state.kafka = k.clone();
        }
        if let Some(c) = &clickhouse {
            state.clickhouse = c.clone();
        }
        state.session.ingest(kafka, clickhouse);
        state.started = true;
        Ok(())
    }
}

fn fresh(config: &Config) -> State {
    State {
        session: Session::new(config),
        kafka: SourceStatus::default(),
        clickhouse: SourceStatus::default(),
        next: 0,
        started: false,
        partial_since: None,
        kafka_cbor: None,
        clickhouse_cbor: None,
    }
}
