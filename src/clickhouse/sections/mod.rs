//! One module per group of figures. Each builds its SQL from the server's capabilities (never from
//! user text: values a user types are bound), runs it with its own time limit, and returns a
//! `Section` so that one slow or failing query degrades only its own figure.

pub mod activity;
pub mod async_inserts;
pub mod counters;
pub mod errors;
pub mod freshness;
pub mod inventory;
pub mod kafka_chain;
pub mod kafka_engine;
pub mod own_load;
pub mod partition_names;
pub mod parts;
pub mod query_log;
pub mod replication;
pub mod resources;

use std::collections::BTreeMap;
use std::time::Duration;

use super::capabilities::Capabilities;
use super::client::{Arg, ChClient, ChError, Stmt};
pub use super::section_id::SectionId;
use super::snapshot::Section;
use crate::config::ClickHouseConfig;
use crate::kafka::filter::Pattern;

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
    /// A context for the sections' query tests: a server of `version` whose system tables have
    /// the `(table, column)` pairs given, no table filter, a 5-minute window.
    #[cfg(test)]
    pub fn for_test(version: &str, columns: &[(&str, &str)]) -> Ctx {
        use crate::clickhouse::capabilities::Version;
        Ctx {
            caps: Capabilities::from_columns(
                Version::parse(version),
                columns.iter().map(|(t, c)| (t.to_string(), c.to_string())),
            ),
            filter: TableFilter::none(),
            window_s: 300,
            database: "default".into(),
            own_queries_marked: false,
            time_limits: Default::default(),
        }
    }

    pub fn stmt(&self, id: SectionId, sql: impl Into<String>) -> Stmt {
        Stmt::new(sql)
            .time_limit(self.time_limits.get(&id).copied())
            .label(id.name())
    }

    /// A statement that feeds several sections: the tightest of their limits applies, so none of
    /// them waits longer than it was allowed to.
    pub fn stmt_for(&self, ids: &[SectionId], sql: impl Into<String>) -> Stmt {
        let limit = ids
            .iter()
            .filter_map(|id| self.time_limits.get(id).copied())
            .min();
        Stmt::new(sql)
            .time_limit(limit)
            .label(ids.first().map_or("other", |id| id.name()))
    }
}

/// Which tables the table lists show: `database.table` must match an include pattern (when
/// there are any) and no exclude pattern, the whole name as in the Kafka filters. The patterns
/// are bound by the client (escaped as string literals), never spliced into SQL, and matched on
/// the server (`match()`, RE2), so the lists' `LIMIT`s apply to the tables that are shown.
/// RE2 reads UTF-8: its `.` never matches a byte that is not, so an include pattern leaves out a
/// table whose name holds one (an exclude pattern never catches it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFilter {
    /// One regex: any include pattern, each anchored at both ends. None: every table.
    include: Option<String>,
    /// One regex: any exclude pattern, anchored. None: nothing left out.
    exclude: Option<String>,
}

impl TableFilter {
    pub fn new(include: &[Pattern], exclude: &[Pattern]) -> TableFilter {
        let any = |patterns: &[Pattern]| {
            (!patterns.is_empty()).then(|| {
                patterns
                    .iter()
                    .map(Pattern::anchored)
                    .collect::<Vec<_>>()
                    .join("|")
            })
        };
        TableFilter {
            include: any(include),
            exclude: any(exclude),
        }
    }

    /// The tables the config's `include_tables` / `exclude_tables` let through.
    pub fn from_config(config: &ClickHouseConfig) -> TableFilter {
        TableFilter::new(&config.include_tables, &config.exclude_tables)
    }

    pub fn none() -> TableFilter {
        TableFilter::default()
    }

    /// `AND match(<expr>, ?)` / `AND NOT match(<expr>, ?)` and their arguments, or nothing
    /// without a filter. `expr` is pipetop's own SQL naming the `database.table` string.
    pub fn clause(&self, expr: &str) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut args = Vec::new();
        if let Some(include) = &self.include {
            sql.push_str(&format!(" AND match({expr}, ?)"));
            args.push(Arg::Str(include.clone()));
        }
        if let Some(exclude) = &self.exclude {
            sql.push_str(&format!(" AND NOT match({expr}, ?)"));
            args.push(Arg::Str(exclude.clone()));
        }
        (sql, args)
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

    fn pats(texts: &[&str]) -> Vec<Pattern> {
        texts.iter().map(|t| Pattern::new(t).unwrap()).collect()
    }

    #[test]
    fn filter_binds_user_text_instead_of_splicing_it() {
        let (sql, args) = TableFilter::new(&pats(&["ev'; DROP TABLE x --"]), &[])
            .clause("concat(database, '.', table)");
        assert_eq!(sql, " AND match(concat(database, '.', table), ?)");
        assert_eq!(
            args,
            vec![Arg::Str("^(?:ev'; DROP TABLE x --)$".to_string())]
        );
        assert!(!sql.contains("DROP"));
    }

    #[test]
    fn patterns_are_anchored_and_joined_include_then_exclude() {
        let f = TableFilter::new(
            &pats(&["default\\.events.*", "audit\\.log"]),
            &pats(&[".*_tmp"]),
        );
        let (sql, args) = f.clause("t");
        assert_eq!(sql, " AND match(t, ?) AND NOT match(t, ?)");
        assert_eq!(
            args,
            vec![
                Arg::Str("^(?:default\\.events.*)$|^(?:audit\\.log)$".to_string()),
                Arg::Str("^(?:.*_tmp)$".to_string()),
            ]
        );
        let (sql, args) = TableFilter::new(&[], &pats(&["x"])).clause("t");
        assert_eq!(sql, " AND NOT match(t, ?)");
        assert_eq!(args.len(), 1);
    }

    #[test]
    fn section_names_are_serde_names() {
        for id in SectionId::ALL {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.name()));
            let back: SectionId = serde_json::from_str(&json).unwrap();
            assert_eq!(back, id);
        }
    }

    #[test]
    fn empty_filter_adds_nothing() {
        assert_eq!(
            TableFilter::new(&[], &[]).clause("t"),
            (String::new(), vec![])
        );
        assert_eq!(TableFilter::none(), TableFilter::new(&[], &[]));
    }
}
