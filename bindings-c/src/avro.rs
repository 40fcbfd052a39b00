//! Registry-free Avro encode/decode of natural JSON against a schema: what the conformance
//! vectors check (tests/conformance), and a way to test values without a broker.

use kpipe::avro::{self, CompiledSchema, JsonTape};

use crate::convert::{self, kpipe_buf};
use crate::error::{guard, kpipe_error};
use crate::{KPIPE_ERROR, KPIPE_OK};

/// Encodes natural JSON `value_json` with `schema` (Avro schema JSON) into `*out`: the Avro
/// body, without the 5-byte registry header. `serde.encode` names the field path on a bad value.
///
/// # Safety
///
/// - `schema` points to `schema_len` readable bytes (it may be null when `schema_len` is 0), valid for the whole call.
/// - `value_json` points to `value_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_avro_encode(
    schema: *const u8,
    schema_len: usize,
    value_json: *const u8,
    value_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let schema = CompiledSchema::parse(convert::text(schema, schema_len, "schema")?)?;
        // the same value source as kpipe_send's (a borrowed tape of the JSON text)
        let mut tape = JsonTape::new();
        let root = tape.parse(convert::bytes(value_json, value_len)).map_err(|e| {
            kpipe::Error::InputInvalid { what: "value".into(), reason: e.to_string() }
        })?;
        let mut body = Vec::with_capacity(64);
        avro::encode(&schema, &tape.get(root), &mut body)?;
        convert::put_buf(out, body);
        Ok(KPIPE_OK)
    })
}

/// Decodes an Avro body (no registry header) with `schema` into natural JSON in `*out`.
///
/// # Safety
///
/// - `schema` points to `schema_len` readable bytes (it may be null when `schema_len` is 0), valid for the whole call.
/// - `body` points to `body_len` readable bytes (it may be null when `body_len` is 0), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_avro_decode(
    schema: *const u8,
    schema_len: usize,
    body: *const u8,
    body_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    guard(err, KPIPE_ERROR, || {
        let schema = CompiledSchema::parse(convert::text(schema, schema_len, "schema")?)?;
        // the same text writer as polled messages'
        convert::put_buf(
            out,
            avro::decode_to_json_text(&schema, None, convert::bytes(body, body_len))?,
        );
        Ok(KPIPE_OK)
    })
}
