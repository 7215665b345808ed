//! Record and replay: what the collectors published, as the session ingested it, in a versioned
//! file of self-delimiting compressed frames (`frame`: the codec; `content`: what frames hold;
//! `delta` and `chain`: a batch's snapshot as the difference from the one before it; `writer`:
//! appending, keyframes, rotation; `recorder`: the thread that writes off the update path;
//! `reader`: opening and indexing; `player`: replaying through the same `Session`; `at`: the
//! times `--at` takes; `export`: the `E` key's last minutes).

pub mod at;
pub mod chain;
pub mod content;
pub mod delta;
pub mod export;
pub mod frame;
pub mod player;
pub mod reader;
pub mod recorder;
pub mod writer;

#[cfg(test)]
mod tests;
