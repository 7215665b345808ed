//! `pipetop check`: poll for a while, judge the alerts, print them, exit with a Nagios code.
//! For cron, CI and monitoring agents.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::alerts::{Alert, AlertState, Severity};
use crate::config::Config;
use crate::display_text::shown;
use crate::model::Model;
use crate::source::SourceState;

/// Nagios plugin exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Outcome {
    pub fn code(self) -> u8 {
        self as u8
    }
    fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Warning => "WARNING",
            Outcome::Critical => "CRITICAL",
            Outcome::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub status: Outcome,
    pub code: u8,
    /// Sources that never answered during the check.
    pub unreachable: Vec<String>,
    pub polls: u32,
    /// The Kafka brokers, as `snapshot` says it ("brokers 2/3, 1 down (2)"); None when Kafka
    /// never answered.
    pub kafka_brokers: Option<String>,
    pub alerts: Vec<Alert>,
}

/// Polls every source for `window` (see `poll_window`: so `for` durations and rates can be
/// judged), and returns the verdict.
pub async fn run(config: &Config, window: Duration) -> anyhow::Result<CheckReport> {
    let poller = crate::poll_window::poll_window(config, window).await?;
    Ok(verdict(poller.session().model(), poller.rounds()))
}

pub fn verdict(model: &Model, polls: u32) -> CheckReport {
    let mut unreachable = Vec::new();
    if model.sources.kafka.last_good_at.is_none() {
        unreachable.push(describe("kafka", &model.sources.kafka));
    }
    if model.sources.clickhouse.last_good_at.is_none() {
        unreachable.push(describe("clickhouse", &model.sources.clickhouse));
    }
    let alerts = model.alerts.active.clone();
    let worst = alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.severity)
        .max();
    let status = match (unreachable.is_empty(), worst) {
        (false, _) => Outcome::Unknown,
        (true, Some(Severity::Critical)) => Outcome::Critical,
        (true, Some(Severity::Warning)) => Outcome::Warning,
        (true, None) => Outcome::Ok,
    };
    CheckReport {
        status,
        code: status.code(),
        unreachable,
        polls,
        kafka_brokers: model
            .sources
            .kafka
            .last_good_at
            .map(|_| crate::report::brokers(model)),
        alerts,
    }
}

fn describe(name: &str, status: &SourceState) -> String {
    match &status.error {
        Some(e) => format!("{name} unreachable: {}", e.message),
        None => format!("{name} did not answer"),
    }
}

/// The Nagios text form: one summary line, then one line per alert (names and messages as
/// shown: a newline in a group id must not start a line of its own). `now` dates the alerts
/// ("for 2m"): the wall clock, or a replay's cursor.
pub fn text(report: &CheckReport, now: SystemTime) -> String {
    let firing = |s: Severity| {
        report
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing && a.severity == s)
            .count()
    };
    let pending = report
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Pending)
        .count();
    let brokers = report
        .kafka_brokers
        .as_ref()
        .map(|b| format!(" · kafka {b}"))
        .unwrap_or_default();
    let mut out = format!(
        "PIPETOP {} - {} critical, {} warning, {} pending ({} polls){brokers}\n",
        report.status.word(),
        firing(Severity::Critical),
        firing(Severity::Warning),
        pending,
        report.polls
    );
    for u in &report.unreachable {
        out.push_str(&format!("UNKNOWN   {}\n", shown(u)));
    }
    for a in &report.alerts {
        let label = match (a.state, a.severity) {
            (AlertState::Pending, _) => "PENDING ",
            (_, Severity::Critical) => "CRITICAL",
            (_, Severity::Warning) => "WARNING ",
        };
        let unit = a.rule.unit();
        let value = match unit {
            crate::alerts::rules::Unit::Flag => String::new(),
            // Severe by a condition, not by the value: the detail says which.
            _ if a.forced => format!(": {}", unit.format(a.value)),
            _ => format!(
                ": {} ({}threshold {})",
                unit.format(a.value),
                if a.below { "under the " } else { "" },
                unit.format(a.threshold)
            ),
        };
        let since = crate::time::short_duration(now.duration_since(a.since).unwrap_or_default());
        out.push_str(&format!(
            "{label}  {} {}{value}, for {since}",
            a.rule, a.subject
        ));
        if !a.detail.is_empty() {
            out.push_str(&format!(" - {}", shown(&a.detail)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::{RuleKind, Subject, SubjectKind};

    #[test]
    fn names_and_messages_print_escaped_one_line_each() {
        let report = CheckReport {
            status: Outcome::Critical,
            code: 2,
            unreachable: vec!["kafka unreachable: broker\n\u{1b}[2J".to_string()],
            polls: 1,
            kafka_brokers: None,
            alerts: vec![Alert {
                rule: RuleKind::ConsumerStatus,
                subject: Subject::new(SubjectKind::Group, "g\u{1b}]0;title\u{7}\nx"),
                severity: Severity::Critical,
                state: AlertState::Firing,
                since: SystemTime::now(),
                value: 1.0,
                threshold: 1.0,
                below: false,
                forced: false,
                detail: "status STOP\u{202e}".to_string(),
            }],
        };
        let out = text(&report, SystemTime::now());
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(!out.contains(|c: char| (c.is_control() && c != '\n') || c == '\u{202e}'));
        assert!(
            out.contains("UNKNOWN   kafka unreachable: broker\\n\\x1b[2J"),
            "{out}"
        );
        assert!(out.contains("group g\\x1b]0;title\\x07\\nx"), "{out}");
        assert!(out.contains(" - status STOP\\u{202e}"), "{out}");
    }

    #[test]
    fn a_rate_under_its_minimum_says_so() {
        let now = SystemTime::now();
        let report = CheckReport {
            status: Outcome::Warning,
            code: 1,
            unreachable: Vec::new(),
            polls: 3,
            kafka_brokers: None,
            alerts: vec![Alert {
                rule: RuleKind::TopicTraffic,
                subject: Subject::new(SubjectKind::Topic, "events_topic"),
                severity: Severity::Warning,
                state: AlertState::Firing,
                since: now,
                value: 0.0,
                threshold: 10.0,
                below: true,
                forced: false,
                detail: "0.0 msg/s, expected ≥ 10/s (over up to 60s); 1 group reads it".to_string(),
            }],
        };
        let out = text(&report, now);
        assert!(
            out.contains(
                "WARNING   topic_traffic topic events_topic: 0.0 msg/s (under the threshold \
                 10.0 msg/s), for 0ms - 0.0 msg/s, expected ≥ 10/s"
            ),
            "{out}"
        );
    }
}
