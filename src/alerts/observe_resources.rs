//! The resource rules' values: each host's disks (`disk_free`) and memory (`memory_pressure`),
//! each Distributed table's send queue (`distributed_files`).

use super::engine::Observation;
use super::rules::{RuleKind, Subject, SubjectKind};
use super::severity::Severity;
use crate::format;
use crate::model::Model;

pub fn resources(model: &Model, out: &mut Vec<Observation>) {
    let r = &model.clickhouse.resources;
    // Per host: the worst disk stands for it (`worst_per_subject`), the detail names it.
    for d in &r.disks.rows {
        let (host, disk) = (&d.host, &d.item);
        let Some(free) = disk.free_ratio else {
            continue;
        };
        let full = disk
            .full_in_s
            .map(|s| format!(", full in {} at the last hour's rate", format::seconds(s)));
        out.push(Observation {
            rule: RuleKind::DiskFree,
            subject: Subject::new(SubjectKind::Server, host.as_str()),
            value: 1.0 - free,
            detail: format!(
                "disk {} {:.0}% free ({} of {}){}",
                disk.disk.name,
                free * 100.0,
                format::bytes(disk.disk.free_bytes),
                format::bytes(disk.disk.total_bytes),
                full.as_deref().unwrap_or("")
            ),
            at_least: full.is_some().then_some(Severity::Critical),
        });
    }
    for m in &r.memory {
        let Some((memory, used)) = m
            .memory
            .as_ref()
            .and_then(|mem| mem.used_ratio().map(|u| (mem, u)))
        else {
            continue;
        };
        out.push(Observation {
            rule: RuleKind::MemoryPressure,
            subject: Subject::new(SubjectKind::Server, m.host.as_str()),
            value: used,
            detail: format!(
                "{} tracked of {} ({})",
                format::bytes(memory.tracked_bytes),
                format::bytes(memory.limit_bytes.unwrap_or(0)),
                memory.limit_source.as_deref().unwrap_or("limit")
            ),
            at_least: None,
        });
    }
    for q in &r.distribution.rows {
        let (host, queue) = (&q.host, &q.item);
        let broken = queue.broken_data_files.unwrap_or(0);
        let mut detail = format!(
            "{} files ({}) waiting on {host}, {} failed sends",
            format::thousands(queue.data_files),
            format::bytes(queue.data_compressed_bytes),
            format::thousands(queue.error_count)
        );
        if broken > 0 {
            detail.push_str(&format!(
                ", {} broken (their rows never reach the shard)",
                format::thousands(broken)
            ));
        }
        if queue.is_blocked {
            detail.push_str(", sending blocked");
        }
        if !queue.last_exception.is_empty() {
            detail.push_str(&format!(": {}", queue.last_exception));
        }
        out.push(Observation {
            rule: RuleKind::DistributedFiles,
            subject: Subject::new(
                SubjectKind::Table,
                format!("{}.{}", queue.database, queue.table),
            ),
            value: queue.data_files as f64,
            detail,
            at_least: (broken > 0).then_some(Severity::Critical),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::alerts::engine::AlertEngine;
    use crate::alerts::{AlertState, RuleKind, RuleSet, Severity};
    use crate::clickhouse::resources::{Disk, DistributionQueue, Memory};
    use crate::model::Model;
    use crate::model::clickhouse::activity::OnHost;
    use crate::model::clickhouse::resources::{DiskState, HostMemory};

    fn disk(host: &str, name: &str, free: u64, full_in_s: Option<f64>) -> OnHost<DiskState> {
        let d = Disk {
            name: name.into(),
            path: "/".into(),
            free_bytes: free,
            total_bytes: 100,
            keep_free_bytes: 0,
            kind: None,
        };
        OnHost {
            host: host.into(),
            item: DiskState {
                free_ratio: d.free_ratio(),
                disk: d,
                full_in_s,
            },
        }
    }

    fn queue(host: &str, files: u64, broken: u64) -> OnHost<DistributionQueue> {
        OnHost {
            host: host.into(),
            item: DistributionQueue {
                database: "db".into(),
                table: "dist".into(),
                data_files: files,
                data_compressed_bytes: files * 10,
                broken_data_files: Some(broken),
                broken_data_compressed_bytes: Some(broken),
                error_count: 3,
                is_blocked: false,
                last_exception: "Connection refused".into(),
                last_exception_time: None,
            },
        }
    }

    fn judged(model: &Model) -> Vec<(RuleKind, String, Severity, bool)> {
        let mut engine = AlertEngine::new(RuleSet::default());
        let observations = super::super::observe::observe(model, 0, 300);
        engine.evaluate(
            observations,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000),
        );
        let mut out: Vec<(RuleKind, String, Severity, bool)> = engine
            .active()
            .into_iter()
            .filter(|a| a.state == AlertState::Firing)
            .filter(|a| {
                matches!(
                    a.rule,
                    RuleKind::DiskFree | RuleKind::MemoryPressure | RuleKind::DistributedFiles
                )
            })
            .map(|a| (a.rule, a.subject.name.clone(), a.severity, a.forced))
            .collect();
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    fn model() -> Model {
        let mut model = Model::default();
        model.sources.clickhouse.last_good_at = Some(SystemTime::UNIX_EPOCH);
        model
    }

    #[test]
    fn disk_free_warns_under_20_percent_and_is_critical_under_10_or_when_filling() {
        let mut m = model();
        std::sync::Arc::make_mut(&mut m.clickhouse)
            .resources
            .disks
            .rows = vec![
            disk("a", "default", 50, None),
            disk("b", "default", 15, None),
            disk("c", "default", 5, None),
            disk("d", "default", 60, Some(3_600.0)),
            // The worst disk of a host stands for it.
            disk("e", "default", 60, None),
            disk("e", "cold", 12, None),
        ];
        assert_eq!(
            judged(&m),
            [
                (RuleKind::DiskFree, "b".into(), Severity::Warning, false),
                (RuleKind::DiskFree, "c".into(), Severity::Critical, false),
                (RuleKind::DiskFree, "d".into(), Severity::Critical, true),
                (RuleKind::DiskFree, "e".into(), Severity::Warning, false),
            ]
        );
    }

    #[test]
    fn memory_pressure_warns_above_80_percent_of_the_limit() {
        let mut m = model();
        let mem = |host: &str, tracked: u64, limit: Option<u64>| HostMemory {
            host: host.into(),
            memory: Some(Memory {
                tracked_bytes: tracked,
                limit_bytes: limit,
                limit_source: Some("max_server_memory_usage".into()),
                limit_missing: None,
            }),
            problem: None,
        };
        std::sync::Arc::make_mut(&mut m.clickhouse).resources.memory = vec![
            mem("a", 79, Some(100)),
            mem("b", 81, Some(100)),
            mem("c", 99, None),
        ];
        assert_eq!(
            judged(&m),
            [(
                RuleKind::MemoryPressure,
                "b".into(),
                Severity::Warning,
                false
            )]
        );
    }

    #[test]
    fn distributed_files_warns_above_50_and_any_broken_file_is_critical() {
        let mut m = model();
        std::sync::Arc::make_mut(&mut m.clickhouse)
            .resources
            .distribution
            .rows = vec![queue("a", 51, 0)];
        assert_eq!(
            judged(&m),
            [(
                RuleKind::DistributedFiles,
                "db.dist".into(),
                Severity::Warning,
                false
            )]
        );
        // Another host with fewer files but a broken one: the table is critical.
        std::sync::Arc::make_mut(&mut m.clickhouse)
            .resources
            .distribution
            .rows = vec![queue("a", 51, 0), queue("b", 2, 1)];
        assert_eq!(
            judged(&m),
            [(
                RuleKind::DistributedFiles,
                "db.dist".into(),
                Severity::Critical,
                true
            )]
        );
        std::sync::Arc::make_mut(&mut m.clickhouse)
            .resources
            .distribution
            .rows = vec![queue("a", 10, 0)];
        assert_eq!(judged(&m), []);
    }
}
