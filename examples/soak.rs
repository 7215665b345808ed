//! The soak: the real dashboard in a terminal (tmux, 200×50) for `--minutes` against a stack of
//! its own, with constant churn, sampling pipetop's RSS, open descriptors, threads and CPU every
//! `--sample`. Run it through `scripts/soak`, which starts and stops that stack.
//!
//! Churn, one step every `--step`, round robin: a consumer group created (offsets committed without
//! joining), the oldest soak group deleted, a topic created, a topic grown by a partition, the
//! oldest soak topic deleted, a ClickHouse table created (one row inserted), the oldest dropped,
//! the sink paused or resumed; and every `--restart-every`, ClickHouse and then the broker
//! restarted (stopped, a few seconds down, started).
//!
//! Verdict: after `--warmup`, RSS must not grow by more than 5 MiB (the last window's median
//! against the first window's) and neither descriptors nor threads may grow (the last window's
//! maximum against the first window's maximum). Samples are kept as CSV.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a tool: a panic is a failed soak

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 30)]
    minutes: u64,
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    warmup: Duration,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    sample: Duration,
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    step: Duration,
    #[arg(long, default_value = "6m", value_parser = humantime::parse_duration)]
    restart_every: Duration,
    #[arg(long, default_value = "127.0.0.1:39092")]
    kafka: String,
    #[arg(long, default_value = "http://127.0.0.1:38123")]
    clickhouse: String,
    /// The soak stack's state directory (PIPETOP_STACK_DIR of `tests/stack/*`).
    #[arg(long)]
    stack_dir: PathBuf,
    #[arg(long, default_value = "target/release/pipetop")]
    pipetop: PathBuf,
    #[arg(long, default_value = "target/release/examples/pipeline")]
    pipeline: PathBuf,
    #[arg(long, default_value = "target/soak/samples.csv")]
    csv: PathBuf,
}

struct Sample {
    at_s: u64,
    rss_kib: u64,
    fds: u64,
    threads: u64,
    cpu_ms: u64,
}

fn read_sample(pid: u32, at_s: u64) -> anyhow::Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no ) in stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Sample {
        at_s,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64,
        cpu_ms: ticks * 10,
    })
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn tmux(args: &[&str]) -> Command {
    let mut c = Command::new("tmux");
    c.args(["-L", "pipetop-soak"]).args(args);
    c
}

/// The churn's state: what it created, oldest first, so it can delete it again.
struct Churn {
    kafka: String,
    clickhouse: String,
    stack_dir: PathBuf,
    pipeline: PathBuf,
    admin: AdminClient<DefaultClientContext>,
    http: curl::Http,
    groups: VecDeque<String>,
    topics: VecDeque<(String, i32)>,
    tables: VecDeque<String>,
    paused: bool,
    n: u64,
    steps: u64,
}

impl Churn {
    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.kafka)
            .set("socket.timeout.ms", "5000");
        c
    }

    async fn step(&mut self) -> anyhow::Result<String> {
        self.n += 1;
        let n = self.n;
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let what = match n % 8 {
            0 => {
                let group = format!("soak_g_{n}");
                let consumer: BaseConsumer = self
                    .config()
                    .set("group.id", &group)
                    .set("enable.auto.commit", "false")
                    .create()?;
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset("events_topic", 0, Offset::Offset(0))?;
                consumer.commit(&tpl, CommitMode::Sync)?;
                self.groups.push_back(group.clone());
                format!("group {group} created")
            }
            1 => match self.groups.len() > 10 {
                true => {
                    let group = self.groups.pop_front().unwrap_or_default();
                    self.admin.delete_groups(&[&group], &opts).await?;
                    format!("group {group} deleted")
                }
                false => "kept the groups".into(),
            },
            2 => {
                let topic = format!("soak_t_{n}");
                let new = NewTopic::new(&topic, 2, TopicReplication::Fixed(1));
                for r in self.admin.create_topics(&[new], &opts).await? {
                    r.map_err(|(t, e)| anyhow::anyhow!("create {t}: {e}"))?;
                }
                self.topics.push_back((topic.clone(), 2));
                format!("topic {topic} created")
            }
            3 => match self.topics.back_mut() {
                Some((topic, partitions)) => {
                    *partitions += 1;
                    let grow = NewPartitions::new(topic, *partitions as usize);
                    for r in self.admin.create_partitions(&[grow], &opts).await? {
                        r.map_err(|(t, e)| anyhow::anyhow!("grow {t}: {e}"))?;
                    }
                    format!("topic {topic} grown to {partitions}")
                }
                None => "no topic to grow".into(),
            },
            4 => match self.topics.len() > 6 {
                true => {
                    let (topic, _) = self.topics.pop_front().unwrap_or_default();
                    self.admin.delete_topics(&[&topic], &opts).await?;
                    format!("topic {topic} deleted")
                }
                false => "kept the topics".into(),
            },
            5 => {
                let table = format!("soak.t_{n}");
                self.http
                    .post(&self.clickhouse, "CREATE DATABASE IF NOT EXISTS soak")?;
                self.http.post(
                    &self.clickhouse,
                    &format!(
                        "CREATE TABLE {table} (t DateTime, v UInt64) ENGINE = MergeTree ORDER BY t"
                    ),
                )?;
                self.http.post(
                    &self.clickhouse,
                    &format!("INSERT INTO {table} VALUES (now(), {n})"),
                )?;
                self.tables.push_back(table.clone());
                format!("table {table} created")
            }
            6 => match self.tables.len() > 6 {
                true => {
                    let table = self.tables.pop_front().unwrap_or_default();
                    self.http
                        .post(&self.clickhouse, &format!("DROP TABLE IF EXISTS {table}"))?;
                    format!("table {table} dropped")
                }
                false => "kept the tables".into(),
            },
            _ => {
                self.paused = !self.paused;
                let word = if self.paused { "pause" } else { "run" };
                run(Command::new(&self.pipeline)
                    .env("PIPELINE_CONTROL", self.stack_dir.join("pipeline/control"))
                    .args(["ctl", word]))?;
                format!("sink {word}")
            }
        };
        self.steps += 1;
        Ok(what)
    }

    /// ClickHouse, then the broker: each stopped, down a few seconds, started again. On a thread
    /// of its own, so sampling and churn go on meanwhile.
    fn restart_servers(&self) -> std::thread::JoinHandle<anyhow::Result<()>> {
        let (stack_dir, kafka, clickhouse) = (
            self.stack_dir.clone(),
            port_of(&self.kafka),
            port_of(&self.clickhouse),
        );
        std::thread::spawn(move || restart_servers(&stack_dir, &kafka, &clickhouse))
    }
}

fn restart_servers(stack_dir: &Path, kafka_port: &str, chdb_port: &str) -> anyhow::Result<()> {
    let stack = |args: &[&str], script: &str| -> anyhow::Result<()> {
        run(Command::new(Path::new("tests/stack").join(script))
            .env("PIPETOP_STACK_DIR", stack_dir)
            .env("PIPETOP_KAFKA_PORT", kafka_port)
            .env("PIPETOP_CHDB_PORT", chdb_port)
            .args(args))
    };
    let pid_file = stack_dir.join("run/clickhouse.pid");
    let pid = std::fs::read_to_string(&pid_file)?;
    run(Command::new("kill").args(["-TERM", pid.trim()]))?;
    let gone = Instant::now();
    while Path::new(&format!("/proc/{}", pid.trim())).exists()
        && gone.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(5));
    stack(&["--only", "clickhouse"], "up")?;
    stack(&["stop", "1"], "kafka-node")?;
    std::thread::sleep(Duration::from_secs(5));
    stack(&["start", "1"], "kafka-node")?;
    Ok(())
}

fn port_of(address: &str) -> String {
    address.rsplit(':').next().unwrap_or_default().to_string()
}

/// ClickHouse's HTTP interface through curl: the soak's writes are setup, not what is measured.
mod curl {
    pub struct Http;
    impl Http {
        pub fn post(&self, url: &str, sql: &str) -> anyhow::Result<()> {
            let out = std::process::Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "30",
                    "--fail-with-body",
                    "--data-binary",
                    sql,
                    url,
                ])
                .output()?;
            if !out.status.success() {
                anyhow::bail!("{sql}: {}", String::from_utf8_lossy(&out.stdout));
            }
            Ok(())
        }
    }
}

fn window(samples: &[Sample], from_s: u64, to_s: u64) -> Vec<&Sample> {
    samples
        .iter()
        .filter(|s| s.at_s >= from_s && s.at_s < to_s)
        .collect()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(args.csv.parent().unwrap_or(Path::new(".")))?;
    let config_path = args.csv.with_file_name("pipetop.toml");
    std::fs::write(
        &config_path,
        format!(
            "context = \"soak\"\nrefresh = \"2s\"\n[kafka]\nbootstrap_servers = \"{}\"\nrequest_timeout = \"5s\"\n[clickhouse]\nurl = \"{}\"\n",
            args.kafka, args.clickhouse
        ),
    )?;
    let _ = tmux(&["kill-server"]).output();
    let command = format!(
        "exec {} --config {}",
        args.pipetop.display(),
        config_path.display()
    );
    run(&mut tmux(&[
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        &command,
    ]))?;
    let pane = tmux(&["display", "-p", "#{pane_pid}"]).output()?;
    let pid: u32 = String::from_utf8_lossy(&pane.stdout).trim().parse()?;
    println!(
        "pipetop pid {pid} in tmux -L pipetop-soak; {} minutes",
        args.minutes
    );

    let mut churn = Churn {
        kafka: args.kafka.clone(),
        clickhouse: args.clickhouse.clone(),
        stack_dir: args.stack_dir.clone(),
        pipeline: args.pipeline.clone(),
        admin: {
            let mut c = ClientConfig::new();
            c.set("bootstrap.servers", &args.kafka);
            c.create()?
        },
        http: curl::Http,
        groups: VecDeque::new(),
        topics: VecDeque::new(),
        tables: VecDeque::new(),
        paused: false,
        n: 0,
        steps: 0,
    };

    let start = Instant::now();
    let end = Duration::from_secs(args.minutes * 60);
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = Duration::ZERO;
    let mut next_restart = args.restart_every;
    let mut failed_steps = 0;
    let mut restarts = 0;
    let mut restarting: Option<std::thread::JoinHandle<anyhow::Result<()>>> = None;
    let mut csv = String::from("seconds,rss_kib,fds,threads,cpu_ms\n");
    while start.elapsed() < end {
        if start.elapsed() >= next_sample {
            let s = read_sample(pid, start.elapsed().as_secs())
                .context("pipetop is gone (crashed or quit)")?;
            csv += &format!(
                "{},{},{},{},{}\n",
                s.at_s, s.rss_kib, s.fds, s.threads, s.cpu_ms
            );
            std::fs::write(&args.csv, &csv)?;
            println!(
                "{:>5}s rss {:>7.1} MiB fds {:>3} threads {:>3} cpu {:>7} ms",
                s.at_s,
                s.rss_kib as f64 / 1024.0,
                s.fds,
                s.threads,
                s.cpu_ms
            );
            samples.push(s);
            next_sample += args.sample;
        }
        if restarting.as_ref().is_some_and(|r| r.is_finished())
            && let Some(done) = restarting.take()
        {
            match done.join() {
                Ok(Ok(())) => restarts += 1,
                Ok(Err(e)) => println!("restart failed: {e:#}"),
                Err(_) => println!("restart thread panicked"),
            }
        }
        if start.elapsed() >= next_restart && restarting.is_none() {
            println!(
                "{:>5}s restarting ClickHouse, then the broker",
                start.elapsed().as_secs()
            );
            restarting = Some(churn.restart_servers());
            next_restart += args.restart_every;
        }
        if let Err(e) = churn.step().await {
            // A step may fail while a server restarts: churn goes on.
            failed_steps += 1;
            println!("step failed: {e:#}");
        }
        tokio::time::sleep(args.step).await;
    }
    let screen = tmux(&["capture-pane", "-p"]).output()?;
    let _ = tmux(&["send-keys", "q"]).output();
    std::thread::sleep(Duration::from_secs(1));
    let _ = tmux(&["kill-server"]).output();

    // Verdict.
    let w = args.warmup.as_secs();
    let last = samples.last().map_or(0, |s| s.at_s);
    let first_window = window(&samples, w, w + 300);
    let last_window = window(&samples, last.saturating_sub(300), last + 1);
    let rss = |ws: &[&Sample]| median(ws.iter().map(|s| s.rss_kib).collect());
    let max = |ws: &[&Sample], f: fn(&Sample) -> u64| ws.iter().map(|s| f(s)).max().unwrap_or(0);
    let (rss0, rss1) = (rss(&first_window), rss(&last_window));
    let (fd0, fd1) = (max(&first_window, |s| s.fds), max(&last_window, |s| s.fds));
    let (th0, th1) = (
        max(&first_window, |s| s.threads),
        max(&last_window, |s| s.threads),
    );
    let cpu = samples.last().map_or(0, |s| s.cpu_ms);
    println!(
        "\nsoak: {} min, {} churn steps ({failed_steps} failed while servers restarted), {restarts} server restarts",
        args.minutes, churn.steps
    );
    println!(
        "| figure | after warm-up ({}s–{}s) | last 5 min | limit |",
        w,
        w + 300
    );
    println!("|---|---|---|---|");
    println!(
        "| RSS (median) | {:.1} MiB | {:.1} MiB | +5 MiB |",
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0
    );
    println!("| open descriptors (max) | {fd0} | {fd1} | no growth |");
    println!("| threads (max) | {th0} | {th1} | no growth |");
    println!(
        "cpu {cpu} ms over {last}s ({:.1} % of one core); samples in {}",
        cpu as f64 / 10.0 / last.max(1) as f64,
        args.csv.display()
    );
    println!("last screen:\n{}", String::from_utf8_lossy(&screen.stdout));
    let mut verdict = Vec::new();
    if rss1 > rss0 + 5 * 1024 {
        verdict.push(format!(
            "RSS grew by {:.1} MiB",
            (rss1 - rss0) as f64 / 1024.0
        ));
    }
    if fd1 > fd0 {
        verdict.push(format!("descriptors grew {fd0} → {fd1}"));
    }
    if th1 > th0 {
        verdict.push(format!("threads grew {th0} → {th1}"));
    }
    if verdict.is_empty() {
        println!("PASS");
        Ok(())
    } else {
        bail!("FAIL: {}", verdict.join("; "))
    }
}
