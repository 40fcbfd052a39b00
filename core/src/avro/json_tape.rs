//! Natural JSON text parsed into a flat, borrowed tape: the [`ValueSource`] of bindings whose
//! values cross as JSON text (Go). It behaves exactly like `serde_json::Value` (the same parser
//! drives it, so numbers, strings, errors and the depth limit are serde_json's; duplicate object
//! keys keep the first key's place and the last value, as `preserve_order` maps do), without a
//! heap allocation per string, key, array or object: strings without escapes point into the
//! text, nodes of every value parsed into one tape share one `Vec`. Reuse a tape with
//! [`JsonTape::clear`].
//!
//! ```
//! use kpipe::avro::{self, CompiledSchema, JsonTape};
//! let schema = CompiledSchema::parse(r#"{"type":"record","name":"T","fields":[{"name":"a","type":"long"}]}"#)?;
//! let mut tape = JsonTape::new();
//! let root = tape.parse(br#"{"a": 3}"#).unwrap();
//! let mut out = Vec::new();
//! avro::encode(&schema, &tape.get(root), &mut out)?;
//! assert_eq!(out, [6]);
//! # Ok::<(), kpipe::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::B64;
use super::source::{Branch, Kind, ValueSource};
use crate::error::Result;

/// A string of the tape: in the parsed text, or (it had escapes) in the tape's scratch.
#[derive(Clone, Copy)]
enum Text<'a> {
    In(&'a str),
    Own(u32, u32),
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// serde_json's `PosInt`.
    PosInt(u64),
    /// serde_json's `NegInt`.
    NegInt(i64),
    Float(f64),
    Str(Text<'a>),
    /// Items follow; `end` is the index after the last node of the array.
    Array {
        len: u32,
        end: u32,
    },
    /// Entries follow (a `Key`, then its value's nodes); `len` counts live keys.
    Object {
        len: u32,
        end: u32,
    },
    /// An object key; `value` is the index of its value (a later duplicate's, when one
    /// replaced it), `live` is false for a duplicate folded into an earlier key.
    Key {
        text: Text<'a>,
        value: u32,
        live: bool,
    },
}

/// Parsed JSON values (see the module doc). `'a` is the lifetime of the parsed text.
#[derive(Default)]
pub struct JsonTape<'a> {
    nodes: Vec<Node<'a>>,
    scratch: String,
    /// Key indices of the objects being parsed (a stack).
    keys: Vec<u32>,
}

/// The root of one parsed value in a [`JsonTape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonRoot(u32);

/// One value of a tape: the [`ValueSource`]. Cheap to copy.
#[derive(Clone, Copy)]
pub struct JsonRef<'t, 'a> {
    tape: &'t JsonTape<'a>,
    at: u32,
}

impl<'a> JsonTape<'a> {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every parsed value, keeping the memory.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.scratch.clear();
        self.keys.clear();
    }

    /// Parses one JSON text, exactly as `serde_json::from_slice::<Value>` would (same errors,
    /// trailing whitespace allowed, anything else after the value an error). On error the
    /// tape is left as it was.
    pub fn parse(&mut self, text: &'a [u8]) -> serde_json::Result<JsonRoot> {
        let start = self.nodes.len();
        let mut de = serde_json::Deserializer::from_slice(text);
        let r = ValueSeed { tape: self }.deserialize(&mut de).and_then(|()| de.end());
        match r {
            Ok(()) => Ok(JsonRoot(start as u32)),
            Err(e) => {
                self.nodes.truncate(start);
                self.keys.clear();
                Err(e)
            }
        }
    }

    /// The value at `root`.
    pub fn get(&self, root: JsonRoot) -> JsonRef<'_, 'a> {
        JsonRef { tape: self, at: root.0 }
    }

    fn text(&self, t: Text<'a>) -> &str {
        match t {
            Text::In(s) => s,
            Text::Own(start, len) => &self.scratch[start as usize..(start + len) as usize],
        }
    }

    fn own(&mut self, s: &str) -> Text<'a> {
        let start = self.scratch.len() as u32;
        self.scratch.push_str(s);
        Text::Own(start, s.len() as u32)
    }

    /// Index after the last node of the value at `i`.
    fn end_of(&self, i: u32) -> u32 {
        match self.nodes[i as usize] {
            Node::Array { end, .. } | Node::Object { end, .. } => end,
            _ => i + 1,
        }
    }

    fn push(&mut self, n: Node<'a>) {
        self.nodes.push(n);
    }

    /// Folds duplicate keys of the object whose keys are `self.keys[base..]` (the first key
    /// keeps its place and takes the last value); returns the number of distinct keys.
    fn fold_duplicates(&mut self, base: usize) -> u32 {
        let keys = &self.keys[base..];
        let n = keys.len();
        let mut live = n as u32;
        if n < 2 {
            return live;
        }
        // the usual case, small objects without duplicates: a pairwise check, no allocation
        if n <= 64 {
            let key = |k: u32| match self.nodes[k as usize] {
                Node::Key { text, .. } => self.text(text),
                _ => "",
            };
            let any = (1..n).any(|j| {
                let kj = key(keys[j]);
                keys[..j].iter().any(|&ki| key(ki) == kj)
            });
            if !any {
                return live;
            }
        }
        let keys: Vec<u32> = keys.to_vec();
        let mut first: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        for &k in &keys {
            let Node::Key { text, value, .. } = self.nodes[k as usize] else {
                continue;
            };
            let name = self.text(text).to_owned();
            match first.get(&name) {
                None => {
                    first.insert(name, k);
                }
                Some(&f) => {
                    if let Node::Key { value: v, .. } = &mut self.nodes[f as usize] {
                        *v = value;
                    }
                    if let Node::Key { live: l, .. } = &mut self.nodes[k as usize] {
                        *l = false;
                    }
                    live -= 1;
                }
            }
        }
        live
    }
}

// ---- parsing: serde_json's parser drives the tape -------------------------------------------

struct ValueSeed<'t, 'a> {
    tape: &'t mut JsonTape<'a>,
}

struct KeySeed<'t, 'a> {
    tape: &'t mut JsonTape<'a>,
}

impl<'t, 'a> DeserializeSeed<'a> for ValueSeed<'t, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'t, 'a> Visitor<'a> for ValueSeed<'t, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.tape.push(Node::Null);
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<(), E> {
        self.tape.push(Node::Bool(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        // serde_json's Number::from(i64): non-negative values are PosInt
        self.tape.push(if v < 0 { Node::NegInt(v) } else { Node::PosInt(v as u64) });
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        self.tape.push(Node::PosInt(v));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<(), E> {
        // serde_json's Value: a non-finite float is Null
        self.tape.push(if v.is_finite() { Node::Float(v) } else { Node::Null });
        Ok(())
    }
    fn visit_borrowed_str<E>(self, v: &'a str) -> std::result::Result<(), E> {
        self.tape.push(Node::Str(Text::In(v)));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        let t = self.tape.own(v);
        self.tape.push(Node::Str(t));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let at = self.tape.nodes.len();
        self.tape.push(Node::Array { len: 0, end: 0 });
        let mut len = 0u32;
        while seq.next_element_seed(ValueSeed { tape: &mut *self.tape })?.is_some() {
            len += 1;
        }
        let end = self.tape.nodes.len() as u32;
        self.tape.nodes[at] = Node::Array { len, end };
        Ok(())
    }
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let at = self.tape.nodes.len();
        self.tape.push(Node::Object { len: 0, end: 0 });
        let base = self.tape.keys.len();
        while map.next_key_seed(KeySeed { tape: &mut *self.tape })?.is_some() {
            let k = self.tape.nodes.len() as u32 - 1;
            self.tape.keys.push(k);
            map.next_value_seed(ValueSeed { tape: &mut *self.tape })?;
        }
        let len = self.tape.fold_duplicates(base);
        self.tape.keys.truncate(base);
        let end = self.tape.nodes.len() as u32;
        self.tape.nodes[at] = Node::Object { len, end };
        Ok(())
    }
}

impl<'t, 'a> DeserializeSeed<'a> for KeySeed<'t, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'t, 'a> Visitor<'a> for KeySeed<'t, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'a str) -> std::result::Result<(), E> {
        let value = self.tape.nodes.len() as u32 + 1;
        self.tape.push(Node::Key { text: Text::In(v), value, live: true });
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        let text = self.tape.own(v);
        let value = self.tape.nodes.len() as u32 + 1;
        self.tape.push(Node::Key { text, value, live: true });
        Ok(())
    }
}

// ---- the value source -----------------------------------------------------------------------

impl<'t, 'a> JsonRef<'t, 'a> {
    #[inline]
    fn node(&self) -> Node<'a> {
        self.tape.nodes[self.at as usize]
    }

    fn at(&self, i: u32) -> Self {
        JsonRef { tape: self.tape, at: i }
    }

    /// Calls `f` with each live (key, value) of an object.
    fn entries(&self, f: &mut dyn FnMut(&'t str, Self) -> Result<bool>) -> Result<()> {
        let Node::Object { end, .. } = self.node() else {
            return Ok(());
        };
        let mut i = self.at + 1;
        while i < end {
            let Node::Key { text, value, live } = self.tape.nodes[i as usize] else {
                break;
            };
            let next = self.tape.end_of(i + 1);
            if live && !f(self.tape.text(text), self.at(value))? {
                return Ok(());
            }
            i = next;
        }
        Ok(())
    }
}

impl<'t, 'a> ValueSource for JsonRef<'t, 'a> {
    #[inline]
    fn kind(&self) -> Kind {
        match self.node() {
            Node::Null | Node::Key { .. } => Kind::Null,
            Node::Bool(_) => Kind::Bool,
            Node::PosInt(_) | Node::NegInt(_) => Kind::Int,
            Node::Float(_) => Kind::Float,
            Node::Str(_) => Kind::Str,
            Node::Array { .. } => Kind::Seq,
            Node::Object { .. } => Kind::Map,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::Bool(b) => Some(b),
            _ => None,
        }
    }
    #[inline]
    fn as_i64(&self) -> Option<i64> {
        match self.node() {
            Node::PosInt(u) => i64::try_from(u).ok(),
            Node::NegInt(i) => Some(i),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self.node() {
            Node::PosInt(u) => Some(u as f64),
            Node::NegInt(i) => Some(i as f64),
            Node::Float(f) => Some(f),
            _ => None,
        }
    }
    #[inline]
    fn as_str(&self) -> Option<Cow<'_, str>> {
        match self.node() {
            Node::Str(t) => Some(Cow::Borrowed(self.tape.text(t))),
            _ => None,
        }
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match self.node() {
            Node::Str(t) => B64.decode(self.tape.text(t)).ok().map(Cow::Owned),
            _ => None,
        }
    }
    fn len(&self) -> Option<usize> {
        match self.node() {
            Node::Array { len, .. } | Node::Object { len, .. } => Some(len as usize),
            _ => None,
        }
    }
    fn field(&self, name: &str) -> Option<Self> {
        let mut found = None;
        let _ = self.entries(&mut |k, v| {
            if k == name {
                found = Some(v);
                return Ok(false);
            }
            Ok(true)
        });
        found
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> Result<()>) -> Result<()> {
        let Node::Array { len, .. } = self.node() else {
            return Ok(());
        };
        let mut i = self.at + 1;
        for _ in 0..len {
            f(self.at(i))?;
            i = self.tape.end_of(i);
        }
        Ok(())
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str, Self) -> Result<()>) -> Result<()> {
        self.entries(&mut |k, v| f(k, v).map(|()| true))
    }
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        match self.node() {
            Node::Object { len: 1, .. } => {
                let mut one = None;
                let _ = self.entries(&mut |k, v| {
                    one = Some((k, v));
                    Ok(false)
                });
                one.map(|(k, v)| (Branch::Name(Cow::Borrowed(k)), v))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::{self, CompiledSchema};
    use serde_json::Value as Json;

    /// Every ValueSource answer of the tape equals the `&Value` one, recursively.
    fn same(a: JsonRef<'_, '_>, b: &Json, path: &str) {
        let b = &b;
        assert_eq!(a.kind(), b.kind(), "{path}: kind");
        assert_eq!(a.as_bool(), b.as_bool(), "{path}");
        assert_eq!(a.as_i64(), ValueSource::as_i64(b), "{path}");
        assert_eq!(
            a.as_f64().map(f64::to_bits),
            ValueSource::as_f64(b).map(f64::to_bits),
            "{path}"
        );
        assert_eq!(a.as_str(), ValueSource::as_str(b), "{path}");
        assert_eq!(a.as_bytes(), b.as_bytes(), "{path}");
        assert_eq!(a.len(), ValueSource::len(b), "{path}");
        match (a.branch(), b.branch()) {
            (None, None) => {}
            (Some((Branch::Name(x), xv)), Some((Branch::Name(y), yv))) => {
                assert_eq!(x, y, "{path}: branch");
                same(xv, yv, &format!("{path}.<{x}>"));
            }
            _ => panic!("{path}: branch differs"),
        }
        let mut items = Vec::new();
        a.for_each_item(&mut |x| {
            items.push(x);
            Ok(())
        })
        .unwrap();
        let mut i = 0;
        b.for_each_item(&mut |y| {
            same(items[i], y, &format!("{path}[{i}]"));
            i += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(i, items.len(), "{path}: items");
        let mut entries = Vec::new();
        a.for_each_entry(&mut |k, x| {
            entries.push((k.to_owned(), x));
            Ok(())
        })
        .unwrap();
        let mut i = 0;
        b.for_each_entry(&mut |k, y| {
            assert_eq!(entries[i].0, k, "{path}: key {i}");
            same(entries[i].1, y, &format!("{path}.{k}"));
            assert!(a.field(k).is_some(), "{path}: field {k}");
            same(a.field(k).unwrap(), ValueSource::field(b, k).unwrap(), &format!("{path}.{k}"));
            i += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(i, entries.len(), "{path}: entries");
        assert!(a.field("no such key").is_none());
    }

    fn check_text(text: &str) {
        let mut tape = JsonTape::new();
        let want: serde_json::Result<Json> = serde_json::from_str(text);
        let got = tape.parse(text.as_bytes());
        match (got, want) {
            (Ok(root), Ok(v)) => same(tape.get(root), &v, text),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            (a, b) => panic!("{text}: tape {:?} vs serde_json {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }

    fn conformance(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/conformance/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn behaves_like_serde_json_value() {
        for t in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "-0.0",
            "1",
            "-1",
            "1.0",
            "1e5",
            "1E-5",
            "-1.5e300",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "0.1",
            "123456789012345678901234567890",
            "\"\"",
            "\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"",
            "\"plain é\"",
            "[]",
            "{}",
            "[1,[2,[3,{}]]]",
            r#"{"a":1,"b":{"c":[1,2,{"d":null}]},"e":"x"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"b":2,"a":3,"c":4,"b":5,"a":6}"#,
            r#"{"k\u0061":1,"ka":2}"#,
            r#"{"only":{"x":1}}"#,
            r#"{"x":1,"x":{"y":2}}"#,
            "  [1, 2 ]  ",
            "\"aGVsbG8=\"",
            "\"aGVsbG8\"",
            // errors: same messages as serde_json
            "",
            "[",
            "{\"a\"}",
            "[1,]",
            "01",
            "1 2",
            "nul",
            "\"\\x\"",
            "{\"a\":1,}",
            "1e400",
            "[1e400]",
            "\"\u{1}\"",
            "{1:2}",
        ] {
            check_text(t);
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        check_text(&deep);
        let wide: String = format!(
            "{{{}}}",
            (0..100).map(|i| format!("\"k{}\":{i}", i % 70)).collect::<Vec<_>>().join(",")
        );
        check_text(&wide);
    }

    #[test]
    fn conformance_inputs_behave_like_serde_json_value() {
        for line in conformance("avro/vectors.jsonl").lines().filter(|l| !l.trim().is_empty()) {
            let case: Json = serde_json::from_str(line).unwrap();
            if let Some(input) = case.get("input") {
                check_text(&input.to_string());
            }
        }
        for line in conformance("orders.jsonl").lines().filter(|l| !l.trim().is_empty()) {
            check_text(line);
        }
    }

    #[test]
    fn encodes_the_same_bytes_as_serde_json_value() {
        let schema_of = |case: &Json| -> Option<CompiledSchema> {
            let text = match case.get("schema_file").and_then(Json::as_str) {
                Some(f) => conformance(f),
                None => case["schema"].to_string(),
            };
            CompiledSchema::parse(&text).ok()
        };
        let mut n = 0;
        for line in conformance("avro/vectors.jsonl").lines().filter(|l| !l.trim().is_empty()) {
            let case: Json = serde_json::from_str(line).unwrap();
            let (Some(schema), Some(input)) = (schema_of(&case), case.get("input")) else {
                continue;
            };
            let text = input.to_string();
            let mut tape = JsonTape::new();
            let root = tape.parse(text.as_bytes()).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let ra = avro::encode(&schema, &tape.get(root), &mut a);
            let rb = avro::encode(&schema, &input, &mut b);
            match (ra, rb) {
                (Ok(()), Ok(())) => assert_eq!(a, b, "{line}"),
                (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string(), "{line}"),
                (x, y) => panic!("{line}: tape {x:?} vs value {y:?}"),
            }
            n += 1;
        }
        assert!(n > 100, "{n} vectors");
        let schema = CompiledSchema::parse(&conformance("schemas/order.avsc")).unwrap();
        let text = conformance("orders.jsonl");
        let mut tape = JsonTape::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let root = tape.parse(line.as_bytes()).unwrap();
            let v: Json = serde_json::from_str(line).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            avro::encode(&schema, &tape.get(root), &mut a).unwrap();
            avro::encode(&schema, &&v, &mut b).unwrap();
            assert_eq!(a, b, "{line}");
        }
    }
}
