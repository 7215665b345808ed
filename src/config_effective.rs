//! `pipetop config check`: the effective settings as TOML, every key with the value pipetop
//! uses (the file's, the context's, a command-line override's, or the built-in default), every
//! secret masked. What it prints is itself a valid config file that means the same.

use std::time::Duration;

use toml::{Table, Value};

use crate::alerts::RuleKind;
use crate::alerts::rules::apply;
use crate::config::Config;
use crate::config_contexts::Loaded;
use crate::kafka::filter::Pattern;

/// librdkafka properties whose values are shown by `config check`; every other value may be a
/// secret (passwords, keys, JAAS and OAUTHBEARER configs) and is masked.
const PLAIN_PROPERTIES: [&str; 14] = [
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.kerberos.service.name",
    "sasl.kerberos.principal",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.token.endpoint.url",
    "client.id",
    "ssl.endpoint.identification.algorithm",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
];

/// What `config check` prints for the masked values.
pub const MASK: &str = "***";

/// The effective settings as TOML: every key of every section with the value in use, so the
/// defaults can be read off too, and every secret shown as `"***"`: the ClickHouse password
/// however it was given, and every librdkafka property value that is not known to be harmless.
/// `[alerts.rules]` lists every rule with its threshold after the global overrides (the
/// per-subject `[[alerts.overrides]]` are printed as written).
pub fn effective_toml(loaded: &Loaded) -> String {
    let c = &loaded.config;
    let mut t = Table::new();
    t.insert("context".into(), string(&c.context));
    t.insert("refresh".into(), duration(c.refresh));
    t.insert("history".into(), duration(c.history));
    t.insert("export_window".into(), duration(c.export_window));
    t.insert("theme".into(), string(&c.theme));
    t.insert("kafka".into(), Value::Table(kafka(c)));
    t.insert("clickhouse".into(), Value::Table(clickhouse(c)));
    t.insert("alerts".into(), Value::Table(alerts(c, &loaded.table)));
    t.insert("pipelines".into(), pipelines(c));
    toml::to_string(&t).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
}

fn kafka(c: &Config) -> Table {
    let k = &c.kafka;
    let mut t = Table::new();
    t.insert("bootstrap_servers".into(), string(&k.bootstrap_servers));
    t.insert("request_timeout".into(), duration(k.request_timeout));
    // Values read from `properties_env` are in `properties` too (masked unless plain); the
    // variables' names are shown under `properties_env`.
    let properties = k
        .properties
        .iter()
        .map(|(name, value)| {
            let shown = if PLAIN_PROPERTIES.contains(&name.as_str()) {
                value.as_str()
            } else {
                MASK
            };
            (name.clone(), string(shown))
        })
        .collect();
    t.insert("properties".into(), Value::Table(properties));
    let from_env = k
        .properties_env
        .iter()
        .map(|(name, var)| (name.clone(), string(var)))
        .collect();
    t.insert("properties_env".into(), Value::Table(from_env));
    t.insert("include_groups".into(), patterns(&k.include_groups));
    t.insert("exclude_groups".into(), patterns(&k.exclude_groups));
    t.insert("include_topics".into(), patterns(&k.include_topics));
    t.insert("exclude_topics".into(), patterns(&k.exclude_topics));
    t.insert(
        "show_internal_topics".into(),
        Value::Boolean(k.show_internal_topics),
    );
    t
}

fn clickhouse(c: &Config) -> Table {
    let ch = &c.clickhouse;
    let mut t = Table::new();
    t.insert("url".into(), string(&ch.url));
    t.insert("hosts".into(), strings(&ch.hosts));
    t.insert("user".into(), string(&ch.user));
    // Set or not is worth knowing; the value never is.
    let password = if ch.password.is_empty() { "" } else { MASK };
    t.insert("password".into(), string(password));
    if let Some(var) = &ch.password_env {
        t.insert("password_env".into(), string(var));
    }
    t.insert("database".into(), string(&ch.database));
    t.insert("query_timeout".into(), duration(ch.query_timeout));
    t.insert("window".into(), duration(ch.window));
    let freshness = ch.freshness.iter().map(|w| {
        let mut row = Table::new();
        row.insert("table".into(), string(&w.table));
        row.insert("column".into(), string(&w.column));
        Value::Table(row)
    });
    t.insert("freshness".into(), Value::Array(freshness.collect()));
    t.insert("include_tables".into(), patterns(&ch.include_tables));
    t.insert("exclude_tables".into(), patterns(&ch.exclude_tables));
    let limits = ch
        .section_time_limits
        .iter()
        .map(|(section, limit)| (section.name().to_string(), duration(*limit)))
        .collect();
    t.insert("section_time_limits".into(), Value::Table(limits));
    // Every section on a cadence with the interval in force.
    let intervals = crate::clickhouse::cadence::INTERVALS
        .iter()
        .map(|(id, every)| {
            let every = ch.section_intervals.get(id).unwrap_or(every);
            (id.name().to_string(), duration(*every))
        })
        .collect();
    t.insert("section_intervals".into(), Value::Table(intervals));
    t.insert(
        "max_response_bytes".into(),
        Value::Integer(i64::try_from(ch.max_response_bytes).unwrap_or(i64::MAX)),
    );
    t.insert(
        "max_concurrent_queries".into(),
        Value::Integer(i64::try_from(ch.max_concurrent_queries).unwrap_or(i64::MAX)),
    );
    t
}

/// Every rule with the threshold it has before per-subject overrides: the shipped one with the
/// file's `[alerts.rules.NAME]` laid over it, or `disabled = true`.
fn alerts(c: &Config, written: &Table) -> Table {
    let a = &c.alerts;
    let mut t = Table::new();
    t.insert("bell".into(), Value::Boolean(a.bell));
    let mut rules = Table::new();
    for kind in RuleKind::ALL {
        let mut rule = Table::new();
        match a.rules.get(&kind) {
            Some(o) if o.disabled => {
                rule.insert("disabled".into(), Value::Boolean(true));
            }
            o => {
                let base = kind.default_threshold();
                let th = o.map_or(base, |o| apply(base, o));
                // topic_traffic's band is written as it is configured: max_rate is its `warn`.
                let names = match kind {
                    RuleKind::TopicTraffic => ["max_rate", "crit"],
                    _ => ["warn", "crit"],
                };
                if let Some(min) = th.below {
                    rule.insert("min_rate".into(), Value::Float(min));
                }
                for (name, bound) in names.into_iter().zip([th.warn, th.crit]) {
                    if let Some(bound) = bound {
                        rule.insert(name.into(), Value::Float(bound));
                    }
                }
                rule.insert("for".into(), duration(th.for_));
                rule.insert("clear_ratio".into(), Value::Float(th.clear_ratio));
            }
        }
        rules.insert(kind.name().into(), Value::Table(rule));
    }
    t.insert("rules".into(), Value::Table(rules));
    let overrides = written
        .get("alerts")
        .and_then(|a| a.get("overrides"))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    t.insert("overrides".into(), overrides);
    t
}

fn pipelines(c: &Config) -> Value {
    let rows = c.pipelines.iter().map(|p| {
        let mut row = Table::new();
        if let Some(name) = &p.name {
            row.insert("name".into(), string(name));
        }
        row.insert("topic".into(), string(&p.topic));
        row.insert("group".into(), string(&p.group));
        row.insert("tables".into(), strings(&p.tables));
        Value::Table(row)
    });
    Value::Array(rows.collect())
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| string(s)).collect())
}

fn patterns(items: &[Pattern]) -> Value {
    Value::Array(items.iter().map(|p| string(p.source())).collect())
}

fn duration(d: Duration) -> Value {
    Value::String(humantime::format_duration(d).to_string())
}

#[cfg(test)]
#[path = "config_effective_tests.rs"]
mod tests;
