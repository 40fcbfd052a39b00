//! Python values <-> the core: [`PyValue`] implements `kpipe::avro::ValueSource` over any
//! Python object (dict/list/tuple/str/int/float/bool/None/bytes/Decimal/UUID/date/time/
//! datetime), and [`PyBuilder`] implements `ValueBuilder` to build Python objects directly.
//! No JSON, no intermediate tree. The rules (unions, decimals, paths) are the core's.

use std::borrow::Cow;
use std::cell::RefCell;
use std::os::raw::c_char;

use kpipe::avro::{
    Branch, DecimalRef, Kind, RecordInfo, Temporal, TemporalKind, UnionBranch, ValueBuilder,
    ValueSource,
};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

extern "C" {
    // In every CPython since 3.3 (stable ABI from 3.10): UTF-8 view of a str, no copy.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// Days from 0001-01-01 (ordinal 1) to 1970-01-01.
const EPOCH_ORDINAL: i64 = 719_163;

/// The Python classes the conversion needs, imported once.
pub struct Types {
    pub decimal: Py<PyType>,
    pub uuid: Py<PyType>,
    pub date: Py<PyType>,
    pub time: Py<PyType>,
    pub datetime: Py<PyType>,
    pub utc: Py<PyAny>,
    /// `object.__new__`, `object.__setattr__` and `uuid.SafeUUID.unknown`: a UUID built
    /// without running `UUID.__init__`'s parsing.
    pub new: Py<PyAny>,
    pub setattr: Py<PyAny>,
    pub safe_unknown: Py<PyAny>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

pub fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let dt = py.import("datetime")?;
        let cls = |m: &Bound<'_, PyModule>, n: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(n)?
                .cast_into::<PyType>()
                .map_err(|e| PyTypeError::new_err(e.to_string()))?
                .unbind())
        };
        Ok::<_, PyErr>(Types {
            decimal: cls(&py.import("decimal")?, "Decimal")?,
            uuid: cls(&py.import("uuid")?, "UUID")?,
            date: cls(&dt, "date")?,
            time: cls(&dt, "time")?,
            datetime: cls(&dt, "datetime")?,
            utc: dt.getattr("timezone")?.getattr("utc")?.unbind(),
            new: py.import("builtins")?.getattr("object")?.getattr("__new__")?.unbind(),
            setattr: py.import("builtins")?.getattr("object")?.getattr("__setattr__")?.unbind(),
            safe_unknown: py.import("uuid")?.getattr("SafeUUID")?.getattr("unknown")?.unbind(),
        })
    })
}

/// A `str`'s UTF-8 without copying (None for non-str or lone surrogates).
pub fn str_of<'a>(obj: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    if !obj.is_instance_of::<PyString>() {
        return None;
    }
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: obj is a str; the buffer lives as long as the object, which `'a` borrows.
    unsafe {
        let p = PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut size);
        if p.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            p as *const u8,
            size as usize,
        )))
    }
}

thread_local! {
    /// Interned Python strs of schema names (field names, enum symbols), keyed by the address
    /// and length of the schema's own text and checked by content, so a dict lookup or insert
    /// reuses one str object with its cached hash instead of making one per record.
    static NAMES: RefCell<rustc_hash::FxHashMap<(usize, usize), Py<PyString>>> = RefCell::default();
}

pub fn name<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyString> {
    let key = (s.as_ptr() as usize, s.len());
    NAMES.with(|m| {
        let mut m = m.borrow_mut();
        if let Some(k) = m.get(&key) {
            let b = k.bind(py);
            if str_of(b.as_any()) == Some(s) {
                return b.clone();
            }
        }
        let k = PyString::intern(py, s);
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(key, k.clone().unbind());
        k
    })
}

/// One Python value as the encoder sees it; its kind is worked out once.
pub struct PyValue<'py> {
    obj: Bound<'py, PyAny>,
    kind: Kind,
}

impl<'py> PyValue<'py> {
    pub fn new(obj: Bound<'py, PyAny>) -> Self {
        let kind = kind_of(&obj);
        PyValue { obj, kind }
    }
}

fn kind_of(obj: &Bound<'_, PyAny>) -> Kind {
    // exact built-in types first: the common case costs a pointer compare
    if obj.is_exact_instance_of::<PyString>() {
        return Kind::Str;
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return Kind::Int;
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return Kind::Float;
    }
    if obj.is_exact_instance_of::<PyDict>() {
        return Kind::Map;
    }
    if obj.is_exact_instance_of::<PyList>() {
        return Kind::Seq;
    }
    if obj.is_none() {
        return Kind::Null;
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Kind::Bool;
    }
    if obj.is_exact_instance_of::<PyBytes>() {
        return Kind::Bytes;
    }
    if obj.is_exact_instance_of::<PyTuple>() {
        return Kind::Seq;
    }
    let py = obj.py();
    if let Ok(t) = types(py) {
        let ty = obj.get_type();
        if ty.is(t.decimal.bind(py)) {
            return Kind::Decimal;
        }
        if ty.is(t.uuid.bind(py)) {
            return Kind::Uuid;
        }
        if ty.is(t.datetime.bind(py)) || obj.is_instance(t.datetime.bind(py)).unwrap_or(false) {
            return if is_aware(obj) { Kind::Timestamp } else { Kind::LocalTimestamp };
        }
        if ty.is(t.date.bind(py)) || obj.is_instance(t.date.bind(py)).unwrap_or(false) {
            return Kind::Date;
        }
        if ty.is(t.time.bind(py)) || obj.is_instance(t.time.bind(py)).unwrap_or(false) {
            return Kind::Time;
        }
        if obj.is_instance(t.decimal.bind(py)).unwrap_or(false) {
            return Kind::Decimal;
        }
        if obj.is_instance(t.uuid.bind(py)).unwrap_or(false) {
            return Kind::Uuid;
        }
    }
    // subclasses (IntEnum, str enums, OrderedDict, ...)
    if obj.is_instance_of::<PyBool>() {
        Kind::Bool
    } else if obj.is_instance_of::<PyInt>() {
        Kind::Int
    } else if obj.is_instance_of::<PyFloat>() {
        Kind::Float
    } else if obj.is_instance_of::<PyString>() {
        Kind::Str
    } else if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        Kind::Bytes
    } else if obj.is_instance_of::<PyDict>() || obj.cast::<pyo3::types::PyMapping>().is_ok() {
        Kind::Map
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        Kind::Seq
    } else if obj.hasattr("tobytes").unwrap_or(false) && obj.hasattr("nbytes").unwrap_or(false) {
        Kind::Bytes // memoryview and friends
    } else {
        Kind::Other
    }
}

fn is_aware(obj: &Bound<'_, PyAny>) -> bool {
    obj.getattr(pyo3::intern!(obj.py(), "tzinfo")).map(|o| !o.is_none()).unwrap_or(false)
}

fn int_attr(obj: &Bound<'_, PyAny>, name: &str) -> Option<i64> {
    obj.getattr(PyString::intern(obj.py(), name)).ok()?.extract::<i64>().ok()
}

/// Seconds and microseconds of a timedelta.
fn timedelta_micros(td: &Bound<'_, PyAny>) -> Option<i128> {
    let d = int_attr(td, "days")? as i128;
    let s = int_attr(td, "seconds")? as i128;
    let us = int_attr(td, "microseconds")? as i128;
    Some((d * 86_400 + s) * 1_000_000 + us)
}

fn time_of_day_nanos(obj: &Bound<'_, PyAny>) -> Option<i64> {
    let h = int_attr(obj, "hour")?;
    let m = int_attr(obj, "minute")?;
    let s = int_attr(obj, "second")?;
    let us = int_attr(obj, "microsecond")?;
    Some(((h * 3600 + m * 60 + s) * 1_000_000 + us) * 1_000)
}

fn days_of(obj: &Bound<'_, PyAny>) -> Option<i64> {
    Some(obj.call_method0("toordinal").ok()?.extract::<i64>().ok()? - EPOCH_ORDINAL)
}

/// Wall-clock nanoseconds of a datetime (its own fields, no zone applied).
fn wall_nanos(obj: &Bound<'_, PyAny>) -> Option<i128> {
    Some(days_of(obj)? as i128 * 86_400_000_000_000 + time_of_day_nanos(obj)? as i128)
}

impl<'py> ValueSource for PyValue<'py> {
    #[inline]
    fn kind(&self) -> Kind {
        self.kind
    }
    fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool => self.obj.is_truthy().ok(),
            _ => None,
        }
    }
    #[inline]
    fn as_i64(&self) -> Option<i64> {
        match self.kind {
            Kind::Int => self.obj.extract::<i64>().ok(),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self.kind {
            Kind::Int | Kind::Float => self.obj.extract::<f64>().ok(),
            _ => None,
        }
    }
    #[inline]
    fn as_str(&self) -> Option<Cow<'_, str>> {
        match self.kind {
            Kind::Str => str_of(&self.obj).map(Cow::Borrowed),
            Kind::Uuid => self.obj.str().ok().map(|s| Cow::Owned(s.to_string_lossy().into_owned())),
            _ => None,
        }
    }
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match self.kind {
            Kind::Bytes => {
                if let Ok(b) = self.obj.cast::<PyBytes>() {
                    return Some(Cow::Borrowed(b.as_bytes()));
                }
                if let Ok(b) = self.obj.cast::<PyByteArray>() {
                    return Some(Cow::Owned(b.to_vec()));
                }
                self.obj.call_method0("tobytes").ok()?.extract::<Vec<u8>>().ok().map(Cow::Owned)
            }
            Kind::Uuid => {
                let n: u128 =
                    self.obj.getattr(pyo3::intern!(self.obj.py(), "int")).ok()?.extract().ok()?;
                Some(Cow::Owned(n.to_be_bytes().to_vec()))
            }
            _ => None,
        }
    }
    fn len(&self) -> Option<usize> {
        match self.kind {
            Kind::Seq | Kind::Map => self.obj.len().ok(),
            _ => None,
        }
    }
    #[inline]
    fn field(&self, field: &str) -> Option<Self> {
        if self.kind != Kind::Map {
            return None;
        }
        let key = name(self.obj.py(), field);
        if let Ok(d) = self.obj.cast::<PyDict>() {
            return d.get_item(key).ok().flatten().map(PyValue::new);
        }
        match self.obj.get_item(key) {
            Ok(v) => Some(PyValue::new(v)),
            Err(_) => None,
        }
    }
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> kpipe::Result<()>) -> kpipe::Result<()> {
        if let Ok(l) = self.obj.cast::<PyList>() {
            // by index: the list may change under a callback only through our own code
            let n = l.len();
            for i in 0..n {
                if let Ok(item) = l.get_item(i) {
                    f(PyValue::new(item))?;
                }
            }
            return Ok(());
        }
        if let Ok(t) = self.obj.cast::<PyTuple>() {
            for item in t.iter() {
                f(PyValue::new(item))?;
            }
            return Ok(());
        }
        if let Ok(it) = self.obj.try_iter() {
            for item in it.flatten() {
                f(PyValue::new(item))?;
            }
        }
        Ok(())
    }
    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(&str, Self) -> kpipe::Result<()>,
    ) -> kpipe::Result<()> {
        let mut visit = |k: Bound<'py, PyAny>, v: Bound<'py, PyAny>| -> kpipe::Result<()> {
            match str_of(&k) {
                Some(ks) => f(ks, PyValue::new(v)),
                None => Err(kpipe::Error::SerdeEncode {
                    path: String::new(),
                    expected: "map with str keys".into(),
                    got: format!("key {}", k.repr().map(|r| r.to_string()).unwrap_or_default()),
                }),
            }
        };
        if let Ok(d) = self.obj.cast::<PyDict>() {
            for (k, v) in d.iter() {
                visit(k, v)?;
            }
            return Ok(());
        }
        if let Ok(items) = self.obj.call_method0("items").and_then(|i| i.try_iter()) {
            for kv in items.flatten() {
                if let Ok((k, v)) = kv.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>() {
                    visit(k, v)?;
                }
            }
        }
        Ok(())
    }
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        match self.kind {
            // natural JSON's {"<branch>": value}
            Kind::Map => {
                let d = self.obj.cast::<PyDict>().ok()?;
                if d.len() != 1 {
                    return None;
                }
                let (k, v) = d.iter().next()?;
                let ks = str_of(&k)?.to_owned();
                Some((Branch::Name(Cow::Owned(ks)), PyValue::new(v)))
            }
            // fastavro's ("<branch>", value)
            Kind::Seq => {
                let t = self.obj.cast::<PyTuple>().ok()?;
                if t.len() != 2 {
                    return None;
                }
                let k = t.get_item(0).ok()?;
                let ks = str_of(&k)?.to_owned();
                Some((Branch::Name(Cow::Owned(ks)), PyValue::new(t.get_item(1).ok()?)))
            }
            _ => None,
        }
    }
    fn as_decimal(&self) -> Option<DecimalRef<'_>> {
        match self.kind {
            Kind::Decimal => {
                let s = self.obj.str().ok()?.to_string_lossy().into_owned();
                Some(DecimalRef::Text(Cow::Owned(s)))
            }
            _ => None,
        }
    }
    fn as_temporal(&self) -> Option<Temporal> {
        let o = &self.obj;
        match self.kind {
            Kind::Date => Some(Temporal::Date(days_of(o)?)),
            Kind::Time => Some(Temporal::Time(time_of_day_nanos(o)?)),
            Kind::LocalTimestamp => Some(Temporal::Local(wall_nanos(o)?)),
            Kind::Timestamp => {
                // an aware datetime's POSIX time: the exact microseconds survive the double
                // (|t| < 2^53 us), rounding undoes the division
                let secs: f64 =
                    o.call_method0(pyo3::intern!(o.py(), "timestamp")).ok()?.extract().ok()?;
                if secs.abs() < 9.0e9 {
                    Some(Temporal::Instant((secs * 1e6).round() as i128 * 1_000))
                } else {
                    let off = timedelta_micros(&o.call_method0("utcoffset").ok()?)?;
                    Some(Temporal::Instant(wall_nanos(o)? - off * 1_000))
                }
            }
            _ => None,
        }
    }
}

// ---- decoding into Python objects ----------------------------------------------------------------

/// Builds Python values while the core decodes a payload.
pub struct PyBuilder<'py> {
    py: Python<'py>,
    types: &'py Types,
}

impl<'py> PyBuilder<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        // SAFETY of the lifetime: Types lives in a static once-cell for the process.
        let t: &'static Types = unsafe { &*(types(py)? as *const Types) };
        Ok(PyBuilder { py, types: t })
    }
}

fn py_fail(e: PyErr) -> kpipe::Error {
    kpipe::Error::SerdeDecode { reason: format!("building the Python value: {e}") }
}

impl<'py> PyBuilder<'py> {
    fn datetime(&self, nanos: i128, aware: bool) -> PyResult<Bound<'py, PyAny>> {
        let micros = nanos.div_euclid(1_000);
        let days = micros.div_euclid(86_400_000_000) as i64;
        let rest = micros.rem_euclid(86_400_000_000) as i64;
        let (y, m, d) = kpipe::avro::civil_from_days(days);
        if !(1..=9999).contains(&y) {
            // outside what Python's datetime holds: the Avro number stays a number
            return Err(PyErr::new::<PyTypeError, _>("year out of range"));
        }
        let secs = rest / 1_000_000;
        let us = rest % 1_000_000;
        let dt = self.types.datetime.bind(self.py);
        if aware {
            dt.call1((
                y,
                m,
                d,
                secs / 3600,
                (secs / 60) % 60,
                secs % 60,
                us,
                self.types.utc.bind(self.py),
            ))
        } else {
            dt.call1((y, m, d, secs / 3600, (secs / 60) % 60, secs % 60, us))
        }
    }
}

impl<'py> ValueBuilder for PyBuilder<'py> {
    type Value = Bound<'py, PyAny>;
    type Record = Bound<'py, PyDict>;
    type Array = Vec<Bound<'py, PyAny>>;
    type Map = Bound<'py, PyDict>;

    fn null(&mut self) -> kpipe::Result<Self::Value> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn boolean(&mut self, v: bool) -> kpipe::Result<Self::Value> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn int(&mut self, v: i32) -> kpipe::Result<Self::Value> {
        Ok(v.into_pyobject(self.py).map_err(|e| py_fail(e.into()))?.into_any())
    }
    fn long(&mut self, v: i64) -> kpipe::Result<Self::Value> {
        Ok(v.into_pyobject(self.py).map_err(|e| py_fail(e.into()))?.into_any())
    }
    fn float(&mut self, v: f32) -> kpipe::Result<Self::Value> {
        // the float32's exact value (0.1f32 is 0.10000000149011612), as fastavro, Java and the
        // other bindings give it (docs/avro.md)
        Ok(PyFloat::new(self.py, v as f64).into_any())
    }
    fn double(&mut self, v: f64) -> kpipe::Result<Self::Value> {
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn bytes(&mut self, v: &[u8]) -> kpipe::Result<Self::Value> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn string(&mut self, v: &str) -> kpipe::Result<Self::Value> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn fixed(&mut self, v: &[u8]) -> kpipe::Result<Self::Value> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn enum_symbol(&mut self, _index: u32, symbol: &str) -> kpipe::Result<Self::Value> {
        Ok(name(self.py, symbol).into_any())
    }
    fn decimal(
        &mut self,
        unscaled: &[u8],
        _precision: u32,
        scale: u32,
    ) -> kpipe::Result<Self::Value> {
        let text = kpipe::avro::decimal_text(unscaled, scale);
        self.types.decimal.bind(self.py).call1((text,)).map_err(py_fail)
    }
    fn uuid(&mut self, v: &[u8; 16]) -> kpipe::Result<Self::Value> {
        // object.__new__(UUID) + the two slots UUID.__init__ would set
        let py = self.py;
        let t = self.types;
        let u = t.new.bind(py).call1((t.uuid.bind(py),)).map_err(py_fail)?;
        let n = u128::from_be_bytes(*v).into_pyobject(py).map_err(|e| py_fail(e.into()))?;
        let set = t.setattr.bind(py);
        set.call1((&u, pyo3::intern!(py, "int"), n)).map_err(py_fail)?;
        set.call1((&u, pyo3::intern!(py, "is_safe"), t.safe_unknown.bind(py))).map_err(py_fail)?;
        Ok(u)
    }
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> kpipe::Result<Self::Value> {
        use TemporalKind::*;
        let py = self.py;
        let r = match kind {
            Date => self.types.date.bind(py).call_method1("fromordinal", (v + EPOCH_ORDINAL,)),
            TimeMillis | TimeMicros => {
                let us = if kind == TimeMillis { v as i128 * 1_000 } else { v as i128 };
                if !(0..86_400_000_000).contains(&us) {
                    Err(PyErr::new::<PyTypeError, _>("time out of range"))
                } else {
                    let us = us as i64;
                    let secs = us / 1_000_000;
                    self.types.time.bind(py).call1((
                        secs / 3600,
                        (secs / 60) % 60,
                        secs % 60,
                        us % 1_000_000,
                    ))
                }
            }
            TimestampMillis | TimestampMicros | TimestampNanos => {
                self.datetime(v as i128 * kind.unit_nanos(), true)
            }
            LocalTimestampMillis | LocalTimestampMicros | LocalTimestampNanos => {
                self.datetime(v as i128 * kind.unit_nanos(), false)
            }
        };
        // values Python's date/time types cannot hold stay the Avro number
        Ok(r.unwrap_or_else(|_| {
            v.into_pyobject(py).map(|i| i.into_any()).unwrap_or_else(|_| py.None().into_bound(py))
        }))
    }
    fn record_start(&mut self, _info: &RecordInfo<'_>) -> kpipe::Result<Self::Record> {
        Ok(PyDict::new(self.py))
    }
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        _index: usize,
        field: &str,
        v: Self::Value,
    ) -> kpipe::Result<()> {
        rec.set_item(name(self.py, field), v).map_err(py_fail)
    }
    fn record_end(&mut self, rec: Self::Record) -> kpipe::Result<Self::Value> {
        Ok(rec.into_any())
    }
    fn array_start(&mut self, size_hint: usize) -> kpipe::Result<Self::Array> {
        Ok(Vec::with_capacity(size_hint.min(4096)))
    }
    fn array_push(&mut self, arr: &mut Self::Array, v: Self::Value) -> kpipe::Result<()> {
        arr.push(v);
        Ok(())
    }
    fn array_end(&mut self, arr: Self::Array) -> kpipe::Result<Self::Value> {
        Ok(PyList::new(self.py, arr).map_err(py_fail)?.into_any())
    }
    fn map_start(&mut self, _size_hint: usize) -> kpipe::Result<Self::Map> {
        Ok(PyDict::new(self.py))
    }
    fn map_insert(&mut self, map: &mut Self::Map, key: &str, v: Self::Value) -> kpipe::Result<()> {
        map.set_item(key, v).map_err(py_fail)
    }
    fn map_end(&mut self, map: Self::Map) -> kpipe::Result<Self::Value> {
        Ok(map.into_any())
    }
    fn union_value(
        &mut self,
        branch: &UnionBranch<'_>,
        v: Self::Value,
    ) -> kpipe::Result<Self::Value> {
        if branch.unambiguous() || v.is_none() {
            return Ok(v);
        }
        let pv = PyValue::new(v);
        if branch.natural_index(&pv) == Some(branch.index()) {
            return Ok(pv.obj);
        }
        // would read back into another branch: fastavro's ("<branch>", value) keeps it
        let t = PyTuple::new(self.py, [PyString::new(self.py, branch.name()).into_any(), pv.obj])
            .map_err(py_fail)?;
        Ok(t.into_any())
    }
}

// ---- plain data (config dicts, admin results) <-> JSON ----------------------------------------------

/// A Python dict/list/scalar as JSON (config from a dict, offsets documents).
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    use serde_json::Value as J;
    if obj.is_none() {
        return Ok(J::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(J::Bool(obj.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(match obj.extract::<i64>() {
            Ok(i) => J::from(i),
            Err(_) => J::from(obj.extract::<u64>()?),
        });
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(serde_json::Number::from_f64(obj.extract()?).map(J::Number).unwrap_or(J::Null));
    }
    if let Some(s) = str_of(obj) {
        return Ok(J::String(s.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = match str_of(&k) {
                Some(s) => s.to_owned(),
                None => k.str()?.to_string(),
            };
            m.insert(key, py_to_json(&v)?);
        }
        return Ok(J::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(py_to_json(&item?)?);
        }
        return Ok(J::Array(out));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a {} here (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

/// JSON as Python dicts/lists/scalars.
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => py.None().into_bound(py),
        J::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        J::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        J::String(s) => PyString::new(py, s).into_any(),
        J::Array(a) => {
            let items: Vec<Bound<'py, PyAny>> =
                a.iter().map(|x| json_to_py(py, x)).collect::<PyResult<_>>()?;
            PyList::new(py, items)?.into_any()
        }
        J::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}
