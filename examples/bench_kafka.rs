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
//! update (median of the cycles), then the same over the stack's SASL_SSL listener (as the
//! least-privilege user `pipetop`, when `PIPETOP_STACK_DIR` holds its CA), prints requests per
//! cycle, the model's history size and peak RSS, and times `kafka-consumer-groups --describe
//! --all-groups` on the same cluster, comparing its rows with pipetop's one by one. Deletes its
//! topics and groups at the end, also after a failure.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::RDKafkaErrorCode;
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

/// The SASL_SSL listener beside the plaintext one (tests/stack: the broker port + 2), as the
/// stack's least-privilege user `pipetop` (SCRAM-SHA-512) with the stack's CA.
fn sasl_properties() -> Option<(String, Vec<(&'static str, String)>)> {
    let (host, port) = bootstrap()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))?;
    let port: u16 = port.parse().ok()?;
    let dir = std::env::var("PIPETOP_STACK_DIR").unwrap_or_else(|_| "target/bench-stack".into());
    let ca = std::path::Path::new(&dir).join("kafka/tls/ca.pem");
    ca.exists().then(|| {
        (
            format!("{host}:{}", port + 2),
            vec![
                ("security.protocol", "SASL_SSL".to_string()),
                ("sasl.mechanism", "SCRAM-SHA-512".to_string()),
                ("sasl.username", "pipetop".to_string()),
                ("sasl.password", "pipetop-secret".to_string()),
                ("ssl.ca.location", ca.display().to_string()),
            ],
        )
    })
}

/// What the cycles of one collector measured.
struct Cycles {
    walls: Vec<Duration>,
    last: pipetop::kafka::snapshot::KafkaSnapshot,
    model: pipetop::model::kafka::KafkaModel,
    tracker: KafkaTracker,
}

/// `scale.cycles` polls plus model updates per config, each with a collector of its own as the
/// dashboard runs it; the configs take turns cycle by cycle, so a change in the machine's load
/// falls on all of them alike.
fn run_cycles(
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
    configs: &[(&str, Config)],
) -> anyhow::Result<Vec<Cycles>> {
    struct Run {
        collector: KafkaCollector,
        tracker: KafkaTracker,
        model: Option<pipetop::model::kafka::KafkaModel>,
        walls: Vec<Duration>,
        last: Option<pipetop::kafka::snapshot::KafkaSnapshot>,
    }
    let mut runs = configs
        .iter()
        .map(|(_, config)| {
            Ok(Run {
                collector: KafkaCollector::new(&config.kafka)
                    .map_err(|e| anyhow::anyhow!("collector: {e}"))?,
                tracker: KafkaTracker::default(),
                model: None,
                walls: Vec::new(),
                last: None,
            })
        })
        .collect::<anyhow::Result<Vec<Run>>>()?;
    for cycle in 0..scale.cycles.max(1) {
        for (run, (label, _)) in runs.iter_mut().zip(configs) {
            let t = Instant::now();
            let snapshot = runtime
                .block_on(run.collector.poll())
                .map_err(anyhow::Error::msg)?;
            let polled = t.elapsed();
            run.model = run.tracker.update(&snapshot).or(run.model.take());
            let wall = t.elapsed();
            eprintln!(
                "{label} cycle {cycle}: {wall:.2?} (poll {polled:.2?}, model {:.2?}), {} requests, load {}, phases {:?}",
                wall - polled,
                snapshot.requests,
                load(),
                snapshot.phases_ms
            );
            // What failed, so a slow cycle says why.
            for b in &snapshot.broker_health {
                if b.answered == Some(false) || b.unreachable.is_some() || b.error.is_some() {
                    eprintln!(
                        "  broker {}: answered {:?}, unreachable {:?}, error {:?}",
                        b.id, b.answered, b.unreachable, b.error
                    );
                }
            }
            let failed: Vec<&pipetop::kafka::snapshot::Group> = snapshot
                .groups
                .iter()
                .filter(|g| g.error.is_some())
                .collect();
            if let Some(first) = failed.first() {
                eprintln!(
                    "  {} groups with an error, e.g. {}: {:?}",
                    failed.len(),
                    first.group_id,
                    first.error
                );
            }
            run.walls.push(wall);
            run.last = Some(snapshot);
        }
    }
    runs.into_iter()
        .map(|mut run| {
            run.walls.sort();
            Ok(Cycles {
                walls: run.walls,
                last: run.last.context("no cycle ran")?,
                model: run.model.context("no model derived")?,
                tracker: run.tracker,
            })
        })
        .collect()
}

/// The group-partition rows of the bench's own groups, which must be all of them.
fn rows_of(
    model: &pipetop::model::kafka::KafkaModel,
    groups: &[String],
    scale: &Scale,
) -> anyhow::Result<usize> {
    let rows: usize = model
        .groups
        .iter()
        .filter(|g| groups.contains(&g.group_id))
        .map(|g| g.partitions.len())
        .sum();
    if rows != groups.len() * scale.partitions {
        bail!(
            "pipetop saw {rows} group-partition rows, expected {}",
            groups.len() * scale.partitions
        );
    }
    Ok(rows)
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
    // `PIPETOP_BENCH_PROPERTIES="name=value,name=value"`: librdkafka properties of both clients.
    if let Ok(list) = std::env::var("PIPETOP_BENCH_PROPERTIES") {
        for pair in list.split(',').filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .with_context(|| format!("PIPETOP_BENCH_PROPERTIES: {pair:?} is not name=value"))?;
            config.kafka.properties.insert(name.into(), value.into());
        }
    }
    // `PIPETOP_BENCH_DEBUG=broker,protocol`: librdkafka's debug contexts, logged to stderr.
    if let Ok(contexts) = std::env::var("PIPETOP_BENCH_DEBUG") {
        config.kafka.properties.insert("debug".into(), contexts);
        config
            .kafka
            .properties
            .insert("log_level".into(), "7".into());
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter("librdkafka=debug")
            .init();
    }
    let mut configs = vec![("plaintext", config.clone())];
    // The same cycles over SASL_SSL, in the same run, when the stack has the listener.
    if let Some((bootstrap, properties)) = sasl_properties() {
        let mut config = config.clone();
        config.kafka.bootstrap_servers = bootstrap;
        for (k, v) in properties {
            config.kafka.properties.insert(k.to_string(), v);
        }
        configs.push(("SASL_SSL", config));
    }
    let mut cycles = run_cycles(runtime, scale, &configs)?.into_iter();
    let plain = cycles.next().context("no plaintext cycles")?;
    let secure = cycles.next();
    let rows = rows_of(&plain.model, groups, scale)?;
    if let Some(secure) = &secure {
        rows_of(&secure.model, groups, scale)?;
    }
    let Cycles {
        walls,
        last: snapshot,
        tracker,
        model,
    } = plain;
    let median = walls[walls.len() / 2];
    let (tracked_gp, tracked_p) = tracker.tracked();

    if scale.no_reference {
        println!(
            "  pipetop cycle (poll + model): median {median:.2?} over {} cycles (no reference run)",
            walls.len()
        );
        if let Some(secure) = &secure {
            println!(
                "  over SASL_SSL: median {:.2?}",
                secure.walls[secure.walls.len() / 2]
            );
        }
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
    let reference_out = String::from_utf8_lossy(&out.stdout);
    let reference_rows = reference_out
        .lines()
        .filter(|l| groups.iter().any(|g| l.starts_with(&format!("{g} "))))
        .count();
    let (equal, differ) = same_rows(&model, groups, &reference_out);

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
    match &secure {
        Some(secure) => {
            let m = secure.walls[secure.walls.len() / 2];
            println!(
                "  the same over SASL_SSL (SCRAM-SHA-512, TLS, User:pipetop with read-only ACLs): median {m:.2?} (min {:.2?}, max {:.2?}; {:+.0} % against plaintext)",
                secure.walls[0],
                secure.walls[secure.walls.len() - 1],
                (m.as_secs_f64() / median.as_secs_f64() - 1.0) * 100.0
            );
        }
        None => println!("  (no SASL_SSL listener's CA in PIPETOP_STACK_DIR: plaintext only)"),
    }
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
        "  row for row against kafka-consumer-groups (group, topic, partition, committed, log end, lag): {equal} equal, {} differ{}",
        differ.len(),
        differ
            .iter()
            .take(3)
            .map(|d| format!("\n    {d}"))
            .collect::<String>()
    );
    println!(
        "  speed-up: {:.0}×",
        reference.as_secs_f64() / median.as_secs_f64()
    );
    Ok(())
}

/// pipetop's rows of the bench groups against `kafka-consumer-groups --describe` output
/// (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG …; "-" where it has none): how many
/// are equal, and a description of each that is not (or that only one side has).
fn same_rows(
    model: &pipetop::model::kafka::KafkaModel,
    groups: &[String],
    reference: &str,
) -> (usize, Vec<String>) {
    use std::collections::BTreeMap;
    type Row = (Option<i64>, Option<i64>, Option<u64>);
    let ours: BTreeMap<(String, String, i32), Row> = model
        .groups
        .iter()
        .filter(|g| groups.contains(&g.group_id))
        .flat_map(|g| {
            g.partitions.iter().map(move |p| {
                (
                    (g.group_id.clone(), p.topic.to_string(), p.partition),
                    (p.committed(), p.end(), p.lag()),
                )
            })
        })
        .collect();
    let number = |s: &str| s.parse::<i64>().ok();
    let theirs: BTreeMap<(String, String, i32), Row> = reference
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let partition = f.get(2)?.parse::<i32>().ok()?;
            groups.contains(&f[0].to_string()).then(|| {
                (
                    (f[0].to_string(), f[1].to_string(), partition),
                    (
                        number(f.get(3).copied().unwrap_or("-")),
                        number(f.get(4).copied().unwrap_or("-")),
                        f.get(5).and_then(|l| l.parse::<u64>().ok()),
                    ),
                )
            })
        })
        .collect();
    let mut equal = 0;
    let mut differ = Vec::new();
    for (key, row) in &ours {
        match theirs.get(key) {
            Some(r) if r == row => equal += 1,
            Some(r) => differ.push(format!(
                "{key:?}: pipetop {row:?}, kafka-consumer-groups {r:?}"
            )),
            None => differ.push(format!("{key:?}: only pipetop has it")),
        }
    }
    differ.extend(
        theirs
            .keys()
            .filter(|k| !ours.contains_key(*k))
            .map(|k| format!("{k:?}: only kafka-consumer-groups has it")),
    );
    (equal, differ)
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
                        commit_retrying(&consumer, &tpl)?;
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

/// A new cluster's group coordinators load their partitions of `__consumer_offsets` for a
/// while after start: a commit then fails with a retriable error, tried again for up to a minute.
fn commit_retrying(consumer: &BaseConsumer, tpl: &TopicPartitionList) -> anyhow::Result<()> {
    let mut attempts = 0;
    loop {
        match consumer.commit(tpl, CommitMode::Sync) {
            Ok(()) => return Ok(()),
            Err(e)
                if attempts < 60
                    && matches!(
                        e.rdkafka_error_code(),
                        Some(
                            RDKafkaErrorCode::CoordinatorLoadInProgress
                                | RDKafkaErrorCode::CoordinatorNotAvailable
                                | RDKafkaErrorCode::NotCoordinator
                        )
                    ) =>
            {
                attempts += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e.into()),
        }
    }
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
