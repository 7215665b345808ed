//! A small Kafka-protocol proxy on loopback in front of the stack's one broker: it stands in for a
//! broker whose answers go wrong, not for Kafka itself. Every request and answer passes through
//! unchanged except two:
//! - the broker addresses in Metadata and FindCoordinator answers name the proxy, so a client that
//!   learns the cluster's brokers keeps talking through it;
//! - while [`KafkaProxy::blank_brokers`] is on, Metadata answers list no broker at all and keep
//!   their topics. That is what a KRaft broker answers while its controller has it fenced (all
//!   brokers fenced: none alive to list), e.g. just after a pause longer than its session.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const METADATA: i16 = 3;
const FIND_COORDINATOR: i16 = 10;
/// The first flexible (compact, tagged) version of each rewritten answer.
const METADATA_FLEXIBLE: i16 = 9;
const FIND_COORDINATOR_FLEXIBLE: i16 = 3;
/// Far above any answer of the tests' small topics.
const MAX_FRAME: usize = 64 << 20;

pub struct KafkaProxy {
    pub port: u16,
    blank: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Metadata answers sent with their brokers left out.
    blanked: Arc<AtomicU64>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl KafkaProxy {
    /// Listens on an ephemeral loopback port and forwards each connection to `upstream`.
    pub fn start(upstream: &str) -> KafkaProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = KafkaProxy {
            port,
            blank: Arc::default(),
            stop: Arc::default(),
            blanked: Arc::default(),
            connections: Arc::default(),
        };
        let (blank, stop, blanked, connections) = (
            Arc::clone(&proxy.blank),
            Arc::clone(&proxy.stop),
            Arc::clone(&proxy.blanked),
            Arc::clone(&proxy.connections),
        );
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let rewrite = Rewrite {
                    port,
                    blank: Arc::clone(&blank),
                    blanked: Arc::clone(&blanked),
                };
                if let Ok(mut open) = connections.lock() {
                    open.extend([&client, &server].iter().filter_map(|s| s.try_clone().ok()));
                }
                relay(client, server, rewrite);
            }
        });
        proxy
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Turns on or off the Metadata answers without brokers.
    pub fn blank_brokers(&self, on: bool) {
        self.blank.store(on, Ordering::SeqCst);
    }

    /// How many Metadata answers went out without their brokers.
    pub fn blanked(&self) -> u64 {
        self.blanked.load(Ordering::SeqCst)
    }
}

impl Drop for KafkaProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Ok(open) = self.connections.lock() {
            for s in open.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

struct Rewrite {
    port: u16,
    blank: Arc<AtomicBool>,
    blanked: Arc<AtomicU64>,
}

/// Two threads per connection: requests up (noting each one's API and version by correlation
/// id), answers down (rewritten when they are Metadata or FindCoordinator).
fn relay(client: TcpStream, server: TcpStream, rewrite: Rewrite) {
    let asked: Arc<Mutex<HashMap<i32, (i16, i16)>>> = Arc::default();
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = Arc::clone(&asked);
    std::thread::spawn(move || {
        while let Ok(frame) = read_frame(&mut client_in) {
            if frame.len() >= 8 {
                let key = i16::from_be_bytes([frame[0], frame[1]]);
                let version = i16::from_be_bytes([frame[2], frame[3]]);
                let id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                if let Ok(mut asked) = up.lock() {
                    asked.insert(id, (key, version));
                }
            }
            if write_frame(&mut server_out, &frame).is_err() {
                break;
            }
        }
        let _ = server_out.shutdown(Shutdown::Both);
    });
    let (mut server_in, mut client_out) = (server, client);
    std::thread::spawn(move || {
        while let Ok(frame) = read_frame(&mut server_in) {
            let request = (frame.len() >= 4)
                .then(|| i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]))
                .and_then(|id| asked.lock().ok()?.remove(&id));
            let frame = match request {
                Some((METADATA, version)) => {
                    let blank = rewrite.blank.load(Ordering::SeqCst);
                    let out = metadata(&frame, version, rewrite.port, blank);
                    if blank && out.is_some() {
                        rewrite.blanked.fetch_add(1, Ordering::SeqCst);
                    }
                    out.unwrap_or(frame)
                }
                Some((FIND_COORDINATOR, version)) => {
                    find_coordinator(&frame, version, rewrite.port).unwrap_or(frame)
                }
                _ => frame,
            };
            if write_frame(&mut client_out, &frame).is_err() {
                break;
            }
        }
        let _ = client_out.shutdown(Shutdown::Both);
    });
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = usize::try_from(i32::from_be_bytes(size)).map_err(io::Error::other)?;
    if size > MAX_FRAME {
        return Err(io::Error::other("frame too large"));
    }
    let mut frame = vec![0u8; size];
    stream.read_exact(&mut frame)?;
    Ok(frame)
}

fn write_frame(stream: &mut TcpStream, frame: &[u8]) -> io::Result<()> {
    let size = i32::try_from(frame.len()).map_err(io::Error::other)?;
    stream.write_all(&size.to_be_bytes())?;
    stream.write_all(frame)
}

/// A Metadata answer with each broker's port replaced by the proxy's (all brokers are behind it:
/// the stack runs one), or with no broker when `blank`. None when it does not parse.
fn metadata(frame: &[u8], version: i16, port: u16, blank: bool) -> Option<Vec<u8>> {
    let flexible = version >= METADATA_FLEXIBLE;
    let mut r = Reader { b: frame, at: 4 };
    if flexible {
        r.tags()?;
    }
    if version >= 3 {
        r.take(4)?; // throttle_time_ms
    }
    let head = r.at;
    let count = r.array_len(flexible)?;
    let mut brokers = Vec::new();
    for _ in 0..count {
        let node = r.take(4)?.to_vec();
        let host = r.string(flexible)?.to_vec();
        r.take(4)?;
        let rack = if version >= 1 {
            r.nullable_string(flexible)?.to_vec()
        } else {
            Vec::new()
        };
        let tags = if flexible {
            r.tags()?.to_vec()
        } else {
            Vec::new()
        };
        brokers.push((node, host, rack, tags));
    }
    let mut out = frame[..head].to_vec();
    if blank {
        brokers.clear();
    }
    put_array_len(&mut out, brokers.len(), flexible);
    for (node, host, rack, tags) in brokers {
        out.extend(node);
        out.extend(host);
        out.extend(i32::from(port).to_be_bytes());
        out.extend(rack);
        out.extend(tags);
    }
    out.extend(&frame[r.at..]);
    Some(out)
}

/// A FindCoordinator answer (v0 to v3: one coordinator) naming the proxy's port.
fn find_coordinator(frame: &[u8], version: i16, port: u16) -> Option<Vec<u8>> {
    if version > FIND_COORDINATOR_FLEXIBLE {
        return None;
    }
    let flexible = version >= FIND_COORDINATOR_FLEXIBLE;
    let mut r = Reader { b: frame, at: 4 };
    if flexible {
        r.tags()?;
    }
    if version >= 1 {
        r.take(4)?; // throttle_time_ms
    }
    r.take(2)?; // error_code
    if version >= 1 {
        r.nullable_string(flexible)?;
    }
    r.take(4)?; // node_id
    r.string(flexible)?;
    let port_at = r.at;
    r.take(4)?;
    let mut out = frame.to_vec();
    out[port_at..port_at + 4].copy_from_slice(&i32::from(port).to_be_bytes());
    Some(out)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn array_len(&mut self, flexible: bool) -> Option<usize> {
        if flexible {
            usize::try_from(self.uvarint()?.checked_sub(1)?).ok()
        } else {
            let n = i32::from_be_bytes(self.take(4)?.try_into().ok()?);
            usize::try_from(n).ok()
        }
    }

    /// A string with its length, returned whole (length included) to be copied as it was.
    fn string(&mut self, flexible: bool) -> Option<&'a [u8]> {
        let start = self.at;
        let len = if flexible {
            usize::try_from(self.uvarint()?.checked_sub(1)?).ok()?
        } else {
            usize::try_from(i16::from_be_bytes(self.take(2)?.try_into().ok()?)).ok()?
        };
        self.take(len)?;
        Some(&self.b[start..self.at])
    }

    fn nullable_string(&mut self, flexible: bool) -> Option<&'a [u8]> {
        let start = self.at;
        let len = if flexible {
            self.uvarint()?.checked_sub(1)
        } else {
            u64::try_from(i16::from_be_bytes(self.take(2)?.try_into().ok()?)).ok()
        };
        if let Some(len) = len {
            self.take(usize::try_from(len).ok()?)?;
        }
        Some(&self.b[start..self.at])
    }

    /// A tagged-fields section, returned whole.
    fn tags(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.take(size)?;
        }
        Some(&self.b[start..self.at])
    }
}

fn put_array_len(out: &mut Vec<u8>, n: usize, flexible: bool) {
    if flexible {
        let mut v = n as u64 + 1;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    } else {
        out.extend(i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes());
    }
}
