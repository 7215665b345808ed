//! Which kinds of table a server has at all, so a poll skips the sections of features it does not
//! use: no replicated table, no replicas or replication-queue query; no Distributed table, no
//! send-queue query; no Kafka table, no Kafka-consumer or Kafka-counter query; no materialized
//! view, no view-log scan. One small query over `system.tables`, read at every poll; a poll
//! decides by the previous poll's answer (a table created now is watched from the next poll),
//! and reads everything while there is none.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SYSTEM_DATABASES, SectionId, fetch};
use crate::clickhouse::capabilities::Feature;
use crate::clickhouse::client::ChClient;
use crate::clickhouse::snapshot::Section;

/// How many tables of each kind the server has, outside its system databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Row, Deserialize)]
pub struct Inventory {
    pub replicated: u64,
    pub distributed: u64,
    pub kafka: u64,
    pub views: u64,
}

pub fn inventory_sql() -> String {
    format!(
        "SELECT toUInt64(countIf(engine LIKE 'Replicated%')) AS replicated,
       toUInt64(countIf(engine = 'Distributed')) AS distributed,
       toUInt64(countIf(engine = 'Kafka')) AS kafka,
       toUInt64(countIf(engine = 'MaterializedView')) AS views
FROM system.tables
WHERE database NOT IN {SYSTEM_DATABASES}
LIMIT 1"
    )
}

/// None when the query failed: the next poll then reads every section.
pub async fn inventory(client: &ChClient, ctx: &Ctx) -> Option<Inventory> {
    let stmt = ctx.stmt(SectionId::Inventory, inventory_sql());
    fetch::<Inventory>(client, &stmt)
        .await
        .ok()
        .and_then(|rows| rows.into_iter().next())
}

/// What a skipped section reports: nothing to watch, or why the server could not tell anyway.
pub fn nothing_to_watch<T: Default>(ctx: &Ctx, feature: Feature) -> Section<T> {
    match ctx.caps.missing(feature) {
        Some(reason) => Section::Unavailable { reason },
        None => Section::Ok { data: T::default() },
    }
}

/// Runs `read` unless the inventory says there is nothing for it (`has` is 0).
pub async fn unless_none<T: Default>(
    ctx: &Ctx,
    inventory: Option<&Inventory>,
    has: fn(&Inventory) -> u64,
    feature: Feature,
    read: impl Future<Output = Section<T>>,
) -> Section<T> {
    match inventory {
        Some(i) if has(i) == 0 => nothing_to_watch(ctx, feature),
        _ => read.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_section_still_says_why_an_old_server_cannot_answer() {
        let old = Ctx::for_test("18.16.1", &[]);
        let s: Section<Vec<u8>> = nothing_to_watch(
            &old,
            crate::clickhouse::capabilities::features::DISTRIBUTION_QUEUE,
        );
        assert!(s.problem().is_some_and(|p| p.contains("20.5")), "{s:?}");
        let new = Ctx::for_test("26.9.1", &[("distribution_queue", "database")]);
        let s: Section<Vec<u8>> = nothing_to_watch(
            &new,
            crate::clickhouse::capabilities::features::DISTRIBUTION_QUEUE,
        );
        assert_eq!(s.data(), Some(&vec![]));
        assert!(inventory_sql().contains("LIMIT 1"));
    }
}
