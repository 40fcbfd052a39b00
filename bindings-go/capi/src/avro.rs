//! Registry-free Avro encode/decode of natural JSON against a schema: what the conformance
//! vectors check (tests/conformance), and a way to test values without a broker.

use kpipe::avro::{self, CompiledSchema};

use crate::convert::{self, kpipe_buf};
use crate::error::{guard, kpipe_error};
use crate::{KPIPE_ERROR, KPIPE_OK};

/// Encodes natural JSON `value_json` with `schema` (Avro schema JSON) into `*out`: the Avro
/// body, without the 5-byte registry header. `serde.encode` names the field path on a bad value.
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
        let value: serde_json::Value = convert::json_arg(value_json, value_len, "value")?;
        convert::put_buf(out, avro::json_to_avro(&schema, &value)?);
        Ok(KPIPE_OK)
    })
}

/// Decodes an Avro body (no registry header) with `schema` into natural JSON in `*out`.
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
        let v = avro::avro_to_json(&schema, convert::bytes(body, body_len))?;
        convert::put_json(out, &v)?;
        Ok(KPIPE_OK)
    })
}
