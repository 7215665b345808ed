//! The real binary in tmux while a broker is stalled: the header says how many brokers answer,
//! and keys still answer.

use std::time::Instant;

use super::cluster::{self, Action, Whole};
use super::fixture::Fixture;
use super::scenario::binary_config;
use crate::common::tmux::Tmux;

/// Returns how long after the SIGSTOP the header said "brokers 2/3, 1 down".
pub async fn header_during_pause() -> std::time::Duration {
    let _whole = Whole::take();
    let victim = 2;
    let fixture = Fixture::new(victim).await;
    let path = std::env::temp_dir().join(format!("{}.toml", crate::common::unique("faults_tui")));
    std::fs::write(&path, binary_config(&fixture)).unwrap();
    let command = format!(
        "env -u PIPETOP_CONFIG -u PIPETOP_CONTEXT {} --config {}",
        env!("CARGO_BIN_EXE_pipetop"),
        path.display()
    );
    let detection = tokio::task::spawn_blocking(move || {
        let tmux = Tmux::start(120, 32, &command);
        tmux.wait_for("kafka 3 brokers");
        let paused_at = Instant::now();
        cluster::node(Action::Pause, victim);
        tmux.wait_for("brokers 2/3, 1 down");
        let detection = paused_at.elapsed();
        // Keys answer while the broker hangs: the help opens and closes.
        tmux.keys(&["?"]);
        tmux.wait_for("any key closes");
        tmux.keys(&["Escape"]);
        tmux.wait_until("the help to close", |s| !s.contains("any key closes"));
        let screen = tmux.screen();
        assert!(screen.contains("brokers 2/3, 1 down"), "{screen}");
        cluster::node(Action::Resume, victim);
        tmux.wait_for("kafka 3 brokers");
        tmux.keys(&["q"]);
        detection
    })
    .await;
    let _ = std::fs::remove_file(&path);
    let detection = detection.unwrap();
    eprintln!("FAULT-TIMES tmux-pause header_ms={}", detection.as_millis());
    detection
}
