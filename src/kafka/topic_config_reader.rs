//! Reads the topics' retention settings with DescribeConfigs on a slow cadence: they change
//! rarely, and one request per poll for every topic would be load for nothing. A topic that
//! appears between two reads is read soon after (at most every [`NEW_TOPIC_RETRY`]). The reads
//! run on a task of their own, so a slow broker never holds up the offsets.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, ResourceSpecifier};

use super::admin::Admin;
use super::snapshot::KafkaSnapshot;
use super::topic_configs::{Retention, TopicConfigs};

/// How often every watched topic's configs are read again.
pub const REFRESH: Duration = Duration::from_secs(300);
/// How soon a topic that was not read yet (new, or its read failed) is tried again.
pub const NEW_TOPIC_RETRY: Duration = Duration::from_secs(30);
/// How long the first poll waits for the first read (later polls never wait).
pub const FIRST_READ_WAIT: Duration = Duration::from_secs(2);
/// Topics per DescribeConfigs request: one request is answered by one broker, so a cluster of
/// thousands of topics is read in a few requests, none of them huge.
const BATCH: usize = 500;

/// The collector's reader: what was read, and when to read again.
#[derive(Debug, Default)]
pub struct TopicConfigReader {
    configs: std::sync::Arc<TopicConfigs>,
    next_full_read: Option<Instant>,
    next_new_topic_read: Option<Instant>,
}

impl TopicConfigReader {
    /// The settings as last read, for this poll's snapshot (shared, not copied).
    pub fn current(&self) -> std::sync::Arc<TopicConfigs> {
        std::sync::Arc::clone(&self.configs)
    }

    /// Reads the configs of `topics` when the cadence says so: all of them every [`REFRESH`],
    /// the ones never read every [`NEW_TOPIC_RETRY`]. Blocking (run on the blocking pool).
    /// Returns the number of requests sent.
    pub fn refresh(
        &mut self,
        admin: &Admin,
        topics: &[&str],
        timeout: Duration,
        now_ms: i64,
    ) -> u32 {
        let now = Instant::now();
        let full = self.next_full_read.is_none_or(|at| now >= at);
        let wanted: Vec<&str> = if full {
            topics.to_vec()
        } else if self.next_new_topic_read.is_none_or(|at| now >= at) {
            topics
                .iter()
                .copied()
                .filter(|t| !self.configs.topics.contains_key(*t))
                .collect()
        } else {
            Vec::new()
        };
        if wanted.is_empty() {
            return 0;
        }
        let mut next = (*self.configs).clone();
        if full {
            // Deleted topics go; the ones read now come back below.
            next.topics
                .retain(|name, _| topics.contains(&name.as_str()));
        }
        let mut requests = 0;
        let mut failure = None;
        for batch in wanted.chunks(BATCH) {
            requests += 1;
            match describe(admin, batch, timeout) {
                Ok(read) => next.topics.extend(read),
                Err(e) => failure = Some(e),
            }
        }
        next.read_at_ms = Some(now_ms);
        next.error = failure;
        if full && next.error.is_none() {
            self.next_full_read = Some(now + REFRESH);
        } else if full {
            // A failed full read is tried again soon, not in five minutes.
            self.next_full_read = Some(now + NEW_TOPIC_RETRY);
        }
        self.next_new_topic_read = Some(now + NEW_TOPIC_RETRY);
        self.configs = std::sync::Arc::new(next);
        requests
    }
}

/// Runs the reader off the poll: a read that waits on a slow broker never delays the offsets.
/// Each poll hands in the topics it saw and gets the settings as last read.
#[derive(Debug, Default)]
pub struct TopicConfigTask {
    idle: Option<TopicConfigReader>,
    running: Option<tokio::task::JoinHandle<TopicConfigReader>>,
    last: std::sync::Arc<TopicConfigs>,
}

impl TopicConfigTask {
    pub fn new() -> TopicConfigTask {
        TopicConfigTask {
            idle: Some(TopicConfigReader::default()),
            running: None,
            last: std::sync::Arc::default(),
        }
    }

    /// Collects a finished read, starts the next one when one is due, and returns the settings
    /// as last read. The very first read is waited for, up to [`FIRST_READ_WAIT`], so that a
    /// one-shot `snapshot` or `check` has them; later ones never hold up a poll.
    pub async fn step(
        &mut self,
        admin: &std::sync::Arc<Admin>,
        topics: Vec<String>,
        timeout: Duration,
    ) -> std::sync::Arc<TopicConfigs> {
        self.collect();
        if let Some(mut reader) = self.idle.take() {
            let admin = std::sync::Arc::clone(admin);
            self.running = Some(tokio::task::spawn_blocking(move || {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                let now_ms = crate::time::unix_ms(std::time::SystemTime::now());
                reader.refresh(&admin, &names, timeout, now_ms);
                reader
            }));
        }
        if self.last.read_at_ms.is_none() {
            let wait = FIRST_READ_WAIT.min(timeout);
            let deadline = tokio::time::Instant::now() + wait;
            while self.running.as_ref().is_some_and(|t| !t.is_finished())
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            self.collect();
        }
        std::sync::Arc::clone(&self.last)
    }

    /// [`Self::step`] for the topics a poll saw (internal ones have no retention that matters
    /// here), into its snapshot.
    pub async fn attach(
        &mut self,
        admin: &std::sync::Arc<Admin>,
        snapshot: &mut KafkaSnapshot,
        timeout: Duration,
    ) {
        let topics = snapshot
            .topics
            .iter()
            .filter(|t| !t.internal)
            .map(|t| t.name.clone())
            .collect();
        snapshot.topic_configs = self.step(admin, topics, timeout).await;
    }

    /// Takes back the reader of a finished read, with what it read.
    fn collect(&mut self) {
        if self.running.as_ref().is_some_and(|t| t.is_finished())
            && let Some(task) = self.running.take()
        {
            // A read that panicked starts over from nothing rather than never again.
            let reader = futures::FutureExt::now_or_never(task)
                .and_then(Result::ok)
                .unwrap_or_default();
            self.last = reader.current();
            self.idle = Some(reader);
        }
    }
}

/// One DescribeConfigs request for `topics`.
fn describe(
    admin: &Admin,
    topics: &[&str],
    timeout: Duration,
) -> Result<Vec<(String, Retention)>, String> {
    let specifiers: Vec<ResourceSpecifier> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let options = AdminOptions::new().request_timeout(Some(timeout));
    let answer =
        futures::executor::block_on(admin.client().describe_configs(&specifiers, &options))
            .map_err(|e| format!("DescribeConfigs (topic retention): {e}"))?;
    Ok(answer
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|resource| {
            let rdkafka::admin::OwnedResourceSpecifier::Topic(name) = &resource.specifier else {
                return None;
            };
            let entries = resource.entry_map();
            let retention =
                Retention::from_entries(|key| entries.get(key).and_then(|e| e.value.as_deref()))?;
            Some((name.clone(), retention))
        })
        .collect())
}
