//! A poll's Metadata request, on a thread of its own so that the poll can check the brokers
//! directly (`broker_probe`) while it runs, and give up on it when that check finds every broker
//! down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::admin::{Admin, AdminError};
use super::down_brokers::PROBE_TIMEOUT;
use super::metadata::{self, ClusterMetadata};

/// What the Metadata thread hands back: the metadata (or why none), and how many requests.
pub type Fetched = (Result<ClusterMetadata, AdminError>, u32);

/// A Metadata request under way.
pub struct MetadataPoll {
    answer: mpsc::Receiver<Fetched>,
    give_up: Arc<AtomicBool>,
}

impl MetadataPoll {
    /// Starts [`fetch`] on its own thread (on the caller's if no thread can be made).
    pub fn start(admin: &Arc<Admin>, timeout: Duration, deadline: Instant) -> MetadataPoll {
        let (tx, answer) = mpsc::channel();
        let give_up = Arc::new(AtomicBool::new(false));
        let thread_admin = Arc::clone(admin);
        let thread_give_up = Arc::clone(&give_up);
        let thread_tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("pipetop-kafka-metadata".into())
            .spawn(move || {
                let _ = thread_tx.send(fetch(&thread_admin, timeout, deadline, &thread_give_up));
            });
        if spawned.is_err() {
            let _ = tx.send(fetch(admin, timeout, deadline, &give_up));
        }
        MetadataPoll { answer, give_up }
    }

    /// Waits for the answer.
    pub fn wait(self) -> Fetched {
        self.answer.recv().unwrap_or_else(|_| {
            let e = AdminError::Internal {
                op: "metadata",
                detail: "the Metadata thread ended without an answer".to_string(),
            };
            (Err(e), 0)
        })
    }

    /// No more tries after the one under way (which librdkafka ends within its limit); its
    /// answer is not awaited.
    pub fn abandon(self) {
        self.give_up.store(true, Ordering::SeqCst);
    }
}

/// librdkafka sends Metadata to one broker it holds a connection to, and a stalled one never
/// answers: each try gets half the request timeout, which is also when librdkafka gives up on
/// that broker's connection (`socket.timeout.ms`, see `client_config`), so a later try reaches
/// another broker. At most three tries, and none past the poll's `deadline` once one failed: a
/// cluster that answers none is down.
fn fetch(admin: &Admin, timeout: Duration, deadline: Instant, give_up: &AtomicBool) -> Fetched {
    let mut tries = 0;
    loop {
        tries += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = if tries == 1 {
            timeout / 2
        } else {
            (timeout / 2).min(left)
        };
        match metadata::fetch(admin.client().inner(), limit.max(PROBE_TIMEOUT)) {
            Ok(metadata) => return (Ok(metadata), tries),
            // Another try cannot get past a refused login or certificate.
            Err(_)
                if tries < 3
                    && !left.is_zero()
                    && !give_up.load(Ordering::SeqCst)
                    && admin.connect_failure().is_none() => {}
            Err(e) => {
                let e = AdminError::Kafka {
                    op: "metadata",
                    code: e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown),
                    message: e.to_string(),
                };
                return (Err(e), tries);
            }
        }
    }
}
