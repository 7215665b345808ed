//! Which librdkafka admin operation a call is ([`Op`]).

use rdkafka_sys as rd;

use super::error::AdminError;

/// One librdkafka admin operation: its name for errors and logs, the API it
/// configures options for, and the type of its result event.
#[derive(Clone, Copy)]
pub(super) struct Op {
    pub(super) name: &'static str,
    pub(super) api: rd::rd_kafka_admin_op_t,
    pub(super) event: rd::rd_kafka_event_type_t,
}

impl Op {
    pub(super) const LIST_GROUPS: Op = Op {
        name: "ListConsumerGroups",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
        event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
    };
    pub(super) const DESCRIBE_GROUPS: Op = Op {
        name: "DescribeConsumerGroups",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        event: rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
    };
    pub(super) const LIST_GROUP_OFFSETS: Op = Op {
        name: "ListConsumerGroupOffsets",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
        event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
    };
    pub(super) const LIST_OFFSETS: Op = Op {
        name: "ListOffsets",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
        event: rd::RD_KAFKA_EVENT_LISTOFFSETS_RESULT,
    };
    pub(super) const DESCRIBE_CLUSTER: Op = Op {
        name: "DescribeCluster",
        api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
        event: rd::RD_KAFKA_EVENT_DESCRIBECLUSTER_RESULT,
    };

    pub(super) fn internal(self, detail: impl Into<String>) -> AdminError {
        AdminError::Internal {
            op: self.name,
            detail: detail.into(),
        }
    }
}
