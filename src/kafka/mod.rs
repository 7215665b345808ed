// The librdkafka FFI wrapper: the only module allowed unsafe code (see `unsafe_code` in Cargo.toml).
#[allow(unsafe_code)]
pub mod admin;
pub mod authorization;
pub mod broker_probe;
pub mod client_config;
pub mod collector;
pub mod commits;
pub mod connect_failure;
pub mod down_brokers;
pub mod ends_after_commits;
pub mod fetched_commits;
pub mod filter;
pub mod group_log;
pub mod health;
pub mod last_topic;
pub mod log_starts;
pub mod metadata;
pub mod metadata_poll;
pub mod named_topics;
pub mod offsets_batches;
pub mod produce_time;
pub mod snapshot;
pub mod tls_verify;
pub mod topic_config_reader;
pub mod topic_configs;
pub mod types;
pub mod unlisted;
