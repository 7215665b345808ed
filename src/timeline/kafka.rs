//! Kafka's changes between two models: groups (appearing, going, state, members, rewinds),
//! brokers (down, back, leaving or rejoining the metadata), partition leaders moving, and
//! partitions going under-replicated or leaderless and back.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use crate::alerts::{Severity, SubjectKind};
use crate::format::plural;
use crate::kafka::types::GroupState;
use crate::model::event::{Change, EventKind, subject};
use crate::model::kafka::KafkaModel;
use crate::model::kafka::lag::{GroupLag, KeyOrder};
use crate::model::kafka::rows::{Row, Rows};
use crate::model::kafka::topics::TopicView;

/// How many names an event lists before it says "and N more".
const NAMES_SHOWN: usize = 3;

pub fn changes(before: &KafkaModel, after: &KafkaModel, out: &mut Vec<Change>) {
    // Nothing to compare with on the first poll: everything would be "new".
    if before.groups.is_empty() && before.topics.is_empty() && before.brokers.is_empty() {
        return;
    }
    groups(before, after, out);
    brokers(before, after, out);
    topics(before, after, out);
}

fn groups(before: &KafkaModel, after: &KafkaModel, out: &mut Vec<Change>) {
    let old: HashMap<&str, &GroupLag> = before
        .groups
        .iter()
        .map(|g| (g.group_id.as_str(), g))
        .collect();
    let mut seen = BTreeSet::new();
    for g in &after.groups {
        seen.insert(g.group_id.as_str());
        let who = || subject(SubjectKind::Group, g.group_id.clone());
        let Some(prev) = old.get(g.group_id.as_str()) else {
            out.push(Change::new(
                EventKind::Group,
                who(),
                format!("appeared ({})", g.state.as_str()),
            ));
            continue;
        };
        // A group without data this poll (its coordinator down, unlisted) says Unknown: that is
        // the broker's news, not the group's.
        if g.state != prev.state
            && g.state != GroupState::Unknown
            && prev.state != GroupState::Unknown
        {
            let change = Change::new(
                EventKind::Group,
                who(),
                format!("state {} → {}", prev.state.as_str(), g.state.as_str()),
            );
            out.push(match g.state {
                GroupState::Empty | GroupState::Dead => change.bad(Severity::Warning),
                _ => change,
            });
        }
        members(prev, g, out);
        rewinds(prev, g, out);
    }
    for prev in &before.groups {
        if !seen.contains(prev.group_id.as_str()) {
            out.push(
                Change::new(
                    EventKind::Group,
                    subject(SubjectKind::Group, prev.group_id.clone()),
                    "gone (deleted, expired, or no longer watched)",
                )
                .bad(Severity::Warning),
            );
        }
    }
}

fn members(before: &GroupLag, after: &GroupLag, out: &mut Vec<Change>) {
    // A group without data this poll lists no members: unknown, not "everyone left".
    if after.state == GroupState::Unknown || before.state == GroupState::Unknown {
        return;
    }
    let ids = |g: &GroupLag| -> HashMap<String, String> {
        g.member_list
            .iter()
            .map(|m| (m.consumer_id.clone(), format!("{}@{}", m.client_id, m.host)))
            .collect()
    };
    let (old, new) = (ids(before), ids(after));
    let joined: Vec<&str> = new
        .iter()
        .filter(|(id, _)| !old.contains_key(*id))
        .map(|(_, who)| who.as_str())
        .collect();
    let left: Vec<&str> = old
        .iter()
        .filter(|(id, _)| !new.contains_key(*id))
        .map(|(_, who)| who.as_str())
        .collect();
    let who = || subject(SubjectKind::Group, after.group_id.clone());
    if !joined.is_empty() {
        out.push(Change::new(
            EventKind::Members,
            who(),
            format!(
                "{} joined: {} (now {})",
                plural(joined.len(), "member"),
                names(joined),
                after.members
            ),
        ));
    }
    if !left.is_empty() {
        let change = Change::new(
            EventKind::Members,
            who(),
            format!(
                "{} left: {} (now {})",
                plural(left.len(), "member"),
                names(left),
                after.members
            ),
        );
        out.push(if after.members == 0 {
            change.bad(Severity::Warning)
        } else {
            change
        });
    }
}

fn rewinds(before: &GroupLag, after: &GroupLag, out: &mut Vec<Change>) {
    let mut rewound: Vec<String> = Vec::new();
    let mut messages: u64 = 0;
    let mut rewind = |p: Row, then: i64| {
        if let Some(now) = p.committed()
            && now < then
        {
            rewound.push(format!("{}[{}] {then}→{now}", p.topic, p.partition));
            messages += (then - now).unsigned_abs();
        }
    };
    let mut order = KeyOrder::default();
    if ordered(&before.partitions, &mut order) && ordered(&after.partitions, &mut order) {
        // Both in (topic, partition) order, as the model derives them: one walk through both
        // (a million rows at the simulated scale), no map.
        let mut old = before.partitions.iter().peekable();
        for p in &after.partitions {
            while old
                .next_if(|o| order.cmp(key(o), key(&p)) == Ordering::Less)
                .is_some()
            {}
            if let Some(then) = old
                .next_if(|o| order.cmp(key(o), key(&p)) == Ordering::Equal)
                .and_then(|o| o.committed())
            {
                rewind(p, then);
            }
        }
    } else {
        let old: HashMap<(&str, i32), i64> = before
            .partitions
            .iter()
            .filter_map(|p| Some(((&**p.topic, p.partition), p.committed()?)))
            .collect();
        for p in &after.partitions {
            if let Some(&then) = old.get(&(&**p.topic, p.partition)) {
                rewind(p, then);
            }
        }
    }
    if !rewound.is_empty() {
        out.push(
            Change::new(
                EventKind::Rewind,
                subject(SubjectKind::Group, after.group_id.clone()),
                format!(
                    "committed offset went back on {} ({} messages to read again): {}",
                    plural(rewound.len(), "partition"),
                    crate::format::thousands(messages),
                    names(rewound.iter().map(String::as_str).collect())
                ),
            )
            .bad(Severity::Warning),
        );
    }
}

fn key<'a>(p: &Row<'a>) -> (&'a std::sync::Arc<str>, i32) {
    (p.topic, p.partition)
}

/// Whether rows are in strictly increasing (topic, partition) order.
fn ordered(rows: &Rows, order: &mut KeyOrder) -> bool {
    let mut rows = rows.iter();
    let Some(mut last) = rows.next() else {
        return true;
    };
    rows.all(|p| {
        let less = order.cmp(key(&last), key(&p)) == Ordering::Less;
        last = p;
        less
    })
}

fn brokers(before: &KafkaModel, after: &KafkaModel, out: &mut Vec<Change>) {
    let old: HashMap<i32, _> = before.brokers.iter().map(|b| (b.id, b)).collect();
    for b in &after.brokers {
        let Some(prev) = old.get(&b.id) else {
            continue;
        };
        let who = || subject(SubjectKind::Broker, b.id.to_string());
        let address = match (&b.host, b.port) {
            (Some(host), Some(port)) => format!(" ({host}:{port})"),
            _ => String::new(),
        };
        match (prev.is_down(), b.is_down()) {
            (false, true) => {
                let why = b.error.as_deref().unwrap_or(if b.in_metadata {
                    "does not answer"
                } else {
                    "left the cluster metadata"
                });
                out.push(
                    Change::new(
                        EventKind::Broker,
                        who(),
                        format!("broker {}{address} down: {why}", b.id),
                    )
                    .bad(Severity::Critical),
                );
            }
            (true, false) => out.push(Change::new(
                EventKind::Broker,
                who(),
                format!("broker {}{address} back", b.id),
            )),
            _ => {}
        }
    }
}

fn topics(before: &KafkaModel, after: &KafkaModel, out: &mut Vec<Change>) {
    let old: HashMap<&str, &TopicView> =
        before.topics.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in &after.topics {
        let Some(prev) = old.get(t.name.as_str()) else {
            continue;
        };
        let who = || subject(SubjectKind::Topic, t.name.clone());
        let leaders: HashMap<i32, Option<i32>> = prev
            .partitions
            .iter()
            .map(|p| (p.partition, p.leader))
            .collect();
        let mut moved = 0;
        let mut to: BTreeSet<i32> = BTreeSet::new();
        for p in &t.partitions {
            if let (Some(Some(was)), Some(now)) = (leaders.get(&p.partition), p.leader)
                && *was != now
            {
                moved += 1;
                to.insert(now);
            }
        }
        if moved > 0 {
            let to: Vec<String> = to.iter().map(|b| format!("broker {b}")).collect();
            out.push(Change::new(
                EventKind::Leaders,
                who(),
                format!(
                    "{} moved their leader, to {}",
                    plural(moved, "partition"),
                    to.join(", ")
                ),
            ));
        }
        replication(
            who(),
            prev.under_replicated,
            t.under_replicated,
            "under-replicated",
            Severity::Warning,
            out,
        );
        replication(
            who(),
            prev.leaderless,
            t.leaderless,
            "without a leader",
            Severity::Critical,
            out,
        );
    }
}

fn replication(
    who: crate::alerts::Subject,
    before: usize,
    after: usize,
    what: &str,
    severity: Severity,
    out: &mut Vec<Change>,
) {
    let text = match (before, after) {
        (b, a) if a > b => format!("{} {what} (was {b})", plural(a, "partition")),
        (b, 0) if b > 0 => format!("no partition {what} any more (was {b})"),
        (b, a) if a < b => format!("{} {what} (was {b})", plural(a, "partition")),
        _ => return,
    };
    let change = Change::new(EventKind::Replication, who, text);
    out.push(if after > before {
        change.bad(severity)
    } else {
        change
    });
}

/// "a, b, c" or "a, b, c and 4 more".
fn names(mut items: Vec<&str>) -> String {
    items.sort_unstable();
    let more = items.len().saturating_sub(NAMES_SHOWN);
    let shown = items[..items.len().min(NAMES_SHOWN)].join(", ");
    if more > 0 {
        format!("{shown} and {more} more")
    } else {
        shown
    }
}
