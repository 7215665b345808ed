//! Copying C strings librdkafka hands out into owned Rust `String`s, and
//! librdkafka's error code descriptions.

use std::ffi::{CStr, c_char};

use rdkafka_sys as rd;

/// librdkafka's description of an error code.
pub(super) fn err2str(code: rd::rd_kafka_resp_err_t) -> String {
    // SAFETY: rd_kafka_err2str accepts any code and returns a non-NULL,
    // NUL-terminated string: static for known codes, else a thread-local
    // buffer valid until this thread's next call. `string` copies it at once.
    unsafe { string(rd::rd_kafka_err2str(code)) }
}

/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
pub(super) unsafe fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: `p` is non-NULL (checked above) and, by the contract, a
        // valid NUL-terminated string; the borrow ends with the copy made here.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
pub(super) unsafe fn string(p: *const c_char) -> String {
    // SAFETY: the contract of this function is exactly `opt_string`'s.
    unsafe { opt_string(p) }.unwrap_or_default()
}
