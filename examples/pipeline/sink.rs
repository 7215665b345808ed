//! The sink: consumer group `clickhouse_group`, batches of 10,000 events or 2 s, inserted into the
//! pipeline's tables, offsets committed only after every insert of the batch succeeded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::control::Control;
use crate::schema::SINK_TABLES;

#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    #[arg(long, default_value = "clickhouse_group")]
    pub group: String,
    #[arg(long, default_value_t = 10_000)]
    pub batch_size: usize,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub flush_interval: Duration,
}

struct Batch {
    lines: Vec<u8>,
    count: usize,
    started: Option<Instant>,
    /// Next offset to commit per partition.
    next_offsets: BTreeMap<i32, i64>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            lines: Vec::new(),
            count: 0,
            started: None,
            next_offsets: BTreeMap::new(),
        }
    }
}

pub async fn run(
    brokers: &str,
    topic: &str,
    clickhouse: &clickhouse::Client,
    control_path: &Path,
    args: &SinkArgs,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &args.group)
        .set("client.id", "pipeline-sink")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    eprintln!("sink: consuming {topic} as {}", args.group);

    let mut batch = Batch::new();
    let mut control = Control::read(control_path);
    let mut control_read_at = Instant::now();
    let mut handled_reject = control.reject_seq;
    let mut was_paused = false;
    let mut rate_window = (Instant::now(), 0u64);

    loop {
        if control_read_at.elapsed() > Duration::from_millis(250) {
            let fresh = Control::read(control_path);
            if fresh.max_rate != control.max_rate {
                rate_window = (Instant::now(), 0);
            }
            control = fresh;
            control_read_at = Instant::now();
        }
        if control.paused != was_paused {
            // Pausing keeps the consumer in its group (it still polls), so lag grows while the
            // group looks healthy: the classic stuck-sink picture.
            let assignment = consumer.assignment()?;
            if control.paused {
                consumer.pause(&assignment)?;
                eprintln!("sink: paused");
            } else {
                consumer.resume(&assignment)?;
                eprintln!("sink: resumed");
            }
            was_paused = control.paused;
        }
        if control.reject_seq > handled_reject {
            handled_reject = control.reject_seq;
            send_rejected_batch(clickhouse).await;
        }

        let limit = if control.tiny_batches > 0 {
            control.tiny_batches as usize
        } else {
            args.batch_size
        };
        let flush_due = batch
            .started
            .is_some_and(|t| t.elapsed() >= args.flush_interval);
        if batch.count >= limit || (flush_due && batch.count > 0) {
            flush(&consumer, clickhouse, topic, &mut batch).await;
            continue;
        }
        if control.max_rate > 0 {
            let allowed = rate_window.0.elapsed().as_secs_f64() * control.max_rate as f64;
            if rate_window.1 as f64 >= allowed {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        }
        match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                eprintln!("sink: kafka error: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(Ok(message)) => {
                if let Some(payload) = message.payload() {
                    batch.lines.extend_from_slice(payload);
                    batch.lines.push(b'\n');
                }
                batch.count += 1;
                batch.started.get_or_insert_with(Instant::now);
                batch
                    .next_offsets
                    .insert(message.partition(), message.offset() + 1);
                rate_window.1 += 1;
            }
        }
    }
}

/// Inserts the batch into every sink table, then commits. Malformed rows make the strict insert
/// fail (that failure is what pipetop shows); the sink then retries skipping bad rows, the way
/// production sinks route them to a dead-letter path. If ClickHouse is down it keeps retrying and
/// commits nothing, so lag grows instead of data being lost.
async fn flush(
    consumer: &StreamConsumer,
    clickhouse: &clickhouse::Client,
    topic: &str,
    batch: &mut Batch,
) {
    let body = Bytes::from(std::mem::take(&mut batch.lines));
    for table in SINK_TABLES {
        loop {
            match insert(clickhouse, table, body.clone(), false).await {
                Ok(()) => break,
                Err(strict) => {
                    eprintln!(
                        "sink: insert into {table} rejected: {}",
                        first_line(&strict)
                    );
                    match insert(clickhouse, table, body.clone(), true).await {
                        Ok(()) => break,
                        Err(e) => {
                            eprintln!("sink: retry failed ({}), waiting", first_line(&e));
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        }
    }
    let mut offsets = TopicPartitionList::new();
    for (&partition, &offset) in &batch.next_offsets {
        if let Err(e) = offsets.add_partition_offset(topic, partition, Offset::Offset(offset)) {
            eprintln!("sink: bad offset {partition}:{offset}: {e}");
        }
    }
    if let Err(e) = consumer.commit(&offsets, CommitMode::Sync) {
        eprintln!("sink: commit failed: {e}");
    }
    *batch = Batch::new();
}

async fn insert(
    clickhouse: &clickhouse::Client,
    table: &str,
    body: Bytes,
    skip_bad_rows: bool,
) -> Result<(), String> {
    let mut insert =
        clickhouse.insert_formatted_with(format!("INSERT INTO {table} FORMAT JSONEachRow"));
    if skip_bad_rows {
        insert = insert
            .with_setting("input_format_allow_errors_ratio", "1")
            .with_setting("input_format_allow_errors_num", "1000000000");
    }
    insert.send(body).await.map_err(|e| e.to_string())?;
    insert.end().await.map_err(|e| e.to_string())
}

/// A batch no server accepts: the event_id is not a number.
async fn send_rejected_batch(clickhouse: &clickhouse::Client) {
    let body = Bytes::from_static(b"{\"event_id\":\"not-a-number\",\"user_id\":1,\"event_type\":\"x\",\"timestamp\":\"2026-01-01 00:00:00\",\"payload\":\"\"}\n");
    match insert(clickhouse, "events", body, false).await {
        Ok(()) => eprintln!("sink: the rejected batch was accepted?!"),
        Err(e) => eprintln!("sink: sent a batch ClickHouse rejects: {}", first_line(&e)),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
