//! The dashboard's navigation as a user drives it (`App::apply` with the actions keys produce):
//! going back, filtering, sorting, selections that follow their row, contexts, and headers that
//! say what is down. The screens themselves are compared with snapshots in tests/ui_snapshots.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod ui_drive;

use std::sync::Arc;

use pipetop::ui::app::{Action, App, Mode};
use pipetop::ui::view::View;
use ui_drive::{apply, at, command, draw, lines, open_where, type_text};

#[test]
fn esc_goes_back_one_level_and_the_breadcrumb_shows_the_path() {
    let mut app = at("groups");
    open_where(
        &mut app,
        |v| matches!(v, View::Group { group } if group == "orders_enricher"),
    );
    // The breadcrumb wins over the alert summary, even at 80 columns.
    let screen = lines(&draw(&mut app, 80, 24));
    assert!(
        screen[1].contains("overview › groups › orders_enricher"),
        "breadcrumb: {:?}",
        screen[1]
    );
    apply(&mut app, [Action::Back]);
    assert_eq!(app.level().view, View::Groups);
    let screen = lines(&draw(&mut app, 80, 24));
    assert!(screen[1].contains("overview › groups"), "{:?}", screen[1]);
    assert!(
        !screen[1].contains("groups › orders_enricher"),
        "{:?}",
        screen[1]
    );
    apply(&mut app, [Action::Back]);
    assert_eq!(app.level().view, View::Overview);
    apply(&mut app, [Action::Back]);
    assert_eq!(app.stack.len(), 1, "Esc at the root stays at the root");
}

#[test]
fn filter_then_enter_on_the_overview_drills_into_the_filtered_group() {
    let mut app = fixtures::app();
    draw(&mut app, 80, 24);
    apply(&mut app, [Action::StartFilter]);
    type_text(&mut app, "clicks");
    apply(&mut app, [Action::Submit]);
    assert_eq!(app.mode, Mode::Normal);
    let screen = lines(&draw(&mut app, 80, 24)).join("\n");
    assert!(
        screen.contains("/clicks"),
        "the filter is shown on the panel:\n{screen}"
    );
    apply(&mut app, [Action::Open]);
    assert_eq!(
        app.level().view,
        View::Group {
            group: "clicks_loader".into()
        }
    );
    // Back at the overview the filter is still there; Esc at the root clears it.
    apply(&mut app, [Action::Back, Action::Back]);
    let screen = lines(&draw(&mut app, 80, 24)).join("\n");
    assert!(!screen.contains("/clicks"), "{screen}");
}

#[test]
fn sort_marker_appears_on_s_and_flips_on_shift_s() {
    let mut app = at("groups");
    let header = |app: &mut App| lines(&draw(app, 120, 30))[3].clone();
    assert!(!header(&mut app).contains('▲') && !header(&mut app).contains('▼'));
    apply(&mut app, [Action::SortNext]);
    assert!(header(&mut app).contains("GROUP▲"), "{}", header(&mut app));
    apply(&mut app, [Action::SortReverse]);
    assert!(header(&mut app).contains("GROUP▼"), "{}", header(&mut app));
    // Numeric columns start largest first; their marker sits left of the right-aligned title.
    apply(
        &mut app,
        [Action::SortNext, Action::SortNext, Action::SortNext],
    );
    assert!(header(&mut app).contains("▼MBR"), "{}", header(&mut app));
    let screen = lines(&draw(&mut app, 120, 30));
    let first = screen[4].clone();
    assert!(
        first.contains("clickhouse_group"),
        "3 members sorts first: {first}"
    );
    apply(&mut app, [Action::SortNext]);
    assert!(header(&mut app).contains("▼LAG"), "{}", header(&mut app));
    let screen = lines(&draw(&mut app, 120, 30));
    assert!(
        screen[4].contains("orders_enricher"),
        "largest lag first: {}",
        screen[4]
    );
    apply(&mut app, [Action::SortReverse]);
    assert!(header(&mut app).contains("▲LAG"), "{}", header(&mut app));
}

#[test]
fn selection_follows_its_row_when_the_model_re_sorts() {
    let (mut session, mut kafka) = fixtures::session();
    let mut app = at("groups");
    // Sort by LAG, largest first, and select clicks_loader.
    apply(&mut app, [Action::SortNext; 5]);
    let row_of = |app: &mut App, name: &str| {
        lines(&draw(app, 120, 30))
            .iter()
            .position(|l| l.contains(name))
            .unwrap()
    };
    open_where(
        &mut app,
        |v| matches!(v, View::Group { group } if group == "clicks_loader"),
    );
    apply(&mut app, [Action::Back]);
    let before = row_of(&mut app, "clicks_loader");

    // clicks gets a burst of a million messages: clicks_loader jumps to the top of the LAG sort.
    let mut snap = fixtures::kafka_snapshot(fixtures::POLLS);
    for p in &mut snap
        .topics
        .iter_mut()
        .find(|t| t.name == "clicks")
        .unwrap()
        .partitions
    {
        p.end_offset = p.end_offset.map(|e| e + 1_000_000);
    }
    kafka.record(Ok(snap), fixtures::t(fixtures::POLLS));
    session.ingest(Some(kafka), None);
    app.set_model(Arc::clone(session.model()));
    let after = row_of(&mut app, "clicks_loader");
    assert!(after < before, "the row moved up ({before} → {after})");
    apply(&mut app, [Action::Open]);
    assert_eq!(
        app.level().view,
        View::Group {
            group: "clicks_loader".into()
        },
        "Enter opens the row the selection followed"
    );
}

#[test]
fn rendering_is_deterministic() {
    let a = lines(&draw(&mut fixtures::app(), 160, 48));
    let b = lines(&draw(&mut fixtures::app(), 160, 48));
    assert_eq!(a, b);
}

/// A broker that left the cluster metadata is counted in the header, never just subtracted:
/// "kafka 2 brokers" would read as healthy.
#[test]
fn the_header_says_how_many_brokers_are_down_of_how_many() {
    let (mut session, mut kafka) = fixtures::session();
    let mut snap = fixtures::kafka_snapshot(fixtures::POLLS);
    snap.brokers.retain(|b| b.id != 3);
    for b in snap.broker_health.iter_mut().filter(|b| b.id == 3) {
        b.in_metadata = false;
        b.host = None;
    }
    kafka.record(Ok(snap), fixtures::t(fixtures::POLLS));
    session.ingest(Some(kafka), None);
    let mut app = fixtures::app_with(Arc::clone(session.model()), fixtures::now());
    let header = lines(&draw(&mut app, 120, 30))[0].clone();
    assert!(header.contains("kafka brokers 2/3, 1 down"), "{header}");
    let summary = pipetop::report::summary("prod-eu", session.model());
    assert!(
        summary.starts_with("pipetop prod-eu: kafka brokers 2/3, 1 down (3), "),
        "{summary}"
    );
}

/// `:ctx` lists the contexts (the shown one bracketed), `:ctx NAME` (Tab completes the name) asks
/// for a switch, and the switch leaves nothing of the old context: the overview from the new
/// model, no drill-down, filter or pause, and the new name in the header in the theme's accent.
#[test]
fn ctx_lists_and_switches_contexts_leaving_nothing_of_the_old_one() {
    let mut app = fixtures::app();
    command(&mut app, "ctx");
    assert_eq!(
        app.notice.as_deref(),
        Some("no contexts: the config file has no [contexts]")
    );
    app.contexts = vec!["prod-eu".into(), "staging".into()];
    command(&mut app, "ctx");
    let notice = app.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("[prod-eu]") && notice.contains("staging"),
        "{notice}"
    );
    command(&mut app, "ctx prod-us");
    let notice = app.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("prod-us") && notice.contains("prod-eu, staging"),
        "{notice}"
    );
    assert_eq!(app.switch_to, None);

    // The old context's screen: a group drilled into, a filter, paused.
    command(&mut app, "groups");
    apply(&mut app, [Action::StartFilter]);
    type_text(&mut app, "orders");
    apply(&mut app, [Action::Submit]);
    open_where(&mut app, |v| matches!(v, View::Group { .. }));
    apply(&mut app, [Action::TogglePause]);
    let before = lines(&draw(&mut app, 160, 48)).join("\n");
    assert!(before.contains("orders"), "{before}");

    apply(&mut app, [Action::StartCommand]);
    type_text(&mut app, "ctx st");
    apply(&mut app, [Action::Complete]);
    assert_eq!(
        app.mode,
        Mode::Command {
            input: "ctx staging".into()
        }
    );
    apply(&mut app, [Action::Submit]);
    assert_eq!(app.switch_to.as_deref(), Some("staging"));

    // What the event loop does once the new collectors and session are started: the new
    // context's first model, before any poll (its own pipelines, no data yet).
    let generation = app.generation;
    let staging = pipetop::config::Config::default();
    let first = Arc::clone(pipetop::session::Session::new(&staging).model());
    app.switch_context("staging", std::time::Duration::from_secs(5), first);
    assert_eq!(app.switch_to, None);
    assert_eq!(app.context, "staging");
    assert_eq!(app.stack.len(), 1);
    assert_eq!(app.level().view, View::Overview);
    assert!(app.level().lists.iter().all(|l| l.filter.is_none()));
    assert!(!app.paused && app.mode == Mode::Normal);
    assert!(app.generation > generation);
    let terminal = draw(&mut app, 160, 48);
    let after = lines(&terminal).join("\n");
    assert!(after.starts_with(" pipetop staging "), "{after}");
    assert!(
        !after.contains("orders"),
        "old context's data on screen:\n{after}"
    );
    let cell = &terminal.backend().buffer()[(9, 0)];
    assert_eq!(cell.symbol(), "s");
    assert_eq!(
        cell.style().fg,
        app.theme.accent.fg,
        "context in the accent"
    );
}

/// One ClickHouse host of two down: the source is up (the other answers), so the header says how
/// many hosts answer, which one is DOWN and how old its last answer is; the tables panel says why
/// that host's tables are missing.
#[test]
fn the_header_says_which_clickhouse_host_is_down_and_since_when() {
    use pipetop::clickhouse::snapshot::{HostOutcome, HostSnapshot};
    let (mut session, _) = fixtures::session();
    let mut ch = pipetop::source::SourceStatus::default();
    let two_hosts = |n: u64, second_down: bool| {
        let mut snap = fixtures::clickhouse_snapshot(n);
        let first = snap.hosts[0].snapshot().unwrap().clone();
        let second = HostSnapshot {
            host: "http://ch-2.prod:8123".to_string(),
            ..first
        };
        snap.hosts.push(if second_down {
            HostOutcome::Failed {
                host: second.host,
                error: "timed out: no whole answer within 3s".to_string(),
            }
        } else {
            HostOutcome::Ok(Box::new(second))
        });
        snap
    };
    // Answered at poll 0, down from poll 1 on; the frame is drawn at poll POLLS - 1 plus 1 s.
    for n in 0..fixtures::POLLS {
        ch.record(Ok(two_hosts(n, n > 0)), fixtures::t(n));
        session.ingest(None, Some(ch.clone()));
    }
    let mut app = fixtures::app_with(Arc::clone(session.model()), fixtures::now());
    let screen = lines(&draw(&mut app, 160, 48));
    let age = fixtures::now()
        .duration_since(fixtures::t(0))
        .unwrap()
        .as_secs();
    let header = &screen[0];
    assert!(
        header.contains(&format!(
            "hosts 1/2, 1 down http://ch-2.prod:8123 DOWN {age}s"
        )),
        "{header}"
    );
    assert!(
        screen.iter().any(|l| l
            .contains("http://ch-2.prod:8123 DOWN: timed out: no whole answer within 3s")),
        "{}",
        screen.join("\n")
    );
}
