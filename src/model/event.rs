//! One entry of the events timeline: what changed, when, about whom (so Enter can jump to it).
//! The session's timeline (`crate::timeline`) finds them; a model carries the newest.

use std::time::SystemTime;

use serde::Serialize;

use crate::alerts::{Severity, Subject, SubjectKind};

/// What kind of change an event records (a column on screen, a field in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A source stopped or started answering.
    Source,
    /// A group appeared, went, or changed state (a rebalance passes through its states).
    Group,
    /// Members joined or left a group.
    Members,
    /// A committed offset went backwards.
    Rewind,
    /// A broker stopped or started answering, or left or rejoined the metadata.
    Broker,
    /// Partition leaders moved to other brokers.
    Leaders,
    /// Partitions went under-replicated or leaderless, or back.
    Replication,
    /// A ClickHouse server restarted (its uptime went back) or changed version.
    Server,
    /// A new exception code in a table's failed inserts.
    Exception,
    /// A table reached a parts threshold, or a mutation started or began failing.
    Table,
    /// An alert fired, escalated or cleared.
    Alert,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Source => "source",
            EventKind::Group => "group",
            EventKind::Members => "members",
            EventKind::Rewind => "rewind",
            EventKind::Broker => "broker",
            EventKind::Leaders => "leaders",
            EventKind::Replication => "replication",
            EventKind::Server => "server",
            EventKind::Exception => "exception",
            EventKind::Table => "table",
            EventKind::Alert => "alert",
        }
    }
}

/// One change, at the time of the model that showed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    #[serde(serialize_with = "crate::time::ser_unix_ms")]
    pub at: SystemTime,
    pub kind: EventKind,
    pub subject: Subject,
    /// How bad the change is, when it is bad (a broker down, an alert firing); None for news
    /// that is neither (a member joining, a broker back).
    pub severity: Option<Severity>,
    /// One line: what changed, e.g. "state Stable → PreparingRebalance".
    pub text: String,
}

/// An event under construction: the detectors know what and about whom, the timeline knows when.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: EventKind,
    pub subject: Subject,
    pub severity: Option<Severity>,
    pub text: String,
}

impl Change {
    pub fn new(kind: EventKind, subject: Subject, text: impl Into<String>) -> Change {
        Change {
            kind,
            subject,
            severity: None,
            text: text.into(),
        }
    }

    pub fn bad(mut self, severity: Severity) -> Change {
        self.severity = Some(severity);
        self
    }
}

pub fn subject(kind: SubjectKind, name: impl Into<String>) -> Subject {
    Subject::new(kind, name)
}
