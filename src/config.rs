//! Configuration: a TOML file (optional), environment variables for secrets, command-line overrides.
//!
//! Every key is checked: an unknown key is an error rather than silently ignored, because a typo in
//! `sasl.password` or `refresh` would otherwise leave an on-call engineer staring at wrong data.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The whole configuration, after the file, environment and command line have been merged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A name shown in the header, so nobody mistakes production for staging.
    pub context: String,
    #[serde(deserialize_with = "duration")]
    pub refresh: Duration,
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
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
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            context: "local".to_string(),
            refresh: Duration::from_secs(2),
            kafka: KafkaConfig::default(),
            clickhouse: ClickHouseConfig::default(),
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
        }
    }
}

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
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Config::parse(&text, path)?
            }
            None => Config::default(),
        };
        config.apply_env(env, path)?;
        config.validate(path)?;
        Ok(config)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })
    }

    fn apply_env(&mut self, env: &dyn Env, path: Option<&Path>) -> Result<(), ConfigError> {
        let origin = origin(path);
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
        let invalid = |key: &str, expected: &str| ConfigError::Invalid {
            origin: origin(path),
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
        if self.clickhouse.query_timeout.is_zero() {
            return Err(invalid("clickhouse.query_timeout", "a duration above zero"));
        }
        Ok(())
    }
}

fn origin(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("config file {}", path.display()),
        None => "command line".to_string(),
    }
}

/// toml's own message says what was wrong; add where: the line and the dotted key, so the
/// message reads "line 3, key `clickhouse.query_timeout`: expected a duration ...".
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
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
            "expected a duration like \"2s\" or \"500ms\", found \"{text}\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn too_fast_refresh_is_rejected() {
        let c = parse("refresh = \"10ms\"\n").unwrap();
        let e = c
            .validate(Some(Path::new("x.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("refresh") && e.contains("500ms"), "{e}");
    }
}
