//! How old the newest row of each watched table is, read from the newest partition only.
//! One query per table and poll once its shape is known.

use clickhouse::Row;
use serde::Deserialize;

use super::{Ctx, SectionId, fetch, section};
use crate::clickhouse::client::{Arg, ChClient, ChError, codes};
use crate::clickhouse::snapshot::{Freshness, FreshnessData, Section};
use crate::config::WatchedTable;

#[derive(Debug, Row, Deserialize)]
struct NewestRow {
    rows: u64,
    newest: i64,
    now: i64,
}

/// The partition whose data is newest: by the partition key's max time or date when it has one,
/// else the most recently written part. A scalar subquery, so a MergeTree table costs one query.
const NEWEST_PARTITION: &str = " WHERE _partition_id = (
    SELECT partition_id FROM system.parts
    WHERE active AND database = ? AND table = ?
    ORDER BY max_time DESC, max_date DESC, modification_time DESC
    LIMIT 1
)";

/// What pipetop knows about a watched table's storage, remembered between polls so that a table
/// costs one query per poll, and a missing one raises no server error (it is looked up in
/// system.tables instead, which also notices when it appears).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// MergeTree: read the newest partition only.
    Partitioned,
    /// No partitions (a view, say): read whole.
    Whole,
}

#[derive(Debug, Row, Deserialize)]
struct Lookup {
    found: u8,
    merge_tree: u8,
}

const LOOKUP_SQL: &str = "SELECT toUInt8(count() > 0) AS found,
       toUInt8(countIf(engine LIKE '%MergeTree%') > 0) AS merge_tree
FROM system.tables WHERE database = ? AND name = ?";

/// The answer for one watched table, and its shape to remember (None: look it up next time).
pub async fn freshness(
    client: &ChClient,
    ctx: &Ctx,
    watched: &WatchedTable,
    known: Option<Shape>,
) -> (Freshness, Option<Shape>) {
    let (database, table) = watched.split(&ctx.database);
    let (result, shape) = match measure(client, ctx, database, table, &watched.column, known).await
    {
        Ok((data, shape)) => (data.map_or_else(|| missing(database, table), ok), shape),
        // Dropped since the last poll: say so, and look it up again next time.
        Err(e) if matches!(e.code(), Some(codes::UNKNOWN_TABLE | UNKNOWN_DATABASE)) => {
            (missing(database, table), None)
        }
        Err(e) => (section::<FreshnessData>(Err(e)), known),
    };
    let freshness = Freshness {
        table: format!("{database}.{table}"),
        column: watched.column.clone(),
        result,
    };
    (freshness, shape)
}

fn ok(data: FreshnessData) -> Section<FreshnessData> {
    Section::Ok { data }
}

/// A watched table this server does not have is a config mismatch, not a failing query.
fn missing(database: &str, table: &str) -> Section<FreshnessData> {
    Section::Unavailable {
        reason: format!("table {database}.{table} does not exist on this server"),
    }
}

const UNKNOWN_DATABASE: u32 = 81;

/// Ok(None): the table does not exist.
async fn measure(
    client: &ChClient,
    ctx: &Ctx,
    database: &str,
    table: &str,
    column: &str,
    known: Option<Shape>,
) -> Result<(Option<FreshnessData>, Option<Shape>), ChError> {
    let shape = match known {
        Some(shape) => shape,
        None => {
            let stmt = ctx
                .stmt(SectionId::Freshness, LOOKUP_SQL)
                .args([Arg::Str(database.to_string()), Arg::Str(table.to_string())]);
            let lookup = fetch::<Lookup>(client, &stmt).await?;
            match lookup.first() {
                Some(l) if l.found > 0 && l.merge_tree > 0 => Shape::Partitioned,
                Some(l) if l.found > 0 => Shape::Whole,
                _ => return Ok((None, None)),
            }
        }
    };
    match newest(client, ctx, database, table, column, shape).await {
        // Replaced by a view since the last look: read it whole from now on.
        Err(e) if shape == Shape::Partitioned && lacks_partition_id(&e) => {
            let data = newest(client, ctx, database, table, column, Shape::Whole).await?;
            Ok((Some(data), Some(Shape::Whole)))
        }
        other => Ok((Some(other?), Some(shape))),
    }
}

/// Not a MergeTree table: it has no `_partition_id` to narrow the read to.
fn lacks_partition_id(e: &ChError) -> bool {
    e.code() == Some(codes::UNKNOWN_IDENTIFIER) && e.to_string().contains("_partition_id")
}

async fn newest(
    client: &ChClient,
    ctx: &Ctx,
    database: &str,
    table: &str,
    column: &str,
    shape: Shape,
) -> Result<FreshnessData, ChError> {
    // Table and column names come from the config: bound as identifiers, never spliced.
    let mut stmt = ctx
        .stmt(
            SectionId::Freshness,
            "SELECT toUInt64(count()) AS rows, toInt64(toDateTime(max(?))) AS newest, toInt64(now()) AS now FROM ?.?",
        )
        .arg(Arg::Ident(column.to_string()))
        .arg(Arg::Ident(database.to_string()))
        .arg(Arg::Ident(table.to_string()));
    if shape == Shape::Partitioned {
        // No parts at all: the subquery is empty, so is the read, and the table has no age.
        stmt.sql.push_str(NEWEST_PARTITION);
        stmt = stmt.args([Arg::Str(database.to_string()), Arg::Str(table.to_string())]);
    }
    let row = fetch::<NewestRow>(client, &stmt)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ChError::Transport("no row from an aggregate".to_string()))?;
    Ok(freshness_data(row.rows, row.newest, row.now))
}

fn freshness_data(rows: u64, newest: i64, now: i64) -> FreshnessData {
    if rows == 0 {
        return FreshnessData {
            newest: None,
            age_s: None,
        };
    }
    FreshnessData {
        newest: Some(newest),
        age_s: Some(now - newest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_has_no_age_rather_than_fifty_years() {
        assert_eq!(freshness_data(0, 0, 1_700_000_000).age_s, None);
        assert_eq!(
            freshness_data(3, 1_699_999_990, 1_700_000_000).age_s,
            Some(10)
        );
    }
}
