//! One ClickHouse server: its connection state (capabilities detected at connect, after a
//! reconnect and after a restart) and one poll of every section, run concurrently.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use clickhouse::Row;
use serde::Deserialize;

use super::cadence::{self, KeptSections, when};
use super::capabilities::{Capabilities, features};
use super::client::{ChClient, ChError, labels};
use super::sections::freshness::Shape;
use super::sections::inventory::{Inventory, nothing_to_watch, unless_none};
use super::sections::partition_names::PartitionNames;
use super::sections::{
    Ctx, SectionId, TableFilter, activity, async_inserts, counters, errors, freshness, inventory,
    kafka_chain, kafka_engine, own_load, parts, query_log, replication, resources, split,
};
use super::snapshot::{HostSnapshot, PartsFocus, ServerInfo};
use crate::config::{ClickHouseConfig, WatchedTable};

/// How often capabilities are probed again while a log table is missing (it appears at the first
/// flush after a server starts, or once someone enables it).
const REPROBE_MISSING_LOGS: Duration = Duration::from_secs(30);

pub struct HostCollector {
    host: String,
    client: ChClient,
    ctx: Option<Ctx>,
    probed_at: Option<Instant>,
    last_uptime: u64,
    last_version: String,
    validation_off: bool,
    config: ClickHouseConfig,
    /// `include_tables` / `exclude_tables` of the config.
    filter: TableFilter,
    /// `section_time_limits` of the config.
    time_limits: BTreeMap<SectionId, Duration>,
    /// The shape of each watched table seen so far (configured name → shape), so a poll reads it
    /// in one query. Forgotten when capabilities are probed again.
    shapes: BTreeMap<String, Shape>,
    /// The last good answers of the sections on a cadence. Forgotten with the capabilities.
    kept: KeptSections,
    /// The previous poll's count of tables per kind: the sections of kinds the server has none
    /// of are skipped. None (read everything) until it answers, and after a restart.
    inventory: Option<Inventory>,
    /// When the inventory was last read (it is read on a cadence).
    inventory_read_at: Option<Instant>,
    /// The printed values of the partitions shown so far. Forgotten with the capabilities.
    partition_names: PartitionNames,
}

#[derive(Debug, Row, Deserialize)]
struct ServerRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    version: String,
    uptime: u64,
}

const SERVER_SQL: &str = "SELECT version() AS version, toUInt64(uptime()) AS uptime";

impl HostCollector {
    pub fn new(config: &ClickHouseConfig, url: &str) -> HostCollector {
        HostCollector {
            host: display_host(url),
            client: ChClient::for_host(config, url),
            ctx: None,
            probed_at: None,
            last_uptime: 0,
            last_version: String::new(),
            validation_off: false,
            config: config.clone(),
            filter: TableFilter::from_config(config),
            time_limits: config.section_time_limits.clone(),
            shapes: BTreeMap::new(),
            kept: KeptSections::new(&config.section_intervals),
            inventory: None,
            inventory_read_at: None,
            partition_names: PartitionNames::default(),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// One poll. Err only when the server cannot be reached (or refuses us) at all.
    /// `focus` is the partition the UI drilled into, if any; it is fetched only when it names
    /// this host or no host.
    pub async fn poll(&mut self, focus: Option<&PartsFocus>) -> Result<HostSnapshot, String> {
        let started = Instant::now();
        self.client.begin_poll();
        self.client.take_sent();
        let server = match self.server_info().await {
            Ok(server) => server,
            Err(e) => {
                // Whatever answers next may be another server (failover, upgrade): probe again.
                self.ctx = None;
                return Err(e.to_string());
            }
        };
        let ctx = self.ensure_ctx(&server).await.map_err(|e| e.to_string())?;
        self.client.take_answered();
        let client = &self.client;
        let watched: &[WatchedTable] = &self.config.freshness;
        let shapes = &self.shapes;
        let focus = focus.filter(|f| f.applies_to(&self.host));
        let now = Instant::now();
        let kept = &self.kept;
        let inv = self.inventory.as_ref();
        let parts_due = kept.tables.due(now)
            || kept
                .tables
                .last()
                .is_some_and(|(tables, _)| parts::near_the_limit(tables, kept.thresholds.last()));
        let inventory_due = self.inventory_read_at.is_none_or(|at| {
            cadence::interval_in(SectionId::Inventory, &self.config.section_intervals)
                .is_none_or(|every| now.saturating_duration_since(at) >= every)
        });
        // Everything at once: each query waits on the server, not on the others.
        let (
            (tables_and_partitions, thresholds, detached_parts, errors),
            (merges, mutations, counters, kafka_consumers),
            (inserts, latency, focused_parts),
            (replicas, replication_queue, keeper),
            (disks, memory_limit, distribution_queue),
            (kafka_chains, view_runs, inventory),
            (own_load, async_inserts),
            freshness,
        ) =
            tokio::join!(
                async {
                    tokio::join!(
                        when(
                            parts_due,
                            parts::tables_and_partitions(client, &ctx, &self.partition_names)
                        ),
                        when(kept.thresholds.due(now), parts::thresholds(client, &ctx)),
                        when(kept.detached_parts.due(now), parts::detached(client, &ctx)),
                        when(kept.errors.due(now), errors::errors(client, &ctx)),
                    )
                },
                async {
                    tokio::join!(
                        activity::merges(client, &ctx),
                        when(kept.mutations.due(now), activity::mutations(client, &ctx)),
                        counters::counters(client, &ctx),
                        unless_none(
                            &ctx,
                            inv,
                            |i| i.kafka,
                            features::KAFKA_CONSUMERS,
                            kafka_engine::consumers(client, &ctx),
                        ),
                    )
                },
                async {
                    tokio::join!(
                        when(
                            kept.inserts.due(now),
                            query_log::inserts_and_failures(client, &ctx)
                        ),
                        when(
                            kept.latency.due(now),
                            query_log::latency_and_slow(client, &ctx)
                        ),
                        async {
                            match &focus {
                                Some(f) => Some(parts::focused(client, &ctx, f).await),
                                None => None,
                            }
                        },
                    )
                },
                async {
                    tokio::join!(
                        unless_none(
                            &ctx,
                            inv,
                            |i| i.replicated,
                            features::REPLICAS,
                            replication::replicas(client, &ctx),
                        ),
                        unless_none(
                            &ctx,
                            inv,
                            |i| i.replicated,
                            features::REPLICATION_QUEUE,
                            replication::queue(client, &ctx),
                        ),
                        replication::keeper(client, &ctx),
                    )
                },
                async {
                    tokio::join!(
                        when(kept.disks.due(now), resources::disks(client, &ctx)),
                        when(
                            kept.memory_limit.due(now),
                            resources::memory_limit(client, &ctx)
                        ),
                        unless_none(
                            &ctx,
                            inv,
                            |i| i.distributed,
                            features::DISTRIBUTION_QUEUE,
                            resources::distribution(client, &ctx),
                        ),
                    )
                },
                async {
                    tokio::join!(
                        when(
                            kept.kafka_chains.due(now),
                            kafka_chain::chains(client, &ctx)
                        ),
                        when(
                            kept.view_runs.due(now),
                            unless_none(
                                &ctx,
                                inv,
                                |i| i.views,
                                features::QUERY_VIEWS_LOG,
                                kafka_chain::views(client, &ctx),
                            )
                        ),
                        when(inventory_due, inventory::inventory(client, &ctx)),
                    )
                },
                async {
                    tokio::join!(
                        when(kept.own_load.due(now), own_load::own_load(client, &ctx)),
                        when(
                            kept.async_inserts.due(now),
                            async_inserts::failures(client, &ctx)
                        ),
                    )
                },
                futures::future::join_all(watched.iter().map(|w| {
                    freshness::freshness(client, &ctx, w, shapes.get(&w.table).copied())
                })),
            );
        let freshness = watched
            .iter()
            .zip(freshness)
            .map(|(w, (f, shape))| {
                match shape {
                    Some(shape) => self.shapes.insert(w.table.clone(), shape),
                    None => self.shapes.remove(&w.table),
                };
                f
            })
            .collect();
        let (tables_and_partitions, partition_names) = match tables_and_partitions {
            Some((section, names)) => (Some(section), names),
            None => (None, Vec::new()),
        };
        self.partition_names.learn(partition_names);
        let (insert_counters, kafka_events, memory_tracked) = counters::split3(counters);
        // The Kafka counters are read with the others; without a Kafka table they say nothing.
        let kafka_events = match self.inventory.as_ref() {
            Some(i) if i.kafka == 0 => nothing_to_watch(&ctx, features::EVENTS),
            _ => kafka_events,
        };
        match inventory {
            None => {}
            Some(Some(inventory)) => {
                self.inventory = Some(inventory);
                self.inventory_read_at = Some(now);
            }
            // Failed: everything is read until it answers.
            Some(None) => {
                self.inventory = None;
                self.inventory_read_at = None;
                self.partition_names.forget();
            }
        }
        let taken_at_ms = crate::time::unix_ms(SystemTime::now());
        let mut cadenced = Vec::new();
        let kept = &mut self.kept;
        let (tables_and_partitions, read) =
            kept.tables.settle(tables_and_partitions, now, taken_at_ms);
        cadenced.extend(read);
        let (tables, partitions) = split(tables_and_partitions);
        let (thresholds, read) = kept.thresholds.settle(thresholds, now, taken_at_ms);
        cadenced.extend(read);
        let (detached_parts, read) = kept.detached_parts.settle(detached_parts, now, taken_at_ms);
        cadenced.extend(read);
        let (disks, read) = kept.disks.settle(disks, now, taken_at_ms);
        cadenced.extend(read);
        let (kafka_chains, read) = kept.kafka_chains.settle(kafka_chains, now, taken_at_ms);
        cadenced.extend(read);
        let (own_load, read) = kept.own_load.settle(own_load, now, taken_at_ms);
        cadenced.extend(read);
        let (inserts, read) = kept.inserts.settle(inserts, now, taken_at_ms);
        cadenced.extend(read);
        let (inserts, failed_inserts) = split(inserts);
        let (latency, read) = kept.latency.settle(latency, now, taken_at_ms);
        cadenced.extend(read);
        let (latency, slow_queries) = split(latency);
        let (view_runs, read) = kept.view_runs.settle(view_runs, now, taken_at_ms);
        cadenced.extend(read);
        let (async_insert_failures, read) =
            kept.async_inserts.settle(async_inserts, now, taken_at_ms);
        cadenced.extend(read);
        let (memory_limit, read) = kept.memory_limit.settle(memory_limit, now, taken_at_ms);
        cadenced.extend(read);
        let memory = resources::memory(&ctx, memory_tracked, &memory_limit);
        let (mutations, read) = kept.mutations.settle(mutations, now, taken_at_ms);
        cadenced.extend(read);
        let (errors, read) = kept.errors.settle(errors, now, taken_at_ms);
        cadenced.extend(read);
        let snapshot = HostSnapshot {
            host: self.host.clone(),
            server,
            taken_at_ms,
            poll_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            queries: self.client.take_sent(),
            window_s: ctx.window_s,
            tables,
            partitions,
            thresholds,
            detached_parts,
            merges,
            mutations,
            inserts,
            failed_inserts,
            latency,
            slow_queries,
            insert_counters,
            kafka_consumers,
            freshness,
            errors,
            focused_parts,
            replicas,
            replication_queue,
            keeper,
            zookeeper_exception_missing: ctx.caps.missing(features::ZOOKEEPER_EXCEPTION),
            disks,
            memory,
            distribution_queue,
            kafka_chains,
            view_runs,
            kafka_events,
            async_insert_failures,
            own_load,
            cadenced,
        };
        // It answered who it is, then nothing (stopped, killed or cut off mid-poll): that is a
        // host that is down now, not one whose every figure happens to have failed. Shown as
        // down at once rather than a poll later, which would cost another time limit.
        if self.client.take_answered() == 0
            && let Some(error) = snapshot.first_failure()
        {
            self.ctx = None;
            return Err(format!("stopped answering mid-poll: {error}"));
        }
        Ok(snapshot)
    }

    /// The first query also decides the wire format: servers from before 2019 cannot send
    /// RowBinaryWithNamesAndTypes, so validation is switched off for them once and for all.
    async fn server_info(&mut self) -> Result<ServerInfo, ChError> {
        let row = match self
            .client
            .fetch_one::<ServerRow>(labels::SERVER, SERVER_SQL)
            .await
        {
            Err(e) if is_unknown_format(&e) && !self.validation_off => {
                self.client = self.client.clone().without_validation();
                self.validation_off = true;
                self.client
                    .fetch_one::<ServerRow>(labels::SERVER, SERVER_SQL)
                    .await?
            }
            other => other?,
        };
        Ok(ServerInfo {
            version: row.version,
            uptime_s: row.uptime,
        })
    }

    /// Capabilities are probed on the first poll, after a failed one, after a restart (uptime went
    /// down) or an upgrade (version changed), and now and then while query_log (or, from 21.9,
    /// query_views_log) is missing: both appear with configuration or at their first flush.
    async fn ensure_ctx(&mut self, server: &ServerInfo) -> Result<Ctx, ChError> {
        let restarted = server.uptime_s < self.last_uptime || server.version != self.last_version;
        let stale_logs = self.ctx.as_ref().is_some_and(|c| c.caps.lacks_log_tables())
            && self
                .probed_at
                .is_none_or(|at| at.elapsed() >= REPROBE_MISSING_LOGS);
        self.last_uptime = server.uptime_s;
        self.last_version.clone_from(&server.version);
        if let Some(ctx) = &self.ctx
            && !restarted
            && !stale_logs
        {
            return Ok(ctx.clone());
        }
        let caps = Capabilities::detect(&self.client, &server.version).await?;
        self.shapes.clear();
        self.kept.forget();
        self.inventory = None;
        self.inventory_read_at = None;
        self.partition_names.forget();
        // Marking our queries lets latency figures leave them out; old servers reject the setting.
        let own_queries_marked = caps.has_column("query_log", "log_comment");
        if own_queries_marked && !self.ctx.as_ref().is_some_and(|c| c.own_queries_marked) {
            self.client = self.client.clone().with_setting("log_comment", "pipetop");
        }
        let ctx = Ctx {
            caps,
            filter: self.filter.clone(),
            window_s: self.config.window.as_secs().max(1),
            database: self.config.database.clone(),
            own_queries_marked,
            time_limits: self.time_limits.clone(),
        };
        self.ctx = Some(ctx.clone());
        self.probed_at = Some(Instant::now());
        Ok(ctx)
    }

    /// Queries sent by this host's client since the last call.
    pub fn take_sent(&self) -> u32 {
        self.client.take_sent()
    }
}

fn is_unknown_format(e: &ChError) -> bool {
    // 73 = UNKNOWN_FORMAT.
    e.code() == Some(73) || e.to_string().contains("RowBinaryWithNamesAndTypes")
}

/// The URL as shown on screen: credentials in `user:password@` never leave this function.
pub fn display_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{tail}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_from_the_host_label() {
        assert_eq!(display_host("http://u:secret@ch:8123"), "http://ch:8123");
        assert_eq!(display_host("https://ch:8443/path"), "https://ch:8443/path");
        assert_eq!(
            display_host("http://ch:8123/?x=a@b"),
            "http://ch:8123/?x=a@b"
        );
    }
}
