//! A direct check of every known broker at the start of a poll, apart from librdkafka: a TCP
//! connection to its advertised address, and (on plaintext listeners) one ApiVersions request.
//!
//! librdkafka waits a whole request timeout for a broker it cannot reach: a request to a killed
//! broker sits in its queue while every reconnect is refused, and one to a stalled broker (alive,
//! sockets open, no answers) waits for an answer that never comes. Seen through the poll's own
//! requests, a broker that failed after the last poll costs that poll a request timeout before
//! it shows down. This check answers in a fraction of [`PROBE_TIMEOUT`]: a refused connection at
//! once, a stalled broker when its ApiVersions answer does not come within the limit. A broker it
//! finds down is treated as one known down from the start of the poll (`down_brokers`).
//!
//! ApiVersions is what every Kafka client sends first on a connection, before any
//! authentication; it reads nothing and changes nothing. Over TLS the check is the TCP
//! connection alone (speaking TLS here would duplicate librdkafka's configuration), so a stalled
//! broker there is seen through the poll's requests, as before.
//!
//! [`PROBE_TIMEOUT`]: super::down_brokers::PROBE_TIMEOUT

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::admin::AdminError;
use super::types::Node;

/// How long past the checks' time limit their answers are waited for.
const ANSWER_GRACE: Duration = Duration::from_millis(100);

/// Why a broker failed the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub reason: String,
}

/// What the check says to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// TCP connection and an ApiVersions answer (plaintext and SASL_PLAINTEXT listeners).
    ApiVersions,
    /// TCP connection only (TLS listeners).
    Connect,
}

impl Depth {
    /// From librdkafka's `security.protocol` (plaintext when unset).
    pub fn for_protocol(protocol: Option<&str>) -> Depth {
        match protocol.map(str::to_ascii_lowercase).as_deref() {
            None | Some("plaintext" | "sasl_plaintext") => Depth::ApiVersions,
            Some(_) => Depth::Connect,
        }
    }
}

/// Checks every broker at once and returns those that failed, by id, within `limit` (a check
/// still running at the limit is a failure only if it had connected: an unresolved host name is
/// not a broker found down).
pub fn unreachable_brokers(
    brokers: &[Node],
    depth: Depth,
    limit: Duration,
) -> BTreeMap<i32, Unreachable> {
    let deadline = Instant::now() + limit;
    let (tx, rx) = mpsc::channel();
    for b in brokers {
        let tx = tx.clone();
        let (id, host, port) = (b.id, b.host.clone(), b.port);
        // Threads of their own, not scoped: a name lookup has no time limit, and the poll must
        // not wait for one past `limit`. Such a thread ends with its lookup.
        let spawned = std::thread::Builder::new()
            .name("pipetop-broker-probe".into())
            .spawn(move || {
                let _ = tx.send((id, check(&host, port, depth, deadline, limit)));
            });
        if spawned.is_err() {
            // No thread: no check, never a broker found down for it.
            continue;
        }
    }
    drop(tx);
    // A check ends at `deadline` at the latest (its own time limits), and its answer takes a
    // moment more to arrive: waited for, so that a stalled broker's is not lost.
    let answers_until = deadline + ANSWER_GRACE;
    let mut failed = BTreeMap::new();
    while let Ok((id, outcome)) =
        rx.recv_timeout(answers_until.saturating_duration_since(Instant::now()))
    {
        if let Err(e) = outcome {
            failed.insert(id, e);
        }
    }
    failed
}

/// The poll's error when the check found every known broker down: the cluster is, and asking it
/// through librdkafka would only wait out its timeouts.
pub fn every_broker_unreachable(unreachable: &BTreeMap<i32, Unreachable>) -> AdminError {
    let each: Vec<String> = unreachable
        .iter()
        .map(|(id, u)| format!("broker {id}: {}", u.reason))
        .collect();
    AdminError::Kafka {
        op: "metadata",
        code: RDKafkaErrorCode::AllBrokersDown,
        message: format!("every broker unreachable ({})", each.join("; ")),
    }
}

/// One broker: Ok when it answered (or could not be looked up in time: unknown, not down).
fn check(
    host: &str,
    port: u16,
    depth: Depth,
    deadline: Instant,
    limit: Duration,
) -> Result<(), Unreachable> {
    let fail = |reason: String| Err(Unreachable { reason });
    let Some(addr) = resolve(host, port) else {
        return Ok(());
    };
    let left = || deadline.saturating_duration_since(Instant::now());
    if left().is_zero() {
        return Ok(());
    }
    let mut stream = match TcpStream::connect_timeout(&addr, left()) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            return fail(format!("no TCP connection within {:?}", limit));
        }
        Err(e) => return fail(format!("TCP connection failed: {e}")),
    };
    if depth == Depth::Connect {
        return Ok(());
    }
    let correlation_id: i32 = 0x7069_7065; // "pipe"
    let mut ask = || -> std::io::Result<[u8; 8]> {
        stream.set_write_timeout(Some(left().max(Duration::from_millis(1))))?;
        stream.write_all(&api_versions_request(correlation_id))?;
        stream.set_read_timeout(Some(left().max(Duration::from_millis(1))))?;
        let mut head = [0u8; 8];
        stream.read_exact(&mut head)?;
        Ok(head)
    };
    match ask() {
        Ok(head) if head[4..8] == correlation_id.to_be_bytes() => Ok(()),
        Ok(_) => fail("answered ApiVersions with another request's id".to_string()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            fail(format!(
                "connected, but no answer to ApiVersions within {:?}",
                limit
            ))
        }
        Err(e) => fail(format!("connection lost before answering ApiVersions: {e}")),
    }
}

fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    (host, port).to_socket_addrs().ok()?.next()
}

/// ApiVersions v0 (the version every broker takes): size, api key 18, version 0, correlation id,
/// client id "pipetop"; an empty body.
fn api_versions_request(correlation_id: i32) -> Vec<u8> {
    const CLIENT_ID: &[u8] = b"pipetop";
    let mut body = Vec::with_capacity(32);
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&i16::try_from(CLIENT_ID.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    let mut request = Vec::with_capacity(body.len() + 4);
    request.extend_from_slice(&i32::try_from(body.len()).unwrap_or(0).to_be_bytes());
    request.extend_from_slice(&body);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_v0_request_bytes() {
        let r = api_versions_request(7);
        assert_eq!(
            r,
            [
                0, 0, 0, 17, 0, 18, 0, 0, 0, 0, 0, 7, 0, 7, b'p', b'i', b'p', b'e', b't', b'o',
                b'p'
            ]
        );
    }

    #[test]
    fn tls_listeners_are_only_connected_to() {
        assert_eq!(Depth::for_protocol(None), Depth::ApiVersions);
        assert_eq!(
            Depth::for_protocol(Some("SASL_PLAINTEXT")),
            Depth::ApiVersions
        );
        assert_eq!(Depth::for_protocol(Some("ssl")), Depth::Connect);
        assert_eq!(Depth::for_protocol(Some("SASL_SSL")), Depth::Connect);
    }
}
