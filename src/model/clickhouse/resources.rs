//! Resources across hosts: every disk (the fullest and the soonest full first) with its time until
//! full, each host's tracked memory against its limit, and every Distributed table's send queue
//! (broken files first), for the `:disks` and `:distribution` views, the overview's host lines and
//! the alerts.

use serde::Serialize;

use super::activity::{AcrossHosts, OnHost, across};
use super::disk_history::DiskHistory;
use crate::clickhouse::resources::{Disk, DistributionQueue, Memory};
use crate::clickhouse::section_id::SectionId;
use crate::clickhouse::snapshot::{HostSnapshot, Section};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    /// One row per host × disk: the soonest full first, then the least free.
    pub disks: AcrossHosts<DiskState>,
    /// Each answering host's memory, or why it has none to show.
    pub memory: Vec<HostMemory>,
    /// One row per host × Distributed table: broken files first, then the most files waiting.
    pub distribution: AcrossHosts<DistributionQueue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskState {
    #[serde(flatten)]
    pub disk: Disk,
    /// `free_bytes ÷ total_bytes`; None for a disk without a total.
    pub free_ratio: Option<f64>,
    /// Seconds until the free space reaches `keep_free_bytes` at the rate of the last hour, only
    /// when that history supports it (see `disk_history`), within a day.
    pub full_in_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostMemory {
    pub host: String,
    pub memory: Option<Memory>,
    pub problem: Option<String>,
}

impl Resources {
    /// `history` gets the free space of every disk as each host last read it (when it was read).
    pub fn gather(hosts: &[&HostSnapshot], history: &mut DiskHistory) -> Resources {
        let mut disks = AcrossHosts::default();
        for h in hosts {
            match &h.disks {
                Section::Ok { data } => {
                    // One point per read: disks are on a cadence, kept answers add none.
                    let read_at_ms = h.read_at_ms(SectionId::Disks);
                    let full_in = history.record(&h.host, read_at_ms, data);
                    disks
                        .rows
                        .extend(data.iter().zip(full_in).map(|(d, full_in_s)| OnHost {
                            host: h.host.clone(),
                            item: DiskState {
                                disk: d.clone(),
                                free_ratio: d.free_ratio(),
                                full_in_s,
                            },
                        }));
                }
                Section::Unavailable { reason } => {
                    disks.problem = disks.problem.or_else(|| Some(reason.clone()))
                }
                Section::Failed { error } => {
                    disks.problem = disks
                        .problem
                        .or_else(|| Some(format!("{}: {error}", h.host)))
                }
            }
        }
        disks.rows.sort_by(|a, b| {
            let (a, b) = (&a.item, &b.item);
            let soon = |d: &DiskState| d.full_in_s.unwrap_or(f64::INFINITY);
            soon(a).total_cmp(&soon(b)).then(
                a.free_ratio
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.free_ratio.unwrap_or(f64::INFINITY)),
            )
        });
        let mut distribution = across(hosts, |h| &h.distribution_queue);
        distribution.rows.sort_by(|a, b| {
            let (a, b) = (&a.item, &b.item);
            b.broken_data_files
                .unwrap_or(0)
                .cmp(&a.broken_data_files.unwrap_or(0))
                .then(b.data_files.cmp(&a.data_files))
                .then(b.error_count.cmp(&a.error_count))
                .then((&a.database, &a.table).cmp(&(&b.database, &b.table)))
        });
        let memory = hosts
            .iter()
            .map(|h| HostMemory {
                host: h.host.clone(),
                memory: h.memory.data().cloned(),
                problem: h.memory.problem().map(str::to_string),
            })
            .collect();
        Resources {
            disks,
            memory,
            distribution,
        }
    }

    /// The disk of `host` with the least free share, if it has any with a total.
    pub fn fullest_disk(&self, host: &str) -> Option<&DiskState> {
        self.disks
            .rows
            .iter()
            .filter(|d| d.host == host && d.item.free_ratio.is_some())
            .map(|d| &d.item)
            .min_by(|a, b| {
                a.free_ratio
                    .unwrap_or(1.0)
                    .total_cmp(&b.free_ratio.unwrap_or(1.0))
            })
    }

    pub fn memory_of(&self, host: &str) -> Option<&Memory> {
        self.memory
            .iter()
            .find(|m| m.host == host)
            .and_then(|m| m.memory.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use crate::alerts::RuleSet;
    use crate::clickhouse::resources::{Disk, DistributionQueue, Memory};
    use crate::clickhouse::snapshot::Section;
    use crate::model::clickhouse::ClickHouseTracker;
    use crate::model::clickhouse::tests::{host, ok, snapshot};

    pub(crate) fn disk(name: &str, free: u64, total: u64) -> Disk {
        Disk {
            name: name.into(),
            path: format!("/data/{name}/"),
            free_bytes: free,
            total_bytes: total,
            keep_free_bytes: 0,
            kind: Some("Local".into()),
        }
    }

    pub(crate) fn queue(table: &str, files: u64, broken: Option<u64>) -> DistributionQueue {
        DistributionQueue {
            database: "db".into(),
            table: table.into(),
            data_files: files,
            data_compressed_bytes: files * 500,
            broken_data_files: broken,
            broken_data_compressed_bytes: broken.map(|b| b * 20),
            error_count: files,
            is_blocked: false,
            last_exception: String::new(),
            last_exception_time: None,
        }
    }

    #[test]
    fn a_recording_made_before_these_sections_reads_them_as_not_recorded() {
        let mut json = serde_json::to_value(host("a", vec![])).unwrap();
        for key in ["disks", "memory", "distribution_queue"] {
            json.as_object_mut().unwrap().remove(key);
        }
        let old: crate::clickhouse::snapshot::HostSnapshot = serde_json::from_value(json).unwrap();
        assert!(
            old.disks
                .problem()
                .is_some_and(|p| p.starts_with("not in this recording")),
            "{:?}",
            old.disks
        );
        assert!(old.memory.problem().is_some() && old.distribution_queue.problem().is_some());
    }

    #[test]
    fn disks_rank_by_free_share_and_hosts_keep_their_memory_or_why_not() {
        let mut a = host("a", vec![]);
        a.disks = ok(vec![disk("default", 50, 100), disk("cold", 5, 100)]);
        a.memory = ok(Memory {
            tracked_bytes: 90,
            limit_bytes: Some(100),
            limit_source: Some("max_server_memory_usage".into()),
            limit_missing: None,
        });
        a.distribution_queue = ok(vec![queue("few", 3, Some(0)), queue("broken", 1, Some(2))]);
        let mut b = host("b", vec![]);
        b.disks = Section::Unavailable {
            reason: "system.disks: not available on ClickHouse 18.16 (needs ≥ 19.15)".into(),
        };
        b.memory = Section::Failed {
            error: "timeout".into(),
        };
        b.distribution_queue = ok(vec![queue("many", 80, None)]);
        let model =
            ClickHouseTracker::default().update(&snapshot(vec![a, b], 0), &RuleSet::default());
        let r = &model.resources;
        let order: Vec<&str> = r
            .disks
            .rows
            .iter()
            .map(|d| d.item.disk.name.as_str())
            .collect();
        assert_eq!(order, ["cold", "default"]);
        assert_eq!(r.disks.rows[0].item.free_ratio, Some(0.05));
        assert!(
            r.disks
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("19.15"))
        );
        assert_eq!(
            r.fullest_disk("a").map(|d| d.disk.name.as_str()),
            Some("cold")
        );
        assert_eq!(r.memory_of("a").and_then(Memory::used_ratio), Some(0.9));
        assert_eq!(r.memory[1].problem.as_deref(), Some("timeout"));
        let queues: Vec<&str> = r
            .distribution
            .rows
            .iter()
            .map(|q| q.item.table.as_str())
            .collect();
        assert_eq!(queues, ["broken", "many", "few"]);
        let hosts: Vec<(Option<f64>, Option<f64>)> = model
            .hosts
            .iter()
            .map(|h| (h.disk_free_ratio, h.memory_used_ratio))
            .collect();
        assert_eq!(hosts, [(Some(0.05), Some(0.9)), (None, None)]);
    }

    #[test]
    fn a_kept_disk_answer_adds_no_point_to_the_history() {
        use crate::clickhouse::section_id::SectionId;
        use crate::clickhouse::snapshot::CadencedRead;
        use crate::model::clickhouse::disk_history::DiskHistory;
        let mut history = DiskHistory::default();
        let at =
            |history: &mut DiskHistory, taken_at_ms: i64, read_at_ms: Option<i64>, free: u64| {
                let mut h = host("a", vec![]);
                h.taken_at_ms = taken_at_ms;
                h.disks = ok(vec![disk("default", free, 100)]);
                h.cadenced = read_at_ms
                    .map(|read_at_ms| CadencedRead {
                        section: SectionId::Disks,
                        every_s: 30,
                        read_at_ms,
                    })
                    .into_iter()
                    .collect();
                super::Resources::gather(&[&h], history);
            };
        at(&mut history, 0, None, 90);
        at(&mut history, 2_000, Some(0), 90);
        at(&mut history, 4_000, Some(0), 90);
        assert_eq!(history.points(), 1);
        at(&mut history, 30_000, None, 80);
        assert_eq!(history.points(), 2);
    }
}
