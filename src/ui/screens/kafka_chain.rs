//! A table's Kafka-engine chain in its drill-down: topic ▸ group ▸ Kafka table ▸ view ▸ target, one
//! line per view, the failing link marked with its failures and latest exception; the host's Kafka
//! counters under it. Shown for a Kafka table, for a view reading one and for a view's target.

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::format;
use crate::model::Model;
use crate::model::clickhouse::kafka_chain::{ChainState, HostKafkaCounters, ViewState};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;

/// The counters shown under a chain, with their labels.
const SHOWN_COUNTERS: &[(&str, &str)] = &[
    ("KafkaCommitFailures", "commit failures"),
    ("KafkaConsumerErrors", "consumer errors"),
    ("KafkaRebalanceRevocations", "revocations"),
    ("KafkaMessagesFailed", "messages failed"),
    ("KafkaRowsRejected", "rows rejected"),
];

pub fn table_panel<'a>(
    model: &'a Model,
    database: &str,
    table: &str,
    theme: &Theme,
) -> Option<Panel<'a>> {
    let name = format!("{database}.{table}");
    let chains = &model.clickhouse.kafka_chains;
    let several_hosts = model.clickhouse.hosts.len() > 1;
    let mut lines = Vec::new();
    for c in chains.chains_of(&name) {
        if several_hosts {
            lines.push(Line::from(Span::styled(c.host.clone(), theme.accent)));
        }
        lines.extend(chain_lines(&c.item, theme));
        if let Some(h) = chains.counters.iter().find(|h| h.host == c.host) {
            lines.extend(counter_line(h, theme));
        }
    }
    if lines.is_empty() {
        return None;
    }
    if let Some(p) = &chains.views_problem {
        lines.push(Line::from(Span::styled(
            format!("view failures: {p}"),
            theme.muted,
        )));
    }
    let height = lines.len().min(10) as u16 + 2;
    Some(
        Panel::text(
            "Kafka engine chain: topic ▸ group ▸ Kafka table ▸ view ▸ target",
            lines,
            Constraint::Length(height),
        )
        .from_source(Source::ClickHouse),
    )
}

/// The chain's head, then one line per view with its state, then the consumers' exception.
pub fn chain_lines(chain: &ChainState, theme: &Theme) -> Vec<Line<'static>> {
    let topics = if chain.topics.is_empty() {
        "?".to_string()
    } else {
        chain.topics.join(",")
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("topic {topics}"), theme.text),
        Span::styled(" ▸ ", theme.muted),
        Span::styled(
            format!("group {}", chain.group.as_deref().unwrap_or("?")),
            theme.text,
        ),
        Span::styled(" ▸ ", theme.muted),
        Span::styled(chain.full_name(), theme.accent),
    ])];
    if chain.views.is_empty() {
        lines.push(Line::from(Span::styled(
            "  no materialized view reads it: nothing is consumed",
            theme.warn,
        )));
    }
    for v in &chain.views {
        lines.push(view_line(v, theme));
        if let (Some(e), true) = (&v.last_exception, v.failures.unwrap_or(0) > 0) {
            lines.push(Line::from(Span::styled(format!("      {e}"), theme.crit)));
        }
    }
    if let Some(e) = &chain.consumer_exception {
        lines.push(Line::from(Span::styled(
            format!("  consumer's latest exception: {}", first_line(e)),
            theme.warn,
        )));
    }
    lines
}

fn view_line(v: &ViewState, theme: &Theme) -> Line<'static> {
    let failing = v.failures.unwrap_or(0) > 0;
    let link: Style = if failing { theme.crit } else { theme.text };
    let state = match (v.runs, v.failures) {
        (Some(runs), Some(f)) if f > 0 => Span::styled(
            format!(
                "  ✗ {} of {} pushes failed in the window",
                format::thousands(f),
                format::thousands(runs)
            ),
            theme.crit,
        ),
        (Some(runs), Some(_)) => Span::styled(
            format!("  ok, {} pushes in the window", format::thousands(runs)),
            theme.ok,
        ),
        _ => Span::styled("  failures unknown", theme.muted),
    };
    Line::from(vec![
        Span::styled("  ▸ ", theme.muted),
        Span::styled(
            format!("{}{}", if failing { "✗ " } else { "" }, v.view),
            link,
        ),
        Span::styled(" ▸ ", theme.muted),
        Span::styled(
            v.target
                .clone()
                .unwrap_or_else(|| "(inner table)".to_string()),
            theme.text,
        ),
        state,
    ])
}

fn counter_line(h: &HostKafkaCounters, theme: &Theme) -> Option<Line<'static>> {
    if let Some(p) = &h.problem {
        return Some(Line::from(Span::styled(
            format!("  Kafka counters: {p}"),
            theme.muted,
        )));
    }
    let mut spans = vec![Span::styled("  on the server: ", theme.muted)];
    for (i, (name, label)) in SHOWN_COUNTERS.iter().enumerate() {
        let Some(c) = h.get(name) else { continue };
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted));
        }
        let rate = c.per_s.map_or("-".to_string(), |r| format!("{r:.1}/s"));
        let moving = c.delta.is_some_and(|d| d > 0);
        spans.push(Span::styled(
            format!("{label} {rate} ({})", format::compact(c.total)),
            if moving && i < 2 {
                theme.warn
            } else {
                theme.muted
            },
        ));
    }
    Some(Line::from(spans))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A view failing in the window on a chain of the pipeline (its consumer group, or one of
/// `tables` as a link), for the pipeline strip.
pub fn failing_view<'a>(model: &'a Model, group: &str, tables: &[String]) -> Option<&'a ViewState> {
    model
        .clickhouse
        .kafka_chains
        .tables
        .rows
        .iter()
        .filter(|c| {
            c.item.group.as_deref() == Some(group) || tables.iter().any(|t| c.item.links(t))
        })
        .flat_map(|c| c.item.views.iter())
        .find(|v| v.failures.unwrap_or(0) > 0)
}
