//! ClickHouse's changes between two models: servers restarting or changing version, new
//! exception codes in the failed inserts, tables reaching a parts threshold, mutations starting
//! or failing, a Distributed table's sends starting to fail or its files turning broken, a
//! materialized view under a Kafka engine table starting to throw; and either source going down
//! or coming back.

use std::collections::{HashMap, HashSet};

use crate::alerts::{Severity, SubjectKind};
use crate::model::Model;
use crate::model::clickhouse::ClickHouseModel;
use crate::model::clickhouse::health::TableHealth;
use crate::model::event::{Change, EventKind, subject};
use crate::source::SourceState;

/// The start of a table health reason that says a mutation keeps failing.
const MUTATION_FAILING: &str = "mutation failing";

pub fn sources(before: &Model, after: &Model, out: &mut Vec<Change>) {
    source("kafka", &before.sources.kafka, &after.sources.kafka, out);
    source(
        "clickhouse",
        &before.sources.clickhouse,
        &after.sources.clickhouse,
        out,
    );
}

/// Down: the latest poll failed; up: it succeeded. The first poll's outcome is not news.
fn source(name: &str, before: &SourceState, after: &SourceState, out: &mut Vec<Change>) {
    if before.polls == 0 || after.polls == before.polls {
        return;
    }
    let down = |s: &SourceState| match (&s.error, s.last_good_at) {
        (Some(e), Some(good)) => e.at > good,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let who = || subject(SubjectKind::Source, name);
    match (down(before), down(after)) {
        (false, true) => {
            let why = after.error.as_ref().map_or("", |e| e.message.as_str());
            out.push(
                Change::new(EventKind::Source, who(), format!("{name} down: {why}"))
                    .bad(Severity::Critical),
            );
        }
        (true, false) => out.push(Change::new(
            EventKind::Source,
            who(),
            format!("{name} answering again"),
        )),
        _ => {}
    }
}

pub fn changes(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    if before.hosts.is_empty() {
        return;
    }
    servers(before, after, out);
    exceptions(before, after, out);
    tables(before, after, out);
    distribution(before, after, out);
    views(before, after, out);
}

/// A materialized view reading a Kafka engine table that starts throwing: none of its pushes in
/// the window failed at the previous poll, some do now.
fn views(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    let old: HashMap<(&str, &str), Option<u64>> = before
        .kafka_chains
        .tables
        .rows
        .iter()
        .flat_map(|c| {
            c.item
                .views
                .iter()
                .map(move |v| ((c.host.as_str(), v.view.as_str()), v.failures))
        })
        .collect();
    for c in &after.kafka_chains.tables.rows {
        for v in &c.item.views {
            let Some(now) = v.failures.filter(|f| *f > 0) else {
                continue;
            };
            if old.get(&(c.host.as_str(), v.view.as_str())) != Some(&Some(0)) {
                continue;
            }
            let why = v
                .last_exception
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>();
            out.push(
                Change::new(
                    EventKind::Table,
                    subject(SubjectKind::Table, v.view.clone()),
                    format!(
                        "pushes from {} failing on {}, {now} of {}: {}",
                        c.item.full_name(),
                        c.host,
                        v.runs.unwrap_or(0),
                        why.join(" ")
                    ),
                )
                .bad(Severity::Warning),
            );
        }
    }
}

/// A Distributed table on a host whose sends start failing (`error_count` from 0), or whose
/// broken files grow: rows that will never reach the shard.
fn distribution(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    let old: HashMap<(&str, &str, &str), _> = before
        .resources
        .distribution
        .rows
        .iter()
        .map(|q| {
            (
                (
                    q.host.as_str(),
                    q.item.database.as_str(),
                    q.item.table.as_str(),
                ),
                &q.item,
            )
        })
        .collect();
    for q in &after.resources.distribution.rows {
        let (host, now) = (q.host.as_str(), &q.item);
        let Some(prev) = old.get(&(host, now.database.as_str(), now.table.as_str())) else {
            continue;
        };
        let who = || {
            subject(
                SubjectKind::Table,
                format!("{}.{}", now.database, now.table),
            )
        };
        let (was, broken) = (
            prev.broken_data_files.unwrap_or(0),
            now.broken_data_files.unwrap_or(0),
        );
        if broken > was {
            out.push(
                Change::new(
                    EventKind::Table,
                    who(),
                    format!(
                        "{broken} broken files on {host} (was {was}): their rows never reach the shard"
                    ),
                )
                .bad(Severity::Critical),
            );
        } else if prev.error_count == 0 && now.error_count > 0 {
            let why = now.last_exception.split_whitespace().collect::<Vec<_>>();
            out.push(
                Change::new(
                    EventKind::Table,
                    who(),
                    format!(
                        "sends to its shards failing on {host}, {} files waiting: {}",
                        now.data_files,
                        why.join(" ")
                    ),
                )
                .bad(Severity::Warning),
            );
        }
    }
}

fn servers(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    let old: HashMap<&str, _> = before.hosts.iter().map(|h| (h.host.as_str(), h)).collect();
    for h in &after.hosts {
        let Some(prev) = old.get(h.host.as_str()) else {
            continue;
        };
        let who = || subject(SubjectKind::Server, h.host.clone());
        if let (Some(then), Some(now)) = (prev.uptime_s, h.uptime_s)
            && now < then
        {
            out.push(
                Change::new(
                    EventKind::Server,
                    who(),
                    format!("{} restarted (up {now}s, was up {then}s)", h.host),
                )
                .bad(Severity::Warning),
            );
        }
        if let (Some(then), Some(now)) = (&prev.version, &h.version)
            && then != now
        {
            out.push(Change::new(
                EventKind::Server,
                who(),
                format!("{} version {then} → {now}", h.host),
            ));
        }
        match (&prev.error, &h.error) {
            (None, Some(e)) => out.push(
                Change::new(EventKind::Server, who(), format!("{} down: {e}", h.host))
                    .bad(Severity::Critical),
            ),
            (Some(_), None) => out.push(Change::new(
                EventKind::Server,
                who(),
                format!("{} answering again", h.host),
            )),
            _ => {}
        }
    }
}

/// A (host, table, code) that was not among the failed inserts before. A code that only left
/// the query_log window and came back is news again: it stopped failing for a while.
fn exceptions(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    let old: HashSet<(&str, &str, i32)> = before
        .failed_inserts
        .iter()
        .map(|f| (f.host.as_str(), f.table.as_str(), f.exception_code))
        .collect();
    for f in &after.failed_inserts {
        if old.contains(&(f.host.as_str(), f.table.as_str(), f.exception_code)) {
            continue;
        }
        let first_line = f.latest_exception.lines().next().unwrap_or("");
        out.push(
            Change::new(
                EventKind::Exception,
                subject(SubjectKind::Table, f.table.clone()),
                format!(
                    "inserts failing with code {} ({} on {}): {first_line}",
                    f.exception_code, f.failures, f.host
                ),
            )
            .bad(Severity::Warning),
        );
    }
}

fn tables(before: &ClickHouseModel, after: &ClickHouseModel, out: &mut Vec<Change>) {
    let old: HashMap<(&str, &str), &TableHealth> = before
        .health
        .iter()
        .map(|t| ((t.host.as_str(), t.table.as_str()), t))
        .collect();
    for t in &after.health {
        let Some(prev) = old.get(&(t.host.as_str(), t.table.as_str())) else {
            continue;
        };
        let who = || subject(SubjectKind::Table, t.table.clone());
        let parts = t.max_parts_in_partition.unwrap_or(0);
        for (limit, was, now, what, severity) in [
            (
                t.parts_to_throw_insert,
                prev.parts_to_throw_ratio,
                t.parts_to_throw_ratio,
                "parts_to_throw_insert: inserts are rejected",
                Severity::Critical,
            ),
            (
                t.parts_to_delay_insert,
                prev.parts_to_delay_ratio,
                t.parts_to_delay_ratio,
                "parts_to_delay_insert: inserts are slowed down",
                Severity::Warning,
            ),
        ] {
            if let (Some(limit), Some(was), Some(now)) = (limit, was, now)
                && was < 1.0
                && now >= 1.0
            {
                out.push(
                    Change::new(
                        EventKind::Table,
                        who(),
                        format!(
                            "{parts} parts in a partition on {} reached {limit}, {what}",
                            t.host
                        ),
                    )
                    .bad(severity),
                );
                // The throw threshold implies the delay one: one event.
                break;
            }
        }
        if prev.mutations_pending == 0 && t.mutations_pending > 0 {
            out.push(Change::new(
                EventKind::Table,
                who(),
                format!(
                    "{} pending on {}",
                    crate::format::plural(t.mutations_pending as usize, "mutation"),
                    t.host
                ),
            ));
        }
        let failing = |h: &TableHealth| {
            h.reasons
                .iter()
                .find(|r| r.starts_with(MUTATION_FAILING))
                .cloned()
        };
        if let (None, Some(reason)) = (failing(prev), failing(t)) {
            out.push(Change::new(EventKind::Table, who(), reason).bad(Severity::Warning));
        }
    }
}
