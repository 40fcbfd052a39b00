//! Errors across the C ABI: an opaque `kpipe_error` (the core's details record: code, message,
//! retriable, fatal, and where known field, cluster, topic, partition, offset, subject, schema
//! id) handed out through an out-parameter, and [`guard`], which every entry point runs its body in so a panic becomes an
//! `internal` error instead of unwinding into C.

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use kpipe::Error;

/// A failure: a stable code (`serde.encode`, ...; docs/errors.md) and a message. Owned by the
/// caller once returned through an out-parameter; free it with `kpipe_error_free`.
pub struct kpipe_error {
    code: CString,
    message: CString,
    details: kpipe::Details,
    /// The details as JSON, NUL-terminated.
    json: CString,
}

impl kpipe_error {
    pub(crate) fn new(e: &Error) -> Box<Self> {
        Self::from_details(e.details())
    }

    pub(crate) fn from_details(details: kpipe::Details) -> Box<Self> {
        Box::new(kpipe_error {
            code: CString::new(details.code).unwrap_or_default(),
            message: CString::new(details.message.replace('\0', " ")).unwrap_or_default(),
            json: CString::new(details.to_json().replace('\0', " ")).unwrap_or_default(),
            details,
        })
    }
}

/// Stores `e` in `*out` (when `out` is not null).
pub(crate) fn set(out: *mut *mut kpipe_error, e: &Error) {
    if !out.is_null() {
        // SAFETY: the caller passes a writable `kpipe_error**` or null (header rule 4).
        unsafe { *out = Box::into_raw(kpipe_error::new(e)) };
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Runs `f`: clears `*err`, stores its error (or a caught panic as `internal`) there and
/// returns `fallback` on failure.
pub(crate) fn guard<T>(
    err: *mut *mut kpipe_error,
    fallback: T,
    f: impl FnOnce() -> kpipe::Result<T>,
) -> T {
    if !err.is_null() {
        // SAFETY: as in `set`.
        unsafe { *err = std::ptr::null_mut() };
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set(err, &e);
            fallback
        }
        Err(p) => {
            set(
                err,
                &Error::Internal { reason: format!("panic in the C ABI: {}", panic_text(&*p)) },
            );
            fallback
        }
    }
}

/// Runs `f`, swallowing a panic (for functions that cannot report errors: free, getters).
pub(crate) fn quiet<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The error's code, a NUL-terminated ASCII string valid until `kpipe_error_free`.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; what it returns is valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_code(err: *const kpipe_error) -> *const c_char {
    quiet(std::ptr::null(), || match unsafe { err.as_ref() } {
        Some(e) => e.code.as_ptr(),
        None => c"".as_ptr(),
    })
}

/// The error's message: UTF-8, `*len` bytes (when `len` is not null), also NUL-terminated;
/// valid until `kpipe_error_free`.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; what it returns is valid until it is freed.
/// - `len` is null or valid for writing one `usize`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_message(
    err: *const kpipe_error,
    len: *mut usize,
) -> *const c_char {
    quiet(std::ptr::null(), || {
        let (p, n) = match unsafe { err.as_ref() } {
            Some(e) => (e.message.as_ptr(), e.message.as_bytes().len()),
            None => (c"".as_ptr(), 0),
        };
        if !len.is_null() {
            unsafe { *len = n };
        }
        p
    })
}

/// 1 when the same call may succeed later unchanged (registry down, Kafka timeouts), else 0.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; what it returns is valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_is_retriable(err: *const kpipe_error) -> i32 {
    quiet(0, || unsafe { err.as_ref() }.is_some_and(|e| e.details.retriable) as i32)
}

/// 1 when the handle that returned the error cannot be used any more (decided by the core),
/// else 0.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; what it returns is valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_is_fatal(err: *const kpipe_error) -> i32 {
    quiet(0, || unsafe { err.as_ref() }.is_some_and(|e| e.details.fatal) as i32)
}

/// The error's details record as JSON (docs/errors.md, "Details"): `{"code", "message",
/// "retriable", "fatal"}` plus, where known, `"field"`, `"cluster"`, `"topic"`, `"partition"`,
/// `"offset"`, `"subject"`, `"schema_id"`. UTF-8, `*len` bytes (when `len` is not null), also
/// NUL-terminated; valid until `kpipe_error_free`.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; what it returns is valid until it is freed.
/// - `len` is null or valid for writing one `usize`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_details_json(
    err: *const kpipe_error,
    len: *mut usize,
) -> *const c_char {
    quiet(std::ptr::null(), || {
        let (p, n) = match unsafe { err.as_ref() } {
            Some(e) => (e.json.as_ptr(), e.json.as_bytes().len()),
            None => (c"{}".as_ptr(), 2),
        };
        if !len.is_null() {
            unsafe { *len = n };
        }
        p
    })
}

/// Frees an error. Null is ignored.
///
/// # Safety
///
/// - `err` is null or a `kpipe_error` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_error_free(err: *mut kpipe_error) {
    quiet((), || {
        if !err.is_null() {
            drop(unsafe { Box::from_raw(err) });
        }
    })
}
