//! Names anyone can give: consumer groups on the live broker whose ids hold terminal escape
//! sequences, a newline, a bidi override, CJK and emoji, a zero-width space, a literal backslash
//! and 10,000 characters, a member whose client.id holds controls, and a topic of Kafka's
//! longest name (249 characters of `[a-zA-Z0-9._-]`, all Kafka allows). Every id starts with a
//! unique tag, so a config can watch exactly these (`include_groups`); all is deleted on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

/// The messages in each partition, and the offset every group commits: every group's lag is 4.
pub const MESSAGES: usize = 5;
pub const COMMITTED: i64 = 1;

pub struct HostileGroups {
    pub tag: String,
    pub topic: String,
    /// Every group id, the plain one first.
    pub groups: Vec<String>,
    /// The group with a live member whose client.id is [`HostileGroups::client_id`].
    pub member_group: String,
    pub client_id: String,
    stop: Arc<AtomicBool>,
    member: Option<JoinHandle<()>>,
}

impl HostileGroups {
    /// Creates the topic and the groups (offsets committed without joining), then starts the
    /// member and waits until it has its partition.
    pub async fn create() -> HostileGroups {
        let tag = super::unique("hostile");
        let topic = format!("{tag}_{}", "t".repeat(249))
            .chars()
            .take(249)
            .collect::<String>();
        super::create_topic(&topic, 1).await;
        super::produce(&topic, &[MESSAGES]);
        let groups: Vec<String> = [
            "plain".to_string(),
            "\u{1b}[31mred\u{1b}[0m".to_string(),
            "\u{1b}]0;pwned-title\u{7}".to_string(),
            "line\nbreak".to_string(),
            "abc\u{202e}fed".to_string(),
            "消费者组🦀👩\u{200d}💻".to_string(),
            "zero\u{200b}width".to_string(),
            "back\\slash\\x1b".to_string(),
            "L".repeat(10_000),
        ]
        .iter()
        .map(|name| format!("{tag}{name}"))
        .collect();
        for group in &groups {
            super::commit(group, &topic, &[(0, COMMITTED)]);
        }
        let member_group = format!("{tag}member");
        let client_id = format!("{tag}cli\u{1b}[2J\u{1b}]2;pwned\u{7}ent\n");
        let stop = Arc::new(AtomicBool::new(false));
        let member = member(&member_group, &client_id, &topic, stop.clone());
        HostileGroups {
            tag,
            topic,
            groups,
            member_group,
            client_id,
            stop,
            member: Some(member),
        }
    }

    /// A config that watches these groups only (`(?s)`: ids hold newlines).
    pub fn config_toml(&self, clickhouse: &str) -> String {
        format!(
            "refresh = \"1s\"\n[kafka]\nbootstrap_servers = \"{}\"\ninclude_groups = ['(?s){}.*']\n\
             [clickhouse]\nurl = \"{clickhouse}\"\n",
            super::KAFKA,
            self.tag
        )
    }

    pub fn all_groups(&self) -> Vec<&str> {
        self.groups
            .iter()
            .chain([&self.member_group])
            .map(String::as_str)
            .collect()
    }
}

/// A member of `group` that holds its partition (commits nothing) until `stop`.
fn member(group: &str, client_id: &str, topic: &str, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    let consumer: BaseConsumer = super::kafka_config()
        .set("group.id", group)
        .set("client.id", client_id)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let started = Instant::now();
    while consumer.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
        let _ = consumer.poll(Duration::from_millis(100));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the member never got its partition"
        );
    }
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let _ = consumer.poll(Duration::from_millis(100));
        }
    })
}

impl Drop for HostileGroups {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(member) = self.member.take() {
            let _ = member.join();
        }
        let groups: Vec<String> = self.all_groups().iter().map(|g| g.to_string()).collect();
        let topic = self.topic.clone();
        // Drop may run inside a test's runtime: clean up on a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
                super::delete_groups(&refs).await;
                super::delete_topic(&topic).await;
            });
        })
        .join();
    }
}
