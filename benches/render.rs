//! Render cost of one frame with a 20,000-partition consumer group at 200×60 (target ≤ 2 ms).
//!
//!   cargo bench --bench render
//!
//! - `warm`: the model did not change since the last frame, so the lists reuse their cached
//!   order (what every keypress and age tick costs);
//! - `cold`: the model generation was bumped before the frame, so the focused list re-filters and
//!   re-sorts its 20,000 rows (the first frame after each poll);
//! - `session_ingest_kafka`: the session update for that poll, off the UI (for context);
//! - `frame_200x60_names`: the groups list of the fixture model with plain names, and with the
//!   hostile ones beside them (escape sequences, CJK, emoji, a 10,000-character id): what showing
//!   names escaped and cut to their column costs.
//! - `frame_200x60_history`: an hour of history (1,800 polls of `fixtures::history`): the group and
//!   table drill-downs with their charts at each zoom, and the lists with their sparklines.
//!
//! Keypress-to-frame latency with a hanging ClickHouse is `examples/keypress_latency.rs`.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use pipetop::model::Model;
use pipetop::ui::app::{Action, App};
use pipetop::ui::view::{View, Zoom};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PARTITIONS: i32 = 20_000;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

fn big_app() -> App {
    fixtures::app_with(fixtures::big_model(PARTITIONS, 6), fixtures::t(6))
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend")
}

fn frame(terminal: &mut Terminal<TestBackend>, app: &mut App) {
    terminal
        .draw(|f| pipetop::ui::render(f, app))
        .expect("draw");
}

/// The group detail of the 20,000-partition group, the selection in the middle of the list.
fn group_detail_app(terminal: &mut Terminal<TestBackend>) -> App {
    let mut app = big_app();
    app.open(View::Group {
        group: "firehose_sink".to_string(),
    });
    frame(terminal, &mut app);
    for _ in 0..200 {
        app.apply(Action::PageDown);
    }
    frame(terminal, &mut app);
    app
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x60_20k_partitions");

    let mut term = terminal();
    let mut app = group_detail_app(&mut term);
    group.bench_function("group_detail_warm", |b| {
        b.iter(|| {
            frame(&mut term, &mut app);
            black_box(term.backend().buffer().area);
        })
    });
    group.bench_function("group_detail_warm_keypress", |b| {
        let mut down = true;
        b.iter(|| {
            app.apply(if down { Action::Down } else { Action::Up });
            down = !down;
            frame(&mut term, &mut app);
        })
    });
    group.bench_function("group_detail_cold", |b| {
        b.iter(|| {
            app.set_model(other_model(&app));
            frame(&mut term, &mut app);
        })
    });
    group.bench_function("group_detail_cold_sorted_by_lag", |b| {
        let mut app = group_detail_app(&mut term);
        for _ in 0..6 {
            app.apply(Action::SortNext);
        }
        b.iter(|| {
            app.set_model(other_model(&app));
            frame(&mut term, &mut app);
        })
    });

    let mut app = big_app();
    app.apply(Action::StartCommand);
    for ch in "groups".chars() {
        app.apply(Action::Input(ch));
    }
    app.apply(Action::Submit);
    frame(&mut term, &mut app);
    group.bench_function("groups_list_warm", |b| {
        b.iter(|| frame(&mut term, &mut app))
    });
    group.bench_function("groups_list_cold", |b| {
        b.iter(|| {
            app.set_model(other_model(&app));
            frame(&mut term, &mut app);
        })
    });

    let mut app = big_app();
    frame(&mut term, &mut app);
    group.bench_function("overview_warm", |b| b.iter(|| frame(&mut term, &mut app)));
    group.bench_function("overview_cold", |b| {
        b.iter(|| {
            app.set_model(other_model(&app));
            frame(&mut term, &mut app);
        })
    });
    group.finish();

    // The poll that precedes a cold frame: one 20,000-partition Kafka snapshot into the session
    // (derivation and alerts, as the session task does it off the UI).
    let mut ingest = c.benchmark_group("model_20k_partitions");
    ingest.sample_size(20);
    let (session, status) = fixtures::big_session(PARTITIONS, 6);
    let mut n = 6;
    ingest.bench_function("session_ingest_kafka", |b| {
        b.iter_batched(
            || {
                n += 1;
                let mut status = status.clone();
                status.record(Ok(fixtures::big_snapshot(PARTITIONS, n)), fixtures::t(n));
                (session.clone(), status)
            },
            |(mut session, status)| {
                session.ingest(Some(status), None);
                session
            },
            BatchSize::LargeInput,
        )
    });
    ingest.finish();

    let mut names = c.benchmark_group("frame_200x60_names");
    for (label, model) in [
        ("plain", fixtures::model()),
        ("hostile", fixtures::hostile_model()),
    ] {
        let mut app = fixtures::app_with(model, fixtures::now());
        app.open(View::Groups);
        frame(&mut term, &mut app);
        names.bench_function(format!("groups_list_warm_{label}"), |b| {
            b.iter(|| frame(&mut term, &mut app))
        });
    }
    names.finish();
    history(c);
}

/// Frames with charts and sparklines over an hour of points (target ≤ 2 ms at 200×60).
fn history(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x60_history");
    let model = Arc::clone(fixtures::history::session(1_800).model());
    let now = fixtures::t(1_800);
    let mut term = terminal();
    let views = [
        (
            "group_chart",
            View::Group {
                group: "orders_enricher".to_string(),
            },
        ),
        (
            "table_chart",
            View::Table {
                database: "metrics".to_string(),
                table: "raw_samples".to_string(),
            },
        ),
    ];
    for (name, view) in views {
        for zoom in [Zoom::FiveMinutes, Zoom::FifteenMinutes, Zoom::Hour] {
            let mut app = fixtures::app_with(Arc::clone(&model), now);
            app.open(view.clone());
            app.zoom = zoom;
            let label = format!("{name}_{}", zoom.label());
            frame(&mut term, &mut app);
            group.bench_function(label, |b| b.iter(|| frame(&mut term, &mut app)));
        }
    }
    for list in ["groups", "tables", "overview"] {
        let mut app = fixtures::app_with(Arc::clone(&model), now);
        app.apply(Action::StartCommand);
        for ch in list.chars() {
            app.apply(Action::Input(ch));
        }
        app.apply(Action::Submit);
        frame(&mut term, &mut app);
        group.bench_function(format!("{list}_sparklines"), |b| {
            b.iter(|| frame(&mut term, &mut app))
        });
    }
    group.finish();
}

/// The same model in a new `Arc`: the app takes it as an update and re-sorts its lists.
fn other_model(app: &App) -> Arc<Model> {
    Arc::new(Model::clone(&app.model))
}

criterion_group!(benches, render);
criterion_main!(benches);
