//! What one poll saw of a host's Kafka-engine chains: each Kafka engine table with the materialized
//! views that read it and their target tables (system.tables), each view's runs and failures in
//! the window (system.query_views_log), and the server's Kafka counters (system.events). Plain
//! immutable data, and the readers of the DDL text the server keeps.

use serde::{Deserialize, Serialize};

use super::identifier::unquote_qualified;

/// One Kafka engine table and the views that read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaTableChain {
    pub database: String,
    pub table: String,
    /// `kafka_topic_list`, split on commas; empty when the DDL does not say.
    pub topics: Vec<String>,
    /// `kafka_group_name`, when the DDL says.
    pub group: Option<String>,
    /// The materialized views that read it (`dependencies_database` / `dependencies_table`).
    pub views: Vec<ChainView>,
}

/// A materialized view reading a Kafka engine table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    pub database: String,
    pub name: String,
    /// `database.table` it writes to (`TO …`); None for a view with an inner table, or when its
    /// DDL was not found.
    pub target: Option<String>,
}

impl ChainView {
    /// `database.name`, as `system.query_views_log.view_name` spells it.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }
}

/// One view's pushes in the window (`system.query_views_log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRuns {
    /// `database.name`.
    pub view: String,
    /// `view_target` as the log writes it.
    pub target: String,
    /// Pushes through the view in the window, and how many of them threw.
    pub runs: u64,
    pub failures: u64,
    /// The newest failure's exception (empty when none failed) and its time (unix seconds).
    pub last_exception: String,
    pub last_failure_time: Option<u32>,
}

/// One of the server's Kafka counters (`system.events`, cumulative since its start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaEvent {
    pub name: String,
    pub value: u64,
}

/// The counters read, in the order shown. `system.events` lists only counters that moved: one
/// missing reads as 0.
pub const KAFKA_EVENTS: &[&str] = &[
    "KafkaCommitFailures",
    "KafkaConsumerErrors",
    "KafkaRebalanceErrors",
    "KafkaRebalanceRevocations",
    "KafkaMessagesFailed",
    "KafkaRowsRejected",
    "KafkaMVNotReady",
    "KafkaCommits",
    "KafkaMessagesRead",
    "KafkaRowsRead",
];

/// The `TO` table of `CREATE MATERIALIZED VIEW db.v TO db.t …` (as `system.tables` writes it),
/// unquoted; None for a view with an inner table or text of another shape.
pub fn view_target(create_query: &str) -> Option<String> {
    let rest = create_query.trim_start();
    let rest = strip_word(rest, "CREATE")?;
    let rest = strip_word(rest, "MATERIALIZED")?;
    let rest = strip_word(rest, "VIEW")?;
    let (_, rest) = qualified_name(rest)?;
    let rest = strip_word(rest, "TO")?;
    let (target, _) = qualified_name(rest)?;
    Some(unquote_qualified(target))
}

/// `kafka_topic_list` (split on commas, trimmed) and `kafka_group_name` of a Kafka table's DDL,
/// from its `SETTINGS` or the engine's positional arguments (`Kafka('broker', 'topic', 'group',
/// 'format')`, the old form).
pub fn kafka_settings(create_query: &str) -> (Vec<String>, Option<String>) {
    let topics = setting(create_query, "kafka_topic_list")
        .or_else(|| positional(create_query, 1))
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let group = setting(create_query, "kafka_group_name").or_else(|| positional(create_query, 2));
    (topics, group)
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace))
        .then(|| rest.trim_start())
}

/// A possibly quoted `db.name` at the start of `text`, and what follows it.
fn qualified_name(text: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None if c.is_whitespace() || c == '(' => {
                return (i > 0).then(|| (&text[..i], text[i..].trim_start()));
            }
            None => {}
        }
    }
    None
}

/// The string literal following `name = ` in the DDL's settings.
fn setting(create_query: &str, name: &str) -> Option<String> {
    let at = create_query.find(&format!("{name} = '"))? + name.len() + 4;
    literal(&create_query[at..])
}

/// The `index`th string argument of `ENGINE = Kafka(…)`.
fn positional(create_query: &str, index: usize) -> Option<String> {
    let at = create_query.find("ENGINE = Kafka(")? + "ENGINE = Kafka(".len();
    let mut rest = &create_query[at..];
    for i in 0..=index {
        rest = rest.trim_start().strip_prefix('\'')?;
        let value = literal(rest)?;
        if i == index {
            return Some(value);
        }
        // Skip the literal just read (its escapes included) and the comma after it.
        let mut escaped = false;
        let end = rest.char_indices().find(|&(_, c)| {
            let close = !escaped && c == '\'';
            escaped = !escaped && c == '\\';
            close
        })?;
        rest = rest[end.0 + 1..].trim_start().strip_prefix(',')?;
    }
    None
}

/// The text of a single-quoted literal whose opening quote was just consumed, escapes read.
fn literal(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_target_reads_the_to_table_quoted_or_not() {
        assert_eq!(
            view_target(
                "CREATE MATERIALIZED VIEW mvc.mv TO mvc.t (`id` UInt64) AS SELECT id FROM mvc.k"
            )
            .as_deref(),
            Some("mvc.t")
        );
        assert_eq!(
            view_target("CREATE MATERIALIZED VIEW `d b`.`v w` TO `d b`.`t x` AS SELECT 1")
                .as_deref(),
            Some("d b.t x")
        );
        // An inner table: no TO.
        assert_eq!(
            view_target("CREATE MATERIALIZED VIEW d.v (`a` UInt8) ENGINE = Memory AS SELECT 1"),
            None
        );
        assert_eq!(
            view_target("CREATE TABLE d.t (a UInt8) ENGINE = Memory"),
            None
        );
        assert_eq!(view_target(""), None);
    }

    #[test]
    fn kafka_settings_from_settings_or_positional_arguments() {
        let (topics, group) = kafka_settings(
            "CREATE TABLE k.t (`a` String) ENGINE = Kafka SETTINGS kafka_broker_list = 'b:9092', \
             kafka_topic_list = 'one, two', kafka_group_name = 'g\\'1', kafka_format = 'JSONEachRow'",
        );
        assert_eq!(topics, ["one", "two"]);
        assert_eq!(group.as_deref(), Some("g'1"));
        let (topics, group) = kafka_settings(
            "CREATE TABLE k.t (`a` String) ENGINE = Kafka('b:9092', 'events', 'grp', 'JSONEachRow')",
        );
        assert_eq!(topics, ["events"]);
        assert_eq!(group.as_deref(), Some("grp"));
        let (topics, group) = kafka_settings("CREATE TABLE k.t (a String) ENGINE = Kafka");
        assert!(topics.is_empty());
        assert_eq!(group, None);
    }
}
