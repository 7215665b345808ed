//! The alert state machine: pending → firing → resolved, per rule and subject.
//!
//! A condition must hold for the rule's `for` duration before it fires, and once firing it clears
//! only when the value drops below the lower (hysteresis) bound, so a value hovering at the
//! threshold neither fires on one sample nor flaps.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::rules::{RuleKind, RuleSet, Subject, Threshold};
pub use super::severity::Severity;

/// One measured value a rule judges.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub rule: RuleKind,
    pub subject: Subject,
    pub value: f64,
    /// A short human reason, e.g. "STOP: no commit for 45s while lag grows".
    pub detail: String,
    /// At least this severe whatever the value: a condition that is not a level on the value's
    /// scale (a Distributed table's broken files, a disk the history projects full within a day).
    pub at_least: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Pending,
    Firing,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub rule: RuleKind,
    pub subject: Subject,
    pub severity: Severity,
    pub state: AlertState,
    /// When the condition (at this severity) started; firing alerts fired `for` later.
    #[serde(serialize_with = "crate::time::ser_unix_ms")]
    pub since: SystemTime,
    pub value: f64,
    pub threshold: f64,
    /// The value is under `threshold` (a rate that dropped), not above it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub below: bool,
    /// The severity comes from a condition of the observation (`Observation::at_least`), not
    /// from the value crossing `threshold`: the detail says which.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    pub detail: String,
}

/// An alert that fired, with when it cleared (None while still firing).
#[derive(Debug, Clone, Serialize)]
pub struct AlertEvent {
    pub rule: RuleKind,
    pub subject: Subject,
    pub severity: Severity,
    #[serde(serialize_with = "crate::time::ser_unix_ms")]
    pub fired_at: SystemTime,
    #[serde(serialize_with = "crate::time::ser_opt_unix_ms")]
    pub cleared_at: Option<SystemTime>,
    /// The worst value seen while firing.
    pub peak: f64,
}

#[derive(Debug, Clone)]
struct Tracked {
    firing: Option<(Severity, SystemTime)>,
    pending: Option<(Severity, SystemTime)>,
    value: f64,
    detail: String,
    threshold: Threshold,
    at_least: Option<Severity>,
    /// Index into `history` of the event opened when this alert fired.
    event: Option<u64>,
}

/// Alerts kept in the session history; older ones drop off.
const HISTORY: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct AlertEngine {
    rules: RuleSet,
    tracked: BTreeMap<(RuleKind, Subject), Tracked>,
    history: VecDeque<(u64, AlertEvent)>,
    next_event: u64,
}

impl AlertEngine {
    pub fn new(rules: RuleSet) -> AlertEngine {
        AlertEngine {
            rules,
            ..AlertEngine::default()
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Judges one round of observations. Subjects not observed this round (a deleted group, a
    /// source that recovered) resolve. Returns the alerts that newly fired critical.
    pub fn evaluate(&mut self, observations: Vec<Observation>, now: SystemTime) -> Vec<Alert> {
        let mut seen = std::collections::BTreeSet::new();
        let mut newly_critical = Vec::new();
        for obs in observations {
            let Some(threshold) = self.rules.threshold(obs.rule, &obs.subject) else {
                continue;
            };
            let key = (obs.rule, obs.subject.clone());
            seen.insert(key.clone());
            let tracked = self.tracked.entry(key.clone()).or_insert(Tracked {
                firing: None,
                pending: None,
                value: obs.value,
                detail: String::new(),
                threshold,
                at_least: None,
                event: None,
            });
            tracked.value = obs.value;
            tracked.detail = obs.detail;
            tracked.threshold = threshold;
            tracked.at_least = obs.at_least;
            let firing_before = tracked.firing.map(|(s, _)| s);
            let desired = desired_level(obs.value, &threshold, firing_before).max(obs.at_least);
            step(tracked, desired, now);
            let firing_after = tracked.firing.map(|(s, _)| s);
            if firing_after != firing_before {
                self.record_transition(&key, firing_before, firing_after, now);
                if firing_after == Some(Severity::Critical)
                    && let Some(alert) = self.alert(&key)
                {
                    newly_critical.push(alert);
                }
            }
            if let Some(t) = self.tracked.get(&key)
                && let Some(id) = t.event
                && let Some((_, event)) = self.history.iter_mut().find(|(i, _)| *i == id)
            {
                // The worst value: the lowest for a rate under its minimum.
                event.peak = if event.severity == Severity::Warning && is_below(t) {
                    event.peak.min(obs.value)
                } else {
                    event.peak.max(obs.value)
                };
            }
        }
        let gone: Vec<(RuleKind, Subject)> = self
            .tracked
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            let before = self
                .tracked
                .get(&key)
                .and_then(|t| t.firing.map(|(s, _)| s));
            if before.is_some() {
                self.record_transition(&key, before, None, now);
            }
            self.tracked.remove(&key);
        }
        newly_critical
    }

    fn record_transition(
        &mut self,
        key: &(RuleKind, Subject),
        before: Option<Severity>,
        after: Option<Severity>,
        now: SystemTime,
    ) {
        let Some(tracked) = self.tracked.get_mut(key) else {
            return;
        };
        // Close the event of the previous severity.
        if before.is_some()
            && let Some(id) = tracked.event.take()
            && let Some((_, event)) = self.history.iter_mut().find(|(i, _)| *i == id)
        {
            event.cleared_at = Some(now);
        }
        if let Some(severity) = after {
            let id = self.next_event;
            self.next_event += 1;
            tracked.event = Some(id);
            self.history.push_back((
                id,
                AlertEvent {
                    rule: key.0,
                    subject: key.1.clone(),
                    severity,
                    fired_at: now,
                    cleared_at: None,
                    peak: tracked.value,
                },
            ));
            while self.history.len() > HISTORY {
                self.history.pop_front();
            }
        }
    }

    fn alert(&self, key: &(RuleKind, Subject)) -> Option<Alert> {
        let t = self.tracked.get(key)?;
        let (severity, state, since) = match (t.firing, t.pending) {
            // A pending escalation is shown as the firing alert plus its own pending entry.
            (Some((s, since)), _) => (s, AlertState::Firing, since),
            (None, Some((s, since))) => (s, AlertState::Pending, since),
            (None, None) => return None,
        };
        let below = severity == Severity::Warning && is_below(t);
        let threshold = if below {
            t.threshold.below
        } else {
            bound(&t.threshold, severity)
        };
        let forced = t.at_least.is_some_and(|a| a >= severity)
            && desired_level(t.value, &t.threshold, None) < Some(severity);
        Some(Alert {
            rule: key.0,
            subject: key.1.clone(),
            severity,
            state,
            since,
            value: t.value,
            threshold: threshold.unwrap_or(0.0),
            below,
            forced,
            detail: t.detail.clone(),
        })
    }

    /// Firing and pending alerts, critical first, then oldest first.
    pub fn active(&self) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = self.tracked.keys().filter_map(|k| self.alert(k)).collect();
        alerts.sort_by(|a, b| {
            (b.state == AlertState::Firing)
                .cmp(&(a.state == AlertState::Firing))
                .then(b.severity.cmp(&a.severity))
                .then(a.since.cmp(&b.since))
        });
        alerts
    }

    /// Alerts that fired this session, newest first.
    pub fn history(&self) -> Vec<AlertEvent> {
        self.history.iter().rev().map(|(_, e)| e.clone()).collect()
    }

    /// What the engine concluded, as plain data for the model.
    pub fn summary(&self) -> Alerts {
        Alerts {
            active: self.active(),
            history: self.history(),
        }
    }
}

/// The alerts as of one evaluation: what is pending or firing, and the session's history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Alerts {
    /// Firing first, then by severity.
    pub active: Vec<Alert>,
    /// Newest first.
    pub history: Vec<AlertEvent>,
}

fn bound(t: &Threshold, severity: Severity) -> Option<f64> {
    match severity {
        Severity::Warning => t.warn,
        Severity::Critical => t.crit,
    }
}

fn above(value: f64, threshold: Option<f64>, inclusive: bool) -> bool {
    match threshold {
        Some(t) if inclusive => value >= t,
        Some(t) => value > t,
        None => false,
    }
}

/// The level the value calls for, holding the current one until it falls below the lower bound.
fn desired_level(value: f64, t: &Threshold, firing: Option<Severity>) -> Option<Severity> {
    if !value.is_finite() {
        return firing;
    }
    let raw = if above(value, t.crit, t.inclusive) {
        Some(Severity::Critical)
    } else if above(value, t.warn, t.inclusive) || t.is_below(value) {
        Some(Severity::Warning)
    } else {
        None
    };
    match firing {
        Some(current) if raw < Some(current) => {
            // Hysteresis: a firing level holds while the value is above clear_ratio × its
            // threshold. When it does not, each level below it gets the same test before the
            // alert falls to `raw`: a critical never clears at a value a firing warning would
            // hold (with clear_ratio × crit ≤ warn, e.g. warn 30 s, crit 60 s, ratio 0.5).
            [Severity::Critical, Severity::Warning]
                .into_iter()
                .filter(|&level| level <= current && Some(level) > raw)
                .find(|&level| {
                    bound(t, level).is_some_and(|b| value > b * t.clear_ratio)
                        || (level == Severity::Warning && held_below(value, t))
                })
                .or(raw)
        }
        _ => raw,
    }
}

/// Whether a tracked warning is about a value under `below` (not above `warn`).
fn is_below(t: &Tracked) -> bool {
    !above(t.value, t.threshold.warn, t.threshold.inclusive) && held_below(t.value, &t.threshold)
}

/// A warning fired under `below` holds until the value rises to `below` ÷ `clear_ratio` (with a
/// minimum rate of 1/s and the shipped 0.8: until 1.25/s).
fn held_below(value: f64, t: &Threshold) -> bool {
    t.below.is_some_and(|b| value * t.clear_ratio < b)
}

fn step(t: &mut Tracked, desired: Option<Severity>, now: SystemTime) {
    let firing = t.firing.map(|(s, _)| s);
    match desired {
        None => {
            t.firing = None;
            t.pending = None;
        }
        Some(level) if Some(level) <= firing => {
            // At or below what is firing: de-escalate at once (the hold already happened).
            if Some(level) < firing {
                t.firing = Some((level, now));
            }
            t.pending = None;
        }
        Some(level) => {
            let since = match t.pending {
                Some((s, since)) if s == level => since,
                // Escalating from warning to critical keeps the time the problem started.
                Some((_, since)) if firing.is_none() => since,
                _ => now,
            };
            if now.duration_since(since).unwrap_or(Duration::ZERO) >= t.threshold.for_ {
                t.firing = Some((level, since));
                t.pending = None;
            } else {
                t.pending = Some((level, since));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::{AlertsConfig, SubjectKind};

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    fn lag(v: f64) -> Vec<Observation> {
        vec![Observation {
            rule: RuleKind::ConsumerTimeLag,
            subject: Subject::new(SubjectKind::Group, "sink"),
            value: v,
            detail: String::new(),
            at_least: None,
        }]
    }

    fn state(e: &AlertEngine) -> Option<(Severity, AlertState)> {
        e.active().first().map(|a| (a.severity, a.state))
    }

    #[test]
    fn pending_then_firing_after_the_for_duration_then_critical() {
        // consumer_time_lag: warn > 30 s, crit > 60 s, for 30 s.
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(lag(40.0), at(0));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Pending)));
        e.evaluate(lag(45.0), at(20));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Pending)));
        e.evaluate(lag(50.0), at(30));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        e.evaluate(lag(70.0), at(40));
        assert_eq!(
            state(&e),
            Some((Severity::Warning, AlertState::Firing)),
            "critical is pending"
        );
        let fired = e.evaluate(lag(90.0), at(70));
        assert_eq!(state(&e), Some((Severity::Critical, AlertState::Firing)));
        assert_eq!(
            fired.len(),
            1,
            "newly critical is reported once (for the bell)"
        );
        assert!(e.evaluate(lag(95.0), at(72)).is_empty());
    }

    #[test]
    fn a_single_sample_does_not_fire() {
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(lag(100.0), at(0));
        e.evaluate(lag(5.0), at(2));
        e.evaluate(lag(100.0), at(4));
        e.evaluate(lag(5.0), at(6));
        assert!(e.active().is_empty());
        assert!(e.history().is_empty());
    }

    #[test]
    fn hysteresis_holds_until_the_lower_bound() {
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(lag(40.0), at(0));
        e.evaluate(lag(40.0), at(30));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        // 30 s is the threshold; 0.8 × 30 = 24 s is the lower bound.
        e.evaluate(lag(29.0), at(32));
        e.evaluate(lag(25.0), at(34));
        assert_eq!(
            state(&e),
            Some((Severity::Warning, AlertState::Firing)),
            "hovering under the line holds"
        );
        e.evaluate(lag(20.0), at(36));
        assert_eq!(state(&e), None);
        let h = e.history();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].cleared_at, Some(at(36)));
        assert_eq!(h[0].peak, 40.0);
    }

    #[test]
    fn a_critical_falls_to_the_warning_its_value_still_holds() {
        // warn 3, crit 6, clear_ratio 0.5: the critical's lower bound (3) is the warning's
        // threshold, so between 1.5 and 3 only the warning's hysteresis keeps the alert.
        let config: AlertsConfig = toml::from_str(
            "[rules.consumer_time_lag]\nwarn = 3\ncrit = 6\nfor = \"0s\"\nclear_ratio = 0.5\n",
        )
        .unwrap();
        let mut e = AlertEngine::new(RuleSet::new(&config).unwrap());
        e.evaluate(lag(8.0), at(0));
        assert_eq!(state(&e), Some((Severity::Critical, AlertState::Firing)));
        e.evaluate(lag(3.5), at(1));
        assert_eq!(state(&e), Some((Severity::Critical, AlertState::Firing)));
        e.evaluate(lag(2.5), at(2));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        e.evaluate(lag(1.6), at(3));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        e.evaluate(lag(1.0), at(4));
        assert_eq!(state(&e), None);
        let h = e.history();
        assert_eq!(
            h.iter().map(|e| e.severity).collect::<Vec<_>>(),
            [Severity::Warning, Severity::Critical]
        );
        assert!(h.iter().all(|e| e.cleared_at.is_some()));
        // Straight from critical to under every lower bound: cleared at once.
        e.evaluate(lag(8.0), at(10));
        e.evaluate(lag(1.0), at(11));
        assert_eq!(state(&e), None);
    }

    #[test]
    fn flapping_input_yields_one_alert_not_many() {
        let mut e = AlertEngine::new(RuleSet::default());
        let mut t = 0;
        for v in [40.0, 40.0, 40.0] {
            e.evaluate(lag(v), at(t));
            t += 15;
        }
        for i in 0..20 {
            let v = if i % 2 == 0 { 31.0 } else { 27.0 };
            e.evaluate(lag(v), at(t));
            t += 2;
        }
        assert_eq!(e.history().len(), 1, "{:?}", e.history());
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
    }

    #[test]
    fn vanished_subjects_resolve() {
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(lag(40.0), at(0));
        e.evaluate(lag(40.0), at(30));
        e.evaluate(vec![], at(32));
        assert!(e.active().is_empty());
        assert_eq!(e.history()[0].cleared_at, Some(at(32)));
    }

    #[test]
    fn zero_for_fires_at_once_and_overrides_apply() {
        let config: AlertsConfig = toml::from_str(
            "[[overrides]]\nrule = \"consumer_time_lag\"\nmatch = \"group:sink\"\nwarn = 100\ncrit = 200\nfor = \"0s\"\n",
        )
        .unwrap();
        let mut e = AlertEngine::new(RuleSet::new(&config).unwrap());
        e.evaluate(lag(90.0), at(0));
        assert!(e.active().is_empty());
        e.evaluate(lag(150.0), at(1));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
    }

    #[test]
    fn a_condition_floor_fires_at_once_and_clears_with_its_condition() {
        // distributed_files: warn > 50 files; a broken file is critical whatever the count.
        let files = |n: f64, broken: bool| {
            vec![Observation {
                rule: RuleKind::DistributedFiles,
                subject: Subject::new(SubjectKind::Table, "db.dist"),
                value: n,
                detail: String::new(),
                at_least: broken.then_some(Severity::Critical),
            }]
        };
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(files(2.0, true), at(0));
        let a = e.active().into_iter().next().expect("fired");
        assert_eq!(
            (a.severity, a.state, a.forced),
            (Severity::Critical, AlertState::Firing, true)
        );
        // Above the warning by its value, still broken: critical, and still by the condition.
        e.evaluate(files(60.0, true), at(1));
        assert!(e.active()[0].forced);
        // The broken file went: the value alone says warning.
        e.evaluate(files(60.0, false), at(2));
        let a = e.active().into_iter().next().expect("still a warning");
        assert_eq!((a.severity, a.forced), (Severity::Warning, false));
        e.evaluate(files(2.0, false), at(3));
        assert_eq!(state(&e), None);
    }

    fn traffic(rate: f64) -> Vec<Observation> {
        vec![Observation {
            rule: RuleKind::TopicTraffic,
            subject: Subject::new(SubjectKind::Topic, "events_topic"),
            value: rate,
            detail: String::new(),
            at_least: None,
        }]
    }

    fn traffic_rules(band: &str) -> RuleSet {
        let config: AlertsConfig = toml::from_str(&format!(
            "[[overrides]]\nrule = \"topic_traffic\"\nmatch = \"topic:events_topic\"\n{band}\n"
        ))
        .unwrap();
        RuleSet::new(&config).unwrap()
    }

    #[test]
    fn topic_traffic_is_off_until_a_rate_is_set() {
        let t = RuleSet::default()
            .threshold(
                RuleKind::TopicTraffic,
                &Subject::new(SubjectKind::Topic, "events_topic"),
            )
            .unwrap();
        assert!(!t.has_bounds());
        let mut e = AlertEngine::new(RuleSet::default());
        for s in [0, 30, 60, 90] {
            e.evaluate(traffic(0.0), at(s));
        }
        assert!(e.active().is_empty());
    }

    #[test]
    fn a_rate_under_min_rate_fires_after_for_and_clears_above_the_hysteresis() {
        let mut e = AlertEngine::new(traffic_rules("min_rate = 1"));
        e.evaluate(traffic(40.0), at(0));
        assert!(e.active().is_empty(), "steady traffic");
        e.evaluate(traffic(0.0), at(10));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Pending)));
        e.evaluate(traffic(0.0), at(39));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Pending)));
        e.evaluate(traffic(0.0), at(40));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        let a = &e.active()[0];
        assert!(a.below, "{a:?}");
        assert_eq!((a.value, a.threshold), (0.0, 1.0));
        // 1.1/s is over the line but under 1 ÷ 0.8 = 1.25/s: it holds.
        e.evaluate(traffic(1.1), at(50));
        assert_eq!(state(&e), Some((Severity::Warning, AlertState::Firing)));
        e.evaluate(traffic(1.3), at(52));
        assert_eq!(state(&e), None);
        assert_eq!(e.history()[0].cleared_at, Some(at(52)));
        assert_eq!(e.history()[0].peak, 0.0, "the lowest rate while firing");
        // A zero minimum can never be undershot.
        let mut e = AlertEngine::new(traffic_rules("min_rate = 0\nfor = \"0s\""));
        e.evaluate(traffic(0.0), at(0));
        assert!(e.active().is_empty());
    }

    #[test]
    fn a_rate_over_max_rate_fires_as_above_and_the_band_judges_both_ways() {
        let rules = traffic_rules("min_rate = 1\nmax_rate = 100\nfor = \"0s\"");
        let mut e = AlertEngine::new(rules.clone());
        e.evaluate(traffic(50.0), at(0));
        assert!(e.active().is_empty());
        e.evaluate(traffic(150.0), at(1));
        let a = &e.active()[0];
        assert_eq!(
            (a.severity, a.below, a.threshold),
            (Severity::Warning, false, 100.0)
        );
        e.evaluate(traffic(50.0), at(2));
        assert!(e.active().is_empty());
        e.evaluate(traffic(0.5), at(3));
        let a = &e.active()[0];
        assert_eq!((a.below, a.threshold), (true, 1.0));
        let t = rules
            .threshold(
                RuleKind::TopicTraffic,
                &Subject::new(SubjectKind::Topic, "events_topic"),
            )
            .unwrap();
        assert_eq!(t.judge(0.5), Some(Severity::Warning));
        assert_eq!(t.judge(50.0), None);
        assert_eq!(t.judge(101.0), Some(Severity::Warning));
        // Another topic is not covered by the override.
        let other = rules
            .threshold(
                RuleKind::TopicTraffic,
                &Subject::new(SubjectKind::Topic, "x"),
            )
            .unwrap();
        assert!(!other.has_bounds());
    }

    #[test]
    fn nan_never_fires_or_clears() {
        let mut e = AlertEngine::new(RuleSet::default());
        e.evaluate(lag(f64::NAN), at(0));
        assert!(e.active().is_empty());
    }
}
