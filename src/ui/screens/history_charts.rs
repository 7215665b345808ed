//! The charts of the group and table drill-downs, described from the model's series: which lines,
//! against which levels, titled with the latest figure and its projection ("–" when the history
//! does not support one; see `model::projection`).

use ratatui::layout::Constraint;

use crate::alerts::{RuleKind, Subject, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::health::TableHealth;
use crate::model::kafka::lag::GroupLag;
use crate::ui::chart::{Charts, Level, Pane, Plot, Unit};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;
use crate::ui::view::Zoom;

/// Room for the charts: enough for a chart on a tall terminal, one line a pane on a small one.
const CHART_HEIGHT: Constraint = Constraint::Percentage(40);

/// "–": no projection, because the trend does not support one.
pub const NO_PROJECTION: &str = "–";

fn projected(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| NO_PROJECTION.to_string(), format::seconds)
}

/// The warning and critical levels of a rule for one subject, as lines.
fn threshold_levels(
    model: &Model,
    theme: &Theme,
    rule: RuleKind,
    subject: Subject,
    unit: Unit,
) -> Vec<Level> {
    let Some(t) = model.thresholds.threshold(rule, &subject) else {
        return Vec::new();
    };
    let mut levels = Vec::new();
    if let Some(warn) = t.warn {
        levels.push(Level {
            name: format!("warn {}", unit.format(warn)),
            value: warn,
            style: theme.warn,
        });
    }
    if let Some(crit) = t.crit {
        levels.push(Level {
            name: format!("crit {}", unit.format(crit)),
            value: crit,
            style: theme.crit,
        });
    }
    levels
}

/// A group: time lag against its alert thresholds, lag with the time to drain, and the rates.
pub fn group_panel<'a>(
    model: &Model,
    g: &GroupLag,
    theme: &Theme,
    zoom: Zoom,
) -> Option<Panel<'a>> {
    let series = model.kafka.series.group(&g.group_id)?;
    let s = &series.group;
    let subject = Subject::new(SubjectKind::Group, g.group_id.clone());
    let panes = vec![
        Pane {
            title: format!(
                "time lag {}",
                g.time_lag_s.map_or("-".into(), format::seconds)
            ),
            unit: Unit::Seconds,
            lines: vec![Plot {
                name: "time lag",
                values: s.time_lag_s.clone(),
                style: theme.accent,
            }],
            levels: threshold_levels(
                model,
                theme,
                RuleKind::ConsumerTimeLag,
                subject,
                Unit::Seconds,
            ),
        },
        Pane {
            title: format!(
                "lag {} · drains in {}",
                format::compact(g.total_lag),
                projected(series.drain_s)
            ),
            unit: Unit::Count,
            lines: vec![Plot {
                name: "lag",
                values: s.lag.clone(),
                style: theme.accent,
            }],
            levels: Vec::new(),
        },
        Pane {
            title: format!(
                "in {} · out {}",
                g.produce_rate.map_or("-".into(), format::rate),
                g.consume_rate.map_or("-".into(), format::rate)
            ),
            unit: Unit::PerSecond,
            lines: vec![
                Plot {
                    name: "produced",
                    values: s.produce_rate.clone(),
                    style: theme.warn,
                },
                Plot {
                    name: "consumed",
                    values: s.consume_rate.clone(),
                    style: theme.ok,
                },
            ],
            levels: Vec::new(),
        },
    ];
    Some(
        Panel::chart(
            format!("History · last {}", zoom.label()),
            Charts {
                times: model.kafka.series.times.clone(),
                zoom,
                panes,
            },
            CHART_HEIGHT,
        )
        .from_source(Source::Kafka),
    )
}

/// A table on one host: parts in the worst partition against ClickHouse's limits with the time
/// to the rejecting one, inserts and failures, and p95 latency against its alert thresholds.
pub fn table_panel<'a>(
    model: &Model,
    t: &TableHealth,
    theme: &Theme,
    zoom: Zoom,
) -> Option<Panel<'a>> {
    let series = model.clickhouse.series.table(&t.host, &t.table)?;
    let mut limits = Vec::new();
    if let Some(delay) = t.parts_to_delay_insert {
        limits.push(Level {
            name: format!("delay {delay}"),
            value: delay as f64,
            style: theme.warn,
        });
    }
    if let Some(throw) = t.parts_to_throw_insert {
        limits.push(Level {
            name: format!("reject {throw}"),
            value: throw as f64,
            style: theme.crit,
        });
    }
    let subject = Subject::new(SubjectKind::Table, t.table.clone());
    let panes = vec![
        Pane {
            title: format!(
                "parts {} · reject in {}",
                t.max_parts_in_partition
                    .map_or("-".into(), |p| p.to_string()),
                projected(series.throw_in_s)
            ),
            unit: Unit::Count,
            lines: vec![Plot {
                name: "worst partition",
                values: series.worst_parts.clone(),
                style: theme.accent,
            }],
            levels: limits,
        },
        Pane {
            title: format!(
                "inserts {} · failed {}",
                t.inserts_per_s.map_or("-".into(), format::rate),
                t.failed_inserts.map_or("-".into(), |n| n.to_string())
            ),
            unit: Unit::PerSecond,
            lines: vec![
                Plot {
                    name: "inserts/s",
                    values: series.inserts_per_s.clone(),
                    style: theme.ok,
                },
                Plot {
                    name: "failed",
                    values: series.failed_inserts.clone(),
                    style: theme.crit,
                },
            ],
            levels: Vec::new(),
        },
        Pane {
            title: format!(
                "p95 insert {}",
                t.p95_insert_ms
                    .map_or("-".into(), |ms| format!("{ms:.0}ms"))
            ),
            unit: Unit::Millis,
            lines: vec![Plot {
                name: "p95",
                values: series.p95_insert_ms.clone(),
                style: theme.accent,
            }],
            levels: threshold_levels(
                model,
                theme,
                RuleKind::InsertLatencyP95,
                subject,
                Unit::Millis,
            ),
        },
    ];
    Some(
        Panel::chart(
            format!("History · last {}", zoom.label()),
            Charts {
                times: model.clickhouse.series.times.clone(),
                zoom,
                panes,
            },
            CHART_HEIGHT,
        )
        .from_source(Source::ClickHouse),
    )
}
