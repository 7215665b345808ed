//! Replication across hosts: every host's replica of every replicated table (worst first), the
//! replication queues, and each host's ZooKeeper/Keeper session, for the `:replicas` view, the
//! table drill-down and the alerts.

use serde::Serialize;

use super::activity::{AcrossHosts, OnHost};
use crate::clickhouse::replication::{KeeperSession, Replica, ReplicationQueue};
use crate::clickhouse::snapshot::{HostSnapshot, Section};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Replication {
    /// One row per host × replicated table: read-only first, then the most delayed, the longest
    /// queue.
    pub replicas: AcrossHosts<Replica>,
    /// Replication queues per host × table, the most stuck first.
    pub queues: AcrossHosts<ReplicationQueue>,
    /// Each answering host's ZooKeeper/Keeper session, or why it has none to show.
    pub keeper: Vec<HostKeeper>,
    /// Why replicas carry no ZooKeeper exception (the first host without the column), if so.
    pub zookeeper_exception_missing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostKeeper {
    pub host: String,
    pub session: Option<KeeperSession>,
    /// "no ZooKeeper/Keeper configured …" or the probe's failure.
    pub problem: Option<String>,
}

impl Replication {
    pub fn gather(hosts: &[&HostSnapshot]) -> Replication {
        let mut replicas = super::activity::across(hosts, |h| &h.replicas);
        replicas.rows.sort_by(|a, b| {
            let (a, b) = (&a.item, &b.item);
            b.is_readonly
                .cmp(&a.is_readonly)
                .then(b.absolute_delay_s.cmp(&a.absolute_delay_s))
                .then(b.queue_size.cmp(&a.queue_size))
                .then((&a.database, &a.table).cmp(&(&b.database, &b.table)))
        });
        let mut queues = super::activity::across(hosts, |h| &h.replication_queue);
        queues.rows.sort_by(|a, b| {
            let (a, b) = (&a.item, &b.item);
            b.stuck
                .cmp(&a.stuck)
                .then(b.worst.num_tries.cmp(&a.worst.num_tries))
                .then(b.oldest_age_s.cmp(&a.oldest_age_s))
        });
        let keeper = hosts
            .iter()
            .map(|h| match &h.keeper {
                Section::Ok { data } => HostKeeper {
                    host: h.host.clone(),
                    session: Some(data.clone()),
                    problem: None,
                },
                other => HostKeeper {
                    host: h.host.clone(),
                    session: None,
                    problem: other.problem().map(str::to_string),
                },
            })
            .collect();
        Replication {
            replicas,
            queues,
            keeper,
            zookeeper_exception_missing: hosts
                .iter()
                .find_map(|h| h.zookeeper_exception_missing.clone()),
        }
    }

    /// The replicas of one table (`database.table`) on every host.
    pub fn replicas_of(&self, table: &str) -> Vec<&OnHost<Replica>> {
        self.replicas
            .rows
            .iter()
            .filter(|r| qualified(&r.item.database, &r.item.table) == table)
            .collect()
    }

    /// The queue of one table on one host, if it has entries.
    pub fn queue_of(&self, host: &str, database: &str, table: &str) -> Option<&ReplicationQueue> {
        self.queues
            .rows
            .iter()
            .find(|q| q.host == host && q.item.database == database && q.item.table == table)
            .map(|q| &q.item)
    }
}

pub fn qualified(database: &str, table: &str) -> String {
    format!("{database}.{table}")
}

#[cfg(test)]
mod tests {
    use crate::alerts::RuleSet;
    use crate::clickhouse::replication::{KeeperSession, Replica};
    use crate::clickhouse::snapshot::Section;
    use crate::model::clickhouse::ClickHouseTracker;
    use crate::model::clickhouse::tests::{host, ok, snapshot};

    fn replica(table: &str, readonly: bool, delay: u64, queue: u64) -> Replica {
        Replica {
            database: "db".into(),
            table: table.into(),
            replica_name: "r".into(),
            is_readonly: readonly,
            is_session_expired: readonly,
            absolute_delay_s: delay,
            queue_size: queue,
            inserts_in_queue: queue,
            merges_in_queue: 0,
            log_gap: 0,
            total_replicas: 2,
            active_replicas: 2,
            zookeeper_exception: None,
        }
    }

    #[test]
    fn replicas_rank_read_only_then_delay_and_count_per_host() {
        let mut a = host("a", vec![]);
        a.replicas = ok(vec![
            replica("t1", false, 0, 0),
            replica("t2", false, 90, 4),
        ]);
        a.keeper = ok(KeeperSession {
            source: "system.zookeeper".into(),
            connected: true,
            address: None,
            error: None,
        });
        let mut b = host("b", vec![]);
        b.replicas = ok(vec![replica("t1", true, 5, 1)]);
        let mut c = host("c", vec![]);
        c.replicas = Section::Failed {
            error: "Code: 999. Coordination::Exception: Connection loss".into(),
        };
        let model =
            ClickHouseTracker::default().update(&snapshot(vec![a, b, c], 0), &RuleSet::default());
        let r = &model.replication;
        let order: Vec<(&str, &str)> = r
            .replicas
            .rows
            .iter()
            .map(|r| (r.host.as_str(), r.item.table.as_str()))
            .collect();
        assert_eq!(order, [("b", "t1"), ("a", "t2"), ("a", "t1")]);
        assert_eq!(
            r.replicas.problem.as_deref(),
            Some("c: Code: 999. Coordination::Exception: Connection loss")
        );
        let t1: Vec<&str> = r
            .replicas_of("db.t1")
            .iter()
            .map(|r| r.host.as_str())
            .collect();
        assert_eq!(t1, ["b", "a"]);
        let readonly: Vec<Option<u64>> = model.hosts.iter().map(|h| h.readonly_replicas).collect();
        assert_eq!(readonly, [Some(0), Some(1), None], "c could not say");
        assert!(r.keeper[0].session.as_ref().is_some_and(|s| s.connected));
        assert_eq!(r.keeper[1].session, None);
        assert!(
            r.keeper[1]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("ZooKeeper"))
        );
    }
}
