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

use super::client::Admin;
use super::cstr::{err2str, opt_string, string};
use super::error::AdminError;
use super::op::Op;
use super::validate::{NUL_IN_TOPIC, check_partition};
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
        // SAFETY: `admin.rk()` is a valid handle for at least 'a, and the
        // queue cannot outlive 'a. The returned queue (or NULL) is a new
        // owning reference that only this guard holds and releases in Drop.
        NonNull::new(unsafe { rd::rd_kafka_queue_new(admin.rk()) })
            .map(|queue| Queue(queue, PhantomData))
            .ok_or_else(|| op.internal("rd_kafka_queue_new returned NULL"))
    }

    pub(super) fn main(admin: &'a Admin) -> Option<Queue<'a>> {
        // SAFETY: `admin.rk()` is a valid handle for at least 'a, and the
        // queue cannot outlive 'a. The result is a new non-owning reference to
        // the main queue that the caller must release with
        // rd_kafka_queue_destroy, which this guard does once in Drop.
        NonNull::new(unsafe { rd::rd_kafka_queue_get_main(admin.rk()) })
            .map(|queue| Queue(queue, PhantomData))
    }

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_queue_t {
        self.0.as_ptr()
    }

    pub(super) fn poll(&self, timeout: Duration) -> Option<Event<'a>> {
        // SAFETY: `self.0` is our queue reference, released only in Drop. A
        // non-NULL result is an event the caller must destroy, which the
        // `Event` guard does exactly once.
        NonNull::new(unsafe { rd::rd_kafka_queue_poll(self.ptr(), poll_ms(timeout)) })
            .map(|event| Event(event, PhantomData))
    }
}

impl Drop for Queue<'_> {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the one reference this guard owns, still valid
        // (the handle outlives 'a) and released nowhere else. In-flight requests
        // hold their own references to the underlying queue, so this frees
        // nothing they use; for an owned queue librdkafka also disables it, so
        // their late results are discarded rather than delivered.
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
        // SAFETY: `self.0` is the event this guard owns, not destroyed before
        // Drop; rd_kafka_event_type only reads it.
        unsafe { rd::rd_kafka_event_type(self.ptr()) }
    }

    pub(super) fn opaque(&self) -> usize {
        // SAFETY: `self.0` is the event this guard owns, not destroyed before
        // Drop. The opaque is the pointer-sized request index stored by
        // `Options::set_opaque` (NULL for other events); it is only cast back,
        // never dereferenced.
        unsafe { rd::rd_kafka_event_opaque(self.ptr()) as usize }
    }

    /// Request-level error of an admin result event.
    pub(super) fn error(&self) -> Option<(RDKafkaErrorCode, String)> {
        // SAFETY: `self.0` is the event this guard owns, valid while `self` is
        // borrowed. The error string is either owned by the event or comes from
        // rd_kafka_err2str; either way it is NULL or NUL-terminated, and
        // `opt_string` copies it before this borrow ends.
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
            // SAFETY: `arr` is non-NULL and, per this function's contract, points
            // to `cnt` initialized pointers owned by this event; the returned
            // slice borrows `self`, so it cannot outlive the event.
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
        // SAFETY: per this function's contract `list` is NULL or owned by this
        // event; the returned slice borrows `self`, so it cannot outlive the
        // event, which is exactly what `partition_slice` requires of 'a.
        unsafe { partition_slice(list) }
    }

    /// Logs a log line or error event; returns the error of an error event.
    pub(super) fn forward_to_tracing(&self) -> Option<(RDKafkaErrorCode, String)> {
        match self.kind() {
            rd::RD_KAFKA_EVENT_LOG => {
                let mut fac: *const c_char = ptr::null();
                let mut msg: *const c_char = ptr::null();
                let mut level: c_int = 0;
                // SAFETY: `self.0` is the event this guard owns; the three out
                // pointers are valid locals. On success (0) `fac` and `msg`
                // point to NUL-terminated strings owned by the event, which
                // `string` copies while `self` is still borrowed; on failure
                // we return without reading them.
                let (fac, msg) = unsafe {
                    if rd::rd_kafka_event_log(self.ptr(), &mut fac, &mut msg, &mut level) != 0 {
                        return None;
                    }
                    (string(fac), string(msg))
                };
                match level {
                    ..=3 => tracing::error!(target: "librdkafka", "{fac}: {msg}"),
                    4 => tracing::warn!(target: "librdkafka", "{fac}: {msg}"),
                    5 | 6 => tracing::info!(target: "librdkafka", "{fac}: {msg}"),
                    _ => tracing::debug!(target: "librdkafka", "{fac}: {msg}"),
                }
                None
            }
            rd::RD_KAFKA_EVENT_ERROR => {
                let error = self.error();
                if let Some((code, msg)) = &error {
                    tracing::warn!(target: "librdkafka", "{code:?}: {msg}");
                }
                error
            }
            _ => None,
        }
    }
}

impl Drop for Event<'_> {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from rd_kafka_queue_poll and is destroyed only
        // here, once. Destroying it frees the results it owns; every borrow of
        // them (`ptr_slice`, `partitions`) borrows `self`, so none is left.
        unsafe { rd::rd_kafka_event_destroy(self.ptr()) }
    }
}

/// # Safety
/// `list` must be NULL or a valid partition list that outlives `'a`.
unsafe fn partition_slice<'a>(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> &'a [rd::rd_kafka_topic_partition_t] {
    // SAFETY: per the contract `list` is NULL (`as_ref` gives None) or a
    // valid list that outlives 'a. A librdkafka list's `elems` holds `cnt`
    // initialized elements; NULL `elems` and `cnt <= 0` give an empty slice,
    // so the `as usize` conversion is of a positive `c_int`.
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
        // SAFETY: `admin.rk()` is a valid handle for at least 'a, and the
        // options cannot outlive 'a. A non-NULL result is a new object only
        // this guard owns and destroys in Drop.
        NonNull::new(unsafe { rd::rd_kafka_AdminOptions_new(admin.rk(), op.api) })
            .map(|options| Options(options, PhantomData))
            .ok_or_else(|| op.internal("rd_kafka_AdminOptions_new returned NULL"))
    }

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_AdminOptions_t {
        self.0.as_ptr()
    }

    pub(super) fn set_request_timeout(&self, op: Op, timeout: Duration) -> Result<(), AdminError> {
        let mut errstr = [0 as c_char; 256];
        // SAFETY: `self.0` is the options object this guard owns; `errstr` is
        // a writable local buffer whose exact length is passed, so librdkafka
        // writes at most that many bytes into it.
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
        // SAFETY: librdkafka writes a NUL-terminated message that fits the
        // length it was given; the buffer was zeroed, so it is terminated within
        // its bounds even if nothing was written. `string` copies it.
        let detail = unsafe { string(errstr.as_ptr()) };
        Err(op.internal(format!("cannot set request timeout: {detail}")))
    }

    /// Sends the request to broker `id` rather than where librdkafka would (for
    /// ListConsumerGroupOffsets: the group's coordinator, as its cache says).
    pub(super) fn set_broker(&self, op: Op, id: i32) -> Result<(), AdminError> {
        let mut errstr = [0 as c_char; 256];
        // SAFETY: as in `set_request_timeout`: `self.0` is the options object
        // this guard owns, `errstr` a writable local buffer of the length passed.
        let err = unsafe {
            rd::rd_kafka_AdminOptions_set_broker(self.ptr(), id, errstr.as_mut_ptr(), errstr.len())
        };
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            return Ok(());
        }
        // SAFETY: as in `set_request_timeout`: a zeroed buffer, terminated
        // within its bounds; `string` copies it.
        let detail = unsafe { string(errstr.as_ptr()) };
        Err(op.internal(format!("cannot set broker {id}: {detail}")))
    }

    pub(super) fn set_isolation_level(
        &self,
        op: Op,
        level: rd::rd_kafka_IsolationLevel_t,
    ) -> Result<(), AdminError> {
        // SAFETY: `self.0` is the options object this guard owns; `level` is a
        // valid enum value. A non-NULL result is an error object we must
        // destroy, done just below.
        let err = unsafe { rd::rd_kafka_AdminOptions_set_isolation_level(self.ptr(), level) };
        if err.is_null() {
            return Ok(());
        }
        // SAFETY: `err` is non-NULL and owned by us: its string (owned by
        // `err`) is copied first, then `err` is destroyed once and not used again.
        let detail = unsafe {
            let detail = string(rd::rd_kafka_error_string(err));
            rd::rd_kafka_error_destroy(err);
            detail
        };
        Err(op.internal(format!("cannot set isolation level: {detail}")))
    }

    pub(super) fn set_opaque(&self, index: usize) {
        // SAFETY: `self.0` is the options object this guard owns. The opaque is
        // an integer in pointer form (no provenance): librdkafka only stores it
        // and hands it back on the result event, never dereferencing it.
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
        // SAFETY: `self.0` is owned by this guard and destroyed only here, once,
        // before the handle (it borrows the Admin for 'a). Submitted requests
        // copied the options, so nothing in librdkafka still points to it.
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
        // SAFETY: no preconditions beyond a non-negative size (`len` clamped
        // to `c_int::MAX`). A non-NULL result is a new list that only the
        // `PartitionList` guard owns, destroyed in its Drop on every return path.
        let list = NonNull::new(unsafe { rd::rd_kafka_topic_partition_list_new(size) })
            .map(PartitionList)
            .ok_or_else(|| op.internal("rd_kafka_topic_partition_list_new returned NULL"))?;
        for (tp, offset) in items {
            if let Err(reason) = check_partition(tp) {
                return Ok(Err(reason));
            }
            let Ok(topic) = CString::new(&*tp.topic) else {
                return Ok(Err(NUL_IN_TOPIC));
            };
            // SAFETY: `list` is the live list this function owns and nobody else
            // references; `topic` is a NUL-terminated CString that outlives the
            // call, and librdkafka copies it into the new element.
            let elem = unsafe {
                rd::rd_kafka_topic_partition_list_add(list.ptr(), topic.as_ptr(), tp.partition)
            };
            // SAFETY: `elem` is NULL or the element just added inside `list`'s
            // array. The `&mut` is the only reference to it and ends before the
            // next `rd_kafka_topic_partition_list_add`, which may reallocate.
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
        // SAFETY: `self.0` is owned by this guard and destroyed only here,
        // once. Every librdkafka call it is passed to copies it
        // (ListOffsets, ListConsumerGroupOffsets_new), so nothing refers to it.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.ptr()) }
    }
}

/// A ListConsumerGroupOffsets request object we allocated.
pub(super) struct OffsetsRequest(NonNull<rd::rd_kafka_ListConsumerGroupOffsets_t>);

impl OffsetsRequest {
    /// A request for `group`'s committed offsets: of `partitions` only, or of
    /// every partition it committed when `None`.
    pub(super) fn new(
        op: Op,
        group: &CStr,
        partitions: Option<&PartitionList>,
    ) -> Result<OffsetsRequest, AdminError> {
        let list = partitions.map_or(ptr::null(), |l| l.ptr().cast_const());
        // SAFETY: `group` is NUL-terminated and valid for the call; `list` is
        // NULL or the live list of a borrowed `PartitionList`. librdkafka
        // copies both, and a non-NULL result is a new object only this guard
        // owns.
        NonNull::new(unsafe { rd::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), list) })
            .map(OffsetsRequest)
            .ok_or_else(|| op.internal("rd_kafka_ListConsumerGroupOffsets_new returned NULL"))
    }

    pub(super) fn ptr(&self) -> *mut rd::rd_kafka_ListConsumerGroupOffsets_t {
        self.0.as_ptr()
    }
}

impl Drop for OffsetsRequest {
    fn drop(&mut self) {
        // SAFETY: `self.0` is owned by this guard and destroyed only here,
        // once. rd_kafka_ListConsumerGroupOffsets copies the request it is
        // given, so no in-flight request refers to this one.
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
