//! The partitions' printed values (`system.parts.partition`, e.g. `(20261203, 'eu')`), learned
//! once per partition. The server formats that column for every part it lists, which was a third
//! of the cost of the tables scan (12 of 36 ms for 10,000 parts on the 26.9 engine); the scan
//! groups by `partition_id` instead, and only the few partitions shown per table are named:
//! from this cache, or by one small query for the ones not seen before (at the first poll, and
//! when a partition appears among a table's worst).

use std::collections::HashMap;

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch};
use crate::clickhouse::client::{Arg, ChClient};

/// (database, table, partition_id).
pub type PartitionKey = (String, String, String);

/// Partitions named by one poll at most; the rest show their id until a later poll names them.
pub const NAMED_PER_POLL: usize = 500;
/// Past this many names the cache starts afresh (dropped tables' partitions leave with it).
const CAPACITY: usize = 100_000;

#[derive(Debug, Default, Clone)]
pub struct PartitionNames {
    names: HashMap<PartitionKey, String>,
}

impl PartitionNames {
    pub fn get(&self, key: &PartitionKey) -> Option<&str> {
        self.names.get(key).map(String::as_str)
    }

    pub fn learn(&mut self, learned: Vec<(PartitionKey, String)>) {
        if self.names.len() + learned.len() > CAPACITY {
            self.names.clear();
        }
        self.names.extend(learned);
    }

    pub fn forget(&mut self) {
        self.names.clear();
    }
}

#[derive(Debug, Row, Deserialize)]
struct NameRow {
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    database: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    table: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    partition_id: String,
    #[serde(deserialize_with = "crate::clickhouse::text::lossy")]
    partition: String,
}

/// Every name is bound: `keys` tuples of three values each, and the databases and tables again
/// for the server to list only those tables' parts.
pub fn names_sql(keys: usize, databases: usize, tables: usize) -> String {
    let list = |n: usize, item: &str| vec![item; n].join(", ");
    format!(
        "SELECT database, table, partition_id, any(partition) AS partition
FROM system.parts
WHERE active AND database IN ({}) AND table IN ({})
  AND (database, table, partition_id) IN ({})
GROUP BY database, table, partition_id
LIMIT {keys}",
        list(databases, "?"),
        list(tables, "?"),
        list(keys, "(?, ?, ?)"),
    )
}

/// The names of `missing` (at most [`NAMED_PER_POLL`] of them); a failed read names none (they
/// show their id, and the next poll asks again).
pub async fn read(
    client: &ChClient,
    ctx: &Ctx,
    missing: &[PartitionKey],
) -> Vec<(PartitionKey, String)> {
    let missing = &missing[..missing.len().min(NAMED_PER_POLL)];
    if missing.is_empty() {
        return Vec::new();
    }
    let mut databases: Vec<&String> = missing.iter().map(|k| &k.0).collect();
    databases.sort();
    databases.dedup();
    let mut tables: Vec<&String> = missing.iter().map(|k| &k.1).collect();
    tables.sort();
    tables.dedup();
    let args = databases
        .iter()
        .chain(&tables)
        .map(|s| Arg::Str((*s).clone()))
        .chain(missing.iter().flat_map(|(d, t, p)| {
            [
                Arg::Str(d.clone()),
                Arg::Str(t.clone()),
                Arg::Str(p.clone()),
            ]
        }));
    let stmt = ctx
        .stmt(
            SectionId::Partitions,
            names_sql(missing.len(), databases.len(), tables.len()),
        )
        .args(args);
    fetch::<NameRow>(client, &stmt)
        .await
        .map(|rows| {
            rows.into_iter()
                .map(|r| ((r.database, r.table, r.partition_id), r.partition))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_binds_every_name_and_is_bounded() {
        let sql = names_sql(2, 1, 2);
        assert_eq!(sql.matches('?').count(), 2 * 3 + 1 + 2, "{sql}");
        assert!(sql.contains("LIMIT 2"), "{sql}");
        assert!(sql.contains("IN ((?, ?, ?), (?, ?, ?))"), "{sql}");
    }

    #[test]
    fn the_cache_starts_afresh_when_full() {
        let key = |i: usize| ("d".to_string(), "t".to_string(), i.to_string());
        let mut names = PartitionNames::default();
        names.learn((0..CAPACITY).map(|i| (key(i), format!("p{i}"))).collect());
        assert_eq!(names.get(&key(7)), Some("p7"));
        names.learn(vec![(key(CAPACITY), "new".into())]);
        assert_eq!(
            (names.get(&key(7)), names.get(&key(CAPACITY))),
            (None, Some("new"))
        );
    }
}
