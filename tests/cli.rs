//! The pipetop binary as scripts use it: `snapshot --json` and clear config errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::Command;

fn pipetop(args: &[&str]) -> std::process::Output {
    pipetop_with(args, &[])
}

/// pipetop with `env` set, and with `XDG_CONFIG_HOME` and `HOME` in an empty temporary directory
/// (unless `env` sets them) so the developer's own config file cannot leak into a test.
fn pipetop_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let home = common::scratch_dir("pipetop_home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_pipetop"));
    command
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env("HOME", home.path())
        .env_remove("PIPETOP_CONFIG")
        .env_remove("PIPETOP_CONTEXT");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("pipetop runs")
}

#[test]
fn snapshot_json_has_both_sources() {
    common::needs!(Kafka, ClickHouse);
    let out = pipetop(&["snapshot", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["rounds"], 1);
    let model = &v["model"];
    let snapshots = &v["snapshots"];
    assert!(
        snapshots["kafka"]["brokers"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
    );
    assert!(snapshots["clickhouse"]["server"]["version"].is_string());
    assert!(model["sources"]["kafka"]["last_good_at"].is_number());
    assert!(model["kafka"]["groups"].is_array());
    assert!(model["kafka"]["topics"].is_array());
    assert!(model["clickhouse"]["health"].is_array());
    assert!(model["pipelines"].is_array());
    assert!(model["alerts"]["active"].is_array());
    assert!(model["alerts"]["history"].is_array());
}

#[test]
fn unreachable_source_exits_non_zero_with_a_message() {
    common::needs!(Kafka);
    let out = pipetop(&["snapshot", "--json", "--clickhouse", "http://127.0.0.1:1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("clickhouse:"), "{stderr}");
    // Kafka still answered: its half of the snapshot is printed.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(v["snapshots"]["kafka"].is_object());
    assert!(v["model"]["sources"]["clickhouse"]["error"].is_object());
}

#[test]
fn snapshot_without_json_prints_a_summary() {
    common::needs!(Kafka, ClickHouse);
    let out = pipetop(&["snapshot"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("pipetop local: kafka "), "{stdout}");
    for part in [
        "alerts firing:",
        "consumer groups, worst first:",
        "ClickHouse tables, worst first:",
    ] {
        assert!(stdout.contains(part), "{part} missing from:\n{stdout}");
    }
    assert!(!stdout.trim_start().starts_with('{'), "not JSON: {stdout}");
}

/// `--window` means the same for `snapshot` and `check`: a round at once, then one per refresh,
/// the last no later than the window (3 s at 1 s: four rounds). Against closed ports, so it needs
/// no server: a failed round is still a round.
#[test]
fn snapshot_and_check_windows_agree() {
    let dir = common::scratch_dir("pipetop_window");
    let path = dir.path().join("closed.toml");
    std::fs::write(
        &path,
        "[kafka]\nbootstrap_servers = \"127.0.0.1:1\"\nrequest_timeout = \"1s\"\n\
         [clickhouse]\nurl = \"http://127.0.0.1:1\"\nquery_timeout = \"1s\"\n",
    )
    .unwrap();
    let config = ["--config", path.to_str().unwrap()];
    let window = ["--window", "3s", "--refresh", "1s"];
    let snapshot = pipetop(&[&config[..], &["snapshot", "--json"], &window].concat());
    let check = pipetop(&[&config[..], &["check", "--format", "json"], &window].concat());
    let s: serde_json::Value = serde_json::from_slice(&snapshot.stdout).expect("snapshot JSON");
    let c: serde_json::Value = serde_json::from_slice(&check.stdout).expect("check JSON");
    assert_eq!(s["rounds"], 4, "snapshot: {s}");
    assert_eq!(c["polls"], 4, "check: {c}");
    assert_eq!(c["status"], "UNKNOWN");
}

#[test]
fn bad_config_names_file_key_and_expectation() {
    let dir = common::scratch_dir("pipetop_cfg");
    let path = dir.path().join("pipetop.toml");
    std::fs::write(&path, "refresh = \"soon\"\n").unwrap();
    let out = pipetop(&["--config", path.to_str().unwrap(), "snapshot", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipetop.toml")
            && stderr.contains("refresh")
            && stderr.contains("expected a duration"),
        "{stderr}"
    );
}

#[test]
fn secrets_never_reach_the_output() {
    let dir = common::scratch_dir("pipetop_secret");
    let path = dir.path().join("pipetop.toml");
    std::fs::write(
        &path,
        "[clickhouse]\nurl = \"http://127.0.0.1:8123\"\npassword = \"hunter2-secret\"\n",
    )
    .unwrap();
    let out = pipetop(&["--config", path.to_str().unwrap(), "snapshot", "--json"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2-secret"));
}

#[test]
fn check_with_a_bad_config_is_unknown_not_critical() {
    let dir = common::scratch_dir("pipetop_check_cfg");
    let path = dir.path().join("pipetop.toml");
    std::fs::write(&path, "[alerts.rules.parts_pressure]\nwarnn = 5\n").unwrap();
    let out = pipetop(&["--config", path.to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("PIPETOP UNKNOWN") && stdout.contains("warnn"),
        "{stdout}"
    );
}

/// The `[clickhouse]` table filter and per-section time limits: an unknown section, a limit above
/// the query timeout and a bad pattern each stop pipetop with the file, key and what was expected.
#[test]
fn bad_clickhouse_filter_and_section_limits_are_config_errors() {
    let dir = common::scratch_dir("pipetop_ch_cfg");
    let path = dir.path().join("pipetop.toml");
    let cases = [
        (
            "[clickhouse.section_time_limits]\nparts = \"2s\"\n",
            &[
                "line 2, key `clickhouse.section_time_limits.parts`",
                "`freshness`",
                "`focused_parts`",
            ][..],
        ),
        (
            "[clickhouse]\nquery_timeout = \"5s\"\nsection_time_limits = { freshness = \"10s\" }\n",
            &[
                "clickhouse.section_time_limits.freshness",
                "up to clickhouse.query_timeout (5s)",
                "found 10s",
            ],
        ),
        (
            "[clickhouse]\ninclude_tables = [\"default.(events\"]\n",
            &[
                "line 2, key `clickhouse.include_tables`",
                "expected a regular expression",
            ],
        ),
    ];
    for (text, wanted) in cases {
        std::fs::write(&path, text).unwrap();
        let out = pipetop(&["--config", path.to_str().unwrap(), "snapshot", "--json"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pipetop.toml"), "{stderr}");
        for w in wanted {
            assert!(stderr.contains(w), "{w:?} missing: {stderr}");
        }
    }
}

/// Shell integration needs no config and no server: completion scripts for the three shells name
/// the subcommands, the man page is roff, and `--version` names the commit it was built from.
#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let out = pipetop(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["snapshot", "check", "window", "config", "completions"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // A config that cannot be read does not matter to either.
    let out = pipetop(&["--config", "/nonexistent/pipetop.toml", "man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH pipetop 1"), "{page}");
    assert!(page.contains("snapshot") && page.contains("check"));
    let out = pipetop(&["--version"]);
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.starts_with(&format!("pipetop {} (", env!("CARGO_PKG_VERSION")))
            && (version.contains("commit ") || version.contains("unknown commit")),
        "{version}"
    );
}

/// Stricter checks: thresholds in the wrong order and an unknown librdkafka property stop pipetop
/// before it connects anywhere (exit 2; `check`: 3, UNKNOWN) with the file, line and key, and never
/// print a property's value. No server needed.
#[test]
fn wrong_order_threshold_and_unknown_kafka_property_are_config_errors() {
    let dir = common::scratch_dir("pipetop_strict_cfg");
    let path = dir.path().join("pipetop.toml");
    let secret = "hunter2-secret";
    let cases = [
        (
            "context = \"x\"\n[alerts.rules.consumer_time_lag]\nwarn = 100\ncrit = 10\n"
                .to_string(),
            [
                "line 2, key `alerts.rules.consumer_time_lag`",
                "warn (100) must not be above crit (10)",
            ],
        ),
        (
            format!(
                "[kafka]\nrequest_timeout = \"1s\"\n[kafka.properties]\n\"foo.bar\" = \"{secret}\"\n"
            ),
            [
                "line 4, key `kafka.properties.\"foo.bar\"`",
                "No such configuration property",
            ],
        ),
    ];
    for (text, wanted) in cases {
        std::fs::write(&path, &text).unwrap();
        let config = ["--config", path.to_str().unwrap()];
        let out = pipetop(&[&config[..], &["snapshot", "--json"]].concat());
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("pipetop: config file "), "{stderr}");
        let check = pipetop(&[&config[..], &["check"]].concat());
        assert_eq!(check.status.code(), Some(3), "{text}");
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(
            stdout.starts_with("PIPETOP UNKNOWN - config file "),
            "{stdout}"
        );
        for message in [&stderr, &stdout] {
            assert!(message.contains("pipetop.toml"), "{message}");
            for w in wanted {
                assert!(message.contains(w), "{w:?} missing: {message}");
            }
            assert!(!message.contains(secret), "{message}");
        }
    }
}

const CONTEXTS: &str = r#"
default_context = "prod-eu"
refresh = "3s"

[kafka]
request_timeout = "7s"

[contexts.prod-eu.kafka]
bootstrap_servers = "prod-eu-kafka:9093"
properties = { "security.protocol" = "SASL_SSL", "sasl.mechanism" = "SCRAM-SHA-512", "sasl.username" = "monitor", "sasl.password" = "kafka-hunter2-secret" }

[contexts.prod-eu.clickhouse]
url = "https://ch.prod-eu:8443"
password = "ch-hunter2-secret"

[contexts.staging]
refresh = "9s"

[contexts.staging.clickhouse]
url = "http://ch.staging:8123"
password_env = "STAGING_CH_PASSWORD"
"#;

/// A config file with two contexts in a fresh directory; returns the directory.
fn contexts_home() -> tempfile::TempDir {
    let home = common::scratch_dir("pipetop_ctx_home");
    std::fs::create_dir_all(home.path().join("pipetop")).unwrap();
    std::fs::write(home.path().join("pipetop/config.toml"), CONTEXTS).unwrap();
    home
}

/// `config check` reads the default file, prints the default context's effective settings with
/// every secret masked and never a secret; `--context` and `PIPETOP_CONTEXT` pick another one.
/// No server needed.
#[test]
fn config_check_prints_the_chosen_context_with_secrets_masked() {
    let home = contexts_home();
    let xdg = home.path().to_str().unwrap();
    let env = [("XDG_CONFIG_HOME", xdg)];
    let out = pipetop_with(&["config", "check"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("hunter2"), "{stdout}");
    for wanted in [
        "pipetop/config.toml",
        "context = \"prod-eu\"",
        "refresh = \"3s\"",
        "bootstrap_servers = \"prod-eu-kafka:9093\"",
        "request_timeout = \"7s\"",
        "url = \"https://ch.prod-eu:8443\"",
        "password = \"***\"",
        "\"sasl.password\" = \"***\"",
        "\"sasl.username\" = \"monitor\"",
    ] {
        assert!(stdout.contains(wanted), "{wanted:?} missing: {stdout}");
    }

    let staging = [
        ("XDG_CONFIG_HOME", xdg),
        ("STAGING_CH_PASSWORD", "staging-hunter2-secret"),
    ];
    for out in [
        pipetop_with(&["--context", "staging", "config", "check"], &staging),
        pipetop_with(
            &["config", "check"],
            &[staging[0], staging[1], ("PIPETOP_CONTEXT", "staging")],
        ),
    ] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(!stdout.contains("hunter2"), "{stdout}");
        for wanted in [
            "context = \"staging\"",
            "refresh = \"9s\"",
            "url = \"http://ch.staging:8123\"",
            "password = \"***\"",
            "bootstrap_servers = \"localhost:9092\"",
        ] {
            assert!(stdout.contains(wanted), "{wanted:?} missing: {stdout}");
        }
    }

    // The file named on the command line wins over the default one.
    let other = home.path().join("other.toml");
    std::fs::write(&other, "context = \"other\"\n").unwrap();
    let out = pipetop_with(&["config", "check", other.to_str().unwrap()], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("context = \"other\""),
        "{stdout}"
    );

    let out = pipetop_with(&["config", "contexts"], &env);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "prod-eu (default)\nstaging\n"
    );
}

/// An unknown context, a missing secret variable and a bad value inside a context are config
/// errors: exit 2 (`check`: 3, UNKNOWN), naming the file, the context or key. No server needed.
#[test]
fn context_errors_exit_2_and_name_what_is_wrong() {
    let home = contexts_home();
    let xdg = home.path().to_str().unwrap();
    let env = [("XDG_CONFIG_HOME", xdg)];
    for args in [
        &["--context", "prod-us", "config", "check"][..],
        &["--context", "prod-us", "snapshot", "--json"],
    ] {
        let out = pipetop_with(args, &env);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("pipetop/config.toml")
                && stderr.contains("prod-us")
                && stderr.contains("`prod-eu`, `staging`"),
            "{stderr}"
        );
    }
    let out = pipetop_with(&["--context", "prod-us", "check"], &env);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("PIPETOP UNKNOWN - config file "));

    let out = pipetop_with(&["--context", "staging", "config", "check"], &env);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("context staging") && stderr.contains("STAGING_CH_PASSWORD"),
        "{stderr}"
    );

    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[contexts.a.kafka]\nbootstrap_servers = \"k:9092\"\nrequest_timeout = \"soon\"\n",
    )
    .unwrap();
    let out = pipetop_with(
        &["--context", "a", "config", "check", bad.to_str().unwrap()],
        &env,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("line 3, key `contexts.a.kafka.request_timeout`"),
        "{stderr}"
    );
}
