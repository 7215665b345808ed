//! ClickHouse tables: parts pressure per table.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::widgets::{Cell, Row};

use super::Panel;
use crate::clickhouse::snapshot::TableParts;
use crate::model::Model;
use crate::ui::format::{compact, thousands};
use crate::ui::list::{Column, ListSource, SortKey, num_cell};
use crate::ui::theme::Theme;

pub fn list_panel(model: &Model, height: Constraint) -> Panel<'_> {
    let problem = match (
        &model.sources.clickhouse.error,
        &model.clickhouse.tables_problem,
    ) {
        (Some(e), _) => Some(format!("clickhouse: {}", e.message)),
        (None, Some(p)) => Some(p.clone()),
        _ => None,
    };
    Panel::list(
        "ClickHouse tables",
        Tables(&model.clickhouse.tables),
        height,
        "no MergeTree tables",
    )
    .with_problem(problem)
}

struct Tables<'a>(&'a [TableParts]);

const COLUMNS: &[Column] = &[
    Column::text("TABLE", Constraint::Fill(3)),
    Column::num("PARTS", Constraint::Length(7)),
    Column::num("PARTITIONS", Constraint::Length(10)),
    Column::num("MAX/PARTITION", Constraint::Length(13)),
    Column::text("WORST PARTITION", Constraint::Fill(1)),
    Column::num("ROWS", Constraint::Length(8)),
];

impl ListSource for Tables<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}.{}", self.0[i].database, self.0[i].table)
    }
    fn filter_text(&self, i: usize) -> String {
        self.key(i)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let t = &self.0[i];
        match column {
            0 => SortKey::Text(self.key(i)),
            1 => SortKey::Num(t.active_parts as f64),
            2 => SortKey::Num(t.partitions as f64),
            3 => SortKey::Num(t.max_parts_in_partition as f64),
            4 => SortKey::Text(t.worst_partition.clone()),
            _ => SortKey::Num(t.rows as f64),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        a.cmp(&b)
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let t = &self.0[i];
        Row::new(vec![
            Cell::from(self.key(i)),
            num_cell(thousands(t.active_parts), theme.text),
            num_cell(thousands(t.partitions), theme.text),
            num_cell(thousands(t.max_parts_in_partition), theme.text),
            Cell::from(t.worst_partition.clone()),
            num_cell(compact(t.rows), theme.text),
        ])
    }
}
