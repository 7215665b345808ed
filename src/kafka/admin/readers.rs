//! Result readers: copy what librdkafka's result events hold into the owned
//! values of [`crate::kafka::types`].
//!
//! Every pointer read here belongs to an [`Event`] borrowed for the call;
//! nothing borrowed from it is returned, only copies.

use std::ffi::CStr;
use std::ptr;
use std::sync::Arc;

use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;
use rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;

use super::cstr::{err2str, opt_string, string};
use super::error::AdminError;
use super::guards::Event;
use super::op::Op;
use crate::kafka::types::{
    ClusterDescription, CommittedOffset, GroupDescription, GroupListing, GroupMember, GroupOffsets,
    GroupState, GroupType, Node, PartitionOffset, TopicPartition, topic_partition_order,
};

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

/// What a ListConsumerGroups result holds.
pub(super) struct GroupListings {
    pub(super) groups: Vec<GroupListing>,
    /// Errors of the brokers that did not answer: when there are any, `groups`
    /// is partial.
    pub(super) errors: Vec<(RDKafkaErrorCode, String)>,
}

pub(super) fn read_group_listings(event: &Event) -> Result<GroupListings, AdminError> {
    let op = Op::LIST_GROUPS;
    // SAFETY: `event` is a live event guard, borrowed for this function. The
    // result is NULL for another event type (checked below), else a view of
    // the event itself, valid as long as the event.
    let result = unsafe { rd::rd_kafka_event_ListConsumerGroups_result(event.ptr()) };
    if result.is_null() {
        return Err(op.internal("event has no ListConsumerGroups result"));
    }

    let mut cnt = 0usize;
    // SAFETY: `result` is a non-NULL result of `event`; librdkafka returns
    // its array of `cnt` listings (or NULL), owned by the event, as
    // `ptr_slice` requires.
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
        // SAFETY: `listing` is a non-NULL element of that array, owned by
        // `event`. Its getters return plain values or strings it owns (or
        // NULL), which `string` copies while `event` is borrowed.
        groups.push(unsafe {
            GroupListing {
                group_id: string(rd::rd_kafka_ConsumerGroupListing_group_id(listing)),
                state: rd::rd_kafka_ConsumerGroupListing_state(listing).into(),
                is_simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listing) != 0,
                group_type: rd::rd_kafka_ConsumerGroupListing_type(listing).into(),
            }
        });
    }

    let mut ecnt = 0usize;
    // SAFETY: `result` is a non-NULL result of `event`; librdkafka returns
    // its array of `ecnt` error objects (or NULL), owned by the event, as
    // `ptr_slice` requires.
    let errors = unsafe {
        event.ptr_slice(
            rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut ecnt),
            ecnt,
        )
    };
    let errors: Vec<(RDKafkaErrorCode, String)> = errors
        .iter()
        // SAFETY: each element is NULL or an error object owned by `event`,
        // which is borrowed for this whole function.
        .filter_map(|&e| unsafe { error_details(e) })
        .collect();
    Ok(GroupListings { groups, errors })
}

/// The group descriptions of a DescribeConsumerGroups result, in result order.
pub(super) fn read_group_descriptions(event: &Event) -> Result<Vec<GroupDescription>, AdminError> {
    let op = Op::DESCRIBE_GROUPS;
    // SAFETY: `event` is a live event guard, borrowed for this function. The
    // result is NULL for another event type (checked below), else a view of
    // the event itself, valid as long as the event.
    let result = unsafe { rd::rd_kafka_event_DescribeConsumerGroups_result(event.ptr()) };
    if result.is_null() {
        return Err(op.internal("event has no DescribeConsumerGroups result"));
    }
    let mut cnt = 0usize;
    // SAFETY: `result` is a non-NULL result of `event`; librdkafka returns
    // its array of `cnt` group descriptions (or NULL), owned by the event, as
    // `ptr_slice` requires.
    let descs = unsafe {
        event.ptr_slice(
            rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut cnt),
            cnt,
        )
    };
    let mut groups = Vec::with_capacity(descs.len());
    for &desc in descs {
        if desc.is_null() {
            continue;
        }
        // SAFETY: `desc` is a non-NULL element of that array, owned by
        // `event`: the contract of `read_group_description`.
        let desc = unsafe { read_group_description(event, desc) };
        groups.push(desc);
    }
    Ok(groups)
}

/// The brokers of a DescribeCluster result, sorted by node id.
pub(super) fn read_cluster(event: &Event) -> Result<ClusterDescription, AdminError> {
    let op = Op::DESCRIBE_CLUSTER;
    // SAFETY: `event` is a live event guard, borrowed for this function. The
    // result is NULL for another event type (checked below), else a view of
    // the event itself, valid as long as the event.
    let result = unsafe { rd::rd_kafka_event_DescribeCluster_result(event.ptr()) };
    if result.is_null() {
        return Err(op.internal("event has no DescribeCluster result"));
    }
    let mut cnt = 0usize;
    // SAFETY: `result` is a non-NULL result of `event`; librdkafka returns
    // its array of `cnt` nodes (or NULL), owned by the event, as `ptr_slice`
    // requires. Each element is NULL or a node owned by the event, which is
    // what `read_node` requires; it copies the node.
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
    // SAFETY: `result` is a non-NULL result of `event`. The cluster id is NULL
    // or a string it owns, the controller NULL or a node it owns: what
    // `opt_string` and `read_node` require. Both are copied.
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

/// # Safety
/// `desc` must be a non-NULL group description owned by `event`.
unsafe fn read_group_description(
    event: &Event,
    desc: *const rd::rd_kafka_ConsumerGroupDescription_t,
) -> GroupDescription {
    // SAFETY: by the contract `desc` is a valid description owned by `event`,
    // borrowed for this function. Every pointer reached from it (members for
    // indexes below `member_count`, assignments, partition lists, strings,
    // the coordinator node, the error) is owned by the description, hence by
    // `event`; each is NULL-checked, here or by the helper that reads it, and
    // copied into owned values before returning.
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
            let mut topic = None;
            let mut assignment: Vec<TopicPartition> = event
                .partitions(list)
                .iter()
                .map(|p| read_tp(&mut topic, p))
                .collect();
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

pub(super) fn read_group_offsets(group_id: &str, event: &Event) -> GroupOffsets {
    if let Some((_, message)) = event.error() {
        return GroupOffsets::failed(group_id, message);
    }
    let groups = match group_results(event) {
        Ok(groups) => groups,
        Err(reason) => return GroupOffsets::failed(group_id, reason),
    };
    let Some(&group) = groups.iter().find(|g| !g.is_null()) else {
        return GroupOffsets::failed(group_id, "result contains no group");
    };
    // SAFETY: `group` is a non-NULL group result owned by `event`, which is
    // borrowed for this function.
    let (_, offsets) = unsafe { read_group_result(event, group) };
    GroupOffsets {
        group_id: group_id.to_owned(),
        ..offsets
    }
}

/// The answer to a ListConsumerGroupOffsets of several groups (one OffsetFetch, librdkafka
/// patch 11): each group it names, with its own error code if it failed. A request-level error
/// (the broker unreachable, no OffsetFetch v8, the time out) is `Err`.
pub(super) fn read_group_offsets_batch(
    event: &Event,
) -> Result<Vec<(Option<RDKafkaErrorCode>, GroupOffsets)>, AdminError> {
    let op = Op::LIST_GROUP_OFFSETS;
    if let Some((code, message)) = event.error() {
        return Err(AdminError::Kafka {
            op: op.name,
            code,
            message,
        });
    }
    let groups = group_results(event).map_err(|reason| op.internal(reason))?;
    Ok(groups
        .iter()
        .filter(|g| !g.is_null())
        // SAFETY: each `g` is a non-NULL group result owned by `event`, which
        // is borrowed for this function.
        .map(|&g| unsafe { read_group_result(event, g) })
        .collect())
}

/// The group results of a ListConsumerGroupOffsets result event, owned by the event.
fn group_results<'e>(
    event: &'e Event,
) -> Result<&'e [*const rd::rd_kafka_group_result_t], &'static str> {
    // SAFETY: `event` is a live event guard, borrowed for 'e. The result is
    // NULL for another event type (checked), else a view of the event; its
    // group array has `cnt` entries owned by the event, as `ptr_slice` requires.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.ptr());
        if result.is_null() {
            return Err("event has no ListConsumerGroupOffsets result");
        }
        let mut cnt = 0usize;
        Ok(event.ptr_slice(
            rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut cnt),
            cnt,
        ))
    }
}

/// One group's answer: its error code (if any) and its commits, sorted.
///
/// # Safety
/// `group` is a non-NULL group result owned by `event`.
unsafe fn read_group_result(
    event: &Event,
    group: *const rd::rd_kafka_group_result_t,
) -> (Option<RDKafkaErrorCode>, GroupOffsets) {
    // SAFETY: by the contract `group` is valid as long as `event`; its name,
    // error, partition list and each partition's topic and metadata are owned
    // by the event, NULL-checked by the helpers that read them, and copied.
    unsafe {
        let group_id = opt_string(rd::rd_kafka_group_result_name(group)).unwrap_or_default();
        let error = error_details(rd::rd_kafka_group_result_error(group));
        // A group's partitions come topic by topic: the previous name is usually the one.
        let mut topic: Option<Arc<str>> = None;
        let mut offsets: Vec<CommittedOffset> = event
            .partitions(rd::rd_kafka_group_result_partitions(group))
            .iter()
            .map(|p| {
                CommittedOffset::new(
                    shared_topic(&mut topic, p),
                    p.partition,
                    known_offset(p.offset),
                    read_metadata(p),
                    partition_error(p.err),
                )
            })
            .collect();
        // A partition is answered once, so no two keys are equal: an unstable sort does.
        offsets.sort_unstable_by(|a, b| {
            topic_partition_order((&a.topic, a.partition), (&b.topic, b.partition))
        });
        let (code, error) = error.unzip();
        (
            code,
            GroupOffsets {
                group_id,
                error,
                offsets,
            },
        )
    }
}

/// Appends one ListOffsets result's answers to `answers`, in the order they
/// come; a request-level error is the whole batch's.
pub(super) fn read_list_offsets(
    event: &Event,
    answers: &mut Vec<PartitionOffset>,
) -> Result<(), AdminError> {
    let op = Op::LIST_OFFSETS;
    if let Some((code, message)) = event.error() {
        return Err(AdminError::Kafka {
            op: op.name,
            code,
            message,
        });
    }
    // SAFETY: `event` is a live event guard, borrowed for this function. The
    // result is NULL for another event type (checked below), else a view of
    // the event itself, valid as long as the event.
    let result = unsafe { rd::rd_kafka_event_ListOffsets_result(event.ptr()) };
    if result.is_null() {
        return Err(op.internal("event has no ListOffsets result"));
    }
    let mut cnt = 0usize;
    // SAFETY: `result` is a non-NULL result of `event`; librdkafka returns
    // its array of `cnt` result infos (or NULL), owned by the event, as
    // `ptr_slice` requires.
    let infos =
        unsafe { event.ptr_slice(rd::rd_kafka_ListOffsets_result_infos(result, &mut cnt), cnt) };
    // A batch's answers come topic by topic: the previous name is usually the one.
    let mut topic: Option<Arc<str>> = None;
    for &info in infos {
        if info.is_null() {
            continue;
        }
        // SAFETY: `info` is a non-NULL element of that array, owned by
        // `event`. Its partition is NULL (`as_ref` gives None) or owned by the
        // event; the reference is only used in this iteration, while `event`
        // is borrowed.
        let (raw, timestamp) = unsafe {
            (
                rd::rd_kafka_ListOffsetsResultInfo_topic_partition(info).as_ref(),
                rd::rd_kafka_ListOffsetsResultInfo_timestamp(info),
            )
        };
        let Some(raw) = raw else { continue };
        // SAFETY: `raw` is a partition owned by `event`, so its topic is NULL
        // or a NUL-terminated string the event owns.
        let tp = unsafe { read_tp(&mut topic, raw) };
        let error = partition_error(raw.err);
        answers.push(PartitionOffset {
            tp,
            offset: if error.is_some() {
                None
            } else {
                known_offset(raw.offset)
            },
            timestamp: (timestamp >= 0).then_some(timestamp),
            error,
        });
    }
    Ok(())
}

/// The partition, its topic shared with the previous one read when the name is the same (see
/// [`shared_topic`]).
///
/// # Safety
/// `p.topic` must be NULL or a valid C string.
unsafe fn read_tp(
    last: &mut Option<Arc<str>>,
    p: &rd::rd_kafka_topic_partition_t,
) -> TopicPartition {
    TopicPartition {
        // SAFETY: the contract of this function is exactly `shared_topic`'s for `p`.
        topic: unsafe { shared_topic(last, p) },
        partition: p.partition,
    }
}

/// `p.topic` as the name in `last` when it is the same, else as a new shared name kept there.
///
/// # Safety
/// `p.topic` must be NULL or a valid NUL-terminated string.
unsafe fn shared_topic(
    last: &mut Option<Arc<str>>,
    p: &rd::rd_kafka_topic_partition_t,
) -> Arc<str> {
    if !p.topic.is_null()
        && let Some(name) = last.as_ref()
        // SAFETY: `p.topic` is non-NULL (checked above) and, by the contract, a valid
        // NUL-terminated string, only compared within this borrow.
        && unsafe { CStr::from_ptr(p.topic) }.to_bytes() == name.as_bytes()
    {
        return Arc::clone(name);
    }
    // SAFETY: the contract of this function is exactly `string`'s for `p.topic`.
    let name: Arc<str> = unsafe { string(p.topic) }.into();
    *last = Some(Arc::clone(&name));
    name
}

/// # Safety
/// `p.metadata` must be NULL or point to `p.metadata_size` readable bytes.
unsafe fn read_metadata(p: &rd::rd_kafka_topic_partition_t) -> Option<String> {
    if p.metadata.is_null() || p.metadata_size == 0 {
        return None;
    }
    // SAFETY: `p.metadata` is non-NULL (checked above) and, by the contract,
    // points to `p.metadata_size` readable bytes; they are copied before the
    // borrow of `p` ends. Bytes have no alignment or validity requirement.
    let bytes = unsafe { std::slice::from_raw_parts(p.metadata.cast::<u8>(), p.metadata_size) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// # Safety
/// `node` must be NULL or a valid node.
unsafe fn read_node(node: *const rd::rd_kafka_Node_t) -> Option<Node> {
    if node.is_null() {
        return None;
    }
    // SAFETY: `node` is non-NULL (checked above) and valid by the contract.
    // Its getters return plain values or strings it owns (host, rack: NULL or
    // NUL-terminated), copied by `string` / `opt_string`.
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
pub(super) unsafe fn error_details(
    err: *const rd::rd_kafka_error_t,
) -> Option<(RDKafkaErrorCode, String)> {
    if err.is_null() {
        return None;
    }
    // SAFETY: `err` is non-NULL (checked above) and valid by the contract; its
    // string is NULL or NUL-terminated and owned by `err`, copied by
    // `opt_string`.
    unsafe {
        let code = rd::rd_kafka_error_code(err);
        let message = opt_string(rd::rd_kafka_error_string(err)).unwrap_or_else(|| err2str(code));
        Some((code.into(), message))
    }
}

fn partition_error(code: rd::rd_kafka_resp_err_t) -> Option<String> {
    (code != RD_KAFKA_RESP_ERR_NO_ERROR).then(|| err2str(code))
}

/// Kafka reports "no offset" as a negative sentinel (librdkafka: -1001,
/// RD_KAFKA_OFFSET_INVALID; the protocol: -1).
fn known_offset(offset: i64) -> Option<i64> {
    (offset >= 0).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rd::rd_kafka_consumer_group_state_t::*;

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
}
