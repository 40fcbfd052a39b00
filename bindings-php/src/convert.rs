//! PHP values <-> the core: [`PhpValue`] implements `kpipe::avro::ValueSource` over a zval and
//! [`PhpBuilder`] implements `ValueBuilder` building zvals directly. No JSON, no intermediate
//! tree: the rules (unions, decimals, logical types, field paths) are the core's.
//!
//! PHP arrays are lists when their keys are 0..n-1 in order and maps otherwise; `[]` is both
//! (the core takes it for an empty array, map or record). Strings are bytes: a `string` field
//! needs valid UTF-8, a `bytes`/`fixed` field takes the raw bytes. A `DateTimeInterface` is a
//! timestamp; decimals and uuids are strings.

use std::borrow::Cow;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::types::{ArrayKey, ZendHashTable, Zval};
use ext_php_rs::zend::ClassEntry;
use kpipe::avro::{
    Branch, JsonBuilder, Kind, RecordInfo, Temporal, TemporalKind, UnionBranch, ValueBuilder,
    ValueSource,
};

/// One PHP value as the encoder sees it; its kind is worked out once.
pub struct PhpValue<'a> {
    z: &'a Zval,
    kind: Kind,
}

impl<'a> PhpValue<'a> {
    pub fn new(z: &'a Zval) -> Self {
        let z = z.dereference();
        PhpValue { z, kind: kind_of(z) }
    }
}

pub fn is_datetime(z: &Zval) -> bool {
    match (z.object(), ClassEntry::try_find("DateTimeInterface")) {
        (Some(o), Some(ce)) => o.instance_of(ce),
        _ => false,
    }
}

fn kind_of(z: &Zval) -> Kind {
    if z.is_null() || z.get_type() == ext_php_rs::flags::DataType::Undef {
        Kind::Null
    } else if z.is_bool() {
        Kind::Bool
    } else if z.is_long() {
        Kind::Int
    } else if z.is_double() {
        Kind::Float
    } else if z.is_string() {
        Kind::Str
    } else if let Some(a) = z.array() {
        if a.has_sequential_keys() {
            Kind::Seq
        } else {
            Kind::Map
        }
    } else if is_datetime(z) {
        Kind::Timestamp
    } else {
        Kind::Other
    }
}

fn key_text(k: &ArrayKey<'_>) -> String {
    k.to_string()
}

/// Nanoseconds since the epoch of a DateTimeInterface (`format('U.u')`).
fn epoch_nanos(z: &Zval) -> Option<i128> {
    let text = z.try_call_method("format", vec![&"U.u"]).ok()?.string()?;
    let (sec, usec) = text.split_once('.')?;
    let sec: i128 = sec.parse().ok()?;
    let usec: i128 = usec.parse().ok()?;
    Some(sec * 1_000_000_000 + usec * 1_000)
}

impl<'a> ValueSource for PhpValue<'a> {
    fn kind(&self) -> Kind {
        self.kind
    }
    fn as_bool(&self) -> Option<bool> {
        self.z.bool()
    }
    fn as_i64(&self) -> Option<i64> {
        (self.kind == Kind::Int).then(|| self.z.long()).flatten()
    }
    fn as_f64(&self) -> Option<f64> {
        match self.kind {
            Kind::Float => self.z.double(),
            Kind::Int => self.z.long().map(|n| n as f64),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<Cow<'_, str>> {
        if self.kind != Kind::Str {
            return None;
        }
        let b = self.z.zend_str()?.as_bytes();
        std::str::from_utf8(b).ok().map(Cow::Borrowed)
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        if self.kind != Kind::Str {
            return None;
        }
        self.z.zend_str().map(|s| Cow::Borrowed(s.as_bytes()))
    }
    fn len(&self) -> Option<usize> {
        self.z.array().map(|a| a.len())
    }
    fn field(&self, name: &str) -> Option<Self> {
        if self.kind != Kind::Map {
            return None;
        }
        self.z.array()?.get(name).map(PhpValue::new)
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> kpipe::Result<()>) -> kpipe::Result<()> {
        if let Some(a) = self.z.array() {
            for v in a.values() {
                f(PhpValue::new(v))?;
            }
        }
        Ok(())
    }
    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(&str, Self) -> kpipe::Result<()>,
    ) -> kpipe::Result<()> {
        if let Some(a) = self.z.array() {
            for (k, v) in a.iter() {
                f(&key_text(&k), PhpValue::new(v))?;
            }
        }
        Ok(())
    }
    /// `['<branch name>' => value]` selects a union branch, as natural JSON's `{"long": 5}`.
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        if self.kind != Kind::Map {
            return None;
        }
        let a = self.z.array()?;
        if a.len() != 1 {
            return None;
        }
        let (k, v) = a.iter().next()?;
        Some((Branch::Name(Cow::Owned(key_text(&k))), PhpValue::new(v)))
    }
    fn as_temporal(&self) -> Option<Temporal> {
        if self.kind != Kind::Timestamp {
            return None;
        }
        epoch_nanos(self.z).map(Temporal::Instant)
    }
    fn type_name(&self) -> Option<Cow<'_, str>> {
        // an object the encoder does not take (stdClass, ArrayObject, ...): name its class
        (self.kind == Kind::Other)
            .then(|| self.z.object().and_then(|o| o.get_class_name().ok()))
            .flatten()
            .map(|c| Cow::Owned(format!("object of class {c}")))
    }
    fn is_map_too(&self) -> bool {
        self.kind == Kind::Seq
    }
}

fn internal(what: impl std::fmt::Display) -> kpipe::Error {
    kpipe::Error::Internal { reason: format!("building a PHP value: {what}") }
}

/// A PHP string zval of raw bytes.
pub fn bytes_zval(v: &[u8]) -> Zval {
    let mut z = Zval::new();
    z.set_binary(v.to_vec());
    z
}

pub fn string_zval(v: &str) -> Zval {
    let mut z = Zval::new();
    let _ = z.set_string(v, false);
    z
}

/// A DateTimeImmutable (UTC) of `micros` since the epoch.
pub fn datetime_zval(micros: i64) -> kpipe::Result<Zval> {
    let sec = micros.div_euclid(1_000_000);
    let usec = micros.rem_euclid(1_000_000);
    let text = format!("{sec}.{usec:06}");
    let f = ext_php_rs::types::ZendCallable::try_from_name("date_create_immutable_from_format")
        .map_err(internal)?;
    let z = f.try_call(vec![&"U.u", &text]).map_err(internal)?;
    if z.is_object() {
        Ok(z)
    } else {
        Err(internal(format!("no DateTimeImmutable for {text}")))
    }
}

fn insert(ht: &mut ZendHashTable, key: &str, v: Zval) -> kpipe::Result<()> {
    // PHP's own rule: a key spelled as a canonical integer is an integer key
    let r = match key.parse::<i64>() {
        Ok(n) if n.to_string() == key => ht.insert(n, v),
        _ => ht.insert(key, v),
    };
    r.map_err(internal)
}

/// Builds PHP values.
#[derive(Default)]
pub struct PhpBuilder;

impl PhpBuilder {
    fn temporal_text(&self, kind: TemporalKind, v: i64) -> kpipe::Result<Zval> {
        match JsonBuilder.temporal(kind, v)? {
            serde_json::Value::String(s) => Ok(string_zval(&s)),
            _ => {
                let mut z = Zval::new();
                z.set_long(v);
                Ok(z)
            }
        }
    }
}

fn arr(ht: ZBox<ZendHashTable>) -> Zval {
    let mut z = Zval::new();
    z.set_hashtable(ht);
    z
}

impl ValueBuilder for PhpBuilder {
    type Value = Zval;
    type Record = ZBox<ZendHashTable>;
    type Array = ZBox<ZendHashTable>;
    type Map = ZBox<ZendHashTable>;

    fn null(&mut self) -> kpipe::Result<Zval> {
        Ok(Zval::null())
    }
    fn boolean(&mut self, v: bool) -> kpipe::Result<Zval> {
        let mut z = Zval::new();
        z.set_bool(v);
        Ok(z)
    }
    fn int(&mut self, v: i32) -> kpipe::Result<Zval> {
        let mut z = Zval::new();
        z.set_long(v);
        Ok(z)
    }
    /// A PHP int is 64-bit: every Avro long comes back exactly.
    fn long(&mut self, v: i64) -> kpipe::Result<Zval> {
        let mut z = Zval::new();
        z.set_long(v);
        Ok(z)
    }
    fn float(&mut self, v: f32) -> kpipe::Result<Zval> {
        let mut z = Zval::new();
        z.set_double(v as f64);
        Ok(z)
    }
    fn double(&mut self, v: f64) -> kpipe::Result<Zval> {
        let mut z = Zval::new();
        z.set_double(v);
        Ok(z)
    }
    fn bytes(&mut self, v: &[u8]) -> kpipe::Result<Zval> {
        Ok(bytes_zval(v))
    }
    fn string(&mut self, v: &str) -> kpipe::Result<Zval> {
        Ok(string_zval(v))
    }
    fn fixed(&mut self, v: &[u8]) -> kpipe::Result<Zval> {
        Ok(bytes_zval(v))
    }
    fn enum_symbol(&mut self, _: u32, symbol: &str) -> kpipe::Result<Zval> {
        Ok(string_zval(symbol))
    }
    fn decimal(&mut self, unscaled: &[u8], _precision: u32, scale: u32) -> kpipe::Result<Zval> {
        Ok(string_zval(&kpipe::avro::decimal_text(unscaled, scale)))
    }
    fn uuid(&mut self, v: &[u8; 16]) -> kpipe::Result<Zval> {
        let h: String = v.iter().map(|x| format!("{x:02x}")).collect();
        Ok(string_zval(&format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )))
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> kpipe::Result<Zval> {
        // UTC timestamps are DateTimeImmutable when it holds them exactly (microseconds);
        // finer values, dates, times and local (zone-less) timestamps keep their natural-JSON
        // text, so nothing is lost and no zone is invented.
        let micros = match kind {
            TemporalKind::TimestampMillis => v.checked_mul(1_000),
            TemporalKind::TimestampMicros => Some(v),
            TemporalKind::TimestampNanos if v % 1_000 == 0 => Some(v / 1_000),
            _ => None,
        };
        match micros {
            Some(us) => datetime_zval(us).or_else(|_| self.temporal_text(kind, v)),
            None => self.temporal_text(kind, v),
        }
    }
    fn record_start(&mut self, info: &RecordInfo<'_>) -> kpipe::Result<Self::Record> {
        let _ = info;
        Ok(ZendHashTable::new())
    }
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        _: usize,
        name: &str,
        v: Zval,
    ) -> kpipe::Result<()> {
        rec.insert(name, v).map_err(internal)
    }
    fn record_end(&mut self, rec: Self::Record) -> kpipe::Result<Zval> {
        Ok(arr(rec))
    }
    fn array_start(&mut self, size_hint: usize) -> kpipe::Result<Self::Array> {
        Ok(ZendHashTable::with_capacity(size_hint.min(1 << 16) as u32))
    }
    fn array_push(&mut self, a: &mut Self::Array, v: Zval) -> kpipe::Result<()> {
        a.push(v).map_err(internal)
    }
    fn array_end(&mut self, a: Self::Array) -> kpipe::Result<Zval> {
        Ok(arr(a))
    }
    fn map_start(&mut self, size_hint: usize) -> kpipe::Result<Self::Map> {
        Ok(ZendHashTable::with_capacity(size_hint.min(1 << 16) as u32))
    }
    fn map_insert(&mut self, m: &mut Self::Map, key: &str, v: Zval) -> kpipe::Result<()> {
        insert(m, key, v)
    }
    fn map_end(&mut self, m: Self::Map) -> kpipe::Result<Zval> {
        Ok(arr(m))
    }
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Zval) -> kpipe::Result<Zval> {
        if branch.unambiguous() {
            return Ok(v);
        }
        let pv = PhpValue::new(&v);
        if pv.kind == Kind::Null || branch.natural_index(&pv) == Some(branch.index()) {
            return Ok(v);
        }
        // would read back into another branch: wrap it, as natural JSON does
        let mut ht = ZendHashTable::new();
        ht.insert(branch.name(), v).map_err(internal)?;
        Ok(arr(ht))
    }
}

/// serde_json values (admin results) as PHP arrays and scalars.
pub fn json_zval(v: &serde_json::Value) -> kpipe::Result<Zval> {
    let mut z = Zval::new();
    match v {
        serde_json::Value::Null => z.set_null(),
        serde_json::Value::Bool(b) => z.set_bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => z.set_long(i),
            None => z.set_double(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => return Ok(string_zval(s)),
        serde_json::Value::Array(a) => {
            let mut ht = ZendHashTable::with_capacity(a.len() as u32);
            for x in a {
                ht.push(json_zval(x)?).map_err(internal)?;
            }
            return Ok(arr(ht));
        }
        serde_json::Value::Object(o) => {
            let mut ht = ZendHashTable::new();
            for (k, x) in o {
                insert(&mut ht, k, json_zval(x)?)?;
            }
            return Ok(arr(ht));
        }
    }
    Ok(z)
}
