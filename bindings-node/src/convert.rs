//! JS values <-> the core: [`JsValue`] implements `kpipe::avro::ValueSource` over any JS value
//! (object/array/string/number/bigint/boolean/null/undefined/Buffer/Uint8Array/Date) and
//! [`JsBuilder`] implements `ValueBuilder` to build JS values directly. No JSON, no
//! intermediate tree: the rules (unions, decimals, logical types, paths) are the core's.

use std::borrow::Cow;

use kpipe::avro::{
    Branch, JsonBuilder, Kind, RecordInfo, Temporal, TemporalKind, UnionBranch, ValueBuilder,
    ValueSource,
};
use napi::sys;

use crate::js::{self, Env, Val};

/// 2^53 - 1: the largest integer a JS number holds exactly.
const MAX_SAFE: i64 = 9_007_199_254_740_991;

/// One JS value as the encoder sees it; its kind is worked out once.
pub struct JsValue {
    env: Env,
    v: Val,
    kind: Kind,
    /// The number, read once when the value is a JS number (`big`: it is a bigint instead).
    num: f64,
    big: bool,
    /// Own enumerable keys of an object, fetched once (records ask `len` then walk entries).
    keys: std::cell::Cell<Option<Val>>,
    /// The constructor of an object refused as [`Kind::Other`] (`Map`, `Set`).
    refused: Option<&'static str>,
}

impl JsValue {
    pub fn new(env: Env, v: Val) -> Self {
        let (mut kind, num, big) = kind_of(env, v);
        let keys = std::cell::Cell::new(None);
        let mut refused = None;
        if kind == Kind::Map {
            // A Map or Set has no own keys: taken for an empty object, its entries would be
            // lost without a word. Only objects without keys pay for the check.
            if let Ok(k) = js::keys(env, v) {
                keys.set(Some(k));
                if js::array_len(env, k).is_ok_and(|n| n == 0) {
                    refused =
                        ["Map", "Set"].into_iter().find(|c| js::is_instance_of_global(env, v, c));
                    if refused.is_some() {
                        kind = Kind::Other;
                    }
                }
            }
        }
        JsValue { env, v, kind, num, big, keys, refused }
    }
}

fn kind_of(env: Env, v: Val) -> (Kind, f64, bool) {
    let Ok(t) = js::type_of(env, v) else { return (Kind::Other, 0.0, false) };
    let k = match t {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Kind::Null,
        sys::ValueType::napi_boolean => Kind::Bool,
        sys::ValueType::napi_number => {
            let f = js::get_f64(env, v).unwrap_or(f64::NAN);
            // integral numbers are integers, so 3 fits a long and 3.5 does not
            let k = if f.is_finite() && f.fract() == 0.0 { Kind::Int } else { Kind::Float };
            return (k, f, false);
        }
        sys::ValueType::napi_bigint => return (Kind::Int, 0.0, true),
        sys::ValueType::napi_string => Kind::Str,
        sys::ValueType::napi_object => {
            if js::is_array(env, v) {
                Kind::Seq
            } else if js::get_bytes(env, v).is_some() {
                Kind::Bytes
            } else if js::is_date(env, v) {
                Kind::Timestamp
            } else {
                Kind::Map
            }
        }
        _ => Kind::Other,
    };
    (k, 0.0, false)
}

impl JsValue {
    fn keys(&self) -> napi::Result<Val> {
        if let Some(k) = self.keys.get() {
            return Ok(k);
        }
        let k = js::keys(self.env, self.v)?;
        self.keys.set(Some(k));
        Ok(k)
    }
}

impl ValueSource for JsValue {
    fn kind(&self) -> Kind {
        self.kind
    }
    fn type_name(&self) -> Option<Cow<'_, str>> {
        self.refused.map(|c| Cow::Owned(format!("{c} (use a plain object)")))
    }
    fn as_bool(&self) -> Option<bool> {
        (self.kind == Kind::Bool).then(|| js::get_bool(self.env, self.v).ok()).flatten()
    }
    fn as_i64(&self) -> Option<i64> {
        if self.kind != Kind::Int {
            return None;
        }
        if self.big {
            return js::get_bigint_i64(self.env, self.v);
        }
        let f = self.num;
        // 2^63 is exactly representable and one past i64::MAX
        (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f).then_some(f as i64)
    }
    fn as_f64(&self) -> Option<f64> {
        match self.kind {
            Kind::Float => Some(self.num),
            Kind::Int if self.big => js::get_bigint_i64(self.env, self.v).map(|n| n as f64),
            Kind::Int => Some(self.num),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<Cow<'_, str>> {
        (self.kind == Kind::Str)
            .then(|| js::get_string(self.env, self.v).ok().map(Cow::Owned))
            .flatten()
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        (self.kind == Kind::Bytes)
            .then(|| js::get_bytes(self.env, self.v).map(Cow::Borrowed))
            .flatten()
    }
    fn len(&self) -> Option<usize> {
        match self.kind {
            Kind::Seq => js::array_len(self.env, self.v).ok().map(|n| n as usize),
            Kind::Map => {
                let k = self.keys().ok()?;
                js::array_len(self.env, k).ok().map(|n| n as usize)
            }
            _ => None,
        }
    }
    fn field(&self, name: &str) -> Option<Self> {
        if self.kind != Kind::Map {
            return None;
        }
        js::get_field(self.env, self.v, name).ok().flatten().map(|v| JsValue::new(self.env, v))
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> kpipe::Result<()>) -> kpipe::Result<()> {
        let n = js::array_len(self.env, self.v).map_err(internal)?;
        for i in 0..n {
            let item = js::element(self.env, self.v, i).map_err(internal)?;
            f(JsValue::new(self.env, item))?;
        }
        Ok(())
    }
    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(&str, Self) -> kpipe::Result<()>,
    ) -> kpipe::Result<()> {
        let keys = self.keys().map_err(internal)?;
        let n = js::array_len(self.env, keys).map_err(internal)?;
        for i in 0..n {
            let k = js::element(self.env, keys, i).map_err(internal)?;
            let name = js::get_string(self.env, k).map_err(internal)?;
            // the key value itself, not a new string made from its text
            let v = js::get_by_key(self.env, self.v, k).map_err(internal)?;
            f(&name, JsValue::new(self.env, v))?;
        }
        Ok(())
    }
    /// `{"<branch name>": value}` selects a union branch, as in natural JSON.
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        if self.kind != Kind::Map {
            return None;
        }
        let keys = self.keys().ok()?;
        if js::array_len(self.env, keys).ok()? != 1 {
            return None;
        }
        let name = js::get_string(self.env, js::element(self.env, keys, 0).ok()?).ok()?;
        let v = js::get(self.env, self.v, &name).ok()??;
        Some((Branch::Name(Cow::Owned(name)), JsValue::new(self.env, v)))
    }
    fn as_temporal(&self) -> Option<Temporal> {
        if self.kind != Kind::Timestamp {
            return None;
        }
        let ms = js::get_date_ms(self.env, self.v).ok()?;
        ms.is_finite().then(|| Temporal::Instant(ms as i128 * 1_000_000))
    }
}

fn internal(e: napi::Error) -> kpipe::Error {
    kpipe::Error::Internal { reason: format!("reading a JS value: {e}") }
}

/// How Avro longs come back.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Longs {
    /// Always `bigint` (exact).
    #[default]
    BigInt,
    /// `number` when within ±(2^53-1), else `bigint`.
    Number,
}

/// Builds JS values on the JS thread.
pub struct JsBuilder {
    pub env: Env,
    pub longs: Longs,
}

fn b(r: napi::Result<Val>) -> kpipe::Result<Val> {
    r.map_err(|e| kpipe::Error::Internal { reason: format!("building a JS value: {e}") })
}

impl JsBuilder {
    fn long_value(&self, v: i64) -> kpipe::Result<Val> {
        if self.longs == Longs::Number && (-MAX_SAFE..=MAX_SAFE).contains(&v) {
            b(js::double(self.env, v as f64))
        } else {
            b(js::bigint(self.env, v))
        }
    }
    /// The natural-JSON text of a date/time value (the core's format).
    fn temporal_text(&self, kind: TemporalKind, v: i64) -> kpipe::Result<Val> {
        match JsonBuilder.temporal(kind, v)? {
            serde_json::Value::String(s) => b(js::string(self.env, &s)),
            _ => self.long_value(v),
        }
    }
}

impl ValueBuilder for JsBuilder {
    type Value = Val;
    type Record = Val;
    type Array = (Val, u32);
    type Map = Val;

    fn null(&mut self) -> kpipe::Result<Val> {
        b(js::null(self.env))
    }
    fn boolean(&mut self, v: bool) -> kpipe::Result<Val> {
        b(js::boolean(self.env, v))
    }
    fn int(&mut self, v: i32) -> kpipe::Result<Val> {
        b(js::int32(self.env, v))
    }
    fn long(&mut self, v: i64) -> kpipe::Result<Val> {
        self.long_value(v)
    }
    fn float(&mut self, v: f32) -> kpipe::Result<Val> {
        b(js::double(self.env, v as f64))
    }
    fn double(&mut self, v: f64) -> kpipe::Result<Val> {
        b(js::double(self.env, v))
    }
    fn bytes(&mut self, v: &[u8]) -> kpipe::Result<Val> {
        b(js::buffer(self.env, v))
    }
    fn string(&mut self, v: &str) -> kpipe::Result<Val> {
        b(js::string(self.env, v))
    }
    fn fixed(&mut self, v: &[u8]) -> kpipe::Result<Val> {
        b(js::buffer(self.env, v))
    }
    fn enum_symbol(&mut self, _: u32, symbol: &str) -> kpipe::Result<Val> {
        b(js::string(self.env, symbol))
    }
    fn decimal(&mut self, unscaled: &[u8], _precision: u32, scale: u32) -> kpipe::Result<Val> {
        b(js::string(self.env, &kpipe::avro::decimal_text(unscaled, scale)))
    }
    fn uuid(&mut self, v: &[u8; 16]) -> kpipe::Result<Val> {
        let h: String = v.iter().map(|x| format!("{x:02x}")).collect();
        let s = format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
        b(js::string(self.env, &s))
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> kpipe::Result<Val> {
        // UTC timestamps are Dates when a Date holds them exactly (milliseconds); finer values
        // keep their natural-JSON text so nothing is lost. Dates, times and wall-clock
        // (local) timestamps are text too: a JS Date would invent a zone.
        let per_ms = match kind {
            TemporalKind::TimestampMillis => 1,
            TemporalKind::TimestampMicros => 1_000,
            TemporalKind::TimestampNanos => 1_000_000,
            _ => return self.temporal_text(kind, v),
        };
        if v % per_ms == 0 && (v / per_ms).abs() <= 8_640_000_000_000_000 {
            b(js::date(self.env, (v / per_ms) as f64))
        } else {
            self.temporal_text(kind, v)
        }
    }
    fn record_start(&mut self, _: &RecordInfo<'_>) -> kpipe::Result<Val> {
        b(js::object(self.env))
    }
    fn record_field(&mut self, rec: &mut Val, _: usize, name: &str, v: Val) -> kpipe::Result<()> {
        js::set_field(self.env, *rec, name, v)
            .map_err(|e| kpipe::Error::Internal { reason: e.to_string() })
    }
    fn record_end(&mut self, rec: Val) -> kpipe::Result<Val> {
        Ok(rec)
    }
    fn array_start(&mut self, _size_hint: usize) -> kpipe::Result<(Val, u32)> {
        Ok((b(js::array(self.env, 0))?, 0))
    }
    fn array_push(&mut self, arr: &mut (Val, u32), v: Val) -> kpipe::Result<()> {
        js::set_element(self.env, arr.0, arr.1, v)
            .map_err(|e| kpipe::Error::Internal { reason: e.to_string() })?;
        arr.1 += 1;
        Ok(())
    }
    fn array_end(&mut self, arr: (Val, u32)) -> kpipe::Result<Val> {
        Ok(arr.0)
    }
    fn map_start(&mut self, _: usize) -> kpipe::Result<Val> {
        b(js::object(self.env))
    }
    fn map_insert(&mut self, map: &mut Val, key: &str, v: Val) -> kpipe::Result<()> {
        js::set(self.env, *map, key, v)
            .map_err(|e| kpipe::Error::Internal { reason: e.to_string() })
    }
    fn map_end(&mut self, map: Val) -> kpipe::Result<Val> {
        Ok(map)
    }
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Val) -> kpipe::Result<Val> {
        if branch.unambiguous() {
            return Ok(v);
        }
        let jv = JsValue::new(self.env, v);
        if jv.kind == Kind::Null || branch.natural_index(&jv) == Some(branch.index()) {
            return Ok(v);
        }
        // would read back into another branch: wrap it, as natural JSON does
        let o = b(js::object(self.env))?;
        js::set(self.env, o, branch.name(), v)
            .map_err(|e| kpipe::Error::Internal { reason: e.to_string() })?;
        Ok(o)
    }
}
