//! Which groups and topics pipetop watches: include/exclude regexes from the config, and Kafka's
//! internal topics hidden unless asked for.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer};

/// A regex matched against the whole name (`events_.*` does not match `old_events_1`), compiled
/// when the config is read so a bad pattern is a config error naming its key, not a runtime one.
#[derive(Clone)]
pub struct Pattern(Regex);

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, regex::Error> {
        Regex::new(&format!("^(?:{text})$")).map(Pattern)
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }

    /// The regex as matched, anchored at both ends: `^(?:<pattern>)$` (for a server to match
    /// the same whole names, e.g. ClickHouse's `match()`).
    pub fn anchored(&self) -> &str {
        self.0.as_str()
    }

    /// The pattern as written in the config, without the anchors [`Pattern::new`] adds.
    pub fn source(&self) -> &str {
        let text = self.0.as_str();
        text.strip_prefix("^(?:")
            .and_then(|t| t.strip_suffix(")$"))
            .unwrap_or(text)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "expected a regular expression, found \"{text}\": {e}"
            ))
        })
    }
}

/// Include lists empty = everything; an exclude match always wins over an include match.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

impl NameFilter {
    pub fn allows(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub groups: NameFilter,
    pub topics: NameFilter,
    /// Show `__consumer_offsets` and friends (hidden by default: noise to a pipeline's on-call).
    pub show_internal_topics: bool,
}

impl Filters {
    pub fn group(&self, group_id: &str) -> bool {
        self.groups.allows(group_id)
    }

    pub fn topic(&self, name: &str, internal: bool) -> bool {
        (self.show_internal_topics || !internal) && self.topics.allows(name)
    }
}

/// Kafka's own topics: `__consumer_offsets`, `__transaction_state`, `__share_group_state`, ...
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(texts: &[&str]) -> Vec<Pattern> {
        texts.iter().map(|t| Pattern::new(t).unwrap()).collect()
    }

    #[test]
    fn patterns_match_whole_names_and_exclude_wins() {
        let f = NameFilter {
            include: pats(&["events_.*", "audit"]),
            exclude: pats(&["events_test.*"]),
        };
        assert!(f.allows("events_topic"));
        assert!(f.allows("audit"));
        assert!(!f.allows("old_events_1"), "anchored at the start");
        assert!(!f.allows("audit_log"), "anchored at the end");
        assert!(!f.allows("events_test_1"), "exclude wins");
        assert!(NameFilter::default().allows("anything"));
    }

    #[test]
    fn internal_topics_are_hidden_unless_asked_for() {
        let mut f = Filters::default();
        assert!(!f.topic("__consumer_offsets", true));
        assert!(f.topic("events", false));
        f.show_internal_topics = true;
        assert!(f.topic("__consumer_offsets", true));
    }

    #[test]
    fn bad_pattern_is_a_deserialize_error_naming_it() {
        #[derive(Debug, Deserialize)]
        struct T {
            #[allow(dead_code)]
            p: Pattern,
        }
        let e = toml::from_str::<T>("p = \"events(\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("events("), "{e}");
    }
}
