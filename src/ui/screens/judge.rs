//! Colours figures by the same thresholds the alerts use, overrides included, so the screen and
//! `pipetop check` never disagree about what is a problem.

use ratatui::style::Style;

use crate::alerts::{RuleKind, Severity, Subject, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::kafka::history::TimeLagKind;
use crate::model::kafka::status::Status;
use crate::ui::theme::Theme;

pub fn style(
    model: &Model,
    theme: &Theme,
    rule: RuleKind,
    kind: SubjectKind,
    name: &str,
    value: Option<f64>,
) -> Style {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return theme.muted;
    };
    let Some(t) = model.thresholds.threshold(rule, &Subject::new(kind, name)) else {
        return theme.text;
    };
    match t.judge(value) {
        Some(Severity::Critical) => theme.crit,
        Some(Severity::Warning) => theme.warn,
        None => theme.text,
    }
}

pub fn status_style(theme: &Theme, status: Status) -> Style {
    match status {
        Status::Ok => theme.ok,
        Status::Unknown => theme.muted,
        Status::NoCommit | Status::Warn => theme.warn,
        Status::Stall | Status::Rewind | Status::Stop => theme.crit,
    }
}

/// "12s", "~1m30s" (estimate), "≥5m" (lower bound), "-" (unknown).
pub fn time_lag(seconds: Option<f64>, kind: TimeLagKind) -> String {
    let Some(s) = seconds else {
        return "-".to_string();
    };
    // Poll resolution is a second or more: finer figures would be noise.
    let text = match s {
        0.0 => "0s".to_string(),
        s if s < 1.0 => "<1s".to_string(),
        s => format::seconds(s),
    };
    if kind == TimeLagKind::AtLeast && s < 1.0 {
        // A lower bound of nothing says nothing: the history is one poll old.
        return "-".to_string();
    }
    match kind {
        TimeLagKind::Estimate => format!("~{text}"),
        TimeLagKind::AtLeast => format!("≥{text}"),
        _ => text,
    }
}

pub fn opt_rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), format::rate)
}
