//! Kafka faults on the three-broker fault cluster (`scripts/test` starts it), watched by pipetop's
//! real collector and session: one broker killed, stopped (TERM), paused (SIGSTOP), the active
//! controller killed, each then brought back. Each test measures detection and recovery and
//! prints them as `FAULT-TIMES ...` lines (README, "Reliability"). One test at a time: they share
//! the cluster (`faults::cluster::Whole`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;
mod faults;

use faults::cluster::Action;
use faults::scenario::{DETECTION_LIMIT, Fault, RECOVERY_LIMIT, UPDATE_LIMIT, Victim, run};

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
