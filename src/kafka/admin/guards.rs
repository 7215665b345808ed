//! RAII guards owning the librdkafka objects an admin call allocates: result
//! queues, polled events, admin options, partition lists and
//! ListConsumerGroupOffsets request objects.
//!
//! Each guard wraps a non-NULL pointer it owns and releases it exactly once in
//! `Drop`, so nothing leaks on early returns or panics. Only this file can
//! build a guard from a raw pointer. Borrows of data an [`Event`] owns are tied
//! to the event's lifetime ([`Event::ptr_slice`], [`Event::partitions`]).

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;
use rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;

use super::driver::Op;
use super::readers::{err2str, opt_string, string};
use super::validate::{NUL_IN_TOPIC, check_partition};
use super::{Admin, AdminError};
use crate::kafka::types::{OffsetSpec, TopicPartition};

/// librdkafka rejects admin request timeouts above one hour.
pub(super) const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;

/// A queue reference we own (from `rd_kafka_queue_new` / `_get_main`).
///
/// It borrows the [`Admin`] whose handle it was made from, as do the
/// [`Event`]s polled from it and [`Options`]: librdkafka requires queues,
/// events and options to be destroyed before the handle, and the borrow makes
/// the compiler enforce that order.
pub(super) struct Queue<'a>(NonNull<rd::rd_kafka_queue_t>, PhantomData<&'a Admin>);

impl<'a> Queue<'a> {
    pub(super) fn new(op: Op, admin: &'a Admin) -> Result<Queue<'a>, AdminError> {
        // SAFETY: rk is the live handle owned by `Admin`.
        NonNull::new(unsafe { rd::rd_kafka_queue_new(admin.rk()) })
            .map(|queue| Queue(queue, PhantomData))
            .ok_or_else(|| op.internal("rd_kafka_queue_new returned NULL"))
    }

    pub(super) fn main(admin: &'a Admin) -> Option<Queue<'a>> {
        // SAFETY: rk is live; the returned reference is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_queue_get_main(admin.rk()) })
            .map(|queue| Queue(queue, PhantomData))
    }

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_queue_t {
        self.0.as_ptr()
    }

    pub(super) fn poll(&self, timeout: Duration) -> Option<Event<'a>> {
        // SAFETY: the queue is live; a returned event is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_queue_poll(self.ptr(), poll_ms(timeout)) })
            .map(|event| Event(event, PhantomData))
    }
}

impl Drop for Queue<'_> {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference, released exactly once.
        unsafe { rd::rd_kafka_queue_destroy(self.ptr()) }
    }
}

/// A polled event; results reachable from it live exactly as long as it does.
pub(super) struct Event<'a>(NonNull<rd::rd_kafka_event_t>, PhantomData<&'a Admin>);

impl Event<'_> {
    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_event_t {
        self.0.as_ptr()
    }

    pub(super) fn kind(&self) -> rd::rd_kafka_event_type_t {
        // SAFETY: event is live.
        unsafe { rd::rd_kafka_event_type(self.ptr()) }
    }

    pub(super) fn opaque(&self) -> usize {
        // SAFETY: event is live. The opaque is the request index we stored.
        unsafe { rd::rd_kafka_event_opaque(self.ptr()) as usize }
    }

    /// Request-level error of an admin result event.
    pub(super) fn error(&self) -> Option<(RDKafkaErrorCode, String)> {
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
    pub(super) unsafe fn ptr_slice<T>(&self, arr: *mut *const T, cnt: usize) -> &[*const T] {
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
    pub(super) unsafe fn partitions(
        &self,
        list: *const rd::rd_kafka_topic_partition_list_t,
    ) -> &[rd::rd_kafka_topic_partition_t] {
        // SAFETY: guaranteed by the caller.
        unsafe { partition_slice(list) }
    }

    pub(super) fn forward_to_tracing(&self) {
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

impl Drop for Event<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the event; destroying it also frees its results.
        unsafe { rd::rd_kafka_event_destroy(self.ptr()) }
    }
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

/// An admin options object we own, made for one operation.
pub(super) struct Options<'a>(NonNull<rd::rd_kafka_AdminOptions_t>, PhantomData<&'a Admin>);

impl<'a> Options<'a> {
    pub(super) fn new(op: Op, admin: &'a Admin) -> Result<Options<'a>, AdminError> {
        // SAFETY: rk is live; the options object is ours to destroy.
        NonNull::new(unsafe { rd::rd_kafka_AdminOptions_new(admin.rk(), op.api) })
            .map(|options| Options(options, PhantomData))
            .ok_or_else(|| op.internal("rd_kafka_AdminOptions_new returned NULL"))
    }

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_AdminOptions_t {
        self.0.as_ptr()
    }

    pub(super) fn set_request_timeout(&self, op: Op, timeout: Duration) -> Result<(), AdminError> {
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

    pub(super) fn set_isolation_level(
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

    pub(super) fn set_opaque(&self, index: usize) {
        // SAFETY: options live; the opaque is an integer, never dereferenced.
        unsafe {
            rd::rd_kafka_AdminOptions_set_opaque(
                self.ptr(),
                ptr::without_provenance_mut::<c_void>(index),
            )
        }
    }
}

impl Drop for Options<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the options object; requests keep their own copies.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.ptr()) }
    }
}

impl OffsetSpec {
    pub(super) fn raw(self) -> i64 {
        match self {
            OffsetSpec::Earliest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64,
            OffsetSpec::Latest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
            // Negative values are the special specs above, never a time.
            OffsetSpec::AtTime(ms) => ms.max(0),
        }
    }
}

/// A topic partition list we allocated.
pub(super) struct PartitionList(NonNull<rd::rd_kafka_topic_partition_list_t>);

impl PartitionList {
    /// Builds a list of `tps` with librdkafka's default offsets.
    /// The inner `Err` is a per-entry problem (bad topic name), the outer one
    /// an allocation failure.
    pub(super) fn from_partitions(
        op: Op,
        tps: &[TopicPartition],
    ) -> Result<Result<PartitionList, &'static str>, AdminError> {
        PartitionList::build(op, tps.len(), tps.iter().map(|tp| (tp, None)))
    }

    /// Builds a list of partitions, each with its own offset (or offset spec).
    pub(super) fn with_offsets(
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

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_topic_partition_list_t {
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
pub(super) struct OffsetsRequest(NonNull<rd::rd_kafka_ListConsumerGroupOffsets_t>);

impl OffsetsRequest {
    pub(super) fn new(
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

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_ListConsumerGroupOffsets_t {
        self.0.as_ptr()
    }
}

impl Drop for OffsetsRequest {
    fn drop(&mut self) {
        // SAFETY: we own the request object.
        unsafe { rd::rd_kafka_ListConsumerGroupOffsets_destroy(self.ptr()) }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
