//! One fault, start to end: a whole cluster and the fixture, pipetop's collector and session
//! watching, the fault, detection, the figures during it, the cluster back, recovery. Times are
//! measured from the fault (detection) and from the moment the broker answers again (recovery),
//! and printed in one fixed format (`FAULT-TIMES ...`) that the README's Reliability table
//! collects.

use std::time::{Duration, Instant};

use pipetop::config::Config;
use pipetop::kafka::filter::Pattern;

use super::cluster::{self, Action, Whole};
use super::fixture::Fixture;
use super::watcher::{Frame, Watcher, describe};

pub const REFRESH: Duration = Duration::from_secs(2);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(6);

/// Detection: the bound, a refresh plus a request timeout (8 s here). The next poll
/// starts within a refresh of the fault, and finds the broker down within its request timeout:
/// the direct check at its start (`broker_probe`) sees a refused connection at once and a stalled
/// broker within its short limit.
pub const DETECTION_LIMIT: Duration = REFRESH.saturating_add(REQUEST_TIMEOUT);
/// Recovery: the two refreshes, plus one short poll (a poll that started just before
/// the broker was back ends up to its own length later).
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(2 * 2 + 1);
/// The brokers that answer keep their figures updating: a published poll at least every refresh
/// plus the short limit of requests to a broker known down (`PROBE_TIMEOUT`, 1 s) per phase.
pub const UPDATE_LIMIT: Duration = Duration::from_secs(2 + 3);
/// Kafka's `broker.session.timeout.ms` (its default, which the stack keeps): how long the
/// controller waits for a silent broker before fencing it and moving its leaders.
const BROKER_SESSION_TIMEOUT: Duration = Duration::from_secs(9);
/// A down broker's groups read again from their new coordinator, counted from the fault: Kafka
/// fences the broker and moves its leaders (the session timeout, plus a new controller's
/// election when the controller itself died), then a poll already waiting on the old
/// coordinator ends (a request timeout) and the next one (a refresh) reads the group.
pub const COORDINATOR_MOVE_LIMIT: Duration = BROKER_SESSION_TIMEOUT
    .saturating_add(Duration::from_secs(3))
    .saturating_add(REQUEST_TIMEOUT)
    .saturating_add(REFRESH);

pub fn config(fixture: &Fixture) -> Config {
    let mut config = Config {
        refresh: REFRESH,
        ..Config::default()
    };
    config.kafka.bootstrap_servers = cluster::bootstrap();
    config.kafka.request_timeout = REQUEST_TIMEOUT;
    config.kafka.include_groups = vec![Pattern::new(&fixture.group_pattern()).unwrap()];
    config.kafka.include_topics = vec![Pattern::new(&fixture.topic_pattern()).unwrap()];
    config
}

/// Which broker a fault hits.
#[derive(Debug, Clone, Copy)]
pub enum Victim {
    Node(i32),
    /// The active KRaft controller.
    Controller,
}

pub struct Fault {
    pub name: &'static str,
    pub victim: Victim,
    pub action: Action,
    /// What brings it back: Start after Kill/Stop, Resume after Pause.
    pub back: Action,
}

/// What one run measured.
#[derive(Debug)]
pub struct Measured {
    pub detection: Duration,
    pub recovery: Duration,
    /// The longest wait between two published polls during the fault.
    pub max_gap: Duration,
}

/// Whether every broker answers and every group's figures are this poll's.
fn whole(frame: &Frame, fixture: &Fixture) -> bool {
    let k = &frame.model.kafka;
    frame.error.is_none()
        && k.brokers_down().is_empty()
        && fixture.groups().iter().all(|id| {
            k.group(id).is_some_and(|g| {
                g.error.is_none() && g.stale_s.is_none() && !g.partitions.is_empty()
            })
        })
}

/// Checks of every frame during a fault: the source answers, every group is there, and a group
/// without this poll's data shows its last figures marked stale, or at least why it has none:
/// never a group with no figures and no reason (which the screen would show as lag 0).
fn check_during(frame: &Frame, fixture: &Fixture) {
    assert!(
        frame.error.is_none(),
        "the poll failed as a whole: {}",
        describe(frame)
    );
    for id in fixture.groups() {
        let g = frame
            .model
            .kafka
            .group(&id)
            .unwrap_or_else(|| panic!("group {id} missing: {}", describe(frame)));
        if g.partitions.is_empty() {
            assert!(
                g.error.is_some(),
                "{id}: no figures and no reason: {}",
                describe(frame)
            );
        }
        if g.stale_s.is_some() {
            assert!(!g.partitions.is_empty(), "{id}: stale without figures");
            assert!(g.error.is_some(), "{id}: stale without a reason");
        }
    }
}

pub async fn run(fault: &Fault) -> Measured {
    let _whole = Whole::take();
    // The controller is only known once pipetop has polled; the fixture needs a victim for its
    // single-replica topic first, so it is asked of the cluster directly.
    let victim = match fault.victim {
        Victim::Node(n) => n,
        Victim::Controller => cluster::active_controller(),
    };
    let fixture = Fixture::new(victim).await;
    let mut watcher = Watcher::start(&config(&fixture));
    let ready = watcher
        .until(Duration::from_secs(60), |f| whole(f, &fixture))
        .await
        .unwrap_or_else(|e| panic!("{}: never whole before the fault: {e}", fault.name));
    let _ = ready;

    let fault_at = Instant::now();
    let action = fault.action;
    tokio::task::spawn_blocking(move || cluster::node(action, victim))
        .await
        .unwrap();
    let detected = watcher
        .until(DETECTION_LIMIT + Duration::from_secs(30), |f| {
            if f.model.kafka.brokers_down().contains(&victim) {
                return true;
            }
            eprintln!(
                "{}: +{:?} not yet: {} (phases {:?})",
                fault.name,
                f.at.duration_since(fault_at),
                describe(f),
                f.snapshot.as_ref().map(|s| s.phases_ms)
            );
            check_during(f, &fixture);
            false
        })
        .await
        .unwrap_or_else(|e| panic!("{}: broker {victim} never shown down: {e}", fault.name));
    let detection = detected.at.duration_since(fault_at);
    eprintln!(
        "{}: detected by {} (phases {:?})",
        fault.name,
        describe(&detected),
        detected.snapshot.as_ref().map(|s| s.phases_ms)
    );

    // Three more polls during the fault: the rest keeps updating, and the live group's commits
    // are read fresh each time.
    let mut during = vec![detected.clone()];
    let until = Instant::now() + 3 * REFRESH + 2 * REQUEST_TIMEOUT;
    while during.len() < 4 {
        let Some(f) = watcher.next(until).await else {
            break;
        };
        eprintln!(
            "{}: +{:?} during: poll {} ms, phases {:?}",
            fault.name,
            f.at.duration_since(fault_at),
            f.snapshot.as_ref().map_or(0, |s| s.poll_ms),
            f.snapshot.as_ref().map(|s| s.phases_ms)
        );
        check_during(&f, &fixture);
        assert!(
            f.model.kafka.brokers_down().contains(&victim),
            "{}: broker {victim} shown up again during the fault: {}",
            fault.name,
            describe(&f)
        );
        during.push(f);
    }
    assert_eq!(
        during.len(),
        4,
        "{}: polls stopped during the fault",
        fault.name
    );
    let taken: Vec<i64> = during
        .iter()
        .map(|f| f.snapshot.as_ref().map_or(0, |s| s.taken_at_ms))
        .collect();
    assert!(
        taken.windows(2).all(|w| w[1] > w[0]),
        "{}: snapshots not advancing: {taken:?}",
        fault.name
    );
    // The group on a live coordinator is read fresh every poll: never stale, and its lag moves
    // with the log ends of its topic, whose replicas are all on brokers that stay up (its own
    // commits may not move: a commit waits for every in-sync replica of the group log, the
    // victim too until it leaves the ISR).
    let live: Vec<(u64, i64)> = during
        .iter()
        .map(|f| {
            let g = f.model.kafka.group(&fixture.committing).unwrap();
            assert!(
                g.stale_s.is_none() && g.error.is_none() && !g.partitions.is_empty(),
                "{}: live group: {}",
                fault.name,
                describe(f)
            );
            (
                g.total_lag,
                g.partitions.iter().filter_map(|p| p.end()).sum(),
            )
        })
        .collect();
    // (Every poll reads it fresh, checked above; the ends move with the test's producer, over
    // the four polls.)
    assert!(
        live.last().map(|l| l.1) > live.first().map(|l| l.1),
        "{}: the live group's log ends did not advance during the fault: {live:?}",
        fault.name
    );
    let max_gap = during
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .max()
        .unwrap_or_default();

    // The down broker's groups move: once Kafka fences it, its `__consumer_offsets` partitions
    // get new leaders, and pipetop reads its groups from their new coordinator while it is still
    // down (librdkafka kept the fenced broker as their coordinator, so they stayed stale until
    // it came back: vendor/rdkafka-sys/PIPETOP-PATCH.md, fix 4).
    let orphan = fixture.coordinated_by[&victim].clone();
    let moved = watcher
        .until(COORDINATOR_MOVE_LIMIT + Duration::from_secs(30), |f| {
            check_during(f, &fixture);
            assert!(
                f.model.kafka.brokers_down().contains(&victim),
                "{}: broker {victim} shown up again during the fault: {}",
                fault.name,
                describe(f)
            );
            f.model
                .kafka
                .group(&orphan)
                .is_some_and(|g| g.error.is_none() && g.stale_s.is_none())
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}: {orphan} (coordinated by broker {victim}) never read from a new \
                 coordinator: {e}",
                fault.name
            )
        });
    let moved_after = moved.at.duration_since(fault_at);
    eprintln!(
        "{}: {orphan} read from its new coordinator {moved_after:?} after the fault",
        fault.name
    );
    assert!(
        moved_after <= COORDINATOR_MOVE_LIMIT,
        "{}: {orphan} read from its new coordinator only {moved_after:?} after the fault \
         (limit {COORDINATOR_MOVE_LIMIT:?})",
        fault.name
    );

    // The binary says the same as the model, from a fresh process (no history of the fault).
    let config_toml = binary_config(&fixture);
    let expected = format!("brokers 2/3, 1 down ({victim})");
    let (snapshot, check) = tokio::task::spawn_blocking(move || binary_during_fault(&config_toml))
        .await
        .unwrap();
    assert!(
        snapshot.contains(&format!("kafka {expected}")),
        "{}: pipetop snapshot during the fault:\n{snapshot}",
        fault.name
    );
    assert!(
        check
            .lines()
            .next()
            .is_some_and(|l| l.ends_with(&format!(" · kafka {expected}")))
            && check.contains(&format!("broker_unreachable broker {victim}")),
        "{}: pipetop check during the fault:\n{check}",
        fault.name
    );

    let back = fault.back;
    tokio::task::spawn_blocking(move || cluster::node(back, victim))
        .await
        .unwrap();
    let back_at = Instant::now();
    let recovered = watcher
        .until(RECOVERY_LIMIT + Duration::from_secs(60), |f| {
            whole(f, &fixture)
        })
        .await
        .unwrap_or_else(|e| panic!("{}: never whole again: {e}", fault.name));
    let recovery = recovered.at.duration_since(back_at);
    let measured = Measured {
        detection,
        recovery,
        max_gap,
    };
    eprintln!(
        "FAULT-TIMES {} detection_ms={} recovery_ms={} max_gap_ms={} refresh_ms={} timeout_ms={}",
        fault.name,
        detection.as_millis(),
        recovery.as_millis(),
        max_gap.as_millis(),
        REFRESH.as_millis(),
        REQUEST_TIMEOUT.as_millis()
    );
    measured
}

/// The fixture's config as a file for the binary; ClickHouse on a port nobody listens on (the
/// fault tests are about Kafka, and must not load the shared ClickHouse).
pub fn binary_config(fixture: &Fixture) -> String {
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    format!(
        "refresh = \"{}s\"\n[kafka]\nbootstrap_servers = \"{}\"\nrequest_timeout = \"{}s\"\n\
         include_groups = ['{}']\ninclude_topics = ['{}']\n[clickhouse]\nurl = \"http://127.0.0.1:{unused}\"\n",
        REFRESH.as_secs(),
        cluster::bootstrap(),
        REQUEST_TIMEOUT.as_secs(),
        fixture.group_pattern(),
        fixture.topic_pattern(),
    )
}

/// `pipetop snapshot` and `pipetop check` (text), each one poll, run with `config`.
fn binary_during_fault(config: &str) -> (String, String) {
    let path = std::env::temp_dir().join(format!("{}.toml", crate::common::unique("faults")));
    std::fs::write(&path, config).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipetop"))
            .arg("--config")
            .arg(&path)
            .args(args)
            .env_remove("PIPETOP_CONFIG")
            .env_remove("PIPETOP_CONTEXT")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let snapshot = run(&["snapshot"]);
    let check = run(&["check"]);
    let _ = std::fs::remove_file(&path);
    (snapshot, check)
}

/// Every broker killed, then all started again: the Kafka source fails as a whole (the screen
/// keeps the last figures with their age, see `SourceState`), then comes back.
pub async fn all_down() -> Measured {
    let _whole = Whole::take();
    let fixture = Fixture::new(1).await;
    let mut watcher = Watcher::start(&config(&fixture));
    watcher
        .until(Duration::from_secs(60), |f| whole(f, &fixture))
        .await
        .unwrap_or_else(|e| panic!("all-down: never whole before the fault: {e}"));
    let fault_at = Instant::now();
    tokio::task::spawn_blocking(|| {
        for n in cluster::NODES {
            cluster::node(Action::Kill, n);
        }
    })
    .await
    .unwrap();
    let detected = watcher
        .until(DETECTION_LIMIT + Duration::from_secs(30), |f| {
            f.error.is_some()
        })
        .await
        .unwrap_or_else(|e| panic!("all-down: the source never failed: {e}"));
    let detection = detected.at.duration_since(fault_at);
    // The last good figures stay, with the age of the last good poll.
    let mut during = vec![detected];
    let until = Instant::now() + 2 * (REFRESH + 2 * REQUEST_TIMEOUT);
    while during.len() < 3 {
        let Some(f) = watcher.next(until).await else {
            break;
        };
        during.push(f);
    }
    assert_eq!(
        during.len(),
        3,
        "all-down: polls stopped while the cluster was down"
    );
    for f in &during {
        assert!(
            f.error.is_some(),
            "all-down: a poll succeeded: {}",
            describe(f)
        );
        let sources = &f.model.sources.kafka;
        assert!(
            sources.last_good_at.is_some(),
            "all-down: the last good data is gone"
        );
        for id in fixture.groups() {
            assert!(
                f.model.kafka.group(&id).is_some(),
                "all-down: group {id} gone"
            );
        }
    }
    let max_gap = during
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .max()
        .unwrap_or_default();
    tokio::task::spawn_blocking(|| {
        // Together: a single KRaft node cannot form a quorum, so each start waits for its port
        // only, and the cluster answers once a majority runs.
        let handles: Vec<_> = cluster::NODES
            .iter()
            .map(|&n| std::thread::spawn(move || cluster::node(Action::Start, n)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    })
    .await
    .unwrap();
    // Back: from the first poll the cluster answers (a quorum, leaders elected) to every broker
    // shown up, and (printed only: that is Kafka loading its group log) every group read fresh.
    let answering = watcher
        .until(Duration::from_secs(90), |f| f.error.is_none())
        .await
        .unwrap_or_else(|e| panic!("all-down: never answered again: {e}"));
    let up = |f: &Frame| f.error.is_none() && f.model.kafka.brokers_down().is_empty();
    let all_up = if up(&answering) {
        answering.clone()
    } else {
        watcher
            .until(RECOVERY_LIMIT + Duration::from_secs(60), up)
            .await
            .unwrap_or_else(|e| panic!("all-down: brokers never all up again: {e}"))
    };
    let recovery = all_up.at.duration_since(answering.at);
    let fresh = if whole(&all_up, &fixture) {
        all_up.clone()
    } else {
        watcher
            .until(Duration::from_secs(60), |f| whole(f, &fixture))
            .await
            .unwrap_or_else(|e| panic!("all-down: groups never fresh again: {e}"))
    };
    eprintln!(
        "all-down: every group fresh {:?} after the cluster answered again",
        fresh.at.duration_since(answering.at)
    );
    eprintln!(
        "FAULT-TIMES all-down detection_ms={} recovery_ms={} max_gap_ms={} refresh_ms={} timeout_ms={}",
        detection.as_millis(),
        recovery.as_millis(),
        max_gap.as_millis(),
        REFRESH.as_millis(),
        REQUEST_TIMEOUT.as_millis()
    );
    Measured {
        detection,
        recovery,
        max_gap,
    }
}
