//! The encoder: walks a compiled plan and a [`ValueSource`] together, writing Avro binary
//! straight into the caller's buffer.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::logical::{self, DecimalFit, DecimalParts};
use super::plan::{
    describe, DecimalNode, FieldNode, Node, NodeId, RecordNode, TemporalKind, UnionNode,
};
use super::source::{Branch, DecimalRef, Kind, Temporal, ValueSource};
use crate::error::{Error, Result};

/// Deepest nesting of records, arrays, maps and unions the encoder and decoder accept.
pub const MAX_DEPTH: u32 = 256;

/// Appends a zigzag varint `long`.
#[inline]
pub(crate) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn mismatch(expected: String, got: String) -> Error {
    Error::SerdeEncode { path: String::new(), expected, got }
}

/// Prepends a path segment to an encode error while it travels up.
fn prefix(mut e: Error, seg: impl FnOnce() -> String) -> Error {
    if let Error::SerdeEncode { path, .. } = &mut e {
        path.insert_str(0, &seg());
    }
    e
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A short description of a value for error messages.
pub(crate) fn describe_value<S: ValueSource>(v: &S) -> String {
    match v.kind() {
        Kind::Null => "null".into(),
        Kind::Bool => format!("boolean {}", v.as_bool().unwrap_or_default()),
        Kind::Int => match v.as_i64() {
            Some(i) => format!("integer {i}"),
            None => "integer out of the 64-bit range".into(),
        },
        Kind::Float => format!("float {}", v.as_f64().unwrap_or(f64::NAN)),
        Kind::Str => match v.as_str() {
            Some(s) if s.chars().count() > 40 => {
                let cut: String = s.chars().take(40).collect();
                format!("string {}...", quote(&cut))
            }
            Some(s) => format!("string {}", quote(&s)),
            // a Python str with a lone surrogate has no UTF-8 form
            None => "string that is not valid UTF-8 (a lone surrogate?)".into(),
        },
        Kind::Bytes => format!("bytes ({} bytes)", v.as_bytes().map(|b| b.len()).unwrap_or(0)),
        Kind::Seq => format!("array of {}", v.len().unwrap_or(0)),
        Kind::Map => "object".into(),
        Kind::Other => v.type_name().map_or_else(|| Kind::Other.name().into(), Cow::into_owned),
        k => k.name().into(),
    }
}

pub(crate) struct Enc<'n> {
    pub nodes: &'n [Node],
    /// Encoding a schema default: bytes/fixed/decimal are ISO-8859-1 strings.
    pub default_mode: bool,
}

impl<'n> Enc<'n> {
    fn expected(&self, id: NodeId) -> String {
        describe(self.nodes, id)
    }

    fn fail<S: ValueSource>(&self, id: NodeId, v: &S) -> Error {
        mismatch(self.expected(id), describe_value(v))
    }

    pub(crate) fn write<S: ValueSource>(
        &self,
        id: NodeId,
        v: &S,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<()> {
        match &self.nodes[id as usize] {
            Node::Null => match v.kind() {
                Kind::Null => Ok(()),
                _ => Err(self.fail(id, v)),
            },
            Node::Boolean => match v.as_bool() {
                Some(b) if v.kind() == Kind::Bool => {
                    out.push(b as u8);
                    Ok(())
                }
                _ => Err(self.fail(id, v)),
            },
            Node::Int => {
                let i = self.integer(id, v)?;
                if i < i32::MIN as i64 || i > i32::MAX as i64 {
                    return Err(mismatch(
                        "int".into(),
                        format!("integer {i} (outside the 32-bit range)"),
                    ));
                }
                write_long(out, i);
                Ok(())
            }
            Node::Long => {
                let i = self.integer(id, v)?;
                write_long(out, i);
                Ok(())
            }
            Node::Float => {
                let f = self.float(id, v)?;
                let x = f as f32;
                if x.is_infinite() && f.is_finite() {
                    return Err(mismatch(
                        "float".into(),
                        format!("{f} (outside the 32-bit float range)"),
                    ));
                }
                out.extend_from_slice(&x.to_le_bytes());
                Ok(())
            }
            Node::Double => {
                let f = self.float(id, v)?;
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            Node::Bytes => match self.bytes_of(v) {
                Some(b) => {
                    write_bytes(out, &b);
                    Ok(())
                }
                None => Err(self.fail(id, v)),
            },
            Node::String => match v.kind() {
                Kind::Str => match v.as_str() {
                    Some(s) => {
                        write_bytes(out, s.as_bytes());
                        Ok(())
                    }
                    None => Err(self.fail(id, v)),
                },
                _ => Err(self.fail(id, v)),
            },
            Node::Array(item) => self.array(id, *item, v, out, depth),
            Node::Map(val) => self.map(id, *val, v, out, depth),
            Node::Record(r) => self.record(id, r, v, out, depth, false),
            Node::Enum(e) => {
                let s = if v.kind() == Kind::Str { v.as_str() } else { None };
                let Some(s) = s else {
                    return Err(self.fail(id, v));
                };
                match e.symbols.iter().position(|x| **x == *s) {
                    Some(i) => {
                        write_long(out, i as i64);
                        Ok(())
                    }
                    None => {
                        Err(mismatch(self.expected(id), format!("unknown symbol {}", quote(&s))))
                    }
                }
            }
            Node::Fixed(f) => match self.bytes_of(v) {
                Some(b) if b.len() == f.size => {
                    out.extend_from_slice(&b);
                    Ok(())
                }
                Some(b) => Err(mismatch(self.expected(id), format!("{} bytes", b.len()))),
                None => Err(self.fail(id, v)),
            },
            Node::Decimal(d) => self.decimal(id, d, v, out),
            Node::Uuid { fixed } => self.uuid(id, fixed.is_some(), v, out),
            Node::Temporal(k) => self.temporal(id, *k, v, out),
            Node::Union(u) => self.union(id, u, v, out, depth),
        }
    }

    fn bytes_of<'a, S: ValueSource>(&self, v: &'a S) -> Option<Cow<'a, [u8]>> {
        match v.kind() {
            Kind::Bytes | Kind::Str | Kind::Uuid => v.as_bytes(),
            _ => None,
        }
    }

    fn integer<S: ValueSource>(&self, id: NodeId, v: &S) -> Result<i64> {
        match v.kind() {
            Kind::Int => v.as_i64().ok_or_else(|| self.fail(id, v)),
            _ => Err(self.fail(id, v)),
        }
    }

    fn float<S: ValueSource>(&self, id: NodeId, v: &S) -> Result<f64> {
        match v.kind() {
            Kind::Int | Kind::Float => v.as_f64().ok_or_else(|| self.fail(id, v)),
            Kind::Str => match v.as_str().as_deref() {
                Some("NaN") => Ok(f64::NAN),
                Some("Infinity") => Ok(f64::INFINITY),
                Some("-Infinity") => Ok(f64::NEG_INFINITY),
                _ => Err(self.fail(id, v)),
            },
            _ => Err(self.fail(id, v)),
        }
    }

    fn array<S: ValueSource>(
        &self,
        id: NodeId,
        item: NodeId,
        v: &S,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<()> {
        if v.kind() != Kind::Seq {
            return Err(self.fail(id, v));
        }
        if depth >= MAX_DEPTH {
            return Err(mismatch(self.expected(id), format!("nesting deeper than {MAX_DEPTH}")));
        }
        let n = v.len().unwrap_or(0);
        if n > 0 {
            write_long(out, n as i64);
            let mut i = 0usize;
            v.for_each_item(&mut |x| {
                if i >= n {
                    return Err(mismatch(self.expected(id), "more items than its length".into()));
                }
                self.write(item, &x, out, depth + 1).map_err(|e| prefix(e, || format!("[{i}]")))?;
                i += 1;
                Ok(())
            })?;
            if i != n {
                return Err(mismatch(self.expected(id), format!("{i} items but a length of {n}")));
            }
        }
        out.push(0);
        Ok(())
    }

    fn map<S: ValueSource>(
        &self,
        id: NodeId,
        val: NodeId,
        v: &S,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<()> {
        if v.kind() != Kind::Map && !(v.kind() == Kind::Seq && v.is_map_too()) {
            return Err(self.fail(id, v));
        }
        if depth >= MAX_DEPTH {
            return Err(mismatch(self.expected(id), format!("nesting deeper than {MAX_DEPTH}")));
        }
        let n = v.len().unwrap_or(0);
        if n > 0 {
            write_long(out, n as i64);
            let mut i = 0usize;
            v.for_each_entry(&mut |k, x| {
                if i >= n {
                    return Err(mismatch(self.expected(id), "more entries than its length".into()));
                }
                write_bytes(out, k.as_bytes());
                self.write(val, &x, out, depth + 1)
                    .map_err(|e| prefix(e, || format!("[{}]", quote(k))))?;
                i += 1;
                Ok(())
            })?;
            if i != n {
                return Err(mismatch(
                    self.expected(id),
                    format!("{i} entries but a length of {n}"),
                ));
            }
        }
        out.push(0);
        Ok(())
    }

    fn record<S: ValueSource>(
        &self,
        id: NodeId,
        r: &RecordNode,
        v: &S,
        out: &mut Vec<u8>,
        depth: u32,
        strict_keys: bool,
    ) -> Result<()> {
        if v.kind() != Kind::Map && !(v.kind() == Kind::Seq && v.is_map_too() && v.is_empty()) {
            return Err(self.fail(id, v));
        }
        if depth >= MAX_DEPTH {
            return Err(mismatch(self.expected(id), format!("nesting deeper than {MAX_DEPTH}")));
        }
        // Fast path: the entries are exactly the fields in schema order (what a generator, a
        // decoded record or a dict built field by field gives): one walk, no lookup per field.
        // Any other shape rewinds and takes the lookup path below.
        if v.len() == Some(r.fields.len()) {
            let start = out.len();
            let mut next = 0usize;
            let mut in_order = true;
            let walked = v.for_each_entry(&mut |k, x| match r.fields.get(next) {
                Some(f) if *f.name == *k => {
                    next += 1;
                    self.write(f.node, &x, out, depth + 1)
                        .map_err(|e| prefix(e, || format!(".{}", f.name)))
                }
                _ => {
                    in_order = false;
                    Err(Error::Internal { reason: String::new() })
                }
            });
            if in_order && next == r.fields.len() {
                return walked;
            }
            if in_order && walked.is_err() {
                return walked;
            }
            out.truncate(start);
        }
        if strict_keys {
            v.for_each_entry(&mut |k, _| {
                if r.by_name.contains_key(k) {
                    Ok(())
                } else {
                    Err(mismatch(
                        self.expected(id),
                        format!("object with unknown key {}", quote(k)),
                    ))
                }
            })?;
        }
        for f in &r.fields {
            match v.field(&f.name) {
                Some(x) => self
                    .write(f.node, &x, out, depth + 1)
                    .map_err(|e| prefix(e, || format!(".{}", f.name)))?,
                None => {
                    self.default(f, out, depth).map_err(|e| prefix(e, || format!(".{}", f.name)))?
                }
            }
        }
        Ok(())
    }

    fn default(&self, f: &FieldNode, out: &mut Vec<u8>, depth: u32) -> Result<()> {
        if let Some(b) = &f.default_bytes {
            out.extend_from_slice(b);
            return Ok(());
        }
        match &f.default_json {
            Some(j) => {
                let enc = Enc { nodes: self.nodes, default_mode: true };
                enc.write(f.node, &DefaultSrc(j), out, depth + 1)
            }
            None => Err(mismatch(
                self.expected(f.node),
                "nothing (the field is missing and has no default)".into(),
            )),
        }
    }

    fn decimal<S: ValueSource>(
        &self,
        id: NodeId,
        d: &DecimalNode,
        v: &S,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.default_mode {
            // Schema defaults give the two's complement bytes as an ISO-8859-1 string.
            if let Some(b) = v.as_bytes() {
                return match d.fixed {
                    Some((_, size)) if b.len() != size => Err(self.fail(id, v)),
                    Some(_) => {
                        out.extend_from_slice(&b);
                        Ok(())
                    }
                    None => {
                        write_bytes(out, &b);
                        Ok(())
                    }
                };
            }
        }
        match v.kind() {
            Kind::Decimal => match v.as_decimal() {
                Some(DecimalRef::Text(t)) => match logical::parse_decimal_text(&t) {
                    Some(p) => self.emit_decimal(id, d, &p, v, out),
                    None => Err(self.fail(id, v)),
                },
                Some(DecimalRef::Parts { negative, digits, exponent }) => {
                    if digits.iter().any(|&x| x > 9) {
                        return Err(self.fail(id, v));
                    }
                    let ascii: Vec<u8> = digits.iter().map(|x| b'0' + x).collect();
                    let p =
                        DecimalParts { negative, digits: Cow::Owned(ascii), frac: &[], exponent };
                    self.emit_decimal(id, d, &p, v, out)
                }
                Some(DecimalRef::Unscaled { unscaled, scale }) => {
                    self.emit_decimal(id, d, &logical::i128_parts(unscaled, scale), v, out)
                }
                Some(DecimalRef::TwosComplement { bytes, scale }) => {
                    let scale = scale.unwrap_or(d.scale as i64);
                    if !(0..=10_000).contains(&scale) || bytes.is_empty() {
                        return Err(self.fail(id, v));
                    }
                    let mut text = String::new();
                    logical::write_decimal_text(&bytes, scale as u32, &mut text);
                    match logical::parse_decimal_text(&text) {
                        Some(p) => self.emit_decimal(id, d, &p, v, out),
                        None => Err(self.fail(id, v)),
                    }
                }
                None => Err(self.fail(id, v)),
            },
            Kind::Str => {
                let s = v.as_str();
                match s.as_deref().and_then(logical::parse_decimal_text) {
                    Some(p) => self.emit_decimal(id, d, &p, v, out),
                    None => Err(self.fail(id, v)),
                }
            }
            Kind::Int => match v.as_i64() {
                Some(i) => self.emit_decimal(id, d, &logical::i128_parts(i as i128, 0), v, out),
                None => Err(self.fail(id, v)),
            },
            Kind::Float => match v.as_f64() {
                Some(f) if f.is_finite() => {
                    let text = format!("{f}");
                    match logical::parse_decimal_text(&text) {
                        Some(p) => self.emit_decimal(id, d, &p, v, out),
                        None => Err(self.fail(id, v)),
                    }
                }
                _ => Err(self.fail(id, v)),
            },
            _ => Err(self.fail(id, v)),
        }
    }

    fn emit_decimal<S: ValueSource>(
        &self,
        id: NodeId,
        d: &DecimalNode,
        p: &DecimalParts<'_>,
        v: &S,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let why = |f: DecimalFit| {
            let what = match f {
                DecimalFit::TooManyFractionDigits => {
                    format!("more than {} digits after the point", d.scale)
                }
                DecimalFit::TooManyDigits | DecimalFit::TooLarge => {
                    format!("more than {} digits", d.precision)
                }
            };
            mismatch(self.expected(id), format!("{} ({what})", describe_value(v)))
        };
        match d.fixed {
            None => {
                let len_pos = out.len();
                out.push(0);
                let start = out.len();
                if let Err(f) = logical::decimal_to_twos(p, d.precision, d.scale, out) {
                    out.truncate(len_pos);
                    return Err(why(f));
                }
                let n = out.len() - start;
                if n < 64 {
                    out[len_pos] = (n as u8) << 1;
                } else {
                    let mut len = Vec::with_capacity(4);
                    write_long(&mut len, n as i64);
                    out.splice(len_pos..start, len);
                }
                Ok(())
            }
            Some((_, size)) => {
                let start = out.len();
                if let Err(f) = logical::decimal_to_twos(p, d.precision, d.scale, out) {
                    out.truncate(start);
                    return Err(why(f));
                }
                let n = out.len() - start;
                if n > size {
                    out.truncate(start);
                    return Err(why(DecimalFit::TooLarge));
                }
                let fill = if out[start] & 0x80 != 0 { 0xff } else { 0 };
                out.splice(start..start, std::iter::repeat_n(fill, size - n));
                Ok(())
            }
        }
    }

    fn uuid<S: ValueSource>(
        &self,
        id: NodeId,
        fixed: bool,
        v: &S,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let raw: Option<[u8; 16]> = match v.kind() {
            Kind::Str => {
                let parsed = v.as_str().and_then(|s| logical::parse_uuid(&s));
                match parsed {
                    Some(u) => Some(u),
                    // A fixed(16) uuid default is 16 ISO-8859-1 characters.
                    None if self.default_mode && fixed => {
                        v.as_bytes().and_then(|b| <[u8; 16]>::try_from(&*b).ok())
                    }
                    None => None,
                }
            }
            Kind::Bytes | Kind::Uuid => {
                match v.as_bytes().and_then(|b| <[u8; 16]>::try_from(&*b).ok()) {
                    Some(u) => Some(u),
                    None => v.as_str().and_then(|s| logical::parse_uuid(&s)),
                }
            }
            _ => None,
        };
        let Some(u) = raw else {
            return Err(self.fail(id, v));
        };
        if fixed {
            out.extend_from_slice(&u);
        } else {
            let mut text = [0u8; 36];
            logical::format_uuid(&u, &mut text);
            out.push(72);
            out.extend_from_slice(&text);
        }
        Ok(())
    }

    fn temporal<S: ValueSource>(
        &self,
        id: NodeId,
        k: TemporalKind,
        v: &S,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        use TemporalKind::*;
        let unit = k.unit_nanos();
        let n: Option<i128> = match v.kind() {
            Kind::Int => v.as_i64().map(|i| i as i128),
            Kind::Str => {
                let s = v.as_str();
                let s = s.as_deref().unwrap_or("");
                match k {
                    Date => logical::parse_date(s).map(|d| d as i128),
                    TimeMillis | TimeMicros => logical::parse_time(s).map(|n| n as i128 / unit),
                    TimestampMillis | TimestampMicros | TimestampNanos => {
                        logical::parse_datetime(s).map(|(n, _)| n.div_euclid(unit))
                    }
                    LocalTimestampMillis | LocalTimestampMicros | LocalTimestampNanos => {
                        match logical::parse_datetime(s) {
                            Some((n, false)) => Some(n.div_euclid(unit)),
                            Some((_, true)) => {
                                return Err(mismatch(
                                    self.expected(id),
                                    format!("{} (with a UTC offset)", describe_value(v)),
                                ))
                            }
                            None => None,
                        }
                    }
                }
            }
            Kind::Date | Kind::Time | Kind::Timestamp | Kind::LocalTimestamp => {
                match (k, v.as_temporal()) {
                    (Date, Some(Temporal::Date(d))) => Some(d as i128),
                    (Date, Some(Temporal::Instant(n) | Temporal::Local(n))) => {
                        Some(n.div_euclid(unit))
                    }
                    (TimeMillis | TimeMicros, Some(Temporal::Time(n))) => Some(n as i128 / unit),
                    (
                        TimestampMillis | TimestampMicros | TimestampNanos | LocalTimestampMillis
                        | LocalTimestampMicros | LocalTimestampNanos,
                        Some(Temporal::Instant(n) | Temporal::Local(n)),
                    ) => Some(n.div_euclid(unit)),
                    (
                        TimestampMillis | TimestampMicros | TimestampNanos | LocalTimestampMillis
                        | LocalTimestampMicros | LocalTimestampNanos,
                        Some(Temporal::Date(d)),
                    ) => Some(d as i128 * Date.unit_nanos() / unit),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(n) = n else {
            return Err(self.fail(id, v));
        };
        let (lo, hi) = if k.is_int() {
            (i32::MIN as i128, i32::MAX as i128)
        } else {
            (i64::MIN as i128, i64::MAX as i128)
        };
        if n < lo || n > hi {
            return Err(mismatch(
                self.expected(id),
                format!("{} (out of range)", describe_value(v)),
            ));
        }
        write_long(out, n as i64);
        Ok(())
    }

    fn union<S: ValueSource>(
        &self,
        id: NodeId,
        u: &UnionNode,
        v: &S,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<()> {
        let kind = v.kind();
        if kind == Kind::Null {
            if let Some(ni) = u.null_index {
                write_long(out, ni as i64);
                return Ok(());
            }
        }
        if depth >= MAX_DEPTH {
            return Err(mismatch(self.expected(id), format!("nesting deeper than {MAX_DEPTH}")));
        }
        if let Some((b, inner)) = v.branch() {
            let idx = match &b {
                Branch::Index(i) => {
                    if *i >= u.branches.len() {
                        return Err(mismatch(self.expected(id), format!("union branch {i}")));
                    }
                    Some(*i)
                }
                Branch::Name(n) => u.names.iter().position(|x| **x == **n).or_else(|| {
                    u.names
                        .iter()
                        .position(|x| x.contains('.') && x.rsplit('.').next() == Some(&**n))
                }),
            };
            if let Some(i) = idx {
                write_long(out, i as i64);
                return self.write(u.branches[i], &inner, out, depth + 1);
            }
        }
        let start = out.len();
        let mut first_err: Option<Error> = None;
        let mut tried = 0;
        let strict = u
            .branches
            .iter()
            .filter(|b| matches!(self.nodes[**b as usize], Node::Record(_) | Node::Map(_)))
            .count()
            > 1;
        for (i, &b) in u.branches.iter().enumerate() {
            if !accepts_kind(&self.nodes[b as usize], kind) {
                continue;
            }
            tried += 1;
            write_long(out, i as i64);
            let res = match &self.nodes[b as usize] {
                Node::Record(r) => self.record(b, r, v, out, depth + 1, strict),
                _ => self.write(b, v, out, depth + 1),
            };
            match res {
                Ok(()) => return Ok(()),
                Err(e @ Error::SerdeEncode { .. }) => {
                    out.truncate(start);
                    first_err.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        match first_err {
            Some(e) if tried == 1 => Err(e),
            _ => Err(self.fail(id, v)),
        }
    }
}

/// Whether a node could take a value of this kind (a cheap filter before trying a branch).
fn accepts_kind(node: &Node, kind: Kind) -> bool {
    use Kind as K;
    match node {
        Node::Null => kind == K::Null,
        Node::Boolean => kind == K::Bool,
        Node::Int | Node::Long => kind == K::Int,
        Node::Float | Node::Double => matches!(kind, K::Int | K::Float | K::Str),
        Node::Bytes | Node::Fixed(_) => matches!(kind, K::Bytes | K::Str),
        Node::String | Node::Enum(_) => kind == K::Str,
        Node::Array(_) => kind == K::Seq,
        Node::Map(_) | Node::Record(_) => kind == K::Map,
        Node::Decimal(_) => matches!(kind, K::Decimal | K::Str | K::Int | K::Float),
        Node::Uuid { .. } => matches!(kind, K::Uuid | K::Str | K::Bytes),
        Node::Temporal(TemporalKind::Date) => {
            matches!(kind, K::Date | K::Int | K::Str | K::Timestamp | K::LocalTimestamp)
        }
        Node::Temporal(TemporalKind::TimeMillis | TemporalKind::TimeMicros) => {
            matches!(kind, K::Time | K::Int | K::Str)
        }
        Node::Temporal(_) => {
            matches!(kind, K::Timestamp | K::LocalTimestamp | K::Date | K::Int | K::Str)
        }
        Node::Union(_) => false,
    }
}

/// The branch the union rule picks for `v` (None if none accepts). Used by builders that must
/// decide whether a decoded union value needs an explicit branch wrapper to read back the same.
pub(crate) fn natural_branch<S: ValueSource>(
    nodes: &[Node],
    union: NodeId,
    v: &S,
) -> Option<usize> {
    let Node::Union(u) = &nodes[union as usize] else {
        return None;
    };
    let mut scratch = Vec::new();
    let enc = Enc { nodes, default_mode: false };
    enc.union(union, u, v, &mut scratch, 0).ok()?;
    // The first varint is the branch index.
    let mut n: u64 = 0;
    for (i, b) in scratch.iter().take(10).enumerate() {
        n |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    Some(((n >> 1) as i64 ^ -((n & 1) as i64)) as usize)
}

/// Encodes a schema default (Avro's JSON default rules) — used when compiling.
pub(crate) fn encode_default(
    nodes: &[Node],
    id: NodeId,
    json: &Json,
    out: &mut Vec<u8>,
) -> Result<()> {
    Enc { nodes, default_mode: true }.write(id, &DefaultSrc(json), out, 0)
}

/// A schema default: like natural JSON, but bytes and fixed are ISO-8859-1 strings and no
/// `{"type": value}` branch syntax.
struct DefaultSrc<'a>(&'a Json);

impl<'a> ValueSource for DefaultSrc<'a> {
    fn kind(&self) -> Kind {
        self.0.kind()
    }
    fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn as_i64(&self) -> Option<i64> {
        ValueSource::as_i64(&self.0)
    }
    fn as_f64(&self) -> Option<f64> {
        ValueSource::as_f64(&self.0)
    }
    fn as_str(&self) -> Option<Cow<'_, str>> {
        self.0.as_str().map(Cow::Borrowed)
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        let s = self.0.as_str()?;
        s.chars().map(|c| u8::try_from(c as u32).ok()).collect::<Option<Vec<u8>>>().map(Cow::Owned)
    }
    fn len(&self) -> Option<usize> {
        ValueSource::len(&self.0)
    }
    fn field(&self, name: &str) -> Option<Self> {
        self.0.get(name).map(DefaultSrc)
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> Result<()>) -> Result<()> {
        match self.0 {
            Json::Array(a) => a.iter().try_for_each(|x| f(DefaultSrc(x))),
            _ => Ok(()),
        }
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str, Self) -> Result<()>) -> Result<()> {
        match self.0 {
            Json::Object(m) => m.iter().try_for_each(|(k, x)| f(k, DefaultSrc(x))),
            _ => Ok(()),
        }
    }
}
