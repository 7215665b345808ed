//! The overview's one line per ClickHouse host, when there are several: version, uptime,
//! read-only replicas, the fullest disk's free share and tracked memory against the limit, or
//! that it is down and since when.

use std::time::{Duration, SystemTime};

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::judge;
use crate::alerts::{RuleKind, SubjectKind};
use crate::format;
use crate::model::Model;
use crate::model::clickhouse::HostHealth;
use crate::time::short_duration;
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;

pub fn hosts_panel<'a>(model: &'a Model, theme: &Theme, now: SystemTime) -> Option<Panel<'a>> {
    let hosts = &model.clickhouse.hosts;
    if hosts.len() < 2 {
        return None;
    }
    let lines = hosts
        .iter()
        .map(|h| match &h.error {
            Some(e) => {
                let age = h
                    .last_good_at
                    .and_then(|t| now.duration_since(t).ok())
                    .map_or("never answered".to_string(), |a| {
                        format!("last answer {} ago", short_duration(a))
                    });
                Line::from(vec![
                    Span::raw(format!("{}  ", h.host)),
                    Span::styled("DOWN", theme.crit),
                    Span::raw(format!("  {age}: {e}")),
                ])
            }
            None => {
                // Short enough for the whole line to fit 80 columns: the figures' detail is on
                // `:replicas` and `:disks`.
                let readonly = match h.readonly_replicas {
                    Some(0) => Span::styled("read-only 0", theme.muted),
                    Some(n) => Span::styled(format!("read-only {n}"), theme.crit),
                    None => Span::styled("read-only ?", theme.muted),
                };
                let mut spans = vec![
                    Span::raw(format!(
                        "{}  {}  up {}  ",
                        h.host,
                        h.version.as_deref().unwrap_or("?"),
                        h.uptime_s
                            .map_or("?".to_string(), |s| short_duration(Duration::from_secs(s)))
                    )),
                    readonly,
                ];
                spans.extend(resources(model, h, theme));
                Line::from(spans)
            }
        })
        .collect::<Vec<_>>();
    let height = lines.len().min(6) as u16 + 2;
    Some(
        Panel::text("ClickHouse hosts", lines, Constraint::Length(height))
            .from_source(Source::ClickHouse),
    )
}

/// "  disk 12%  mem 87%": the fullest disk's free share (critical when the history projects it
/// full within a day) and tracked memory against the limit, coloured by `disk_free` and
/// `memory_pressure`.
fn resources(model: &Model, h: &HostHealth, theme: &Theme) -> Vec<Span<'static>> {
    let resources = &model.clickhouse.resources;
    let mut spans = Vec::new();
    match resources.fullest_disk(&h.host) {
        Some(d) => {
            let free = d.free_ratio.unwrap_or(1.0);
            let style = if d.full_in_s.is_some() {
                theme.crit
            } else {
                judge::style(
                    model,
                    theme,
                    RuleKind::DiskFree,
                    SubjectKind::Server,
                    &h.host,
                    Some(1.0 - free),
                )
            };
            spans.push(Span::raw("  "));
            spans.push(Span::styled(format!("disk {:.0}%", free * 100.0), style));
        }
        None => spans.push(Span::styled("  disk ?", theme.muted)),
    }
    match (resources.memory_of(&h.host), h.memory_used_ratio) {
        (Some(_), Some(used)) => {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(
                format!("mem {:.0}%", used * 100.0),
                judge::style(
                    model,
                    theme,
                    RuleKind::MemoryPressure,
                    SubjectKind::Server,
                    &h.host,
                    Some(used),
                ),
            ));
        }
        (Some(m), None) => spans.push(Span::styled(
            format!("  mem {}", format::bytes(m.tracked_bytes)),
            theme.muted,
        )),
        (None, _) => spans.push(Span::styled("  mem ?", theme.muted)),
    }
    spans
}
