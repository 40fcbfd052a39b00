//! apache-avro's `types::Value` as a [`ValueSource`] and [`ApacheBuilder`] decoding into it —
//! for Rust users who already hold such values, and as a second reference in tests.

use std::borrow::Cow;
use std::collections::HashMap;

use apache_avro::types::Value;

use super::builder::{RecordInfo, UnionBranch, ValueBuilder};
use super::plan::TemporalKind;
use super::source::{Branch, DecimalRef, Kind, Temporal, ValueSource};
use crate::error::Result;

/// The value inside any union wrappers.
fn un(v: &Value) -> &Value {
    match v {
        Value::Union(_, inner) => un(inner),
        _ => v,
    }
}

impl ValueSource for &Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Boolean(_) => Kind::Bool,
            Value::Int(_) | Value::Long(_) => Kind::Int,
            Value::Float(_) | Value::Double(_) => Kind::Float,
            Value::String(_) | Value::Enum(..) => Kind::Str,
            Value::Bytes(_) | Value::Fixed(..) | Value::Duration(_) => Kind::Bytes,
            Value::Array(_) => Kind::Seq,
            Value::Map(_) | Value::Record(_) => Kind::Map,
            Value::Union(_, v) => (&**v).kind(),
            Value::Decimal(_) => Kind::Decimal,
            Value::BigDecimal(_) => Kind::Other,
            Value::Uuid(_) => Kind::Uuid,
            Value::Date(_) => Kind::Date,
            Value::TimeMillis(_) | Value::TimeMicros(_) => Kind::Time,
            Value::TimestampMillis(_) | Value::TimestampMicros(_) | Value::TimestampNanos(_) => {
                Kind::Timestamp
            }
            Value::LocalTimestampMillis(_)
            | Value::LocalTimestampMicros(_)
            | Value::LocalTimestampNanos(_) => Kind::LocalTimestamp,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match un(self) {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match un(self) {
            Value::Int(i) => Some(*i as i64),
            Value::Long(i) => Some(*i),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match un(self) {
            Value::Int(i) => Some(*i as f64),
            Value::Long(i) => Some(*i as f64),
            Value::Float(f) => Some(*f as f64),
            Value::Double(f) => Some(*f),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<Cow<'_, str>> {
        match un(self) {
            Value::String(s) | Value::Enum(_, s) => Some(Cow::Borrowed(s)),
            Value::Uuid(u) => Some(Cow::Owned(u.to_string())),
            _ => None,
        }
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match un(self) {
            Value::Bytes(b) | Value::Fixed(_, b) => Some(Cow::Borrowed(b)),
            Value::Uuid(u) => Some(Cow::Owned(u.as_bytes().to_vec())),
            Value::Duration(d) => Some(Cow::Owned(<[u8; 12]>::from(*d).to_vec())),
            _ => None,
        }
    }
    fn len(&self) -> Option<usize> {
        match un(self) {
            Value::Array(a) => Some(a.len()),
            Value::Map(m) => Some(m.len()),
            Value::Record(r) => Some(r.len()),
            _ => None,
        }
    }
    fn field(&self, name: &str) -> Option<Self> {
        match un(self) {
            Value::Record(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            Value::Map(m) => m.get(name),
            _ => None,
        }
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> Result<()>) -> Result<()> {
        match un(self) {
            Value::Array(a) => a.iter().try_for_each(f),
            _ => Ok(()),
        }
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str, Self) -> Result<()>) -> Result<()> {
        match un(self) {
            Value::Map(m) => m.iter().try_for_each(|(k, v)| f(k, v)),
            Value::Record(r) => r.iter().try_for_each(|(k, v)| f(k, v)),
            _ => Ok(()),
        }
    }
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        match self {
            Value::Union(i, v) => Some((Branch::Index(*i as usize), v.as_ref())),
            _ => None,
        }
    }
    fn as_decimal(&self) -> Option<DecimalRef<'_>> {
        match un(self) {
            Value::Decimal(d) => Vec::<u8>::try_from(d)
                .ok()
                .map(|b| DecimalRef::TwosComplement { bytes: Cow::Owned(b), scale: None }),
            _ => None,
        }
    }
    fn as_temporal(&self) -> Option<Temporal> {
        Some(match un(self) {
            Value::Date(d) => Temporal::Date(*d as i64),
            Value::TimeMillis(t) => Temporal::Time(*t as i64 * 1_000_000),
            Value::TimeMicros(t) => Temporal::Time(t.saturating_mul(1_000)),
            Value::TimestampMillis(t) => Temporal::Instant(*t as i128 * 1_000_000),
            Value::TimestampMicros(t) => Temporal::Instant(*t as i128 * 1_000),
            Value::TimestampNanos(t) => Temporal::Instant(*t as i128),
            Value::LocalTimestampMillis(t) => Temporal::Local(*t as i128 * 1_000_000),
            Value::LocalTimestampMicros(t) => Temporal::Local(*t as i128 * 1_000),
            Value::LocalTimestampNanos(t) => Temporal::Local(*t as i128),
            _ => return None,
        })
    }
}

/// Decodes into apache-avro's `Value` (unions as `Value::Union(index, ..)`, logical types as
/// their `Value` variants), the same shape `apache_avro::from_avro_datum` gives.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApacheBuilder;

impl ValueBuilder for ApacheBuilder {
    type Value = Value;
    type Record = Vec<(String, Value)>;
    type Array = Vec<Value>;
    type Map = HashMap<String, Value>;

    fn null(&mut self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn boolean(&mut self, v: bool) -> Result<Value> {
        Ok(Value::Boolean(v))
    }
    fn int(&mut self, v: i32) -> Result<Value> {
        Ok(Value::Int(v))
    }
    fn long(&mut self, v: i64) -> Result<Value> {
        Ok(Value::Long(v))
    }
    fn float(&mut self, v: f32) -> Result<Value> {
        Ok(Value::Float(v))
    }
    fn double(&mut self, v: f64) -> Result<Value> {
        Ok(Value::Double(v))
    }
    fn bytes(&mut self, v: &[u8]) -> Result<Value> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn string(&mut self, v: &str) -> Result<Value> {
        Ok(Value::String(v.to_owned()))
    }
    fn fixed(&mut self, v: &[u8]) -> Result<Value> {
        Ok(Value::Fixed(v.len(), v.to_vec()))
    }
    fn enum_symbol(&mut self, index: u32, symbol: &str) -> Result<Value> {
        Ok(Value::Enum(index, symbol.to_owned()))
    }
    fn decimal(&mut self, unscaled: &[u8], _: u32, _: u32) -> Result<Value> {
        Ok(Value::Decimal(apache_avro::Decimal::from(unscaled)))
    }
    fn uuid(&mut self, v: &[u8; 16]) -> Result<Value> {
        Ok(Value::Uuid(apache_avro::Uuid::from_bytes(*v)))
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> Result<Value> {
        use TemporalKind::*;
        Ok(match kind {
            Date => Value::Date(v as i32),
            TimeMillis => Value::TimeMillis(v as i32),
            TimeMicros => Value::TimeMicros(v),
            TimestampMillis => Value::TimestampMillis(v),
            TimestampMicros => Value::TimestampMicros(v),
            TimestampNanos => Value::TimestampNanos(v),
            LocalTimestampMillis => Value::LocalTimestampMillis(v),
            LocalTimestampMicros => Value::LocalTimestampMicros(v),
            LocalTimestampNanos => Value::LocalTimestampNanos(v),
        })
    }
    fn record_start(&mut self, info: &RecordInfo<'_>) -> Result<Self::Record> {
        Ok(Vec::with_capacity(info.field_count))
    }
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        _: usize,
        name: &str,
        v: Value,
    ) -> Result<()> {
        rec.push((name.to_owned(), v));
        Ok(())
    }
    fn record_end(&mut self, rec: Self::Record) -> Result<Value> {
        Ok(Value::Record(rec))
    }
    fn array_start(&mut self, size_hint: usize) -> Result<Vec<Value>> {
        Ok(Vec::with_capacity(size_hint))
    }
    fn array_push(&mut self, arr: &mut Vec<Value>, v: Value) -> Result<()> {
        arr.push(v);
        Ok(())
    }
    fn array_end(&mut self, arr: Vec<Value>) -> Result<Value> {
        Ok(Value::Array(arr))
    }
    fn map_start(&mut self, size_hint: usize) -> Result<Self::Map> {
        Ok(HashMap::with_capacity(size_hint))
    }
    fn map_insert(&mut self, map: &mut Self::Map, key: &str, v: Value) -> Result<()> {
        map.insert(key.to_owned(), v);
        Ok(())
    }
    fn map_end(&mut self, map: Self::Map) -> Result<Value> {
        Ok(Value::Map(map))
    }
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Value) -> Result<Value> {
        Ok(Value::Union(branch.index() as u32, Box::new(v)))
    }
}
