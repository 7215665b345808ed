use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config_effective::effective_toml;

struct FakeEnv(Vec<(&'static str, String)>);

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// A fresh directory under the system's temp dir, removed when the test ends (passed or failed).
fn temp_dir(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("pipetop-ctx-{test}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("a temp dir: {e}"))
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

const TWO_CONTEXTS: &str = r#"
refresh = "5s"
default_context = "prod-eu"

[kafka]
bootstrap_servers = "shared:9092"
request_timeout = "20s"

[clickhouse]
user = "monitor"
database = "events"

[contexts.prod-eu.kafka]
bootstrap_servers = "prod-eu-1:9093"
properties_env = { "sasl.password" = "PROD_KAFKA_PW" }

[contexts.prod-eu.clickhouse]
url = "https://ch.prod-eu:8443"
password_env = "PROD_CH_PW"

[[contexts.prod-eu.pipelines]]
topic = "orders"
group = "orders_sink"
tables = ["prod.orders"]

[contexts.staging]
refresh = "1s"
theme = "light"

[contexts.staging.clickhouse]
url = "http://ch.staging:8123"
"#;

fn select_in(text: &str, wanted: Option<&str>) -> Result<Loaded, ConfigError> {
    select(text, Path::new("pipetop.toml"), wanted)
}

#[test]
fn the_default_file_is_found_under_xdg_then_home() {
    let dir = temp_dir("lookup");
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    let env = FakeEnv(vec![
        ("XDG_CONFIG_HOME", xdg.display().to_string()),
        ("HOME", home.display().to_string()),
    ]);
    assert_eq!(default_path(&env), None, "no file yet");
    let in_home = home.join(".config/pipetop/config.toml");
    write(&in_home, "context = \"home\"\n");
    assert_eq!(default_path(&env), Some(in_home.clone()));
    let in_xdg = xdg.join("pipetop/config.toml");
    write(&in_xdg, "context = \"xdg\"\n");
    assert_eq!(default_path(&env), Some(in_xdg.clone()));
    let loaded = load(None, None, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.context, "xdg");
    assert_eq!(loaded.path, Some(in_xdg));
    // Without XDG_CONFIG_HOME: ~/.config.
    let env = FakeEnv(vec![("HOME", home.display().to_string())]);
    assert_eq!(default_path(&env), Some(in_home));
}

#[test]
fn no_file_means_the_built_in_defaults() {
    let dir = temp_dir("nofile");
    let env = FakeEnv(vec![
        ("XDG_CONFIG_HOME", dir.path().display().to_string()),
        ("HOME", dir.path().display().to_string()),
    ]);
    let loaded = load(None, None, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.path, None);
    assert_eq!(loaded.config.kafka.bootstrap_servers, "localhost:9092");
    assert_eq!(loaded.config.context, "local");
    let e = load(None, Some("prod"), &env).unwrap_err().to_string();
    assert!(e.contains("prod") && e.contains("no config file"), "{e}");
}

#[test]
fn a_context_overrides_the_top_level_key_by_key() {
    let loaded = select_in(TWO_CONTEXTS, None).unwrap_or_else(|e| panic!("{e}"));
    let c = &loaded.config;
    assert_eq!(
        loaded.context.as_deref(),
        Some("prod-eu"),
        "default_context"
    );
    assert_eq!(c.context, "prod-eu");
    assert_eq!(c.kafka.bootstrap_servers, "prod-eu-1:9093", "context wins");
    assert_eq!(c.kafka.request_timeout, Duration::from_secs(20), "shared");
    assert_eq!(c.clickhouse.url, "https://ch.prod-eu:8443");
    assert_eq!(c.clickhouse.user, "monitor", "shared, in a merged table");
    assert_eq!(c.clickhouse.database, "events");
    assert_eq!(c.refresh, Duration::from_secs(5));
    assert_eq!(c.pipelines.len(), 1);
    assert_eq!(c.pipelines[0].group, "orders_sink");
    assert_eq!(
        loaded.contexts,
        Contexts {
            names: vec!["prod-eu".into(), "staging".into()],
            default: Some("prod-eu".into()),
        }
    );
}

#[test]
fn the_asked_context_wins_over_default_context() {
    let loaded = select_in(TWO_CONTEXTS, Some("staging")).unwrap_or_else(|e| panic!("{e}"));
    let c = &loaded.config;
    assert_eq!(c.context, "staging");
    assert_eq!(c.refresh, Duration::from_secs(1));
    assert_eq!(c.theme, "light");
    assert_eq!(c.clickhouse.url, "http://ch.staging:8123");
    assert_eq!(c.kafka.bootstrap_servers, "shared:9092", "not overridden");
    assert!(
        c.pipelines.is_empty(),
        "prod-eu's pipelines stay in prod-eu"
    );
}

#[test]
fn an_unknown_context_lists_the_known_ones() {
    let e = select_in(TWO_CONTEXTS, Some("prod-us"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pipetop.toml") && e.contains("prod-us") && e.contains("`prod-eu`, `staging`"),
        "{e}"
    );
    let text = TWO_CONTEXTS.replace(
        "default_context = \"prod-eu\"",
        "default_context = \"prod\"",
    );
    let e = select_in(&text, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3, key `default_context`: unknown context `prod`")
            && e.contains("`prod-eu`, `staging`"),
        "{e}"
    );
    let text = TWO_CONTEXTS.replace("default_context = \"prod-eu\"", "");
    let e = select_in(&text, None).unwrap_err().to_string();
    assert!(
        e.contains("no context chosen") && e.contains("`staging`"),
        "{e}"
    );
    let e = select_in("context = \"x\"\n", Some("x"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("defines no [contexts]"), "{e}");
}

#[test]
fn a_file_without_contexts_reads_as_before() {
    let text =
        "context = \"prod-eu\"\nrefresh = \"3s\"\n[kafka]\nbootstrap_servers = \"b1:9093\"\n";
    let loaded = select_in(text, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.context, None);
    assert!(loaded.contexts.names.is_empty());
    assert_eq!(loaded.config.context, "prod-eu");
    assert_eq!(loaded.config.refresh, Duration::from_secs(3));
    assert_eq!(loaded.config.kafka.bootstrap_servers, "b1:9093");
    let before = crate::config::Config::parse(text, Path::new("pipetop.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(format!("{before:?}"), format!("{:?}", loaded.config));
}

#[test]
fn an_error_inside_a_context_names_its_line_and_key() {
    let text = "[kafka]\nrequest_timeout = \"5s\"\n\n[contexts.prod-eu.kafka]\nrequest_timeout = \"soon\"\n";
    let e = select_in(text, Some("prod-eu")).unwrap_err().to_string();
    assert!(
        e.contains("pipetop.toml")
            && e.contains("line 5, key `contexts.prod-eu.kafka.request_timeout`")
            && e.contains("expected a duration"),
        "{e}"
    );
    let e = select_in("[contexts.a.clickhouse]\npasword = \"x\"\n", Some("a"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("pasword"), "{e}");
    let e = select_in("[contexts.a]\ncontext = \"b\"\n", Some("a"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 2, key `contexts.a.context`: not allowed"),
        "{e}"
    );
    let e = select_in("contexts = 3\n", None).unwrap_err().to_string();
    assert!(e.contains("line 1, key `contexts`"), "{e}");
}

#[test]
fn refused_settings_in_a_context_name_the_context_and_its_line() {
    let dir = temp_dir("refused");
    let path = dir.path().join("pipetop.toml");
    write(
        &path,
        "[alerts.rules.consumer_time_lag]\nwarn = 10\ncrit = 100\n\n[contexts.prod.alerts.rules.consumer_time_lag]\nwarn = 1000\n",
    );
    let e = load(Some(&path), Some("prod"), &FakeEnv(vec![]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("context prod") && e.contains("line 5") && e.contains("consumer_time_lag"),
        "{e}"
    );
}

#[test]
fn each_context_takes_its_secrets_from_the_environment() {
    let dir = temp_dir("secrets");
    let path = dir.path().join("pipetop.toml");
    write(&path, TWO_CONTEXTS);
    let env = FakeEnv(vec![
        ("PROD_KAFKA_PW", "kafka-hunter2".into()),
        ("PROD_CH_PW", "ch-hunter2".into()),
    ]);
    let loaded = load(Some(&path), None, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.clickhouse.password.expose(), "ch-hunter2");
    assert_eq!(
        loaded.config.kafka.properties["sasl.password"],
        "kafka-hunter2"
    );
    let printed = effective_toml(&loaded);
    assert!(
        !printed.contains("hunter2") && printed.contains("password = \"***\""),
        "{printed}"
    );
    assert!(printed.contains("context = \"prod-eu\""), "{printed}");
    // Staging needs neither variable.
    let loaded =
        load(Some(&path), Some("staging"), &FakeEnv(vec![])).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.config.clickhouse.password.is_empty());
    // A missing variable names the context.
    let e = load(Some(&path), Some("prod-eu"), &FakeEnv(vec![]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("context prod-eu") && e.contains("PROD"), "{e}");
}

#[test]
fn contexts_are_listed_with_the_default_marked() {
    let contexts =
        contexts_of(TWO_CONTEXTS, Path::new("pipetop.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        describe_contexts(&contexts, Some(Path::new("pipetop.toml"))),
        "prod-eu (default)\nstaging\n"
    );
    let none = contexts_of("", Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        describe_contexts(&none, Some(Path::new("x.toml"))),
        "no contexts in x.toml\n"
    );
}
