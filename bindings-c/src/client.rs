//! The client handle: config, per-topic serializers, send / send_many / flush / close.

use std::time::Duration;

use kpipe::avro::{JsonRef, JsonTape};
use kpipe::{Client, Delivery, Error, Outgoing, Result, Serde, TopicSerde};

use crate::convert::{self, cancellable, kpipe_cancel, kpipe_record};
use crate::error::{self, guard, kpipe_error};
use crate::{KPIPE_CANCELLED, KPIPE_ERROR, KPIPE_OK};

/// A kpipe client (one kpipe.yaml). Thread-safe: any call from any thread, concurrently, except
/// `kpipe_client_free`, which must be the last call on it.
pub struct kpipe_client {
    pub(crate) client: Client,
}

/// Where a record was written. `cluster` points into the client (valid until
/// `kpipe_client_free`), UTF-8, `cluster_len` bytes, not NUL-terminated.
#[repr(C)]
pub struct kpipe_delivery {
    pub cluster: *const u8,
    pub cluster_len: usize,
    pub partition: i32,
    pub offset: i64,
    /// As the broker stored it; valid when `has_timestamp` is 1.
    pub timestamp_ms: i64,
    pub has_timestamp: i32,
}

impl kpipe_delivery {
    fn new(client: &Client, d: &Delivery) -> Self {
        // point at the config's own copy of the name: it lives as long as the client
        let name = client
            .config()
            .clusters
            .get_key_value(&*d.cluster)
            .map(|(k, _)| k.as_str())
            .unwrap_or("");
        kpipe_delivery {
            cluster: name.as_ptr(),
            cluster_len: name.len(),
            partition: d.partition,
            offset: d.offset,
            timestamp_ms: d.timestamp_ms.unwrap_or(0),
            has_timestamp: d.timestamp_ms.is_some() as i32,
        }
    }
}

fn boxed(client: Result<Client>) -> Result<*mut kpipe_client> {
    Ok(Box::into_raw(Box::new(kpipe_client { client: client? })))
}

pub(crate) fn client_ref<'a>(c: *const kpipe_client) -> Result<&'a Client> {
    // SAFETY: a pointer from kpipe_client_open/_from_yaml not yet freed, or null (rule 1).
    unsafe { c.as_ref() }
        .map(|c| &c.client)
        .ok_or_else(|| Error::InputInvalid { what: "client".into(), reason: "null handle".into() })
}

/// Opens a client from a kpipe.yaml file (`path`: UTF-8, `path_len` bytes). Env overrides apply.
/// Null on error (`*err` set).
///
/// # Safety
///
/// - `path` points to `path_len` readable bytes (it may be null when `path_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_open(
    path: *const u8,
    path_len: usize,
    err: *mut *mut kpipe_error,
) -> *mut kpipe_client {
    guard(err, std::ptr::null_mut(), || {
        boxed(Client::from_file(convert::text(path, path_len, "config path")?))
    })
}

/// A client from kpipe.yaml text (relative schema paths start at the current directory).
///
/// # Safety
///
/// - `yaml` points to `yaml_len` readable bytes (it may be null when `yaml_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_from_yaml(
    yaml: *const u8,
    yaml_len: usize,
    err: *mut *mut kpipe_error,
) -> *mut kpipe_client {
    guard(err, std::ptr::null_mut(), || {
        boxed(
            kpipe::config::Config::from_yaml(convert::text(yaml, yaml_len, "config")?)
                .and_then(Client::from_config),
        )
    })
}

/// The serializer of kind `kind` (`bytes`, `string`, `json`, `avro`) with its reader
/// (`schema`, `writer`, `latest`); both parsed by the core.
fn serde(
    kind: &str,
    schema: Option<&str>,
    what: &str,
    reader: Option<&str>,
    reader_field: &str,
) -> Result<Serde> {
    kpipe::options::serde(what, kind, schema.map(Into::into), reader_field, reader)
}

/// Sets the serializers of `topic` (beats kpipe.yaml's `serializers:`). `*_serde` is the
/// serializer's kind as text (`bytes`, `string`, `json` or `avro`, as kpipe.yaml spells it);
/// `*_schema` is Avro schema text or null. Consumers read Avro records as that schema (see
/// `kpipe_client_set_topic_serde_readers` for another reader).
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `key_serde` points to `key_serde_len` readable bytes (it may be null when `key_serde_len` is 0), valid for the whole call.
/// - `key_schema` points to `key_schema_len` readable bytes (it may be null when `key_schema_len` is 0), valid for the whole call.
/// - `value_serde` points to `value_serde_len` readable bytes (it may be null when `value_serde_len` is 0), valid for the whole call.
/// - `value_schema` points to `value_schema_len` readable bytes (it may be null when `value_schema_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_set_topic_serde(
    client: *const kpipe_client,
    topic: *const u8,
    topic_len: usize,
    key_serde: *const u8,
    key_serde_len: usize,
    key_schema: *const u8,
    key_schema_len: usize,
    value_serde: *const u8,
    value_serde_len: usize,
    value_schema: *const u8,
    value_schema_len: usize,
    err: *mut *mut kpipe_error,
) -> i32 {
    kpipe_client_set_topic_serde_readers(
        client,
        topic,
        topic_len,
        key_serde,
        key_serde_len,
        key_schema,
        key_schema_len,
        std::ptr::null(),
        0,
        value_serde,
        value_serde_len,
        value_schema,
        value_schema_len,
        std::ptr::null(),
        0,
        err,
    )
}

/// `kpipe_client_set_topic_serde` with the schema consumers read Avro records as:
/// `*_reader` is `schema` (the serializer's schema; the default), `writer` (each record as
/// written) or `latest` (the subject's latest version), as text, or null for the default.
/// A reader for a serializer that is not `avro`, or an unknown one, is `config.invalid`
/// naming `reader` / `key_reader`.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `topic` points to `topic_len` readable bytes (it may be null when `topic_len` is 0), valid for the whole call.
/// - `key_serde` points to `key_serde_len` readable bytes (it may be null when `key_serde_len` is 0), valid for the whole call.
/// - `key_schema` points to `key_schema_len` readable bytes (it may be null when `key_schema_len` is 0), valid for the whole call.
/// - `key_reader` points to `key_reader_len` readable bytes (it may be null when `key_reader_len` is 0), valid for the whole call.
/// - `value_serde` points to `value_serde_len` readable bytes (it may be null when `value_serde_len` is 0), valid for the whole call.
/// - `value_schema` points to `value_schema_len` readable bytes (it may be null when `value_schema_len` is 0), valid for the whole call.
/// - `value_reader` points to `value_reader_len` readable bytes (it may be null when `value_reader_len` is 0), valid for the whole call.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // a C ABI: (pointer, length) pairs, one per text
pub unsafe extern "C" fn kpipe_client_set_topic_serde_readers(
    client: *const kpipe_client,
    topic: *const u8,
    topic_len: usize,
    key_serde: *const u8,
    key_serde_len: usize,
    key_schema: *const u8,
    key_schema_len: usize,
    key_reader: *const u8,
    key_reader_len: usize,
    value_serde: *const u8,
    value_serde_len: usize,
    value_schema: *const u8,
    value_schema_len: usize,
    value_reader: *const u8,
    value_reader_len: usize,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let c = client_ref(client)?;
        let topic = convert::text(topic, topic_len, "topic")?;
        let key_kind = convert::text(key_serde, key_serde_len, "key")?;
        let value_kind = convert::text(value_serde, value_serde_len, "value")?;
        let key = serde(
            key_kind,
            convert::opt_text(key_schema, key_schema_len, "key schema")?,
            "key",
            convert::opt_text(key_reader, key_reader_len, "key_reader")?,
            "key_reader",
        )?;
        let value = serde(
            value_kind,
            convert::opt_text(value_schema, value_schema_len, "value schema")?,
            "value",
            convert::opt_text(value_reader, value_reader_len, "reader")?,
            "reader",
        )?;
        c.set_topic_serde(topic, TopicSerde { key, value });
        Ok(KPIPE_OK)
    })
}

fn outgoing<'t, 'a: 't>(
    p: &'t convert::Parsed<'a>,
    tape: &'t JsonTape<'a>,
) -> Outgoing<'t, JsonRef<'t, 'a>, JsonRef<'t, 'a>> {
    Outgoing {
        topic: p.topic,
        key: p.key.data(tape),
        value: p.value.data(tape),
        headers: &p.headers,
        timestamp_ms: p.timestamp_ms,
        serde: None,
    }
}

/// Sends one record (`rec`, offsets into `data`) and waits for its acknowledgement; fills
/// `*out`. `cancel` (nullable) stops the wait: `KPIPE_CANCELLED` (the record may still be
/// written). Returns `KPIPE_OK`, `KPIPE_CANCELLED` or `KPIPE_ERROR`.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `rec` is null or points to a readable `kpipe_record`.
/// - `data` points to `data_len` readable bytes (it may be null when `data_len` is 0), valid for the whole call.
/// - `cancel` is null or a live `kpipe_cancel` from kpipe (not freed yet).
/// - `out` is null or valid for writing one `kpipe_delivery`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_send(
    client: *const kpipe_client,
    rec: *const kpipe_record,
    data: *const u8,
    data_len: usize,
    cancel: *const kpipe_cancel,
    out: *mut kpipe_delivery,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let c = client_ref(client)?;
        let rec = unsafe { rec.as_ref() }
            .ok_or_else(|| Error::InputInvalid { what: "record".into(), reason: "null".into() })?;
        let mut tape = JsonTape::new();
        let parsed = convert::parse_record(rec, convert::bytes(data, data_len), &mut tape)?;
        let token = unsafe { cancel.as_ref() };
        let r =
            kpipe::runtime::block_on(cancellable(token, c.send_record(outgoing(&parsed, &tape))))?;
        match r {
            None => Ok(KPIPE_CANCELLED),
            Some(d) => {
                let d = d?;
                if !out.is_null() {
                    unsafe { *out = kpipe_delivery::new(c, &d) };
                }
                Ok(KPIPE_OK)
            }
        }
    })
}

/// Sends `n` records (queued back to back) and waits for every acknowledgement. Per record i,
/// `outs[i]` is filled on success and `errs[i]` (an array of `n` pointers, set to null first)
/// receives its error otherwise (free each non-null one). `KPIPE_OK` when the call ran (check
/// `errs`), `KPIPE_CANCELLED`, or `KPIPE_ERROR` (`*err`; no record was sent).
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `recs` points to `n` readable `kpipe_record` values (each following the header's rules), valid for the whole call.
/// - `data` points to `data_len` readable bytes (it may be null when `data_len` is 0), valid for the whole call.
/// - `cancel` is null or a live `kpipe_cancel` from kpipe (not freed yet).
/// - `outs` is valid for writing `n` `kpipe_delivery` values.
/// - `errs` is valid for writing `n` `kpipe_error *` values.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_send_many(
    client: *const kpipe_client,
    recs: *const kpipe_record,
    n: usize,
    data: *const u8,
    data_len: usize,
    cancel: *const kpipe_cancel,
    outs: *mut kpipe_delivery,
    errs: *mut *mut kpipe_error,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let c = client_ref(client)?;
        if n > 0 && (recs.is_null() || outs.is_null() || errs.is_null()) {
            return Err(Error::InputInvalid {
                what: "send_many".into(),
                reason: "null array".into(),
            });
        }
        let recs = if n == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(recs, n) } };
        let data = convert::bytes(data, data_len);
        for i in 0..n {
            unsafe { *errs.add(i) = std::ptr::null_mut() };
        }
        // every record's JSON in one tape (no allocation per value, strings borrowed from data)
        let mut tape = JsonTape::new();
        let parsed: Vec<Result<convert::Parsed<'_>>> =
            recs.iter().map(|r| convert::parse_record(r, data, &mut tape)).collect();
        let tape = &tape;
        let token = unsafe { cancel.as_ref() };
        let ok = parsed.iter().filter_map(|p| p.as_ref().ok()).map(|p| outgoing(p, tape));
        let r = kpipe::runtime::block_on(cancellable(token, c.send_many(ok)))?;
        let Some(results) = r else { return Ok(KPIPE_CANCELLED) };
        let mut results = results?.into_iter();
        for (i, p) in parsed.iter().enumerate() {
            let r = match p {
                Err(e) => {
                    Err(Error::InputInvalid { what: format!("record {i}"), reason: e.to_string() })
                }
                Ok(_) => results
                    .next()
                    .unwrap_or_else(|| Err(Error::Internal { reason: "missing result".into() })),
            };
            match r {
                Ok(d) => unsafe { *outs.add(i) = kpipe_delivery::new(c, &d) },
                Err(e) => error::set(unsafe { errs.add(i) }, &e),
            }
        }
        Ok(KPIPE_OK)
    })
}

/// Waits up to `timeout_ms` until every record queued so far is delivered or failed
/// (`kafka.timeout` when some are still in flight).
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_flush(
    client: *const kpipe_client,
    timeout_ms: i64,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        client_ref(client)?.flush(Duration::from_millis(timeout_ms.max(0) as u64))?;
        Ok(KPIPE_OK)
    })
}

/// Flushes (up to `producer.delivery_timeout_ms`) and closes; later calls fail `closed`.
/// Idempotent. The handle stays allocated until `kpipe_client_free`.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_close(
    client: *const kpipe_client,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        client_ref(client)?.close()?;
        Ok(KPIPE_OK)
    })
}

/// Closes (flushing) and frees the client. Free its consumers first: they share its producers
/// (dead letters) and closed state. Null is ignored.
///
/// # Safety
///
/// - `client` is null or a `kpipe_client` from kpipe not freed yet; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn kpipe_client_free(client: *mut kpipe_client) {
    error::quiet((), || {
        if !client.is_null() {
            let c = unsafe { Box::from_raw(client) };
            let _ = c.client.close();
        }
    })
}
