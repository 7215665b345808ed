//! The config checks that need more than a type: thresholds in the right order and range, and
//! librdkafka properties librdkafka itself accepts. Plain data in, a [`Problem`] out (the key, the
//! line of the file where it can be found, what was wrong); `config` turns it into its error.

use std::collections::BTreeMap;

use crate::alerts::RuleKind;
use crate::alerts::rules::{AlertsConfig, Threshold, ThresholdOverride, apply, check_pattern};

/// One refused setting: `key` is the dotted config key, `line` its line in the file (1-based) when
/// the text is at hand and the key could be found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Every `[alerts.rules.<rule>]` and `[[alerts.overrides]]` entry: its numbers in range, and the
/// warn and crit in force once it is applied (onto the shipped threshold, or for an override onto
/// the global one) in the right order. A rule's value grows with how bad it is and the critical
/// bound is judged first, so warn may equal crit (a value there is critical at once) but not
/// exceed it. Disabled entries are checked too: their numbers come back when `disabled` goes.
///
/// `context` names the file's `[contexts.<name>]` table the settings were merged from: a key is
/// looked for there first, then at the top level.
pub fn check_alerts(
    alerts: &AlertsConfig,
    text: Option<&str>,
    context: Option<&str>,
) -> Result<(), Problem> {
    let lines = Lines {
        text: text.unwrap_or(""),
        context,
    };
    for (rule, o) in &alerts.rules {
        let key = format!("alerts.rules.{rule}");
        let line = lines.header(&["alerts", "rules", rule.name()]);
        let line = line.or_else(|| lines.key_in(&["alerts", "rules"], rule.name()));
        let inherited = [", shipped"; 2];
        check_override(
            *rule,
            o,
            rule.default_threshold(),
            inherited,
            &key,
            "",
            line,
            &lines,
        )?;
    }
    for (n, o) in alerts.overrides.iter().enumerate() {
        let rule = o.rule;
        let global = alerts.rules.get(&rule).filter(|g| !g.disabled);
        let base = match global {
            Some(global) => apply(rule.default_threshold(), global),
            None => rule.default_threshold(),
        };
        let from = |given: Option<Option<f64>>| match given {
            Some(Some(_)) => ", from alerts.rules",
            _ => ", shipped",
        };
        let inherited = [from(global.map(|g| g.warn)), from(global.map(|g| g.crit))];
        let what = format!(
            "override #{} (rule `{rule}`, match `{}`): ",
            n + 1,
            o.pattern
        );
        let line = lines.nth_array_header(&["alerts", "overrides"], n);
        if let Err(e) = check_pattern(&o.pattern) {
            return Err(Problem {
                key: "alerts.overrides".to_string(),
                line: line.and_then(|l| lines.field_after(l, "match")).or(line),
                message: format!("override #{}: {e}", n + 1),
            });
        }
        let key = "alerts.overrides";
        check_override(
            rule,
            &o.threshold,
            base,
            inherited,
            key,
            &what,
            line,
            &lines,
        )?;
    }
    Ok(())
}

/// `inherited`: how to name where warn and crit come from when `o` does not give them.
#[allow(clippy::too_many_arguments)]
fn check_override(
    rule: RuleKind,
    o: &ThresholdOverride,
    base: Threshold,
    inherited: [&str; 2],
    key: &str,
    what: &str,
    line: Option<usize>,
    lines: &Lines,
) -> Result<(), Problem> {
    // The line of one field of this entry: in its own section, or the entry's (inline) line.
    let field_line = |field: &str| line.and_then(|l| lines.field_after(l, field)).or(line);
    let problem = |field: &str, message: String| Problem {
        key: if field.is_empty() || key == "alerts.overrides" {
            key.to_string()
        } else {
            format!("{key}.{field}")
        },
        line: if field.is_empty() {
            line
        } else {
            field_line(field)
        },
        message: format!("{what}{message}"),
    };
    // `topic_traffic` judges a rate against a band; the other rules a value growing with how bad
    // it is. Each takes only its own keys, so a bound never silently means something else.
    let traffic = rule == RuleKind::TopicTraffic;
    let foreign: &[(&str, bool)] = if traffic {
        &[("warn", o.warn.is_some()), ("crit", o.crit.is_some())]
    } else {
        &[
            ("min_rate", o.min_rate.is_some()),
            ("max_rate", o.max_rate.is_some()),
        ]
    };
    if let Some((field, _)) = foreign.iter().find(|(_, given)| *given) {
        let expected = if traffic {
            "min_rate and max_rate (messages per second)"
        } else {
            "warn and crit (min_rate and max_rate are for topic_traffic)"
        };
        return Err(problem(
            field,
            format!("rule `{rule}` does not take `{field}`: expected {expected}"),
        ));
    }
    for (field, value) in [
        ("warn", o.warn),
        ("crit", o.crit),
        ("min_rate", o.min_rate),
        ("max_rate", o.max_rate),
    ] {
        if let Some(v) = value.filter(|v| !v.is_finite() || *v < 0.0) {
            return Err(problem(
                field,
                format!("expected {field} to be a finite number of at least 0, found {v}"),
            ));
        }
    }
    if let Some(r) = o.clear_ratio.filter(|r| !(*r > 0.0 && *r <= 1.0)) {
        return Err(problem(
            "clear_ratio",
            format!(
                "expected clear_ratio above 0 and at most 1 (a firing alert clears below \
                 clear_ratio × its threshold), found {r}"
            ),
        ));
    }
    let t = apply(base, o);
    if let (Some(min), Some(max)) = (t.below, t.warn.filter(|_| traffic))
        && min > max
    {
        let origin = |given: Option<f64>| {
            if given.is_some() {
                ""
            } else {
                ", from alerts.rules"
            }
        };
        return Err(problem(
            "",
            format!(
                "min_rate ({min}{}) must not be above max_rate ({max}{}): expected min_rate ≤ \
                 max_rate",
                origin(o.min_rate),
                origin(o.max_rate)
            ),
        ));
    }
    if let (Some(warn), Some(crit)) = (t.warn, t.crit)
        && warn > crit
    {
        let origin = |given: Option<f64>, inherited| if given.is_some() { "" } else { inherited };
        return Err(problem(
            "",
            format!(
                "warn ({warn}{}) must not be above crit ({crit}{}): expected warn ≤ crit",
                origin(o.warn, inherited[0]),
                origin(o.crit, inherited[1])
            ),
        ));
    }
    Ok(())
}

/// Each `[kafka.properties]` entry (and each one read from `[kafka.properties_env]`) set on an
/// empty librdkafka config, without connecting anywhere: librdkafka refuses an unknown name or
/// a value it cannot take. The message names the property and librdkafka's reason, never the
/// value, which may be a password.
pub fn check_kafka_properties(
    properties: &BTreeMap<String, String>,
    from_env: &BTreeMap<String, String>,
    text: Option<&str>,
    context: Option<&str>,
) -> Result<(), Problem> {
    let lines = Lines {
        text: text.unwrap_or(""),
        context,
    };
    for (name, value) in properties {
        let mut config = rdkafka::ClientConfig::new();
        config.set(name, value);
        let Err(e) = config.create_native_config() else {
            continue;
        };
        let table = if from_env.contains_key(name) {
            "properties_env"
        } else {
            "properties"
        };
        let reason = match e {
            rdkafka::error::KafkaError::ClientConfig(_, description, _, _) => {
                redact(&description, value)
            }
            _ => "librdkafka refused it".to_string(),
        };
        return Err(Problem {
            key: format!("kafka.{table}.\"{name}\""),
            line: lines.property(table, name),
            message: format!("expected a property and value librdkafka accepts: {reason}"),
        });
    }
    Ok(())
}

/// librdkafka's reason without the value: quoted or after "value " it becomes `<value>`; if the
/// value still shows anywhere, only a generic reason is given.
fn redact(description: &str, value: &str) -> String {
    let description = description.trim().trim_end_matches('.');
    if value.is_empty() {
        return description.to_string();
    }
    let redacted = description
        .replace(&format!("\"{value}\""), "\"<value>\"")
        .replace(&format!("value {value} "), "value <value> ");
    if redacted.contains(value) {
        "librdkafka refused its value".to_string()
    } else {
        redacted
    }
}

/// The history accepted: a minute (shorter shows no trend) to a day (its memory grows with the
/// points kept: at a 500 ms refresh a day is 172,800 points a series).
pub const MIN_HISTORY: std::time::Duration = std::time::Duration::from_secs(60);
pub const MAX_HISTORY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `history`: from a minute to a day. (Not tied to `refresh`: a slow refresh keeps fewer points,
/// and a config that only changes `refresh` stays valid.)
pub fn check_history(history: std::time::Duration, text: Option<&str>) -> Result<(), Problem> {
    if (MIN_HISTORY..=MAX_HISTORY).contains(&history) {
        return Ok(());
    }
    let line = text.and_then(|t| {
        t.lines()
            .take_while(|l| !l.trim_start().starts_with('['))
            .position(|l| key_of(l.trim()) == Some("history"))
            .map(|i| i + 1)
    });
    Err(Problem {
        key: "history".to_string(),
        line,
        message: format!(
            "expected a duration from 1m to 24h, found {}",
            humantime::format_duration(history)
        ),
    })
}

/// Finding keys in the TOML text, line by line: enough for the forms a config file uses
/// (`[a.b]` sections, `[[a]]` arrays of tables, `key = ...` lines, inline tables on one line).
/// With a context, `[contexts.<name>.a.b]` is looked for first: the context's value won the merge.
struct Lines<'a> {
    text: &'a str,
    context: Option<&'a str>,
}

impl Lines<'_> {
    fn numbered(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
    }

    /// The lines of the `[path]` headers (`[[path]]` when `array`): the chosen context's when it
    /// has any, otherwise the top level's.
    fn headers(&self, path: &[&str], array: bool) -> Vec<usize> {
        let find = |path: &[&str]| -> Vec<usize> {
            self.numbered()
                .filter(|(_, l)| header_path(l, array).is_some_and(|p| p == path))
                .map(|(n, _)| n)
                .collect()
        };
        if let Some(context) = self.context {
            let mut in_context = vec!["contexts", context];
            in_context.extend_from_slice(path);
            let found = find(&in_context);
            if !found.is_empty() {
                return found;
            }
        }
        find(path)
    }

    fn header(&self, path: &[&str]) -> Option<usize> {
        self.headers(path, false).first().copied()
    }

    fn nth_array_header(&self, path: &[&str], n: usize) -> Option<usize> {
        self.headers(path, true).get(n).copied()
    }

    /// The line of `key = ...` in the `[section]` table.
    fn key_in(&self, section: &[&str], key: &str) -> Option<usize> {
        self.field_after(self.header(section)?, key)
    }

    /// The line of `key = ...` after the header on line `header`, before the next header.
    fn field_after(&self, header: usize, key: &str) -> Option<usize> {
        self.numbered()
            .skip(header)
            .take_while(|(_, l)| !l.starts_with('['))
            .find(|(_, l)| key_of(l) == Some(key))
            .map(|(n, _)| n)
    }

    /// A librdkafka property's line: in `[kafka.<table>]`, or in `<table> = { ... }` under
    /// `[kafka]`.
    fn property(&self, table: &str, name: &str) -> Option<usize> {
        self.key_in(&["kafka", table], name).or_else(|| {
            let start = self.header(&["kafka"])?;
            let quoted = [format!("\"{name}\""), format!("'{name}'")];
            self.numbered()
                .skip(start)
                .take_while(|(_, l)| !l.starts_with('['))
                .find(|(_, l)| {
                    key_of(l) == Some(table) && quoted.iter().any(|q| l.contains(q.as_str()))
                })
                .map(|(n, _)| n)
        })
    }
}

/// `[a . "b"]` → ["a", "b"] (`[[...]]` when `array`); None for any other line.
fn header_path(line: &str, array: bool) -> Option<Vec<&str>> {
    let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
    if !array && line.starts_with("[[") {
        return None;
    }
    let inner = line.strip_prefix(open)?;
    let inner = &inner[..inner.find(close)?];
    Some(inner.split('.').map(unquote).collect())
}

/// The key of a `key = value` line, unquoted.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    Some(unquote(key))
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| c == '"' || c == '\'')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    fn validated(text: &str) -> Result<Config, ConfigError> {
        let path = Path::new("p.toml");
        let config = Config::parse(text, path)?;
        config.validate_text(Some(path), Some(text))?;
        Ok(config)
    }

    /// The message of a config refused by `parse` or `validate`.
    fn refused(text: &str) -> String {
        let e = validated(text).expect_err(text).to_string();
        assert!(e.starts_with("config file p.toml: "), "{e}");
        e
    }

    fn assert_has(e: &str, parts: &[&str]) {
        for part in parts {
            assert!(e.contains(part), "{part:?} missing: {e}");
        }
    }

    #[test]
    fn history_is_a_minute_to_a_day() {
        let e = refused("refresh = \"2s\"\nhistory = \"10s\"\n");
        assert_has(
            &e,
            &["line 2, key `history`", "from 1m to 24h", "found 10s"],
        );
        let e = refused("history = \"2days\"\n");
        assert_has(&e, &["line 1, key `history`", "found 2days"]);
        let c = validated("history = \"15m\"\nrefresh = \"5s\"\n").unwrap();
        let points = crate::model::series::history_points;
        assert_eq!(points(c.history, c.refresh), 180);
        // A refresh slower than the history still keeps a line's two ends.
        assert_eq!(points(c.history, std::time::Duration::from_secs(3600)), 2);
        let d = Config::default();
        assert_eq!(
            points(d.history, d.refresh),
            crate::model::series::DEFAULT_HISTORY_POINTS
        );
    }

    #[test]
    fn thresholds_in_the_wrong_order_name_both_and_the_rule() {
        let e =
            refused("context = \"x\"\n\n[alerts.rules.consumer_time_lag]\nwarn = 100\ncrit = 10\n");
        assert_has(
            &e,
            &[
                "line 3, key `alerts.rules.consumer_time_lag`: ",
                "warn (100) must not be above crit (10)",
                "expected warn ≤ crit",
            ],
        );
        // Inline, under [alerts.rules]: the rule's own line.
        let e = refused("[alerts.rules]\nfreshness = { warn = 9, crit = 8 }\n");
        assert_has(
            &e,
            &[
                "line 2, key `alerts.rules.freshness`",
                "warn (9)",
                "crit (8)",
            ],
        );
    }

    #[test]
    fn crit_alone_below_the_shipped_warn_is_refused() {
        let e = refused("[alerts.rules.freshness]\ncrit = 10\n");
        assert_has(
            &e,
            &[
                "line 1, key `alerts.rules.freshness`",
                "warn (30, shipped) must not be above crit (10)",
            ],
        );
        // And warn alone above the shipped crit.
        let e = refused("[alerts.rules.failed_inserts]\nwarn = 500\n");
        assert_has(&e, &["warn (500) must not be above crit (100, shipped)"]);
    }

    #[test]
    fn an_override_in_the_wrong_order_is_named_with_its_line() {
        let text = "[alerts.rules.consumer_time_lag]\ncrit = 120\n\n\
                    [[alerts.overrides]]\nrule = \"freshness\"\nmatch = \"table:x\"\n\n\
                    [[alerts.overrides]]\nrule = \"consumer_time_lag\"\nmatch = \"group:batch-*\"\nwarn = 3600\n";
        let e = refused(text);
        assert_has(
            &e,
            &[
                "line 8, key `alerts.overrides`: ",
                "override #2 (rule `consumer_time_lag`, match `group:batch-*`)",
                "warn (3600) must not be above crit (120, from alerts.rules)",
            ],
        );
        // Both given in the override: the global numbers do not matter.
        validated(&text.replace("warn = 3600", "warn = 3600\ncrit = 7200")).unwrap();
        // Without a global rule, the shipped crit.
        let e = refused(&text.replace("crit = 120", "warn = 1"));
        assert_has(&e, &["warn (3600) must not be above crit (60, shipped)"]);
        // A bad pattern is at its own line too.
        let e = refused("[[alerts.overrides]]\nrule = \"freshness\"\n\nmatch = \"events\"\n");
        assert_has(
            &e,
            &[
                "line 4, key `alerts.overrides`",
                "override #1",
                "kind:pattern",
            ],
        );
    }

    #[test]
    fn topic_traffic_takes_a_non_negative_ordered_rate_band_and_nothing_else() {
        let c = validated(
            "[alerts.rules.topic_traffic]\nmin_rate = 0.5\n\n[[alerts.overrides]]\n\
             rule = \"topic_traffic\"\nmatch = \"topic:events_topic\"\nmin_rate = 1\nmax_rate = 5000\n",
        )
        .unwrap();
        assert_eq!(c.alerts.overrides[0].threshold.min_rate, Some(1.0));
        let e = refused(
            "[alerts.rules.topic_traffic]\nmax_rate = 10\n\n[[alerts.overrides]]\n\
             rule = \"topic_traffic\"\nmatch = \"topic:events_topic\"\nmin_rate = 20\n",
        );
        assert_has(
            &e,
            &[
                "line 4, key `alerts.overrides`",
                "override #1 (rule `topic_traffic`, match `topic:events_topic`)",
                "min_rate (20) must not be above max_rate (10, from alerts.rules)",
                "expected min_rate ≤ max_rate",
            ],
        );
        let e = refused("[alerts.rules.topic_traffic]\nmin_rate = 3\nmax_rate = 2\n");
        assert_has(
            &e,
            &["line 1, key `alerts.rules.topic_traffic`", "min_rate (3)"],
        );
        let e = refused("[alerts.rules.topic_traffic]\n\nmin_rate = -1\n");
        assert_has(
            &e,
            &[
                "line 3, key `alerts.rules.topic_traffic.min_rate`",
                "at least 0, found -1",
            ],
        );
        let e = refused("[alerts.rules.topic_traffic]\nwarn = 3\n");
        assert_has(
            &e,
            &[
                "line 2, key `alerts.rules.topic_traffic.warn`",
                "does not take `warn`: expected min_rate and max_rate",
            ],
        );
        let e = refused("[alerts.rules.consumer_time_lag]\nmin_rate = 3\n");
        assert_has(
            &e,
            &[
                "line 2, key `alerts.rules.consumer_time_lag.min_rate`",
                "min_rate and max_rate are for topic_traffic",
            ],
        );
        let e = refused("[alerts.rules.topic_traffic]\nmin_rte = 3\n");
        assert_has(&e, &["min_rte"]);
    }

    #[test]
    fn equal_warn_and_crit_and_for_zero_are_legal() {
        // Critical is judged first: a value at the line is critical at once, never a warning.
        let c = validated(
            "[alerts.rules.consumer_time_lag]\nwarn = 60\ncrit = 60\nfor = \"0s\"\nclear_ratio = 1\n\
             [alerts.rules.consumer_status]\nwarn = 0\n",
        )
        .unwrap();
        let o = &c.alerts.rules[&crate::alerts::RuleKind::ConsumerTimeLag];
        assert_eq!(o.for_, Some(std::time::Duration::ZERO));
    }

    /// A disabled entry's numbers are checked all the same: they are back in force the moment
    /// someone removes `disabled`, which should not be when the mistake is found.
    #[test]
    fn a_disabled_rule_is_checked_too() {
        let e = refused("[alerts.rules.freshness]\ndisabled = true\nwarn = 100\ncrit = 10\n");
        assert_has(&e, &["key `alerts.rules.freshness`", "warn (100)"]);
        validated("[alerts.rules.freshness]\ndisabled = true\n").unwrap();
    }

    #[test]
    fn clear_ratio_outside_zero_to_one_is_refused() {
        for bad in ["0", "0.0", "1.5", "-0.2", "nan"] {
            let e = refused(&format!(
                "[alerts.rules.freshness]\nwarn = 1\nclear_ratio = {bad}\n"
            ));
            assert_has(
                &e,
                &[
                    "line 3, key `alerts.rules.freshness.clear_ratio`",
                    "expected clear_ratio above 0 and at most 1",
                ],
            );
        }
        let e = refused(
            "[[alerts.overrides]]\nrule = \"freshness\"\nmatch = \"table:*\"\nclear_ratio = 2\n",
        );
        assert_has(
            &e,
            &["line 4, key `alerts.overrides`", "override #1", "found 2"],
        );
        validated("[alerts.rules.freshness]\nclear_ratio = 0.01\n").unwrap();
    }

    #[test]
    fn negative_and_infinite_thresholds_are_refused() {
        let e = refused("[alerts.rules.freshness]\nwarn = -1\n");
        assert_has(
            &e,
            &[
                "line 2, key `alerts.rules.freshness.warn`",
                "expected warn to be a finite number of at least 0, found -1",
            ],
        );
        let e = refused("[alerts.rules.freshness]\ncrit = inf\n");
        assert_has(&e, &["key `alerts.rules.freshness.crit`", "found inf"]);
    }

    #[test]
    fn negative_durations_are_refused_with_the_key() {
        for (text, key) in [
            ("refresh = \"-5s\"\n", "line 1, key `refresh`"),
            (
                "[kafka]\nrequest_timeout = \"-1s\"\n",
                "line 2, key `kafka.request_timeout`",
            ),
            (
                "[alerts.rules.freshness]\nfor = \"-5s\"\n",
                "line 2, key `alerts.rules.freshness.for`",
            ),
        ] {
            let e = refused(text);
            assert_has(&e, &[key, "expected a duration like", "(not negative)"]);
        }
    }

    #[test]
    fn unknown_librdkafka_property_is_named() {
        let e =
            refused("[kafka.properties]\n\"security.protocol\" = \"SSL\"\n\"foo.bar\" = \"1\"\n");
        assert_has(
            &e,
            &[
                "line 3, key `kafka.properties.\"foo.bar\"`",
                "expected a property and value librdkafka accepts",
                "No such configuration property",
            ],
        );
    }

    #[test]
    fn invalid_librdkafka_values_are_named_without_the_value() {
        let secret = "hunter2-Secret!";
        let e = refused(&format!(
            "[kafka]\nproperties = {{ \"security.protocol\" = \"{secret}\" }}\n"
        ));
        assert_has(
            &e,
            &[
                "line 2, key `kafka.properties.\"security.protocol\"`",
                "Invalid value",
            ],
        );
        assert!(!e.contains(secret), "{e}");
        // A number out of range: librdkafka writes the value unquoted.
        let e = refused("[kafka.properties]\n\"linger.ms\" = \"-987654\"\n");
        assert_has(
            &e,
            &[
                "key `kafka.properties.\"linger.ms\"`",
                "outside allowed range",
            ],
        );
        assert!(!e.contains("987654"), "{e}");
        // The value anywhere else in the reason: a generic reason instead.
        assert_eq!(
            super::redact("bad: SSL is not SSLv2", "SSL"),
            "librdkafka refused its value"
        );
    }

    #[test]
    fn a_property_from_the_environment_is_named_by_its_env_key() {
        let mut c = Config::parse(
            "[kafka]\nproperties_env = { \"security.protocol\" = \"PROTO\" }\n",
            Path::new("p.toml"),
        )
        .unwrap();
        c.kafka
            .properties
            .insert("security.protocol".into(), "t0p-secret".into());
        let e = c
            .validate(Some(Path::new("p.toml")))
            .unwrap_err()
            .to_string();
        assert_has(&e, &["key `kafka.properties_env.\"security.protocol\"`"]);
        assert!(!e.contains("t0p-secret"), "{e}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        validated(
            r#"
            [kafka]
            bootstrap_servers = "b1:9093,b2:9093"
            properties = { "security.protocol" = "SASL_SSL", "sasl.mechanism" = "SCRAM-SHA-512", "sasl.username" = "monitor" }

            [alerts.rules.consumer_time_lag]
            warn = 10
            crit = 120
            for = "1m"
            clear_ratio = 0.5

            [alerts.rules.select_latency_p95]
            disabled = true

            [[alerts.overrides]]
            rule = "consumer_time_lag"
            match = "group:batch-*"
            warn = 3600
            crit = 7200

            [[alerts.overrides]]
            rule = "parts_pressure"
            match = "table:re:^staging\\..*$"
            disabled = true
            "#,
        )
        .unwrap();
    }
}
