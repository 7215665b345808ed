//! Replication on the live 18.16 pair (tests/stack/up, service `replicas`): a ReplicatedMergeTree
//! table on both replicas, polled by pipetop's own collector into a `Model` with alerts.
//! - replica 2's fetches stopped while replica 1 takes inserts: its delay and queue show and
//!   `replica_delay` fires; fetches started again: it catches up and the alert clears;
//! - ZooKeeper paused (SIGSTOP by its pid file): both replicas go read-only, `readonly_replica` and
//!   `keeper_session` fire; resumed: both clear.
//!
//! The tests write (they set the scene); pipetop itself only reads. They share one ZooKeeper, so
//! they take turns.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};
use pipetop::clickhouse::replication::Replica;

/// One test at a time: pausing ZooKeeper would break the other's replication.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(extra: &str) -> pipetop::config::Config {
    common::config_from_toml(&format!(
        r#"
        refresh = "1s"
        [clickhouse]
        hosts = ["{r1}", "{r2}"]
        freshness = []
        {extra}
        "#,
        r1 = common::REPLICA_1,
        r2 = common::REPLICA_2,
    ))
}

/// A replicated table on both replicas, one ZooKeeper path, replica names from the macros.
async fn create(table: &str) {
    for url in [common::REPLICA_1, common::REPLICA_2] {
        common::exec(
            url,
            &format!(
                "CREATE TABLE default.{table} (d Date, x UInt32) ENGINE = \
                 ReplicatedMergeTree('/clickhouse/tables/{{shard}}/default/{table}', '{{replica}}', d, x, 8192)"
            ),
        )
        .await;
    }
}

async fn drop_table(table: &str) {
    for url in [common::REPLICA_1, common::REPLICA_2] {
        common::exec(url, &format!("DROP TABLE IF EXISTS default.{table}")).await;
    }
}

async fn insert(table: &str, x: u32) {
    common::exec(
        common::REPLICA_1,
        &format!("INSERT INTO default.{table} VALUES ('2026-11-27', {x})"),
    )
    .await;
}

/// Rows of the table on one replica (18.16 has no RowBinaryWithNamesAndTypes: no validation).
async fn count(url: &str, table: &str) -> u64 {
    common::writer(url)
        .with_validation(false)
        .query(&format!("SELECT count() FROM default.{table}"))
        .fetch_one::<u64>()
        .await
        .unwrap()
}

async fn wait_rows(url: &str, table: &str, rows: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = count(url, table).await;
        if n == rows {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {n} rows of {table}, not {rows}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The replica of `table` on `host` in the latest model.
fn replica(watch: &common::Watch, host: &str, table: &str) -> Option<Replica> {
    watch
        .model()
        .clickhouse
        .replication
        .replicas
        .rows
        .iter()
        .find(|r| r.host == host && r.item.table == table)
        .map(|r| r.item.clone())
}

/// Polls until `done` holds for the model (at most `secs`), panicking with the replicas seen.
async fn poll_until(
    watch: &mut common::Watch,
    secs: u64,
    what: &str,
    done: impl Fn(&common::Watch) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        watch.poll_clickhouse().await;
        if done(watch) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not within {secs}s; replication: {:#?}",
            watch.model().clickhouse.replication
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn level(
    watch: &common::Watch,
    rule: RuleKind,
    subject: &Subject,
) -> Option<(Severity, AlertState)> {
    watch.alert(rule, subject).map(|a| (a.severity, a.state))
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_fetches_show_delay_and_queue_on_that_replica_and_clear_when_started() {
    common::needs!(Replicas);
    let _turn = TURN.lock().await;
    let table = common::unique("rep_fetch");
    create(&table).await;
    insert(&table, 1).await;
    wait_rows(common::REPLICA_2, &table, 1).await;

    // A warning after 1 s of delay: the shipped 60 s would make this test a minute long.
    let mut watch = common::Watch::new(&config(
        "[alerts.rules.replica_delay]\nwarn = 1\ncrit = 3600\n",
    ));
    watch.poll_clickhouse().await;
    for host in [common::REPLICA_1, common::REPLICA_2] {
        let r = replica(&watch, host, &table).expect("both replicas listed");
        assert!(!r.is_readonly, "{host}: {r:?}");
        assert_eq!(
            (r.total_replicas, r.active_replicas),
            (2, 2),
            "{host}: {r:?}"
        );
        assert_eq!(r.queue_size, 0, "{host}: {r:?}");
    }
    let subject = Subject::new(SubjectKind::Table, format!("default.{table}"));
    assert_eq!(level(&watch, RuleKind::ReplicaDelay, &subject), None);

    common::exec(
        common::REPLICA_2,
        &format!("SYSTEM STOP FETCHES default.{table}"),
    )
    .await;
    for x in 2..=4 {
        insert(&table, x).await;
    }
    assert_eq!(count(common::REPLICA_1, &table).await, 4);
    poll_until(&mut watch, 30, "replica 2 delayed with a queue", |w| {
        replica(w, common::REPLICA_2, &table)
            .is_some_and(|r| r.absolute_delay_s >= 2 && r.queue_size >= 1)
    })
    .await;
    let r1 = replica(&watch, common::REPLICA_1, &table).unwrap();
    assert_eq!((r1.absolute_delay_s, r1.queue_size), (0, 0), "{r1:?}");
    let queue = watch
        .model()
        .clickhouse
        .replication
        .queue_of(common::REPLICA_2, "default", &table)
        .cloned()
        .expect("replica 2's queue is listed");
    assert!(queue.entries >= 1, "{queue:?}");
    assert_eq!(queue.worst.kind, "GET_PART", "{queue:?}");
    let alert = watch
        .alert(RuleKind::ReplicaDelay, &subject)
        .expect("replica_delay");
    assert_eq!(
        (alert.severity, alert.state),
        (Severity::Warning, AlertState::Firing)
    );
    assert!(alert.detail.contains(common::REPLICA_2), "{}", alert.detail);
    assert_eq!(level(&watch, RuleKind::ReadonlyReplica, &subject), None);

    common::exec(
        common::REPLICA_2,
        &format!("SYSTEM START FETCHES default.{table}"),
    )
    .await;
    wait_rows(common::REPLICA_2, &table, 4).await;
    poll_until(&mut watch, 30, "replica 2 caught up", |w| {
        replica(w, common::REPLICA_2, &table).is_some_and(|r| r.queue_size == 0)
            && level(w, RuleKind::ReplicaDelay, &subject).is_none()
    })
    .await;
    drop_table(&table).await;
}

/// Sends SIGCONT to ZooKeeper when dropped, so a failing test never leaves it paused.
struct Paused(u32);

impl Paused {
    fn zookeeper() -> Paused {
        let dir = std::env::var("PIPETOP_STACK_DIR")
            .unwrap_or_else(|_| format!("{}/target/stack", env!("CARGO_MANIFEST_DIR")));
        let file = format!("{dir}/run/zookeeper.pid");
        let pid: u32 = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .trim()
            .parse()
            .unwrap();
        signal("STOP", pid);
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("CONT", self.0);
    }
}

fn signal(name: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}: {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_zookeeper_makes_both_replicas_read_only_and_its_return_clears_them() {
    common::needs!(Replicas);
    let _turn = TURN.lock().await;
    let table = common::unique("rep_zk");
    create(&table).await;
    insert(&table, 1).await;
    wait_rows(common::REPLICA_2, &table, 1).await;

    let mut watch = common::Watch::new(&config(""));
    watch.poll_clickhouse().await;
    let subject = Subject::new(SubjectKind::Table, format!("default.{table}"));
    let keeper = |host: &str| Subject::new(SubjectKind::Server, host);
    for host in [common::REPLICA_1, common::REPLICA_2] {
        assert!(!replica(&watch, host, &table).unwrap().is_readonly);
        assert_eq!(level(&watch, RuleKind::KeeperSession, &keeper(host)), None);
    }
    assert_eq!(level(&watch, RuleKind::ReadonlyReplica, &subject), None);

    let paused = Paused::zookeeper();
    poll_until(&mut watch, 60, "both replicas read-only", |w| {
        [common::REPLICA_1, common::REPLICA_2]
            .iter()
            .all(|h| replica(w, h, &table).is_some_and(|r| r.is_readonly))
    })
    .await;
    assert_eq!(
        level(&watch, RuleKind::ReadonlyReplica, &subject),
        Some((Severity::Critical, AlertState::Firing))
    );
    for host in [common::REPLICA_1, common::REPLICA_2] {
        let r = replica(&watch, host, &table).unwrap();
        assert!(r.is_session_expired, "{host}: {r:?}");
        let health = watch
            .model()
            .clickhouse
            .hosts
            .iter()
            .find(|h| h.host == host)
            .unwrap();
        assert!(health.readonly_replicas >= Some(1), "{health:?}");
    }
    // The session probe waits on the paused ZooKeeper: by now each host's has failed.
    poll_until(&mut watch, 30, "keeper_session on both hosts", |w| {
        [common::REPLICA_1, common::REPLICA_2].iter().all(|h| {
            level(w, RuleKind::KeeperSession, &keeper(h))
                == Some((Severity::Critical, AlertState::Firing))
        })
    })
    .await;

    drop(paused);
    poll_until(&mut watch, 60, "both replicas writable again", |w| {
        [common::REPLICA_1, common::REPLICA_2]
            .iter()
            .all(|h| replica(w, h, &table).is_some_and(|r| !r.is_readonly))
            && level(w, RuleKind::ReadonlyReplica, &subject).is_none()
            && [common::REPLICA_1, common::REPLICA_2]
                .iter()
                .all(|h| level(w, RuleKind::KeeperSession, &keeper(h)).is_none())
    })
    .await;
    insert(&table, 2).await;
    wait_rows(common::REPLICA_2, &table, 2).await;
    drop_table(&table).await;
}
