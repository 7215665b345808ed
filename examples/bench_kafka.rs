//! The Kafka poll at scale, against a benchmark broker of its own (not a test; run by hand).
//!
//! It must not load the shared test broker (127.0.0.1:9092), so it defaults to a second stack:
//!
//!   PIPETOP_STACK_DIR=target/bench-stack PIPETOP_KAFKA_PORT=19092 PIPETOP_KAFKA_HEAP=2g \
//!     tests/stack/up --only kafka --brokers 3
//!   cargo run --release --example bench_kafka            # 100 topics × 200 partitions, 1,000 groups
//!   cargo run --release --example bench_kafka -- 10 50 100 --cycles 5   # a smaller cluster
//!   ... --keep, then ... --reuse bench_PID: measure again without repopulating
//!   PIPETOP_STACK_DIR=target/bench-stack tests/stack/down
//!
//! Three nodes, because one broker holds an open file per partition and 20,000 partitions do not
//! fit under a 20,000 open-file limit. `PIPETOP_BENCH_BOOTSTRAP` picks another cluster.
//!
//! Creates the topics (one CreateTopics call), one message per partition, and N groups each with
//! a commit on every partition of one topic; then times pipetop's full Kafka poll plus model
//! update (median of the cycles), prints requests per cycle, the model's history size and peak
//! RSS, and times `kafka-consumer-groups --describe --all-groups` on the same cluster. Deletes
//! its topics and groups at the end, also after a failure.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use pipetop::config::Config;
use pipetop::kafka::collector::KafkaCollector;
use pipetop::model::kafka::KafkaTracker;
use pipetop::source::Collector;

/// The benchmark stack's first broker (see the header); never the shared 9092 by default.
const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:19092";

fn bootstrap() -> String {
    std::env::var("PIPETOP_BENCH_BOOTSTRAP").unwrap_or_else(|_| DEFAULT_BOOTSTRAP.to_string())
}

/// The 1, 5 and 15 minute load averages: the machine is shared, so every figure carries it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}
const COMMIT_THREADS: usize = 8;

struct Scale {
    topics: usize,
    partitions: usize,
    groups: usize,
    cycles: usize,
    /// Leave the topics and groups in place (to measure again with `--reuse`).
    keep: bool,
    /// Measure a cluster an earlier `--keep` run populated, named by its prefix.
    reuse: Option<String>,
    /// Skip the (slow) `kafka-consumer-groups` reference run.
    no_reference: bool,
}

fn parse_args() -> anyhow::Result<Scale> {
    let mut nums = Vec::new();
    let mut cycles = 5;
    let mut keep = false;
    let mut reuse = None;
    let mut no_reference = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--cycles" {
            cycles = args.next().context("--cycles N")?.parse()?;
        } else if a == "--no-reference" {
            no_reference = true;
        } else if a == "--keep" {
            keep = true;
        } else if a == "--reuse" {
            reuse = Some(args.next().context("--reuse PREFIX")?);
        } else if a != "--bench" {
            nums.push(
                a.parse::<usize>()
                    .with_context(|| format!("not a number: {a}"))?,
            );
        }
    }
    let n = |i: usize, d: usize| nums.get(i).copied().unwrap_or(d);
    Ok(Scale {
        topics: n(0, 100),
        partitions: n(1, 200),
        groups: n(2, 1_000),
        cycles,
        keep,
        reuse,
        no_reference,
    })
}

fn client() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap())
        .set("log_level", "3");
    c
}

fn main() -> anyhow::Result<()> {
    let scale = parse_args()?;
    let prefix = scale
        .reuse
        .clone()
        .unwrap_or_else(|| format!("bench_{}", std::process::id()));
    let topics: Vec<String> = (0..scale.topics)
        .map(|i| format!("{prefix}_t{i}"))
        .collect();
    let groups: Vec<String> = (0..scale.groups)
        .map(|i| format!("{prefix}_g{i}"))
        .collect();
    let runtime = tokio::runtime::Runtime::new()?;
    let result = run(&runtime, &scale, &topics, &groups);
    if scale.keep {
        eprintln!("keeping the cluster: measure again with --reuse {prefix}");
        return result;
    }
    eprintln!(
        "cleaning up: deleting {} topics and {} groups",
        topics.len(),
        groups.len()
    );
    runtime.block_on(cleanup(&topics, &groups));
    result
}

fn run(
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
    topics: &[String],
    groups: &[String],
) -> anyhow::Result<()> {
    if scale.reuse.is_none() {
        populate(runtime, scale, topics, groups)?;
    }
    measure(runtime, scale, topics, groups)
}

fn populate(
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
    topics: &[String],
    groups: &[String],
) -> anyhow::Result<()> {
    let started = Instant::now();
    runtime.block_on(create_topics(topics, scale.partitions))?;
    eprintln!(
        "created {} topics × {} partitions in {:.1?}",
        topics.len(),
        scale.partitions,
        started.elapsed()
    );
    let t = Instant::now();
    produce_one_per_partition(topics, scale.partitions)?;
    eprintln!("produced one message per partition in {:.1?}", t.elapsed());
    let t = Instant::now();
    commit_all(topics, groups, scale.partitions)?;
    eprintln!(
        "committed {} group-partition offsets in {:.1?}",
        groups.len() * scale.partitions,
        t.elapsed()
    );
    Ok(())
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
    topics: &[String],
    groups: &[String],
) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.kafka.bootstrap_servers = bootstrap();
    config.kafka.request_timeout = Duration::from_secs(30);
    let mut collector =
        KafkaCollector::new(&config.kafka).map_err(|e| anyhow::anyhow!("collector: {e}"))?;
    let mut tracker = KafkaTracker::default();
    let mut model = None;
    let mut walls = Vec::new();
    let mut last = None;
    for cycle in 0..scale.cycles.max(1) {
        let t = Instant::now();
        let snapshot = runtime
            .block_on(collector.poll())
            .map_err(anyhow::Error::msg)?;
        let polled = t.elapsed();
        model = tracker.update(&snapshot).or(model);
        let wall = t.elapsed();
        eprintln!(
            "cycle {cycle}: {wall:.2?} (poll {polled:.2?}, model {:.2?}), {} requests, load {}, phases {:?}",
            wall - polled,
            snapshot.requests,
            load(),
            snapshot.phases_ms
        );
        walls.push(wall);
        last = Some(snapshot);
    }
    let snapshot = last.context("no cycle ran")?;
    let model = model.context("no model derived")?;
    let ours: Vec<_> = model
        .groups
        .iter()
        .filter(|g| groups.contains(&g.group_id))
        .collect();
    let rows: usize = ours.iter().map(|g| g.partitions.len()).sum();
    if rows != groups.len() * scale.partitions {
        bail!(
            "pipetop saw {rows} group-partition rows, expected {}",
            groups.len() * scale.partitions
        );
    }
    walls.sort();
    let median = walls[walls.len() / 2];
    let (tracked_gp, tracked_p) = tracker.tracked();

    if scale.no_reference {
        println!(
            "  pipetop cycle (poll + model): median {median:.2?} over {} cycles (no reference run)",
            walls.len()
        );
        return Ok(());
    }
    let load_before_reference = load();
    let t = Instant::now();
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stack/kafka-cli"
    ))
    .args([
        "kafka-consumer-groups",
        "--bootstrap-server",
        &bootstrap(),
        "--describe",
        "--all-groups",
    ])
    .output()?;
    let reference = t.elapsed();
    let reference_rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| groups.iter().any(|g| l.starts_with(&format!("{g} "))))
        .count();

    println!("pipetop Kafka poll at scale (bootstrap {})", bootstrap());
    println!(
        "  cluster: {} topics × {} partitions = {} partitions; {} groups; {} group-partition rows",
        topics.len(),
        scale.partitions,
        topics.len() * scale.partitions,
        groups.len(),
        rows
    );
    println!(
        "  pipetop cycle (poll + model): median {median:.2?} over {} cycles (min {:.2?}, max {:.2?}; load now {})",
        walls.len(),
        walls[0],
        walls[walls.len() - 1],
        load()
    );
    println!(
        "  requests per cycle: {} ({:?})",
        snapshot.requests, snapshot.requests_by_kind
    );
    println!(
        "  model history: {:.1} MiB for {tracked_gp} group-partitions and {tracked_p} partitions",
        tracker.history_bytes() as f64 / 1_048_576.0
    );
    println!("  peak RSS: {:.0} MiB", peak_rss_kib()? as f64 / 1024.0);
    println!(
        "  kafka-consumer-groups --describe --all-groups: {reference:.1?} ({} rows of the bench groups, exit {}; load before {load_before_reference}, after {})",
        reference_rows,
        out.status,
        load()
    );
    println!(
        "  speed-up: {:.0}×",
        reference.as_secs_f64() / median.as_secs_f64()
    );
    Ok(())
}

async fn create_topics(topics: &[String], partitions: usize) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client().create()?;
    let partitions = i32::try_from(partitions)?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(120)));
    // In batches: one CreateTopics request for everything can outlast the broker's timeout.
    for chunk in topics.chunks(20) {
        let new: Vec<NewTopic> = chunk
            .iter()
            .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
            .collect();
        for r in admin.create_topics(&new, &opts).await? {
            r.map_err(|(t, e)| anyhow::anyhow!("create {t}: {e}"))?;
        }
    }
    let consumer: BaseConsumer = client().create()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let md = consumer.fetch_metadata(None, Duration::from_secs(30))?;
        let ready = md
            .topics()
            .iter()
            .filter(|t| topics.iter().any(|n| n == t.name()))
            .filter(|t| t.partitions().iter().all(|p| p.leader() >= 0))
            .count();
        if ready == topics.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {ready} of {} topics got leaders", topics.len());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn produce_one_per_partition(topics: &[String], partitions: usize) -> anyhow::Result<()> {
    let producer: BaseProducer = client()
        .set("linger.ms", "50")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    for t in topics {
        for p in 0..partitions {
            let mut record = BaseRecord::<(), _>::to(t)
                .partition(i32::try_from(p)?)
                .payload("x");
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// Group i commits offset 0 on every partition of topic i mod topics (lag 1 everywhere), from
/// a few threads, each reusing nothing but creating one short-lived client per group: a group's
/// id is fixed per client.
fn commit_all(topics: &[String], groups: &[String], partitions: usize) -> anyhow::Result<()> {
    let work: Vec<(String, String)> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.clone(), topics[i % topics.len()].clone()))
        .collect();
    let chunk = work.len().div_ceil(COMMIT_THREADS).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> anyhow::Result<()> {
                    for (group, topic) in part {
                        let consumer: BaseConsumer = client()
                            .set("group.id", group)
                            .set("enable.auto.commit", "false")
                            .create()?;
                        let mut tpl = TopicPartitionList::new();
                        for p in 0..partitions {
                            tpl.add_partition_offset(topic, i32::try_from(p)?, Offset::Offset(0))?;
                        }
                        consumer.commit(&tpl, CommitMode::Sync)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("commit thread panicked"))??;
        }
        Ok(())
    })
}

async fn cleanup(topics: &[String], groups: &[String]) {
    let Ok(admin) = client().create::<AdminClient<DefaultClientContext>>() else {
        eprintln!("cleanup: cannot create an admin client");
        return;
    };
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(120)));
    for chunk in groups.chunks(200) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        if let Err(e) = admin.delete_groups(&ids, &opts).await {
            eprintln!("cleanup: delete groups: {e}");
        }
    }
    for chunk in topics.chunks(20) {
        let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
        if let Err(e) = admin.delete_topics(&names, &opts).await {
            eprintln!("cleanup: delete topics: {e}");
        }
    }
}

fn peak_rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmHWM in /proc/self/status")
}
