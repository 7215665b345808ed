//! Turns the model into the values the alert rules judge: one observation per rule and subject.

use super::engine::Observation;
use super::rules::{RuleKind, Subject, SubjectKind};
use crate::model::Model;
use crate::model::kafka::history::TimeLagKind;
use crate::model::kafka::status::Status;
use crate::source::SourceState;

pub fn observe(model: &Model, now_unix_s: i64, window_s: u64) -> Vec<Observation> {
    let mut out = Vec::new();
    kafka(model, &mut out);
    clickhouse(model, now_unix_s, window_s, &mut out);
    worst_per_subject(out)
}

/// One value per rule and subject. With several ClickHouse hosts the same table is observed once
/// per host; the engine steps its state machine once per observation, so a healthy host would
/// clear, in the same round, what the other host fired (and a `for = 0` rule would fire and clear
/// on every poll). The worst value stands for the subject: every rule's value grows with how bad
/// it is, and a known value beats an unknown (NaN) one.
fn worst_per_subject(observations: Vec<Observation>) -> Vec<Observation> {
    let mut index: std::collections::HashMap<(RuleKind, Subject), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<Observation> = Vec::with_capacity(observations.len());
    for o in observations {
        match index.get(&(o.rule, o.subject.clone())) {
            Some(&i) => {
                // A condition that makes it severe whatever the value (`at_least`) ranks first.
                let worse = o.at_least > out[i].at_least
                    || (o.at_least == out[i].at_least
                        && (o.value > out[i].value || out[i].value.is_nan()));
                if worse {
                    out[i] = o;
                }
            }
            None => {
                index.insert((o.rule, o.subject.clone()), out.len());
                out.push(o);
            }
        }
    }
    out
}

fn obs(
    out: &mut Vec<Observation>,
    rule: RuleKind,
    kind: SubjectKind,
    name: &str,
    value: f64,
    detail: String,
) {
    out.push(Observation {
        rule,
        subject: Subject::new(kind, name),
        value,
        detail,
        at_least: None,
    });
}

/// Observes whether a source answers, and says whether its figures can be judged: while it is
/// unreachable its figures are old, and judging them would only re-fire what already fired.
fn reachable(out: &mut Vec<Observation>, rule: RuleKind, name: &str, source: &SourceState) -> bool {
    let down = source.error.is_some();
    let detail = source
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    obs(
        out,
        rule,
        SubjectKind::Source,
        name,
        f64::from(u8::from(down)),
        detail,
    );
    !down && source.last_good_at.is_some()
}

/// How near a group's unread messages are to deletion, and how many were deleted unread.
fn retention(g: &crate::model::kafka::lag::GroupLag, out: &mut Vec<Observation>) {
    let r = &g.retention;
    if let (Some(used), Some(left), Some(limit)) = (r.used, r.left_s, r.retention_ms) {
        let left = crate::format::seconds(left);
        let limit = crate::format::whole_duration_ms(limit);
        obs(
            out,
            RuleKind::RetentionRisk,
            SubjectKind::Group,
            &g.group_id,
            used,
            format!("oldest unread message may be deleted in {left} (retention {limit})"),
        );
    }
    obs(
        out,
        RuleKind::MessagesLost,
        SubjectKind::Group,
        &g.group_id,
        r.lost as f64,
        format!(
            "{} messages deleted by retention before the group read them",
            crate::format::thousands(r.lost)
        ),
    );
}

fn kafka(model: &Model, out: &mut Vec<Observation>) {
    let source = &model.sources.kafka;
    if !reachable(out, RuleKind::KafkaUnreachable, "kafka", source) {
        return;
    }
    for g in &model.kafka.groups {
        if let Some(t) = g.time_lag_s {
            let how = match g.time_lag_kind {
                TimeLagKind::Exact | TimeLagKind::Interpolated | TimeLagKind::LookedUp => "",
                TimeLagKind::Estimate => ", time lag estimated",
                TimeLagKind::AtLeast => ", time lag at least this",
                TimeLagKind::Unknown => ", time lag unknown",
            };
            let detail = format!("{} messages behind{how}", g.total_lag);
            obs(
                out,
                RuleKind::ConsumerTimeLag,
                SubjectKind::Group,
                &g.group_id,
                t,
                detail,
            );
        }
        retention(g, out);
        let bad = matches!(g.status, Status::Stop | Status::Stall | Status::Rewind);
        let detail = format!("status {}", g.status.as_str());
        obs(
            out,
            RuleKind::ConsumerStatus,
            SubjectKind::Group,
            &g.group_id,
            f64::from(u8::from(bad)),
            detail,
        );
    }
    for t in &model.kafka.topics {
        let detail = format!(
            "{} of {} partitions under-replicated",
            t.under_replicated,
            t.partitions.len()
        );
        obs(
            out,
            RuleKind::UnderReplicated,
            SubjectKind::Topic,
            &t.name,
            t.under_replicated as f64,
            detail,
        );
    }
    traffic(model, out);
    for b in &model.kafka.brokers {
        let down = b.is_down();
        let detail = match (&b.error, b.in_metadata) {
            (Some(e), _) => e.clone(),
            (None, false) => "in replica lists but not in the cluster metadata".to_string(),
            (None, true) => String::new(),
        };
        obs(
            out,
            RuleKind::BrokerUnreachable,
            SubjectKind::Broker,
            &b.id.to_string(),
            f64::from(u8::from(down)),
            detail,
        );
    }
}

/// Each topic's produce rate, for the topics the config gives a `min_rate` or `max_rate`: with
/// neither (the shipped state) there is nothing to judge. A topic without a rate yet (its first
/// poll) is not observed.
fn traffic(model: &Model, out: &mut Vec<Observation>) {
    use crate::model::kafka::topics::TOPIC_RATE_WINDOW_MS;
    for t in &model.kafka.topics {
        let subject = Subject::new(SubjectKind::Topic, t.name.as_str());
        let Some(threshold) = model
            .thresholds
            .threshold(RuleKind::TopicTraffic, &subject)
            .filter(|th| th.has_bounds())
        else {
            continue;
        };
        let Some(rate) = t.produce_rate else {
            continue;
        };
        let expected = match (threshold.below, threshold.warn) {
            (Some(min), Some(max)) => format!("expected {min}–{max}/s"),
            (Some(min), None) => format!("expected ≥ {min}/s"),
            (None, Some(max)) => format!("expected ≤ {max}/s"),
            (None, None) => String::new(),
        };
        let window = TOPIC_RATE_WINDOW_MS / 1000;
        let readers = match t.groups {
            1 => "1 group reads it".to_string(),
            n => format!("{n} groups read it"),
        };
        obs(
            out,
            RuleKind::TopicTraffic,
            SubjectKind::Topic,
            &t.name,
            rate,
            format!("{rate:.1} msg/s, {expected} (over up to {window}s); {readers}"),
        );
    }
}

fn clickhouse(model: &Model, now_unix_s: i64, window_s: u64, out: &mut Vec<Observation>) {
    let source = &model.sources.clickhouse;
    if !reachable(out, RuleKind::ClickHouseUnreachable, "clickhouse", source) {
        return;
    }
    for h in &model.clickhouse.hosts {
        let detail = h.error.clone().unwrap_or_default();
        obs(
            out,
            RuleKind::ClickHouseUnreachable,
            SubjectKind::Server,
            &h.host,
            f64::from(u8::from(h.error.is_some())),
            detail,
        );
        if let Some(c) = &h.insert_counters {
            let detail = format!(
                "{} rejected since the previous poll (Too many parts)",
                c.rejected_inserts
            );
            obs(
                out,
                RuleKind::RejectedInserts,
                SubjectKind::Server,
                &h.host,
                c.rejected_inserts as f64,
                detail,
            );
            let detail = format!("{} delayed since the previous poll", c.delayed_inserts);
            obs(
                out,
                RuleKind::DelayedInserts,
                SubjectKind::Server,
                &h.host,
                c.delayed_inserts as f64,
                detail,
            );
        }
    }
    for t in &model.clickhouse.health {
        if let Some(n) = t.failed_inserts {
            let lost = match t.async_failed_inserts {
                0 => String::new(),
                a => format!(" ({a} async, lost after they were accepted)"),
            };
            obs(
                out,
                RuleKind::FailedInserts,
                SubjectKind::Table,
                &t.table,
                n as f64,
                format!("{n} failed inserts in the window{lost}"),
            );
        }
        if let Some(ms) = t.p95_insert_ms {
            obs(
                out,
                RuleKind::InsertLatencyP95,
                SubjectKind::Table,
                &t.table,
                ms,
                format!("p95 insert {ms:.0}ms"),
            );
        }
        if let Some(pressure) = t.parts_to_delay_ratio {
            let detail = format!(
                "{} active parts in partition {} (inserts slow down at {})",
                t.max_parts_in_partition.unwrap_or(0),
                t.worst_partition.as_deref().unwrap_or("?"),
                t.parts_to_delay_insert.unwrap_or(0)
            );
            obs(
                out,
                RuleKind::PartsPressure,
                SubjectKind::Table,
                &t.table,
                pressure,
                detail,
            );
        }
        if let Some(n) = t.max_partitions_per_day {
            obs(
                out,
                RuleKind::PartitionsPerDay,
                SubjectKind::Table,
                &t.table,
                n as f64,
                format!("{n} partitions created in one day"),
            );
        }
        if let Some(age) = t.freshness_s {
            obs(
                out,
                RuleKind::Freshness,
                SubjectKind::Table,
                &t.table,
                age as f64,
                "newest row age".to_string(),
            );
        }
    }
    replication(model, out);
    super::observe_resources::resources(model, out);
    super::observe_kafka_chain::kafka_chains(model, out);
    let activity = &model.clickhouse.activity;
    for host in &activity.latency {
        if let Some(select) = host
            .item
            .iter()
            .find(|k| k.kind.eq_ignore_ascii_case("select"))
            && let Some(q) = &select.latency_ms
        {
            let detail = format!("p95 select {:.0}ms over {} queries", q.p95, select.queries);
            obs(
                out,
                RuleKind::SelectLatencyP95,
                SubjectKind::Server,
                &host.host,
                q.p95,
                detail,
            );
        }
    }
    for c in &activity.kafka_consumers.rows {
        let c = &c.item;
        let recent = c
            .latest_exceptions
            .iter()
            .filter(|e| now_unix_s - i64::from(e.time) <= window_s as i64)
            .count();
        let name = format!("{}.{}", c.database, c.table);
        let detail = c
            .latest_exceptions
            .first()
            .map(|e| e.text.clone())
            .unwrap_or_default();
        obs(
            out,
            RuleKind::KafkaEngineExceptions,
            SubjectKind::Consumer,
            &name,
            recent as f64,
            detail,
        );
    }
}

/// Replicas are judged per table (`database.table`, so the alert drills into the table and its
/// replicas), the worst host standing for it; Keeper sessions per host.
fn replication(model: &Model, out: &mut Vec<Observation>) {
    use crate::clickhouse::replication::{STUCK_AGE_S, STUCK_TRIES};
    let replication = &model.clickhouse.replication;
    for r in &replication.replicas.rows {
        let (host, replica) = (&r.host, &r.item);
        let table = format!("{}.{}", replica.database, replica.table);
        let why = match (&replica.zookeeper_exception, replica.is_session_expired) {
            (Some(e), _) => format!(": {e}"),
            (None, true) => ": ZooKeeper session expired".to_string(),
            (None, false) => String::new(),
        };
        obs(
            out,
            RuleKind::ReadonlyReplica,
            SubjectKind::Table,
            &table,
            f64::from(u8::from(replica.is_readonly)),
            format!(
                "read-only on {host} (replica {}){why}",
                replica.replica_name
            ),
        );
        obs(
            out,
            RuleKind::ReplicaDelay,
            SubjectKind::Table,
            &table,
            replica.absolute_delay_s as f64,
            format!(
                "{}s behind on {host} (replica {}), {} in its queue",
                replica.absolute_delay_s, replica.replica_name, replica.queue_size
            ),
        );
    }
    for q in &replication.queues.rows {
        let queue = &q.item;
        let table = format!("{}.{}", queue.database, queue.table);
        let worst = &queue.worst;
        let mut detail = format!(
            "{} of {} entries on {} tried > {STUCK_TRIES} times or older than {}; worst {} {} tried {} times",
            queue.stuck,
            queue.entries,
            q.host,
            crate::time::short_duration(std::time::Duration::from_secs(STUCK_AGE_S)),
            worst.kind,
            worst.new_part_name,
            worst.num_tries
        );
        if !worst.last_exception.is_empty() {
            detail.push_str(&format!(": {}", worst.last_exception));
        }
        if let Some(p) = &worst.postpone_reason {
            detail.push_str(&format!(" (postponed: {p})"));
        }
        obs(
            out,
            RuleKind::ReplicationQueueStuck,
            SubjectKind::Table,
            &table,
            queue.stuck as f64,
            detail,
        );
    }
    for k in &replication.keeper {
        if let Some(session) = &k.session {
            obs(
                out,
                RuleKind::KeeperSession,
                SubjectKind::Server,
                &k.host,
                f64::from(u8::from(!session.connected)),
                session.error.clone().unwrap_or_default(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(rule: RuleKind, name: &str, value: f64) -> Observation {
        Observation {
            rule,
            subject: Subject::new(SubjectKind::Table, name),
            value,
            detail: format!("{value}"),
            at_least: None,
        }
    }

    #[test]
    fn one_observation_per_rule_and_subject_the_worst() {
        let out = worst_per_subject(vec![
            o(RuleKind::PartsPressure, "default.events", 1.0),
            o(RuleKind::PartsPressure, "default.other", 0.2),
            o(RuleKind::PartsPressure, "default.events", 0.1),
            o(RuleKind::FailedInserts, "default.events", f64::NAN),
            o(RuleKind::FailedInserts, "default.events", 3.0),
            o(RuleKind::PartsPressure, "default.other", 0.7),
        ]);
        let got: Vec<(RuleKind, &str, String)> = out
            .iter()
            .map(|o| (o.rule, o.subject.name.as_str(), o.detail.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (RuleKind::PartsPressure, "default.events", "1".to_string()),
                (RuleKind::PartsPressure, "default.other", "0.7".to_string()),
                (RuleKind::FailedInserts, "default.events", "3".to_string()),
            ]
        );
    }
}
