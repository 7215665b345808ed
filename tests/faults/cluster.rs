//! The three-broker fault cluster (`scripts/test` starts it on 127.0.0.1:29092/29192/29292 with
//! its own state in `target/fault-stack`): its nodes driven through `tests/stack/kafka-node`, and
//! the guard that gives every test a whole cluster back, even when the test fails.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

pub const NODES: [i32; 3] = [1, 2, 3];

/// All three brokers, so a client finds the cluster whichever of them is down.
pub fn bootstrap() -> String {
    NODES
        .iter()
        .map(|&n| format!("127.0.0.1:{}", broker_port(n)))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn broker_port(node: i32) -> u16 {
    u16::try_from(29092 + 100 * (node - 1)).unwrap()
}

pub fn client_config() -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", bootstrap());
    // The test's own clients must not take the fault tests' time: fail fast, retry soon.
    cc.set("socket.connection.setup.timeout.ms", "3000");
    cc.set("log_level", "0");
    cc
}

/// What a node is asked to do (`tests/stack/kafka-node`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL: no controlled shutdown.
    Kill,
    /// TERM: controlled shutdown (leaders moved away first).
    Stop,
    Start,
    /// SIGSTOP: sockets open, nothing answers.
    Pause,
    /// SIGCONT.
    Resume,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
        }
    }
}

fn stack_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fault-stack")
}

/// Runs `tests/stack/kafka-node ACTION NODE` on the fault cluster; panics when it fails.
pub fn node(action: Action, node: i32) {
    let out = node_command(action, node)
        .output()
        .expect("run tests/stack/kafka-node");
    assert!(
        out.status.success(),
        "kafka-node {} {node}: {}\n{}",
        action.word(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn node_command(action: Action, node: i32) -> Command {
    let mut cmd = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stack/kafka-node"
    ));
    cmd.args([action.word(), &node.to_string()])
        .env("PIPETOP_STACK_DIR", stack_dir())
        .env("PIPETOP_KAFKA_PORT", "29092")
        .env("PIPETOP_KAFKA_HEAP", "512m");
    cmd
}

/// One fault test at a time: cargo runs a binary's tests on two threads, and two tests breaking
/// the same cluster would measure each other's faults.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Held for a whole test: the cluster is whole when it is taken and is made whole again when it
/// is dropped (every node resumed and started), whether the test passed or panicked.
pub struct Whole {
    _serial: MutexGuard<'static, ()>,
}

impl Whole {
    pub fn take() -> Whole {
        // A test that failed holding the lock poisoned it; the cluster is restored all the same.
        let serial = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        restore();
        Whole { _serial: serial }
    }
}

impl Drop for Whole {
    fn drop(&mut self) {
        restore();
    }
}

/// Every node resumed and running, then every broker registered and every partition of the
/// group log with its full ISR, so the next test starts from a healthy cluster.
fn restore() {
    for &n in &NODES {
        // Not `node()`: this runs in Drop, possibly during a panic, and must try every node.
        for action in [Action::Resume, Action::Start] {
            match node_command(action, n).output() {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "restore: kafka-node {} {n}: {}",
                    action.word(),
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("restore: kafka-node {} {n}: {e}", action.word()),
            }
        }
    }
    if let Err(e) = wait_healthy(Duration::from_secs(90)) {
        eprintln!("restore: {e}");
    }
    // Leaders (and so group coordinators) go back to their preferred brokers, so each test finds
    // every broker leading and coordinating something (Kafka would do it only after 5 minutes).
    let elected = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stack/kafka-cli"
    ))
    .args([
        "kafka-leader-election",
        "--bootstrap-server",
        &bootstrap(),
        "--election-type",
        "preferred",
        "--all-topic-partitions",
    ])
    .env("PIPETOP_STACK_DIR", stack_dir())
    .output();
    if let Err(e) = elected {
        eprintln!("restore: kafka-leader-election: {e}");
    }
    if let Err(e) = wait_preferred(Duration::from_secs(30)) {
        eprintln!("restore: {e}");
    }
}

/// Waits until every partition is led by its preferred (first) replica.
fn wait_preferred(limit: Duration) -> Result<(), String> {
    let consumer: BaseConsumer = client_config().create().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(md) = consumer.fetch_metadata(None, Duration::from_secs(3))
            && md.topics().iter().all(|t| {
                t.partitions()
                    .iter()
                    .all(|p| p.replicas().first() == Some(&p.leader()))
            })
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "leaders not back on their preferred replicas after {limit:?}"
    ))
}

/// Waits until the metadata lists the three brokers and every partition (of every topic) has a
/// leader and all its replicas in sync.
pub fn wait_healthy(limit: Duration) -> Result<(), String> {
    let consumer: BaseConsumer = client_config().create().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        match consumer.fetch_metadata(None, Duration::from_secs(3)) {
            Ok(md) => {
                let brokers = md.brokers().len();
                let unhealthy: Vec<String> = md
                    .topics()
                    .iter()
                    .flat_map(|t| {
                        t.partitions()
                            .iter()
                            .filter(|p| p.leader() < 0 || p.isr().len() < p.replicas().len())
                            .map(move |p| format!("{}-{}", t.name(), p.id()))
                    })
                    .collect();
                if brokers == NODES.len() && unhealthy.is_empty() {
                    return Ok(());
                }
                last = format!("{brokers} brokers, not in sync: {unhealthy:?}");
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!("cluster not healthy after {limit:?}: {last}"))
}

/// The id of the active KRaft controller, as the cluster describes itself.
pub fn active_controller() -> i32 {
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stack/kafka-cli"
    ))
    .args([
        "kafka-metadata-quorum",
        "--bootstrap-server",
        &bootstrap(),
        "describe",
        "--status",
    ])
    .env("PIPETOP_STACK_DIR", stack_dir())
    .output()
    .expect("run kafka-metadata-quorum");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("LeaderId:"))
        .and_then(|id| id.trim().parse().ok())
        .unwrap_or_else(|| panic!("no LeaderId in kafka-metadata-quorum's answer:\n{text}"))
}
