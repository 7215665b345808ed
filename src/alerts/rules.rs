//! Alert rules: what is measured, the thresholds that ship, and how a config overrides them per
//! group, topic or table.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::display_text::shown;

/// Every rule pipetop evaluates. The snake_case names are the config keys and JSON values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Seconds a consumer group is behind the newest message.
    ConsumerTimeLag,
    /// 1 when a group's status is STOP, STALL or REWIND.
    ConsumerStatus,
    /// Failed inserts into a table over the insert window.
    FailedInserts,
    /// p95 insert latency over the window, in milliseconds.
    InsertLatencyP95,
    /// p95 select latency over the window, in milliseconds.
    SelectLatencyP95,
    /// Active parts in a table's worst partition as a share of its parts_to_delay_insert.
    PartsPressure,
    /// RejectedInserts ("Too many parts") since the previous poll.
    RejectedInserts,
    /// DelayedInserts since the previous poll.
    DelayedInserts,
    /// Partitions a table creates per day.
    PartitionsPerDay,
    /// Seconds since the newest row of a watched table.
    Freshness,
    /// Exceptions of a Kafka-engine consumer in the window.
    KafkaEngineExceptions,
    /// Brokers in the metadata that do not answer.
    BrokerUnreachable,
    /// Partitions whose ISR is smaller than their replica set, per topic.
    UnderReplicated,
    /// 1 when the ClickHouse endpoint does not answer.
    // snake_case alone would make this `click_house_unreachable`.
    #[serde(rename = "clickhouse_unreachable")]
    ClickHouseUnreachable,
    /// 1 when no Kafka broker answers.
    KafkaUnreachable,
    /// The age of a group's oldest unread message as a share of its topic's `retention.ms`.
    RetentionRisk,
    /// Messages deleted by retention before a group read them (committed below the log start).
    MessagesLost,
    /// 1 when a table's replica on some host is read-only (inserts into it fail).
    ReadonlyReplica,
    /// Seconds a table's replica is behind (`absolute_delay`), the worst host's.
    ReplicaDelay,
    /// Replication queue entries of a table tried more than 100 times or older than 10 minutes.
    ReplicationQueueStuck,
    /// 1 when a host has lost its ZooKeeper/Keeper session.
    KeeperSession,
    /// Messages per second produced to a topic (over the topics view's rate window), against the
    /// config's `min_rate` (a producer that stopped) and `max_rate`. Off until a config sets one.
    TopicTraffic,
    /// The used share of a host's fullest disk (1 − free ÷ total); critical too when its history
    /// projects it full within a day.
    DiskFree,
    /// A host's tracked memory as a share of the server's memory limit.
    MemoryPressure,
    /// Files waiting in a Distributed table's send queue (the worst host's); critical too when
    /// any file is broken.
    DistributedFiles,
    /// Failures in the window of a materialized view reading a Kafka engine table
    /// (system.query_views_log); the subject is the view, the detail names its Kafka table and
    /// carries the latest exception.
    MvFailures,
    /// A host's Kafka commit failures (system.events KafkaCommitFailures) since its previous poll.
    KafkaEngineCommitFailures,
}

impl RuleKind {
    pub const ALL: [RuleKind; 27] = [
        RuleKind::ConsumerTimeLag,
        RuleKind::ConsumerStatus,
        RuleKind::FailedInserts,
        RuleKind::InsertLatencyP95,
        RuleKind::SelectLatencyP95,
        RuleKind::PartsPressure,
        RuleKind::RejectedInserts,
        RuleKind::DelayedInserts,
        RuleKind::PartitionsPerDay,
        RuleKind::Freshness,
        RuleKind::KafkaEngineExceptions,
        RuleKind::BrokerUnreachable,
        RuleKind::UnderReplicated,
        RuleKind::ClickHouseUnreachable,
        RuleKind::KafkaUnreachable,
        RuleKind::RetentionRisk,
        RuleKind::MessagesLost,
        RuleKind::ReadonlyReplica,
        RuleKind::ReplicaDelay,
        RuleKind::ReplicationQueueStuck,
        RuleKind::KeeperSession,
        RuleKind::TopicTraffic,
        RuleKind::DiskFree,
        RuleKind::MemoryPressure,
        RuleKind::DistributedFiles,
        RuleKind::MvFailures,
        RuleKind::KafkaEngineCommitFailures,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RuleKind::ConsumerTimeLag => "consumer_time_lag",
            RuleKind::ConsumerStatus => "consumer_status",
            RuleKind::FailedInserts => "failed_inserts",
            RuleKind::InsertLatencyP95 => "insert_latency_p95",
            RuleKind::SelectLatencyP95 => "select_latency_p95",
            RuleKind::PartsPressure => "parts_pressure",
            RuleKind::RejectedInserts => "rejected_inserts",
            RuleKind::DelayedInserts => "delayed_inserts",
            RuleKind::PartitionsPerDay => "partitions_per_day",
            RuleKind::Freshness => "freshness",
            RuleKind::KafkaEngineExceptions => "kafka_engine_exceptions",
            RuleKind::BrokerUnreachable => "broker_unreachable",
            RuleKind::UnderReplicated => "under_replicated",
            RuleKind::ClickHouseUnreachable => "clickhouse_unreachable",
            RuleKind::KafkaUnreachable => "kafka_unreachable",
            RuleKind::RetentionRisk => "retention_risk",
            RuleKind::MessagesLost => "messages_lost",
            RuleKind::ReadonlyReplica => "readonly_replica",
            RuleKind::ReplicaDelay => "replica_delay",
            RuleKind::ReplicationQueueStuck => "replication_queue_stuck",
            RuleKind::KeeperSession => "keeper_session",
            RuleKind::TopicTraffic => "topic_traffic",
            RuleKind::DiskFree => "disk_free",
            RuleKind::MemoryPressure => "memory_pressure",
            RuleKind::DistributedFiles => "distributed_files",
            RuleKind::MvFailures => "mv_failures",
            RuleKind::KafkaEngineCommitFailures => "kafka_engine_commit_failures",
        }
    }

    /// The threshold that ships with pipetop.
    pub fn default_threshold(self) -> Threshold {
        let secs = Duration::from_secs;
        let t = |warn: Option<f64>, crit: Option<f64>, for_: Duration| Threshold {
            warn,
            crit,
            for_,
            clear_ratio: 0.8,
            inclusive: false,
            below: None,
        };
        match self {
            RuleKind::ConsumerTimeLag => t(Some(30.0), Some(60.0), secs(30)),
            RuleKind::ConsumerStatus => t(None, Some(0.0), secs(0)),
            RuleKind::FailedInserts => t(Some(0.0), Some(100.0), secs(0)),
            RuleKind::InsertLatencyP95 | RuleKind::SelectLatencyP95 => {
                t(Some(200.0), None, secs(60))
            }
            RuleKind::PartsPressure => Threshold {
                inclusive: true,
                ..t(Some(0.5), Some(1.0), secs(0))
            },
            RuleKind::RejectedInserts => t(None, Some(0.0), secs(0)),
            RuleKind::DelayedInserts => t(Some(0.0), None, secs(0)),
            RuleKind::PartitionsPerDay => t(Some(2.0), None, secs(0)),
            RuleKind::Freshness => t(Some(30.0), Some(60.0), secs(30)),
            RuleKind::KafkaEngineExceptions => t(Some(0.0), None, secs(0)),
            RuleKind::BrokerUnreachable => t(None, Some(0.0), secs(0)),
            RuleKind::UnderReplicated => t(None, Some(0.0), secs(0)),
            RuleKind::ClickHouseUnreachable | RuleKind::KafkaUnreachable => {
                t(None, Some(0.0), secs(0))
            }
            RuleKind::RetentionRisk => Threshold {
                inclusive: true,
                ..t(Some(0.5), Some(0.8), secs(0))
            },
            RuleKind::MessagesLost => t(None, Some(0.0), secs(0)),
            RuleKind::ReadonlyReplica | RuleKind::KeeperSession => t(None, Some(0.0), secs(0)),
            RuleKind::ReplicaDelay => t(Some(60.0), Some(300.0), secs(0)),
            RuleKind::ReplicationQueueStuck => t(Some(0.0), None, secs(0)),
            // No bounds: nothing to judge until a config gives `min_rate` or `max_rate`.
            RuleKind::TopicTraffic => t(None, None, secs(30)),
            // Used share: above 80 % is under 20 % free, above 90 % under 10 % free.
            RuleKind::DiskFree => t(Some(0.8), Some(0.9), secs(0)),
            RuleKind::MemoryPressure => t(Some(0.8), None, secs(0)),
            RuleKind::DistributedFiles => t(Some(50.0), None, secs(0)),
            // Any failure: a view that throws stops its Kafka table's consumer or loses rows.
            RuleKind::MvFailures => t(Some(0.0), None, secs(0)),
            RuleKind::KafkaEngineCommitFailures => t(Some(0.0), None, secs(0)),
        }
    }

    /// How a value of this rule reads on screen.
    pub fn unit(self) -> Unit {
        match self {
            RuleKind::ConsumerTimeLag | RuleKind::Freshness | RuleKind::ReplicaDelay => {
                Unit::Seconds
            }
            RuleKind::InsertLatencyP95 | RuleKind::SelectLatencyP95 => Unit::Millis,
            RuleKind::PartsPressure
            | RuleKind::RetentionRisk
            | RuleKind::DiskFree
            | RuleKind::MemoryPressure => Unit::Percent,
            RuleKind::TopicTraffic => Unit::Rate,
            RuleKind::ConsumerStatus
            | RuleKind::ClickHouseUnreachable
            | RuleKind::KafkaUnreachable
            | RuleKind::ReadonlyReplica
            | RuleKind::KeeperSession => Unit::Flag,
            _ => Unit::Count,
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Millis,
    Percent,
    Count,
    Flag,
    /// Messages per second.
    Rate,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Seconds => crate::time::short_duration(Duration::from_secs_f64(v.max(0.0))),
            Unit::Millis => format!("{v:.0}ms"),
            Unit::Percent => format!("{:.0}%", v * 100.0),
            Unit::Count => format!("{v:.0}"),
            Unit::Flag => String::new(),
            Unit::Rate => format!("{v:.1} msg/s"),
        }
    }
}

/// When a value is a problem. A value above `crit` is critical, above `warn` a warning (at or
/// above, when `inclusive`), and below `below` a warning too (a rate that should not drop).
/// Once firing, an alert clears only when the value falls below `clear_ratio` × its threshold
/// (for `below`: rises to `below` ÷ `clear_ratio`): one sample around the line does not flap it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    /// How long the condition must hold before the alert fires (pending until then).
    #[serde(rename = "for_ms", serialize_with = "ser_ms")]
    pub for_: Duration,
    pub clear_ratio: f64,
    pub inclusive: bool,
    /// A value under this is a warning (`topic_traffic`'s `min_rate`); None for rules whose
    /// value only grows with how bad it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
}

impl Threshold {
    /// How bad one value is by itself, without hysteresis or `for`: what the screen colours.
    pub fn judge(&self, value: f64) -> Option<super::severity::Severity> {
        let above = |b: Option<f64>| {
            b.is_some_and(|b| {
                if self.inclusive {
                    value >= b
                } else {
                    value > b
                }
            })
        };
        if !value.is_finite() {
            None
        } else if above(self.crit) {
            Some(super::severity::Severity::Critical)
        } else if above(self.warn) || self.is_below(value) {
            Some(super::severity::Severity::Warning)
        } else {
            None
        }
    }

    /// Whether `value` is under the `below` bound.
    pub fn is_below(&self, value: f64) -> bool {
        self.below.is_some_and(|b| value < b)
    }

    /// Whether the threshold has any bound at all: one without judges nothing.
    pub fn has_bounds(&self) -> bool {
        self.warn.is_some() || self.crit.is_some() || self.below.is_some()
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `[alerts]` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Ring the terminal bell when a new critical alert fires.
    pub bell: bool,
    /// Global changes to a rule's shipped threshold, by rule name.
    pub rules: BTreeMap<RuleKind, ThresholdOverride>,
    /// Changes for matching subjects; the last matching override wins.
    pub overrides: Vec<SubjectOverride>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    #[serde(rename = "for", default, deserialize_with = "opt_duration")]
    pub for_: Option<Duration>,
    pub clear_ratio: Option<f64>,
    /// `topic_traffic` only: fewer messages per second than this is a warning.
    pub min_rate: Option<f64>,
    /// `topic_traffic` only: more messages per second than this is a warning.
    pub max_rate: Option<f64>,
    /// Switch the rule off (globally, or for the matching subjects).
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectOverride {
    pub rule: RuleKind,
    /// `group:clickhouse_*`, `table:default.events`, `topic:re:^events_.*$` ...: a subject kind,
    /// then a glob (`*`, `?`) or, after `re:`, a regex.
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(flatten)]
    pub threshold: ThresholdOverride,
}

fn opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected a duration like \"30s\"{}, found \"{text}\"",
            crate::time::not_negative(&text)
        ))
    })
}

/// The thresholds in force: shipped defaults with the config's overrides applied.
#[derive(Debug, Clone)]
pub struct RuleSet {
    global: BTreeMap<RuleKind, Option<Threshold>>,
    overrides: Vec<(RuleKind, SubjectMatcher, ThresholdOverride)>,
    pub bell: bool,
}

#[derive(Debug, Clone)]
struct SubjectMatcher {
    kind: String,
    regex: Regex,
}

impl SubjectMatcher {
    fn parse(pattern: &str) -> Result<SubjectMatcher, String> {
        let (kind, rest) = pattern
            .split_once(':')
            .ok_or_else(|| format!("`{pattern}`: expected kind:pattern, e.g. group:analytics-*"))?;
        // A misspelt kind would match nothing, silently: the override would never apply.
        if !SubjectKind::ALL.iter().any(|k| k.name() == kind) {
            let kinds: Vec<&str> = SubjectKind::ALL.iter().map(|k| k.name()).collect();
            return Err(format!(
                "`{pattern}`: unknown kind `{kind}`, expected one of {}",
                kinds.join(", ")
            ));
        }
        let regex = match rest.strip_prefix("re:") {
            Some(re) => Regex::new(re).map_err(|e| format!("`{pattern}`: bad regex: {e}"))?,
            None => Regex::new(&glob_to_regex(rest)).map_err(|e| format!("`{pattern}`: {e}"))?,
        };
        Ok(SubjectMatcher {
            kind: kind.to_string(),
            regex,
        })
    }

    fn matches(&self, subject: &Subject) -> bool {
        subject.kind.name() == self.kind && self.regex.is_match(&subject.name)
    }
}

/// Whether `pattern` is a valid `match` of an override (`kind:glob` or `kind:re:regex`).
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    SubjectMatcher::parse(pattern).map(|_| ())
}

fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

impl RuleSet {
    pub fn new(config: &AlertsConfig) -> Result<RuleSet, String> {
        let mut global = BTreeMap::new();
        for kind in RuleKind::ALL {
            let base = kind.default_threshold();
            let t = match config.rules.get(&kind) {
                Some(o) if o.disabled => None,
                Some(o) => Some(apply(base, o)),
                None => Some(base),
            };
            global.insert(kind, t);
        }
        let overrides = config
            .overrides
            .iter()
            .map(|o| {
                Ok((
                    o.rule,
                    SubjectMatcher::parse(&o.pattern)?,
                    o.threshold.clone(),
                ))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("key `alerts.overrides`: {e}"))?;
        Ok(RuleSet {
            global,
            overrides,
            bell: config.bell,
        })
    }

    /// The threshold for one rule and subject, or None when the rule is switched off for it.
    pub fn threshold(&self, rule: RuleKind, subject: &Subject) -> Option<Threshold> {
        let mut t = self.global.get(&rule).copied().flatten();
        for (kind, matcher, o) in &self.overrides {
            if *kind == rule && matcher.matches(subject) {
                t = if o.disabled {
                    None
                } else {
                    Some(apply(t.unwrap_or_else(|| rule.default_threshold()), o))
                };
            }
        }
        t
    }
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        // The default config has no overrides, so this cannot fail.
        RuleSet::new(&AlertsConfig::default()).unwrap_or(RuleSet {
            global: RuleKind::ALL
                .iter()
                .map(|k| (*k, Some(k.default_threshold())))
                .collect(),
            overrides: Vec::new(),
            bell: false,
        })
    }
}

/// `o` laid over `t`: the keys it gives replace `t`'s, the others stay.
pub fn apply(mut t: Threshold, o: &ThresholdOverride) -> Threshold {
    if o.warn.is_some() {
        t.warn = o.warn;
    }
    if o.crit.is_some() {
        t.crit = o.crit;
    }
    if let Some(f) = o.for_ {
        t.for_ = f;
    }
    if let Some(r) = o.clear_ratio {
        t.clear_ratio = r.clamp(0.0, 1.0);
    }
    if o.min_rate.is_some() {
        t.below = o.min_rate;
    }
    // A rate above max_rate is judged like any value above `warn`.
    if o.max_rate.is_some() {
        t.warn = o.max_rate;
    }
    t
}

/// What an alert is about. The kind names the screen it drills into.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Group,
    Topic,
    Table,
    Broker,
    Consumer,
    Server,
    Source,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 7] = [
        SubjectKind::Group,
        SubjectKind::Topic,
        SubjectKind::Table,
        SubjectKind::Broker,
        SubjectKind::Consumer,
        SubjectKind::Server,
        SubjectKind::Source,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Group => "group",
            SubjectKind::Topic => "topic",
            SubjectKind::Table => "table",
            SubjectKind::Broker => "broker",
            SubjectKind::Consumer => "consumer",
            SubjectKind::Server => "server",
            SubjectKind::Source => "source",
        }
    }
}

impl Subject {
    pub fn new(kind: SubjectKind, name: impl Into<String>) -> Subject {
        Subject {
            kind,
            name: name.into(),
        }
    }
}

/// For people: the name as shown (controls escaped), never raw. JSON keeps the raw name.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), shown(&self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> AlertsConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn shipped_defaults_match_the_documented_ones() {
        let lag = RuleKind::ConsumerTimeLag.default_threshold();
        assert_eq!((lag.warn, lag.crit), (Some(30.0), Some(60.0)));
        let parts = RuleKind::PartsPressure.default_threshold();
        assert_eq!(
            (parts.warn, parts.crit, parts.inclusive),
            (Some(0.5), Some(1.0), true)
        );
        let failed = RuleKind::FailedInserts.default_threshold();
        assert_eq!((failed.warn, failed.crit), (Some(0.0), Some(100.0)));
        let delay = RuleKind::ReplicaDelay.default_threshold();
        assert_eq!((delay.warn, delay.crit), (Some(60.0), Some(300.0)));
        for flag in [RuleKind::ReadonlyReplica, RuleKind::KeeperSession] {
            let t = flag.default_threshold();
            assert_eq!((t.warn, t.crit), (None, Some(0.0)), "{flag}");
        }
        let stuck = RuleKind::ReplicationQueueStuck.default_threshold();
        assert_eq!((stuck.warn, stuck.crit), (Some(0.0), None));
        let disk = RuleKind::DiskFree.default_threshold();
        assert_eq!((disk.warn, disk.crit), (Some(0.8), Some(0.9)));
        let memory = RuleKind::MemoryPressure.default_threshold();
        assert_eq!((memory.warn, memory.crit), (Some(0.8), None));
        let files = RuleKind::DistributedFiles.default_threshold();
        assert_eq!((files.warn, files.crit), (Some(50.0), None));
        for rule in [RuleKind::MvFailures, RuleKind::KafkaEngineCommitFailures] {
            let t = rule.default_threshold();
            assert_eq!((t.warn, t.crit), (Some(0.0), None), "{rule}");
        }
    }

    #[test]
    fn config_keys_and_json_values_are_the_rule_names() {
        for kind in RuleKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            let parsed: AlertsConfig =
                toml::from_str(&format!("[rules.{}]\ndisabled = true\n", kind.name()))
                    .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            assert!(parsed.rules[&kind].disabled, "{}", kind.name());
        }
    }

    #[test]
    fn overrides_apply_globally_then_per_subject_last_match_wins() {
        let rules = RuleSet::new(&config(
            r#"
            [rules.consumer_time_lag]
            warn = 10
            for = "5s"
            [[overrides]]
            rule = "consumer_time_lag"
            match = "group:batch-*"
            warn = 600
            crit = 3600
            [[overrides]]
            rule = "consumer_time_lag"
            match = "group:re:^batch-nightly$"
            disabled = true
            "#,
        ))
        .unwrap();
        let g = |n: &str| Subject::new(SubjectKind::Group, n);
        let t = rules
            .threshold(RuleKind::ConsumerTimeLag, &g("sink"))
            .unwrap();
        assert_eq!(
            (t.warn, t.crit, t.for_),
            (Some(10.0), Some(60.0), Duration::from_secs(5))
        );
        let t = rules
            .threshold(RuleKind::ConsumerTimeLag, &g("batch-hourly"))
            .unwrap();
        assert_eq!((t.warn, t.crit), (Some(600.0), Some(3600.0)));
        assert!(
            rules
                .threshold(RuleKind::ConsumerTimeLag, &g("batch-nightly"))
                .is_none()
        );
        // A table named like the glob is not a group.
        let t = rules
            .threshold(
                RuleKind::ConsumerTimeLag,
                &Subject::new(SubjectKind::Table, "batch-x"),
            )
            .unwrap();
        assert_eq!(t.warn, Some(10.0));
    }

    #[test]
    fn bad_patterns_and_rule_names_are_reported() {
        let e = RuleSet::new(&config(
            "[[overrides]]\nrule = \"freshness\"\nmatch = \"events\"\n",
        ))
        .unwrap_err();
        assert!(
            e.contains("alerts.overrides") && e.contains("kind:pattern"),
            "{e}"
        );
        let e = RuleSet::new(&config(
            "[[overrides]]\nrule = \"parts_pressure\"\nmatch = \"tabel:default.events\"\ndisabled = true\n",
        ))
        .unwrap_err();
        assert!(
            e.contains("alerts.overrides")
                && e.contains("unknown kind `tabel`")
                && e.contains("table"),
            "{e}"
        );
        let e = toml::from_str::<AlertsConfig>("[rules.lag]\nwarn = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lag"), "{e}");
    }
}
