//! Names anyone can set, through the real binary: consumer group ids and a client.id with
//! terminal escape sequences, a newline, a bidi override, CJK and emoji, a zero-width space, a
//! backslash and 10,000 characters (`common::hostile_names`). `snapshot --json` keeps every one
//! exactly; the summary and the dashboard in tmux show them escaped, send none of their controls
//! to the terminal, and keep every row's columns where a plain row has them. The same for
//! ClickHouse database and table names and a failed insert's exception and query text
//! (`common::hostile_tables`), on 26.9 and on 18.16.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::hostile_names::{COMMITTED, HostileGroups, MESSAGES};
use common::hostile_tables::{BAD_VALUE, HostileTables};
use common::tmux::Tmux;
use pipetop::display_text::{columns, shown};

fn config_file(toml: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.toml", common::unique("hostile_names")));
    std::fs::write(&path, toml).unwrap();
    path
}

fn pipetop(config: &PathBuf, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pipetop"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PIPETOP_CONTEXT")
        .output()
        .expect("pipetop runs")
}

/// Every string anywhere in a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Text a terminal may safely get: no control character but the newline, nothing invisible.
fn assert_inert(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || matches!(c, '\u{200b}' | '\u{202a}'..='\u{202e}')),
            "{c:?} reached the terminal in:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_json_keeps_every_name_and_the_summary_shows_them_escaped() {
    common::needs!(Kafka, ClickHouse);
    let hostile = HostileGroups::create().await;
    let config = config_file(&hostile.config_toml(common::CLICKHOUSE));

    let out = pipetop(&config, &["snapshot", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let groups = json["model"]["kafka"]["groups"].as_array().unwrap();
    let mut ids: Vec<&str> = groups
        .iter()
        .map(|g| g["group_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = hostile.all_groups();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every id, byte for byte");
    for g in groups {
        if g["group_id"] != hostile.member_group.as_str() {
            assert_eq!(
                g["total_lag"],
                MESSAGES as i64 - COMMITTED,
                "{}",
                g["group_id"]
            );
        }
        assert_eq!(g["topics"][0], hostile.topic.as_str());
    }
    let mut all = Vec::new();
    strings(&json, &mut all);
    assert!(
        all.contains(&hostile.client_id),
        "the member's client.id is in the JSON exactly"
    );

    let out = pipetop(&config, &["snapshot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8(out.stdout).expect("UTF-8");
    assert_inert(&summary);
    let rows: Vec<&str> = summary
        .lines()
        .skip_while(|l| !l.starts_with("consumer groups"))
        .filter(|l| l.contains(&hostile.tag))
        .collect();
    assert_eq!(rows.len(), 5, "the five worst groups:\n{summary}");
    for row in rows {
        let named: Vec<&str> = hostile
            .all_groups()
            .into_iter()
            .filter(|g| row.contains(&*shown(g)))
            .collect();
        assert!(!named.is_empty(), "a row names no group as shown: {row}");
    }
    let _ = std::fs::remove_file(&config);
}

/// Rows of the list that name one of the groups (the breadcrumb's alert summary may name one too).
fn list_rows(screen: &str, tag: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.starts_with('│') && l.contains(tag))
        .count()
}

/// `capture-pane -e` shows only the sequences tmux itself uses to draw cells: SGR (`ESC [ … m`).
fn assert_only_sgr(bytes: &[u8]) {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == 0x1b) {
        let sequence = &rest[at..];
        let end = sequence
            .iter()
            .skip(2)
            .position(|b| !(b.is_ascii_digit() || *b == b';' || *b == b':'))
            .map(|p| p + 2);
        assert!(
            sequence.get(1) == Some(&b'[') && end.is_some_and(|e| sequence[e] == b'm'),
            "an escape sequence other than SGR: {:?}",
            String::from_utf8_lossy(&sequence[..sequence.len().min(24)])
        );
        rest = &sequence[end.unwrap() + 1..];
    }
}

/// The row's text from terminal column `from` on (CJK and emoji take two columns, a ZWJ emoji
/// sequence two in all: widths of whole prefixes, as the terminal joins them).
fn from_column(row: &str, from: usize) -> &str {
    row.char_indices()
        .map(|(i, _)| i)
        .find(|&i| columns(&row[..i]) >= from)
        .map_or("", |i| &row[i..])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_hostile_names_escaped_in_their_columns() {
    common::needs!(Kafka, ClickHouse, Tmux);
    let hostile = HostileGroups::create().await;
    let config = config_file(&hostile.config_toml(common::CLICKHOUSE));
    let binary = env!("CARGO_BIN_EXE_pipetop");
    let tmux = Tmux::start(
        200,
        50,
        &format!(
            "env -u PIPETOP_CONTEXT {binary} --config {}; sleep 30",
            config.display()
        ),
    );
    let title_before = tmux.title();
    // Keys typed before the dashboard is up would reach a terminal still in canonical mode.
    tmux.wait_for("Consumer groups");
    tmux.keys(&[":groups", "Enter"]);
    let plain = format!("{}plain", hostile.tag);
    let screen = tmux.wait_until("for every group in the groups view", |s| {
        s.contains("› groups") && s.contains(&plain) && list_rows(s, &hostile.tag) == 10
    });

    // Each name as shown; the 10,000-character one cut with an ellipsis.
    for group in &hostile.groups[..hostile.groups.len() - 1] {
        assert!(
            screen.contains(&*shown(group)),
            "{group:?} not shown:\n{screen}"
        );
    }
    assert!(screen.contains("LLLL…"), "{screen}");
    assert_inert(&screen);

    // Columns: the header's STATUS column starts where every row's second cell starts, and the
    // committed groups (same lag, same state) read the same from there on.
    let header = screen.lines().find(|l| l.contains("GROUP")).unwrap();
    let status_at = columns(&header[..header.find("STATUS").unwrap()]);
    let rows: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with('│') && l.contains(&hostile.tag))
        .filter(|l| !l.contains(&format!("{}member", hostile.tag)))
        .collect();
    assert_eq!(rows.len(), 9, "{screen}");
    let plain_row = rows.iter().find(|r| r.contains(&plain)).unwrap();
    let tail = from_column(plain_row, status_at);
    assert!(
        tail.starts_with("LAG") || tail.starts_with(char::is_alphabetic),
        "{tail}"
    );
    for row in &rows {
        assert_eq!(
            columns(row),
            columns(plain_row),
            "row width:\n{row}\n{plain_row}"
        );
        assert_eq!(
            from_column(row, status_at),
            tail,
            "columns moved:\n{row}\n{plain_row}"
        );
    }

    assert_only_sgr(&tmux.screen_with_escapes());
    let title = tmux.title();
    assert!(
        !title.contains("pwned"),
        "the title was set by a name: {title}"
    );
    assert_eq!(title, title_before);

    // The filter matches what the screen shows, escapes and all.
    let red_filter = "x1b\\[31mred";
    tmux.keys(&["/", red_filter, "Enter"]);
    let screen = tmux.wait_until("for the filter", |s| list_rows(s, &hostile.tag) == 1);
    assert!(
        screen.contains(&*shown(&hostile.groups[1])),
        "the red group is kept:\n{screen}"
    );

    // The member's client.id in the group's own screen.
    // The prompt starts with the filter in force: erase it first.
    let erase = vec!["BSpace"; red_filter.len()];
    tmux.keys(&[&["/"], &erase[..], &["member$", "Enter"]].concat());
    tmux.wait_until("for the member group alone", |s| {
        list_rows(s, &hostile.tag) == 1
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Members");
    let client = shown(&hostile.client_id);
    let client = client.trim_end_matches("\\n");
    let screen = if screen.contains(client) {
        screen
    } else {
        tmux.wait_for(client)
    };
    assert_inert(&screen);
    assert_only_sgr(&tmux.screen_with_escapes());
    assert_eq!(tmux.title(), title_before, "the client.id set the title");
    tmux.keys(&["q"]);
    let _ = std::fs::remove_file(&config);
}

async fn clickhouse_names_keep_exactly_and_show_escaped(url: &str, legacy: bool) {
    let hostile = HostileTables::create(url).await;
    let config = config_file(&hostile.config_toml());

    let out = pipetop(&config, &["snapshot", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let clickhouse = &json["model"]["clickhouse"];
    let tables: Vec<&str> = clickhouse["health"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .filter(|t| t.starts_with(&hostile.tag))
        .collect();
    for table in &hostile.tables {
        assert!(
            tables.contains(&table.as_str()),
            "{table:?}, byte for byte:\n{clickhouse}"
        );
    }
    // One row a table: inserts counted from query_log (names quoted there on 26.9, read from the
    // query text on 18.16) land on the same row as the parts.
    assert_eq!(tables.len(), hostile.tables.len(), "{tables:?}");
    let failures = clickhouse["failed_inserts"].as_array().unwrap();
    let failure = failures
        .iter()
        .find(|f| f["table"] == hostile.tables[0].as_str())
        .unwrap_or_else(|| panic!("no failed insert into the hostile table:\n{clickhouse}"));
    // 26.9 quotes the bad value in its exception; 18.16 says only "Got: String", and its
    // query_log keeps the query without its VALUES data.
    if !legacy {
        let exception = failure["latest_exception"].as_str().unwrap();
        assert!(
            exception.contains(BAD_VALUE),
            "escapes and all: {exception:?}"
        );
    }

    let out = pipetop(&config, &["snapshot"]);
    let summary = String::from_utf8(out.stdout).expect("UTF-8");
    assert_inert(&summary);
    assert!(summary.contains(&*shown(&hostile.tables[0])), "{summary}");

    let binary = env!("CARGO_BIN_EXE_pipetop");
    let tmux = Tmux::start(
        200,
        50,
        &format!(
            "env -u PIPETOP_CONTEXT {binary} --config {}; sleep 30",
            config.display()
        ),
    );
    let title_before = tmux.title();
    tmux.wait_for("Consumer groups");
    tmux.keys(&[":tables", "Enter"]);
    tmux.wait_for("› tables");
    tmux.keys(&["/", &hostile.tag, "Enter"]);
    let screen = tmux.wait_until("for the hostile tables", |s| {
        s.contains("› tables") && list_rows(s, &hostile.tag) == tables.len()
    });
    assert!(screen.contains(&*shown(&hostile.tables[0])), "{screen}");
    assert!(
        screen.contains("bin\u{fffd}"),
        "the invalid byte, marked:\n{screen}"
    );
    assert!(
        screen.contains("LLLL…"),
        "the long name is cut with an ellipsis:\n{screen}"
    );
    assert_inert(&screen);
    tmux.keys(&[":failures", "Enter"]);
    tmux.wait_for("› failed inserts");
    tmux.keys(&["/", &hostile.tag, "Enter"]);
    let screen = tmux.wait_until("for the failed insert", |s| {
        s.contains("› failed inserts") && list_rows(s, &hostile.tag) == 1
    });
    assert_inert(&screen);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("exception");
    assert_inert(&screen);
    assert!(
        legacy || screen.contains("\\x1b[31mbad"),
        "the bad value, escaped:\n{screen}"
    );
    assert_only_sgr(&tmux.screen_with_escapes());
    assert_eq!(tmux.title(), title_before, "a name set the title");
    tmux.keys(&["q"]);
    let _ = std::fs::remove_file(&config);
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_names_on_26_9() {
    common::needs!(Kafka, ClickHouse, Tmux);
    clickhouse_names_keep_exactly_and_show_escaped(common::CLICKHOUSE, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_names_on_legacy_18_16() {
    common::needs!(Kafka, LegacyClickHouse, Tmux);
    clickhouse_names_keep_exactly_and_show_escaped(common::LEGACY_CLICKHOUSE, true).await;
}
