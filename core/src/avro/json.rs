//! Natural JSON (DESIGN.md "Avro and the registry", docs/avro.md): [`ValueSource`] for
//! `serde_json::Value` and [`JsonBuilder`], which decodes into it.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

use super::builder::{RecordInfo, UnionBranch, ValueBuilder};
use super::logical;
use super::plan::TemporalKind;
use super::source::{Branch, Kind, ValueSource};
use crate::error::Result;

/// Natural JSON's bytes: standard alphabet, padding written; on input padding is optional.
pub(super) const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

impl ValueSource for &Json {
    #[inline]
    fn kind(&self) -> Kind {
        match self {
            Json::Null => Kind::Null,
            Json::Bool(_) => Kind::Bool,
            Json::Number(n) if n.is_f64() => Kind::Float,
            Json::Number(_) => Kind::Int,
            Json::String(_) => Kind::Str,
            Json::Array(_) => Kind::Seq,
            Json::Object(_) => Kind::Map,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        Json::as_bool(self)
    }
    #[inline]
    fn as_i64(&self) -> Option<i64> {
        Json::as_i64(self)
    }
    fn as_f64(&self) -> Option<f64> {
        Json::as_f64(self)
    }
    #[inline]
    fn as_str(&self) -> Option<Cow<'_, str>> {
        Json::as_str(self).map(Cow::Borrowed)
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        Json::as_str(self).and_then(|s| B64.decode(s).ok()).map(Cow::Owned)
    }
    fn len(&self) -> Option<usize> {
        match self {
            Json::Array(a) => Some(a.len()),
            Json::Object(m) => Some(m.len()),
            _ => None,
        }
    }
    #[inline]
    fn field(&self, name: &str) -> Option<Self> {
        match self {
            Json::Object(m) => m.get(name),
            _ => None,
        }
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> Result<()>) -> Result<()> {
        match self {
            Json::Array(a) => a.iter().try_for_each(f),
            _ => Ok(()),
        }
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str, Self) -> Result<()>) -> Result<()> {
        match self {
            Json::Object(m) => m.iter().try_for_each(|(k, v)| f(k, v)),
            _ => Ok(()),
        }
    }
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        match self {
            Json::Object(m) if m.len() == 1 => {
                m.iter().next().map(|(k, v)| (Branch::Name(Cow::Borrowed(k.as_str())), v))
            }
            _ => None,
        }
    }
}

/// Decodes into natural JSON. Stateless; reuse one.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonBuilder;

fn float_json(text: String, v: f64) -> Json {
    if v.is_nan() {
        Json::String("NaN".into())
    } else if v.is_infinite() {
        Json::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        // The shortest text that reads back to the same bits, as a JSON number.
        text.parse::<f64>().ok().and_then(Number::from_f64).map(Json::Number).unwrap_or(Json::Null)
    }
}

impl ValueBuilder for JsonBuilder {
    type Value = Json;
    type Record = Map<String, Json>;
    type Array = Vec<Json>;
    type Map = Map<String, Json>;

    fn null(&mut self) -> Result<Json> {
        Ok(Json::Null)
    }
    fn boolean(&mut self, v: bool) -> Result<Json> {
        Ok(Json::Bool(v))
    }
    fn int(&mut self, v: i32) -> Result<Json> {
        Ok(Json::from(v))
    }
    fn long(&mut self, v: i64) -> Result<Json> {
        Ok(Json::from(v))
    }
    fn float(&mut self, v: f32) -> Result<Json> {
        // The float32's exact value as a double (0.1f32 is 0.10000000149011612), as fastavro
        // and Java give it and every binding does: one rule for all (docs/avro.md).
        Ok(float_json(format!("{}", v as f64), v as f64))
    }
    fn double(&mut self, v: f64) -> Result<Json> {
        if v.is_finite() {
            return Ok(Number::from_f64(v).map(Json::Number).unwrap_or(Json::Null));
        }
        Ok(float_json(String::new(), v))
    }
    fn bytes(&mut self, v: &[u8]) -> Result<Json> {
        Ok(Json::String(B64.encode(v)))
    }
    fn string(&mut self, v: &str) -> Result<Json> {
        Ok(Json::String(v.to_owned()))
    }
    fn fixed(&mut self, v: &[u8]) -> Result<Json> {
        Ok(Json::String(B64.encode(v)))
    }
    fn enum_symbol(&mut self, _: u32, symbol: &str) -> Result<Json> {
        Ok(Json::String(symbol.to_owned()))
    }
    fn decimal(&mut self, unscaled: &[u8], _precision: u32, scale: u32) -> Result<Json> {
        let mut s = String::with_capacity(24);
        logical::write_decimal_text(unscaled, scale, &mut s);
        Ok(Json::String(s))
    }
    fn uuid(&mut self, v: &[u8; 16]) -> Result<Json> {
        let mut t = [0u8; 36];
        logical::format_uuid(v, &mut t);
        Ok(Json::String(String::from_utf8_lossy(&t).into_owned()))
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> Result<Json> {
        let mut s = String::with_capacity(32);
        let ok = logical::format_temporal(kind, v, &mut s);
        // Values the text form cannot show (years outside 0000-9999, times outside a day) stay
        // numbers, which read back to the same bytes.
        Ok(if ok { Json::String(s) } else { Json::from(v) })
    }
    fn record_start(&mut self, _: &RecordInfo<'_>) -> Result<Self::Record> {
        Ok(Map::new())
    }
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        _: usize,
        name: &str,
        v: Json,
    ) -> Result<()> {
        rec.insert(name.to_owned(), v);
        Ok(())
    }
    fn record_end(&mut self, rec: Self::Record) -> Result<Json> {
        Ok(Json::Object(rec))
    }
    fn array_start(&mut self, size_hint: usize) -> Result<Vec<Json>> {
        Ok(Vec::with_capacity(size_hint))
    }
    fn array_push(&mut self, arr: &mut Vec<Json>, v: Json) -> Result<()> {
        arr.push(v);
        Ok(())
    }
    fn array_end(&mut self, arr: Vec<Json>) -> Result<Json> {
        Ok(Json::Array(arr))
    }
    fn map_start(&mut self, _: usize) -> Result<Self::Map> {
        Ok(Map::new())
    }
    fn map_insert(&mut self, map: &mut Self::Map, key: &str, v: Json) -> Result<()> {
        map.insert(key.to_owned(), v);
        Ok(())
    }
    fn map_end(&mut self, map: Self::Map) -> Result<Json> {
        Ok(Json::Object(map))
    }
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Json) -> Result<Json> {
        if branch.unambiguous() || v.is_null() || branch.natural_index(&&v) == Some(branch.index())
        {
            return Ok(v);
        }
        let mut m = Map::new();
        m.insert(branch.name().to_owned(), v);
        Ok(Json::Object(m))
    }
}
