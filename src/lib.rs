//! pipetop: `top` for a Kafka → ClickHouse ingestion pipeline.
//!
//! Collectors (`kafka`, `clickhouse`) poll on their own tasks and publish immutable snapshots;
//! `model` derives lag and health from them without I/O; `ui` renders the model.

pub mod alerts;
pub mod check;
pub mod clickhouse;
pub mod collect;
pub mod config;
pub mod kafka;
pub mod model;
pub mod snapshot;
pub mod source;
pub mod time;
pub mod ui;
