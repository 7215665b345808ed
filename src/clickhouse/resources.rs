//! What one poll saw of a host's resources: its disks, its tracked memory against its limit, and
//! the send queues of its Distributed tables. Plain immutable data.

use serde::{Deserialize, Serialize};

/// One disk of one host (`system.disks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub name: String,
    pub path: String,
    /// `free_space`: free bytes on the filesystem holding the disk.
    pub free_bytes: u64,
    /// `total_space`.
    pub total_bytes: u64,
    /// `keep_free_space`: bytes the server leaves free; it writes no new part below it.
    pub keep_free_bytes: u64,
    /// `Local`, `ObjectStorage`, …; None on servers whose `system.disks` has no `type` column.
    pub kind: Option<String>,
}

impl Disk {
    /// Free space as a share of the total; None for a disk that reports no total (object
    /// storage reports 0 or 2⁶⁴−1: "unlimited", nothing to fill).
    pub fn free_ratio(&self) -> Option<f64> {
        (self.total_bytes > 0
            && self.total_bytes != u64::MAX
            && self.free_bytes <= self.total_bytes)
            .then(|| self.free_bytes as f64 / self.total_bytes as f64)
    }
}

/// The memory the server tracks against the limit it enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// `system.metrics` `MemoryTracking`: what the server's memory tracker counts now.
    pub tracked_bytes: u64,
    /// The limit above which queries fail with MEMORY_LIMIT_EXCEEDED; None when the server does not
    /// say (see `limit_missing`).
    pub limit_bytes: Option<u64>,
    /// Where the limit comes from: `max_server_memory_usage` (system.server_settings, the limit in
    /// force), or `OSMemoryTotal × max_server_memory_usage_to_ram_ratio` / `OSMemoryTotal`
    /// (system.asynchronous_metrics) when the setting reads 0.
    pub limit_source: Option<String>,
    /// Why there is no limit, when there is none.
    pub limit_missing: Option<String>,
}

/// The server's memory limit, as read: it changes with the config, not with load, so it is read
/// on a cadence (`cadence::INTERVALS`); the tracked memory comes with the counters every poll.
#[derive(Debug, Clone, Copy, PartialEq, clickhouse::Row, Deserialize)]
pub struct MemoryLimit {
    pub server_limit: u64,
    pub ratio: f64,
    pub os_total: u64,
}

impl Memory {
    /// Tracked memory as a share of the limit.
    pub fn used_ratio(&self) -> Option<f64> {
        self.limit_bytes
            .filter(|l| *l > 0)
            .map(|l| self.tracked_bytes as f64 / l as f64)
    }
}

/// The send queue of one Distributed table on one host (`system.distribution_queue`, summed over
/// its shard directories).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionQueue {
    pub database: String,
    pub table: String,
    /// Files (blocks inserted with `distributed_foreground_insert = 0`) waiting to be sent.
    pub data_files: u64,
    pub data_compressed_bytes: u64,
    /// Files the server gave up on (moved to `broken/`): their rows never reach the shard.
    /// None on servers without the column.
    pub broken_data_files: Option<u64>,
    pub broken_data_compressed_bytes: Option<u64>,
    /// Failed sends since the server started (reset by a successful one).
    pub error_count: u64,
    /// Sending is blocked (`SYSTEM STOP DISTRIBUTED SENDS`, or the insert is being cancelled).
    pub is_blocked: bool,
    /// The latest send's exception, first 2000 characters; empty when there was none.
    pub last_exception: String,
    /// Unix seconds of that exception; None when there was none or the server has no column.
    pub last_exception_time: Option<u32>,
}
