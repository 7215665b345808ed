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
    Setup {
        /// Also create the Kafka table engine path (database `kafka_engine`).
        #[arg(long)]
        kafka_engine: bool,
    },
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
        Command::Setup { kafka_engine } => {
            setup(&clickhouse).await?;
            if *kafka_engine {
                setup_kafka_engine(&clickhouse, &cli.brokers, &cli.topic).await?;
            }
            Ok(())
        }
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

/// A Kafka engine table consumes only once a materialized view reads from it, so creating the
/// table before its views loses nothing.
async fn setup_kafka_engine(
    clickhouse: &clickhouse::Client,
    brokers: &str,
    topic: &str,
) -> anyhow::Result<()> {
    clickhouse
        .query(schema::KAFKA_ENGINE_DATABASE)
        .execute()
        .await?;
    for sql in schema::kafka_engine_tables(brokers, topic) {
        if let Err(e) = clickhouse.query(&sql).execute().await {
            // chdb answers CREATE ... ENGINE = Kafka with "Shutdown was called" (code 49) although
            // the table is created and consumes; anything else is a real failure.
            if !e.to_string().contains("Shutdown was called") {
                return Err(e.into());
            }
        }
    }
    let exists: u8 = clickhouse
        .query("EXISTS TABLE kafka_engine.events_kafka")
        .fetch_one()
        .await?;
    anyhow::ensure!(exists == 1, "the Kafka engine table was not created");
    eprintln!("setup: Kafka table engine consuming {topic} as clickhouse_kafka_engine");
    Ok(())
}
