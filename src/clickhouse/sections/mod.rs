//! One module per group of figures. Each builds its SQL from the server's capabilities (never from
//! user text: values a user types are bound), runs it with its own time limit, and returns a
//! `Section` so that one slow or failing query degrades only its own figure.

pub mod activity;
pub mod errors;
pub mod freshness;
pub mod kafka_engine;
pub mod parts;
pub mod query_log;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::capabilities::Capabilities;
use super::client::{Arg, ChClient, ChError, Stmt};
use super::snapshot::Section;

/// The sections, for per-section time limits (and for naming them in errors and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionId {
    Tables,
    Partitions,
    Thresholds,
    DetachedParts,
    Merges,
    Mutations,
    Inserts,
    FailedInserts,
    Latency,
    SlowQueries,
    InsertCounters,
    KafkaConsumers,
    Freshness,
    Errors,
    /// The parts of the partition the UI drilled into (on demand).
    FocusedParts,
}

/// Everything a section query needs besides the client.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caps: Capabilities,
    pub filter: TableFilter,
    pub window_s: u64,
    /// The client's default database: unqualified table names in old servers' query text are
    /// read as tables of this database.
    pub database: String,
    /// Whether our own queries carry `log_comment = 'pipetop'` (and can be left out of latency).
    pub own_queries_marked: bool,
    pub time_limits: BTreeMap<SectionId, Duration>,
}

impl Ctx {
    pub fn stmt(&self, id: SectionId, sql: impl Into<String>) -> Stmt {
        Stmt::new(sql).time_limit(self.time_limits.get(&id).copied())
    }

    /// A statement that feeds several sections: the tightest of their limits applies, so none of
    /// them waits longer than it was allowed to.
    pub fn stmt_for(&self, ids: &[SectionId], sql: impl Into<String>) -> Stmt {
        let limit = ids
            .iter()
            .filter_map(|id| self.time_limits.get(id).copied())
            .min();
        Stmt::new(sql).time_limit(limit)
    }
}

/// Shows only tables whose `database.table` contains the given text. The text is bound by the
/// client (escaped as a string literal), never spliced into SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFilter(Option<String>);

impl TableFilter {
    pub fn new(text: &str) -> TableFilter {
        let text = text.trim();
        TableFilter((!text.is_empty()).then(|| text.to_string()))
    }

    pub fn none() -> TableFilter {
        TableFilter(None)
    }

    /// `AND position(<expr>, ?) > 0` and its argument, or nothing without a filter. `expr` is
    /// pipetop's own SQL naming the `database.table` string.
    pub fn clause(&self, expr: &str) -> (String, Vec<Arg>) {
        match &self.0 {
            None => (String::new(), Vec::new()),
            Some(text) => (
                format!(" AND position({expr}, ?) > 0"),
                vec![Arg::Str(text.clone())],
            ),
        }
    }
}

pub(crate) fn section<T>(result: Result<T, ChError>) -> Section<T> {
    match result {
        Ok(data) => Section::Ok { data },
        Err(e) => Section::Failed {
            error: e.to_string(),
        },
    }
}

/// One query's answer feeding two sections: both get the data, or both the same reason why not.
pub(crate) fn split<A, B>(s: Section<(A, B)>) -> (Section<A>, Section<B>) {
    match s {
        Section::Ok { data: (a, b) } => (Section::Ok { data: a }, Section::Ok { data: b }),
        Section::Unavailable { reason } => (
            Section::Unavailable {
                reason: reason.clone(),
            },
            Section::Unavailable { reason },
        ),
        Section::Failed { error } => (
            Section::Failed {
                error: error.clone(),
            },
            Section::Failed { error },
        ),
    }
}

pub(crate) async fn fetch<T>(client: &ChClient, stmt: &Stmt) -> Result<Vec<T>, ChError>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    client.fetch::<T>(stmt).await
}

/// The databases whose tables are never the pipeline's.
pub(crate) const SYSTEM_DATABASES: &str = "('system', 'INFORMATION_SCHEMA', 'information_schema')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_binds_user_text_instead_of_splicing_it() {
        let (sql, args) =
            TableFilter::new("ev'; DROP TABLE x --").clause("concat(database, '.', table)");
        assert_eq!(sql, " AND position(concat(database, '.', table), ?) > 0");
        assert_eq!(args, vec![Arg::Str("ev'; DROP TABLE x --".to_string())]);
        assert!(!sql.contains("DROP"));
    }

    #[test]
    fn empty_filter_adds_nothing() {
        assert_eq!(TableFilter::new("  ").clause("t"), (String::new(), vec![]));
        assert_eq!(TableFilter::none(), TableFilter::new(""));
    }
}
