//! Items that come in topic/partition order, each topic's name kept once per run of its items
//! rather than once per item: a snapshot's commits and a model's rows, a million of each at scale,
//! where a shared name beside every item cost 16 bytes of it.

use std::sync::Arc;

/// Whether two shared names are the same topic: the same allocation (the collector shares one
/// per topic), or equal text.
pub fn same_topic(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// Items in topic/partition order, each topic's items one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRuns<T> {
    items: Vec<T>,
    /// Each run of one topic's items: its name (shared with the snapshot) and its first item.
    runs: Vec<(Arc<str>, usize)>,
}

impl<T> Default for TopicRuns<T> {
    fn default() -> TopicRuns<T> {
        TopicRuns {
            items: Vec::new(),
            runs: Vec::new(),
        }
    }
}

impl<T> TopicRuns<T> {
    /// Room for `items` items, pushed in order with `push`.
    pub fn with_capacity(items: usize) -> TopicRuns<T> {
        TopicRuns {
            items: Vec::with_capacity(items),
            runs: Vec::new(),
        }
    }

    /// Appends an item of `topic` (items are pushed in topic/partition order; a topic that comes
    /// back after another starts a run of its own).
    pub fn push(&mut self, topic: &Arc<str>, item: T) {
        if self.runs.last().is_none_or(|(t, _)| !same_topic(t, topic)) {
            self.runs.push((Arc::clone(topic), self.items.len()));
        }
        self.items.push(item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.runs.clear();
    }

    /// Item `i` with its topic; None past the end.
    pub fn get(&self, i: usize) -> Option<(&Arc<str>, &T)> {
        let item = self.items.get(i)?;
        let run = self.runs.partition_point(|&(_, first)| first <= i);
        let (topic, _) = self.runs.get(run.checked_sub(1)?)?;
        Some((topic, item))
    }

    /// The items alone, without their topic.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The items alone, to change them.
    pub fn items_mut(&mut self) -> &mut [T] {
        &mut self.items
    }

    /// Each item with its topic, in order.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            of: self,
            next: 0,
            run: 0,
        }
    }

    /// Each item with its topic, to change the item.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Arc<str>, &mut T)> {
        let runs = &self.runs;
        let mut run = 0;
        self.items.iter_mut().enumerate().map(move |(i, item)| {
            while runs.get(run + 1).is_some_and(|&(_, first)| first <= i) {
                run += 1;
            }
            (&runs[run].0, item)
        })
    }

    /// Each topic's run of items.
    pub fn runs(&self) -> impl Iterator<Item = (&Arc<str>, &[T])> {
        self.runs.iter().enumerate().map(|(i, (topic, first))| {
            let end = self.runs.get(i + 1).map_or(self.items.len(), |&(_, f)| f);
            (topic, &self.items[*first..end])
        })
    }
}

/// The items in order, each with its topic.
#[derive(Debug)]
pub struct Iter<'a, T> {
    of: &'a TopicRuns<T>,
    next: usize,
    run: usize,
}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter { ..*self }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (&'a Arc<str>, &'a T);

    fn next(&mut self) -> Option<(&'a Arc<str>, &'a T)> {
        let of = self.of;
        let item = of.items.get(self.next)?;
        while of
            .runs
            .get(self.run + 1)
            .is_some_and(|&(_, first)| first <= self.next)
        {
            self.run += 1;
        }
        let (topic, _) = of.runs.get(self.run)?;
        self.next += 1;
        Some((topic, item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.of.items.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of topics and the items' order come back as pushed, by index, in order and changed
    /// in place.
    #[test]
    fn items_keep_their_topic() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut runs = TopicRuns::with_capacity(5);
        runs.push(&a, 0);
        runs.push(&a, 1);
        runs.push(&b, 0);
        // Equal text, another allocation: the same run.
        runs.push(&Arc::from("b"), 1);
        runs.push(&a, 9);
        let seen: Vec<_> = runs.iter().map(|(t, &p)| (t.to_string(), p)).collect();
        let expected =
            [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("a", 9)].map(|(t, p)| (t.to_string(), p));
        assert_eq!(seen, expected);
        assert_eq!(runs.iter().len(), 5);
        for (i, (topic, p)) in runs.iter().enumerate() {
            assert_eq!(runs.get(i), Some((topic, p)));
        }
        assert!(runs.get(5).is_none());
        assert_eq!(
            runs.runs()
                .map(|(t, items)| (&**t, items.len()))
                .collect::<Vec<_>>(),
            [("a", 2), ("b", 2), ("a", 1)]
        );
        for (topic, p) in runs.iter_mut() {
            if &**topic == "b" {
                *p += 100;
            }
        }
        assert_eq!(runs.items(), [0, 1, 100, 101, 9]);
        runs.clear();
        assert!(runs.is_empty() && runs.iter().next().is_none() && runs.get(0).is_none());
        assert_eq!(TopicRuns::<u8>::default().iter().count(), 0);
    }
}
