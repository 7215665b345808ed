//! Tests of `config`: parsing, defaults and the refusals.

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
    let c = parse("[[pipelines]]\ntopic = \"t\"\ngroup = \"g\"\ntables = [\"db.t\"]\n").unwrap();
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
        e.contains("line 2, key `clickhouse.section_time_limits.parts`: unknown section `parts`"),
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

#[test]
fn concurrent_queries_default_to_two_and_refuse_zero() {
    assert_eq!(parse("").unwrap().clickhouse.max_concurrent_queries, 2);
    let e = parse("[clickhouse]\nmax_concurrent_queries = 0\n")
        .unwrap()
        .validate(None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("clickhouse.max_concurrent_queries") && e.contains("1 to 64"),
        "{e}"
    );
}

#[test]
fn section_intervals_apply_only_to_sections_on_a_cadence() {
    let c = parse("[clickhouse.section_intervals]\ninserts = \"0s\"\ndisks = \"5m\"\n").unwrap();
    c.validate(None).unwrap();
    assert_eq!(
        c.clickhouse.section_intervals.get(&SectionId::Inserts),
        Some(&Duration::ZERO)
    );
    for (text, expected) in [
        ("merges = \"10s\"", "clickhouse.section_intervals.merges"),
        ("disks = \"2h\"", "at most 1h"),
        ("nonsense = \"1s\"", "unknown section `nonsense`"),
    ] {
        let e = match parse(&format!("[clickhouse.section_intervals]\n{text}\n")) {
            Ok(c) => c.validate(None).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(expected), "{text}: {e}");
    }
}
