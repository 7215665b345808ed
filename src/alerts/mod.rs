//! Alerts: which figures are a problem, since when, without crying wolf on one noisy sample.
//! `rules` holds the thresholds and overrides, `engine` the pending → firing → resolved state
//! machine, `observe` turns the model into the values the rules judge.

pub mod engine;
pub mod observe;
mod observe_kafka_chain;
mod observe_resources;
pub mod rules;
pub mod severity;

pub use engine::{Alert, AlertEngine, AlertEvent, AlertState, Alerts, Observation};
pub use rules::{AlertsConfig, RuleKind, RuleSet, Subject, SubjectKind};
pub use severity::Severity;
