//! What one poll saw of replication: each replicated table's replica on this host, its
//! replication queue per table, and the host's ZooKeeper/Keeper session. Plain immutable data.

use serde::{Deserialize, Serialize};

/// One replicated table's replica on one host (`system.replicas`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub database: String,
    pub table: String,
    pub replica_name: String,
    /// Inserts into it fail: it lost (or never had) its ZooKeeper session, or is shutting down.
    pub is_readonly: bool,
    pub is_session_expired: bool,
    /// Seconds this replica is behind the newest part any replica has (`absolute_delay`).
    pub absolute_delay_s: u64,
    pub queue_size: u64,
    pub inserts_in_queue: u64,
    pub merges_in_queue: u64,
    /// Replication log entries not yet copied into the queue: `log_max_index − log_pointer`,
    /// 0 when the pointer is past the end.
    pub log_gap: u64,
    pub total_replicas: u64,
    pub active_replicas: u64,
    /// The ZooKeeper error met while reading this row; None when there was none, and on servers
    /// whose `system.replicas` has no `zookeeper_exception` column (before 20.3).
    pub zookeeper_exception: Option<String>,
}

/// One table's replication queue on one host (`system.replication_queue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationQueue {
    pub database: String,
    pub table: String,
    pub entries: u64,
    /// Age of the oldest entry (server clock).
    pub oldest_age_s: u64,
    /// Entries tried more than once.
    pub retried: u64,
    /// Entries tried more than [`STUCK_TRIES`] times or older than [`STUCK_AGE_S`].
    pub stuck: u64,
    /// The entry tried most often: what holds the queue up.
    pub worst: QueueEntry,
}

/// An entry is stuck when it has been tried more than this many times…
pub const STUCK_TRIES: u64 = 100;
/// …or is older than this.
pub const STUCK_AGE_S: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// GET_PART, MERGE_PARTS, …
    pub kind: String,
    pub new_part_name: String,
    pub num_tries: u64,
    pub age_s: u64,
    pub last_exception: String,
    /// Why it waits; None on servers without the column.
    pub postpone_reason: Option<String>,
}

/// Whether this host holds a ZooKeeper/Keeper session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeeperSession {
    /// How it was found out: `system.zookeeper_connection`, or a bounded read of
    /// `system.zookeeper` (path `/`) where that table does not exist.
    pub source: String,
    pub connected: bool,
    /// The Keeper address it is connected to, where the server says.
    pub address: Option<String>,
    /// Why not, when not connected.
    pub error: Option<String>,
}
