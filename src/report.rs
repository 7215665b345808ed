//! What `pipetop snapshot` prints, and what the dashboard's export key writes: the model as JSON
//! (with the snapshots it was derived from), or a short summary for a human.

use std::fmt::Write;

use serde::Serialize;

use crate::alerts::{AlertState, Severity};
use crate::display_text::{padded, shown, width};
use crate::format::{plural, seconds, thousands};
use crate::model::{Model, Snapshots, SnapshotsReplaced};

/// Bumped when a field is renamed or removed; additions keep the version.
/// 2: `sources.*.last_good` moved to `snapshots.*`; table health's `parts_ratio` became
/// `parts_to_throw_ratio` (with `parts_to_delay_ratio` beside it) and the pipelines'
/// `parts_ratio` became `parts_to_delay_ratio`; table health's `severity` is `null`, `"warning"`
/// or `"critical"` like the alerts' (was `"ok"`, `"warn"`, `"crit"`).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub context: &'a str,
    /// Polling rounds the model was built from.
    pub rounds: u32,
    pub model: &'a Model,
    pub snapshots: Snapshots,
}

impl<'a> Report<'a> {
    /// The report of `model` with the snapshots it was derived from, while their publisher
    /// keeps them (see [`Model::snapshots`]): a poller or a player always does.
    pub fn new(
        context: &'a str,
        rounds: u32,
        model: &'a Model,
    ) -> Result<Report<'a>, SnapshotsReplaced> {
        Ok(Report::with_snapshots(
            context,
            rounds,
            model,
            model.snapshots()?,
        ))
    }

    /// The report of `model` with its snapshots kept by the caller (a paused screen's).
    pub fn with_snapshots(
        context: &'a str,
        rounds: u32,
        model: &'a Model,
        snapshots: Snapshots,
    ) -> Report<'a> {
        Report {
            schema_version: SCHEMA_VERSION,
            context,
            rounds,
            model,
            snapshots,
        }
    }
}

/// Sources that could not be reached, as "kafka: <why>" lines.
pub fn failures(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &model.sources.kafka.error {
        out.push(format!("kafka: {}", shown(&e.message)));
    }
    if let Some(e) = &model.sources.clickhouse.error {
        out.push(format!("clickhouse: {}", shown(&e.message)));
    }
    out
}

/// Rows of each list in the summary.
const SUMMARY_ROWS: usize = 5;

/// The Kafka brokers as `snapshot` and `check` print them: "3 brokers", or "brokers 2/3, 1 down
/// (2)" (the same count as the header's).
pub fn brokers(model: &Model) -> String {
    let down = model.kafka.brokers_down();
    let known = model.kafka.brokers_known();
    match down.as_slice() {
        [] => plural(known, "broker"),
        ids => format!(
            "brokers {}/{known}, {} down ({})",
            known - ids.len(),
            ids.len(),
            ids.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A few lines for a terminal: the sources, firing alerts, the worst groups and tables.
pub fn summary(context: &str, model: &Model) -> String {
    let mut out = String::new();
    let brokers = brokers(model);
    let _ = writeln!(
        out,
        "pipetop {}: kafka {} · clickhouse {}",
        shown(context),
        match &model.sources.kafka.error {
            Some(e) => format!("DOWN ({})", shown(&e.message)),
            None => format!("{}, {} groups", brokers, model.kafka.groups.len()),
        },
        match &model.sources.clickhouse.error {
            Some(e) => format!("DOWN ({})", shown(&e.message)),
            None => format!(
                "{}, {} tables",
                plural(model.clickhouse.hosts.len(), "host"),
                model.clickhouse.health.len()
            ),
        },
    );
    let firing: Vec<_> = model
        .alerts
        .active
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    let _ = writeln!(out, "\nalerts firing: {}", firing.len());
    for a in firing.iter().take(SUMMARY_ROWS) {
        let word = match a.severity {
            Severity::Critical => "CRIT",
            Severity::Warning => "WARN",
        };
        let _ = writeln!(
            out,
            "  {word}  {} {}: {}",
            a.rule,
            a.subject,
            shown(&a.detail)
        );
    }
    more(&mut out, firing.len());
    let _ = writeln!(out, "\nconsumer groups, worst first:");
    let groups = &model.kafka.groups[..model.kafka.groups.len().min(SUMMARY_ROWS)];
    let width = name_width(groups.iter().map(|g| g.group_id.as_str()));
    for g in groups {
        let time_lag = g.time_lag_s.map_or("-".to_string(), seconds);
        // A group without figures says why (its coordinator's error, "not authorized: …").
        let why = g
            .error
            .as_deref()
            .map(|e| format!("  {}", shown(e)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<9} {}  lag {:>11}  time lag {time_lag}{why}",
            g.status.as_str(),
            padded(&g.group_id, width),
            thousands(g.total_lag),
        );
    }
    more(&mut out, model.kafka.groups.len());
    let _ = writeln!(out, "\nClickHouse tables, worst first:");
    let tables = &model.clickhouse.health[..model.clickhouse.health.len().min(SUMMARY_ROWS)];
    let width = name_width(tables.iter().map(|t| t.table.as_str()));
    for t in tables {
        let word = match t.severity {
            Some(Severity::Critical) => "CRIT",
            Some(Severity::Warning) => "WARN",
            None => "OK",
        };
        let why = t.reasons.first().map(|r| shown(r)).unwrap_or_default();
        let line = format!(
            "  {word:<4} {}  {}  {why}",
            padded(&t.table, width),
            shown(&t.host)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    more(&mut out, model.clickhouse.health.len());
    out
}

/// The column width that fits these names as shown, within reason (longer ones push their row
/// out: a summary keeps whole names, the dashboard cuts them).
fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(width).max().unwrap_or(0).min(48)
}

fn more(out: &mut String, total: usize) {
    if total > SUMMARY_ROWS {
        let _ = writeln!(out, "  … {} more (--json for all)", total - SUMMARY_ROWS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_of_an_empty_model_names_what_it_lacks() {
        let text = summary("local", &Model::default());
        assert!(
            text.starts_with("pipetop local: kafka 0 brokers, 0 groups · clickhouse 0 hosts"),
            "{text}"
        );
        assert!(text.contains("alerts firing: 0"), "{text}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let text = summary("ctx\u{1b}]0;title\u{7}", &Model::default());
        assert!(
            text.starts_with("pipetop ctx\\x1b]0;title\\x07: "),
            "{text}"
        );
        assert!(
            !text.contains(|c: char| c.is_control() && c != '\n'),
            "{text}"
        );
    }
}
