//! What one ClickHouse poll saw, as plain immutable data.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ClickHouseSnapshot {
    pub taken_at_ms: i64,
    pub poll_ms: u64,
    /// Queries this poll sent.
    pub queries: u32,
    pub server: ServerInfo,
    /// Active parts per table (system database excluded), worst partition first.
    pub tables: Section<Vec<TableParts>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    pub version: String,
    pub uptime_s: u64,
}

/// One figure of the snapshot: present, or why it is missing. A failing query degrades only the
/// section it feeds.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Section<T> {
    Ok {
        data: T,
    },
    /// The server is too old or not configured for it; not an error, and not retried as one.
    Unavailable {
        reason: String,
    },
    Failed {
        error: String,
    },
}

impl<T> Section<T> {
    pub fn data(&self) -> Option<&T> {
        match self {
            Section::Ok { data } => Some(data),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Section<U> {
        match self {
            Section::Ok { data } => Section::Ok { data: f(data) },
            Section::Unavailable { reason } => Section::Unavailable { reason },
            Section::Failed { error } => Section::Failed { error },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableParts {
    pub database: String,
    pub table: String,
    pub active_parts: u64,
    pub partitions: u64,
    pub rows: u64,
    pub bytes_on_disk: u64,
    /// The partition with the most active parts: where "Too many parts" strikes first.
    pub worst_partition: String,
    pub max_parts_in_partition: u64,
}
