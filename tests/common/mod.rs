//! Shared helpers for the integration tests. They run against the live local stack started by
//! `tests/stack/up` (the README's test command starts it); nothing here is a mock. A live test names
//! what it needs with `needs!` and is skipped without it, or failed under `PIPETOP_LIVE_TESTS=require`
//! (see "Test tiers" in tests/stack/README.md).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use pipetop::config::{ClickHouseConfig, Config};

pub mod hostile;
pub mod hostile_names;
pub mod hostile_tables;
pub mod kafka_proxy;
pub mod secure;
mod tiers;
pub mod tmux;

#[allow(unused_imports)]
pub(crate) use tiers::needs;
pub use tiers::*;

pub const KAFKA: &str = "127.0.0.1:9092";
/// The first broker of the three-node fault cluster (`scripts/test` starts it; see
/// tests/stack/README.md): the fault tests kill and pause its brokers, never the shared one.
pub const FAULT_KAFKA: &str = "127.0.0.1:29092";
pub const CLICKHOUSE: &str = "http://127.0.0.1:8123";
pub const LEGACY_CLICKHOUSE: &str = "http://127.0.0.1:18123";
/// The replicated 18.16 pair of `tests/stack/up` (service `replicas`) and its ZooKeeper.
pub const REPLICA_1: &str = "http://127.0.0.1:18223";
pub const REPLICA_2: &str = "http://127.0.0.1:18323";
pub const ZOOKEEPER: &str = "127.0.0.1:12181";
/// Debian's Prometheus (`tests/stack/deps` installs it; no service runs, tests start their own).
pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A name no other test run has used: topics and groups outlive a test run.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// A fresh directory for one test, removed when it goes out of scope, passed or failed.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}_"))
        .tempdir()
        .unwrap_or_else(|e| panic!("a directory under the system's temp dir: {e}"))
}

pub fn config() -> Config {
    let mut config = Config::default();
    config.kafka.bootstrap_servers = KAFKA.to_string();
    config.clickhouse.url = CLICKHOUSE.to_string();
    config
}

pub fn clickhouse_config(url: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url.to_string(),
        ..ClickHouseConfig::default()
    }
}

/// A client that may write: the tests set up data; pipetop's own client never can.
pub fn writer(url: &str) -> clickhouse::Client {
    clickhouse::Client::default().with_url(url)
}

pub async fn exec(url: &str, sql: &str) {
    writer(url)
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The one number a query answers (a `count()`), from a test's own query.
pub async fn count(url: &str, sql: &str) -> u64 {
    writer(url)
        .query(sql)
        .fetch_one::<u64>()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn kafka_config() -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", KAFKA);
    cc
}

pub async fn create_topic(name: &str, partitions: i32) {
    create_topic_with(name, partitions, &[]).await;
}

/// [`create_topic`] with topic configs, e.g. `[("retention.ms", "20000")]`.
pub async fn create_topic_with(name: &str, partitions: i32, configs: &[(&str, &str)]) {
    create_topic_on(kafka_config(), name, partitions, configs).await;
}

/// Creates a topic through the cluster `client` reaches (one replica per partition) and waits
/// until every partition has a leader.
pub async fn create_topic_on(
    client: ClientConfig,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let admin: AdminClient<DefaultClientContext> = client.create().unwrap();
    let topic = configs.iter().fold(
        NewTopic::new(name, partitions, TopicReplication::Fixed(1)),
        |topic, (key, value)| topic.set(key, value),
    );
    let results = admin
        .create_topics(
            [&topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
    // Metadata propagates asynchronously even on one broker: wait until leaders are known.
    let consumer: BaseConsumer = client.create().unwrap();
    for _ in 0..100 {
        let ready = consumer
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .is_ok_and(|md| {
                md.topics().first().is_some_and(|t| {
                    t.error().is_none()
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
        if ready {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("topic {name} never got leaders");
}

pub async fn delete_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = kafka_config().create().unwrap();
    let _ = admin.delete_topics(&[name], &AdminOptions::new()).await;
}

/// Produces `counts[p]` messages to partition p and waits until all are acknowledged.
pub fn produce(topic: &str, counts: &[usize]) {
    produce_on(kafka_config(), topic, counts);
}

/// [`produce`] through a client made from `config` (another cluster: the fault tests').
pub fn produce_on(mut config: ClientConfig, topic: &str, counts: &[usize]) {
    let producer: BaseProducer = config.set("linger.ms", "5").create().unwrap();
    for (partition, &n) in counts.iter().enumerate() {
        for i in 0..n {
            let payload = format!("{{\"n\":{i}}}");
            let mut record = BaseRecord::<(), _>::to(topic)
                .partition(partition as i32)
                .payload(&payload);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Commits the given offsets for `group` without joining it (assign + commit, like a tool would).
pub fn commit(group: &str, topic: &str, offsets: &[(i32, i64)]) {
    commit_on(kafka_config(), group, topic, offsets);
}

/// [`commit`] through a client made from `config` (another cluster: the fault tests').
pub fn commit_on(mut config: ClientConfig, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for &(p, o) in offsets {
        tpl.add_partition_offset(topic, p, Offset::Offset(o))
            .unwrap();
    }
    commit_sync(&consumer, &tpl).unwrap();
}

/// A synchronous commit that waits out a coordinator still loading or moving (a broker just
/// started, or a group's coordinator that changed): those answers are retriable, and a test's
/// setup should not fail on them. Any other error is returned at once.
pub fn commit_sync<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    tpl: &TopicPartitionList,
) -> rdkafka::error::KafkaResult<()> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode as Code};
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match consumer.commit(tpl, CommitMode::Sync) {
            Err(KafkaError::ConsumerCommit(
                Code::CoordinatorLoadInProgress
                | Code::CoordinatorNotAvailable
                | Code::NotCoordinator,
            )) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            result => return result,
        }
    }
}

/// One row of `kafka-consumer-groups --describe`: CURRENT-OFFSET, LOG-END-OFFSET and LAG, with
/// `-` as None.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DescribeRow {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub end: Option<i64>,
    pub lag: Option<i64>,
    pub consumer_id: Option<String>,
}

/// Runs the reference tool from the stack's Kafka jars on these groups and parses its table.
pub fn describe_groups_with_reference_tool(groups: &[&str]) -> Vec<DescribeRow> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = std::process::Command::new(format!("{root}/tests/stack/kafka-cli"));
    cmd.args([
        "kafka-consumer-groups",
        "--bootstrap-server",
        KAFKA,
        "--describe",
    ]);
    for g in groups {
        cmd.args(["--group", g]);
    }
    let out = cmd.output().expect("run kafka-consumer-groups");
    let stdout = String::from_utf8_lossy(&out.stdout);
    parse_describe(&stdout)
}

pub fn parse_describe(text: &str) -> Vec<DescribeRow> {
    let opt = |s: &str| (s != "-").then(|| s.parse::<i64>().expect(s));
    let mut rows: Vec<DescribeRow> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 9 && f[0] != "GROUP")
        .map(|f| DescribeRow {
            group: f[0].to_string(),
            topic: f[1].to_string(),
            partition: f[2].parse().expect(f[2]),
            current: opt(f[3]),
            end: opt(f[4]),
            lag: opt(f[5]),
            consumer_id: (f[6] != "-").then(|| f[6].to_string()),
        })
        .collect();
    rows.sort();
    rows
}

pub async fn create_partitions(topic: &str, total: usize) {
    use rdkafka::admin::NewPartitions;
    let admin: AdminClient<DefaultClientContext> = kafka_config().create().unwrap();
    let results = admin
        .create_partitions(
            &[NewPartitions::new(topic, total)],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create partitions {t}: {e}"));
    }
    let consumer: BaseConsumer = kafka_config().create().unwrap();
    for _ in 0..100 {
        let ready = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .is_ok_and(|md| {
                md.topics().first().is_some_and(|t| {
                    t.partitions().len() == total && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
        if ready {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("topic {topic} never reached {total} partitions");
}

/// Deletes consumer groups (they must be empty); errors ignored, as for topics.
pub async fn delete_groups(groups: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = kafka_config().create().unwrap();
    let _ = admin.delete_groups(groups, &AdminOptions::new()).await;
}

/// Waits until metadata no longer lists `topic`.
pub fn wait_topic_gone(topic: &str) {
    let consumer: BaseConsumer = kafka_config().create().unwrap();
    for _ in 0..100 {
        let gone = consumer
            .fetch_metadata(None, Duration::from_secs(5))
            .is_ok_and(|md| md.topics().iter().all(|t| t.name() != topic));
        if gone {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("topic {topic} still listed after deletion");
}

/// Makes the server write its buffered query_log / part_log rows now, so a test sees them at once.
pub async fn flush_logs(url: &str) {
    exec(url, "SYSTEM FLUSH LOGS").await;
}

/// One poll of `url` with pipetop's ClickHouse collector, failing the test if the host fails.
pub async fn poll_clickhouse(
    config: &ClickHouseConfig,
) -> pipetop::clickhouse::snapshot::HostSnapshot {
    use pipetop::source::Collector;
    let mut collector = pipetop::clickhouse::collector::ClickHouseCollector::new(config);
    let snapshot = collector.poll().await.unwrap();
    match snapshot.hosts.into_iter().next().unwrap() {
        pipetop::clickhouse::snapshot::HostOutcome::Ok(host) => *host,
        other => panic!("host failed: {other:?}"),
    }
}

// ------------------------------------------------------------------ alerts and `pipetop check`

/// A config from TOML text, checked as `pipetop --config FILE` checks it.
pub fn config_from_toml(text: &str) -> Config {
    let path = std::path::Path::new("test.toml");
    let config = Config::parse(text, path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config
        .validate(Some(path))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    config
}

/// pipetop's own collectors polled into a `Session` source by source, with the test deciding when
/// each poll runs. Every ingest re-judges the alerts, as in the dashboard.
pub struct Watch {
    kafka: pipetop::kafka::collector::KafkaCollector,
    clickhouse: pipetop::clickhouse::collector::ClickHouseCollector,
    kafka_status: pipetop::source::SourceStatus<pipetop::kafka::snapshot::KafkaSnapshot>,
    clickhouse_status:
        pipetop::source::SourceStatus<pipetop::clickhouse::snapshot::ClickHouseSnapshot>,
    session: pipetop::session::Session,
}

impl Watch {
    pub fn new(config: &Config) -> Watch {
        Watch {
            kafka: pipetop::kafka::collector::KafkaCollector::new(&config.kafka).unwrap(),
            clickhouse: pipetop::clickhouse::collector::ClickHouseCollector::new(
                &config.clickhouse,
            ),
            kafka_status: Default::default(),
            clickhouse_status: Default::default(),
            session: pipetop::session::Session::new(config),
        }
    }

    /// One Kafka poll into the model; panics if the poll fails (the stack is up).
    pub async fn poll_kafka(&mut self) {
        use pipetop::source::Collector;
        let result = self.kafka.poll().await;
        if let Err(e) = &result {
            panic!("kafka poll failed: {e}");
        }
        self.kafka_status.record(result, SystemTime::now());
        self.session.ingest(Some(self.kafka_status.clone()), None);
    }

    /// One ClickHouse poll into the model; panics if the poll fails (the stack is up).
    pub async fn poll_clickhouse(&mut self) {
        use pipetop::source::Collector;
        let result = self.clickhouse.poll().await;
        if let Err(e) = &result {
            panic!("clickhouse poll failed: {e}");
        }
        self.clickhouse_status.record(result, SystemTime::now());
        self.session
            .ingest(None, Some(self.clickhouse_status.clone()));
    }

    /// The latest finished model.
    pub fn model(&self) -> &pipetop::model::Model {
        self.session.model()
    }

    /// When the latest good Kafka poll was recorded: the clock the alerts were judged on.
    pub fn kafka_polled_at(&self) -> Option<SystemTime> {
        self.kafka_status.last_good_at
    }

    /// The active (pending or firing) alert of one rule and subject.
    pub fn alert(
        &self,
        rule: pipetop::alerts::RuleKind,
        subject: &pipetop::alerts::Subject,
    ) -> Option<pipetop::alerts::Alert> {
        self.model()
            .alerts
            .active
            .iter()
            .find(|a| a.rule == rule && a.subject == *subject)
            .cloned()
    }

    /// The session history of one rule and subject, oldest first.
    pub fn history(
        &self,
        rule: pipetop::alerts::RuleKind,
        subject: &pipetop::alerts::Subject,
    ) -> Vec<pipetop::alerts::AlertEvent> {
        let mut events: Vec<_> = self
            .model()
            .alerts
            .history
            .iter()
            .filter(|e| e.rule == rule && e.subject == *subject)
            .cloned()
            .collect();
        events.reverse();
        events
    }
}

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The load generator, `target/debug/examples/pipeline`.
pub fn load_generator() -> std::process::Command {
    let path = load_generator_path();
    assert!(
        path.exists(),
        "build the load generator first: cargo build --examples (make test does)"
    );
    let mut cmd = std::process::Command::new(path);
    cmd.args(["--brokers", KAFKA, "--clickhouse", CLICKHOUSE]);
    cmd
}

/// `examples/pipeline` of the target directory this test was built in (`CARGO_TARGET_DIR` too):
/// the test binary is `<target>/debug/deps/NAME-HASH`, the example `<target>/debug/examples/pipeline`.
pub fn load_generator_path() -> std::path::PathBuf {
    let beside_tests = std::env::current_exe().ok().and_then(|exe| {
        Some(
            exe.parent()?
                .parent()?
                .join("examples")
                .join(format!("pipeline{}", std::env::consts::EXE_SUFFIX)),
        )
    });
    match beside_tests {
        Some(path) if path.exists() => path,
        _ => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/examples/pipeline")
        }
    }
}

/// Waits (up to 30 s) until the engine lists a Kafka-engine consumer: it appears once the
/// materialized views attach to the Kafka table.
pub async fn wait_for_kafka_engine_consumer() {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Count {
        n: u64,
    }
    for _ in 0..60 {
        let n = writer(CLICKHOUSE)
            .query("SELECT toUInt64(count()) AS n FROM system.kafka_consumers")
            .fetch_one::<Count>()
            .await
            .map_or(0, |c| c.n);
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no Kafka-engine consumer appeared in system.kafka_consumers within 30 s");
}

/// The load generator's sink consuming `topic` as `group`, steered through its own control file.
pub struct LoadSink {
    control: std::path::PathBuf,
    _child: Process,
}

impl LoadSink {
    pub fn start(topic: &str, group: &str) -> LoadSink {
        let control = std::env::temp_dir().join(unique("alerts_control"));
        let child = load_generator()
            .args(["--topic", topic, "--control"])
            .arg(&control)
            .args(["sink", "--group", group, "--flush-interval", "500ms"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        LoadSink {
            control,
            _child: Process(child),
        }
    }

    /// `pipeline ctl WORDS` on this sink (read by it within 250 ms).
    pub fn ctl(&self, words: &[&str]) {
        let out = load_generator()
            .arg("--control")
            .arg(&self.control)
            .arg("ctl")
            .args(words)
            .output()
            .unwrap();
        assert!(out.status.success(), "ctl {words:?}: {out:?}");
    }
}

impl Drop for LoadSink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.control);
    }
}

/// The load generator producing `rate` events/s to `topic` until dropped.
pub fn start_producer(topic: &str, rate: u32) -> Process {
    Process(
        load_generator()
            .args(["--topic", topic, "produce", "--rate", &rate.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// A loopback port nothing listens on (bound, read, released).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The Python of the chdb venv `tests/stack/up` installs (under `PIPETOP_CACHE_DIR`, by default
/// `~/.cache/pipetop`, as chdb-core-<version>-py<X.Y>/venv, with `.complete` when done).
pub fn chdb_python() -> Result<std::path::PathBuf, String> {
    let cache = std::env::var("PIPETOP_CACHE_DIR")
        .ok()
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/pipetop")
        });
    std::fs::read_dir(&cache)
        .map_err(|e| format!("{}: {e} (run tests/stack/up)", cache.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("chdb-core-"))
                && p.join(".complete").exists()
        })
        .map(|p| p.join("venv/bin/python"))
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!(
                "no chdb venv under {} (run tests/stack/up)",
                cache.display()
            )
        })
}

/// A ClickHouse of the test's own: a second `tests/stack/chdb_http.py` (the same chdb engine as the
/// shared stack's) with its own data directory and port, so a test may stall, kill and restart it.
/// Killed and its directory removed when dropped.
pub struct OwnClickHouse {
    pub url: String,
    pub log: std::path::PathBuf,
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Process>,
}

impl OwnClickHouse {
    pub fn start() -> OwnClickHouse {
        OwnClickHouse::start_with("")
    }

    /// [`Self::start`] with more server config (XML elements inside `<clickhouse>`), e.g. a
    /// `<remote_servers>` cluster.
    pub fn start_with(extra_config: &str) -> OwnClickHouse {
        let dir = std::env::temp_dir().join(unique("own_clickhouse"));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(
            dir.join("config.xml"),
            format!(
                "<?xml version=\"1.0\"?>\n<clickhouse>\n  <logger>\n    <level>warning</level>\n    <log>{0}/engine.log</log>\n    <errorlog>{0}/engine.err.log</errorlog>\n    <console>0</console>\n  </logger>\n  <query_log>\n    <database>system</database>\n    <table>query_log</table>\n    <flush_interval_milliseconds>1000</flush_interval_milliseconds>\n  </query_log>\n{1}\n</clickhouse>\n",
                dir.display(),
                extra_config
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("users.json"),
            "{\"default\": {\"password\": \"\"}}\n",
        )
        .unwrap();
        let port = unused_port();
        let mut own = OwnClickHouse {
            url: format!("http://127.0.0.1:{port}"),
            log: dir.join("adaptor.log"),
            port,
            dir,
            child: None,
        };
        own.launch();
        own
    }

    /// Starts the adaptor on this server's port and data directory and waits until it answers.
    fn launch(&mut self) {
        let python = chdb_python().unwrap_or_else(|e| panic!("{e}"));
        let dir = &self.dir;
        let child = std::process::Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/stack/chdb_http.py"
            ))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--verbose",
            ])
            .arg("--data")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(dir.join("config.xml"))
            .arg("--users")
            .arg(dir.join("users.json"))
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(dir.join("adaptor.out")).unwrap())
            // Appended: a restart keeps what the previous run logged.
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        self.child = Some(Process(child));
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.0.try_wait().unwrap()) {
                panic!(
                    "chdb_http.py exited ({status}) during startup: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if ping(self.port) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "own ClickHouse did not answer on port {} within 60 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// How many requests have carried `sql_fragment` so far (from the adaptor's verbose log).
    pub fn requests_containing(&self, sql_fragment: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(sql_fragment))
            .count()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.0.id())
    }

    /// SIGSTOP: the kernel still accepts connections and takes requests into its buffers, but
    /// nothing answers (a hung server, a full GC pause, a frozen VM). Undone by [`Self::resume`].
    pub fn stall(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Self::stall`]: the server answers again, the requests it got while stopped
    /// first.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let pid = self.pid().expect("the server runs");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// SIGKILL: the server vanishes mid-flight, as a crashed or unplugged one does; connections
    /// are refused until [`Self::restart`].
    /// (SIGKILL ends a stopped process too.)
    pub fn kill(&mut self) {
        drop(self.child.take());
    }

    /// Kills the server if it runs, then starts it again on the same port and data directory
    /// (its tables are still there) and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for OwnClickHouse {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `GET /ping` answered `Ok.` on 127.0.0.1:`port`.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.ends_with("Ok.\n") || reply.ends_with("Ok.")
}
