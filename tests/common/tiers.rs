//! Test tiers: what a live test needs (a server of the stack, a program), whether it is there,
//! and what happens when it is not: a printed skip, or a failure under `PIPETOP_LIVE_TESTS=require`
//! (see "Test tiers" in tests/stack/README.md).

use super::*;

/// Something outside the test binary that a live test needs. A test names its needs at its start
/// with [`needs!`]; a test that needs nothing external names none and simply runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The Kafka broker of `tests/stack/up` on 127.0.0.1:9092.
    Kafka,
    /// The SASL_SSL listener of `tests/stack/up` (127.0.0.1:9094) and its CA
    /// (see [`secure::secure_kafka`]).
    SaslKafka,
    /// The three-node fault cluster on 127.0.0.1:29092/29192/29292 (`scripts/test` starts it).
    FaultKafka,
    /// ClickHouse 26.x (the chdb adaptor) on 127.0.0.1:8123.
    ClickHouse,
    /// The legacy clickhouse-server 18.16 on 127.0.0.1:18123.
    LegacyClickHouse,
    /// The replicated 18.16 pair on 127.0.0.1:18223 / :18323 and ZooKeeper on 127.0.0.1:12181.
    Replicas,
    /// The chdb venv `tests/stack/up` installs, for a ClickHouse of the test's own
    /// ([`OwnClickHouse`]).
    ChdbVenv,
    /// The load generator `examples/pipeline`, built (`cargo build --examples`).
    LoadGenerator,
    /// `tmux` on PATH.
    Tmux,
    /// `curl` on PATH.
    Curl,
    /// Prometheus (Debian's `prometheus` package: `/usr/bin/prometheus`), started by the test.
    Prometheus,
    /// A listening socket of the test's own on 127.0.0.1 (missing in a network namespace without
    /// loopback, e.g. `unshare -n`).
    Loopback,
}

impl Need {
    const ALL: [Need; 12] = [
        Need::Kafka,
        Need::SaslKafka,
        Need::FaultKafka,
        Need::ClickHouse,
        Need::LegacyClickHouse,
        Need::Replicas,
        Need::ChdbVenv,
        Need::LoadGenerator,
        Need::Tmux,
        Need::Curl,
        Need::Prometheus,
        Need::Loopback,
    ];

    /// What is needed, as the skip message names it.
    pub fn what(self) -> String {
        match self {
            Need::Kafka => format!("Kafka on {KAFKA}"),
            Need::SaslKafka => {
                let k = secure::secure_kafka();
                format!(
                    "Kafka's SASL_SSL listener on {} (CA {})",
                    k.sasl,
                    k.ca.display()
                )
            }
            Need::FaultKafka => format!("the three-broker fault cluster on {FAULT_KAFKA}"),
            Need::ClickHouse => format!("ClickHouse on {CLICKHOUSE}"),
            Need::LegacyClickHouse => format!("legacy ClickHouse 18.16 on {LEGACY_CLICKHOUSE}"),
            Need::Replicas => {
                format!(
                    "the replicated pair on {REPLICA_1}, {REPLICA_2} with ZooKeeper {ZOOKEEPER}"
                )
            }
            Need::ChdbVenv => "the chdb venv of tests/stack/up".to_string(),
            Need::LoadGenerator => "the load generator (examples/pipeline)".to_string(),
            Need::Tmux => "tmux".to_string(),
            Need::Curl => "curl".to_string(),
            Need::Prometheus => format!("Prometheus ({PROMETHEUS})"),
            Need::Loopback => "a loopback interface (127.0.0.1)".to_string(),
        }
    }

    /// How to get it.
    pub fn how(self) -> &'static str {
        match self {
            Need::Kafka | Need::SaslKafka | Need::ClickHouse | Need::LegacyClickHouse => {
                "start it with tests/stack/up"
            }
            Need::Replicas => "start it with tests/stack/up --only replicas",
            Need::FaultKafka => {
                "start it with PIPETOP_STACK_DIR=target/fault-stack PIPETOP_KAFKA_PORT=29092 \
                 PIPETOP_KAFKA_HEAP=512m tests/stack/up --only kafka --brokers 3"
            }
            Need::ChdbVenv => "install it with tests/stack/up",
            Need::LoadGenerator => "build it with cargo build --examples",
            Need::Tmux | Need::Curl | Need::Prometheus => "install it with tests/stack/deps",
            Need::Loopback => "run outside a network namespace without loopback",
        }
    }

    /// Whether it is there, checked once per test process: `Err` says what was found instead.
    pub fn check(self) -> Result<(), String> {
        static CHECKED: [OnceLock<Result<(), String>>; Need::ALL.len()] =
            [const { OnceLock::new() }; Need::ALL.len()];
        CHECKED[self as usize]
            .get_or_init(|| match self {
                Need::Kafka => answers(KAFKA),
                Need::SaslKafka => secure::secure_kafka().check(),
                Need::FaultKafka => answers(FAULT_KAFKA),
                Need::ClickHouse => answers(host_port(CLICKHOUSE)),
                Need::LegacyClickHouse => answers(host_port(LEGACY_CLICKHOUSE)),
                Need::Replicas => answers(host_port(REPLICA_1))
                    .and_then(|()| answers(host_port(REPLICA_2)))
                    .and_then(|()| answers(ZOOKEEPER)),
                Need::ChdbVenv => chdb_python().map(drop),
                Need::LoadGenerator => {
                    let path = load_generator_path();
                    if path.exists() {
                        Ok(())
                    } else {
                        Err(format!("{} does not exist", path.display()))
                    }
                }
                Need::Tmux => runs("tmux", "-V"),
                Need::Curl => runs("curl", "--version"),
                Need::Prometheus => runs(PROMETHEUS, "--version"),
                Need::Loopback => loopback(),
            })
            .clone()
    }
}

/// `host:port` of an `http://host:port` URL.
fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// A TCP connect with a short timeout: a stopped server is refused at once, and a network namespace
/// without loopback (`unshare -n`) is unreachable at once, so this never hangs.
pub(crate) fn answers(addr: &str) -> Result<(), String> {
    let addr: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(1500))
        .map(drop)
        .map_err(|e| format!("connect to {addr}: {e}"))
}

/// A listener on 127.0.0.1 that a connect reaches: without a loopback interface binding may
/// still succeed, but the connect is unreachable.
fn loopback() -> Result<(), String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    answers(&addr.to_string())
}

fn runs(program: &str, arg: &str) -> Result<(), String> {
    match std::process::Command::new(program).arg(arg).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("{program} {arg}: {}", out.status)),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// What a live test does when something it needs is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveTests {
    /// Prints `SKIPPED …` and returns early, passing: the default for `cargo test`.
    Skip,
    /// Fails: `PIPETOP_LIVE_TESTS=require` (exported by `scripts/test`, so `make test` and CI),
    /// or `CI` set to anything but empty, `0`, `false` or `no` while `PIPETOP_LIVE_TESTS` is unset.
    Require,
}

/// `PIPETOP_LIVE_TESTS` (`require` | `skip`; unset or `auto`: `require` under CI, else `skip`).
pub fn live_tests() -> LiveTests {
    static MODE: OnceLock<LiveTests> = OnceLock::new();
    *MODE.get_or_init(|| {
        let var = std::env::var("PIPETOP_LIVE_TESTS").unwrap_or_default();
        match var.trim().to_ascii_lowercase().as_str() {
            "require" => LiveTests::Require,
            "skip" => LiveTests::Skip,
            "" | "auto" => {
                let ci = std::env::var("CI").unwrap_or_default();
                match ci.trim().to_ascii_lowercase().as_str() {
                    "" | "0" | "false" | "no" => LiveTests::Skip,
                    _ => LiveTests::Require,
                }
            }
            other => panic!(
                "PIPETOP_LIVE_TESTS={other:?}: expected `require` (a missing server fails the test) \
                 or `skip` (it skips the test); unset, it is `require` when CI is set, else `skip`"
            ),
        }
    })
}

/// Whether the live test `test` can run: true when all of `needs` are there. Otherwise, under
/// [`LiveTests::Skip`], prints `SKIPPED test: needs … — how` straight to stderr (past the test
/// harness's capture, so `cargo test` shows it) and returns false; under [`LiveTests::Require`]
/// panics with the same message.
#[track_caller]
pub fn can_run(test: &str, needs: &[Need]) -> bool {
    let mode = live_tests(); // a bad PIPETOP_LIVE_TESTS fails even when everything is there
    let missing: Vec<(Need, String)> = needs
        .iter()
        .filter_map(|&n| n.check().err().map(|e| (n, e)))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let what: Vec<String> = missing.iter().map(|(n, _)| n.what()).collect();
    let mut how: Vec<String> = Vec::new();
    for (need, _) in &missing {
        let several = missing
            .iter()
            .filter(|(n, _)| n.how() == need.how())
            .count()
            > 1;
        let hint = if several {
            need.how().replacen(" it ", " them ", 1)
        } else {
            need.how().to_string()
        };
        if !how.contains(&hint) {
            how.push(hint);
        }
    }
    let why: Vec<&str> = missing.iter().map(|(_, e)| e.as_str()).collect();
    let message = format!(
        "{test}: needs {} — {}, or run make test ({})",
        what.join(" and "),
        how.join("; "),
        why.join("; ")
    );
    match mode {
        LiveTests::Require => panic!(
            "{message}\nPIPETOP_LIVE_TESTS=require (or CI=true) makes a missing server a failure; \
             PIPETOP_LIVE_TESTS=skip skips such tests instead"
        ),
        LiveTests::Skip => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "SKIPPED {message}");
            false
        }
    }
}

/// At the start of a live test: `common::needs!(Kafka, ClickHouse);` returns from the test (a
/// printed skip, the test passes) when one of them is missing, or fails it under
/// `PIPETOP_LIVE_TESTS=require` / `CI=true`. See [`can_run`] and [`Need`].
macro_rules! needs {
    ($($need:ident),+ $(,)?) => {
        if !$crate::common::can_run(
            {
                // `crate::test_fn::{{closure}}::here` → `crate::test_fn`, as `cargo test` names it.
                fn here() {}
                let name = ::std::any::type_name_of_val(&here);
                let name = name.strip_suffix("::here").unwrap_or(name);
                name.trim_end_matches("::{{closure}}")
            },
            &[$($crate::common::Need::$need),+],
        ) {
            return;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use needs;
