//! The overview: pipelines end to end, one line per ClickHouse host when there are several, the
//! worst consumer groups, the tables under pressure, and the last few events.

use ratatui::layout::Constraint;

use std::time::SystemTime;

use super::{events, groups, hosts, pipelines, tables};
use crate::model::Model;
use crate::ui::panel::Panel;
use crate::ui::theme::Theme;

pub fn panels<'a>(model: &'a Model, theme: &Theme, now: SystemTime) -> Vec<Panel<'a>> {
    let table_rows = model.clickhouse.health.len().clamp(1, 6) as u16;
    let mut panels: Vec<Panel> = pipelines::panel(model).into_iter().collect();
    // Several ClickHouse hosts: one line each (version, uptime, read-only replicas, disk free,
    // memory).
    panels.extend(hosts::hosts_panel(model, theme, now));
    panels.push(groups::list_panel(model, Constraint::Min(4)));
    panels.push(tables::list_panel(
        model,
        Constraint::Length(table_rows + 3),
    ));
    panels.extend(events::recent_panel(model, now));
    panels
}
