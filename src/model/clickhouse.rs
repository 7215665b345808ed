//! The ClickHouse half of the model: per-table health derived from the latest snapshot.

use serde::Serialize;

use crate::clickhouse::snapshot::{ClickHouseSnapshot, Section, TableParts};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClickHouseModel {
    /// MergeTree tables, the one closest to "Too many parts" first.
    pub tables: Vec<TableParts>,
    /// Why `tables` is empty when the server could not tell us (old server, failed query).
    pub tables_problem: Option<String>,
}

impl ClickHouseModel {
    pub fn update(&mut self, snapshot: &ClickHouseSnapshot) {
        match &snapshot.tables {
            Section::Ok { data } => {
                self.tables = data.clone();
                self.tables_problem = None;
            }
            Section::Unavailable { reason } => self.tables_problem = Some(reason.clone()),
            Section::Failed { error } => self.tables_problem = Some(error.clone()),
        }
    }
}
