//! A group's partition rows, with what they share kept once per group rather than once per row.
//!
//! A million rows at scale, each in two models while the next is derived: a row holds only what
//! is its own (`PartitionLag`, 48 bytes). Its topic is the run of rows it sits in (rows come in
//! topic/partition order, so a group on one topic has one run) and its owner an index into the
//! group's members. 200 rows of a group then take the allocator's 10 KiB size class instead of
//! the 16 KiB that 80-byte rows with their own topic and owner took.
//!
//! Read a row through [`Row`], which puts its topic and owner back beside it and derefs to the
//! row; it serializes as the row always did.

use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;

use super::partition_lag::PartitionLag;

/// Whether two shared names are the same topic: the same allocation (the collector shares one
/// per topic), or equal text.
pub fn same_topic(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// A group's rows: in topic/partition order, each topic's rows one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    rows: Vec<PartitionLag>,
    /// Each run of one topic's rows: its name (shared with the snapshot) and its first row.
    runs: Vec<(Arc<str>, usize)>,
    /// client_id@host of each member that owns a row, as the rows' owner indexes name them.
    owners: Vec<String>,
}

/// One row with its topic and owner.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub topic: &'a Arc<str>,
    row: &'a PartitionLag,
    owners: &'a [String],
}

impl Deref for Row<'_> {
    type Target = PartitionLag;

    fn deref(&self) -> &PartitionLag {
        self.row
    }
}

impl<'a> Row<'a> {
    /// client_id@host of the member that owns the partition, if any.
    pub fn owner(&self) -> Option<&'a str> {
        let owners = self.owners;
        self.row
            .owner_index()
            .and_then(|i| owners.get(i))
            .map(String::as_str)
    }

    /// The row alone.
    pub fn row(&self) -> &'a PartitionLag {
        self.row
    }
}

impl Rows {
    /// Rows built in order: `push` each with its topic.
    pub fn with_capacity(rows: usize, owners: Vec<String>) -> Rows {
        Rows {
            rows: Vec::with_capacity(rows),
            runs: Vec::new(),
            owners,
        }
    }

    /// Appends a row of `topic` (rows are pushed in topic/partition order).
    pub fn push(&mut self, topic: &Arc<str>, row: PartitionLag) {
        if self.runs.last().is_none_or(|(t, _)| !same_topic(t, topic)) {
            self.runs.push((Arc::clone(topic), self.rows.len()));
        }
        self.rows.push(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i` with its topic and owner; None past the end.
    pub fn get(&self, i: usize) -> Option<Row<'_>> {
        let row = self.rows.get(i)?;
        let run = self.runs.partition_point(|&(_, first)| first <= i);
        let (topic, _) = self.runs.get(run.checked_sub(1)?)?;
        Some(Row {
            topic,
            row,
            owners: &self.owners,
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.get(0)
    }

    /// Row `i` with its topic and owner, as indexing a slice would (panics past the end).
    pub fn row(&self, i: usize) -> Row<'_> {
        match self.get(i) {
            Some(row) => row,
            None => panic!("row {i} of {}", self.rows.len()),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            rows: self,
            next: 0,
            run: 0,
        }
    }

    /// The rows alone, without topic or owner (rollups, sums).
    pub fn plain(&self) -> &[PartitionLag] {
        &self.rows
    }

    /// The rows alone, to change their figures.
    pub fn plain_mut(&mut self) -> &mut [PartitionLag] {
        &mut self.rows
    }

    /// Each row with its topic, to change its figures.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Arc<str>, &mut PartitionLag)> {
        let runs = &self.runs;
        let mut run = 0;
        self.rows.iter_mut().enumerate().map(move |(i, row)| {
            while runs.get(run + 1).is_some_and(|&(_, first)| first <= i) {
                run += 1;
            }
            (&runs[run].0, row)
        })
    }

    /// Each topic's run of rows.
    pub fn runs(&self) -> impl Iterator<Item = (&Arc<str>, &[PartitionLag])> {
        self.runs.iter().enumerate().map(|(i, (topic, first))| {
            let end = self.runs.get(i + 1).map_or(self.rows.len(), |&(_, f)| f);
            (topic, &self.rows[*first..end])
        })
    }
}

/// The rows in order, each with its topic and owner.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rows: &'a Rows,
    next: usize,
    run: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        let rows = self.rows;
        let row = rows.rows.get(self.next)?;
        while rows
            .runs
            .get(self.run + 1)
            .is_some_and(|&(_, first)| first <= self.next)
        {
            self.run += 1;
        }
        let (topic, _) = rows.runs.get(self.run)?;
        self.next += 1;
        Some(Row {
            topic,
            row,
            owners: &rows.owners,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.rows.rows.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl Serialize for Rows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.row
            .serialize_as_row(self.topic, self.owner(), serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kafka::partition_lag::OffsetFlag;

    fn row(partition: i32, owner: Option<usize>) -> PartitionLag {
        PartitionLag::new(partition, Some(1), Some(3), OffsetFlag::Ok, owner)
    }

    /// Runs of topics, owners by index and the rows' order come back as pushed, by index, in
    /// order and changed in place; the JSON is the plain fields of each row.
    #[test]
    fn rows_keep_their_topic_and_owner() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut rows = Rows::with_capacity(4, vec!["x@h".into(), "y@h".into()]);
        rows.push(&a, row(0, Some(1)));
        rows.push(&a, row(1, None));
        rows.push(&b, row(0, Some(0)));
        rows.push(&Arc::from("b"), row(1, Some(7)));
        let seen: Vec<_> = rows
            .iter()
            .map(|r| (r.topic.to_string(), r.partition, r.owner()))
            .collect();
        assert_eq!(
            seen,
            [
                ("a".to_string(), 0, Some("y@h")),
                ("a".to_string(), 1, None),
                ("b".to_string(), 0, Some("x@h")),
                ("b".to_string(), 1, None),
            ]
        );
        assert_eq!(rows.iter().len(), 4);
        for i in 0..4 {
            let (by_index, in_order) = (rows.row(i), rows.iter().nth(i).unwrap());
            assert_eq!(
                (by_index.topic, by_index.partition),
                (in_order.topic, in_order.partition)
            );
        }
        assert!(rows.get(4).is_none());
        assert_eq!(
            rows.runs()
                .map(|(t, r)| (&**t, r.len()))
                .collect::<Vec<_>>(),
            [("a", 2), ("b", 2)]
        );
        for (topic, row) in rows.iter_mut() {
            if &**topic == "b" {
                row.set_idle_s(Some(2.5));
            }
        }
        let idle: Vec<_> = rows.iter().map(|r| r.idle_s()).collect();
        assert_eq!(idle, [None, None, Some(2.5), Some(2.5)]);
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(json[2]["topic"], "b");
        assert_eq!(json[2]["owner"], "x@h");
        assert_eq!(json[2]["lag"], 2);
        assert_eq!(json[2]["idle_s"], 2.5);
        assert!(json[1]["owner"].is_null());
        assert_eq!(Rows::default().iter().count(), 0);
    }
}
