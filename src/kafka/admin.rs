//! Blocking Kafka admin queries that rdkafka's safe `AdminClient` does not offer
//! (ListOffsets, DescribeConsumerGroups, ListConsumerGroupOffsets, ...), built
//! directly on librdkafka's admin API through `rdkafka-sys`.
//!
//! This is the only module of pipetop that contains `unsafe` code. Everything
//! librdkafka allocates on our behalf is owned by a small RAII guard
//! ([`Queue`], [`Event`], [`Options`], [`PartitionList`], [`OffsetsRequest`]),
//! so it is released on every path, including early returns and panics.
//! Data borrowed from a result event is copied into owned Rust values before
//! the event guard is dropped; the helper signatures tie such borrows to the
//! event's lifetime so the compiler enforces that order.
//!
//! Every call blocks the calling thread (run them in `spawn_blocking`). A call
//! never waits much longer than its `timeout`: the same value is handed to
//! librdkafka as the request timeout, and a private poll deadline slightly
//! past it backs that up.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::hash::Hash;
use std::ptr::{self, NonNull};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;
use rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;

use super::types::{
    ClusterDescription, CommittedOffset, GroupDescription, GroupListing, GroupMember, GroupOffsets,
    GroupOffsetsRequest, GroupState, GroupType, Node, OffsetSpec, OffsetsBatch, PartitionOffset,
    TopicPartition,
};

/// librdkafka rejects admin request timeouts above one hour.
const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;

/// librdkafka reports its own timeout as a result event once the request
/// timeout expires; the extra wait lets that (more specific) event arrive
/// before we give up on the queue ourselves.
const POLL_GRACE: Duration = Duration::from_secs(2);

/// Upper bound on events drained from the main queue per call, so a flood of
/// log lines can never stall an admin call.
const MAX_MAIN_QUEUE_DRAIN: usize = 10_000;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Errors of a whole admin call. Per-group / per-partition failures are not
/// errors of the call; they are reported in the `error` field of the entry.
///
/// No variant ever carries a configuration value: librdkafka's configuration
/// errors quote the offending value, so those messages are redacted.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A configuration property was rejected (unknown name or invalid value).
    #[error("invalid Kafka client property `{key}`: {reason}")]
    Config { key: String, reason: String },
    /// librdkafka could not create the client.
    #[error("cannot create Kafka client: {0}")]
    Create(String),
    /// The request as a whole failed (e.g. broker unreachable, timed out).
    #[error("{op} failed: {message}")]
    Kafka {
        op: &'static str,
        code: RDKafkaErrorCode,
        message: String,
    },
    /// No result arrived even after librdkafka's own timeout should have fired.
    #[error("{op} got no result within {timeout:?}")]
    Timeout { op: &'static str, timeout: Duration },
    /// librdkafka returned something its documentation rules out
    /// (NULL where a value is promised, failed allocation).
    #[error("{op}: unexpected librdkafka behaviour: {detail}")]
    Internal { op: &'static str, detail: String },
}

impl AdminError {
    /// True when the call failed because the cluster did not answer in time.
    pub fn is_timeout(&self) -> bool {
        match self {
            AdminError::Timeout { .. } => true,
            AdminError::Kafka { code, .. } => *code == RDKafkaErrorCode::OperationTimedOut,
            _ => false,
        }
    }
}

impl OffsetSpec {
    fn raw(self) -> i64 {
        match self {
            OffsetSpec::Earliest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64,
            OffsetSpec::Latest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
            // Negative values are the special specs above, never a time.
            OffsetSpec::AtTime(ms) => ms.max(0),
        }
    }
}

impl From<rd::rd_kafka_consumer_group_type_t> for GroupType {
    fn from(t: rd::rd_kafka_consumer_group_type_t) -> Self {
        use rd::rd_kafka_consumer_group_type_t::*;
        match t {
            RD_KAFKA_CONSUMER_GROUP_TYPE_CLASSIC => GroupType::Classic,
            RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER => GroupType::Consumer,
            RD_KAFKA_CONSUMER_GROUP_TYPE_UNKNOWN | RD_KAFKA_CONSUMER_GROUP_TYPE__CNT => {
                GroupType::Unknown
            }
        }
    }
}

impl From<rd::rd_kafka_consumer_group_state_t> for GroupState {
    fn from(state: rd::rd_kafka_consumer_group_state_t) -> Self {
        use rd::rd_kafka_consumer_group_state_t::*;
        match state {
            RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE => GroupState::PreparingRebalance,
            RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE => GroupState::CompletingRebalance,
            RD_KAFKA_CONSUMER_GROUP_STATE_STABLE => GroupState::Stable,
            RD_KAFKA_CONSUMER_GROUP_STATE_DEAD => GroupState::Dead,
            RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY => GroupState::Empty,
            RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN | RD_KAFKA_CONSUMER_GROUP_STATE__CNT => {
                GroupState::Unknown
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------

/// Read-only admin queries against one Kafka cluster.
///
/// `Admin` is `Send + Sync` without any `unsafe impl`: it holds only the
/// rdkafka `AdminClient`, whose librdkafka handle is documented as fully
/// thread-safe (rdkafka itself marks it `Send + Sync`). Each call creates its
/// own private result queue and options object, so concurrent calls from
/// several threads never share mutable librdkafka state.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Admin>();
};

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config is deliberately not printed: it may hold credentials.
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// Build from a ready `rdkafka::ClientConfig` (bootstrap.servers + any user
    /// librdkafka properties).
    ///
    /// Does not contact the cluster; connection problems surface on the first call.
    pub fn new(config: &ClientConfig) -> Result<Admin, AdminError> {
        let client = config
            .create::<AdminClient<DefaultClientContext>>()
            .map_err(|e| creation_error(e, config))?;
        Ok(Admin { client })
    }

    /// All consumer groups known to the cluster, sorted by group id.
    ///
    /// If some brokers fail to answer the listing is partial: the failures
    /// are logged, and the call only fails when no broker answered at all.
    pub fn list_groups(&self, timeout: Duration) -> Result<Vec<GroupListing>, AdminError> {
        let op = Op::LIST_GROUPS;
        let rk = self.rk();
        let event = self.run_one(op, timeout, |options, queue| {
            // SAFETY: rk, options and queue are live for the duration of the call.
            unsafe { rd::rd_kafka_ListConsumerGroups(rk, options.ptr(), queue.ptr()) };
            Ok(())
        })?;
        // SAFETY: event is live; a NULL return (wrong event type) is checked.
        let result = unsafe { rd::rd_kafka_event_ListConsumerGroups_result(event.ptr()) };
        if result.is_null() {
            return Err(op.internal("event has no ListConsumerGroups result"));
        }

        let mut cnt = 0usize;
        // SAFETY: result is non-NULL and owned by `event`, which outlives the slice.
        let listings = unsafe {
            event.ptr_slice(
                rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut cnt),
                cnt,
            )
        };
        let mut groups = Vec::with_capacity(listings.len());
        for &listing in listings {
            if listing.is_null() {
                continue;
            }
            // SAFETY: listing is a non-NULL element of the result array, owned by `event`.
            groups.push(unsafe {
                GroupListing {
                    group_id: string(rd::rd_kafka_ConsumerGroupListing_group_id(listing)),
                    state: rd::rd_kafka_ConsumerGroupListing_state(listing).into(),
                    is_simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listing)
                        != 0,
                    group_type: rd::rd_kafka_ConsumerGroupListing_type(listing).into(),
                }
            });
        }

        let mut ecnt = 0usize;
        // SAFETY: as above.
        let errors = unsafe {
            event.ptr_slice(
                rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut ecnt),
                ecnt,
            )
        };
        let errors: Vec<(RDKafkaErrorCode, String)> = errors
            .iter()
            // SAFETY: each element is NULL or an error owned by `event`.
            .filter_map(|&e| unsafe { error_details(e) })
            .collect();
        if let Some((code, _)) = errors.first() {
            let message = errors
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if groups.is_empty() {
                return Err(AdminError::Kafka {
                    op: op.name,
                    code: *code,
                    message,
                });
            }
            tracing::warn!(
                target: "pipetop::kafka::admin",
                "{}: partial group listing, some brokers failed: {message}",
                op.name
            );
        }

        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
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
                // SAFETY: `ptrs` points into `c_ids`, both alive across this
                // call; librdkafka copies the names before returning.
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
            // SAFETY: event is live; NULL checked.
            let result = unsafe { rd::rd_kafka_event_DescribeConsumerGroups_result(event.ptr()) };
            if result.is_null() {
                return Err(op.internal("event has no DescribeConsumerGroups result"));
            }
            let mut cnt = 0usize;
            // SAFETY: result non-NULL, owned by `event`.
            let descs = unsafe {
                event.ptr_slice(
                    rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut cnt),
                    cnt,
                )
            };
            for &desc in descs {
                if desc.is_null() {
                    continue;
                }
                // SAFETY: desc is a non-NULL description owned by `event`.
                let desc = unsafe { read_group_description(&event, desc) };
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
    /// librdkafka accepts one group per ListConsumerGroupOffsets call, so one
    /// request per group is issued, at most `max_in_flight` outstanding at a
    /// time, all on one result queue. Returns one entry per requested group,
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
                let list = partitions
                    .as_ref()
                    .map_or(ptr::null(), |l| l.ptr().cast_const());
                let request = OffsetsRequest::new(op, group, list)?;
                let mut raw = request.ptr();
                // SAFETY: exactly one valid request object, as librdkafka
                // demands; it copies the request, so `request` may be freed
                // when this closure returns.
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
            found: HashMap<TopicPartition, PartitionOffset>,
            /// Filled in by the answer; None until then (or if it never comes).
            answer: Option<Result<(), AdminError>>,
        }
        let mut prepared: Vec<Prepared> = Vec::with_capacity(batches.len());
        // (index into `prepared`, the list to send)
        let mut pending: Vec<(usize, PartitionList)> = Vec::new();
        for batch in batches {
            let mut seen = HashSet::new();
            let asked: Vec<&(TopicPartition, OffsetSpec)> = batch
                .partitions
                .iter()
                .filter(|(tp, _)| seen.insert(tp))
                .collect();
            let tps: Vec<TopicPartition> = asked.iter().map(|(tp, _)| tp.clone()).collect();
            let mut found = HashMap::new();
            let mut valid = Vec::with_capacity(tps.len());
            for (tp, spec) in &asked {
                match check_partition(tp) {
                    Ok(()) => valid.push((tp.clone(), spec.raw())),
                    Err(reason) => {
                        found.insert(tp.clone(), PartitionOffset::failed(tp, reason));
                    }
                }
            }
            let mut answer = if valid.is_empty() { Some(Ok(())) } else { None };
            if !valid.is_empty() {
                match PartitionList::with_offsets(op, &valid) {
                    Ok(Ok(list)) => pending.push((prepared.len(), list)),
                    Ok(Err(reason)) => answer = Some(Err(op.internal(reason))),
                    Err(e) => answer = Some(Err(e)),
                }
            }
            prepared.push(Prepared { tps, found, answer });
        }

        let rk = self.rk();
        let ran = self.run(
            op,
            pending.len(),
            max_in_flight,
            timeout,
            |n, options, queue| {
                // SAFETY: all pointers live; librdkafka copies the list.
                unsafe {
                    rd::rd_kafka_ListOffsets(rk, pending[n].1.ptr(), options.ptr(), queue.ptr())
                };
                Ok(())
            },
            |n, event| {
                let p = &mut prepared[pending[n].0];
                p.answer = Some(read_list_offsets(&event, &mut p.found));
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
            .map(|mut p| {
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
                Ok(p.tps
                    .iter()
                    .map(|tp| {
                        p.found.remove(tp).unwrap_or_else(|| {
                            PartitionOffset::failed(tp, "no result returned for partition")
                        })
                    })
                    .collect())
            })
            .collect()
    }

    /// Brokers of the cluster, sorted by node id.
    pub fn describe_cluster(&self, timeout: Duration) -> Result<ClusterDescription, AdminError> {
        let op = Op::DESCRIBE_CLUSTER;
        let rk = self.rk();
        let event = self.run_one(op, timeout, |options, queue| {
            // SAFETY: all pointers live for the call.
            unsafe { rd::rd_kafka_DescribeCluster(rk, options.ptr(), queue.ptr()) };
            Ok(())
        })?;
        // SAFETY: event is live; NULL checked.
        let result = unsafe { rd::rd_kafka_event_DescribeCluster_result(event.ptr()) };
        if result.is_null() {
            return Err(op.internal("event has no DescribeCluster result"));
        }
        let mut cnt = 0usize;
        // SAFETY: result non-NULL and owned by `event`; node pointers are
        // NULL-checked by read_node.
        let mut nodes: Vec<Node> = unsafe {
            event
                .ptr_slice(
                    rd::rd_kafka_DescribeCluster_result_nodes(result, &mut cnt),
                    cnt,
                )
                .iter()
                .filter_map(|&n| read_node(n))
                .collect()
        };
        nodes.sort_by_key(|n| n.id);
        // SAFETY: as above.
        let (cluster_id, controller) = unsafe {
            (
                opt_string(rd::rd_kafka_DescribeCluster_result_cluster_id(result)),
                read_node(rd::rd_kafka_DescribeCluster_result_controller(result)),
            )
        };
        Ok(ClusterDescription {
            cluster_id,
            controller,
            nodes,
        })
    }

    /// The underlying rdkafka client, for what its safe API does offer
    /// (e.g. metadata) over the same connections.
    pub fn client(&self) -> &AdminClient<DefaultClientContext> {
        &self.client
    }

    fn rk(&self) -> *mut rd::rd_kafka_t {
        self.client.inner().native_ptr()
    }

    /// Single-request form of [`Admin::run`]: returns the result event, or the
    /// request-level error it carries.
    fn run_one(
        &self,
        op: Op,
        timeout: Duration,
        submit: impl FnOnce(&Options, &Queue) -> Result<(), AdminError>,
    ) -> Result<Event, AdminError> {
        let mut submit = Some(submit);
        let mut result = None;
        self.run(
            op,
            1,
            1,
            timeout,
            |_, options, queue| match submit.take() {
                Some(submit) => submit(options, queue),
                None => Err(op.internal("request submitted twice")),
            },
            |_, event| result = Some(event),
        )?;
        let event = result.ok_or(AdminError::Timeout {
            op: op.name,
            timeout,
        })?;
        match event.error() {
            Some((code, message)) => Err(AdminError::Kafka {
                op: op.name,
                code,
                message,
            }),
            None => Ok(event),
        }
    }

    /// Submits `count` requests (request `n` via `submit(n, ..)`) onto one
    /// fresh private queue, keeping at most `max_in_flight` outstanding, and
    /// hands each result event to `on_result(n, event)`.
    ///
    /// `timeout` bounds the whole batch: each request gets the time left as
    /// its librdkafka request timeout, and requests not yet submitted when it
    /// runs out are never sent. Requests without a result are simply never
    /// passed to `on_result`; the caller decides what that means.
    fn run(
        &self,
        op: Op,
        count: usize,
        max_in_flight: usize,
        timeout: Duration,
        mut submit: impl FnMut(usize, &Options, &Queue) -> Result<(), AdminError>,
        mut on_result: impl FnMut(usize, Event),
    ) -> Result<(), AdminError> {
        self.drain_main_queue();
        if count == 0 {
            return Ok(());
        }
        let rk = self.rk();
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let give_up = deadline.and_then(|d| d.checked_add(POLL_GRACE));

        let queue = Queue::new(op, rk)?;
        let options = Options::new(op, rk)?;
        if op.api == rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS {
            // High watermark rather than last stable offset: lag must count
            // messages of open transactions too, as kafka-consumer-groups does.
            options.set_isolation_level(
                op,
                rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
            )?;
        }

        let max_in_flight = max_in_flight.clamp(1, count);
        let mut done = vec![false; count];
        let mut next = 0usize;
        let mut in_flight = 0usize;
        loop {
            while in_flight < max_in_flight && next < count {
                let remaining = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()),
                    None => timeout,
                };
                if remaining.is_zero() && next > 0 {
                    break;
                }
                options.set_request_timeout(op, remaining)?;
                // The opaque carries the request index back on the result
                // event; AdminOptions are copied at submission, so reusing
                // one object for every request is fine.
                options.set_opaque(next);
                submit(next, &options, &queue)?;
                next += 1;
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let wait = match give_up {
                Some(g) => g.saturating_duration_since(Instant::now()),
                None => Duration::from_millis(MAX_REQUEST_TIMEOUT_MS as u64),
            };
            if wait.is_zero() {
                tracing::debug!(
                    target: "pipetop::kafka::admin",
                    "{}: {in_flight} request(s) without result after {:?}",
                    op.name,
                    start.elapsed()
                );
                break;
            }
            let Some(event) = queue.poll(wait) else {
                continue;
            };
            if event.kind() != op.event {
                tracing::debug!(
                    target: "pipetop::kafka::admin",
                    "{}: ignoring unexpected event type {}",
                    op.name,
                    event.kind()
                );
                continue;
            }
            let n = event.opaque();
            match done.get_mut(n) {
                Some(d) if !*d => *d = true,
                _ => {
                    tracing::debug!(
                        target: "pipetop::kafka::admin",
                        "{}: ignoring result for unknown request {n}",
                        op.name
                    );
                    continue;
                }
            }
            in_flight -= 1;
            on_result(n, event);
        }
        Ok(())
        // `queue` is destroyed here even if requests are still outstanding:
        // librdkafka disables a queue whose owner destroyed it and discards
        // late results instead of delivering them to freed memory.
    }

    /// rdkafka routes librdkafka's log lines and error events to the main
    /// queue, but an `AdminClient` never polls it, so in a long-running
    /// process they would pile up forever. Forward them to `tracing` instead.
    fn drain_main_queue(&self) {
        let Some(main) = Queue::main(self.rk()) else {
            return;
        };
        for _ in 0..MAX_MAIN_QUEUE_DRAIN {
            let Some(event) = main.poll(Duration::ZERO) else {
                break;
            };
            event.forward_to_tracing();
        }
    }
}

// ---------------------------------------------------------------------------
// Operation descriptors
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Op {
    name: &'static str,
    api: rd::rd_kafka_admin_op_t,
    event: rd::rd_kafka_event_type_t,
}

impl Op {
    const LIST_GROUPS: Op = Op {
        name: "ListConsumerGroups",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
        event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
    };
    const DESCRIBE_GROUPS: Op = Op {
        name: "DescribeConsumerGroups",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        event: rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
    };
    const LIST_GROUP_OFFSETS: Op = Op {
        name: "ListConsumerGroupOffsets",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
        event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
    };
    const LIST_OFFSETS: Op = Op {
        name: "ListOffsets",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
        event: rd::RD_KAFKA_EVENT_LISTOFFSETS_RESULT,
    };
    const DESCRIBE_CLUSTER: Op = Op {
        name: "DescribeCluster",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
        event: rd::RD_KAFKA_EVENT_DESCRIBECLUSTER_RESULT,
    };

    fn internal(self, detail: impl Into<String>) -> AdminError {
        AdminError::Internal {
            op: self.name,
            detail: detail.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// RAII guards over librdkafka objects
// ---------------------------------------------------------------------------

/// A queue reference we own (from `rd_kafka_queue_new` / `_get_main`).
struct Queue(NonNull<rd::rd_kafka_queue_t>);

impl Queue {
    fn new(op: Op, rk: *mut rd::rd_kafka_t) -> Result<Queue, AdminError> {
        // SAFETY: rk is the live handle owned by `Admin`.
        NonNull::new(unsafe { rd::rd_kafka_queue_new(rk) })
            .map(Queue)
            .ok_or_else(|| op.internal("rd_kafka_queue_new returned NULL"))
    }

    fn main(rk: *mut rd::rd_kafka_t) -> Option<Queue> {
        // SAFETY: rk is live; the returned reference is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_queue_get_main(rk) }).map(Queue)
    }

    fn ptr(&self) -> *mut rd::rd_kafka_queue_t {
        self.0.as_ptr()
    }

    fn poll(&self, timeout: Duration) -> Option<Event> {
        // SAFETY: the queue is live; a returned event is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_queue_poll(self.ptr(), poll_ms(timeout)) }).map(Event)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference, released exactly once.
        unsafe { rd::rd_kafka_queue_destroy(self.ptr()) }
    }
}

/// A polled event; results reachable from it live exactly as long as it does.
struct Event(NonNull<rd::rd_kafka_event_t>);

impl Event {
    fn ptr(&self) -> *mut rd::rd_kafka_event_t {
        self.0.as_ptr()
    }

    fn kind(&self) -> rd::rd_kafka_event_type_t {
        // SAFETY: event is live.
        unsafe { rd::rd_kafka_event_type(self.ptr()) }
    }

    fn opaque(&self) -> usize {
        // SAFETY: event is live. The opaque is the request index we stored.
        unsafe { rd::rd_kafka_event_opaque(self.ptr()) as usize }
    }

    /// Request-level error of an admin result event.
    fn error(&self) -> Option<(RDKafkaErrorCode, String)> {
        // SAFETY: event is live; the string is owned by it and copied here.
        unsafe {
            let code = rd::rd_kafka_event_error(self.ptr());
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                return None;
            }
            let message = opt_string(rd::rd_kafka_event_error_string(self.ptr()))
                .unwrap_or_else(|| err2str(code));
            Some((code.into(), message))
        }
    }

    /// Views a librdkafka `(array, count)` pair owned by this event.
    ///
    /// # Safety
    /// `arr` must be NULL or point to `cnt` pointers that stay valid as long
    /// as this event lives.
    unsafe fn ptr_slice<T>(&self, arr: *mut *const T, cnt: usize) -> &[*const T] {
        if arr.is_null() || cnt == 0 {
            &[]
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(arr, cnt) }
        }
    }

    /// Views a partition list owned by this event.
    ///
    /// # Safety
    /// `list` must be NULL or a list that stays valid as long as this event lives.
    unsafe fn partitions(
        &self,
        list: *const rd::rd_kafka_topic_partition_list_t,
    ) -> &[rd::rd_kafka_topic_partition_t] {
        // SAFETY: guaranteed by the caller.
        unsafe { partition_slice(list) }
    }

    fn forward_to_tracing(&self) {
        match self.kind() {
            rd::RD_KAFKA_EVENT_LOG => {
                let mut fac: *const c_char = ptr::null();
                let mut msg: *const c_char = ptr::null();
                let mut level: c_int = 0;
                // SAFETY: event is live and of LOG type; the strings it
                // yields are owned by it and copied before it is destroyed.
                let (fac, msg) = unsafe {
                    if rd::rd_kafka_event_log(self.ptr(), &mut fac, &mut msg, &mut level) != 0 {
                        return;
                    }
                    (string(fac), string(msg))
                };
                match level {
                    ..=3 => tracing::error!(target: "librdkafka", "{fac}: {msg}"),
                    4 => tracing::warn!(target: "librdkafka", "{fac}: {msg}"),
                    5 | 6 => tracing::info!(target: "librdkafka", "{fac}: {msg}"),
                    _ => tracing::debug!(target: "librdkafka", "{fac}: {msg}"),
                }
            }
            rd::RD_KAFKA_EVENT_ERROR => {
                if let Some((code, msg)) = self.error() {
                    tracing::warn!(target: "librdkafka", "{code:?}: {msg}");
                }
            }
            _ => {}
        }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event; destroying it also frees its results.
        unsafe { rd::rd_kafka_event_destroy(self.ptr()) }
    }
}

struct Options(NonNull<rd::rd_kafka_AdminOptions_t>);

impl Options {
    fn new(op: Op, rk: *mut rd::rd_kafka_t) -> Result<Options, AdminError> {
        // SAFETY: rk is live; the options object is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_AdminOptions_new(rk, op.api) })
            .map(Options)
            .ok_or_else(|| op.internal("rd_kafka_AdminOptions_new returned NULL"))
    }

    fn ptr(&self) -> *mut rd::rd_kafka_AdminOptions_t {
        self.0.as_ptr()
    }

    fn set_request_timeout(&self, op: Op, timeout: Duration) -> Result<(), AdminError> {
        let mut errstr = [0 as c_char; 256];
        // SAFETY: options live; errstr is writable for its full length.
        let err = unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                self.ptr(),
                request_timeout_ms(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            return Ok(());
        }
        // SAFETY: librdkafka NUL-terminates errstr on error; the buffer was
        // zeroed, so it is terminated even if it did not write.
        let detail = unsafe { string(errstr.as_ptr()) };
        Err(op.internal(format!("cannot set request timeout: {detail}")))
    }

    fn set_isolation_level(
        &self,
        op: Op,
        level: rd::rd_kafka_IsolationLevel_t,
    ) -> Result<(), AdminError> {
        // SAFETY: options live; a returned error object is ours to destroy.
        let err = unsafe { rd::rd_kafka_AdminOptions_set_isolation_level(self.ptr(), level) };
        if err.is_null() {
            return Ok(());
        }
        // SAFETY: err is non-NULL and owned by us: read, then destroy once.
        let detail = unsafe {
            let detail = string(rd::rd_kafka_error_string(err));
            rd::rd_kafka_error_destroy(err);
            detail
        };
        Err(op.internal(format!("cannot set isolation level: {detail}")))
    }

    fn set_opaque(&self, index: usize) {
        // SAFETY: options live; the opaque is an integer, never dereferenced.
        unsafe {
            rd::rd_kafka_AdminOptions_set_opaque(
                self.ptr(),
                ptr::without_provenance_mut::<c_void>(index),
            )
        }
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: we own the options object; requests keep their own copies.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.ptr()) }
    }
}

/// A topic partition list we allocated.
struct PartitionList(NonNull<rd::rd_kafka_topic_partition_list_t>);

impl PartitionList {
    /// Builds a list of `tps` with librdkafka's default offsets.
    /// The inner `Err` is a per-entry problem (bad topic name), the outer one
    /// an allocation failure.
    fn from_partitions(
        op: Op,
        tps: &[TopicPartition],
    ) -> Result<Result<PartitionList, &'static str>, AdminError> {
        PartitionList::build(op, tps.len(), tps.iter().map(|tp| (tp, None)))
    }

    /// Builds a list of partitions, each with its own offset (or offset spec).
    fn with_offsets(
        op: Op,
        items: &[(TopicPartition, i64)],
    ) -> Result<Result<PartitionList, &'static str>, AdminError> {
        PartitionList::build(
            op,
            items.len(),
            items.iter().map(|(tp, offset)| (tp, Some(*offset))),
        )
    }

    fn build<'a>(
        op: Op,
        len: usize,
        items: impl Iterator<Item = (&'a TopicPartition, Option<i64>)>,
    ) -> Result<Result<PartitionList, &'static str>, AdminError> {
        let size = c_int::try_from(len).unwrap_or(c_int::MAX);
        // SAFETY: plain allocation; the list is ours to destroy.
        let list = NonNull::new(unsafe { rd::rd_kafka_topic_partition_list_new(size) })
            .map(PartitionList)
            .ok_or_else(|| op.internal("rd_kafka_topic_partition_list_new returned NULL"))?;
        for (tp, offset) in items {
            if let Err(reason) = check_partition(tp) {
                return Ok(Err(reason));
            }
            let Ok(topic) = CString::new(tp.topic.as_str()) else {
                return Ok(Err(NUL_IN_TOPIC));
            };
            // SAFETY: list live; librdkafka copies the topic name.
            let elem = unsafe {
                rd::rd_kafka_topic_partition_list_add(list.ptr(), topic.as_ptr(), tp.partition)
            };
            // SAFETY: elem, if non-NULL, points into the list we own.
            match unsafe { elem.as_mut() } {
                Some(elem) => {
                    if let Some(offset) = offset {
                        elem.offset = offset;
                    }
                }
                None => return Err(op.internal("rd_kafka_topic_partition_list_add returned NULL")),
            }
        }
        Ok(Ok(list))
    }

    fn ptr(&self) -> *mut rd::rd_kafka_topic_partition_list_t {
        self.0.as_ptr()
    }
}

impl Drop for PartitionList {
    fn drop(&mut self) {
        // SAFETY: we own the list; librdkafka keeps its own copies.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.ptr()) }
    }
}

/// A ListConsumerGroupOffsets request object we allocated.
struct OffsetsRequest(NonNull<rd::rd_kafka_ListConsumerGroupOffsets_t>);

impl OffsetsRequest {
    fn new(
        op: Op,
        group: &CStr,
        partitions: *const rd::rd_kafka_topic_partition_list_t,
    ) -> Result<OffsetsRequest, AdminError> {
        // SAFETY: group is NUL-terminated; partitions is NULL or a live list
        // (librdkafka copies both).
        NonNull::new(unsafe {
            rd::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), partitions)
        })
        .map(OffsetsRequest)
        .ok_or_else(|| op.internal("rd_kafka_ListConsumerGroupOffsets_new returned NULL"))
    }

    fn ptr(&self) -> *mut rd::rd_kafka_ListConsumerGroupOffsets_t {
        self.0.as_ptr()
    }
}

impl Drop for OffsetsRequest {
    fn drop(&mut self) {
        // SAFETY: we own the request object.
        unsafe { rd::rd_kafka_ListConsumerGroupOffsets_destroy(self.ptr()) }
    }
}

// ---------------------------------------------------------------------------
// Result readers (copy librdkafka data into owned values)
// ---------------------------------------------------------------------------

const NUL_IN_GROUP: &str = "group id contains a NUL byte";
const NUL_IN_TOPIC: &str = "topic name contains a NUL byte";

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

/// # Safety
/// `desc` must be a non-NULL group description owned by `event`.
unsafe fn read_group_description(
    event: &Event,
    desc: *const rd::rd_kafka_ConsumerGroupDescription_t,
) -> GroupDescription {
    // SAFETY: guaranteed by the caller; every pointer derived from `desc` is
    // owned by `event` and NULL-checked before use.
    unsafe {
        let member_count = rd::rd_kafka_ConsumerGroupDescription_member_count(desc);
        let mut members = Vec::with_capacity(member_count);
        for i in 0..member_count {
            let m = rd::rd_kafka_ConsumerGroupDescription_member(desc, i);
            if m.is_null() {
                continue;
            }
            let assignment = rd::rd_kafka_MemberDescription_assignment(m);
            let list = if assignment.is_null() {
                ptr::null()
            } else {
                rd::rd_kafka_MemberAssignment_partitions(assignment)
            };
            let mut assignment: Vec<TopicPartition> =
                event.partitions(list).iter().map(|p| read_tp(p)).collect();
            assignment.sort();
            members.push(GroupMember {
                consumer_id: string(rd::rd_kafka_MemberDescription_consumer_id(m)),
                client_id: string(rd::rd_kafka_MemberDescription_client_id(m)),
                host: string(rd::rd_kafka_MemberDescription_host(m)),
                group_instance_id: opt_string(rd::rd_kafka_MemberDescription_group_instance_id(m)),
                assignment,
            });
        }
        GroupDescription {
            group_id: string(rd::rd_kafka_ConsumerGroupDescription_group_id(desc)),
            error: error_details(rd::rd_kafka_ConsumerGroupDescription_error(desc)).map(|(_, m)| m),
            state: rd::rd_kafka_ConsumerGroupDescription_state(desc).into(),
            is_simple: rd::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(desc) != 0,
            partition_assignor: string(rd::rd_kafka_ConsumerGroupDescription_partition_assignor(
                desc,
            )),
            coordinator: read_node(rd::rd_kafka_ConsumerGroupDescription_coordinator(desc)),
            members,
        }
    }
}

fn read_group_offsets(group_id: &str, event: &Event) -> GroupOffsets {
    if let Some((_, message)) = event.error() {
        return GroupOffsets::failed(group_id, message);
    }
    // SAFETY: event is live; every pointer below is owned by it and NULL-checked.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.ptr());
        if result.is_null() {
            return GroupOffsets::failed(group_id, "event has no ListConsumerGroupOffsets result");
        }
        let mut cnt = 0usize;
        let groups = event.ptr_slice(
            rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut cnt),
            cnt,
        );
        let Some(&group) = groups.iter().find(|g| !g.is_null()) else {
            return GroupOffsets::failed(group_id, "result contains no group");
        };
        let error = error_details(rd::rd_kafka_group_result_error(group)).map(|(_, m)| m);
        let mut offsets: Vec<CommittedOffset> = event
            .partitions(rd::rd_kafka_group_result_partitions(group))
            .iter()
            .map(|p| CommittedOffset {
                tp: read_tp(p),
                offset: known_offset(p.offset),
                metadata: read_metadata(p),
                error: partition_error(p.err),
            })
            .collect();
        offsets.sort_by(|a, b| a.tp.cmp(&b.tp));
        GroupOffsets {
            group_id: group_id.to_owned(),
            error,
            offsets,
        }
    }
}

/// Copies one ListOffsets result into `found`; a request-level error is the
/// whole batch's.
fn read_list_offsets(
    event: &Event,
    found: &mut HashMap<TopicPartition, PartitionOffset>,
) -> Result<(), AdminError> {
    let op = Op::LIST_OFFSETS;
    if let Some((code, message)) = event.error() {
        return Err(AdminError::Kafka {
            op: op.name,
            code,
            message,
        });
    }
    // SAFETY: event is live; NULL checked.
    let result = unsafe { rd::rd_kafka_event_ListOffsets_result(event.ptr()) };
    if result.is_null() {
        return Err(op.internal("event has no ListOffsets result"));
    }
    let mut cnt = 0usize;
    // SAFETY: result non-NULL, owned by `event`.
    let infos =
        unsafe { event.ptr_slice(rd::rd_kafka_ListOffsets_result_infos(result, &mut cnt), cnt) };
    for &info in infos {
        if info.is_null() {
            continue;
        }
        // SAFETY: info non-NULL, owned by `event`; its partition is
        // NULL-checked before being read.
        let (raw, timestamp) = unsafe {
            (
                rd::rd_kafka_ListOffsetsResultInfo_topic_partition(info).as_ref(),
                rd::rd_kafka_ListOffsetsResultInfo_timestamp(info),
            )
        };
        let Some(raw) = raw else { continue };
        // SAFETY: raw is an element owned by `event`.
        let tp = unsafe { read_tp(raw) };
        let error = partition_error(raw.err);
        found.insert(
            tp.clone(),
            PartitionOffset {
                tp,
                offset: if error.is_some() {
                    None
                } else {
                    known_offset(raw.offset)
                },
                timestamp: (timestamp >= 0).then_some(timestamp),
                error,
            },
        );
    }
    Ok(())
}

/// # Safety
/// `list` must be NULL or a valid partition list that outlives `'a`.
unsafe fn partition_slice<'a>(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> &'a [rd::rd_kafka_topic_partition_t] {
    // SAFETY: guaranteed by the caller; cnt and elems are checked.
    unsafe {
        match list.as_ref() {
            Some(l) if l.cnt > 0 && !l.elems.is_null() => {
                std::slice::from_raw_parts(l.elems, l.cnt as usize)
            }
            _ => &[],
        }
    }
}

/// # Safety
/// `p.topic` must be NULL or a valid C string.
unsafe fn read_tp(p: &rd::rd_kafka_topic_partition_t) -> TopicPartition {
    TopicPartition {
        // SAFETY: guaranteed by the caller.
        topic: unsafe { string(p.topic) },
        partition: p.partition,
    }
}

/// # Safety
/// `p.metadata` must be NULL or point to `p.metadata_size` readable bytes.
unsafe fn read_metadata(p: &rd::rd_kafka_topic_partition_t) -> Option<String> {
    if p.metadata.is_null() || p.metadata_size == 0 {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { std::slice::from_raw_parts(p.metadata.cast::<u8>(), p.metadata_size) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// # Safety
/// `node` must be NULL or a valid node.
unsafe fn read_node(node: *const rd::rd_kafka_Node_t) -> Option<Node> {
    if node.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller; strings are copied.
    unsafe {
        Some(Node {
            id: rd::rd_kafka_Node_id(node),
            host: string(rd::rd_kafka_Node_host(node)),
            port: rd::rd_kafka_Node_port(node),
            rack: opt_string(rd::rd_kafka_Node_rack(node)),
        })
    }
}

/// # Safety
/// `err` must be NULL or a valid error object.
unsafe fn error_details(err: *const rd::rd_kafka_error_t) -> Option<(RDKafkaErrorCode, String)> {
    if err.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    unsafe {
        let code = rd::rd_kafka_error_code(err);
        let message = opt_string(rd::rd_kafka_error_string(err)).unwrap_or_else(|| err2str(code));
        Some((code.into(), message))
    }
}

fn err2str(code: rd::rd_kafka_resp_err_t) -> String {
    // SAFETY: rd_kafka_err2str returns a static string for every code.
    unsafe { string(rd::rd_kafka_err2str(code)) }
}

fn partition_error(code: rd::rd_kafka_resp_err_t) -> Option<String> {
    (code != RD_KAFKA_RESP_ERR_NO_ERROR).then(|| err2str(code))
}

/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn string(p: *const c_char) -> String {
    // SAFETY: guaranteed by the caller.
    unsafe { opt_string(p) }.unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------

/// Kafka reports "no offset" as a negative sentinel (librdkafka: -1001,
/// RD_KAFKA_OFFSET_INVALID; the protocol: -1).
fn known_offset(offset: i64) -> Option<i64> {
    (offset >= 0).then_some(offset)
}

/// Input librdkafka would reject for the whole request; caught per entry.
fn check_partition(tp: &TopicPartition) -> Result<(), &'static str> {
    if tp.topic.is_empty() {
        Err("topic name is empty")
    } else if tp.topic.contains('\0') {
        Err(NUL_IN_TOPIC)
    } else if tp.partition < 0 {
        Err("partition is negative")
    } else {
        Ok(())
    }
}

/// librdkafka fails a whole request that names a group or partition twice.
fn dedup<T: Clone + Eq + Hash>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

fn request_timeout_ms(timeout: Duration) -> c_int {
    timeout.as_millis().min(MAX_REQUEST_TIMEOUT_MS) as c_int
}

/// Rounds up so a sub-millisecond remainder still blocks instead of spinning.
fn poll_ms(timeout: Duration) -> c_int {
    timeout
        .as_micros()
        .div_ceil(1000)
        .min(MAX_REQUEST_TIMEOUT_MS) as c_int
}

fn creation_error(err: KafkaError, config: &ClientConfig) -> AdminError {
    match err {
        // The fourth field is the rejected value: never surface it.
        KafkaError::ClientConfig(_, reason, key, _) => AdminError::Config {
            reason: redact(&reason, config),
            key,
        },
        KafkaError::ClientCreation(msg) => AdminError::Create(redact(&msg, config)),
        other => AdminError::Create(redact(&other.to_string(), config)),
    }
}

/// librdkafka quotes configuration values in some messages; blank out every
/// configured value (longest first, so a value containing another is
/// removed whole).
fn redact(message: &str, config: &ClientConfig) -> String {
    let mut values: Vec<&str> = config
        .config_map()
        .into_values()
        .filter(|v| !v.is_empty())
        .collect();
    values.sort_by_key(|v| Reverse(v.len()));
    let mut out = message.to_owned();
    for value in values {
        out = out.replace(value, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rd::rd_kafka_consumer_group_state_t::*;

    fn offline_admin() -> Admin {
        let mut config = ClientConfig::new();
        // Nothing listens on port 1: calls that reach the network fail fast.
        config.set("bootstrap.servers", "127.0.0.1:1");
        Admin::new(&config).expect("client creation is local and must succeed")
    }

    #[test]
    fn group_states_map_from_librdkafka() {
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN),
            GroupState::Unknown
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE),
            GroupState::PreparingRebalance
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE),
            GroupState::CompletingRebalance
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_STABLE),
            GroupState::Stable
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_DEAD),
            GroupState::Dead
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY),
            GroupState::Empty
        );
        assert_eq!(
            GroupState::from(RD_KAFKA_CONSUMER_GROUP_STATE__CNT),
            GroupState::Unknown
        );
        assert_eq!(
            GroupState::CompletingRebalance.to_string(),
            "CompletingRebalance"
        );
    }

    #[test]
    fn group_types_map_from_librdkafka() {
        use rd::rd_kafka_consumer_group_type_t::*;
        assert_eq!(
            GroupType::from(RD_KAFKA_CONSUMER_GROUP_TYPE_CLASSIC),
            GroupType::Classic
        );
        assert_eq!(
            GroupType::from(RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER),
            GroupType::Consumer
        );
        assert_eq!(
            GroupType::from(RD_KAFKA_CONSUMER_GROUP_TYPE_UNKNOWN),
            GroupType::Unknown
        );
        assert_eq!(
            GroupType::from(RD_KAFKA_CONSUMER_GROUP_TYPE__CNT),
            GroupType::Unknown
        );
    }

    #[test]
    fn negative_offsets_mean_no_offset() {
        assert_eq!(known_offset(rd::RD_KAFKA_OFFSET_INVALID as i64), None);
        assert_eq!(known_offset(-1), None);
        assert_eq!(known_offset(0), Some(0));
        assert_eq!(known_offset(42), Some(42));
    }

    #[test]
    fn timeouts_convert_to_librdkafka_range() {
        assert_eq!(request_timeout_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(
            request_timeout_ms(Duration::from_secs(10 * 3600)),
            3_600_000
        );
        assert_eq!(poll_ms(Duration::ZERO), 0);
        assert_eq!(poll_ms(Duration::from_micros(1)), 1);
        assert_eq!(poll_ms(Duration::from_micros(2001)), 3);
        assert_eq!(poll_ms(Duration::MAX), 3_600_000);
    }

    #[test]
    fn dedup_keeps_first_occurrence_order() {
        assert_eq!(dedup(["b", "a", "b", "c", "a"]), ["b", "a", "c"]);
    }

    #[test]
    fn partition_validation() {
        assert!(check_partition(&TopicPartition::new("t", 0)).is_ok());
        assert!(check_partition(&TopicPartition::new("", 0)).is_err());
        assert!(check_partition(&TopicPartition::new("a\0b", 0)).is_err());
        assert!(check_partition(&TopicPartition::new("t", -1)).is_err());
    }

    #[test]
    fn config_errors_never_contain_values() {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("sasl.password", "hunter2-secret")
            .set("security.protocol", "hunter2-secret");
        let err = Admin::new(&config).expect_err("invalid security.protocol must be rejected");
        let text = format!("{err} {err:?}");
        assert!(matches!(err, AdminError::Config { ref key, .. } if key == "security.protocol"));
        assert!(!text.contains("hunter2"), "{text}");

        let mut config = ClientConfig::new();
        config.set("no.such.property", "hunter2-secret");
        let err = Admin::new(&config).expect_err("unknown property must be rejected");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn redact_replaces_longest_values_first() {
        let mut config = ClientConfig::new();
        config.set("a", "pass").set("b", "password1");
        assert_eq!(redact("got password1 and pass", &config), "got *** and ***");
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
    fn main_queue_is_drained() {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("log_level", "7")
            .set("debug", "broker");
        let admin = Admin::new(&config).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        let main = Queue::main(admin.rk()).unwrap();
        // SAFETY: the queue is live.
        let queued = || unsafe { rd::rd_kafka_queue_length(main.ptr()) };
        let before = queued();
        admin.drain_main_queue();
        let after = queued();
        assert!(
            before > 0 && after < before,
            "before {before}, after {after}"
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
