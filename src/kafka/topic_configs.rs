//! Each topic's retention settings (`cleanup.policy`, `retention.ms`, `retention.bytes`), as
//! DescribeConfigs answers them (read on a slow cadence by `topic_config_reader`).
//!
//! What a retention setting means for a consumer (how long until its oldest unconsumed message
//! may be deleted) is derived in `model::kafka::retention`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The retention settings of the topics read so far, and how fresh they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TopicConfigs {
    /// When the last read finished (unix ms); None before the first.
    pub read_at_ms: Option<i64>,
    /// Why the last read failed, when it did; the settings read before stay.
    pub error: Option<String>,
    pub topics: BTreeMap<String, Retention>,
}

/// One topic's retention, as the brokers apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// `cleanup.policy` includes `delete`: old segments are deleted by time or size.
    pub delete: bool,
    /// `cleanup.policy` includes `compact`.
    pub compact: bool,
    /// `retention.ms`; None when unlimited (-1).
    pub retention_ms: Option<i64>,
    /// `retention.bytes` per partition; None when unlimited (-1).
    pub retention_bytes: Option<i64>,
}

impl Retention {
    /// The age after which a message may be deleted, when time-based deletion applies.
    pub fn time_limit_ms(&self) -> Option<i64> {
        self.retention_ms.filter(|_| self.delete)
    }

    /// Reads the settings from a topic's config entries; None when the answer holds none of them
    /// (the broker returns an empty resource where pipetop may not DESCRIBE_CONFIGS it).
    pub fn from_entries<'a>(mut value: impl FnMut(&str) -> Option<&'a str>) -> Option<Retention> {
        let policy = value("cleanup.policy")?;
        let limit = |v: Option<&str>| {
            v.and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
        };
        Some(Retention {
            delete: policy.split(',').any(|p| p.trim() == "delete"),
            compact: policy.split(',').any(|p| p.trim() == "compact"),
            retention_ms: limit(value("retention.ms")),
            retention_bytes: limit(value("retention.bytes")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(entries: &[(&'static str, &'static str)]) -> Option<Retention> {
        Retention::from_entries(|key| entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
    }

    #[test]
    fn settings_are_read_as_the_brokers_apply_them() {
        let week = read(&[
            ("cleanup.policy", "delete"),
            ("retention.ms", "604800000"),
            ("retention.bytes", "-1"),
        ])
        .unwrap();
        assert_eq!(week.time_limit_ms(), Some(604_800_000));
        assert_eq!(week.retention_bytes, None);
        let compacted = read(&[("cleanup.policy", "compact"), ("retention.ms", "1000")]).unwrap();
        assert!(compacted.compact);
        assert_eq!(
            compacted.time_limit_ms(),
            None,
            "compaction deletes no old offsets"
        );
        let both = read(&[
            ("cleanup.policy", "compact, delete"),
            ("retention.ms", "1000"),
        ]);
        assert_eq!(both.unwrap().time_limit_ms(), Some(1000));
        let forever = read(&[("cleanup.policy", "delete"), ("retention.ms", "-1")]).unwrap();
        assert_eq!(forever.time_limit_ms(), None);
        assert_eq!(read(&[]), None, "an empty answer is unknown, not unlimited");
    }
}
