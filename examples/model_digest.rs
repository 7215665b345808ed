//! What the model says, as a digest: for checking that a change to the derivation (issue 16's
//! speed work) changes nothing a screen, `snapshot` or `check` could show.
//!
//!   cargo run --release --example model_digest -- TOPICS GROUPS POLLS     (e.g. 30 300 7)
//!
//! Deterministic synthetic snapshots (`fixtures::scale_snapshot`, 200 partitions a topic, fixed
//! poll times) with a rewind, a group without data (the stale path) and partitions losing their
//! owner go through the real `Session`; after each poll the whole model (groups with every row,
//! topics, alerts, the timeline's events) is serialized to JSON and hashed. Run it on two commits
//! and compare the lines: 2026-12-03, `30 300 7` gave the same seven digests before and after the
//! derivation work.
#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

use pipetop::config::Config;
use pipetop::session::Session;
use pipetop::source::SourceStatus;

fn main() -> anyhow::Result<()> {
    let args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>())
        .collect::<Result<Vec<usize>, _>>()?;
    let [topics, groups, polls] = args[..] else {
        anyhow::bail!("usage: model_digest TOPICS GROUPS POLLS");
    };
    let config = Config {
        refresh: Duration::from_secs(2),
        ..Config::default()
    };
    let t0 = 1_800_000_000_000i64;
    let mut session = Session::new(&config);
    let mut status = SourceStatus::default();
    for n in 0..polls as u64 {
        let at = t0 + 2_000 * n as i64;
        let mut s = fixtures::scale_snapshot(topics, 200, groups, n, at);
        // Some variety: a rewind, a group without data, an unassigned partition.
        if n == 3
            && let Some(g) = s.groups.last_mut()
        {
            for c in g.committed.iter_mut().take(3) {
                c.offset -= 500;
            }
        }
        let len = s.groups.len();
        if n == 4
            && let Some(g) = s.groups.get_mut(len.saturating_sub(2))
        {
            g.committed.clear();
            g.members.clear();
            g.error = Some("unlisted".into());
        }
        if n >= 2 {
            for g in s.groups.iter_mut().step_by(7) {
                if let Some(m) = g.members.first_mut() {
                    m.assignment.truncate(m.assignment.len() / 2);
                }
            }
        }
        let when = SystemTime::UNIX_EPOCH + Duration::from_millis(at as u64);
        status.record(Ok(s), when);
        session.ingest(Some(status.clone()), None);
        let json = serde_json::to_string(&**session.model())?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        json.hash(&mut h);
        println!("poll {n}: {} bytes, digest {:016x}", json.len(), h.finish());
    }
    Ok(())
}
