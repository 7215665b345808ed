//! The direct broker check (`kafka::broker_probe`) against loopback sockets that stand in for a
//! dead and a stalled broker: a port nobody listens on, and a listener that accepts and never
//! answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::kafka::broker_probe::{Depth, unreachable_brokers};
use pipetop::kafka::types::Node;

fn node(id: i32, port: u16) -> Node {
    Node {
        id,
        host: "127.0.0.1".to_string(),
        port,
        rack: None,
    }
}

#[test]
fn a_closed_port_is_unreachable_at_once_and_a_silent_one_at_the_limit() {
    common::needs!(Loopback);
    // A port nobody listens on: refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // A listener that accepts (the kernel does, into its backlog) and never answers: a
    // stalled broker.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let limit = Duration::from_millis(300);
    let t = Instant::now();
    let failed = unreachable_brokers(
        &[node(1, closed_port), node(2, silent_port)],
        Depth::ApiVersions,
        limit,
    );
    assert!(t.elapsed() < limit + Duration::from_millis(200));
    assert!(
        failed[&1].reason.contains("TCP connection failed"),
        "{failed:?}"
    );
    assert!(failed[&2].reason.contains("no answer"), "{failed:?}");
    // Connection alone: the silent listener passes.
    let failed = unreachable_brokers(&[node(2, silent_port)], Depth::Connect, limit);
    assert!(failed.is_empty(), "{failed:?}");
}
