//! The ClickHouse collector: one bounded, read-only poll of every configured host. Each host is
//! polled on a task of its own, so a stalled host never holds back the others' figures; the
//! source fails as a whole only when no host answers.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::host::HostCollector;
use super::snapshot::{ClickHouseSnapshot, HostOutcome, HostSnapshot, PartsFocus, Section};
use crate::config::ClickHouseConfig;
use crate::source::Collector;

pub struct ClickHouseCollector {
    hosts: Vec<Host>,
    focus: Option<watch::Receiver<Option<PartsFocus>>>,
    /// How long a poll waits for hosts still polling once another host has news: None waits for
    /// every host (one complete round, as `snapshot` and `check` want).
    patience: Option<Duration>,
}

/// One configured host: its collector while idle, its poll while one runs on its own task, and
/// the latest outcome it reported.
struct Host {
    url: String,
    config: ClickHouseConfig,
    idle: Option<Box<HostCollector>>,
    running: Option<PollTask>,
    latest: Option<HostOutcome>,
}

type PollTask = JoinHandle<(Box<HostCollector>, Result<HostSnapshot, String>)>;

impl ClickHouseCollector {
    /// Every host of `config`, each with the config's table filter (`include_tables`,
    /// `exclude_tables`) and per-section time limits (`section_time_limits`).
    pub fn new(config: &ClickHouseConfig) -> ClickHouseCollector {
        ClickHouseCollector {
            hosts: config
                .endpoints()
                .iter()
                .map(|url| Host {
                    url: url.clone(),
                    config: config.clone(),
                    idle: Some(Box::new(HostCollector::new(config, url))),
                    running: None,
                    latest: None,
                })
                .collect(),
            focus: None,
            patience: None,
        }
    }

    /// The partition whose parts the UI wants: read at every poll, fetched by the hosts it names.
    pub fn with_focus(mut self, focus: watch::Receiver<Option<PartsFocus>>) -> ClickHouseCollector {
        self.focus = Some(focus);
        self
    }

    /// Once a host has news, wait at most `patience` (from the poll's start) for the others: a
    /// host still polling then keeps polling on its own task and is reported with its latest
    /// outcome (its data's own time tells how old it is), its news coming with a later poll. A
    /// host that has never reported is always waited for, and so is news of at least one host.
    pub fn with_patience(mut self, patience: Duration) -> ClickHouseCollector {
        self.patience = Some(patience);
        self
    }

    /// Starts a poll of every idle host on a task of its own.
    fn start_idle_polls(&mut self, focus: Option<&PartsFocus>) {
        for host in &mut self.hosts {
            if let Some(mut collector) = host.idle.take() {
                let focus = focus.cloned();
                host.running = Some(tokio::spawn(async move {
                    let result = collector.poll(focus.as_ref()).await;
                    (collector, result)
                }));
            }
        }
    }

    /// Waits for the running polls: for all of them, or (with patience) until the patience since
    /// `started` has run out once at least one host has news and every host has reported once.
    /// Returns how many queries the polls that ended cost.
    async fn collect_polls(&mut self, started: Instant) -> u32 {
        let (mut news, mut queries) = (0, 0);
        loop {
            let may_stop = news > 0 && self.hosts.iter().all(|h| h.latest.is_some());
            let (indices, tasks): (Vec<usize>, Vec<&mut PollTask>) = self
                .hosts
                .iter_mut()
                .enumerate()
                .filter_map(|(i, h)| h.running.as_mut().map(|t| (i, t)))
                .unzip();
            if tasks.is_empty() {
                return queries;
            }
            let next = futures::future::select_all(tasks);
            let (joined, which, _) = match self.patience {
                Some(patience) if may_stop => {
                    match tokio::time::timeout_at((started + patience).into(), next).await {
                        Ok(done) => done,
                        Err(_) => return queries,
                    }
                }
                _ => next.await,
            };
            let host = &mut self.hosts[indices[which]];
            host.running = None;
            let (collector, result) = match joined {
                Ok(done) => done,
                // The task panicked or was cancelled: its collector is gone, start afresh.
                Err(e) => (
                    Box::new(HostCollector::new(&host.config, &host.url)),
                    Err(format!("poll task failed: {e}")),
                ),
            };
            host.latest = Some(match result {
                Ok(snapshot) => {
                    queries += snapshot.queries;
                    HostOutcome::Ok(Box::new(snapshot))
                }
                Err(error) => HostOutcome::Failed {
                    host: collector.host().to_string(),
                    error,
                },
            });
            // A failed host still cost its server-info query (and whatever came after it).
            queries += collector.take_sent();
            host.idle = Some(collector);
            news += 1;
        }
    }
}

impl Drop for ClickHouseCollector {
    /// A poll still running (a stalled host) ends with its collector: nobody will read it.
    fn drop(&mut self) {
        for task in self.hosts.iter().filter_map(|h| h.running.as_ref()) {
            task.abort();
        }
    }
}

impl Collector for ClickHouseCollector {
    type Snapshot = ClickHouseSnapshot;

    async fn poll(&mut self) -> Result<ClickHouseSnapshot, String> {
        let started = Instant::now();
        // A copy, so the UI can change its focus while the poll runs.
        let focus: Option<PartsFocus> = self.focus.as_ref().and_then(|rx| rx.borrow().clone());
        self.start_idle_polls(focus.as_ref());
        let queries = self.collect_polls(started).await;
        let hosts: Vec<HostOutcome> = self.hosts.iter().filter_map(|h| h.latest.clone()).collect();
        let Some(first) = hosts.iter().find_map(HostOutcome::snapshot) else {
            return Err(all_failed(&hosts));
        };
        let (server, tables) = (first.server.clone(), first.tables.clone());
        Ok(ClickHouseSnapshot {
            taken_at_ms: crate::time::unix_ms(SystemTime::now()),
            poll_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            queries,
            server,
            tables: match tables {
                Section::Ok { data } => Section::Ok { data },
                other => other,
            },
            hosts,
        })
    }
}

/// One host: its own error as is; several: each host's, so none is hidden.
fn all_failed(hosts: &[HostOutcome]) -> String {
    let errors: Vec<String> = hosts
        .iter()
        .filter_map(|h| match h {
            HostOutcome::Failed { host, error } => Some((host, error)),
            HostOutcome::Ok(_) => None,
        })
        // The host is named even when there is one: "which address did it try?" is the first
        // question when a connection is refused.
        .map(|(host, error)| format!("{host}: {error}"))
        .collect();
    errors.join("; ")
}
