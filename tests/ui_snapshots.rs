//! Every screen rendered from fixed model data (tests/fixtures) into a TestBackend and compared
//! with the insta snapshots in tests/snapshots/, plus behaviour tests of the navigation.
//! Navigation goes through `App::apply` with the actions keys produce, as a user would.
//!
//! Update the snapshots after a deliberate UI change with
//! `INSTA_UPDATE=always cargo test --test ui_snapshots` (or `cargo insta review`), then read them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod ui_drive;

use std::sync::Arc;

use pipetop::ui::app::{Action, App, Mode};
use pipetop::ui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ui_drive::{apply, at, command, draw, lines, open_where, type_text};

const SIZES: &[(u16, u16)] = &[(80, 24), (160, 48)];

fn snapshot_sizes(name: &str, mut setup: impl FnMut() -> App) {
    for &(w, h) in SIZES {
        let mut app = setup();
        let terminal = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

// ---------------------------------------------------------------------------------------------
// Every screen at 80×24 and 160×48

#[test]
fn overview() {
    snapshot_sizes("overview", fixtures::app);
}

#[test]
fn groups() {
    snapshot_sizes("groups", || at("groups"));
}

#[test]
fn group_detail_stopped() {
    snapshot_sizes("group_detail_stopped", || {
        let mut app = at("groups");
        open_where(
            &mut app,
            |v| matches!(v, View::Group { group } if group == "orders_enricher"),
        );
        app
    });
}

#[test]
fn group_detail_never_committed() {
    snapshot_sizes("group_detail_never_committed", || {
        let mut app = at("groups");
        open_where(
            &mut app,
            |v| matches!(v, View::Group { group } if group == "clicks_loader"),
        );
        app
    });
}

#[test]
fn group_detail_empty_group() {
    snapshot_sizes("group_detail_empty_group", || {
        let mut app = at("groups");
        open_where(
            &mut app,
            |v| matches!(v, View::Group { group } if group == "audit_archiver"),
        );
        app
    });
}

#[test]
fn topics() {
    snapshot_sizes("topics", || at("topics"));
}

#[test]
fn topic_detail() {
    snapshot_sizes("topic_detail_under_replicated", || {
        let mut app = at("topics");
        open_where(
            &mut app,
            |v| matches!(v, View::Topic { topic } if topic == "orders"),
        );
        app
    });
}

#[test]
fn tables() {
    snapshot_sizes("tables", || at("tables"));
}

fn raw_samples(app: &mut App) {
    open_where(
        app,
        |v| matches!(v, View::Table { table, .. } if table == "raw_samples"),
    );
}

#[test]
fn table_detail() {
    snapshot_sizes("table_detail_too_many_parts", || {
        let mut app = at("tables");
        raw_samples(&mut app);
        app
    });
}

#[test]
fn partition_parts() {
    snapshot_sizes("partition_parts", || {
        let mut app = at("tables");
        raw_samples(&mut app);
        open_where(
            &mut app,
            |v| matches!(v, View::Partition { partition_id, .. } if partition_id == "202611"),
        );
        app
    });
}

#[test]
fn failures() {
    snapshot_sizes("failures", || at("failures"));
}

#[test]
fn failure_detail() {
    snapshot_sizes("failure_detail_long_exception", || {
        let mut app = at("failures");
        open_where(
            &mut app,
            |v| matches!(v, View::Failure { key } if key.contains("events_dedup")),
        );
        app
    });
}

#[test]
fn merges() {
    snapshot_sizes("merges", || at("merges"));
}

#[test]
fn consumers() {
    snapshot_sizes("consumers", || at("consumers"));
}

#[test]
fn consumer_detail() {
    snapshot_sizes("consumer_detail", || {
        let mut app = at("consumers");
        open_where(&mut app, |v| matches!(v, View::Consumer { .. }));
        app
    });
}

#[test]
fn errors() {
    snapshot_sizes("errors", || at("errors"));
}

#[test]
fn alerts() {
    snapshot_sizes("alerts", || at("alerts"));
}

#[test]
fn events() {
    snapshot_sizes("events", || at("events"));
}

/// `:self`: the latest Kafka poll's requests and phases, the base host's own load read back from
/// its query_log (fixtures/own_load.rs) against the budget, and each section's share.
#[test]
fn own_load() {
    snapshot_sizes("self", || at("self"));
}

/// The replicated pair (fixtures/replication.rs): `:replicas`, a replicated table's drill-down
/// with its replicas, and the overview's line per host.
#[test]
fn replicas() {
    let replicated =
        || fixtures::app_with(fixtures::replication::replicated_model(), fixtures::now());
    snapshot_sizes("replicas", || {
        let mut app = replicated();
        command(&mut app, "replicas");
        app
    });
    snapshot_sizes("replicas_table_detail", || {
        let mut app = replicated();
        command(&mut app, "replicas");
        open_where(
            &mut app,
            |v| matches!(v, View::Table { table, .. } if table == "events"),
        );
        app
    });
    snapshot_sizes("replicas_overview", replicated);
}

/// Two hosts' resources (fixtures/resources.rs): `:disks` (memory per host, a disk filling with
/// its time until full, an object-storage disk without a total), `:distribution` (a queue with
/// broken files and its exception) and the overview's line per host with disk free and memory.
#[test]
fn resources() {
    let model = || fixtures::app_with(fixtures::resources::resources_model(), fixtures::now());
    snapshot_sizes("disks", || {
        let mut app = model();
        command(&mut app, "disks");
        app
    });
    snapshot_sizes("distribution", || {
        let mut app = model();
        command(&mut app, "distribution");
        app
    });
    snapshot_sizes("resources_overview", model);
}

/// The Kafka-engine chain (fixtures/kafka_chain.rs): a view's target drills into its chain with
/// the failing view marked and its exception, the server's Kafka counters under it; the pipeline
/// strip marks the failing view on the pipeline through that target.
#[test]
fn kafka_chain() {
    let model = || fixtures::app_with(fixtures::kafka_chain::chain_model(), fixtures::now());
    snapshot_sizes("kafka_chain_table_detail", || {
        let mut app = model();
        app.open(View::Table {
            database: "kafka_engine".to_string(),
            table: "events".to_string(),
        });
        app
    });
    snapshot_sizes("kafka_chain_overview", model);
}

// ---------------------------------------------------------------------------------------------
// Overlays, prompts, states

#[test]
fn help_overlay() {
    snapshot_sizes("help", || {
        let mut app = fixtures::app();
        apply(&mut app, [Action::ToggleHelp]);
        app
    });
}

/// `pipetop replay`: the cursor's time, state and speed first in the header, its keys first in
/// the hint bar, and in `?`.
#[test]
fn replay_cursor_in_header_hints_and_help() {
    let replay = pipetop::ui::app::ReplayClock {
        at: fixtures::t(fixtures::POLLS - 1),
        playing: true,
        speed: 10,
        at_end: false,
    };
    snapshot_sizes("replay", || {
        let mut app = fixtures::app();
        app.replay = Some(replay);
        app
    });
    snapshot_sizes("replay_help", || {
        let mut app = fixtures::app();
        app.replay = Some(replay);
        apply(&mut app, [Action::ToggleHelp]);
        app
    });
}

#[test]
fn filter_prompt_bad_regex() {
    snapshot_sizes("filter_bad_regex", || {
        let mut app = fixtures::app();
        apply(&mut app, [Action::StartFilter]);
        type_text(&mut app, "orders(");
        apply(&mut app, [Action::Submit]);
        assert!(
            matches!(&app.mode, Mode::Filter { error: Some(_), .. }),
            "a bad regex keeps the prompt open with its error"
        );
        app
    });
}

#[test]
fn filter_applied() {
    snapshot_sizes("filter_applied", || {
        let mut app = at("groups");
        apply(&mut app, [Action::StartFilter]);
        type_text(&mut app, "!^clickhouse");
        apply(&mut app, [Action::Submit]);
        app
    });
}

#[test]
fn command_prompt_completion() {
    snapshot_sizes("command_completion", || {
        let mut app = fixtures::app();
        apply(&mut app, [Action::StartCommand]);
        type_text(&mut app, "t");
        app
    });
    snapshot_sizes("command_completion_tab", || {
        let mut app = fixtures::app();
        apply(&mut app, [Action::StartCommand]);
        type_text(&mut app, "ta");
        apply(&mut app, [Action::Complete]);
        assert_eq!(
            app.mode,
            Mode::Command {
                input: "tables".into()
            }
        );
        app
    });
}

#[test]
fn unknown_command_notice() {
    snapshot_sizes("unknown_command", || {
        let mut app = fixtures::app();
        command(&mut app, "nope");
        app
    });
}

#[test]
fn paused() {
    snapshot_sizes("paused", || {
        let mut app = fixtures::app();
        apply(&mut app, [Action::TogglePause]);
        app
    });
}

/// Paused while a poll runs that let go of the model's snapshots: the next model is frozen, and
/// the header says so until then.
#[test]
fn pausing_at_the_next_poll() {
    snapshot_sizes("pausing", || {
        let mut app = fixtures::app();
        fixtures::let_go_published();
        apply(&mut app, [Action::TogglePause]);
        app
    });
}

#[test]
fn clickhouse_down() {
    let down = || {
        let (model, now) = fixtures::model_clickhouse_down();
        fixtures::app_with(model, now)
    };
    snapshot_sizes("clickhouse_down_overview", down);
    snapshot_sizes("clickhouse_down_tables", || {
        let mut app = down();
        command(&mut app, "tables");
        app
    });
}

#[test]
fn empty_model() {
    snapshot_sizes("empty_overview", || {
        fixtures::app_with(fixtures::model_empty(), fixtures::now())
    });
    snapshot_sizes("empty_groups", || {
        let mut app = fixtures::app_with(fixtures::model_empty(), fixtures::now());
        command(&mut app, "groups");
        app
    });
}

#[test]
fn tiny_sizes_do_not_panic() {
    type MakeApp = fn() -> App;
    let screens: &[(&str, MakeApp)] = &[
        ("overview", fixtures::app),
        ("group", || {
            let mut app = at("groups");
            open_where(
                &mut app,
                |v| matches!(v, View::Group { group } if group == "orders_enricher"),
            );
            app
        }),
        ("failure", || {
            let mut app = at("failures");
            open_where(&mut app, |v| matches!(v, View::Failure { .. }));
            app
        }),
        ("help", || {
            let mut app = fixtures::app();
            apply(&mut app, [Action::ToggleHelp]);
            app
        }),
    ];
    for (name, setup) in screens {
        for (w, h) in [(20, 5), (40, 10), (1, 1)] {
            let mut app = setup();
            let terminal = draw(&mut app, w, h);
            if *name == "overview" || *name == "group" {
                insta::assert_snapshot!(format!("tiny_{name}_{w}x{h}"), terminal.backend());
            }
        }
    }
    // Every other size from 1×1 up, on the busiest screen: no panic, no overflow.
    for w in [1, 2, 3, 5, 8, 13, 21, 34, 55] {
        for h in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13] {
            let mut app = fixtures::app();
            draw(&mut app, w, h);
            apply(&mut app, [Action::ToggleHelp]);
            draw(&mut app, w, h);
        }
    }
}

/// Every cell of the screen as drawn: no control character, no bidi override or zero-width space
/// (ratatui drops controls, but appends a zero-width character to the cell before it and so sends
/// it to the terminal).
fn assert_nothing_hidden(terminal: &Terminal<TestBackend>) {
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().contains(
                |c: char| c.is_control() || matches!(c, '\u{200b}' | '\u{202a}'..='\u{202e}')
            ),
            "{:?} is drawn",
            cell.symbol()
        );
    }
}

fn hostile_groups_app() -> App {
    let mut app = fixtures::app_with(fixtures::hostile_model(), fixtures::now());
    command(&mut app, "groups");
    app
}

#[test]
fn hostile_names_are_shown_escaped_and_cut_in_their_column() {
    snapshot_sizes("hostile_groups", hostile_groups_app);
    for &(w, h) in SIZES {
        let mut app = hostile_groups_app();
        let terminal = draw(&mut app, w, h);
        assert_nothing_hidden(&terminal);
        let screen = lines(&terminal).join("\n");
        assert!(screen.contains("\\x1b[31mred"), "{screen}");
        assert!(
            screen.contains("L…"),
            "the long id is cut with an ellipsis:\n{screen}"
        );
    }
}

#[test]
fn a_hostile_member_is_shown_escaped() {
    snapshot_sizes("hostile_member", || {
        let mut app = hostile_groups_app();
        open_where(
            &mut app,
            |v| matches!(v, View::Group { group } if group.starts_with("member")),
        );
        app
    });
    let mut app = hostile_groups_app();
    open_where(
        &mut app,
        |v| matches!(v, View::Group { group } if group.starts_with("member")),
    );
    let terminal = draw(&mut app, 160, 48);
    assert_nothing_hidden(&terminal);
    let screen = lines(&terminal).join("\n");
    assert!(screen.contains("cli\\x1b[2Jent\\n"), "{screen}");
    assert!(screen.contains("host\\u{202e}1"), "{screen}");
}

// ---------------------------------------------------------------------------------------------
// History: charts in the drill-downs, sparklines in the lists (fixtures::history: a consumer
// that stops and resumes, a table whose parts pile up, over 14 minutes)

fn history_at(name: &str) -> App {
    let mut app = fixtures::history::app();
    command(&mut app, name);
    app
}

fn history_group() -> App {
    let mut app = history_at("groups");
    open_where(
        &mut app,
        |v| matches!(v, View::Group { group } if group == "orders_enricher"),
    );
    app
}

fn history_table() -> App {
    let mut app = history_at("tables");
    raw_samples(&mut app);
    app
}

#[test]
fn group_chart() {
    snapshot_sizes("history_group_chart", history_group);
}

#[test]
fn group_chart_zoomed_in_and_out() {
    let mut app = history_group();
    apply(&mut app, [Action::ZoomIn]);
    insta::assert_snapshot!(
        "history_group_chart_5m_160x48",
        draw(&mut app, 160, 48).backend()
    );
    apply(&mut app, [Action::ZoomOut, Action::ZoomOut]);
    insta::assert_snapshot!(
        "history_group_chart_1h_160x48",
        draw(&mut app, 160, 48).backend()
    );
}

#[test]
fn table_chart() {
    snapshot_sizes("history_table_chart", history_table);
}

/// Just above the size where the whole screen gives way to the compact summary: each chart is
/// one line, a sparkline with its figures.
#[test]
fn charts_fall_back_to_sparkline_lines_on_tiny_terminals() {
    let mut app = history_group();
    let terminal = draw(&mut app, 60, 16);
    insta::assert_snapshot!("history_group_chart_tiny_60x16", terminal.backend());
    let screen = lines(&terminal).join("\n");
    assert!(screen.contains("drains in 42s"), "{screen}");
    let mut app = history_table();
    insta::assert_snapshot!(
        "history_table_chart_tiny_60x16",
        draw(&mut app, 60, 16).backend()
    );
}

#[test]
fn sparklines_in_the_lists() {
    for (name, view) in [
        ("groups", "groups"),
        ("tables", "tables"),
        ("overview", "overview"),
    ] {
        let mut app = history_at(view);
        insta::assert_snapshot!(
            format!("history_sparklines_{name}_160x48"),
            draw(&mut app, 160, 48).backend()
        );
        // At 80 columns the sparklines are the first columns to give way.
        let narrow = lines(&draw(&mut app, 80, 24)).join("\n");
        assert!(
            !narrow.contains("LAG 15m") && !narrow.contains("PARTS 15m"),
            "{narrow}"
        );
    }
}

/// The stopped-then-resumed consumer is draining at the end: the chart says when it will be
/// done; the table's parts grow steadily: the chart says when inserts will be rejected.
#[test]
fn projections_are_shown_when_the_trend_supports_them() {
    let screen = lines(&draw(&mut history_group(), 160, 48)).join("\n");
    assert!(!screen.contains("drains in –"), "{screen}");
    assert!(screen.contains("drains in "), "{screen}");
    let screen = lines(&draw(&mut history_table(), 160, 48)).join("\n");
    assert!(!screen.contains("reject in –"), "{screen}");
    // The fixture scenario's 20 polls of a stopped consumer: no drain to project.
    let mut app = at("groups");
    open_where(
        &mut app,
        |v| matches!(v, View::Group { group } if group == "orders_enricher"),
    );
    let screen = lines(&draw(&mut app, 160, 48)).join("\n");
    assert!(screen.contains("drains in –"), "{screen}");
}

/// Lines are braille, levels rows of `•`, and the legend names each, in every built-in theme and
/// without colour: nothing depends on telling two colours apart.
#[test]
fn charts_read_in_every_theme_and_without_colour() {
    use pipetop::ui::theme::{ColorDepth, Theme, builtin_names};
    for depth in [ColorDepth::TrueColor, ColorDepth::None] {
        for name in builtin_names() {
            let mut app = history_group();
            app.theme = Theme::load(name, depth).unwrap();
            let terminal = draw(&mut app, 160, 48);
            let screen = lines(&terminal).join("\n");
            for legend in ["time lag", "warn 30s", "crit 1m", "produced", "consumed"] {
                assert!(
                    screen.contains(legend),
                    "{name} {depth:?}: {legend}\n{screen}"
                );
            }
            assert!(screen.contains('•'), "{name} {depth:?}: no level drawn");
            assert!(
                screen
                    .chars()
                    .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
                "{name} {depth:?}: no line drawn"
            );
        }
    }
}

#[test]
fn zoom_keys_are_in_the_hint_bar_and_help_on_chart_views_only() {
    let mut app = history_group();
    let screen = lines(&draw(&mut app, 160, 48));
    assert!(screen[47].contains("z zoom 15m→1h"), "{:?}", screen[47]);
    assert!(screen.iter().any(|l| l.contains("History · last 15m")));
    apply(&mut app, [Action::ZoomOut]);
    let screen = lines(&draw(&mut app, 160, 48));
    assert!(screen[47].contains("z zoom 1h→5m"), "{:?}", screen[47]);
    assert!(screen.iter().any(|l| l.contains("History · last 1h")));
    apply(&mut app, [Action::ToggleHelp]);
    let help = lines(&draw(&mut app, 160, 48)).join("\n");
    assert!(
        help.contains("charts: zoom out / in (5m, 15m, 1h)"),
        "{help}"
    );
    let mut app = history_at("groups");
    let screen = lines(&draw(&mut app, 160, 48));
    assert!(!screen[47].contains("zoom"), "{:?}", screen[47]);
}

/// A group whose coordinator did not answer this poll shows its last figures marked stale with
/// their age, in the pipeline strip as in the groups list: never a fresh-looking status.
#[test]
fn a_pipeline_whose_group_was_not_read_this_poll_says_stale_with_its_age() {
    let (mut session, mut kafka) = fixtures::session();
    let mut snap = fixtures::kafka_snapshot(fixtures::POLLS);
    for g in snap
        .groups
        .iter_mut()
        .filter(|g| g.group_id == "orders_enricher")
    {
        // What the collector reports for a group whose coordinator is down: no members, no
        // commits, and why.
        g.committed.clear();
        g.members.clear();
        g.error = Some("coordinator 2 did not answer within 6s".into());
    }
    kafka.record(Ok(snap), fixtures::t(fixtures::POLLS));
    session.ingest(Some(kafka), None);
    let mut app = fixtures::app_with(
        Arc::clone(session.model()),
        fixtures::t(fixtures::POLLS) + std::time::Duration::from_secs(1),
    );
    let screen = lines(&draw(&mut app, 160, 48));
    let strip = screen
        .iter()
        .find(|l| l.contains("orders_enricher ▸"))
        .expect("the pipeline strip lists orders_enricher");
    assert!(strip.contains("stale 2s"), "{strip}");
    let listed = screen
        .iter()
        .skip_while(|l| !l.contains("Consumer groups"))
        .find(|l| l.contains("orders_enricher"))
        .expect("the groups list shows orders_enricher");
    assert!(listed.contains("stale 2s"), "{listed}");
}
