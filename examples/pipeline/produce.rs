//! The producer: JSON events at a steady rate, with configurable shares of bad input.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// Events per second.
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// Stop after this many events (0 = run until killed).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Share of messages that are not JSON at all (0.0 – 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub bad_json: f64,
    /// Share of messages with a wrong type: "user_id": "abc".
    #[arg(long, default_value_t = 0.0)]
    pub wrong_type: f64,
    /// Share of messages that repeat an earlier event_id.
    #[arg(long, default_value_t = 0.0)]
    pub duplicates: f64,
}

const EVENT_TYPES: &[&str] = &["page_view", "click", "signup", "purchase", "logout"];

pub fn run(brokers: &str, topic: &str, args: &ProduceArgs) -> anyhow::Result<()> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .create()?;
    let mut rng = fastrand::Rng::new();
    let started = Instant::now();
    let mut next_id: u64 = started_epoch_ms() * 1000;
    let mut sent: u64 = 0;
    let rate = args.rate.max(1);
    while args.count == 0 || sent < args.count {
        // Pace against the wall clock, so the rate holds whatever each send costs.
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let event_id = if sent > 0 && rng.f64() < args.duplicates {
            next_id - 1 - rng.u64(0..sent.min(1000))
        } else {
            next_id += 1;
            next_id
        };
        let user_id = rng.u64(1..100_000);
        let body = event_json(&mut rng, event_id, user_id, args);
        let key = user_id.to_string();
        let mut record = BaseRecord::to(topic).key(&key).payload(&body);
        // A full local queue means the broker is slow or down: wait, do not drop events.
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        sent += 1;
        if sent.is_multiple_of(rate * 10) {
            eprintln!("producer: {sent} events sent");
        }
    }
    producer.flush(Duration::from_secs(30))?;
    eprintln!("producer: done, {sent} events");
    Ok(())
}

fn event_json(rng: &mut fastrand::Rng, event_id: u64, user_id: u64, args: &ProduceArgs) -> String {
    let roll = rng.f64();
    if roll < args.bad_json {
        return format!("{{\"event_id\": {event_id}, \"user_id\": ");
    }
    let user = if roll < args.bad_json + args.wrong_type {
        "\"abc\"".to_string()
    } else {
        user_id.to_string()
    };
    let event_type = EVENT_TYPES[rng.usize(0..EVENT_TYPES.len())];
    let timestamp = clickhouse_datetime(SystemTime::now());
    let len = rng.usize(16..64);
    let payload: String = (0..len).map(|_| rng.alphanumeric()).collect();
    format!(
        "{{\"event_id\":{event_id},\"user_id\":{user},\"event_type\":\"{event_type}\",\"timestamp\":\"{timestamp}\",\"payload\":\"{payload}\"}}"
    )
}

fn started_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// "YYYY-MM-DD hh:mm:ss" in UTC, which ClickHouse parses into a DateTime.
pub fn clickhouse_datetime(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}
