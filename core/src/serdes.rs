//! The serializers of a topic's keys and values ([`Serde`], [`TopicSerde`]), the data handed to
//! them ([`Data`]), and the two directions: `serialize` for producers, `deserialize` for
//! consumers. Their own module because config, producer and consumer all use them.

use std::sync::Arc;

use crate::avro::{Kind, ValueBuilder, ValueSource};
use crate::codec::AvroCodec;
use crate::error::{Error, Result};

/// How a key or a value becomes bytes (and back).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Serde {
    /// Raw bytes, unchanged (a value source must give bytes or text).
    #[default]
    Bytes,
    /// UTF-8 text.
    String,
    /// JSON text of the value (natural JSON; bytes as base64).
    Json,
    /// Confluent-framed Avro through the registry. `schema` is the writer schema text (None:
    /// the subject's latest schema, `schemas.use_latest`); `reader` the schema a consumer
    /// projects records to (by default this same `schema`).
    Avro {
        /// The schema text: the writer schema when producing, the reader schema when consuming.
        schema: Option<Arc<str>>,
        /// Which schema a consumer reads records as.
        reader: AvroReader,
    },
}

/// The schema a consumer reads Avro records as (the `reader` option of a serializer). Records
/// are resolved from their writer schema (the id in the payload) to it by the Avro rules:
/// fields the reader adds get their defaults, fields it lacks are skipped. A reader the writer
/// schema cannot be resolved to is `serde.decode` for that record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AvroReader {
    /// The serializer's own `schema` (no schema: the writer schema). The default.
    #[default]
    Schema,
    /// The writer schema of each record, as written (no projection).
    Writer,
    /// The subject's latest registered version, looked up once per process and writer schema.
    Latest,
}

impl Serde {
    /// Avro with `schema` as writer schema (and reader schema).
    pub fn avro(schema: impl Into<Arc<str>>) -> Self {
        Serde::Avro { schema: Some(schema.into()), reader: AvroReader::Schema }
    }
}

/// The serializers of one topic's keys and values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicSerde {
    /// The serializer of the keys.
    pub key: Serde,
    /// The serializer of the values.
    pub value: Serde,
}

/// A key or value handed to `send`: nothing, raw bytes, text, or a native value walked
/// through [`ValueSource`] (what the bindings pass). `Bytes` is sent as is whatever the
/// serializer (pre-encoded payloads).
#[derive(Debug, Clone, Copy)]
pub enum Data<'a, S = &'a serde_json::Value> {
    /// No key or value: a null is sent (a null value is a tombstone).
    Null,
    /// Bytes sent as they are, whatever the serializer.
    Bytes(&'a [u8]),
    /// Text sent as its UTF-8 bytes (as a JSON string with the `json` serializer).
    Str(&'a str),
    /// A native value, encoded by the serializer.
    Value(S),
}

impl<S> Data<'_, S> {
    /// True for [`Data::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Data::Null)
    }
}

/// Serializes `data` with `serde` into `out` (cleared first). Returns false for `Data::Null`.
pub(crate) async fn serialize<S: ValueSource>(
    codec: Option<&AvroCodec>,
    topic: &str,
    is_key: bool,
    serde: &Serde,
    data: &Data<'_, S>,
    out: &mut Vec<u8>,
) -> Result<bool> {
    out.clear();
    let what = if is_key { "key" } else { "value" };
    match (data, serde) {
        (Data::Null, _) => return Ok(false),
        (Data::Bytes(b), _) => out.extend_from_slice(b),
        (Data::Str(s), Serde::Json) => serde_json::to_writer(&mut *out, s)
            .map_err(|e| Error::Internal { reason: e.to_string() })?,
        (Data::Str(s), _) => out.extend_from_slice(s.as_bytes()),
        (Data::Value(v), Serde::Bytes) => match v.as_bytes() {
            Some(b) => out.extend_from_slice(&b),
            None => return Err(mismatch(what, "bytes", v.kind())),
        },
        (Data::Value(v), Serde::String) => match v.as_str() {
            Some(s) => out.extend_from_slice(s.as_bytes()),
            None => return Err(mismatch(what, "string", v.kind())),
        },
        (Data::Value(v), Serde::Json) => write_json(v, what, out, 0)?,
        (Data::Value(v), Serde::Avro { schema, .. }) => {
            let codec = codec.ok_or_else(|| Error::ConfigInvalid {
                path: "registry".into(),
                reason: "the avro serializer needs a registry: section".into(),
            })?;
            codec.encode(topic, is_key, schema.as_deref(), v, out).await?;
        }
    }
    Ok(true)
}

fn mismatch(path: &str, expected: &str, got: Kind) -> Error {
    Error::SerdeEncode { path: path.into(), expected: expected.into(), got: got.name().into() }
}

/// Natural JSON text of any value source.
fn write_json<S: ValueSource>(v: &S, path: &str, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    use std::io::Write as _;
    if depth > crate::avro::MAX_DEPTH as usize {
        return Err(Error::SerdeEncode {
            path: path.into(),
            expected: "a shallower value".into(),
            got: "too deep".into(),
        });
    }
    let io = |e: std::io::Error| Error::Internal { reason: e.to_string() };
    let str_json = |s: &str, out: &mut Vec<u8>| {
        serde_json::to_writer(out, s).map_err(|e| Error::Internal { reason: e.to_string() })
    };
    match v.kind() {
        Kind::Null => out.extend_from_slice(b"null"),
        Kind::Bool => {
            out.extend_from_slice(if v.as_bool() == Some(true) { b"true" } else { b"false" })
        }
        Kind::Int | Kind::Float => {
            if let Some(i) = v.as_i64().filter(|_| v.kind() == Kind::Int) {
                write!(out, "{i}").map_err(io)?;
            } else {
                match v.as_f64() {
                    Some(f) if f.is_finite() => write!(out, "{f}").map_err(io)?,
                    Some(f) => str_json(
                        if f.is_nan() {
                            "NaN"
                        } else if f > 0.0 {
                            "Infinity"
                        } else {
                            "-Infinity"
                        },
                        out,
                    )?,
                    None => return Err(mismatch(path, "a number", v.kind())),
                }
            }
        }
        Kind::Bytes => {
            use base64::Engine as _;
            let b = v.as_bytes().ok_or_else(|| mismatch(path, "bytes", Kind::Bytes))?;
            str_json(&base64::engine::general_purpose::STANDARD.encode(b), out)?;
        }
        Kind::Seq => {
            out.push(b'[');
            let mut first = true;
            v.for_each_item(&mut |item| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_json(&item, path, out, depth + 1)
            })?;
            out.push(b']');
        }
        Kind::Map => {
            out.push(b'{');
            let mut first = true;
            v.for_each_entry(&mut |k, item| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                str_json(k, out)?;
                out.push(b':');
                write_json(&item, path, out, depth + 1)
            })?;
            out.push(b'}');
        }
        other => match v.as_str() {
            Some(s) => str_json(&s, out)?,
            None => return Err(mismatch(path, "a JSON-representable value", other)),
        },
    }
    Ok(())
}

/// Builds a value from bytes written by `serde` (the consumer side of [`serialize`]) for
/// `topic`'s key (`is_key`) or value; Avro records are read as the serializer's reader.
pub(crate) async fn deserialize<B: ValueBuilder>(
    codec: Option<&AvroCodec>,
    serde: &Serde,
    topic: &str,
    is_key: bool,
    bytes: &[u8],
    builder: &mut B,
) -> Result<B::Value> {
    match serde {
        Serde::Bytes => builder.bytes(bytes),
        Serde::String => builder.string(
            std::str::from_utf8(bytes).map_err(|e| Error::decode(format!("not UTF-8: {e}")))?,
        ),
        Serde::Json => {
            let v: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| Error::decode(format!("not JSON: {e}")))?;
            json_into(&v, builder, 0)
        }
        Serde::Avro { schema, reader } => {
            let codec = codec.ok_or_else(|| Error::ConfigInvalid {
                path: "registry".into(),
                reason: "the avro deserializer needs a registry: section".into(),
            })?;
            codec.decode_as(bytes, topic, is_key, schema.as_ref(), *reader, builder).await
        }
    }
}

fn json_into<B: ValueBuilder>(v: &serde_json::Value, b: &mut B, depth: usize) -> Result<B::Value> {
    use serde_json::Value as J;
    if depth > crate::avro::MAX_DEPTH as usize {
        return Err(Error::decode("JSON nested too deeply"));
    }
    match v {
        J::Null => b.null(),
        J::Bool(x) => b.boolean(*x),
        J::Number(n) => match n.as_i64() {
            Some(i) => b.long(i),
            None => b.double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => b.string(s),
        J::Array(items) => {
            let mut arr = b.array_start(items.len())?;
            for item in items {
                let x = json_into(item, b, depth + 1)?;
                b.array_push(&mut arr, x)?;
            }
            b.array_end(arr)
        }
        J::Object(map) => {
            let mut m = b.map_start(map.len())?;
            for (k, item) in map {
                let x = json_into(item, b, depth + 1)?;
                b.map_insert(&mut m, k, x)?;
            }
            b.map_end(m)
        }
    }
}
