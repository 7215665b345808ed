//! What a server can answer: its version and which system tables and columns exist. Detected once
//! per connection (and again after a restart or reconnect), so a missing table becomes a
//! "not available" note in its section instead of an error on every refresh.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::client::{ChClient, ChError};

/// `major.minor` of `version()`: enough to explain what a server lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32) -> Version {
        Version { major, minor }
    }

    /// "26.9.2.1" → 26.9; anything unparsable is 0.0, which only makes reasons less precise.
    pub fn parse(text: &str) -> Version {
        let mut parts = text
            .trim()
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        Version {
            major: parts.next().unwrap_or(0),
            minor: parts.next().unwrap_or(0),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The system tables pipetop reads; only these are probed.
pub const PROBED_TABLES: &[&str] = &[
    "parts",
    "detached_parts",
    "merges",
    "mutations",
    "query_log",
    "events",
    "merge_tree_settings",
    "tables",
    "kafka_consumers",
    "errors",
    "replicas",
    "replication_queue",
    "zookeeper",
    "zookeeper_connection",
    "disks",
    "distribution_queue",
    "metrics",
    "server_settings",
    "asynchronous_metrics",
    "query_views_log",
    "asynchronous_insert_log",
];

/// A system table or column some section needs, with the first release that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub table: &'static str,
    pub column: Option<&'static str>,
    pub since: Version,
    /// Log tables exist only when the server config enables them; say so instead of blaming
    /// the version.
    pub configurable: bool,
}

pub mod features {
    use super::{Feature, Version};

    pub const DETACHED_PARTS: Feature = Feature {
        table: "detached_parts",
        column: None,
        since: Version::new(19, 8),
        configurable: false,
    };
    pub const KAFKA_CONSUMERS: Feature = Feature {
        table: "kafka_consumers",
        column: None,
        since: Version::new(23, 8),
        configurable: false,
    };
    pub const ERRORS: Feature = Feature {
        table: "errors",
        column: None,
        since: Version::new(20, 11),
        configurable: false,
    };
    pub const REPLICAS: Feature = Feature {
        table: "replicas",
        column: None,
        since: Version::new(1, 1),
        configurable: false,
    };
    pub const REPLICATION_QUEUE: Feature = Feature {
        table: "replication_queue",
        column: None,
        since: Version::new(1, 1),
        configurable: false,
    };
    /// `system.replicas.zookeeper_exception` (ClickHouse PR 9138, released in 20.3).
    pub const ZOOKEEPER_EXCEPTION: Feature = Feature {
        table: "replicas",
        column: Some("zookeeper_exception"),
        since: Version::new(20, 3),
        configurable: false,
    };
    /// `system.disks` came with storage policies (19.15).
    pub const DISKS: Feature = Feature {
        table: "disks",
        column: None,
        since: Version::new(19, 15),
        configurable: false,
    };
    /// `system.distribution_queue` (ClickHouse PR 11394, released in 20.5).
    pub const DISTRIBUTION_QUEUE: Feature = Feature {
        table: "distribution_queue",
        column: None,
        since: Version::new(20, 5),
        configurable: false,
    };
    pub const METRICS: Feature = Feature {
        table: "metrics",
        column: None,
        since: Version::new(1, 1),
        configurable: false,
    };
    /// `system.server_settings`, where `max_server_memory_usage` reads as the limit in force.
    pub const SERVER_SETTINGS: Feature = Feature {
        table: "server_settings",
        column: None,
        since: Version::new(23, 3),
        configurable: false,
    };
    pub const EVENTS: Feature = Feature {
        table: "events",
        column: None,
        since: Version::new(1, 1),
        configurable: false,
    };
    /// `system.tables.dependencies_table`: the materialized views reading a table (present on
    /// 18.16, the oldest server pipetop is tested against).
    pub const TABLE_DEPENDENCIES: Feature = Feature {
        table: "tables",
        column: Some("dependencies_table"),
        since: Version::new(18, 16),
        configurable: false,
    };
    /// `system.query_views_log` (ClickHouse 21.9), written only where the server config has a
    /// `<query_views_log>` section, and created at its first flush.
    pub const QUERY_VIEWS_LOG: Feature = Feature {
        table: "query_views_log",
        column: None,
        since: Version::new(21, 9),
        configurable: true,
    };
    /// `system.asynchronous_insert_log` (ClickHouse 22.10), written only where the server config
    /// has an `<asynchronous_insert_log>` section, and created at its first flush.
    pub const ASYNC_INSERT_LOG: Feature = Feature {
        table: "asynchronous_insert_log",
        column: None,
        since: Version::new(22, 10),
        configurable: true,
    };
    pub const QUERY_LOG: Feature = Feature {
        table: "query_log",
        column: None,
        since: Version::new(1, 1),
        configurable: true,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub version: Version,
    /// system table → its columns, for the probed tables that exist.
    pub columns: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Row, Deserialize)]
struct ColumnRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    name: String,
}

impl Capabilities {
    /// One query against `system.columns` (present on every server pipetop supports).
    pub async fn detect(client: &ChClient, version: &str) -> Result<Capabilities, ChError> {
        let list = PROBED_TABLES
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT table, name FROM system.columns \
             WHERE database = 'system' AND table IN ({list}) LIMIT 5000"
        );
        let rows = client
            .fetch_all::<ColumnRow>(super::client::labels::PROBE, &sql)
            .await?;
        Ok(Capabilities::from_columns(
            Version::parse(version),
            rows.into_iter().map(|r| (r.table, r.name)),
        ))
    }

    pub fn from_columns(
        version: Version,
        columns: impl IntoIterator<Item = (String, String)>,
    ) -> Capabilities {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in columns {
            map.entry(table).or_default().insert(column);
        }
        Capabilities {
            version,
            columns: map,
        }
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.columns.contains_key(table)
    }

    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns.get(table).is_some_and(|c| c.contains(column))
    }

    /// None when the feature is there; otherwise why not, fit for the screen.
    pub fn missing(&self, feature: Feature) -> Option<String> {
        let present = match feature.column {
            None => self.has_table(feature.table),
            Some(column) => self.has_column(feature.table, column),
        };
        if present {
            return None;
        }
        let what = match feature.column {
            None => format!("system.{}", feature.table),
            Some(column) => format!("system.{}.{}", feature.table, column),
        };
        Some(if feature.configurable && self.version >= feature.since {
            format!(
                "{what} does not exist on this server (not enabled in its config, or nothing logged yet)"
            )
        } else {
            format!(
                "{what}: not available on ClickHouse {} (needs ≥ {})",
                self.version, feature.since
            )
        })
    }

    /// Whether some table that appears with configuration or first use was missing, so it is
    /// worth probing again later.
    pub fn lacks_log_tables(&self) -> bool {
        !self.has_table("query_log")
            || (self.version >= features::QUERY_VIEWS_LOG.since
                && !self.has_table(features::QUERY_VIEWS_LOG.table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(version: &str, cols: &[(&str, &str)]) -> Capabilities {
        Capabilities::from_columns(
            Version::parse(version),
            cols.iter().map(|(t, c)| (t.to_string(), c.to_string())),
        )
    }

    #[test]
    fn versions_parse_and_compare() {
        assert_eq!(Version::parse("26.9.2.1"), Version::new(26, 9));
        assert_eq!(Version::parse("18.16.1"), Version::new(18, 16));
        assert_eq!(Version::parse("garbage"), Version::new(0, 0));
        assert!(Version::new(18, 16) < Version::new(23, 8));
        assert!(Version::new(23, 10) > Version::new(23, 8));
    }

    #[test]
    fn missing_table_names_version_and_requirement() {
        let c = caps("18.16.1", &[("parts", "rows")]);
        assert_eq!(
            c.missing(features::KAFKA_CONSUMERS).as_deref(),
            Some("system.kafka_consumers: not available on ClickHouse 18.16 (needs ≥ 23.8)")
        );
        assert!(c.missing(features::DETACHED_PARTS).is_some());
    }

    #[test]
    fn present_table_is_not_missing() {
        let c = caps("26.9.2.1", &[("kafka_consumers", "consumer_id")]);
        assert_eq!(c.missing(features::KAFKA_CONSUMERS), None);
        assert!(c.has_column("kafka_consumers", "consumer_id"));
        assert!(!c.has_column("kafka_consumers", "nope"));
    }

    #[test]
    fn a_missing_views_log_is_probed_again_only_where_the_release_has_it() {
        let new = caps("26.9.2.1", &[("query_log", "type")]);
        assert!(new.lacks_log_tables());
        let both = caps(
            "26.9.2.1",
            &[("query_log", "type"), ("query_views_log", "view_name")],
        );
        assert!(!both.lacks_log_tables());
        let legacy = caps("18.16.1", &[("query_log", "type")]);
        assert!(!legacy.lacks_log_tables());
        assert_eq!(
            legacy.missing(features::QUERY_VIEWS_LOG).as_deref(),
            Some("system.query_views_log: not available on ClickHouse 18.16 (needs ≥ 21.9)")
        );
    }

    #[test]
    fn missing_log_table_on_new_server_blames_config_not_version() {
        let c = caps("26.9.2.1", &[("parts", "rows")]);
        let why = c.missing(features::QUERY_LOG).unwrap_or_default();
        assert!(why.contains("not enabled"), "{why}");
        assert!(c.lacks_log_tables());
    }
}
