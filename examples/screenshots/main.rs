//! Screenshots of the real app against the live stack: polls the configured sources like the
//! dashboard does, opens the requested views and writes each frame as an SVG picture.
//!
//!   cargo run --example screenshots -- --polls 8 --out screenshots/healthy.svg overview
//!   cargo run --example screenshots -- --out screenshots/group.svg "group:clickhouse_group"
//!
//! Views: overview, groups, topics, tables, merges, failures, consumers, errors, alerts,
//! group:<id>, table:<db.table>, first-failure, first-partition:<db.table>. `scripts/screenshots`
//! drives the pipeline into each interesting state and calls this.

mod svg;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::config::{Config, ProcessEnv};
use pipetop::kafka::collector::KafkaCollector;
use pipetop::model::Model;
use pipetop::source::{Collector, SourceStatus};
use pipetop::ui::app::{Action, App};
use pipetop::ui::theme::{ColorDepth, Theme};
use pipetop::ui::view::View;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    config: Option<PathBuf>,
    /// Polls before the picture, one refresh apart (rates and time lag need history).
    #[arg(long, default_value_t = 6)]
    polls: u32,
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    refresh: Duration,
    #[arg(long, default_value_t = 120)]
    width: u16,
    #[arg(long, default_value_t = 34)]
    height: u16,
    #[arg(long, default_value = "dark")]
    theme: String,
    #[arg(long)]
    out: PathBuf,
    /// The view to show (see the top of this file).
    view: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config::load(args.config.as_deref(), &ProcessEnv)?;
    config.refresh = args.refresh;
    let mut kafka = KafkaCollector::new(&config.kafka)?;
    let mut clickhouse = ClickHouseCollector::new(&config.clickhouse);
    let (focus_tx, focus_rx) = tokio::sync::watch::channel(None);
    clickhouse = clickhouse.with_focus(focus_rx);
    let theme = Theme::load(&args.theme, ColorDepth::TrueColor).map_err(anyhow::Error::msg)?;
    let mut app = App::new(config.context.clone(), config.refresh, Model::new(&config), theme, ColorDepth::TrueColor);
    let (mut kafka_status, mut ch_status) = (SourceStatus::default(), SourceStatus::default());

    let mut poll = async |app: &mut App| {
        let (k, c) = tokio::join!(kafka.poll(), clickhouse.poll());
        let now = SystemTime::now();
        kafka_status.record(k, now);
        ch_status.record(c, now);
        app.model.ingest_kafka(kafka_status.clone());
        app.model.ingest_clickhouse(ch_status.clone());
        app.model_changed();
    };
    for i in 0..args.polls {
        if i > 0 {
            tokio::time::sleep(args.refresh).await;
        }
        poll(&mut app).await;
    }
    let backend = TestBackend::new(args.width, args.height);
    let mut terminal = Terminal::new(backend)?;
    // Render once so lists know their rows, then navigate like a user would.
    terminal.draw(|f| pipetop::ui::render(f, &mut app))?;
    navigate(&mut app, &args.view)?;
    if let Some(focus) = pipetop::ui::screens::focus_of(&app.level().view) {
        focus_tx.send_replace(Some(focus));
        poll(&mut app).await;
    }
    app.now = SystemTime::now();
    terminal.draw(|f| pipetop::ui::render(f, &mut app))?;
    std::fs::write(&args.out, svg::render(terminal.backend().buffer()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

fn navigate(app: &mut App, view: &str) -> anyhow::Result<()> {
    let (name, arg) = view.split_once(':').unwrap_or((view, ""));
    match name {
        "group" => app.open(View::Group { group: arg.to_string() }),
        "table" => {
            let (database, table) = arg.split_once('.').ok_or_else(|| anyhow::anyhow!("table:<db.table>"))?;
            app.open(View::Table { database: database.into(), table: table.into() });
        }
        "first-failure" => {
            app.open(View::Failures);
            app.apply(Action::Open);
        }
        "first-partition" => {
            navigate(app, &format!("table:{arg}"))?;
            app.apply(Action::Open);
        }
        "overview" => {}
        other => match pipetop::ui::view::command(other) {
            Some(v) => app.open(v),
            None => anyhow::bail!("unknown view {other}"),
        },
    }
    Ok(())
}
