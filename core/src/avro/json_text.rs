//! Decoding straight to natural JSON text: [`JsonTextBuilder`] writes the text while the decoder
//! walks the payload, with no `serde_json::Value` tree in between. The text is exactly what
//! [`super::JsonBuilder`] followed by `serde_json` serialization gives (every scalar is written
//! by serde_json's own serializer; objects and arrays compact, in the same order). One case is
//! not written directly: an Avro map holding the same key twice (a `Value` object keeps the
//! first place and the last value); the builder then reports [`JsonTextBuilder::needs_fallback`]
//! and [`decode_to_json_text`] decodes again through `JsonBuilder`.
//!
//! ```
//! use kpipe::avro::{self, CompiledSchema};
//! let schema = CompiledSchema::parse(r#"{"type":"record","name":"T","fields":[{"name":"a","type":"long"}]}"#)?;
//! assert_eq!(avro::decode_to_json_text(&schema, None, &[6])?, br#"{"a":3}"#);
//! # Ok::<(), kpipe::Error>(())
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;

use base64::Engine as _;

use super::builder::{RecordInfo, UnionBranch, ValueBuilder};
use super::json::JsonBuilder;
use super::json::B64;
use super::logical;
use super::plan::{CompiledSchema, TemporalKind};
use crate::error::{Error, Result};

/// Where one built value's text is in the builder's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonSpan {
    start: usize,
    end: usize,
}

impl JsonSpan {
    /// The byte range in [`JsonTextBuilder::buffer`].
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A record or array being written.
#[derive(Debug)]
pub struct Open {
    start: usize,
    count: usize,
}

/// A map being written: also the keys seen, to notice a duplicate.
#[derive(Debug)]
pub struct OpenMap {
    start: usize,
    count: usize,
    /// Start of this map's entries in the builder's key stack.
    keys_base: usize,
    /// Keys of a large map (beyond [`LINEAR_KEYS`]).
    big: Option<HashSet<Vec<u8>>>,
}

/// Maps with up to this many keys are checked for duplicates by a linear scan.
const LINEAR_KEYS: usize = 32;

/// Writes natural JSON text (see the module doc). Reuse one: [`clear`](Self::clear) keeps the
/// memory. Values are [`JsonSpan`]s into [`buffer`](Self::buffer).
#[derive(Debug, Default)]
pub struct JsonTextBuilder {
    buf: Vec<u8>,
    scratch: Vec<u8>,
    text: String,
    /// (start, end) of the escaped keys of the maps being written (a stack).
    keys: Vec<(usize, usize)>,
    fallback: bool,
}

impl JsonTextBuilder {
    /// A builder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder whose buffer holds `bytes` before it grows.
    pub fn with_capacity(bytes: usize) -> Self {
        JsonTextBuilder { buf: Vec::with_capacity(bytes), ..Self::default() }
    }

    /// Forgets everything written.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.keys.clear();
        self.fallback = false;
    }

    /// Everything written so far (spans index into it).
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer, for spans to index into.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The text of a value.
    pub fn text(&self, v: JsonSpan) -> &[u8] {
        &self.buf[v.range()]
    }

    /// True when a map with a duplicate key was decoded since the last [`clear`](Self::clear):
    /// the text of that value is not `JsonBuilder`'s; decode it through `JsonBuilder` instead.
    pub fn needs_fallback(&self) -> bool {
        self.fallback
    }

    #[inline]
    fn span(&self, start: usize) -> JsonSpan {
        JsonSpan { start, end: self.buf.len() }
    }

    #[inline]
    fn raw(&mut self, b: &[u8]) -> Result<JsonSpan> {
        let start = self.buf.len();
        self.buf.extend_from_slice(b);
        Ok(self.span(start))
    }

    fn ser<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<JsonSpan> {
        let start = self.buf.len();
        serde_json::to_writer(&mut self.buf, v)
            .map_err(|e| Error::Internal { reason: format!("JSON output: {e}") })?;
        Ok(self.span(start))
    }

    /// The `text` scratch string as a JSON string value.
    fn text_value(&mut self) -> Result<JsonSpan> {
        let start = self.buf.len();
        put_str(&mut self.buf, &self.text)?;
        Ok(self.span(start))
    }

    fn str_value(&mut self, v: &str) -> Result<JsonSpan> {
        let start = self.buf.len();
        put_str(&mut self.buf, v)?;
        Ok(self.span(start))
    }

    /// Inserts `self.scratch` at `at` (before a value just written).
    fn insert_scratch(&mut self, at: usize) {
        let n = self.scratch.len();
        let old = self.buf.len();
        self.buf.resize(old + n, 0);
        self.buf.copy_within(at..old, at + n);
        self.buf[at..at + n].copy_from_slice(&self.scratch);
    }

    /// `scratch` = [","] "key":
    fn key_prefix(&mut self, comma: bool, key: &str) -> Result<()> {
        self.scratch.clear();
        if comma {
            self.scratch.push(b',');
        }
        put_str(&mut self.scratch, key)?;
        self.scratch.push(b':');
        Ok(())
    }

    fn float_text(&mut self, text_is_finite: bool) -> Result<JsonSpan> {
        // as JsonBuilder: the text parsed as f64, then serde_json's f64 output
        let f = if text_is_finite { self.text.parse::<f64>().ok() } else { None };
        match f {
            Some(f) if f.is_finite() => self.ser(&f),
            _ => self.raw(b"null"),
        }
    }
}

/// Appends `s` as a JSON string, exactly as serde_json writes it (which escapes only control
/// characters, '"' and '\\'): plain text directly, anything else through serde_json.
#[inline]
fn put_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    serde_json::to_writer(out, s)
        .map_err(|e| Error::Internal { reason: format!("JSON output: {e}") })
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

impl ValueBuilder for JsonTextBuilder {
    type Value = JsonSpan;
    type Record = Open;
    type Array = Open;
    type Map = OpenMap;

    fn null(&mut self) -> Result<JsonSpan> {
        self.raw(b"null")
    }
    fn boolean(&mut self, v: bool) -> Result<JsonSpan> {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn int(&mut self, v: i32) -> Result<JsonSpan> {
        self.ser(&v)
    }
    fn long(&mut self, v: i64) -> Result<JsonSpan> {
        self.ser(&v)
    }
    fn float(&mut self, v: f32) -> Result<JsonSpan> {
        if !v.is_finite() {
            return self.ser(non_finite(v as f64));
        }
        self.text.clear();
        // the float32's exact value as a double, as JsonBuilder
        let _ = write!(self.text, "{}", v as f64);
        self.float_text(true)
    }
    fn double(&mut self, v: f64) -> Result<JsonSpan> {
        if v.is_finite() {
            return self.ser(&v);
        }
        self.ser(non_finite(v))
    }
    fn bytes(&mut self, v: &[u8]) -> Result<JsonSpan> {
        self.text.clear();
        B64.encode_string(v, &mut self.text);
        self.text_value()
    }
    fn string(&mut self, v: &str) -> Result<JsonSpan> {
        self.str_value(v)
    }
    fn fixed(&mut self, v: &[u8]) -> Result<JsonSpan> {
        self.bytes(v)
    }
    fn enum_symbol(&mut self, _: u32, symbol: &str) -> Result<JsonSpan> {
        self.str_value(symbol)
    }
    fn decimal(&mut self, unscaled: &[u8], _precision: u32, scale: u32) -> Result<JsonSpan> {
        self.text.clear();
        logical::write_decimal_text(unscaled, scale, &mut self.text);
        self.text_value()
    }
    fn uuid(&mut self, v: &[u8; 16]) -> Result<JsonSpan> {
        let mut t = [0u8; 36];
        logical::format_uuid(v, &mut t);
        self.ser(String::from_utf8_lossy(&t).as_ref())
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> Result<JsonSpan> {
        self.text.clear();
        let ok = logical::format_temporal(kind, v, &mut self.text);
        if ok {
            self.text_value()
        } else {
            self.ser(&v)
        }
    }
    fn record_start(&mut self, _: &RecordInfo<'_>) -> Result<Open> {
        let start = self.buf.len();
        self.buf.push(b'{');
        Ok(Open { start, count: 0 })
    }
    fn record_field(&mut self, rec: &mut Open, _: usize, name: &str, v: JsonSpan) -> Result<()> {
        self.key_prefix(rec.count > 0, name)?;
        self.insert_scratch(v.start);
        rec.count += 1;
        Ok(())
    }
    fn record_end(&mut self, rec: Open) -> Result<JsonSpan> {
        self.buf.push(b'}');
        Ok(self.span(rec.start))
    }
    fn array_start(&mut self, _: usize) -> Result<Open> {
        let start = self.buf.len();
        self.buf.push(b'[');
        Ok(Open { start, count: 0 })
    }
    fn array_push(&mut self, arr: &mut Open, _: JsonSpan) -> Result<()> {
        // the separator goes after each item; array_end drops the last one
        self.buf.push(b',');
        arr.count += 1;
        Ok(())
    }
    fn array_end(&mut self, arr: Open) -> Result<JsonSpan> {
        if arr.count > 0 && self.buf.last() == Some(&b',') {
            self.buf.pop();
        }
        self.buf.push(b']');
        Ok(self.span(arr.start))
    }
    fn map_start(&mut self, _: usize) -> Result<OpenMap> {
        let start = self.buf.len();
        self.buf.push(b'{');
        Ok(OpenMap { start, count: 0, keys_base: self.keys.len(), big: None })
    }
    fn map_insert(&mut self, map: &mut OpenMap, key: &str, v: JsonSpan) -> Result<()> {
        self.key_prefix(map.count > 0, key)?;
        // the escaped key, without the comma and colon
        let skip = usize::from(map.count > 0);
        let klen = self.scratch.len() - skip - 1;
        let dup = if let Some(set) = &mut map.big {
            !set.insert(self.scratch[skip..skip + klen].to_vec())
        } else {
            let k = &self.scratch[skip..skip + klen];
            let d = self.keys[map.keys_base..].iter().any(|&(s, e)| &self.buf[s..e] == k);
            if !d && self.keys.len() - map.keys_base >= LINEAR_KEYS {
                let mut set: HashSet<Vec<u8>> = self.keys[map.keys_base..]
                    .iter()
                    .map(|&(s, e)| self.buf[s..e].to_vec())
                    .collect();
                set.insert(k.to_vec());
                self.keys.truncate(map.keys_base);
                map.big = Some(set);
            }
            d
        };
        if dup {
            self.fallback = true;
        }
        self.insert_scratch(v.start);
        if map.big.is_none() {
            self.keys.push((v.start + skip, v.start + skip + klen));
        }
        map.count += 1;
        Ok(())
    }
    fn map_end(&mut self, map: OpenMap) -> Result<JsonSpan> {
        self.keys.truncate(map.keys_base);
        self.buf.push(b'}');
        Ok(self.span(map.start))
    }
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: JsonSpan) -> Result<JsonSpan> {
        if branch.unambiguous() || self.text(v) == &b"null"[..] {
            return Ok(v);
        }
        // as JsonBuilder: unwrapped when the union rule reads the value back into this branch
        let natural = match serde_json::from_slice::<serde_json::Value>(self.text(v)) {
            Ok(value) => branch.natural_index(&&value),
            Err(_) => None,
        };
        if natural == Some(branch.index()) {
            return Ok(v);
        }
        self.scratch.clear();
        self.scratch.push(b'{');
        serde_json::to_writer(&mut self.scratch, branch.name())
            .map_err(|e| Error::Internal { reason: format!("JSON output: {e}") })?;
        self.scratch.push(b':');
        self.insert_scratch(v.start);
        self.buf.push(b'}');
        Ok(self.span(v.start))
    }
}

/// Decodes an Avro body (no header) written with `writer`, optionally projected to `reader`,
/// straight to natural JSON text: the same bytes as [`super::decode`] into
/// [`JsonBuilder`] followed by `serde_json::to_vec`.
pub fn decode_to_json_text(
    writer: &CompiledSchema,
    reader: Option<&CompiledSchema>,
    body: &[u8],
) -> Result<Vec<u8>> {
    let mut b = JsonTextBuilder::new();
    let span = super::decode(writer, reader, body, &mut b)?;
    if b.needs_fallback() {
        let v = super::decode(writer, reader, body, &mut JsonBuilder)?;
        return serde_json::to_vec(&v)
            .map_err(|e| Error::Internal { reason: format!("JSON output: {e}") });
    }
    if span.start == 0 && span.end == b.buf.len() {
        return Ok(b.buf);
    }
    Ok(b.text(span).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::{self, CompiledSchema};
    use serde_json::Value as Json;

    fn conformance(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/conformance/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn via_value(schema: &CompiledSchema, body: &[u8]) -> Result<Vec<u8>> {
        let v = avro::decode(schema, None, body, &mut JsonBuilder)?;
        Ok(serde_json::to_vec(&v).unwrap())
    }

    fn check(schema: &CompiledSchema, body: &[u8], what: &str) {
        let a = decode_to_json_text(schema, None, body);
        let b = via_value(schema, body);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "{what}")
            }
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string(), "{what}"),
            (x, y) => panic!("{what}: text {x:?} vs value {y:?}"),
        }
        // the builder alone (no fallback) when no map repeats a key
        let mut tb = JsonTextBuilder::new();
        if let Ok(span) = avro::decode(schema, None, body, &mut tb) {
            if !tb.needs_fallback() {
                assert_eq!(tb.text(span), via_value(schema, body).unwrap().as_slice(), "{what}");
            }
        }
    }

    fn schema_of(case: &Json) -> Option<CompiledSchema> {
        let text = match case.get("schema_file").and_then(Json::as_str) {
            Some(f) => conformance(f),
            None => case["schema"].to_string(),
        };
        CompiledSchema::parse(&text).ok()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn same_text_as_json_builder_over_the_vectors() {
        let mut n = 0;
        for line in conformance("avro/vectors.jsonl").lines().filter(|l| !l.trim().is_empty()) {
            let case: Json = serde_json::from_str(line).unwrap();
            let Some(schema) = schema_of(&case) else {
                continue;
            };
            // the expected body, and what encoding the input gives
            let mut bodies = Vec::new();
            if let Some(h) = case.get("body_hex").and_then(Json::as_str) {
                bodies.push(unhex(h));
            }
            if let Some(input) = case.get("input") {
                if let Ok(b) = avro::json_to_avro(&schema, input) {
                    bodies.push(b);
                }
            }
            for body in &bodies {
                check(&schema, body, line);
                // truncated and corrupted bodies: the same errors (or text)
                for cut in 0..body.len() {
                    check(&schema, &body[..cut], line);
                }
                n += 1;
            }
        }
        assert!(n > 100, "{n} bodies");
    }

    #[test]
    fn same_text_as_json_builder_over_the_orders() {
        let schema = CompiledSchema::parse(&conformance("schemas/order.avsc")).unwrap();
        let mut n = 0;
        for line in conformance("orders.jsonl").lines().filter(|l| !l.trim().is_empty()) {
            let v: Json = serde_json::from_str(line).unwrap();
            let body = avro::json_to_avro(&schema, &v).unwrap();
            check(&schema, &body, line);
            n += 1;
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn unions_floats_maps_and_duplicate_keys() {
        let schema = CompiledSchema::parse(
            r#"{"type":"record","name":"R","fields":[
                {"name":"u","type":["null","long","string",{"type":"map","values":"float"},"double"]},
                {"name":"f","type":"float"},
                {"name":"d","type":"double"},
                {"name":"m","type":{"type":"map","values":{"type":"array","items":["null","int","long"]}}},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B_2"]}},
                {"name":"b","type":"bytes"},
                {"name":"s","type":"string"}
            ]}"#,
        )
        .unwrap();
        for input in [
            r#"{"u":null,"f":1.5,"d":0.1,"m":{},"e":"A","b":"","s":"x"}"#,
            r#"{"u":{"long":5},"f":0.1,"d":1e300,"m":{"a":[1,null,{"long":2}]},"e":"B_2","b":"aGk=","s":"\"\\\n\u0001é"}"#,
            r#"{"u":"x","f":3.4028235e38,"d":-0.0,"m":{"a":[],"b":[null]},"e":"A","b":"AA==","s":""}"#,
            r#"{"u":{"double":2.5},"f":-1e-45,"d":5e-324,"m":{"k":[{"int":1}]},"e":"A","b":"","s":"<>&"}"#,
            r#"{"u":{"x":1.25},"f":16777217,"d":123456789.125,"m":{"z":[],"y":[]},"e":"A","b":"","s":"\u2028"}"#,
        ] {
            let v: Json = serde_json::from_str(input).unwrap();
            let body = avro::json_to_avro(&schema, &v).unwrap();
            check(&schema, &body, input);
        }
        // NaN and infinities
        for (f, d) in [
            (f32::NAN, f64::INFINITY),
            (f32::NEG_INFINITY, f64::NAN),
            (f32::INFINITY, f64::NEG_INFINITY),
        ] {
            let mut body = vec![0u8];
            body.extend_from_slice(&f.to_le_bytes());
            body.extend_from_slice(&d.to_le_bytes());
            body.extend_from_slice(&[0, 0, 0, 0, 0]);
            check(&schema, &body, "non-finite");
        }
        // a map block repeating a key: the first place keeps the last value
        let m = CompiledSchema::parse(r#"{"type":"map","values":"int"}"#).unwrap();
        let body = [6u8, 2, b'a', 2, 2, b'b', 4, 2, b'a', 6, 0];
        check(&m, &body, "duplicate key");
        assert_eq!(decode_to_json_text(&m, None, &body).unwrap(), br#"{"a":3,"b":2}"#);
        // a large map, with and without a repeated key
        for dup in [false, true] {
            let mut body = vec![];
            let n = 80i64;
            body.push(((n << 1) ^ (n >> 63)) as u8);
            body.push(1);
            for i in 0..n {
                let k = format!("k{}", if dup && i == 70 { 3 } else { i });
                body.push((k.len() as u8) << 1);
                body.extend_from_slice(k.as_bytes());
                body.push(((i << 1) & 0x7f) as u8);
            }
            body.push(0);
            check(&m, &body, "large map");
        }
    }
}
