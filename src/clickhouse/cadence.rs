//! Sections whose figures change slowly are read every so often rather than every poll: the
//! cheap, moving figures refresh at every poll and the slow ones stop costing the server a query
//! each time. Between two reads a section reports its last good answer, and the snapshot says
//! when that was read (`CadencedRead`). A failed read is tried again at the next poll, and
//! everything kept is forgotten when the server restarts or comes back (`forget`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::kafka_chain::{KafkaTableChain, ViewRuns};
use super::own_load::OwnLoad;
use super::resources::{Disk, MemoryLimit};
use super::section_id::SectionId;
use super::snapshot::{
    AsyncInsertFailures, CadencedRead, DetachedParts, FailedInserts, KindLatency, Mutation,
    PartitionParts, PartsThresholds, Section, ServerError, SlowQuery, TableInserts, TableParts,
};

/// The server writes its log tables (query_log, query_views_log) out every 7.5 s by default
/// (`flush_interval_milliseconds`): a read of them between two flushes finds what the previous
/// read found, so they are read about once a flush.
pub const LOG_FLUSH: Duration = Duration::from_secs(8);

/// How often the parts scan runs while no partition nears its limit: every fifth poll at the
/// default 2 s refresh. Parts pile up over minutes before ClickHouse delays inserts.
pub const PARTS_SCAN: Duration = Duration::from_secs(10);

/// How often each slow section is read; every other section is read at every poll.
pub const INTERVALS: [(SectionId, Duration); 17] = [
    // The scan of system.parts, the heaviest query of a poll (its cost grows with the parts on
    // the server). Read every poll anyway while a partition nears its table's limit
    // (`parts::near_the_limit`); the insert counters, read every poll, show delayed and rejected
    // inserts at once.
    (SectionId::Tables, PARTS_SCAN),
    (SectionId::Partitions, PARTS_SCAN),
    // Table settings and server defaults: changed by a deploy, not by load.
    (SectionId::Thresholds, Duration::from_secs(60)),
    // A walk of the data directories on some versions; parts are detached by hand or by a failure.
    (SectionId::DetachedParts, Duration::from_secs(60)),
    // Free space moves by a few percent an hour on a disk that fills in a day.
    (SectionId::Disks, Duration::from_secs(30)),
    // Which views read which Kafka table: changed by DDL only.
    (SectionId::KafkaChains, Duration::from_secs(60)),
    // A scan of query_log over the window.
    (SectionId::OwnLoad, Duration::from_secs(30)),
    // Scans of the log tables over the window, which the server extends once a flush.
    (SectionId::Inserts, LOG_FLUSH),
    (SectionId::FailedInserts, LOG_FLUSH),
    (SectionId::Latency, LOG_FLUSH),
    (SectionId::SlowQueries, LOG_FLUSH),
    (SectionId::ViewRuns, LOG_FLUSH),
    (SectionId::AsyncInserts, LOG_FLUSH),
    // The server's limit: changed by its config.
    (SectionId::MemoryLimit, Duration::from_secs(60)),
    // A mutation matters when it is stuck for minutes.
    (SectionId::Mutations, Duration::from_secs(10)),
    // Error counters raised within the window.
    (SectionId::Errors, Duration::from_secs(10)),
    // Which kinds of table the server has (kept by the host collector, not here): a poll skips
    // the sections of kinds it has none of, so a first table of a kind is seen within this.
    (SectionId::Inventory, Duration::from_secs(30)),
];

/// How often `id` is read by default, when it is not read every poll.
pub fn interval(id: SectionId) -> Option<Duration> {
    INTERVALS.iter().find(|(s, _)| *s == id).map(|(_, d)| *d)
}

/// How often `id` is read with the config's `section_intervals` over the defaults; None: every
/// poll.
pub fn interval_in(id: SectionId, overrides: &BTreeMap<SectionId, Duration>) -> Option<Duration> {
    interval(id).map(|every| overrides.get(&id).copied().unwrap_or(every))
}

/// One section's last good answer (or two sections' from one query: `ids` names each).
#[derive(Debug)]
pub struct Kept<T> {
    ids: &'static [SectionId],
    every: Duration,
    last: Option<(Instant, i64, Section<T>)>,
}

impl<T: Clone> Kept<T> {
    /// Read every `every` (0: every poll).
    pub fn new(ids: &'static [SectionId], every: Duration) -> Kept<T> {
        Kept {
            ids,
            every,
            last: None,
        }
    }

    /// Read as the config says (`interval_in`) of the first of `ids`.
    fn configured(ids: &'static [SectionId], overrides: &BTreeMap<SectionId, Duration>) -> Kept<T> {
        let every = ids
            .first()
            .and_then(|id| interval_in(*id, overrides))
            .unwrap_or(Duration::ZERO);
        Kept::new(ids, every)
    }

    /// Whether this poll reads it: nothing good kept, or what is kept is older than its interval.
    pub fn due(&self, now: Instant) -> bool {
        self.last
            .as_ref()
            .is_none_or(|(at, _, _)| now.saturating_duration_since(*at) >= self.every)
    }

    /// The last good answer kept, if any.
    pub fn last(&self) -> Option<&T> {
        self.last
            .as_ref()
            .and_then(|(_, _, section)| section.data())
    }

    /// This poll's figure: `fresh` when the section was read (kept when it is good), else the
    /// kept answer; and when that answer was read (one entry a section; none without a good
    /// answer).
    pub fn settle(
        &mut self,
        fresh: Option<Section<T>>,
        now: Instant,
        now_ms: i64,
    ) -> (Section<T>, Vec<CadencedRead>) {
        let section = match fresh {
            Some(section) => {
                self.last =
                    matches!(section, Section::Ok { .. }).then(|| (now, now_ms, section.clone()));
                return (section, self.read());
            }
            None => match &self.last {
                Some((_, _, section)) => section.clone(),
                None => Section::Failed {
                    error: "not read yet".into(),
                },
            },
        };
        (section, self.read())
    }

    /// What the snapshot says of it when the figure is a kept one.
    fn read(&self) -> Vec<CadencedRead> {
        let Some((_, at_ms, _)) = &self.last else {
            return Vec::new();
        };
        self.ids
            .iter()
            .map(|id| CadencedRead {
                section: *id,
                every_s: self.every.as_secs(),
                read_at_ms: *at_ms,
            })
            .collect()
    }

    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// The kept answers of one host's slow sections.
#[derive(Debug)]
pub struct KeptSections {
    pub tables: Kept<(Vec<TableParts>, Vec<PartitionParts>)>,
    pub thresholds: Kept<PartsThresholds>,
    pub detached_parts: Kept<Vec<DetachedParts>>,
    pub disks: Kept<Vec<Disk>>,
    pub kafka_chains: Kept<Vec<KafkaTableChain>>,
    pub own_load: Kept<OwnLoad>,
    pub inserts: Kept<(Vec<TableInserts>, Vec<FailedInserts>)>,
    pub latency: Kept<(Vec<KindLatency>, Vec<SlowQuery>)>,
    pub view_runs: Kept<Vec<ViewRuns>>,
    pub async_inserts: Kept<Vec<AsyncInsertFailures>>,
    pub memory_limit: Kept<MemoryLimit>,
    pub mutations: Kept<Vec<Mutation>>,
    pub errors: Kept<Vec<ServerError>>,
}

impl KeptSections {
    /// Each with its interval: the config's `section_intervals` over the defaults.
    pub fn new(overrides: &BTreeMap<SectionId, Duration>) -> KeptSections {
        let o = overrides;
        KeptSections {
            tables: Kept::configured(&[SectionId::Tables, SectionId::Partitions], o),
            thresholds: Kept::configured(&[SectionId::Thresholds], o),
            detached_parts: Kept::configured(&[SectionId::DetachedParts], o),
            disks: Kept::configured(&[SectionId::Disks], o),
            kafka_chains: Kept::configured(&[SectionId::KafkaChains], o),
            own_load: Kept::configured(&[SectionId::OwnLoad], o),
            inserts: Kept::configured(&[SectionId::Inserts, SectionId::FailedInserts], o),
            latency: Kept::configured(&[SectionId::Latency, SectionId::SlowQueries], o),
            view_runs: Kept::configured(&[SectionId::ViewRuns], o),
            async_inserts: Kept::configured(&[SectionId::AsyncInserts], o),
            memory_limit: Kept::configured(&[SectionId::MemoryLimit], o),
            mutations: Kept::configured(&[SectionId::Mutations], o),
            errors: Kept::configured(&[SectionId::Errors], o),
        }
    }
}

impl KeptSections {
    pub fn forget(&mut self) {
        self.tables.forget();
        self.thresholds.forget();
        self.detached_parts.forget();
        self.disks.forget();
        self.kafka_chains.forget();
        self.own_load.forget();
        self.inserts.forget();
        self.latency.forget();
        self.view_runs.forget();
        self.async_inserts.forget();
        self.memory_limit.forget();
        self.mutations.forget();
        self.errors.forget();
    }

    /// Every section some `Kept` stands for.
    #[cfg(test)]
    fn ids(&self) -> Vec<SectionId> {
        [
            self.tables.ids,
            self.thresholds.ids,
            self.detached_parts.ids,
            self.disks.ids,
            self.kafka_chains.ids,
            self.own_load.ids,
            self.inserts.ids,
            self.latency.ids,
            self.view_runs.ids,
            self.async_inserts.ids,
            self.memory_limit.ids,
            self.mutations.ids,
            self.errors.ids,
        ]
        .concat()
    }
}

/// Runs `read` only when `due`: the future is built either way, but never polled when not due.
pub async fn when<T>(due: bool, read: impl Future<Output = T>) -> Option<T> {
    if due { Some(read.await) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(n: u64) -> Section<u64> {
        Section::Ok { data: n }
    }

    #[test]
    fn a_good_answer_is_kept_until_its_interval_passes() {
        let mut disks = Kept::<u64>::configured(&[SectionId::Disks], &BTreeMap::new());
        let t0 = Instant::now();
        assert!(disks.due(t0));
        let (s, read) = disks.settle(Some(ok(1)), t0, 1_000);
        let read_now = CadencedRead {
            section: SectionId::Disks,
            every_s: 30,
            read_at_ms: 1_000,
        };
        assert_eq!((s.data(), read), (Some(&1), vec![read_now]));

        let t1 = t0 + Duration::from_secs(29);
        assert!(!disks.due(t1));
        let (s, read) = disks.settle(None, t1, 30_000);
        assert_eq!(s.data(), Some(&1));
        assert_eq!(
            read,
            vec![CadencedRead {
                section: SectionId::Disks,
                every_s: 30,
                read_at_ms: 1_000
            }]
        );
        assert!(disks.due(t0 + Duration::from_secs(30)));
    }

    #[test]
    fn a_failed_read_is_tried_again_at_the_next_poll_and_forget_drops_everything() {
        let mut disks = Kept::<u64>::configured(&[SectionId::Disks], &BTreeMap::new());
        let t0 = Instant::now();
        disks.settle(Some(ok(1)), t0, 0);
        let failed = Section::Failed {
            error: "timed out".into(),
        };
        let (s, _) = disks.settle(Some(failed), t0 + Duration::from_secs(30), 0);
        assert_eq!(s.error(), Some("timed out"));
        assert!(disks.due(t0 + Duration::from_secs(31)));

        disks.settle(Some(ok(2)), t0, 0);
        disks.forget();
        assert!(disks.due(t0));
    }

    #[test]
    fn every_section_on_a_cadence_is_kept() {
        let ids = KeptSections::new(&BTreeMap::new()).ids();
        for (id, every) in INTERVALS {
            assert!(
                ids.contains(&id) || id == SectionId::Inventory,
                "{id:?} has an interval but is not kept"
            );
            assert!(every > Duration::ZERO);
        }
        for id in ids {
            assert!(interval(id).is_some(), "{id:?} is kept but has no interval");
        }
    }

    #[test]
    fn the_config_sets_an_interval_and_zero_reads_every_poll() {
        let overrides = BTreeMap::from([(SectionId::Inserts, Duration::ZERO)]);
        let mut kept = KeptSections::new(&overrides);
        let t0 = Instant::now();
        assert!(kept.inserts.due(t0));
        kept.inserts.settle(
            Some(Section::Ok {
                data: Default::default(),
            }),
            t0,
            0,
        );
        assert!(kept.inserts.due(t0), "0s reads at every poll");
        kept.latency.settle(
            Some(Section::Ok {
                data: Default::default(),
            }),
            t0,
            0,
        );
        assert!(!kept.latency.due(t0 + Duration::from_secs(7)));
        assert!(kept.latency.due(t0 + LOG_FLUSH));
    }

    #[test]
    fn a_query_of_two_sections_says_when_both_were_read() {
        let mut inserts = Kept::<u64>::configured(
            &[SectionId::Inserts, SectionId::FailedInserts],
            &BTreeMap::new(),
        );
        let t0 = Instant::now();
        inserts.settle(Some(ok(1)), t0, 5);
        let (_, read) = inserts.settle(None, t0 + Duration::from_secs(2), 2_005);
        let sections: Vec<SectionId> = read.iter().map(|r| r.section).collect();
        assert_eq!(sections, [SectionId::Inserts, SectionId::FailedInserts]);
        assert!(read.iter().all(|r| r.read_at_ms == 5 && r.every_s == 8));
    }
}
