//! Values across the C ABI: (pointer, length) strings and bytes in, `kpipe_buf` out, the flat
//! record layout of `kpipe_send`/`kpipe_send_many`, and the cancel token.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use kpipe::avro::{JsonRef, JsonRoot, JsonTape};
use kpipe::{Data, Error, Result};

/// Bytes allocated by kpipe and owned by the caller: `len` bytes at `ptr` (UTF-8 JSON where a
/// function says so). Free with `kpipe_buf_free` (once); a zeroed buf is empty and needs no free.
#[repr(C)]
pub struct kpipe_buf {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl kpipe_buf {
    pub(crate) fn from_vec(v: Vec<u8>) -> Self {
        let mut v = std::mem::ManuallyDrop::new(v);
        kpipe_buf { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() }
    }
}

/// Writes `v` to `*out` (when `out` is not null).
pub(crate) fn put_buf(out: *mut kpipe_buf, v: Vec<u8>) {
    if !out.is_null() {
        // SAFETY: the caller passes a writable `kpipe_buf*` (header rule 3).
        unsafe { *out = kpipe_buf::from_vec(v) };
    }
}

pub(crate) fn put_json<T: serde::Serialize>(out: *mut kpipe_buf, v: &T) -> Result<()> {
    let bytes = serde_json::to_vec(v)
        .map_err(|e| Error::Internal { reason: format!("JSON output: {e}") })?;
    put_buf(out, bytes);
    Ok(())
}

/// Frees a buffer returned by kpipe. A zeroed buffer is ignored.
///
/// # Safety
///
/// - `buf` is zeroed or a buffer kpipe returned and not freed yet; its bytes must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_buf_free(buf: kpipe_buf) {
    crate::error::quiet((), || {
        if !buf.ptr.is_null() {
            drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
        }
    })
}

/// `len` bytes at `ptr` (null with 0 is empty).
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes `len` readable bytes at `ptr` that outlive the call (rule 2).
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// A UTF-8 string argument; `input.invalid` naming `what` when it is not UTF-8.
pub(crate) fn text<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes(ptr, len)).map_err(|e| Error::InputInvalid {
        what: what.to_string(),
        reason: format!("not UTF-8: {e}"),
    })
}

/// An optional string argument: null pointer means none.
pub(crate) fn opt_text<'a>(ptr: *const u8, len: usize, what: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        text(ptr, len, what).map(Some)
    }
}

/// A JSON argument.
pub(crate) fn json_arg<T: serde::de::DeserializeOwned>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<T> {
    serde_json::from_slice(bytes(ptr, len))
        .map_err(|e| Error::InputInvalid { what: what.to_string(), reason: e.to_string() })
}

// ---- records ----------------------------------------------------------------------------------

/// No key / value.
pub const KPIPE_DATA_NULL: i32 = 0;
/// Raw bytes, sent unchanged whatever the topic's serializer (pre-encoded payloads).
pub const KPIPE_DATA_BYTES: i32 = 1;
/// UTF-8 text, serialized by the topic's serializer (`string`, `bytes`: as is; `json`: quoted).
pub const KPIPE_DATA_STRING: i32 = 2;
/// Natural JSON text (docs/avro.md), serialized by the topic's serializer (Avro, JSON, ...).
pub const KPIPE_DATA_JSON: i32 = 3;

/// The header value length that means a null value (see `kpipe_record`).
pub const KPIPE_HEADER_NULL: u32 = u32::MAX;

/// One record to send, as offsets into the `data` buffer passed beside it (so the record array
/// holds no pointers). Headers are `headers_len` bytes at `headers_off`: per header a
/// little-endian u32 name length, the UTF-8 name, a little-endian u32 value length, the value.
/// The value length `KPIPE_HEADER_NULL` (0xFFFFFFFF, no value bytes follow) sends a null
/// header value, distinct from an empty one (length 0).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kpipe_record {
    pub topic_off: u64,
    pub topic_len: u64,
    /// `KPIPE_DATA_*`
    pub key_kind: i32,
    /// `KPIPE_DATA_*`
    pub value_kind: i32,
    pub key_off: u64,
    pub key_len: u64,
    pub value_off: u64,
    pub value_len: u64,
    pub headers_off: u64,
    pub headers_len: u64,
    /// Milliseconds since the epoch; used when `has_timestamp` is 1.
    pub timestamp_ms: i64,
    pub has_timestamp: i32,
}

/// A key or value read from the data buffer. JSON is parsed into the call's [`JsonTape`]
/// (strings borrowed from the data buffer, one node array for every record of the call).
pub(crate) enum Part<'a> {
    Null,
    Bytes(&'a [u8]),
    Str(&'a str),
    Json(JsonRoot),
}

impl<'a> Part<'a> {
    pub(crate) fn data<'t>(&self, tape: &'t JsonTape<'a>) -> Data<'a, JsonRef<'t, 'a>> {
        match *self {
            Part::Null => Data::Null,
            Part::Bytes(b) => Data::Bytes(b),
            Part::Str(s) => Data::Str(s),
            Part::Json(root) => Data::Value(tape.get(root)),
        }
    }
}

/// A record read from the C layout.
pub(crate) struct Parsed<'a> {
    pub topic: &'a str,
    pub key: Part<'a>,
    pub value: Part<'a>,
    pub headers: Vec<kpipe::Header<'a>>,
    pub timestamp_ms: Option<i64>,
}

fn slice<'a>(data: &'a [u8], off: u64, len: u64, what: &str) -> Result<&'a [u8]> {
    let (o, l) = (off as usize, len as usize);
    data.get(o..o.saturating_add(l)).ok_or_else(|| Error::InputInvalid {
        what: what.into(),
        reason: format!("{off}+{len} is outside the data buffer"),
    })
}

fn part<'a>(
    data: &'a [u8],
    kind: i32,
    off: u64,
    len: u64,
    what: &str,
    tape: &mut JsonTape<'a>,
) -> Result<Part<'a>> {
    Ok(match kind {
        KPIPE_DATA_NULL => Part::Null,
        KPIPE_DATA_BYTES => Part::Bytes(slice(data, off, len, what)?),
        KPIPE_DATA_STRING => {
            let b = slice(data, off, len, what)?;
            Part::Str(std::str::from_utf8(b).map_err(|e| Error::InputInvalid {
                what: what.into(),
                reason: format!("not UTF-8: {e}"),
            })?)
        }
        KPIPE_DATA_JSON => {
            let b = slice(data, off, len, what)?;
            Part::Json(tape.parse(b).map_err(|e| Error::InputInvalid {
                what: what.into(),
                reason: format!("not JSON: {e}"),
            })?)
        }
        k => {
            return Err(Error::InputInvalid {
                what: what.into(),
                reason: format!("unknown data kind {k}"),
            })
        }
    })
}

/// Reads one record of the C layout; its JSON key/value are parsed into `tape`.
pub(crate) fn parse_record<'a>(
    r: &kpipe_record,
    data: &'a [u8],
    tape: &mut JsonTape<'a>,
) -> Result<Parsed<'a>> {
    let topic =
        std::str::from_utf8(slice(data, r.topic_off, r.topic_len, "topic")?).map_err(|e| {
            Error::InputInvalid { what: "topic".into(), reason: format!("not UTF-8: {e}") }
        })?;
    let mut headers = Vec::new();
    let mut h = slice(data, r.headers_off, r.headers_len, "headers")?;
    let bad =
        || Error::InputInvalid { what: "headers".into(), reason: "truncated header block".into() };
    // None: the null length (only meaningful for a value)
    let take = |h: &mut &'a [u8]| -> Result<Option<&'a [u8]>> {
        if h.len() < 4 {
            return Err(bad());
        }
        let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let rest = &h[4..];
        if n == KPIPE_HEADER_NULL {
            *h = rest;
            return Ok(None);
        }
        let n = n as usize;
        if rest.len() < n {
            return Err(bad());
        }
        let (v, tail) = rest.split_at(n);
        *h = tail;
        Ok(Some(v))
    };
    while !h.is_empty() {
        let name = take(&mut h)?.ok_or_else(|| Error::InputInvalid {
            what: "header name".into(),
            reason: "a header name cannot be null".into(),
        })?;
        let name = std::str::from_utf8(name).map_err(|e| Error::InputInvalid {
            what: "header name".into(),
            reason: format!("not UTF-8: {e}"),
        })?;
        let value = take(&mut h)?;
        headers.push((name, value));
    }
    Ok(Parsed {
        topic,
        key: part(data, r.key_kind, r.key_off, r.key_len, "key", tape)?,
        value: part(data, r.value_kind, r.value_off, r.value_len, "value", tape)?,
        headers,
        timestamp_ms: (r.has_timestamp != 0).then_some(r.timestamp_ms),
    })
}

// ---- cancellation -------------------------------------------------------------------------------

/// A cancel token: `kpipe_cancel_trigger` makes the calls waiting on it return
/// `KPIPE_CANCELLED` promptly. Thread-safe; free with `kpipe_cancel_free` once no call uses it.
pub struct kpipe_cancel {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

/// A new, untriggered cancel token.
#[no_mangle]
pub extern "C" fn kpipe_cancel_new() -> *mut kpipe_cancel {
    crate::error::quiet(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(kpipe_cancel {
            flag: AtomicBool::new(false),
            notify: tokio::sync::Notify::new(),
        }))
    })
}

/// Cancels every call waiting on `token` now and later. Callable from any thread.
///
/// # Safety
///
/// - `token` is null or a live `kpipe_cancel` from kpipe (not freed yet).
#[no_mangle]
pub unsafe extern "C" fn kpipe_cancel_trigger(token: *const kpipe_cancel) {
    crate::error::quiet((), || {
        if let Some(t) = unsafe { token.as_ref() } {
            t.flag.store(true, Ordering::SeqCst);
            t.notify.notify_waiters();
        }
    })
}

/// Frees a cancel token (no call may still be using it). Null is ignored.
///
/// # Safety
///
/// - `token` is null or a `kpipe_cancel` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_cancel_free(token: *mut kpipe_cancel) {
    crate::error::quiet((), || {
        if !token.is_null() {
            drop(unsafe { Box::from_raw(token) });
        }
    })
}

/// Runs `fut` unless `token` fires first (`None` then).
pub(crate) async fn cancellable<F: Future>(
    token: Option<&kpipe_cancel>,
    fut: F,
) -> Option<F::Output> {
    let Some(t) = token else { return Some(fut.await) };
    let notified = t.notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if t.flag.load(Ordering::SeqCst) {
        return None;
    }
    tokio::select! {
        r = fut => Some(r),
        _ = notified => None,
    }
}
