//! Configuration: a TOML file (optional), environment variables for secrets, command-line overrides.
//!
//! Every key is checked: an unknown key is an error rather than silently ignored, because a typo in
//! `sasl.password` or `refresh` would otherwise leave an on-call engineer staring at wrong data.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::clickhouse::section_id::SectionId;
use crate::kafka::filter::{Filters, NameFilter, Pattern};

/// The whole configuration, after the file, environment and command line have been merged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A name shown in the header, so nobody mistakes production for staging.
    pub context: String,
    #[serde(deserialize_with = "duration")]
    pub refresh: Duration,
    /// How far back the charts and sparklines go (one point per poll); an hour by default.
    #[serde(deserialize_with = "duration")]
    pub history: Duration,
    /// How far back the `E` key's recording export reaches (from `--record FILE`).
    #[serde(deserialize_with = "duration")]
    pub export_window: Duration,
    /// A built-in theme name (dark, light, high-contrast, colorblind) or a theme file path.
    pub theme: String,
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
    pub alerts: crate::alerts::AlertsConfig,
    /// Topic → consumer group → tables chains shown side by side. Without a config file, the
    /// local stack's two pipelines (the sink's and the Kafka table engine's).
    #[serde(default)]
    pub pipelines: Vec<PipelineConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Shown in the pipeline strip; defaults to the group name.
    pub name: Option<String>,
    pub topic: String,
    /// The consumer group that moves the topic into ClickHouse (a sink's, or a Kafka engine
    /// table's `kafka_group_name`).
    pub group: String,
    /// Target tables as `database.table`.
    pub tables: Vec<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    /// librdkafka properties passed through verbatim (security.protocol, sasl.*, ssl.*, ...).
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties whose value is read from an environment variable, e.g.
    /// `"sasl.password" = "KAFKA_SASL_PASSWORD"`, so secrets stay out of the file.
    pub properties_env: BTreeMap<String, String>,
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Regexes matched against whole group ids: only matching groups are watched (empty = all).
    pub include_groups: Vec<Pattern>,
    /// Regexes of group ids never watched; wins over `include_groups`.
    pub exclude_groups: Vec<Pattern>,
    /// Regexes matched against whole topic names (empty = all).
    pub include_topics: Vec<Pattern>,
    /// Regexes of topics never shown; wins over `include_topics`.
    pub exclude_topics: Vec<Pattern>,
    /// Show Kafka's internal topics (`__consumer_offsets`, ...), hidden by default.
    pub show_internal_topics: bool,
}

impl KafkaConfig {
    pub fn filters(&self) -> Filters {
        Filters {
            groups: NameFilter {
                include: self.include_groups.clone(),
                exclude: self.exclude_groups.clone(),
            },
            topics: NameFilter {
                include: self.include_topics.clone(),
                exclude: self.exclude_topics.clone(),
            },
            show_internal_topics: self.show_internal_topics,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    pub url: String,
    pub user: String,
    pub password: Secret,
    /// Name of an environment variable holding the password (takes precedence over `password`).
    pub password_env: Option<String>,
    pub database: String,
    /// Server-side limit for every query (`max_execution_time`), also enforced client-side.
    #[serde(deserialize_with = "duration")]
    pub query_timeout: Duration,
    /// Several servers, each polled on its own and shown per host. Empty: just `url`.
    pub hosts: Vec<String>,
    /// Tables whose newest row is watched: `now() − max(column)`.
    pub freshness: Vec<WatchedTable>,
    /// The sliding window over `system.query_log` for insert rates, failures and latency.
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
    /// Regexes matched against whole `database.table` names: only matching tables are listed
    /// (empty = all). Matched on the server (`match()`), so every list's LIMIT counts only them.
    pub include_tables: Vec<Pattern>,
    /// Regexes of tables never listed; wins over `include_tables`.
    pub exclude_tables: Vec<Pattern>,
    /// A tighter `max_execution_time` (and client-side timeout) for some sections, by name
    /// (`SectionId` in snake_case), e.g. to keep a slow freshness scan from holding up a poll.
    #[serde(deserialize_with = "section_time_limits")]
    pub section_time_limits: BTreeMap<SectionId, Duration>,
    /// How often a section on a cadence is read, over its default (`cadence::INTERVALS`); `0s`
    /// reads it at every poll.
    #[serde(deserialize_with = "section_time_limits")]
    pub section_intervals: BTreeMap<SectionId, Duration>,
    /// The largest answer accepted to one query, in bytes: reading stops there and the query
    /// fails ("response larger than 16 MiB: refused").
    pub max_response_bytes: u64,
    /// How many of pipetop's queries run on one server at once; the others of a poll wait.
    pub max_concurrent_queries: usize,
}

/// A table whose freshness is shown: `table` is `database.table` (or a table of `database`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchedTable {
    pub table: String,
    pub column: String,
}

impl ClickHouseConfig {
    /// The servers to poll: `hosts` when set, otherwise the single `url`.
    pub fn endpoints(&self) -> Vec<String> {
        if self.hosts.is_empty() {
            vec![self.url.clone()]
        } else {
            self.hosts.clone()
        }
    }
}

impl WatchedTable {
    /// `db.table` → (db, table); a bare name belongs to `default_database`. Only the first dot
    /// splits, so a table name may itself contain dots.
    pub fn split<'a>(&'a self, default_database: &'a str) -> (&'a str, &'a str) {
        match self.table.split_once('.') {
            Some((db, table)) => (db, table),
            None => (default_database, self.table.as_str()),
        }
    }
}

/// A value that must never be printed: Debug and Display show a placeholder.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Property values may hold secrets (sasl.password, ssl.key.password): show only their names.
impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .field("request_timeout", &self.request_timeout)
            .field("include_groups", &self.include_groups)
            .field("exclude_groups", &self.exclude_groups)
            .field("include_topics", &self.include_topics)
            .field("exclude_topics", &self.exclude_topics)
            .field("show_internal_topics", &self.show_internal_topics)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            context: "local".to_string(),
            refresh: Duration::from_secs(2),
            history: Duration::from_secs(3600),
            export_window: Duration::from_secs(15 * 60),
            theme: "dark".to_string(),
            kafka: KafkaConfig::default(),
            clickhouse: ClickHouseConfig::default(),
            alerts: crate::alerts::AlertsConfig::default(),
            pipelines: vec![
                PipelineConfig {
                    name: Some("sink".to_string()),
                    topic: "events_topic".to_string(),
                    group: "clickhouse_group".to_string(),
                    tables: vec![
                        "default.events".to_string(),
                        "default.events_dedup".to_string(),
                    ],
                },
                PipelineConfig {
                    name: Some("kafka engine".to_string()),
                    topic: "events_topic".to_string(),
                    group: "clickhouse_kafka_engine".to_string(),
                    tables: vec![
                        "kafka_engine.events".to_string(),
                        "kafka_engine.events_dedup".to_string(),
                    ],
                },
            ],
        }
    }
}

impl Default for KafkaConfig {
    fn default() -> KafkaConfig {
        KafkaConfig {
            bootstrap_servers: "localhost:9092".to_string(),
            properties: BTreeMap::new(),
            properties_env: BTreeMap::new(),
            request_timeout: Duration::from_secs(10),
            include_groups: Vec::new(),
            exclude_groups: Vec::new(),
            include_topics: Vec::new(),
            exclude_topics: Vec::new(),
            show_internal_topics: false,
        }
    }
}

impl Default for ClickHouseConfig {
    fn default() -> ClickHouseConfig {
        ClickHouseConfig {
            url: "http://localhost:8123".to_string(),
            user: "default".to_string(),
            password: Secret::default(),
            password_env: None,
            database: "default".to_string(),
            query_timeout: Duration::from_secs(5),
            hosts: Vec::new(),
            // The pipeline's target table, as the load generator and the Kafka engine create it.
            freshness: vec![WatchedTable {
                table: "default.events".to_string(),
                column: "timestamp".to_string(),
            }],
            window: Duration::from_secs(300),
            include_tables: Vec::new(),
            exclude_tables: Vec::new(),
            section_time_limits: BTreeMap::new(),
            section_intervals: BTreeMap::new(),
            max_response_bytes: crate::clickhouse::response_cap::DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrent_queries: 2,
        }
    }
}

/// The shortest query_log window accepted: shorter ones turn rates into noise.
pub const MIN_WINDOW: Duration = Duration::from_secs(10);

/// The shortest per-section time limit: `max_execution_time` counts whole seconds.
pub const MIN_SECTION_TIME_LIMIT: Duration = Duration::from_secs(1);
/// The longest `section_intervals` value: past it a kept figure is too old to show.
pub const MAX_SECTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The shortest refresh interval accepted: faster polling only loads the servers being watched.
pub const MIN_REFRESH: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: key `{key}`: expected {expected}")]
    Invalid {
        origin: String,
        key: String,
        expected: String,
    },
    /// A setting refused by the checks of `config_check`, at its line when the file was read.
    #[error("{origin}: {}key `{key}`: {message}", at_line(.line))]
    Refused {
        origin: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|n| format!("line {n}, ")).unwrap_or_default()
}

/// Looks up environment variables; a parameter so tests do not touch the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Reads `path` if given (defaults otherwise), then applies secrets from the environment.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, ConfigError> {
        let (mut config, text) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                (Config::parse(&text, path)?, Some(text))
            }
            None => (Config::default(), None),
        };
        config.apply_env(env, path)?;
        config.validate_text(path, text.as_deref())?;
        Ok(config)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })
    }

    fn apply_env(&mut self, env: &dyn Env, path: Option<&Path>) -> Result<(), ConfigError> {
        self.apply_env_in(env, path, None)
    }

    /// Secrets from the environment, for the settings of `context` (named in errors) when the
    /// file has contexts.
    pub(crate) fn apply_env_in(
        &mut self,
        env: &dyn Env,
        path: Option<&Path>,
        context: Option<&str>,
    ) -> Result<(), ConfigError> {
        let origin = origin(path, context);
        if let Some(var) = &self.clickhouse.password_env {
            let value = env.var(var).ok_or_else(|| ConfigError::Invalid {
                origin: origin.clone(),
                key: "clickhouse.password_env".into(),
                expected: format!("environment variable {var} to be set"),
            })?;
            self.clickhouse.password = Secret::new(value);
        } else if let Some(value) = env.var("PIPETOP_CLICKHOUSE_PASSWORD") {
            self.clickhouse.password = Secret::new(value);
        }
        for (property, var) in &self.kafka.properties_env {
            let value = env.var(var).ok_or_else(|| ConfigError::Invalid {
                origin: origin.clone(),
                key: format!("kafka.properties_env.\"{property}\""),
                expected: format!("environment variable {var} to be set"),
            })?;
            self.kafka.properties.insert(property.clone(), value);
        }
        Ok(())
    }

    pub fn validate(&self, path: Option<&Path>) -> Result<(), ConfigError> {
        self.validate_text(path, None)
    }

    /// `validate`, with the file's text (when there is one) to find the line of a refused key.
    pub fn validate_text(
        &self,
        path: Option<&Path>,
        text: Option<&str>,
    ) -> Result<(), ConfigError> {
        self.validate_in(path, text, None)
    }

    /// `validate_text` for the settings of the file's `[contexts.<context>]` merged over its top
    /// level: errors name the context, and lines are looked for in its tables first.
    pub fn validate_in(
        &self,
        path: Option<&Path>,
        text: Option<&str>,
        context: Option<&str>,
    ) -> Result<(), ConfigError> {
        let refused = |p: crate::config_check::Problem| ConfigError::Refused {
            origin: origin(path, context),
            line: p.line,
            key: p.key,
            message: p.message,
        };
        let invalid = |key: &str, expected: &str| ConfigError::Invalid {
            origin: origin(path, context),
            key: key.to_string(),
            expected: expected.to_string(),
        };
        if self.refresh < MIN_REFRESH {
            return Err(invalid("refresh", "a duration of at least 500ms"));
        }
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(invalid(
                "kafka.bootstrap_servers",
                "host:port[,host:port...]",
            ));
        }
        if !(self.clickhouse.url.starts_with("http://")
            || self.clickhouse.url.starts_with("https://"))
        {
            return Err(invalid("clickhouse.url", "an http:// or https:// URL"));
        }
        crate::config_check::check_kafka_properties(
            &self.kafka.properties,
            &self.kafka.properties_env,
            text,
            context,
        )
        .map_err(refused)?;
        crate::config_check::check_alerts(&self.alerts, text, context).map_err(refused)?;
        crate::config_check::check_history(self.history, text).map_err(refused)?;
        if let Err(e) = crate::alerts::RuleSet::new(&self.alerts) {
            return Err(ConfigError::Invalid {
                origin: origin(path, context),
                key: "alerts".to_string(),
                expected: e,
            });
        }
        if self.clickhouse.max_response_bytes < 1024 {
            return Err(invalid(
                "clickhouse.max_response_bytes",
                "at least 1024 bytes",
            ));
        }
        if !(1..=64).contains(&self.clickhouse.max_concurrent_queries) {
            return Err(invalid("clickhouse.max_concurrent_queries", "1 to 64"));
        }
        if self.clickhouse.query_timeout.is_zero() {
            return Err(invalid("clickhouse.query_timeout", "a duration above zero"));
        }
        // A section limit replaces `max_execution_time` for its queries: it may only tighten
        // `query_timeout`, and the server counts whole seconds (below 1 s means no limit).
        let timeout = self.clickhouse.query_timeout;
        if let Some((id, limit)) = self
            .clickhouse
            .section_time_limits
            .iter()
            .find(|(_, limit)| **limit < MIN_SECTION_TIME_LIMIT || **limit > timeout)
        {
            return Err(invalid(
                &format!("clickhouse.section_time_limits.{}", id.name()),
                &format!(
                    "a duration from 1s up to clickhouse.query_timeout ({}), found {}",
                    humantime::format_duration(timeout),
                    humantime::format_duration(*limit)
                ),
            ));
        }
        if let Some((id, every)) = self
            .clickhouse
            .section_intervals
            .iter()
            .find(|(id, every)| {
                crate::clickhouse::cadence::interval(**id).is_none()
                    || **every > MAX_SECTION_INTERVAL
            })
        {
            let on_cadence: Vec<&str> = crate::clickhouse::cadence::INTERVALS
                .iter()
                .map(|(id, _)| id.name())
                .collect();
            return Err(invalid(
                &format!("clickhouse.section_intervals.{}", id.name()),
                &format!(
                    "one of the sections read on a cadence ({}) and at most 1h, found {} every {}",
                    on_cadence.join(", "),
                    id.name(),
                    humantime::format_duration(*every)
                ),
            ));
        }
        if self
            .clickhouse
            .hosts
            .iter()
            .any(|h| !(h.starts_with("http://") || h.starts_with("https://")))
        {
            return Err(invalid(
                "clickhouse.hosts",
                "a list of http:// or https:// URLs",
            ));
        }
        if self.clickhouse.window < MIN_WINDOW {
            return Err(invalid("clickhouse.window", "a duration of at least 10s"));
        }
        if let Some(w) = self
            .clickhouse
            .freshness
            .iter()
            .find(|w| w.column.trim().is_empty() || w.split("").1.trim().is_empty())
        {
            return Err(invalid(
                "clickhouse.freshness",
                &format!(
                    "entries like {{ table = \"db.table\", column = \"timestamp\" }}, found table \"{}\" column \"{}\"",
                    w.table, w.column
                ),
            ));
        }
        Ok(())
    }
}

fn origin(path: Option<&Path>, context: Option<&str>) -> String {
    match (path, context) {
        (Some(path), Some(context)) => {
            format!("config file {}, context {context}", path.display())
        }
        (Some(path), None) => format!("config file {}", path.display()),
        (None, _) => "command line".to_string(),
    }
}

/// toml's own message says what was wrong; add where: the line and the dotted key, so the
/// message reads "line 3, key `clickhouse.query_timeout`: expected a duration ...".
pub(crate) fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return message.to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    match line.split_once('=') {
        Some((key, _)) if !line.trim_start().starts_with('[') => {
            let key = key.trim().trim_matches('"');
            let key = match section {
                Some(section) => format!("{section}.{key}"),
                None => key.to_string(),
            };
            format!("line {line_no}, key `{key}`: {message}")
        }
        _ => format!("line {line_no}: {message}"),
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected a duration like \"2s\" or \"500ms\"{}, found \"{text}\"",
            crate::time::not_negative(&text)
        ))
    })
}

/// A duration as a map value, so a bad one is reported at its own line and key.
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationValue, D::Error> {
        duration(d).map(DurationValue)
    }
}

/// `{ section = "duration", ... }`: an unknown section name is an error listing the known ones.
fn section_time_limits<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<SectionId, Duration>, D::Error> {
    let limits = BTreeMap::<SectionId, DurationValue>::deserialize(d)?;
    Ok(limits.into_iter().map(|(id, v)| (id, v.0)).collect())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
