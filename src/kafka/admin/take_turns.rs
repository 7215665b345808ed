//! The order requests are sent in when only a few may be in flight: one broker's batch after
//! another's in turn, so the few in flight are spread over the brokers, each working on one,
//! instead of queueing up at the first broker while the others wait.

/// The items of `queues` in turns: the first of each queue, then the second of each, and so on.
pub fn take_turns<T>(queues: Vec<Vec<T>>) -> Vec<T> {
    let total = queues.iter().map(Vec::len).sum();
    let mut queues: Vec<std::vec::IntoIter<T>> = queues.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        out.extend(queues.iter_mut().filter_map(Iterator::next));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_queue_gives_one_in_turn_until_all_are_empty() {
        let turns = take_turns(vec![vec![1, 2, 3], vec![], vec![10], vec![20, 21]]);
        assert_eq!(turns, vec![1, 10, 20, 2, 21, 3]);
        assert!(take_turns(Vec::<Vec<u8>>::new()).is_empty());
    }
}
