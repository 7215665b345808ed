//! Sections whose figures change slowly are read every so often rather than every poll: the
//! cheap, moving figures refresh at every poll and the slow ones stop costing the server a query
//! each time. Between two reads a section reports its last good answer, and the snapshot says
//! when that was read (`CadencedRead`). A failed read is tried again at the next poll, and
//! everything kept is forgotten when the server restarts or comes back (`forget`).

use std::time::{Duration, Instant};

use super::kafka_chain::KafkaTableChain;
use super::own_load::OwnLoad;
use super::resources::Disk;
use super::section_id::SectionId;
use super::snapshot::{CadencedRead, DetachedParts, PartsThresholds, Section};

/// How often each slow section is read; every other section is read at every poll.
pub const INTERVALS: [(SectionId, Duration); 5] = [
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
];

/// How often `id` is read, when it is not read every poll.
pub fn interval(id: SectionId) -> Option<Duration> {
    INTERVALS.iter().find(|(s, _)| *s == id).map(|(_, d)| *d)
}

/// One section's last good answer.
#[derive(Debug)]
pub struct Kept<T> {
    id: SectionId,
    every: Duration,
    last: Option<(Instant, i64, Section<T>)>,
}

impl<T: Clone> Kept<T> {
    pub fn new(id: SectionId) -> Kept<T> {
        Kept {
            id,
            every: interval(id).unwrap_or(Duration::ZERO),
            last: None,
        }
    }

    /// Whether this poll reads it: nothing good kept, or what is kept is older than its interval.
    pub fn due(&self, now: Instant) -> bool {
        self.last
            .as_ref()
            .is_none_or(|(at, _, _)| now.saturating_duration_since(*at) >= self.every)
    }

    /// This poll's figure: `fresh` when the section was read (kept when it is good), else the
    /// kept answer; and when that answer was read.
    pub fn settle(
        &mut self,
        fresh: Option<Section<T>>,
        now: Instant,
        now_ms: i64,
    ) -> (Section<T>, Option<CadencedRead>) {
        let section = match fresh {
            Some(section) => {
                self.last =
                    matches!(section, Section::Ok { .. }).then(|| (now, now_ms, section.clone()));
                return (section, None);
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
    fn read(&self) -> Option<CadencedRead> {
        self.last.as_ref().map(|(_, at_ms, _)| CadencedRead {
            section: self.id,
            every_s: self.every.as_secs(),
            read_at_ms: *at_ms,
        })
    }

    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// The kept answers of one host's slow sections.
#[derive(Debug)]
pub struct KeptSections {
    pub thresholds: Kept<PartsThresholds>,
    pub detached_parts: Kept<Vec<DetachedParts>>,
    pub disks: Kept<Vec<Disk>>,
    pub kafka_chains: Kept<Vec<KafkaTableChain>>,
    pub own_load: Kept<OwnLoad>,
}

impl Default for KeptSections {
    fn default() -> KeptSections {
        KeptSections {
            thresholds: Kept::new(SectionId::Thresholds),
            detached_parts: Kept::new(SectionId::DetachedParts),
            disks: Kept::new(SectionId::Disks),
            kafka_chains: Kept::new(SectionId::KafkaChains),
            own_load: Kept::new(SectionId::OwnLoad),
        }
    }
}

impl KeptSections {
    pub fn forget(&mut self) {
        self.thresholds.forget();
        self.detached_parts.forget();
        self.disks.forget();
        self.kafka_chains.forget();
        self.own_load.forget();
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
        let mut disks = Kept::<u64>::new(SectionId::Disks);
        let t0 = Instant::now();
        assert!(disks.due(t0));
        let (s, read) = disks.settle(Some(ok(1)), t0, 1_000);
        assert_eq!((s.data(), read), (Some(&1), None));

        let t1 = t0 + Duration::from_secs(29);
        assert!(!disks.due(t1));
        let (s, read) = disks.settle(None, t1, 30_000);
        assert_eq!(s.data(), Some(&1));
        assert_eq!(
            read,
            Some(CadencedRead {
                section: SectionId::Disks,
                every_s: 30,
                read_at_ms: 1_000
            })
        );
        assert!(disks.due(t0 + Duration::from_secs(30)));
    }

    #[test]
    fn a_failed_read_is_tried_again_at_the_next_poll_and_forget_drops_everything() {
        let mut disks = Kept::<u64>::new(SectionId::Disks);
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
        let kept = KeptSections::default();
        let ids = [
            kept.thresholds.id,
            kept.detached_parts.id,
            kept.disks.id,
            kept.kafka_chains.id,
            kept.own_load.id,
        ];
        for (id, every) in INTERVALS {
            assert!(ids.contains(&id), "{id:?} has an interval but is not kept");
            assert!(every > Duration::ZERO);
        }
    }
}
