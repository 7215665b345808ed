//! The committed offsets of many groups, asked of each coordinator in a few OffsetFetch requests
//! rather than one request per group (librdkafka patch 11: OffsetFetch v8 names many groups).
//!
//! At 1,000 groups a poll sent 1,000 OffsetFetch requests, each a round trip through the broker
//! thread, librdkafka's main thread and the result queue: a third of pipetop's CPU. The caller
//! says which broker it believes coordinates each group (the leader of the group's
//! `__consumer_offsets` partition); the groups of one broker go in batches of
//! [`GROUPS_PER_OFFSET_FETCH`]. What such a batch cannot answer is asked again one group at a
//! time, where librdkafka's own coordinator lookup routes it: a group the broker does not
//! coordinate (it moved), a batch the broker refused as a whole (no OffsetFetch v8 before
//! Kafka 3.0, a connection lost), and groups whose coordinator is not known.

use std::ffi::CString;
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;

use super::client::Admin;
use super::error::AdminError;
use super::guards::OffsetsRequest;
use super::op::Op;
use super::readers::read_group_offsets_batch;
use super::take_turns::take_turns;
use crate::kafka::types::GroupOffsets;

/// Groups in one OffsetFetch: an answer of about 100 × the groups' partitions × 30 bytes (600 KB
/// for groups on 200 partitions), parsed in one piece by librdkafka's main thread.
pub const GROUPS_PER_OFFSET_FETCH: usize = 100;

/// How many OffsetFetch requests may be outstanding at once.
#[derive(Debug, Clone, Copy)]
pub struct OffsetFetchesInFlight {
    /// Requests naming many groups.
    pub batches: usize,
    /// Requests naming one group.
    pub alone: usize,
}

/// A group's answer in a batch that says to ask it again on its own: its coordinator is
/// elsewhere (moved since the metadata was read) or not ready to say.
fn ask_alone(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::NotCoordinator | RDKafkaErrorCode::CoordinatorNotAvailable
    )
}

/// The batches of one OffsetFetch each: the indices into the caller's groups, by coordinator,
/// at most [`GROUPS_PER_OFFSET_FETCH`] each, the coordinators taking turns (see `take_turns`);
/// and the groups without a known coordinator.
fn batches(coordinators: &[Option<i32>]) -> (Vec<(i32, Vec<usize>)>, Vec<usize>) {
    let mut by_broker: std::collections::BTreeMap<i32, Vec<usize>> = Default::default();
    let mut alone = Vec::new();
    for (i, c) in coordinators.iter().enumerate() {
        match c {
            Some(b) => by_broker.entry(*b).or_default().push(i),
            None => alone.push(i),
        }
    }
    let per_broker = by_broker
        .into_iter()
        .map(|(broker, groups)| {
            groups
                .chunks(GROUPS_PER_OFFSET_FETCH)
                .map(|c| (broker, c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    (take_turns(per_broker), alone)
}

impl Admin {
    /// Committed offsets of all partitions each group has committed, like
    /// [`Admin::list_group_offsets`], asking each `coordinator` (a broker id, or None when not
    /// known) for up to [`GROUPS_PER_OFFSET_FETCH`] groups in one request. Returns one entry per
    /// group, in the order given; `timeout` bounds the whole call, the requests asked again one
    /// group at a time included. Also returns how many requests were sent. `in_flight` bounds
    /// the batches and the one-group requests outstanding at once, each kind on its own: a
    /// batch's answer is large (parsed whole by librdkafka), a group's small.
    pub fn list_group_offsets_batched(
        &self,
        groups: &[(String, Option<i32>)],
        in_flight: OffsetFetchesInFlight,
        timeout: Duration,
    ) -> Result<(Vec<GroupOffsets>, usize), AdminError> {
        self.list_group_offsets_batched_into(groups, in_flight, timeout, |answer| answer)
    }

    /// [`Admin::list_group_offsets_batched`], each group's answer handed to `keep` as soon as it
    /// is final (a batch's answers as the batch arrives), and what `keep` makes of it returned:
    /// a poll's answers need not all live in the admin client's rows until the last arrives.
    pub fn list_group_offsets_batched_into<T>(
        &self,
        groups: &[(String, Option<i32>)],
        in_flight: OffsetFetchesInFlight,
        timeout: Duration,
        mut keep: impl FnMut(GroupOffsets) -> T,
    ) -> Result<(Vec<T>, usize), AdminError> {
        let op = Op::LIST_GROUP_OFFSETS;
        let started = Instant::now();
        let coordinators: Vec<Option<i32>> = groups.iter().map(|(_, c)| *c).collect();
        let (batches, mut alone) = batches(&coordinators);
        let mut results: Vec<Option<T>> =
            std::iter::repeat_with(|| None).take(groups.len()).collect();
        // A group id with a NUL cannot be sent: the one-group path says so.
        let mut sendable: Vec<(i32, Vec<usize>, Vec<CString>)> = Vec::with_capacity(batches.len());
        for (broker, idx) in batches {
            let (ok, bad): (Vec<_>, Vec<_>) = idx
                .into_iter()
                .map(|i| (i, CString::new(groups[i].0.as_str())))
                .partition(|(_, c)| c.is_ok());
            alone.extend(bad.into_iter().map(|(i, _)| i));
            let (idx, names): (Vec<usize>, Vec<CString>) = ok
                .into_iter()
                .filter_map(|(i, c)| Some((i, c.ok()?)))
                .unzip();
            if !idx.is_empty() {
                sendable.push((broker, idx, names));
            }
        }

        let rk = self.rk();
        self.run(
            op,
            sendable.len(),
            in_flight.batches,
            timeout,
            |n, options, queue| {
                let (broker, _, names) = &sendable[n];
                let requests = names
                    .iter()
                    .map(|g| OffsetsRequest::new(op, g, None))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut raw: Vec<*mut rd::rd_kafka_ListConsumerGroupOffsets_t> =
                    requests.iter().map(OffsetsRequest::ptr).collect();
                options.set_broker(op, *broker)?;
                // SAFETY: `rk` is the handle of `self.client`, valid for this call; `raw` is an
                // array of `raw.len()` pointers to the requests owned by `requests`, alive until
                // the closure returns, each asking for all partitions (NULL list), as librdkafka
                // (patch 11) requires for more than one, together with the broker set in the
                // options; librdkafka copies the requests and the options, and references the
                // queue, before returning.
                unsafe {
                    rd::rd_kafka_ListConsumerGroupOffsets(
                        rk,
                        raw.as_mut_ptr(),
                        raw.len(),
                        options.ptr(),
                        queue.ptr(),
                    )
                };
                Ok(())
            },
            |n, event| {
                let (_, idx, _) = &sendable[n];
                match read_group_offsets_batch(&event) {
                    Ok(answers) => {
                        let place: HashMap<&str, usize> = {
                            let mut m = HashMap::with_capacity(idx.len());
                            for &i in idx {
                                m.insert(groups[i].0.as_str(), i);
                            }
                            m
                        };
                        for (code, answer) in answers {
                            let Some(&i) = place.get(answer.group_id.as_str()) else {
                                continue;
                            };
                            if code.is_some_and(ask_alone) {
                                continue;
                            }
                            results[i] = Some(keep(answer));
                        }
                        // Named in the request, not in the answer, or asked to go alone.
                        alone.extend(idx.iter().filter(|&&i| results[i].is_none()));
                    }
                    // Out of time: asking again one by one cannot do better.
                    Err(e) if e.is_timeout() => {
                        // What one group's request would have said.
                        let said = match &e {
                            AdminError::Kafka { message, .. } => message.clone(),
                            e => e.to_string(),
                        };
                        for &i in idx {
                            results[i] = Some(keep(GroupOffsets::failed(&groups[i].0, &said)));
                        }
                    }
                    Err(e) => {
                        tracing::debug!(
                            target: "pipetop::kafka::admin",
                            "{}: a batch of {} groups failed, asking them one by one: {e}",
                            op.name,
                            idx.len()
                        );
                        alone.extend(idx.iter().copied());
                    }
                }
            },
        )?;
        let mut sent = sendable.len();

        let left = timeout.saturating_sub(started.elapsed());
        let alone: Vec<usize> = alone
            .into_iter()
            .filter(|&i| results[i].is_none())
            .collect();
        if !alone.is_empty() {
            let ids: Vec<String> = alone.iter().map(|&i| groups[i].0.clone()).collect();
            // A name with a NUL is refused before it is sent.
            sent += ids.iter().filter(|id| !id.contains('\0')).count();
            for (i, answer) in
                alone
                    .iter()
                    .zip(self.list_group_offsets(&ids, in_flight.alone, left)?)
            {
                results[*i] = Some(keep(answer));
            }
        }
        let results = results
            .into_iter()
            .zip(groups)
            .map(|(r, (id, _))| {
                r.unwrap_or_else(|| keep(GroupOffsets::failed(id, "no result within the timeout")))
            })
            .collect();
        Ok((results, sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_go_in_batches_by_coordinator_and_the_unknown_alone() {
        let mut coordinators = vec![Some(2), None, Some(1), Some(2)];
        coordinators.extend(std::iter::repeat_n(Some(3), GROUPS_PER_OFFSET_FETCH + 1));
        let (batches, alone) = batches(&coordinators);
        assert_eq!(alone, vec![1]);
        let shape: Vec<(i32, usize)> = batches.iter().map(|(b, g)| (*b, g.len())).collect();
        assert_eq!(
            shape,
            vec![(1, 1), (2, 2), (3, GROUPS_PER_OFFSET_FETCH), (3, 1)]
        );
        assert_eq!(batches[1].1, vec![0, 3]);
        assert_eq!(batches[2].1[0], 4);
    }

    #[test]
    fn only_a_moved_or_unready_coordinator_sends_a_group_alone() {
        assert!(ask_alone(RDKafkaErrorCode::NotCoordinator));
        assert!(ask_alone(RDKafkaErrorCode::CoordinatorNotAvailable));
        assert!(!ask_alone(RDKafkaErrorCode::GroupAuthorizationFailed));
        assert!(!ask_alone(RDKafkaErrorCode::CoordinatorLoadInProgress));
    }
}
