//! The consumer handle: subscribe, poll (with decoding to natural JSON), ack/commit, seek,
//! close, and the run step (next / complete / fail) over kpipe's `handling` API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kpipe::avro::{JsonBuilder, JsonSpan, JsonTextBuilder};
use kpipe::config::CommitMode;
use kpipe::session::{AckMode, PollSession};
use kpipe::{
    Consumer, ConsumerOptions, Error, Handling, Message, Outcome, Result, StartAt, Subscription,
};
use serde::Deserialize;
use serde_json::Value;

use crate::client::kpipe_client;
use crate::convert;
use crate::error::{self, guard, kpipe_error};
use crate::{KPIPE_DEAD_LETTERED, KPIPE_ERROR, KPIPE_OK, KPIPE_RETRY, KPIPE_TIMEOUT};

/// A group consumer on one cluster. Thread-safe: any call from any thread, concurrently, except
/// `kpipe_consumer_free`, which must be the last call on it.
pub struct kpipe_consumer {
    session: PollSession,
}

/// The most records one `kpipe_consumer_poll_batch` hands out: the core's poll batch, the same
/// in every binding.
pub const KPIPE_POLL_BATCH: usize = 256;
const _: () = assert!(KPIPE_POLL_BATCH == kpipe::session::POLL_BATCH);

/// One header of a message: UTF-8 name and raw value, pointing into the message. A null
/// header value is `value` NULL with `value_len` 0; an empty one is a non-null `value` with
/// `value_len` 0.
#[repr(C)]
pub struct kpipe_header {
    pub name: *const u8,
    pub name_len: usize,
    pub value: *const u8,
    pub value_len: usize,
}

/// A consumed record. Immutable: readable from any thread; free once with `kpipe_message_free`.
pub struct kpipe_message {
    msg: Arc<Message>,
    /// The decoded key's and value's natural JSON text, side by side.
    json: Vec<u8>,
    key_json: Option<std::ops::Range<usize>>,
    value_json: Option<std::ops::Range<usize>>,
    decode_error: Option<Box<kpipe_error>>,
    headers: Vec<kpipe_header>,
}

/// A record being handled by a run step (`kpipe_consumer_next`). Used from one thread at a
/// time; free with `kpipe_handling_free` after `complete` or the final `fail`.
pub struct kpipe_handling {
    handling: Handling<JsonSpan>,
    message: kpipe_message,
}

/// Natural JSON text of a decoded key and value.
#[derive(Default)]
struct Decoded {
    json: Vec<u8>,
    key: Option<std::ops::Range<usize>>,
    value: Option<std::ops::Range<usize>>,
}

impl Decoded {
    /// From the text builder's spans (`b` is taken).
    fn from_text(b: &mut JsonTextBuilder, key: Option<JsonSpan>, value: Option<JsonSpan>) -> Self {
        let json = std::mem::take(b).into_buffer();
        Decoded { json, key: key.map(|s| s.range()), value: value.map(|s| s.range()) }
    }

    /// From `Value`s (the builder's fallback for maps repeating a key).
    fn from_values(key: Option<Value>, value: Option<Value>) -> Self {
        let mut d = Decoded::default();
        let put = |v: Option<Value>, json: &mut Vec<u8>| {
            v.map(|v| {
                let start = json.len();
                let _ = serde_json::to_writer(&mut *json, &v);
                start..json.len()
            })
        };
        d.key = put(key, &mut d.json);
        d.value = put(value, &mut d.json);
        d
    }
}

/// Everything about a message, pointing into its handle (valid until it is freed). Byte
/// fields are (pointer, length); `has_*` says whether an optional one is present.
/// `key_json`/`value_json`: the decoded key/value as natural JSON (docs/avro.md), when decoding
/// was asked for and succeeded; `decode_error` (borrowed, owned by the message) when it failed.
#[repr(C)]
pub struct kpipe_message_view {
    pub topic: *const u8,
    pub topic_len: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub has_timestamp: i32,
    pub key: *const u8,
    pub key_len: usize,
    pub has_key: i32,
    pub value: *const u8,
    pub value_len: usize,
    pub has_value: i32,
    pub headers: *const kpipe_header,
    pub header_count: usize,
    pub key_json: *const u8,
    pub key_json_len: usize,
    pub has_key_json: i32,
    pub value_json: *const u8,
    pub value_json_len: usize,
    pub has_value_json: i32,
    pub decode_error: *const kpipe_error,
}

fn parts(b: Option<&[u8]>) -> (*const u8, usize, i32) {
    match b {
        Some(b) => (b.as_ptr(), b.len(), 1),
        None => (std::ptr::null(), 0, 0),
    }
}

impl kpipe_message {
    fn new(msg: Arc<Message>, decoded: Decoded, decode_error: Option<&Error>) -> Box<Self> {
        let headers = msg
            .headers
            .iter()
            .map(|(k, v)| kpipe_header {
                name: k.as_ptr(),
                name_len: k.len(),
                // null for a null value; an empty one is a non-null pointer with length 0
                value: v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
                value_len: v.as_ref().map_or(0, Vec::len),
            })
            .collect();
        let decode_error = decode_error.map(|e| {
            kpipe_error::from_details(e.details().at_record(&msg.topic, msg.partition, msg.offset))
        });
        Box::new(kpipe_message {
            msg,
            json: decoded.json,
            key_json: decoded.key,
            value_json: decoded.value,
            decode_error,
            headers,
        })
    }

    fn view(&self) -> kpipe_message_view {
        let m = &self.msg;
        let (key, key_len, has_key) = parts(m.key.as_deref());
        let (value, value_len, has_value) = parts(m.value.as_deref());
        let (key_json, key_json_len, has_key_json) =
            parts(self.key_json.clone().map(|r| &self.json[r]));
        let (value_json, value_json_len, has_value_json) =
            parts(self.value_json.clone().map(|r| &self.json[r]));
        kpipe_message_view {
            topic: m.topic.as_ptr(),
            topic_len: m.topic.len(),
            partition: m.partition,
            offset: m.offset,
            timestamp_ms: m.timestamp_ms.unwrap_or(0),
            has_timestamp: m.timestamp_ms.is_some() as i32,
            key,
            key_len,
            has_key,
            value,
            value_len,
            has_value,
            headers: self.headers.as_ptr(),
            header_count: self.headers.len(),
            key_json,
            key_json_len,
            has_key_json,
            value_json,
            value_json_len,
            has_value_json,
            decode_error: self
                .decode_error
                .as_deref()
                .map_or(std::ptr::null(), |e| e as *const kpipe_error),
        }
    }
}

fn session_ref<'a>(c: *const kpipe_consumer) -> Result<&'a PollSession> {
    // SAFETY: a pointer from kpipe_consumer_new not yet freed, or null (rule 1).
    unsafe { c.as_ref() }.map(|c| &c.session).ok_or_else(|| Error::InputInvalid {
        what: "consumer".into(),
        reason: "null handle".into(),
    })
}

fn consumer_ref<'a>(c: *const kpipe_consumer) -> Result<&'a Consumer> {
    session_ref(c).map(|s| &**s.consumer())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StartJson {
    Name(String),
    Offset { offset: i64 },
    Timestamp { timestamp: i64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsJson {
    group: String,
    #[serde(default)]
    topics: Vec<String>,
    pattern: Option<String>,
    start: Option<StartJson>,
    commit: Option<String>,
    ack: Option<String>,
    cluster: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

fn options(o: OptionsJson) -> Result<(ConsumerOptions, AckMode)> {
    let ack: AckMode =
        o.ack.as_deref().map(|a| kpipe::options::parse("ack", a)).transpose()?.unwrap_or_default();
    let start = match o.start {
        None => StartAt::Committed,
        Some(StartJson::Name(n)) => kpipe::options::parse("start", &n)?,
        Some(StartJson::Offset { offset }) => StartAt::Offset(offset),
        Some(StartJson::Timestamp { timestamp }) => StartAt::Timestamp(timestamp),
    };
    let subscription = match o.pattern {
        Some(p) => Subscription::Pattern(p),
        None => Subscription::Topics(o.topics),
    };
    let opts = ConsumerOptions {
        group: o.group,
        subscription,
        start,
        commit: o
            .commit
            .as_deref()
            .map(|m| kpipe::options::parse::<CommitMode>("commit", m))
            .transpose()?,
        cluster: o.cluster,
        serde: None,
        properties: o.properties.into_iter().collect(),
    };
    Ok((opts, ack))
}

/// Subscribes a group consumer. `options_json` (UTF-8 JSON): `{"group": "g", "topics": ["t"]}`
/// plus optional `"pattern"` (instead of topics; needs `"cluster"`), `"start"` (`"committed"`
/// (default), `"earliest"`, `"latest"`, `{"offset": n}`, `{"timestamp": ms}`), `"commit"`
/// (`"after-handle"`, `"manual"`, `"auto"`; default `consumer.commit`), `"ack"` (`"implicit"`
/// (default): a record handed out is acknowledged when the next is asked for, or on close;
/// `"explicit"`: only `kpipe_consumer_ack`), `"cluster"`, `"properties"` (librdkafka, string
/// values). Null on error.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `options_json` points to `options_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_new(
    client: *const kpipe_client,
    options_json: *const u8,
    options_len: usize,
    err: *mut *mut kpipe_error,
) -> *mut kpipe_consumer {
    guard(err, std::ptr::null_mut(), || {
        let c = crate::client::client_ref(client)?;
        let (opts, ack) =
            options(convert::json_arg(options_json, options_len, "consumer options")?)?;
        // librdkafka's stream consumer registers with the tokio reactor: build it inside kpipe's runtime
        let rt = kpipe::runtime::handle()?;
        let _in_rt = rt.enter();
        let session = PollSession::new(Arc::new(c.consumer(opts)?), ack);
        Ok(Box::into_raw(Box::new(kpipe_consumer { session })))
    })
}

/// Decodes key and value straight to natural JSON text (`JsonTextBuilder`; through
/// `JsonBuilder` in the rare case it asks for it: a map repeating a key).
async fn decode(c: &Consumer, msg: &Message) -> Result<Decoded> {
    let raw = msg.key.as_ref().map_or(0, |k| k.len()) + msg.value.as_ref().map_or(0, |v| v.len());
    let mut b = JsonTextBuilder::with_capacity(2 * raw + 64);
    let k = c.decode_key(msg, &mut b).await?;
    let v = c.decode_value(msg, &mut b).await?;
    if b.needs_fallback() {
        return decode_values(c, msg).await;
    }
    Ok(Decoded::from_text(&mut b, k, v))
}

async fn decode_values(c: &Consumer, msg: &Message) -> Result<Decoded> {
    let k = c.decode_key(msg, &mut JsonBuilder).await?;
    let v = c.decode_value(msg, &mut JsonBuilder).await?;
    Ok(Decoded::from_values(k, v))
}

/// The message handle of `msg`, decoded when `decode_values` is not 0 (a decode failure is
/// kept in the message).
async fn message_of(c: &Consumer, msg: Arc<Message>, decode_values: i32) -> Box<kpipe_message> {
    if decode_values == 0 {
        return kpipe_message::new(msg, Decoded::default(), None);
    }
    match decode(c, &msg).await {
        Ok(d) => kpipe_message::new(msg, d, None),
        Err(e) => kpipe_message::new(msg, Decoded::default(), Some(&e)),
    }
}

/// Waits up to `timeout_ms` for the next record. `KPIPE_OK`: `*out` is a new message (and
/// `*view`, when not null, describes it); with `decode` 1 its key and value were decoded (a
/// decode failure is in `view->decode_error`, not an error of the call). `KPIPE_TIMEOUT`:
/// nothing arrived. `KPIPE_ERROR`: `*err`. With `"ack": "implicit"` the previous record handed
/// out is acknowledged now; with `"explicit"` each is in flight until `kpipe_consumer_ack`.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `out` is valid for writing one `kpipe_message *` (null is refused with `input.invalid`).
/// - `view` is null or valid for writing one `kpipe_message_view`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_poll(
    consumer: *const kpipe_consumer,
    timeout_ms: i64,
    decode_values: i32,
    out: *mut *mut kpipe_message,
    view: *mut kpipe_message_view,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let s = session_ref(consumer)?;
        if out.is_null() {
            return Err(Error::InputInvalid {
                what: "poll".into(),
                reason: "null out pointer".into(),
            });
        }
        let got = kpipe::runtime::block_on(async {
            let Some(m) = s.next(Duration::from_millis(timeout_ms.max(0) as u64)).await? else {
                return Ok::<_, Error>(None);
            };
            Ok(Some(message_of(s.consumer(), m, decode_values).await))
        })??;
        let Some(m) = got else { return Ok(KPIPE_TIMEOUT) };
        if !view.is_null() {
            unsafe { *view = m.view() };
        }
        unsafe { *out = Box::into_raw(m) };
        Ok(KPIPE_OK)
    })
}

/// Like `kpipe_consumer_poll`, for up to `max` (at most `KPIPE_POLL_BATCH`) records in one
/// call, lent to a caller that hands them out itself: waits up to `timeout_ms` for the first,
/// then takes the records already fetched (no further wait). `KPIPE_OK`: `*count` (>= 1) new
/// messages in `outs[0..*count]`, described by `views[0..*count]` (when `views` is not null);
/// free each. `KPIPE_TIMEOUT`: none arrived (`*count` 0). `KPIPE_ERROR`: `*err`, no message
/// (an error after the first record ends the batch instead; the next call reports it).
/// Report each record as it is handed to the user with `kpipe_consumer_handed` (that is what
/// acknowledges the previous one with `"ack": "implicit"`); records lent and never handed
/// out are not acknowledged. This call acknowledges the previous record handed out
/// (implicit mode).
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `outs` is valid for writing `max` `kpipe_message *` values.
/// - `views` is valid for writing `max` `kpipe_message_view` values (or null).
/// - `count` is null or valid for writing one `usize`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_poll_batch(
    consumer: *const kpipe_consumer,
    timeout_ms: i64,
    decode_values: i32,
    max: usize,
    outs: *mut *mut kpipe_message,
    views: *mut kpipe_message_view,
    count: *mut usize,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let s = session_ref(consumer)?;
        if outs.is_null() || count.is_null() || max == 0 {
            return Err(Error::InputInvalid {
                what: "poll_batch".into(),
                reason: "null out pointer or max 0".into(),
            });
        }
        unsafe { *count = 0 };
        let got = kpipe::runtime::block_on(async {
            let lent = s.next_batch(Duration::from_millis(timeout_ms.max(0) as u64), max).await?;
            let mut got = Vec::with_capacity(lent.len());
            for m in lent {
                got.push(message_of(s.consumer(), m, decode_values).await);
            }
            Ok::<_, Error>(got)
        })??;
        if got.is_empty() {
            return Ok(KPIPE_TIMEOUT);
        }
        let n = got.len();
        for (i, m) in got.into_iter().enumerate() {
            if !views.is_null() {
                unsafe { *views.add(i) = m.view() };
            }
            unsafe { *outs.add(i) = Box::into_raw(m) };
        }
        unsafe { *count = n };
        Ok(KPIPE_OK)
    })
}

/// Fills `*view` for `msg`.
///
/// # Safety
///
/// - `msg` is null or a live `kpipe_message` from kpipe (not freed yet).
/// - `view` is null or valid for writing one `kpipe_message_view`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_message_view_of(
    msg: *const kpipe_message,
    view: *mut kpipe_message_view,
) {
    error::quiet((), || {
        if let (Some(m), false) = (unsafe { msg.as_ref() }, view.is_null()) {
            unsafe { *view = m.view() };
        }
    })
}

/// Frees a message. Null is ignored.
///
/// # Safety
///
/// - `msg` is null or a `kpipe_message` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_message_free(msg: *mut kpipe_message) {
    error::quiet((), || {
        if !msg.is_null() {
            drop(unsafe { Box::from_raw(msg) });
        }
    })
}

/// A record lent by `kpipe_consumer_poll_batch` is handed to the user: with `"ack":
/// "implicit"` the previous record handed out is acknowledged now.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_handed(
    consumer: *const kpipe_consumer,
    topic: *const u8,
    topic_len: usize,
    partition: i32,
    offset: i64,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let topic = convert::text(topic, topic_len, "topic")?;
        session_ref(consumer)?.handed(topic, partition, offset)?;
        Ok(KPIPE_OK)
    })
}

/// Marks the record (`topic`, `partition`, `offset`) handled: its offset becomes committable
/// once every earlier record of its partition is handled too (committed by `after-handle`'s
/// timer, `kpipe_consumer_commit`, revoke or close). The message handle may already be freed.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_ack(
    consumer: *const kpipe_consumer,
    topic: *const u8,
    topic_len: usize,
    partition: i32,
    offset: i64,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let topic = convert::text(topic, topic_len, "topic")?;
        let m = Message {
            topic: topic.into(),
            partition,
            offset,
            timestamp_ms: None,
            key: None,
            value: None,
            headers: Vec::new(),
        };
        consumer_ref(consumer)?.ack(&m)?;
        Ok(KPIPE_OK)
    })
}

/// Commits every committable offset now and waits for the broker (no-op with `auto`). With
/// `has_record` 1 the record (`topic`, `partition`, `offset`) is acknowledged first; with 0,
/// under `"ack": "implicit"`, the last record handed out is (the caller is done with it).
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_commit(
    consumer: *const kpipe_consumer,
    has_record: i32,
    topic: *const u8,
    topic_len: usize,
    partition: i32,
    offset: i64,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let record = if has_record != 0 {
            Some((convert::text(topic, topic_len, "topic")?, partition, offset))
        } else {
            None
        };
        session_ref(consumer)?.commit(record)?;
        Ok(KPIPE_OK)
    })
}

/// Moves an assigned partition to `offset` (records of it in flight are forgotten).
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_seek(
    consumer: *const kpipe_consumer,
    topic: *const u8,
    topic_len: usize,
    partition: i32,
    offset: i64,
    timeout_ms: i64,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let s = session_ref(consumer)?;
        s.seek(
            convert::text(topic, topic_len, "topic")?,
            partition,
            offset,
            Duration::from_millis(timeout_ms.max(0) as u64),
        )?;
        Ok(KPIPE_OK)
    })
}

/// Assigned partitions with position and lag, as JSON `[{"topic", "partition", "position",
/// "high_watermark", "lag"}]` in `*out` (free with `kpipe_buf_free`).
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `out` is null or valid for writing one `convert::kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_lag(
    consumer: *const kpipe_consumer,
    timeout_ms: i64,
    out: *mut convert::kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let lag = consumer_ref(consumer)?.lag(Duration::from_millis(timeout_ms.max(0) as u64))?;
        let rows: Vec<Value> = lag
            .iter()
            .map(|l| serde_json::json!({"topic": l.topic, "partition": l.partition, "position": l.position, "high_watermark": l.high_watermark, "lag": l.lag}))
            .collect();
        convert::put_json(out, &rows)?;
        Ok(KPIPE_OK)
    })
}

/// Commits what was handled (with `"ack": "implicit"` the last record handed out counts as
/// handled) and leaves the group. Idempotent; later calls fail `closed`. The handle stays
/// allocated until `kpipe_consumer_free`.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_close(
    consumer: *const kpipe_consumer,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let rt = kpipe::runtime::handle()?;
        let _in_rt = rt.enter();
        session_ref(consumer)?.close()?;
        Ok(KPIPE_OK)
    })
}

/// Closes (if needed) and frees the consumer. Null is ignored.
///
/// # Safety
///
/// - `consumer` is null or a `kpipe_consumer` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_free(consumer: *mut kpipe_consumer) {
    error::quiet((), || {
        if !consumer.is_null() {
            let c = unsafe { Box::from_raw(consumer) };
            let rt = kpipe::runtime::handle().ok();
            let _in_rt = rt.as_ref().map(|h| h.enter());
            let _ = c.session.close();
            drop(c);
        }
    })
}

// ---- the run step ---------------------------------------------------------------------------

/// One run step: polls (up to `timeout_ms`) and decodes the next record. `KPIPE_OK`: `*out`
/// is a new handling and `*view` (when not null) describes its message with the decoded key
/// and value; run the handler, then `kpipe_handling_complete` or `kpipe_handling_fail`.
/// `KPIPE_TIMEOUT`: nothing to handle (no record, or an undecodable one that went to the DLQ);
/// call again. `KPIPE_ERROR`: `*err` (`closed` once the consumer is closed).
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `out` is valid for writing one `kpipe_handling *` (null is refused with `input.invalid`).
/// - `view` is null or valid for writing one `kpipe_message_view`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_next(
    consumer: *const kpipe_consumer,
    timeout_ms: i64,
    out: *mut *mut kpipe_handling,
    view: *mut kpipe_message_view,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let s = session_ref(consumer)?;
        let c = s.consumer();
        if out.is_null() {
            return Err(Error::InputInvalid {
                what: "next".into(),
                reason: "null out pointer".into(),
            });
        }
        let mut b = JsonTextBuilder::new();
        let next = kpipe::runtime::block_on(
            s.next_handling(&mut b, Duration::from_millis(timeout_ms.max(0) as u64)),
        )??;
        let Some(h) = next else { return Ok(KPIPE_TIMEOUT) };
        let decoded = if b.needs_fallback() {
            // decoded once already (the schemas are cached): again through JsonBuilder
            kpipe::runtime::block_on(decode_values(c, &h.message))??
        } else {
            Decoded::from_text(&mut b, h.key, h.value)
        };
        let message = *kpipe_message::new(h.message.clone(), decoded, None);
        let b = Box::new(kpipe_handling { handling: h, message });
        if !view.is_null() {
            unsafe { *view = b.message.view() };
        }
        unsafe { *out = Box::into_raw(b) };
        Ok(KPIPE_OK)
    })
}

/// The handler succeeded: the record counts as handled.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `h` is null or a live `kpipe_handling` from kpipe (not freed yet).
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_handling_complete(
    consumer: *const kpipe_consumer,
    h: *const kpipe_handling,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let h = unsafe { h.as_ref() }.ok_or_else(|| Error::InputInvalid {
            what: "handling".into(),
            reason: "null handle".into(),
        })?;
        consumer_ref(consumer)?.complete(&h.handling)?;
        Ok(KPIPE_OK)
    })
}

/// The handler failed with `message` (UTF-8; becomes a `handler.failed` error). `KPIPE_RETRY`:
/// call the handler again after `*retry_after_ms`; `*attempt` is the attempt that failed (from
/// 1). `KPIPE_DEAD_LETTERED`: attempts are used up, the record was written to the DLQ (with the
/// kpipe.* headers) and acknowledged. `KPIPE_ERROR`: the DLQ write failed (or no DLQ is
/// configured); the record stays uncommitted.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `h` is null or a live `kpipe_handling` from kpipe (not freed yet).
/// - `message` points to `message_len` readable bytes (it may be null when `message_len` is 0), valid for the whole call.
/// - `retry_after_ms` is null or valid for writing one `i64`.
/// - `attempt` is null or valid for writing one `u32`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_handling_fail(
    consumer: *const kpipe_consumer,
    h: *mut kpipe_handling,
    message: *const u8,
    message_len: usize,
    retry_after_ms: *mut i64,
    attempt: *mut u32,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let c = consumer_ref(consumer)?;
        let h = unsafe { h.as_mut() }.ok_or_else(|| Error::InputInvalid {
            what: "handling".into(),
            reason: "null handle".into(),
        })?;
        let text = String::from_utf8_lossy(convert::bytes(message, message_len)).into_owned();
        let outcome = kpipe::runtime::block_on(c.fail(&mut h.handling, &Error::handler(text)))??;
        Ok(match outcome {
            Outcome::Retry { after, attempt: a } => {
                if !retry_after_ms.is_null() {
                    unsafe { *retry_after_ms = after.as_millis() as i64 };
                }
                if !attempt.is_null() {
                    unsafe { *attempt = a };
                }
                KPIPE_RETRY
            }
            Outcome::DeadLettered => {
                if !attempt.is_null() {
                    unsafe { *attempt = h.handling.failed_attempts() };
                }
                KPIPE_DEAD_LETTERED
            }
        })
    })
}

/// Frees a handling. Null is ignored.
///
/// # Safety
///
/// - `h` is null or a `kpipe_handling` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_handling_free(h: *mut kpipe_handling) {
    error::quiet((), || {
        if !h.is_null() {
            drop(unsafe { Box::from_raw(h) });
        }
    })
}

/// Ends a run: with `commit: after-handle`, commits what was handled and waits for it.
///
/// # Safety
///
/// - `consumer` is null or a live `kpipe_consumer` from kpipe (not freed yet).
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_consumer_finish_run(
    consumer: *const kpipe_consumer,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        consumer_ref(consumer)?.finish_run()?;
        Ok(KPIPE_OK)
    })
}
