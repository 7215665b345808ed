//! The Kafka-engine chain rules' values: each materialized view's failures in the window under its
//! Kafka table (`mv_failures`), each host's Kafka commit failures since its previous poll
//! (`kafka_engine_commit_failures`).

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
        // No delta on a host's first poll or after its restart: nothing to judge yet.
        let Some(delta) = c.delta else { continue };
        let errors = h
            .get("KafkaConsumerErrors")
            .and_then(|e| e.delta)
            .unwrap_or(0);
        out.push(Observation {
            rule: RuleKind::KafkaEngineCommitFailures,
            subject: Subject::new(SubjectKind::Server, h.host.as_str()),
            value: delta as f64,
            detail: format!(
                "{} Kafka commit failures since the previous poll ({} since the server started), {} consumer errors",
                format::thousands(delta),
                format::thousands(c.total),
                format::thousands(errors)
            ),
            at_least: None,
        });
    }
}
