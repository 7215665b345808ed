//! Benchmark of one full ClickHouse poll under load (not a test; not part of `make test`):
//!
//! ```sh
//! cargo run --release --example ch_bench                     # against http://127.0.0.1:8123
//! cargo run --release --example ch_bench -- http://host:8123 # another (disposable!) server
//! ```
//!
//! It creates 10,000 active parts (one table, 1,000 daily partitions, merges stopped) and
//! 1,000,000 query_log rows inside the 5-minute window, polls 30 times at a 2 s refresh (as the
//! dashboard does, so the sections' cadences take effect as they would there), prints the median
//! poll time, the number of queries per cycle and what the polls cost the server, then drops the
//! table and deletes the rows.
//!
//! The query_log rows are synthetic: one `INSERT INTO system.query_log ... SELECT ... FROM
//! numbers(1000000)` with a realistic mix (inserts into 20 tables, selects of 200 patterns, 1%
//! failures, spread durations), marked `log_comment = 'pipetop-bench'` so they can be deleted.
//! Producing a million real queries one by one takes ~1 ms each on this engine (≈ 17 minutes).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool: a panic is a failed run

use std::collections::BTreeMap;
use std::time::Duration;

use clickhouse::Row;
use serde::Deserialize;

use pipetop::clickhouse::cadence;
use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::clickhouse::section_id::SectionId;
use pipetop::config::ClickHouseConfig;
use pipetop::source::Collector;

const PARTS: u64 = 10_000;
const PARTITIONS: u64 = 1_000;
const LOG_ROWS: u64 = 1_000_000;
const POLLS: usize = 30;
/// The dashboard's default refresh.
const REFRESH: Duration = Duration::from_secs(2);

#[derive(Debug, Row, Deserialize)]
struct Count {
    n: u64,
}

async fn exec(client: &clickhouse::Client, sql: &str) {
    client
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(client: &clickhouse::Client, sql: &str) -> u64 {
    client.query(sql).fetch_one::<Count>().await.unwrap().n
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // --keep leaves the data in place, to look at single queries afterwards.
    let keep = args.iter().any(|a| a == "--keep");
    // By default the rows span the last 24 hours (a busy pipeline: ~12 queries/s, a few thousand
    // in the 5-minute window); --all-in-window puts all of them inside it (~3,300 queries/s).
    let spread_s = if args.iter().any(|a| a == "--all-in-window") {
        240
    } else {
        86_400
    };
    let url = args
        .iter()
        .find(|a| a.starts_with("http"))
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8123".to_string());
    let writer = clickhouse::Client::default()
        .with_url(&url)
        .with_validation(false);
    let table = format!("default.pipetop_bench_parts_{}", std::process::id());
    // --concurrency N: `max_concurrent_queries` (default: the config's).
    let concurrency = args
        .iter()
        .position(|a| a == "--concurrency")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--concurrency N"));
    // --interval SECTION=DURATION (repeatable): a `section_intervals` entry, e.g. tables=0s to
    // scan the parts at every poll as before their cadence.
    let intervals: BTreeMap<SectionId, Duration> = args
        .windows(2)
        .filter(|w| w[0] == "--interval")
        .map(|w| {
            let (name, every) = w[1].split_once('=').expect("--interval SECTION=DURATION");
            let id = SectionId::ALL
                .iter()
                .find(|id| id.name() == name)
                .unwrap_or_else(|| panic!("unknown section {name}"));
            (*id, humantime::parse_duration(every).expect("a duration"))
        })
        .collect();
    // --baseline polls the server as it is, without creating anything: the floor of a poll.
    if args.iter().any(|a| a == "--baseline") {
        measure(&url, concurrency, &intervals).await;
        return;
    }

    println!("setup: {PARTS} parts in {table}, {LOG_ROWS} query_log rows …");
    let started = std::time::Instant::now();
    exec(&writer, &format!(
        "CREATE TABLE {table} (d Date, n UInt64) ENGINE = MergeTree PARTITION BY d ORDER BY n \
         SETTINGS parts_to_delay_insert = 100000, parts_to_throw_insert = 100000, max_parts_in_total = 1000000"
    )).await;
    exec(&writer, &format!("SYSTEM STOP MERGES {table}")).await;
    // Each block is split per partition: a block spanning all partitions makes one part in each.
    for batch in 0..PARTS / PARTITIONS {
        exec(&writer, &format!(
            "INSERT INTO {table} SELECT toDate('2024-01-01') + number % {PARTITIONS}, number + {offset} \
             FROM numbers({PARTITIONS}) SETTINGS max_partitions_per_insert_block = {PARTITIONS}",
            offset = batch * PARTITIONS
        )).await;
    }
    let log_sql = format!(
        "INSERT INTO system.query_log (type, event_date, event_time, event_time_microseconds,
            query_start_time, query_duration_ms, written_rows, query, normalized_query_hash,
            query_kind, tables, databases, current_database, exception_code, exception, query_id,
            log_comment)
         SELECT
            if(number % 100 = 7, 'ExceptionWhileProcessing', if(number % 2 = 0, 'QueryStart', 'QueryFinish')),
            toDate(t), t, toDateTime64(t, 6), t,
            (number * 7919) % 2000,
            if(kind = 'Insert', 10000, 0),
            if(kind = 'Insert', concat('INSERT INTO default.bench_t', toString(number % 20), ' FORMAT JSONEachRow'),
               concat('SELECT count() FROM default.bench_t', toString(number % 20), ' WHERE n = ', toString(number % 200))),
            if(kind = 'Insert', number % 20, 1000 + number % 200),
            kind,
            [concat('default.bench_t', toString(number % 20))], ['default'], 'default',
            if(number % 100 = 7, 27, 0),
            if(number % 100 = 7, 'Code: 27. DB::Exception: Cannot parse input (bench)', ''),
            toString(generateUUIDv4()),
            'pipetop-bench'
         FROM (SELECT number, now() - (number % {spread_s}) AS t, if(number % 3 = 0, 'Select', 'Insert') AS kind
               FROM numbers({LOG_ROWS}))"
    );
    exec(&writer, &log_sql).await;
    let parts = count(&writer, &format!(
        "SELECT toUInt64(count()) AS n FROM system.parts WHERE active AND database = 'default' AND table = '{}'",
        table.trim_start_matches("default.")
    )).await;
    let all_parts = count(
        &writer,
        "SELECT toUInt64(count()) AS n FROM system.parts WHERE active",
    )
    .await;
    let in_window = count(&writer, "SELECT toUInt64(count()) AS n FROM system.query_log WHERE event_date >= toDate(now() - 300) AND event_time >= now() - 300").await;
    let log_total = count(
        &writer,
        "SELECT toUInt64(count()) AS n FROM system.query_log",
    )
    .await;
    println!(
        "setup took {:.1} s: {parts} active parts in the bench table ({all_parts} on the server), \
         query_log {log_total} rows ({in_window} in the 5-minute window)",
        started.elapsed().as_secs_f64()
    );

    measure(&url, concurrency, &intervals).await;

    if keep {
        println!("kept {table} and the query_log rows (log_comment = 'pipetop-bench')");
        return;
    }
    exec(&writer, &format!("DROP TABLE {table}")).await;
    exec(&writer, "ALTER TABLE system.query_log DELETE WHERE log_comment = 'pipetop-bench' SETTINGS mutations_sync = 2").await;
    println!("cleaned up");
}

/// Polls `url` POLLS times at the default refresh after two warm-up polls and prints the median.
async fn measure(url: &str, concurrency: Option<usize>, intervals: &BTreeMap<SectionId, Duration>) {
    let defaults = ClickHouseConfig::default();
    let config = ClickHouseConfig {
        url: url.to_string(),
        max_concurrent_queries: concurrency.unwrap_or(defaults.max_concurrent_queries),
        section_intervals: intervals.clone(),
        ..defaults
    };
    let mut collector = ClickHouseCollector::new(&config);
    // The first poll also detects capabilities; steady state is what the screen sees.
    for _ in 0..2 {
        collector.poll().await.unwrap();
    }
    let mut times = Vec::new();
    let mut queries = 0;
    let mut problems = Vec::new();
    let mut ticks = tokio::time::interval(REFRESH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..POLLS {
        ticks.tick().await;
        let started = std::time::Instant::now();
        let snapshot = collector.poll().await.unwrap();
        times.push(started.elapsed());
        queries = snapshot.queries;
        let host = snapshot.hosts[0].snapshot().unwrap();
        for (name, problem) in [
            ("tables", host.tables.problem()),
            ("partitions", host.partitions.problem()),
            ("inserts", host.inserts.problem()),
            ("failed_inserts", host.failed_inserts.problem()),
            ("latency", host.latency.problem()),
            ("slow_queries", host.slow_queries.problem()),
            ("errors", host.errors.problem()),
        ] {
            if let Some(p) = problem {
                problems.push(format!("{name}: {p}"));
            }
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "full ClickHouse poll over {POLLS} polls: median {:.1} ms (min {:.1}, max {:.1}), {queries} queries per cycle",
        ms(times[POLLS / 2]),
        ms(times[0]),
        ms(times[POLLS - 1])
    );
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        println!("sections without data: {problems:?}");
    }
    own_load(url, &config).await;
}

/// What those polls cost the server, as pipetop itself reads it back from query_log (`:self`):
/// the measured mean per poll, and per section the server time of one query. From those, the
/// steady cost per poll at a 2 s refresh with the sections' cadences, against reading every
/// section at every poll (what pipetop did before the cadences).
async fn own_load(url: &str, config: &ClickHouseConfig) {
    let writer = clickhouse::Client::default().with_url(url);
    exec(&writer, "SYSTEM FLUSH LOGS").await;
    let snapshot = ClickHouseCollector::new(config).poll().await.unwrap();
    let host = snapshot.hosts[0].snapshot().unwrap();
    let load = match host.own_load.data() {
        Some(load) => load,
        None => {
            println!("own load: {:?}", host.own_load);
            return;
        }
    };
    let spread = load.poll_ms.map_or("-".to_string(), |s| {
        format!(
            "mean {:.1} ms, worst {} ms over {} whole polls",
            s.mean, s.max, s.polls
        )
    });
    let cpu = load.cpu_ms.map_or("-".to_string(), |s| {
        format!("mean {:.1} ms, worst {} ms", s.mean, s.max)
    });
    println!(
        "own load read back from query_log: {} polls; server time per poll {spread}; CPU per poll {cpu}; {:.0} rows read per poll",
        load.polls, load.read_rows_per_poll
    );
    let refresh_s = 2.0;
    let (mut every_poll, mut with_cadence) = (0.0, 0.0);
    let (mut cpu_every_poll, mut cpu_with_cadence) = (0.0, 0.0);
    println!("  section                ms/query  cpu ms/query  queries  read every");
    for s in &load.sections {
        if s.queries == 0 {
            continue;
        }
        let per_query = s.ms_per_poll * f64::from(load.polls) / s.queries as f64;
        let cpu_per_query =
            s.cpu_ms_per_poll.unwrap_or(0.0) * f64::from(load.polls) / s.queries as f64;
        let interval = SectionId::ALL
            .iter()
            .find(|id| id.name() == s.label)
            .and_then(|id| cadence::interval_in(*id, &config.section_intervals))
            // The parts scan is labelled `tables`; `partitions` is the naming of partitions not
            // seen before, as often as it happened here.
            .filter(|_| s.label != "partitions");
        // The probe runs after a connect only; own_load is this readback itself.
        if s.label != "probe" {
            // Sections on a cadence: read once per interval. The others: as often as they were
            // read here (every poll, or only the first when the inventory skips them).
            let share = interval.map_or(s.queries as f64 / f64::from(load.polls), |every| {
                (refresh_s / every.as_secs_f64()).min(1.0)
            });
            // The inventory is what the skipping costs: before it, there was none.
            if s.label != "inventory" {
                every_poll += per_query;
                cpu_every_poll += cpu_per_query;
            }
            with_cadence += per_query * share;
            cpu_with_cadence += cpu_per_query * share;
        }
        println!(
            "  {:<22} {:>8.1}  {:>12.1}  {:>7}  {}",
            s.label,
            per_query,
            cpu_per_query,
            s.queries,
            interval.map_or("poll".to_string(), |d| format!("{} s", d.as_secs()))
        );
    }
    println!(
        "steady server time per poll at a {refresh_s} s refresh: {with_cadence:.1} ms with the cadences and skips, \
         {every_poll:.1} ms with every section at every poll; CPU {cpu_with_cadence:.1} ms against {cpu_every_poll:.1} ms"
    );
}
