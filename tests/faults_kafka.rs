//! Kafka faults on the three-broker fault cluster (`scripts/test` starts it), watched by pipetop's
//! real collector and session: one broker killed, stopped (TERM), paused (SIGSTOP), the active
//! controller killed, each then brought back. Each test measures detection and recovery and
//! prints them as `FAULT-TIMES ...` lines (README, "Reliability"). One test at a time: they share
//! the cluster (`faults::cluster::Whole`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;
mod faults;

use faults::cluster::Action;
use faults::scenario::{
    DETECTION_LIMIT, Fault, RECOVERY_LIMIT, REQUEST_TIMEOUT, UPDATE_LIMIT, Victim, all_down, run,
};

async fn fault(fault: Fault) {
    let m = run(&fault).await;
    assert!(
        m.max_gap <= UPDATE_LIMIT,
        "{}: {:?} between two polls during the fault (limit {UPDATE_LIMIT:?})",
        fault.name,
        m.max_gap
    );
    assert!(
        m.detection <= DETECTION_LIMIT,
        "{}: detected after {:?} (limit {DETECTION_LIMIT:?})",
        fault.name,
        m.detection
    );
    assert!(
        m.recovery <= RECOVERY_LIMIT,
        "{}: recovered {:?} after the broker was back (limit {RECOVERY_LIMIT:?})",
        fault.name,
        m.recovery
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_broker_killed_then_restarted() {
    common::needs!(FaultKafka);
    fault(Fault {
        name: "kill",
        victim: Victim::Node(2),
        action: Action::Kill,
        back: Action::Start,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_broker_stopped_then_restarted() {
    common::needs!(FaultKafka);
    fault(Fault {
        name: "stop",
        victim: Victim::Node(3),
        action: Action::Stop,
        back: Action::Start,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_broker_paused_then_resumed() {
    common::needs!(FaultKafka);
    fault(Fault {
        name: "pause",
        victim: Victim::Node(2),
        action: Action::Pause,
        back: Action::Resume,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_killed_then_restarted() {
    common::needs!(FaultKafka);
    fault(Fault {
        name: "controller-kill",
        victim: Victim::Controller,
        action: Action::Kill,
        back: Action::Start,
    })
    .await;
}

/// Every broker down: the source fails as a whole, the screen keeps the last figures with their
/// age; all back: whole again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broker_killed_then_all_restarted() {
    common::needs!(FaultKafka);
    let m = all_down().await;
    assert!(
        m.detection <= DETECTION_LIMIT,
        "all-down: detected after {:?}",
        m.detection
    );
    assert!(
        m.max_gap <= UPDATE_LIMIT + REQUEST_TIMEOUT,
        "all-down: {:?} between polls",
        m.max_gap
    );
    assert!(
        m.recovery <= RECOVERY_LIMIT,
        "all-down: every broker up {:?} after the cluster answered again (limit {RECOVERY_LIMIT:?})",
        m.recovery
    );
}

/// The real binary in tmux: the header during a SIGSTOP, and keys answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_says_which_brokers_answer_while_one_is_stalled() {
    common::needs!(FaultKafka, Tmux);
    let detection = faults::screen::header_during_pause().await;
    assert!(
        detection <= DETECTION_LIMIT,
        "header said 2/3 after {detection:?} (limit {DETECTION_LIMIT:?})"
    );
}

/// A killed broker refuses connections at once. A request waiting for it (here DescribeConfigs
/// of the broker itself; in the dashboard the ListGroups sent to every broker) must not make the
/// client reconnect in a loop, as librdkafka did: each refusal woke the request, which asked for
/// a connection now, past the reconnect backoff, thousands of times a second for the request's
/// whole timeout, a core taken from the screen (issue 15; vendor/rdkafka-sys/PIPETOP-PATCH.md,
/// fix 3). With pipetop's settings (backoff 100 ms growing to 1 s) a 6 s wait makes about ten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_for_a_killed_broker_keeps_the_reconnect_backoff() {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::Duration;
    common::needs!(FaultKafka);
    let _whole = faults::cluster::Whole::take();
    let victim = 3;
    let kafka = pipetop::config::KafkaConfig {
        bootstrap_servers: faults::cluster::bootstrap(),
        request_timeout: REQUEST_TIMEOUT,
        ..pipetop::config::KafkaConfig::default()
    };
    let admin: AdminClient<DefaultClientContext> =
        pipetop::kafka::client_config::client_config(&kafka)
            .create()
            .unwrap();
    // Connected to every broker before the kill.
    admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();

    faults::cluster::node(Action::Kill, victim);
    // The victim's port now counts the attempts: each connection is accepted and closed at once
    // (a failure as immediate as a refusal, and countable).
    // (SIGKILL is sent, not waited for: the port is free once the process is gone.)
    let port = faults::cluster::broker_port(victim);
    let free_by = std::time::Instant::now() + Duration::from_secs(10);
    let listener = loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => break listener,
            Err(_) if std::time::Instant::now() < free_by => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("port {port} still in use 10 s after the kill: {e}"),
        }
    };
    listener.set_nonblocking(true).unwrap();
    let (attempts, stop) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let counter = {
        let (attempts, stop) = (Arc::clone(&attempts), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((connection, _)) => {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        drop(connection);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        })
    };
    let options = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
    let answer = admin
        .describe_configs(&[ResourceSpecifier::Broker(victim)], &options)
        .await;
    stop.store(true, Ordering::Relaxed);
    counter.join().unwrap();
    assert!(
        answer.is_err() || answer.as_ref().is_ok_and(|r| r.iter().all(Result::is_err)),
        "the killed broker answered: {answer:?}"
    );
    let attempts = attempts.load(Ordering::Relaxed);
    println!("RECONNECTS attempts={attempts} wait={REQUEST_TIMEOUT:?}");
    assert!(
        attempts <= 30,
        "{attempts} connection attempts to the killed broker while one request waited \
         {REQUEST_TIMEOUT:?} for it (the backoff allows about 10)"
    );
}

/// Groups sent in one OffsetFetch to a broker that does not coordinate them (the collector's
/// metadata is stale: their coordinator moved) answer NOT_COORDINATOR each; they are asked again
/// one at a time, where librdkafka's coordinator lookup sends them, and answer as one request
/// each does. With the right coordinators, one request per broker answers them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_sent_to_the_wrong_coordinator_are_asked_again_alone() {
    use faults::cluster::client_config;
    use faults::fixture::{commit, group_coordinated_by, group_log_leaders};
    use pipetop::kafka::admin::{Admin, OffsetFetchesInFlight};
    // One batch at a time, as a poll sends few.
    const IN_FLIGHT: OffsetFetchesInFlight = OffsetFetchesInFlight {
        batches: 1,
        alone: 64,
    };
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use std::time::Duration;
    common::needs!(FaultKafka);
    let _whole = faults::cluster::Whole::take();
    let topic = common::unique("batch_coord");
    common::create_topic_on(client_config(), &topic, 2, &[]).await;
    let leaders = group_log_leaders(&topic);
    let coordinators = [1, 1, 2, 2];
    let groups: Vec<String> = coordinators
        .iter()
        .enumerate()
        .map(|(i, &b)| group_coordinated_by(&leaders, b, &format!("batch{i}_")))
        .collect();
    for (i, g) in groups.iter().enumerate() {
        commit(g, &topic, &[(0, i64::try_from(i).unwrap() + 1), (1, 0)]);
    }
    let timeout = Duration::from_secs(10);
    let admin = Admin::new(&client_config()).unwrap();
    let one_each = admin.list_group_offsets(&groups, 64, timeout).unwrap();
    let json = |v: &[pipetop::kafka::types::GroupOffsets]| serde_json::to_string(v).unwrap();
    assert!(
        one_each
            .iter()
            .all(|g| g.error.is_none() && g.offsets.len() == 2)
    );

    let right: Vec<(String, Option<i32>)> =
        groups.iter().cloned().zip(coordinators.map(Some)).collect();
    let (answers, sent) = admin
        .list_group_offsets_batched(&right, IN_FLIGHT, timeout)
        .unwrap();
    assert_eq!(json(&answers), json(&one_each));
    assert_eq!(sent, 2, "one request per coordinator");

    let wrong: Vec<(String, Option<i32>)> = groups.iter().map(|g| (g.clone(), Some(3))).collect();
    let (answers, sent) = admin
        .list_group_offsets_batched(&wrong, IN_FLIGHT, timeout)
        .unwrap();
    assert_eq!(json(&answers), json(&one_each));
    assert_eq!(sent, 1 + groups.len(), "the batch, then each group alone");

    let cleanup: AdminClient<DefaultClientContext> = client_config().create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    let _ = cleanup.delete_groups(&refs, &options).await;
    let _ = cleanup.delete_topics(&[topic.as_str()], &options).await;
}
