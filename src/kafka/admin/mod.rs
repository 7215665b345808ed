//! Blocking Kafka admin queries that rdkafka's safe `AdminClient` does not offer
//! (ListOffsets, DescribeConsumerGroups, ListConsumerGroupOffsets, ...), built
//! directly on librdkafka's admin API through `rdkafka-sys`.
//!
//! This is the only module of pipetop that contains `unsafe` code. Everything
//! librdkafka allocates on our behalf is owned by a small RAII guard
//! (`Queue`, `Event`, `Options`, `PartitionList`, `OffsetsRequest` in `guards`),
//! so it is released on every path, including early returns and panics.
//! Data borrowed from a result event is copied into owned Rust values before
//! the event guard is dropped; the helper signatures tie such borrows to the
//! event's lifetime so the compiler enforces that order. Likewise queues,
//! events and options borrow the [`Admin`] whose handle made them, as
//! librdkafka requires them destroyed before the handle.
//!
//! Every call blocks the calling thread (run them in `spawn_blocking`). A call
//! never waits much longer than its `timeout`: the same value is handed to
//! librdkafka as the request timeout, and a private poll deadline slightly
//! past it backs that up.
//!
//! Layout:
//! - this file: the queries of [`Admin`], i.e. what each one sends;
//! - `client`: [`Admin`] itself, the owned client handle: construction and
//!   the raw librdkafka handle;
//! - `error`: [`AdminError`], and redaction of client-creation errors;
//! - `op`: the operations (`Op`);
//! - `group_offsets_batched`: the commits of many groups in a few OffsetFetch requests;
//! - `driver`: the loop that submits requests and awaits their result events;
//! - `guards`: the RAII guards above;
//! - `readers`: copying result events into the plain values of
//!   [`crate::kafka::types`];
//! - `cstr`: copying librdkafka's C strings into owned `String`s;
//! - `validate`: per-entry checks of input librdkafka would reject for a
//!   whole request.

mod client;
mod cstr;
mod driver;
mod error;
mod group_offsets_batched;
mod guards;
mod op;
mod readers;
mod take_turns;
mod validate;

pub use client::Admin;
pub use error::AdminError;
pub use group_offsets_batched::OffsetFetchesInFlight;
pub use take_turns::take_turns;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::ffi::{CString, c_char};
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;

use self::guards::{OffsetsRequest, PartitionList};
use self::op::Op;
use self::readers::{
    GroupListings, read_cluster, read_group_descriptions, read_group_listings, read_group_offsets,
    read_list_offsets,
};
use self::validate::{NUL_IN_GROUP, check_partition, dedup};
use super::types::{
    ClusterDescription, GroupDescription, GroupListing, GroupOffsets, GroupOffsetsRequest,
    GroupState, OffsetSpec, OffsetsBatch, PartitionOffset, TopicPartition,
};

/// The groups a ListConsumerGroups call found, and in how many rounds.
#[derive(Debug)]
pub struct GroupList {
    pub groups: Vec<GroupListing>,
    /// Requests sent to every broker: more than 1 when a broker was loading.
    pub rounds: u32,
}

/// The pause before asking again a broker that is loading its groups
/// (Kafka's `retry.backoff.ms` default), doubled each round up to the maximum.
const LIST_GROUPS_FIRST_PAUSE: Duration = Duration::from_millis(100);
const LIST_GROUPS_MAX_PAUSE: Duration = Duration::from_secs(1);
/// Time a further round needs at least to be worth sending.
const LIST_GROUPS_MIN_ROUND: Duration = Duration::from_millis(200);

/// A broker answers this while it loads the group metadata it coordinates:
/// asking again shortly succeeds.
fn is_loading(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::CoordinatorLoadInProgress | RDKafkaErrorCode::CoordinatorNotAvailable
    )
}

impl Admin {
    /// All consumer groups known to the cluster, sorted by group id, and how
    /// many ListConsumerGroups rounds it took.
    ///
    /// A broker that is still loading its group metadata (just started, or
    /// just became a coordinator) answers "coordinator load in progress":
    /// like Kafka's own admin client, the listing is asked again, with a
    /// growing pause, while `timeout` allows. If some brokers still fail the
    /// listing is partial: the failures are logged, and the call only fails
    /// when no broker answered at all.
    pub fn list_groups(&self, timeout: Duration) -> Result<GroupList, AdminError> {
        let deadline = Instant::now() + timeout;
        let mut pause = LIST_GROUPS_FIRST_PAUSE;
        let mut rounds = 0u32;
        loop {
            rounds += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let listed = self.list_groups_once(left);
            let retriable = match &listed {
                Ok(l) => l.errors.iter().any(|(code, _)| is_loading(*code)),
                Err(AdminError::Kafka { code, .. }) => is_loading(*code),
                Err(_) => false,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if retriable && left > pause + LIST_GROUPS_MIN_ROUND {
                tracing::debug!(
                    target: "pipetop::kafka::admin",
                    "{}: a broker is loading its groups, asking again in {pause:?}",
                    Op::LIST_GROUPS.name
                );
                std::thread::sleep(pause);
                pause = (pause * 2).min(LIST_GROUPS_MAX_PAUSE);
                continue;
            }
            let groups = Self::settle_listing(listed?)?;
            return Ok(GroupList { groups, rounds });
        }
    }

    fn list_groups_once(&self, timeout: Duration) -> Result<GroupListings, AdminError> {
        let rk = self.rk();
        let event = self.run_one(Op::LIST_GROUPS, timeout, |options, queue| {
            // SAFETY: `rk` is the handle of `self.client`, valid for this `&self`
            // call; `options` and `queue` are live guards borrowed for the call.
            // librdkafka copies the options into the request and takes its own
            // reference on the queue, so it keeps neither pointer.
            unsafe { rd::rd_kafka_ListConsumerGroups(rk, options.ptr(), queue.ptr()) };
            Ok(())
        })?;
        read_group_listings(&event)
    }

    /// The listing of the last round: an error when no broker answered,
    /// else the groups (partial when some failed), sorted and deduplicated.
    fn settle_listing(listed: GroupListings) -> Result<Vec<GroupListing>, AdminError> {
        let GroupListings { mut groups, errors } = listed;
        if let Some((code, _)) = errors.first() {
            let message = errors
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if groups.is_empty() {
                return Err(AdminError::Kafka {
                    op: Op::LIST_GROUPS.name,
                    code: *code,
                    message,
                });
            }
            tracing::warn!(
                target: "pipetop::kafka::admin",
                "{}: partial group listing, some brokers failed: {}",
                Op::LIST_GROUPS.name,
                crate::display_text::shown(&message)
            );
        }

        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        // While a coordinator moves, its old and new brokers can both list the group.
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(groups)
    }

    /// Describe groups in one request (librdkafka fans out per coordinator).
    ///
    /// Returns one entry per distinct requested id, in request order. A group
    /// that does not exist is reported by the broker as `Dead` (or with an
    /// error); an id librdkafka cannot take (interior NUL) gets an error entry.
    pub fn describe_groups(
        &self,
        group_ids: &[String],
        timeout: Duration,
    ) -> Result<Vec<GroupDescription>, AdminError> {
        let op = Op::DESCRIBE_GROUPS;
        let ids = dedup(group_ids.iter().cloned());
        let mut found: HashMap<String, GroupDescription> = HashMap::new();
        let mut c_ids = Vec::with_capacity(ids.len());
        for id in &ids {
            match CString::new(id.as_str()) {
                Ok(c) => c_ids.push(c),
                Err(_) => {
                    found.insert(id.clone(), GroupDescription::failed(id, NUL_IN_GROUP));
                }
            }
        }

        if !c_ids.is_empty() {
            let rk = self.rk();
            let mut ptrs: Vec<*const c_char> = c_ids.iter().map(|c| c.as_ptr()).collect();
            let event = self.run_one(op, timeout, |options, queue| {
                // SAFETY: `rk` is the handle of `self.client`, valid for this call;
                // `ptrs` holds `ptrs.len()` pointers to the NUL-terminated
                // strings of `c_ids`, which outlives the call, and librdkafka
                // only reads them (it strdup's each name); options and queue
                // are live guards that librdkafka copies / references itself.
                unsafe {
                    rd::rd_kafka_DescribeConsumerGroups(
                        rk,
                        ptrs.as_mut_ptr(),
                        ptrs.len(),
                        options.ptr(),
                        queue.ptr(),
                    )
                };
                Ok(())
            })?;
            for desc in read_group_descriptions(&event)? {
                found.insert(desc.group_id.clone(), desc);
            }
        }

        Ok(ids
            .iter()
            .map(|id| {
                found
                    .remove(id)
                    .unwrap_or_else(|| GroupDescription::failed(id, "no result returned for group"))
            })
            .collect())
    }

    /// Committed offsets of ALL partitions each group has committed
    /// (partitions without a commit are absent; use
    /// [`Admin::list_group_offsets_for`] to ask about specific partitions).
    ///
    /// One request per group, routed by librdkafka's coordinator lookup, at
    /// most `max_in_flight` outstanding at a time, all on one result queue
    /// ([`Admin::list_group_offsets_batched`] asks many groups in one request). Returns one entry per requested group,
    /// in request order; per-group failures (including running out of
    /// `timeout`, which bounds the whole call) are in the entry's `error`.
    pub fn list_group_offsets(
        &self,
        group_ids: &[String],
        max_in_flight: usize,
        timeout: Duration,
    ) -> Result<Vec<GroupOffsets>, AdminError> {
        let requests: Vec<GroupOffsetsRequest> = group_ids
            .iter()
            .map(|g| GroupOffsetsRequest {
                group_id: g.clone(),
                partitions: None,
            })
            .collect();
        self.list_group_offsets_for(&requests, max_in_flight, timeout)
    }

    /// Like [`Admin::list_group_offsets`], but each request may name the
    /// partitions to report; named partitions without a commit come back with
    /// `offset: None`.
    pub fn list_group_offsets_for(
        &self,
        requests: &[GroupOffsetsRequest],
        max_in_flight: usize,
        timeout: Duration,
    ) -> Result<Vec<GroupOffsets>, AdminError> {
        let op = Op::LIST_GROUP_OFFSETS;
        let mut results: Vec<Option<GroupOffsets>> = vec![None; requests.len()];
        // (index into `requests`, group id, explicit partitions)
        let mut pending: Vec<(usize, CString, Option<PartitionList>)> = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            let Ok(group) = CString::new(req.group_id.as_str()) else {
                results[i] = Some(GroupOffsets::failed(&req.group_id, NUL_IN_GROUP));
                continue;
            };
            let partitions = match &req.partitions {
                None => None,
                // librdkafka rejects an empty list; the answer is known anyway.
                Some(tps) if tps.is_empty() => {
                    results[i] = Some(GroupOffsets {
                        group_id: req.group_id.clone(),
                        error: None,
                        offsets: Vec::new(),
                    });
                    continue;
                }
                Some(tps) => {
                    let tps = dedup(tps.iter().cloned());
                    match PartitionList::from_partitions(op, &tps)? {
                        Ok(list) => Some(list),
                        Err(reason) => {
                            results[i] = Some(GroupOffsets::failed(&req.group_id, reason));
                            continue;
                        }
                    }
                }
            };
            pending.push((i, group, partitions));
        }

        let rk = self.rk();
        self.run(
            op,
            pending.len(),
            max_in_flight,
            timeout,
            |n, options, queue| {
                let (_, group, partitions) = &pending[n];
                let request = OffsetsRequest::new(op, group, partitions.as_ref())?;
                let mut raw = request.ptr();
                // SAFETY: `rk` is the handle of `self.client`, valid for this call;
                // `&mut raw` is an array of exactly one pointer (librdkafka
                // fails any other count) to the request owned by `request`,
                // alive until the closure returns; librdkafka copies the request
                // and the options, and references the queue, before returning.
                unsafe {
                    rd::rd_kafka_ListConsumerGroupOffsets(
                        rk,
                        &mut raw,
                        1,
                        options.ptr(),
                        queue.ptr(),
                    )
                };
                Ok(())
            },
            |n, event| {
                let i = pending[n].0;
                results[i] = Some(read_group_offsets(&requests[i].group_id, &event));
            },
        )?;

        Ok(results
            .into_iter()
            .zip(requests)
            .map(|(r, req)| {
                r.unwrap_or_else(|| {
                    GroupOffsets::failed(&req.group_id, "no result within the timeout")
                })
            })
            .collect())
    }

    /// Log-end (Latest) or log-start (Earliest) offsets for many partitions in
    /// ONE rd_kafka_ListOffsets call (librdkafka sends one ListOffsets request
    /// per leader broker), isolation level read_uncommitted (high watermark,
    /// like kafka-consumer-groups). Per-partition errors are returned per
    /// partition.
    ///
    /// Returns one entry per distinct requested partition, in request order.
    /// Partitions librdkafka cannot take (empty or NUL-containing topic,
    /// negative partition) get an error entry without being sent. When no
    /// requested partition has a leader at all, librdkafka fails the whole
    /// request, which is returned as `Err`.
    ///
    /// librdkafka 2.12's cost per call grows with the SQUARE of the partition
    /// count (its result merge looks every answer up by a linear scan of the
    /// whole request): 20,000 partitions take seconds of its main thread. For
    /// many partitions use [`Admin::list_offsets_batches`] with bounded batches.
    pub fn list_offsets(
        &self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
        timeout: Duration,
    ) -> Result<Vec<PartitionOffset>, AdminError> {
        let batch = OffsetsBatch::uniform(spec, partitions);
        self.list_offsets_batches(std::slice::from_ref(&batch), 1, timeout)
            .pop()
            .unwrap_or_else(|| Err(Op::LIST_OFFSETS.internal("no result for the only batch")))
    }

    /// Several [`Admin::list_offsets`] calls, at most `max_in_flight` of them
    /// outstanding at a time on one result queue, all bounded together by
    /// `timeout`. Returns one result per batch, in batch order; a batch that
    /// failed as a whole (or got no answer in time) is `Err` without
    /// affecting the others.
    ///
    /// Each batch becomes one rd_kafka_ListOffsets call, i.e. one ListOffsets
    /// request per leader broker of its partitions: batches holding the
    /// partitions of one leader each cost exactly one request.
    pub fn list_offsets_batches(
        &self,
        batches: &[OffsetsBatch],
        max_in_flight: usize,
        timeout: Duration,
    ) -> Vec<Result<Vec<PartitionOffset>, AdminError>> {
        let op = Op::LIST_OFFSETS;
        struct Prepared {
            tps: Vec<TopicPartition>,
            /// The partitions refused before sending, then the answers as they came.
            answers: Vec<PartitionOffset>,
            /// Filled in by the answer; None until then (or if it never comes).
            answer: Option<Result<(), AdminError>>,
        }
        let mut prepared: Vec<Prepared> = Vec::with_capacity(batches.len());
        // (index into `prepared`, the partitions to send, each checked). Each batch's librdkafka
        // list is built when it is sent and freed right after (librdkafka copies it), so only
        // the batches in flight hold lists: at 20,000 partitions, building every list up front
        // held 2.5 MB beside librdkafka's own copies.
        let mut pending: Vec<(usize, Vec<(TopicPartition, i64)>)> = Vec::new();
        for batch in batches {
            let mut seen = HashSet::new();
            let asked: Vec<&(TopicPartition, OffsetSpec)> = batch
                .partitions
                .iter()
                .filter(|(tp, _)| seen.insert(tp))
                .collect();
            let tps: Vec<TopicPartition> = asked.iter().map(|(tp, _)| tp.clone()).collect();
            let mut answers = Vec::new();
            let mut valid = Vec::with_capacity(tps.len());
            for (tp, spec) in &asked {
                match check_partition(tp) {
                    Ok(()) => valid.push((tp.clone(), spec.raw())),
                    Err(reason) => answers.push(PartitionOffset::failed(tp, reason)),
                }
            }
            let answer = if valid.is_empty() {
                Some(Ok(()))
            } else {
                pending.push((prepared.len(), valid));
                None
            };
            prepared.push(Prepared {
                tps,
                answers,
                answer,
            });
        }

        let rk = self.rk();
        let ran = self.run(
            op,
            pending.len(),
            max_in_flight,
            timeout,
            |n, options, queue| {
                // Every partition passed `check_partition`, which is all the list refuses.
                let list = PartitionList::with_offsets(op, &pending[n].1)?
                    .map_err(|reason| op.internal(reason))?;
                // SAFETY: `rk` is the handle of `self.client`, valid for this call;
                // `list` is owned here, alive across the call, and holds only
                // non-empty topics and non-negative partitions
                // (`PartitionList::with_offsets` checks them), which is what
                // rd_kafka_ListOffsets reads; it copies the list and options
                // and references the queue, keeping none of our pointers.
                unsafe { rd::rd_kafka_ListOffsets(rk, list.ptr(), options.ptr(), queue.ptr()) };
                Ok(())
            },
            |n, event| {
                let p = &mut prepared[pending[n].0];
                p.answer = Some(read_list_offsets(&event, &mut p.answers));
            },
        );
        if let Err(e) = ran {
            // Failed before anything was sent (e.g. no queue): every batch
            // still waiting shares the cause.
            let message = e.to_string();
            for p in prepared.iter_mut().filter(|p| p.answer.is_none()) {
                p.answer = Some(Err(op.internal(message.clone())));
            }
        }

        prepared
            .into_iter()
            .map(|p| {
                match p.answer {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Err(e),
                    None => {
                        return Err(AdminError::Timeout {
                            op: op.name,
                            timeout,
                        });
                    }
                }
                Ok(in_request_order(&p.tps, p.answers))
            })
            .collect()
    }

    /// Brokers of the cluster, sorted by node id.
    pub fn describe_cluster(&self, timeout: Duration) -> Result<ClusterDescription, AdminError> {
        let op = Op::DESCRIBE_CLUSTER;
        let rk = self.rk();
        let event = self.run_one(op, timeout, |options, queue| {
            // SAFETY: `rk` is the handle of `self.client`, valid for this `&self`
            // call; `options` and `queue` are live guards borrowed for the call,
            // which librdkafka copies / references itself.
            unsafe { rd::rd_kafka_DescribeCluster(rk, options.ptr(), queue.ptr()) };
            Ok(())
        })?;
        read_cluster(&event)
    }
}

impl GroupDescription {
    fn failed(group_id: &str, error: &str) -> Self {
        GroupDescription {
            group_id: group_id.to_owned(),
            error: Some(error.to_owned()),
            state: GroupState::Unknown,
            is_simple: false,
            partition_assignor: String::new(),
            coordinator: None,
            members: Vec::new(),
        }
    }
}

impl GroupOffsets {
    fn failed(group_id: &str, error: impl Into<String>) -> Self {
        GroupOffsets {
            group_id: group_id.to_owned(),
            error: Some(error.into()),
            offsets: Vec::new(),
        }
    }
}

/// One answer per partition of `tps`, in its order ("no result" where none came). librdkafka
/// answers a ListOffsets call in the request's order, so the answers are checked to be that
/// order and then taken as they are; a map matches them only when they are not (a partition
/// refused before sending, a missing or repeated answer).
fn in_request_order(tps: &[TopicPartition], answers: Vec<PartitionOffset>) -> Vec<PartitionOffset> {
    if answers.len() == tps.len() && answers.iter().zip(tps).all(|(a, tp)| a.tp == *tp) {
        return answers;
    }
    let mut found: HashMap<TopicPartition, PartitionOffset> =
        answers.into_iter().map(|a| (a.tp.clone(), a)).collect();
    tps.iter()
        .map(|tp| {
            found
                .remove(tp)
                .unwrap_or_else(|| PartitionOffset::failed(tp, "no result returned for partition"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;
    use std::time::Instant;

    use super::driver::POLL_GRACE;
    use super::validate::NUL_IN_TOPIC;

    #[test]
    fn answers_are_matched_to_the_request_in_its_order() {
        let tps: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new("t", p)).collect();
        let answer = |p: i32| PartitionOffset {
            tp: TopicPartition::new("t", p),
            offset: Some(i64::from(p) * 10),
            timestamp: None,
            error: None,
        };
        let offsets = |v: &[PartitionOffset]| -> Vec<(i32, Option<i64>)> {
            v.iter().map(|a| (a.tp.partition, a.offset)).collect()
        };
        let want = [(0, Some(0)), (1, Some(10)), (2, Some(20)), (3, Some(30))];
        let in_order = in_request_order(&tps, (0..4).map(answer).collect());
        assert_eq!(offsets(&in_order), want);
        let shuffled = in_request_order(&tps, [2, 0, 3, 1].map(answer).to_vec());
        assert_eq!(offsets(&shuffled), want);
        let missing = in_request_order(&tps, [0, 1, 3].map(answer).to_vec());
        assert_eq!(offsets(&missing)[2], (2, None));
        assert!(
            missing[2]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("no result"))
        );
        let repeated = in_request_order(&tps, [0, 1, 1, 2, 3].map(answer).to_vec());
        assert_eq!(offsets(&repeated), want);
    }

    fn offline_admin() -> Admin {
        let mut config = ClientConfig::new();
        // Nothing listens on port 1: calls that reach the network fail fast.
        config.set("bootstrap.servers", "127.0.0.1:1");
        Admin::new(&config).expect("client creation is local and must succeed")
    }

    #[test]
    fn empty_inputs_make_no_request() {
        let admin = offline_admin();
        let t = Duration::from_millis(1);
        assert!(admin.describe_groups(&[], t).unwrap().is_empty());
        assert!(admin.list_group_offsets(&[], 256, t).unwrap().is_empty());
        assert!(
            admin
                .list_offsets(&[], OffsetSpec::Latest, t)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn unusable_names_become_entry_errors_without_request() {
        let admin = offline_admin();
        let t = Duration::from_millis(1);

        let groups = admin
            .describe_groups(&["bad\0group".to_owned()], t)
            .unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].error.as_deref(), Some(NUL_IN_GROUP));

        let offsets = admin
            .list_group_offsets(&["bad\0group".to_owned()], 4, t)
            .unwrap();
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0].error.as_deref(), Some(NUL_IN_GROUP));

        let requests = [GroupOffsetsRequest {
            group_id: "g".to_owned(),
            partitions: Some(vec![TopicPartition::new("bad\0topic", 0)]),
        }];
        let offsets = admin.list_group_offsets_for(&requests, 4, t).unwrap();
        assert_eq!(offsets[0].error.as_deref(), Some(NUL_IN_TOPIC));

        let tps = [
            TopicPartition::new("bad\0topic", 0),
            TopicPartition::new("", 0),
            TopicPartition::new("t", -3),
        ];
        let parts = admin.list_offsets(&tps, OffsetSpec::Earliest, t).unwrap();
        assert_eq!(parts.len(), 3);
        assert!(
            parts
                .iter()
                .all(|p| p.error.is_some() && p.offset.is_none())
        );
    }

    #[test]
    fn unreachable_cluster_fails_within_timeout() {
        let admin = offline_admin();
        let timeout = Duration::from_millis(500);
        let start = Instant::now();
        let err = admin
            .list_groups(timeout)
            .expect_err("nothing listens on port 1");
        assert!(err.is_timeout(), "{err:?}");
        assert!(start.elapsed() < timeout + POLL_GRACE + Duration::from_secs(1));

        let offsets = admin
            .list_group_offsets(
                &["a".to_owned(), "b".to_owned(), "c".to_owned()],
                2,
                timeout,
            )
            .unwrap();
        assert_eq!(offsets.len(), 3);
        assert!(offsets.iter().all(|g| g.error.is_some()), "{offsets:?}");
        assert!(start.elapsed() < 2 * (timeout + POLL_GRACE) + Duration::from_secs(1));
    }
}
