//! The Kafka-engine chain rules' values: each materialized view's failures in the window under its
//! Kafka table (`mv_failures`), each host's Kafka commit failures in the
//! window (`kafka_engine_commit_failures`).

use super::engine::Observation;
use super::rules::{RuleKind, Subject, SubjectKind};
use crate::format;
use crate::model::Model;

pub fn kafka_chains(model: &Model, out: &mut Vec<Observation>) {
    let chains = &model.clickhouse.kafka_chains;
    for c in &chains.tables.rows {
        let (host, chain) = (&c.host, &c.item);
        for v in &chain.views {
            let (Some(runs), Some(failures)) = (v.runs, v.failures) else {
                continue;
            };
            let target = v.target.as_deref().unwrap_or("its inner table");
            let mut detail = format!(
                "{} of {} pushes from {} to {target} failed on {host} in the window",
                format::thousands(failures),
                format::thousands(runs),
                chain.full_name(),
            );
            if let Some(e) = &v.last_exception {
                detail.push_str(&format!(": {e}"));
            }
            out.push(Observation {
                rule: RuleKind::MvFailures,
                subject: Subject::new(SubjectKind::Table, v.view.as_str()),
                value: failures as f64,
                detail,
                at_least: None,
            });
        }
    }
    for h in &chains.counters {
        let Some(c) = h.get("KafkaCommitFailures") else {
            continue;
        };
        // Judged over the window, so one failure keeps the alert for the window rather than for
        // one poll. Nothing on a host's first poll or after its restart: nothing to compare yet.
        let Some(in_window) = c.in_window else {
            continue;
        };
        let errors = h
            .get("KafkaConsumerErrors")
            .and_then(|e| e.in_window)
            .unwrap_or(0);
        out.push(Observation {
            rule: RuleKind::KafkaEngineCommitFailures,
            subject: Subject::new(SubjectKind::Server, h.host.as_str()),
            value: in_window as f64,
            detail: format!(
                "{} Kafka commit failures in the window ({} since the server started), {} consumer errors",
                format::thousands(in_window),
                format::thousands(c.total),
                format::thousands(errors)
            ),
            at_least: None,
        });
    }
}
