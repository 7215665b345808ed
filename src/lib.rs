//! pipetop: `top` for a Kafka → ClickHouse ingestion pipeline.
//!
//! Collectors (`kafka`, `clickhouse`) poll on their own tasks and publish immutable snapshots;
//! one `session` ingests them, derives the pure `model` once per change and judges the `alerts`
//! on it; `ui` draws the finished model, `report` / `check` print it, and `serve` exposes it to
//! Prometheus.

/// This build's version and commit, as `--version` prints it and recordings note it.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PIPETOP_COMMIT"), ")");

pub mod alerts;
pub mod check;
pub mod clickhouse;
pub mod collect;
pub mod compact;
pub mod config;
pub mod config_check;
pub mod config_contexts;
pub mod config_effective;
pub mod display_text;
pub mod format;
pub mod freed_pages;
pub mod kafka;
pub mod live;
pub mod model;
pub mod poll_window;
pub mod recording;
pub mod report;
pub mod serve;
pub mod session;
pub mod source;
pub mod time;
pub mod timeline;
pub mod topic_runs;
pub mod ui;
