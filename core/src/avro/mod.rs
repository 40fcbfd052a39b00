//! Avro for kpipe: the Confluent wire format, schemas compiled once into a plan, encoding from
//! any binding's native values through [`ValueSource`], decoding into them through
//! [`ValueBuilder`], natural JSON, schema resolution and subject name strategies.
//!
//! ```
//! use kpipe::avro::{self, CompiledSchema, JsonBuilder};
//! let schema = CompiledSchema::parse(r#"{"type":"record","name":"T","fields":[{"name":"a","type":"long"}]}"#)?;
//! let mut buf = Vec::new();
//! avro::encode_framed(7, &schema, &&serde_json::json!({"a": 3}), &mut buf)?;
//! assert_eq!(buf, [0, 0, 0, 0, 7, 6]);
//! let (id, body) = avro::split_header(&buf)?;
//! let value = avro::decode(&schema, None, body, &mut JsonBuilder)?;
//! assert_eq!((id, value), (7, serde_json::json!({"a": 3})));
//! # Ok::<(), kpipe::Error>(())
//! ```
//!
//! The rules (union resolution, decimals, natural JSON, error paths) are in docs/avro.md.

mod apache;
mod builder;
mod decode;
mod encode;
mod json;
mod json_tape;
mod json_text;
mod logical;
mod plan;
mod resolve;
mod source;
mod subject;

pub use apache::ApacheBuilder;
pub use builder::{RecordInfo, Skip, UnionBranch, ValueBuilder};
pub use decode::MAX_ZERO_SIZE_ITEMS;
pub use encode::MAX_DEPTH;
pub use json::JsonBuilder;
pub use json_tape::{JsonRef, JsonRoot, JsonTape};
pub use json_text::{decode_to_json_text, JsonSpan, JsonTextBuilder};
pub use logical::civil_from_days;
pub use plan::{CompiledSchema, TemporalKind};
pub use resolve::Projection;
pub use source::{Branch, DecimalRef, Kind, Temporal, ValueSource};
pub use subject::SubjectStrategy;

use apache_avro::Schema;

use crate::error::{Error, Result};

/// The first byte of every Confluent-framed payload.
pub const MAGIC: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// Splits a Confluent-framed payload into its schema id and Avro body (`serde.bad_magic` when
/// it is shorter than 5 bytes or does not start with 0x00).
pub fn split_header(payload: &[u8]) -> Result<(u32, &[u8])> {
    if payload.len() < HEADER_LEN {
        return Err(Error::SerdeBadMagic {
            reason: format!("{} bytes is shorter than the 5-byte header", payload.len()),
        });
    }
    if payload[0] != MAGIC {
        return Err(Error::SerdeBadMagic {
            reason: format!("first byte is {:#04x}, not 0x00", payload[0]),
        });
    }
    let id = u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
    Ok((id, &payload[HEADER_LEN..]))
}

/// Appends the 5-byte Confluent header for `schema_id`.
pub fn write_header(schema_id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Parses an Avro schema, mapping failures to `schema.invalid`: apache-avro's validation plus
/// kpipe's (every field default valid for its type, a union's for its first branch), so
/// compatibility checks reject what [`CompiledSchema::parse`] rejects.
pub fn parse_schema(text: &str) -> Result<Schema> {
    Ok(CompiledSchema::parse(text)?.schema().clone())
}

/// apache-avro's parse alone (what [`CompiledSchema::parse`] starts from).
pub(crate) fn parse_apache(text: &str) -> Result<Schema> {
    Schema::parse_str(text).map_err(Error::schema_invalid)
}

/// Appends the Avro binary body of `value` to `out`. On error (`serde.encode`, naming the path
/// and expected type) `out` is left as it was.
pub fn encode<S: ValueSource>(schema: &CompiledSchema, value: &S, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let enc = encode::Enc { nodes: schema.nodes(), default_mode: false };
    enc.write(schema.root(), value, out, 0).map_err(|mut e| {
        out.truncate(start);
        if let Error::SerdeEncode { path, .. } = &mut e {
            path.insert_str(0, schema.path_root());
        }
        e
    })
}

/// Appends header + body: the Confluent-framed payload. `out` is not cleared (reuse one buffer
/// per producer and clear it yourself); on error it is left as it was.
pub fn encode_framed<S: ValueSource>(
    schema_id: u32,
    schema: &CompiledSchema,
    value: &S,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    write_header(schema_id, out);
    encode(schema, value, out).inspect_err(|_| out.truncate(start))?;
    if schema.is_raw_bytes() {
        // Confluent's Java, Python and JS serializers write a top-level `bytes` value as the raw
        // bytes after the header: drop the Avro length prefix the body starts with.
        let body = start + HEADER_LEN;
        let prefix = varint_len(&out[body..]);
        out.drain(body..body + prefix);
    }
    Ok(())
}

/// Length in bytes of the zigzag varint at the start of `b` (at most 10; `b.len()` if it does
/// not end).
fn varint_len(b: &[u8]) -> usize {
    b.iter().take(10).position(|x| x & 0x80 == 0).map_or(b.len().min(10), |i| i + 1)
}

/// The Avro body of what follows a Confluent header, for decoding with `writer`: the body
/// itself, except for a top-level `bytes` schema, whose framed form is the raw bytes (see
/// [`encode_framed`]); they are given the Avro length prefix the decoder expects.
pub fn framed_body<'a>(writer: &CompiledSchema, body: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if !writer.is_raw_bytes() {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut avro = Vec::with_capacity(body.len() + 10);
    encode::write_long(&mut avro, body.len() as i64);
    avro.extend_from_slice(body);
    std::borrow::Cow::Owned(avro)
}

/// Decodes a Confluent-framed payload's body (after [`split_header`]) written with `writer`:
/// [`decode`] of [`framed_body`].
pub fn decode_framed_body<B: ValueBuilder>(
    writer: &CompiledSchema,
    reader: Option<&CompiledSchema>,
    body: &[u8],
    builder: &mut B,
) -> Result<B::Value> {
    decode(writer, reader, &framed_body(writer, body), builder)
}

/// Decodes an Avro body (no header: see [`split_header`]) written with `writer`, optionally
/// projected to `reader` (schema evolution). With a reader this resolves the two schemas on
/// every call; keep a [`Projection`] instead when decoding many records.
/// The whole body must be used; every malformed body is `serde.decode`, never a panic.
pub fn decode<B: ValueBuilder>(
    writer: &CompiledSchema,
    reader: Option<&CompiledSchema>,
    body: &[u8],
    builder: &mut B,
) -> Result<B::Value> {
    match reader {
        None => decode::run(resolve::identity_plan(writer), writer, body, builder),
        Some(r) => Projection::new(writer, r)?.decode(body, builder),
    }
}

/// Encodes natural JSON to an Avro body (a convenience over [`encode`]).
pub fn json_to_avro(schema: &CompiledSchema, value: &serde_json::Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    encode(schema, &value, &mut out)?;
    Ok(out)
}

/// Decodes an Avro body to natural JSON (a convenience over [`decode`]).
pub fn avro_to_json(schema: &CompiledSchema, body: &[u8]) -> Result<serde_json::Value> {
    decode(schema, None, body, &mut JsonBuilder)
}

/// Decimal text with exactly `scale` fraction digits from big-endian two's complement
/// (what [`ValueBuilder::decimal`] receives): for builders of other bindings.
pub fn decimal_text(unscaled: &[u8], scale: u32) -> String {
    let mut s = String::new();
    logical::write_decimal_text(unscaled, scale, &mut s);
    s
}

#[cfg(test)]
mod tests;
