use std::path::Path;

use super::*;
use crate::config::Env;
use crate::config_contexts::{load, select};

struct FakeEnv(Vec<(&'static str, &'static str)>);

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn printed(text: &str) -> String {
    let loaded = select(text, Path::new("pipetop.toml"), None).unwrap_or_else(|e| panic!("{e}"));
    effective_toml(&loaded)
}

#[test]
fn secrets_are_masked_and_defaults_filled_in() {
    let text = "[kafka]\nproperties = { \"security.protocol\" = \"SASL_SSL\", \"sasl.password\" = \"kafka-pw-1\", \"sasl.jaas.config\" = \"x password=kafka-pw-2\" }\n[clickhouse]\npassword = \"ch-pw\"\n";
    let printed = printed(text);
    for secret in ["kafka-pw-1", "kafka-pw-2", "ch-pw"] {
        assert!(!printed.contains(secret), "{secret}: {printed}");
    }
    for shown in [
        "\"security.protocol\" = \"SASL_SSL\"",
        "\"sasl.password\" = \"***\"",
        "password = \"***\"",
        "bootstrap_servers = \"localhost:9092\"",
        "refresh = \"2s\"",
        "history = \"1h\"",
        "url = \"http://localhost:8123\"",
    ] {
        assert!(printed.contains(shown), "{shown}: {printed}");
    }
}

#[test]
fn every_key_is_printed_with_its_default() {
    let t: Table = toml::from_str(&printed("")).unwrap_or_else(|e| panic!("{e}"));
    let keys = |section: &str| -> Vec<String> {
        let mut keys: Vec<String> = t[section]
            .as_table()
            .unwrap_or_else(|| panic!("[{section}]"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys("kafka"),
        [
            "bootstrap_servers",
            "exclude_groups",
            "exclude_topics",
            "include_groups",
            "include_topics",
            "properties",
            "properties_env",
            "request_timeout",
            "show_internal_topics",
        ]
    );
    assert_eq!(
        keys("clickhouse"),
        [
            "database",
            "exclude_tables",
            "freshness",
            "hosts",
            "include_tables",
            "max_concurrent_queries",
            "max_response_bytes",
            "password",
            "query_timeout",
            "section_intervals",
            "section_time_limits",
            "url",
            "user",
            "window",
        ]
    );
    assert_eq!(
        t["clickhouse"]["max_response_bytes"].as_integer(),
        Some(16 * 1024 * 1024)
    );
    assert_eq!(
        t["clickhouse"]["max_concurrent_queries"].as_integer(),
        Some(2)
    );
    assert_eq!(
        t["clickhouse"]["section_intervals"]["inserts"].as_str(),
        Some("8s")
    );
    let rules = t["alerts"]["rules"].as_table().expect("[alerts.rules]");
    assert_eq!(rules.len(), RuleKind::ALL.len());
    let time_lag = &rules["consumer_time_lag"];
    assert_eq!(time_lag["warn"].as_float(), Some(30.0));
    assert_eq!(time_lag["crit"].as_float(), Some(60.0));
    assert_eq!(time_lag["for"].as_str(), Some("30s"));
    assert_eq!(time_lag["clear_ratio"].as_float(), Some(0.8));
    // A rule without a warning level prints none, rather than a made-up one.
    assert!(rules["consumer_status"].get("warn").is_none());
}

#[test]
fn what_the_file_sets_replaces_the_default() {
    let text = r#"
refresh = "7s"
[kafka]
include_groups = ["orders_.*"]
request_timeout = "3s"
[clickhouse]
hosts = ["http://a:8123", "http://b:8123"]
section_time_limits = { freshness = "1s" }
freshness = [{ table = "db.t", column = "ts" }]
[alerts.rules.consumer_time_lag]
warn = 5
[alerts.rules.freshness]
disabled = true
[[alerts.overrides]]
rule = "consumer_time_lag"
match = "group:orders_*"
crit = 600
"#;
    let t: Table = toml::from_str(&printed(text)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t["refresh"].as_str(), Some("7s"));
    assert_eq!(t["kafka"]["include_groups"][0].as_str(), Some("orders_.*"));
    assert_eq!(t["kafka"]["request_timeout"].as_str(), Some("3s"));
    assert_eq!(t["clickhouse"]["hosts"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        t["clickhouse"]["section_time_limits"]["freshness"].as_str(),
        Some("1s")
    );
    assert_eq!(
        t["clickhouse"]["freshness"][0]["column"].as_str(),
        Some("ts")
    );
    let rules = &t["alerts"]["rules"];
    assert_eq!(rules["consumer_time_lag"]["warn"].as_float(), Some(5.0));
    assert_eq!(rules["consumer_time_lag"]["crit"].as_float(), Some(60.0));
    assert_eq!(rules["freshness"]["disabled"].as_bool(), Some(true));
    assert_eq!(
        t["alerts"]["overrides"][0]["match"].as_str(),
        Some("group:orders_*")
    );
}

#[test]
fn the_printout_is_a_config_that_means_the_same() {
    let text = r#"
theme = "light"
[kafka]
exclude_topics = ["tmp\\..*"]
properties = { "client.id" = "pipetop-oncall" }
[clickhouse]
window = "10m"
max_response_bytes = 1000000
[alerts.rules.parts_pressure]
crit = 0.9
"#;
    let once = printed(text);
    assert_eq!(printed(&once), once);
}

#[test]
fn secrets_from_the_environment_show_only_the_variable() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[kafka]\nproperties_env = { \"sasl.password\" = \"K_PW\" }\n[clickhouse]\npassword_env = \"CH_PW\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let env = FakeEnv(vec![("K_PW", "kafka-hunter2"), ("CH_PW", "ch-hunter2")]);
    let loaded = load(Some(&path), None, &env).unwrap_or_else(|e| panic!("{e}"));
    let printed = effective_toml(&loaded);
    assert!(!printed.contains("hunter2"), "{printed}");
    let t: Table = toml::from_str(&printed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        t["kafka"]["properties_env"]["sasl.password"].as_str(),
        Some("K_PW")
    );
    assert_eq!(
        t["kafka"]["properties"]["sasl.password"].as_str(),
        Some(MASK)
    );
    assert_eq!(t["clickhouse"]["password_env"].as_str(), Some("CH_PW"));
    assert_eq!(t["clickhouse"]["password"].as_str(), Some(MASK));
}
