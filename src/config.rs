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
    /// The largest answer accepted to one query, in bytes: reading stops there and the query
    /// fails ("response larger than 16 MiB: refused").
    pub max_response_bytes: u64,
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
            max_response_bytes: crate::clickhouse::response_cap::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// The shortest query_log window accepted: shorter ones turn rates into noise.
pub const MIN_WINDOW: Duration = Duration::from_secs(10);

/// The shortest per-section time limit: `max_execution_time` counts whole seconds.
pub const MIN_SECTION_TIME_LIMIT: Duration = Duration::from_secs(1);

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
mod tests {
    use super::*;
    use crate::clickhouse::sections::TableFilter;

    struct FakeEnv(Vec<(&'static str, &'static str)>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("pipetop.toml"))
    }

    #[test]
    fn defaults_watch_the_local_stack() {
        let c = Config::default();
        assert_eq!(c.kafka.bootstrap_servers, "localhost:9092");
        assert_eq!(c.clickhouse.url, "http://localhost:8123");
        assert_eq!(c.refresh, Duration::from_secs(2));
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            r#"
            context = "prod-eu"
            refresh = "5s"
            [kafka]
            bootstrap_servers = "b1:9093,b2:9093"
            properties = { "security.protocol" = "SASL_SSL", "sasl.mechanism" = "SCRAM-SHA-512" }
            properties_env = { "sasl.password" = "KAFKA_PW" }
            [clickhouse]
            url = "https://ch:8443"
            user = "monitor"
            password_env = "CH_PW"
            query_timeout = "3s"
            "#,
        )
        .unwrap();
        assert_eq!(c.context, "prod-eu");
        assert_eq!(c.refresh, Duration::from_secs(5));
        assert_eq!(c.kafka.properties["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(c.clickhouse.query_timeout, Duration::from_secs(3));
    }

    #[test]
    fn a_config_file_without_pipelines_has_none() {
        assert_eq!(Config::default().pipelines.len(), 2, "the local stack's");
        let c = parse("context = \"prod\"\n").unwrap();
        assert!(c.pipelines.is_empty());
        let c =
            parse("[[pipelines]]\ntopic = \"t\"\ngroup = \"g\"\ntables = [\"db.t\"]\n").unwrap();
        assert_eq!(c.pipelines[0].group, "g");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse("[clickhouse]\npasword = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pipetop.toml"), "{e}");
        assert!(e.contains("pasword"), "{e}");
    }

    #[test]
    fn bad_duration_says_what_was_expected() {
        let e = parse("refresh = \"fast\"\n").unwrap_err().to_string();
        assert!(e.contains("pipetop.toml"), "{e}");
        assert!(e.contains("line 1, key `refresh`"), "{e}");
        assert!(e.contains("expected a duration"), "{e}");
        assert!(e.contains("fast"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = parse("[kafka]\nbootstrap_servers = 9092\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, key `kafka.bootstrap_servers`"), "{e}");
        assert!(e.contains("string"), "{e}");
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let mut c = parse(
            "[kafka]\nproperties_env = { \"sasl.password\" = \"KAFKA_PW\" }\n[clickhouse]\npassword_env = \"CH_PW\"\n",
        )
        .unwrap();
        let env = FakeEnv(vec![("KAFKA_PW", "hunter2"), ("CH_PW", "s3cret")]);
        c.apply_env(&env, None).unwrap();
        assert_eq!(c.clickhouse.password.expose(), "s3cret");
        assert_eq!(c.kafka.properties["sasl.password"], "hunter2");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("hunter2"),
            "{debug}"
        );
    }

    #[test]
    fn missing_secret_variable_names_key_and_variable() {
        let mut c = parse("[clickhouse]\npassword_env = \"NOPE\"\n").unwrap();
        let e = c
            .apply_env(&FakeEnv(vec![]), Some(Path::new("x.toml")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.toml") && e.contains("clickhouse.password_env") && e.contains("NOPE"),
            "{e}"
        );
    }

    #[test]
    fn clickhouse_hosts_freshness_and_window_parse() {
        let c = parse(
            r#"
            [clickhouse]
            hosts = ["http://ch1:8123", "https://ch2:8443"]
            window = "10m"
            freshness = [
                { table = "prod.events", column = "ts" },
                { table = "clicks", column = "event_time" },
            ]
            "#,
        )
        .unwrap();
        c.validate(None).unwrap();
        assert_eq!(
            c.clickhouse.endpoints(),
            vec![
                "http://ch1:8123".to_string(),
                "https://ch2:8443".to_string()
            ]
        );
        assert_eq!(c.clickhouse.window, Duration::from_secs(600));
        assert_eq!(
            c.clickhouse.freshness[0].split("default"),
            ("prod", "events")
        );
        assert_eq!(
            c.clickhouse.freshness[1].split("default"),
            ("default", "clicks")
        );
    }

    #[test]
    fn clickhouse_defaults_poll_url_and_watch_events() {
        let c = Config::default();
        assert_eq!(c.clickhouse.endpoints(), vec![c.clickhouse.url.clone()]);
        assert_eq!(c.clickhouse.window, Duration::from_secs(300));
        assert_eq!(
            c.clickhouse.freshness,
            vec![WatchedTable {
                table: "default.events".into(),
                column: "timestamp".into()
            }]
        );
    }

    #[test]
    fn bad_clickhouse_hosts_window_and_freshness_are_named() {
        let e = parse("[clickhouse]\nhosts = [\"ch1:8123\"]\n")
            .unwrap()
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("clickhouse.hosts"), "{e}");
        let e = parse("[clickhouse]\nwindow = \"1s\"\n")
            .unwrap()
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("clickhouse.window"), "{e}");
        let e = parse("[clickhouse]\nfreshness = [{ table = \"db.\", column = \"ts\" }]\n")
            .unwrap()
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clickhouse.freshness") && e.contains("db."),
            "{e}"
        );
        let e = parse("[clickhouse]\nfreshness = [{ table = \"t\", col = \"ts\" }]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("col"), "{e}");
    }

    #[test]
    fn clickhouse_table_filter_and_section_time_limits_parse() {
        let c = parse(
            r#"
            [clickhouse]
            query_timeout = "5s"
            include_tables = ["default\\.events.*", "audit\\..*"]
            exclude_tables = [".*_tmp"]
            [clickhouse.section_time_limits]
            freshness = "2s"
            latency = "5s"
            "#,
        )
        .unwrap();
        c.validate(None).unwrap();
        assert_eq!(
            c.clickhouse.section_time_limits,
            BTreeMap::from([
                (SectionId::Latency, Duration::from_secs(5)),
                (SectionId::Freshness, Duration::from_secs(2)),
            ])
        );
        let (sql, args) = TableFilter::from_config(&c.clickhouse).clause("t");
        assert_eq!(sql, " AND match(t, ?) AND NOT match(t, ?)");
        assert_eq!(args.len(), 2);
        // Inline, as well.
        let c = parse("[clickhouse]\nsection_time_limits = { tables = \"1s\" }\n").unwrap();
        c.validate(None).unwrap();
        assert_eq!(
            c.clickhouse.section_time_limits[&SectionId::Tables],
            Duration::from_secs(1)
        );
        // None by default: every table, every section under query_timeout alone.
        let d = Config::default();
        assert!(d.clickhouse.section_time_limits.is_empty());
        assert_eq!(TableFilter::from_config(&d.clickhouse), TableFilter::none());
    }

    #[test]
    fn unknown_section_name_is_named_with_the_valid_ones() {
        let e = parse("[clickhouse.section_time_limits]\nparts = \"2s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pipetop.toml"), "{e}");
        assert!(
            e.contains(
                "line 2, key `clickhouse.section_time_limits.parts`: unknown section `parts`"
            ),
            "{e}"
        );
        for id in SectionId::ALL {
            assert!(
                e.contains(&format!("`{}`", id.name())),
                "{id:?} not listed: {e}"
            );
        }
    }

    #[test]
    fn bad_section_time_limits_are_named() {
        let e = parse("[clickhouse.section_time_limits]\nfreshness = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, key `clickhouse.section_time_limits.freshness`")
                && e.contains("expected a duration")
                && e.contains("soon"),
            "{e}"
        );
        for (limit, found) in [("0s", "0s"), ("500ms", "500ms"), ("6s", "6s")] {
            let e = parse(&format!(
                "[clickhouse]\nquery_timeout = \"5s\"\n[clickhouse.section_time_limits]\nerrors = \"{limit}\"\n"
            ))
            .unwrap()
            .validate(Some(Path::new("x.toml")))
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("x.toml")
                    && e.contains("key `clickhouse.section_time_limits.errors`")
                    && e.contains("from 1s up to clickhouse.query_timeout (5s)")
                    && e.contains(&format!("found {found}")),
                "{limit}: {e}"
            );
        }
        // Exactly the query timeout is allowed (it changes nothing, but is not wrong).
        parse("[clickhouse]\nquery_timeout = \"3s\"\nsection_time_limits = { errors = \"3s\" }\n")
            .unwrap()
            .validate(None)
            .unwrap();
    }

    #[test]
    fn bad_table_pattern_is_named() {
        let e = parse("[clickhouse]\ninclude_tables = [\"default.(events\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, key `clickhouse.include_tables`")
                && e.contains("expected a regular expression")
                && e.contains("default.(events"),
            "{e}"
        );
        let e = parse("[clickhouse]\nexclude_tables = [\"[x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `clickhouse.exclude_tables`"), "{e}");
        let e = parse("[clickhouse]\ninclude_tables = \"events\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `clickhouse.include_tables`"), "{e}");
    }

    #[test]
    fn too_fast_refresh_is_rejected() {
        let c = parse("refresh = \"10ms\"\n").unwrap();
        let e = c
            .validate(Some(Path::new("x.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("refresh") && e.contains("500ms"), "{e}");
    }

    #[test]
    fn response_cap_defaults_to_16_mib_and_refuses_a_tiny_one() {
        assert_eq!(parse("").unwrap().clickhouse.max_response_bytes, 16 << 20);
        let c = parse("[clickhouse]\nmax_response_bytes = 1048576\n").unwrap();
        assert_eq!(c.clickhouse.max_response_bytes, 1 << 20);
        let e = parse("[clickhouse]\nmax_response_bytes = 10\n")
            .unwrap()
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_response_bytes") && e.contains("1024"),
            "{e}"
        );
    }
}
