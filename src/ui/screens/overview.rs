//! The overview: pipelines end to end, the worst consumer groups, the tables under pressure, and
//! the last few events.

use ratatui::layout::Constraint;

use std::time::SystemTime;

use super::{events, groups, pipelines, tables};
use crate::model::Model;
use crate::ui::panel::Panel;

pub fn panels(model: &Model, now: SystemTime) -> Vec<Panel<'_>> {
    let table_rows = model.clickhouse.health.len().clamp(1, 6) as u16;
    let mut panels: Vec<Panel> = pipelines::panel(model).into_iter().collect();
    panels.push(groups::list_panel(model, Constraint::Min(4)));
    panels.push(tables::list_panel(
        model,
        Constraint::Length(table_rows + 3),
    ));
    panels.extend(events::recent_panel(model, now));
    panels
}
