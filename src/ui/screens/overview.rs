//! The overview: the worst consumer groups and the ClickHouse tables under pressure, at once.

use std::time::SystemTime;

use ratatui::layout::Constraint;

use super::{Panel, groups, tables};
use crate::model::Model;

pub fn panels(model: &Model, _now: SystemTime) -> Vec<Panel<'_>> {
    let table_rows = model.clickhouse.tables.len().clamp(1, 8) as u16;
    vec![
        groups::list_panel(model, Constraint::Min(5)),
        tables::list_panel(model, Constraint::Length(table_rows + 3)),
    ]
}
