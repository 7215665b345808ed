//! The real binary in a real terminal (tmux) against the live stack: start, drill into
//! clickhouse_group, filter, back out, quit, and the terminal is left as it was found.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::{Child, Command, Stdio};

use common::tmux::Tmux;

struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pipeline() -> Command {
    let path = common::load_generator_path();
    assert!(
        path.exists(),
        "build the load generator first: cargo build --examples (make test does)"
    );
    Command::new(path)
}

/// The rows of the consumer-groups panel (the pipeline strip above it lists every pipeline's
/// group too).
fn group_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("Consumer groups"))
        .skip(2)
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| !l.trim_matches(|c| c == '│' || c == ' ').is_empty())
        .collect()
}

#[test]
fn drill_filter_back_quit_and_the_terminal_is_restored() {
    common::needs!(Kafka, ClickHouse, LoadGenerator, Tmux);
    // The pipeline's own sink, so clickhouse_group exists with commits and a live member.
    let control = std::env::temp_dir().join(common::unique("tui_control"));
    let status = pipeline().args(["setup"]).status().unwrap();
    assert!(status.success());
    let _sink = Sink(
        pipeline()
            .arg("--control")
            .arg(&control)
            .args(["sink", "--flush-interval", "500ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let status = pipeline()
        .args(["produce", "--rate", "2000", "--count", "200"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let binary = env!("CARGO_BIN_EXE_pipetop");
    // After pipetop exits, print its exit code and whether the tty is back in canonical mode.
    let tmux = Tmux::start(
        120,
        32,
        &format!(
            "{binary} --refresh 1s; echo EXIT=$?; stty -a | grep -o -- '-\\?icanon' | head -1 | sed 's/^/TTY=/'; sleep 30"
        ),
    );
    tmux.wait_for("Consumer groups");
    // The pipeline strip names the group from the config at once; the groups panel needs a poll.
    tmux.wait_until("for the first Kafka poll", |screen| {
        screen.contains("clickhouse_group") && !screen.contains("kafka · connecting")
    });

    tmux.keys(&["/", "^clickhouse_group$", "Enter"]);
    // The prompt shows the typed text before Enter is handled: wait for the list itself to
    // narrow (the prompt's text alone raced the key in CI).
    let screen = tmux.wait_until("the filter to keep only the match", |screen| {
        screen.contains("/^clickhouse_group$") && group_rows(screen).len() == 1
    });
    let groups = group_rows(&screen);
    assert_eq!(groups.len(), 1, "filter keeps only the match:\n{screen}");
    assert!(groups[0].contains("clickhouse_group"), "{screen}");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("overview › clickhouse_group");
    assert!(screen.contains("events_topic"), "{screen}");
    assert!(screen.contains("Members"), "{screen}");

    tmux.keys(&["Escape"]);
    tmux.wait_for("Consumer groups");
    tmux.keys(&["q"]);
    // The tty line is printed after the exit code: wait for it, not just for the exit.
    let screen = tmux.wait_for("TTY=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("TTY=icanon"),
        "raw mode was not undone:\n{screen}"
    );
    assert!(
        !screen.contains("Consumer groups"),
        "the alternate screen was not left:\n{screen}"
    );
}

/// A terminal that hangs up under the dashboard (the ssh session drops): pipetop ends at once
/// and cleanly, exit 0, where giving back a terminal that can no longer be written to used to
/// panic in the panic hook and abort with a core dump.
#[test]
fn a_terminal_that_hangs_up_ends_pipetop_cleanly() {
    common::needs!(Kafka, ClickHouse, Tmux);
    let dir = common::scratch_dir("tui_hangup");
    let status = dir.path().join("status");
    let binary = env!("CARGO_BIN_EXE_pipetop");
    // The shell ignores the hangup to live on and write pipetop's exit status (pipetop handles
    // SIGHUP itself).
    let tmux = Tmux::start(
        120,
        32,
        &format!(
            "trap '' HUP; {binary} --refresh 1s; echo $? > {}; sleep 30",
            status.display()
        ),
    );
    tmux.wait_until("for the first Kafka poll", |screen| {
        screen.contains("Consumer groups") && !screen.contains("kafka · connecting")
    });
    tmux.hang_up();
    let started = std::time::Instant::now();
    let code = loop {
        let code = std::fs::read_to_string(&status).unwrap_or_default();
        if !code.trim().is_empty() {
            break code;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "pipetop did not end within 20 s of the hangup"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(code.trim(), "0", "pipetop's exit status after the hangup");
}

/// `:ctx` in the real binary: the contexts are listed, a switch to a context whose servers are
/// down shows its name and nothing of the old context's data, and switching back brings the data
/// back. The config comes from `$XDG_CONFIG_HOME/pipetop/config.toml`, as on an engineer's laptop.
#[test]
fn ctx_switches_the_context_and_leaves_nothing_of_the_old_one() {
    common::needs!(Kafka, ClickHouse, Tmux);
    let home = common::scratch_dir("tui_ctx");
    std::fs::create_dir_all(home.path().join("pipetop")).unwrap();
    std::fs::write(
        home.path().join("pipetop/config.toml"),
        format!(
            "default_context = \"local\"\nrefresh = \"1s\"\n\
             [contexts.local.kafka]\nbootstrap_servers = \"{}\"\n\
             [contexts.local.clickhouse]\nurl = \"{}\"\n\
             [contexts.elsewhere.kafka]\nbootstrap_servers = \"127.0.0.1:1\"\nrequest_timeout = \"2s\"\n\
             [contexts.elsewhere.clickhouse]\nurl = \"http://127.0.0.1:1\"\n",
            common::KAFKA,
            common::CLICKHOUSE
        ),
    )
    .unwrap();
    let binary = env!("CARGO_BIN_EXE_pipetop");
    let tmux = Tmux::start(
        120,
        32,
        &format!(
            "env -u PIPETOP_CONFIG -u PIPETOP_CONTEXT XDG_CONFIG_HOME={} {binary}; sleep 30",
            home.path().display()
        ),
    );
    let local = tmux.wait_until("for local's first polls", |s| {
        s.contains("pipetop local") && s.contains(" broker") && s.contains("clickhouse 2")
    });
    assert!(!local.contains("elsewhere"), "{local}");

    tmux.keys(&[":ctx", "Enter"]);
    tmux.wait_for("contexts: elsewhere [local]");

    tmux.keys(&[":ctx else", "Tab", "Enter"]);
    let elsewhere = tmux.wait_until("for elsewhere to fail its first polls", |s| {
        s.contains("pipetop elsewhere") && s.matches("DOWN").count() >= 2
    });
    // Nothing of local's data: no broker count, no ClickHouse version, no tables.
    assert!(!elsewhere.contains(" broker"), "{elsewhere}");
    assert!(!elsewhere.contains("clickhouse 2"), "{elsewhere}");
    assert!(!elsewhere.contains("default.events"), "{elsewhere}");

    tmux.keys(&[":ctx local", "Enter"]);
    tmux.wait_until("for local's data again", |s| {
        s.contains("pipetop local") && s.contains(" broker") && s.contains("clickhouse 2")
    });
    let _ = std::fs::remove_dir_all(&home);
}

/// The header's ClickHouse part: `clickhouse 26.9.2.1 · DOWN 7s` (what follows the last `│`).
fn clickhouse_header(screen: &str) -> &str {
    let header = screen.lines().next().unwrap_or_default();
    header.rsplit('│').next().unwrap_or_default().trim()
}

/// The header's Kafka part: `kafka 1 broker · now`.
fn kafka_header(screen: &str) -> &str {
    let header = screen.lines().next().unwrap_or_default();
    header
        .split('│')
        .find(|part| part.trim_start().starts_with("kafka"))
        .unwrap_or_default()
        .trim()
}

/// The seconds of `DOWN 7s` in the ClickHouse part of the header.
fn down_for(screen: &str) -> Option<u64> {
    let part = clickhouse_header(screen);
    let age = part.split("DOWN ").nth(1)?;
    age.trim_end_matches('s').parse().ok()
}

/// A stalled ClickHouse (SIGSTOP of a server of the test's own) in the real binary: the header and
/// the ClickHouse panels say DOWN with the age of the data still on screen, the Kafka half keeps
/// updating, and after SIGCONT the screen shows fresh ClickHouse data again.
#[test]
fn a_stalled_clickhouse_shows_down_with_its_age_while_kafka_updates() {
    common::needs!(Kafka, ChdbVenv, Tmux);
    let own = common::OwnClickHouse::start();
    let dir = common::scratch_dir("tui_stall");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "refresh = \"1s\"\n[kafka]\nbootstrap_servers = \"{}\"\n\
             [clickhouse]\nurl = \"{}\"\nquery_timeout = \"2s\"\n",
            common::KAFKA,
            own.url
        ),
    )
    .unwrap();
    let binary = env!("CARGO_BIN_EXE_pipetop");
    let tmux = Tmux::start(
        120,
        32,
        &format!(
            "env -u PIPETOP_CONTEXT PIPETOP_CONFIG={} {binary}; sleep 30",
            config.display()
        ),
    );
    tmux.wait_until("for both sources' first polls", |s| {
        clickhouse_header(s).starts_with("clickhouse 26") && kafka_header(s).contains(" broker")
    });

    own.stall();
    // Down within a request's time limit (2 s + 1 s) and a refresh, then past it: the age grows.
    let screen = tmux.wait_until("for DOWN with an age of 6 s or more", |s| {
        down_for(s).is_some_and(|age| age >= 6)
    });
    // The version of the last good poll is still there, with the age of that data.
    assert!(
        clickhouse_header(&screen).starts_with("clickhouse 26."),
        "{screen}"
    );
    assert!(screen.contains("ClickHouse tables"), "{screen}");
    assert!(
        screen.contains("clickhouse: ") && screen.contains("timed out"),
        "the ClickHouse panels say why:\n{screen}"
    );
    assert!(
        screen.contains(" old "),
        "panels show their data's age:\n{screen}"
    );
    // Meanwhile Kafka polled every refresh: its age is under two seconds, never DOWN.
    let kafka = kafka_header(&screen);
    assert!(
        !kafka.contains("DOWN") && (kafka.ends_with("now") || kafka.ends_with(" 1s ago")),
        "the Kafka half kept updating: {kafka:?}\n{screen}"
    );

    own.resume();
    tmux.wait_until("for fresh ClickHouse data after SIGCONT", |s| {
        let part = clickhouse_header(s);
        part.starts_with("clickhouse 26.") && !part.contains("DOWN") && !s.contains(" old ")
    });
    tmux.keys(&["q"]);
    let _ = std::fs::remove_dir_all(&dir);
}
