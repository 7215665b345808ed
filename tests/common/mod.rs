//! Shared helpers for the integration tests. They run against the live local stack started by
//! `tests/stack/up` (the README's test command starts it); nothing here is a mock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use pipetop::config::{ClickHouseConfig, Config};

pub const KAFKA: &str = "127.0.0.1:9092";
pub const CLICKHOUSE: &str = "http://127.0.0.1:8123";
pub const LEGACY_CLICKHOUSE: &str = "http://127.0.0.1:18123";

/// A name no other test run has used: topics and groups outlive a test run.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
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

pub fn kafka_config() -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", KAFKA);
    cc
}

pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = kafka_config().create().unwrap();
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
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
    let consumer: BaseConsumer = kafka_config().create().unwrap();
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
    let producer: BaseProducer = kafka_config().set("linger.ms", "5").create().unwrap();
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
    let consumer: BaseConsumer = kafka_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for &(p, o) in offsets {
        tpl.add_partition_offset(topic, p, Offset::Offset(o))
            .unwrap();
    }
    consumer.commit(&tpl, CommitMode::Sync).unwrap();
}

/// Fails fast with a clear message when the stack is not running.
pub fn require_stack() {
    for (what, addr) in [
        ("kafka", "127.0.0.1:9092"),
        ("clickhouse", "127.0.0.1:8123"),
    ] {
        if std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
            .is_err()
        {
            panic!(
                "{what} is not answering on {addr}: start the stack with tests/stack/up (make test does)"
            );
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
