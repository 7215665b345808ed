//! Load generator for the pipeline pipetop watches: producer → Kafka → sink → ClickHouse.
//!
//!   cargo run --example pipeline -- setup              create the ClickHouse tables
//!   cargo run --example pipeline -- run                producer and sink together (the demo)
//!   cargo run --example pipeline -- produce --rate 500 --bad-json 0.01
//!   cargo run --example pipeline -- sink
//!   cargo run --example pipeline -- ctl pause | run | slow 100 | tiny 5 | normal | reject

mod control;
mod produce;
mod schema;
mod sink;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long, default_value = "events_topic")]
    topic: String,
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    clickhouse: String,
    /// The sink's control file (see `ctl`).
    #[arg(
        long,
        env = "PIPELINE_CONTROL",
        default_value = "target/stack/pipeline/control"
    )]
    control: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the pipeline's ClickHouse tables (idempotent).
    Setup,
    /// Produce JSON events.
    Produce(produce::ProduceArgs),
    /// Consume, insert, commit.
    Sink(sink::SinkArgs),
    /// Producer and sink in one process.
    Run {
        #[command(flatten)]
        produce: produce::ProduceArgs,
        #[command(flatten)]
        sink: sink::SinkArgs,
    },
    /// Change the running sink's behaviour: pause | run | slow N | tiny N | normal | reject.
    Ctl { words: Vec<String> },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let clickhouse = clickhouse::Client::default().with_url(&cli.clickhouse);
    match &cli.command {
        Command::Setup => setup(&clickhouse).await,
        Command::Produce(args) => {
            let (brokers, topic, args) = (cli.brokers.clone(), cli.topic.clone(), args.clone());
            tokio::task::spawn_blocking(move || produce::run(&brokers, &topic, &args)).await?
        }
        Command::Sink(args) => {
            setup(&clickhouse).await?;
            sink::run(&cli.brokers, &cli.topic, &clickhouse, &cli.control, args).await
        }
        Command::Run { produce, sink } => {
            setup(&clickhouse).await?;
            let (brokers, topic, args) = (cli.brokers.clone(), cli.topic.clone(), produce.clone());
            let producer =
                tokio::task::spawn_blocking(move || produce::run(&brokers, &topic, &args));
            tokio::select! {
                r = producer => r?,
                r = sink::run(&cli.brokers, &cli.topic, &clickhouse, &cli.control, sink) => r,
            }
        }
        Command::Ctl { words } => {
            let mut control = control::Control::read(&cli.control);
            control.apply(words).map_err(anyhow::Error::msg)?;
            control.write(&cli.control)?;
            println!("{control:?}");
            Ok(())
        }
    }
}

async fn setup(clickhouse: &clickhouse::Client) -> anyhow::Result<()> {
    for sql in schema::TABLES {
        clickhouse.query(sql).execute().await?;
    }
    Ok(())
}
