//! The ClickHouse collector: one bounded, read-only poll of every configured host. Hosts are polled
//! concurrently and independently; the source fails as a whole only when no host answers.

use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use super::host::HostCollector;
use super::snapshot::{ClickHouseSnapshot, HostOutcome, PartsFocus, Section};
use crate::config::ClickHouseConfig;
use crate::source::Collector;

pub struct ClickHouseCollector {
    hosts: Vec<HostCollector>,
    focus: Option<watch::Receiver<Option<PartsFocus>>>,
}

impl ClickHouseCollector {
    /// Every host of `config`, each with the config's table filter (`include_tables`,
    /// `exclude_tables`) and per-section time limits (`section_time_limits`).
    pub fn new(config: &ClickHouseConfig) -> ClickHouseCollector {
        ClickHouseCollector {
            hosts: config
                .endpoints()
                .iter()
                .map(|url| HostCollector::new(config, url))
                .collect(),
            focus: None,
        }
    }

    /// The partition whose parts the UI wants: read at every poll, fetched by the hosts it names.
    pub fn with_focus(mut self, focus: watch::Receiver<Option<PartsFocus>>) -> ClickHouseCollector {
        self.focus = Some(focus);
        self
    }
}

impl Collector for ClickHouseCollector {
    type Snapshot = ClickHouseSnapshot;

    async fn poll(&mut self) -> Result<ClickHouseSnapshot, String> {
        let started = Instant::now();
        // A copy, so the UI can change its focus while the poll runs.
        let focus: Option<PartsFocus> = self.focus.as_ref().and_then(|rx| rx.borrow().clone());
        let focus = focus.as_ref();
        let results = futures::future::join_all(self.hosts.iter_mut().map(|h| async move {
            let result = h.poll(focus).await;
            (h.host().to_string(), result)
        }))
        .await;
        let hosts: Vec<HostOutcome> = results
            .into_iter()
            .map(|(host, result)| match result {
                Ok(snapshot) => HostOutcome::Ok(Box::new(snapshot)),
                Err(error) => HostOutcome::Failed { host, error },
            })
            .collect();
        let Some(first) = hosts.iter().find_map(HostOutcome::snapshot) else {
            return Err(all_failed(&hosts));
        };
        let (server, tables) = (first.server.clone(), first.tables.clone());
        let queries = hosts
            .iter()
            .filter_map(HostOutcome::snapshot)
            .map(|s| s.queries)
            .sum::<u32>()
            // A failed host still cost its server-info query.
            + hosts.iter().filter(|h| h.snapshot().is_none()).count() as u32;
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
