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
#[ignore = "fails 3 runs in 6: after every broker restarted, the OffsetFetch of one \
            coordinator's groups kept timing out for over 60 s while that broker answered \
            everything else, while fresh clients read them (the long-lived librdkafka client's \
            state; README, Reliability); detection and recovery pass; run with --ignored"]
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
