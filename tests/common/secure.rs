//! The stack's SASL_SSL listener (tests/stack/README.md, "SASL_SSL"): where it is, its CA, its
//! users, and admin-side helpers that set a test up over the plaintext listener of the same
//! broker (User:ANONYMOUS, a super user there).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// The user pipetop connects as, with only the ACLs of "The permissions pipetop needs".
pub const PIPETOP_USER: &str = "pipetop";
pub const PIPETOP_PASSWORD: &str = "pipetop-secret";
/// The stack's OIDC token endpoint (tests/stack/oidc_token.py): its clients all share this
/// secret; `pipetop` gets a token for subject `pipetop`, `pipetop-expired` one that expired an
/// hour ago, `pipetop-foreign` one signed by a key the brokers' JWKS does not hold.
pub const OIDC_SECRET: &str = "pipetop-oidc-secret";

/// The first broker's two listeners, found like tests/stack/up lays them out: plaintext on
/// `PIPETOP_KAFKA_PORT` (default 9092, so [`super::KAFKA`] on the shared stack and in CI),
/// SASL_SSL two ports above; the CA in `PIPETOP_STACK_DIR` (default `target/stack`).
#[derive(Debug, Clone)]
pub struct SecureKafka {
    pub plain: String,
    pub sasl: String,
    pub ca: PathBuf,
    /// The broker's log, where it reports every failed authentication.
    pub broker_log: PathBuf,
    /// The OIDC token endpoint (the broker port + 3), and its log of every token request.
    pub token_endpoint: String,
    pub token_log: PathBuf,
}

pub fn secure_kafka() -> SecureKafka {
    let port: u16 = std::env::var("PIPETOP_KAFKA_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(9092);
    let dir = std::env::var_os("PIPETOP_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stack"));
    SecureKafka {
        plain: format!("127.0.0.1:{port}"),
        sasl: format!("127.0.0.1:{}", port + 2),
        ca: dir.join("kafka/tls/ca.pem"),
        broker_log: dir.join("logs/kafka-1.log"),
        token_endpoint: format!("http://127.0.0.1:{}/token", port + 3),
        token_log: dir.join("logs/oidc.log"),
    }
}

impl SecureKafka {
    /// Present when the listener answers and its CA is there.
    pub fn check(&self) -> Result<(), String> {
        super::answers(&self.sasl)?;
        let endpoint = self.token_endpoint.trim_start_matches("http://");
        super::answers(endpoint.split('/').next().unwrap_or(endpoint))?;
        if self.ca.exists() {
            Ok(())
        } else {
            Err(format!("{} does not exist", self.ca.display()))
        }
    }

    fn admin_config(&self) -> ClientConfig {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &self.plain);
        cc
    }

    pub async fn create_topic(&self, name: &str, partitions: i32) {
        super::create_topic_on(self.admin_config(), name, partitions, &[]).await;
    }

    /// Whether the cluster has the topic, asked as a super user over plaintext.
    pub async fn topic_exists(&self, name: &str) -> bool {
        let client: BaseConsumer = self.admin_config().create().unwrap();
        let md = client
            .fetch_metadata(None, Duration::from_secs(10))
            .unwrap();
        md.topics().iter().any(|t| t.name() == name)
    }

    /// Produces `counts[p]` messages to partition p, acknowledged.
    pub fn produce(&self, topic: &str, counts: &[usize]) {
        let producer: BaseProducer = self.admin_config().create().unwrap();
        for (partition, &n) in counts.iter().enumerate() {
            for i in 0..n {
                let payload = format!("{{\"n\":{i}}}");
                let record = BaseRecord::<(), _>::to(topic)
                    .partition(partition as i32)
                    .payload(&payload);
                producer.send(record).map_err(|(e, _)| e).unwrap();
            }
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }

    /// Commits offsets for `group` without joining it.
    pub fn commit(&self, group: &str, topic: &str, offsets: &[(i32, i64)]) {
        let consumer: BaseConsumer = self
            .admin_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in offsets {
            tpl.add_partition_offset(topic, p, Offset::Offset(o))
                .unwrap();
        }
        super::commit_sync(&consumer, &tpl).unwrap();
    }

    /// `kafka-acls --add ARGS` as ANONYMOUS over plaintext (the stack's Kafka CLI).
    pub fn add_acl(&self, args: &[&str]) {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new(format!("{root}/tests/stack/kafka-cli"))
            .args([
                "kafka-acls",
                "--bootstrap-server",
                &self.plain,
                "--add",
                "--force",
            ])
            .args(args)
            .output()
            .expect("run kafka-acls");
        assert!(
            out.status.success(),
            "kafka-acls {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// How many failed authentications (SASL or TLS) the broker has logged so far.
    /// How many tokens pipetop's clients (and others) have asked the token endpoint for so far.
    pub fn token_requests(&self) -> usize {
        std::fs::read_to_string(&self.token_log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"POST /token"))
            .count()
    }

    pub fn failed_authentications(&self) -> usize {
        std::fs::read_to_string(&self.broker_log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Failed authentication with"))
            .count()
    }
}
