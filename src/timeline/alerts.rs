//! Alerts firing, escalating and clearing between two models.

use std::collections::HashMap;

use crate::alerts::{AlertState, Alerts, RuleKind, Severity, Subject};
use crate::model::event::{Change, EventKind};

pub fn changes(before: &Alerts, after: &Alerts, out: &mut Vec<Change>) {
    let firing = |a: &Alerts| -> HashMap<(RuleKind, Subject), Severity> {
        a.active
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| ((a.rule, a.subject.clone()), a.severity))
            .collect()
    };
    let (old, new) = (firing(before), firing(after));
    for a in after
        .active
        .iter()
        .filter(|a| a.state == AlertState::Firing)
    {
        let word = match (old.get(&(a.rule, a.subject.clone())), a.severity) {
            (None, _) => "fired",
            (Some(Severity::Warning), Severity::Critical) => "escalated to critical",
            (Some(_), _) => continue,
        };
        let detail = a.detail.lines().next().unwrap_or("");
        out.push(
            Change::new(
                EventKind::Alert,
                a.subject.clone(),
                format!("{} {word}: {detail}", a.rule),
            )
            .bad(a.severity),
        );
    }
    let mut cleared: Vec<&(RuleKind, Subject)> =
        old.keys().filter(|k| !new.contains_key(*k)).collect();
    cleared.sort();
    for (rule, subject) in cleared {
        out.push(Change::new(
            EventKind::Alert,
            subject.clone(),
            format!("{rule} cleared"),
        ));
    }
}
