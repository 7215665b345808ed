//! A group's partition rows, with what they share kept once per group rather than once per row.
//!
//! A million rows at scale, each in two models while the next is derived: a row holds only what
//! is its own (`PartitionLag`, 40 bytes). Its topic is the run of rows it sits in (rows come in
//! topic/partition order, so a group on one topic has one run) and its owner an index into the
//! group's members. 200 rows of a group then take the allocator's 8 KiB size class instead of
//! the 16 KiB that 80-byte rows with their own topic and owner took.
//!
//! Read a row through [`Row`], which puts its topic and owner back beside it and derefs to the
//! row; it serializes as the row always did.

use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;

use super::partition_lag::PartitionLag;
use crate::topic_runs::{self, TopicRuns};

/// A group's rows: in topic/partition order, each topic's rows one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    rows: TopicRuns<PartitionLag>,
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
            rows: TopicRuns::with_capacity(rows),
            owners,
        }
    }

    /// Appends a row of `topic` (rows are pushed in topic/partition order).
    pub fn push(&mut self, topic: &Arc<str>, row: PartitionLag) {
        self.rows.push(topic, row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i` with its topic and owner; None past the end.
    pub fn get(&self, i: usize) -> Option<Row<'_>> {
        let (topic, row) = self.rows.get(i)?;
        Some(self.with_owners((topic, row)))
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
            rows: self.rows.iter(),
            owners: &self.owners,
        }
    }

    /// The rows alone, without topic or owner (rollups, sums).
    pub fn plain(&self) -> &[PartitionLag] {
        self.rows.items()
    }

    /// The rows alone, to change their figures.
    pub fn plain_mut(&mut self) -> &mut [PartitionLag] {
        self.rows.items_mut()
    }

    /// Each row with its topic, to change its figures.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Arc<str>, &mut PartitionLag)> {
        self.rows.iter_mut()
    }

    /// Each topic's run of rows.
    pub fn runs(&self) -> impl Iterator<Item = (&Arc<str>, &[PartitionLag])> {
        self.rows.runs()
    }

    fn with_owners<'a>(&'a self, (topic, row): (&'a Arc<str>, &'a PartitionLag)) -> Row<'a> {
        Row {
            topic,
            row,
            owners: &self.owners,
        }
    }
}

/// The rows in order, each with its topic and owner.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rows: topic_runs::Iter<'a, PartitionLag>,
    owners: &'a [String],
}

impl<'a> Iterator for Iter<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        let (topic, row) = self.rows.next()?;
        Some(Row {
            topic,
            row,
            owners: self.owners,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
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
