//! Thin safe wrappers over the N-API C functions the value conversion needs. Everything here
//! runs on the JS thread with a live `napi_env`; values are only valid inside the current
//! callback's handle scope, which is why nothing here is `Send`.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, Error, Result, Status, ValueType};

pub type Env = sys::napi_env;
pub type Val = sys::napi_value;

/// Any JS value, passed through napi-derive untouched (the conversion is ours).
#[derive(Clone, Copy)]
pub struct Raw(pub Val);

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_: Env, v: Self) -> Result<Val> {
        Ok(v.0)
    }
}
impl FromNapiValue for Raw {
    unsafe fn from_napi_value(_: Env, v: Val) -> Result<Self> {
        Ok(Raw(v))
    }
}
impl TypeName for Raw {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}
impl ValidateNapiValue for Raw {}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::from(status), format!("N-API {what} failed")))
    }
}

macro_rules! call {
    ($f:ident($($a:expr),*)) => {
        check(unsafe { sys::$f($($a),*) }, stringify!($f))
    };
}

pub fn type_of(env: Env, v: Val) -> Result<i32> {
    let mut t = 0;
    call!(napi_typeof(env, v, &mut t))?;
    Ok(t)
}

pub fn is_array(env: Env, v: Val) -> bool {
    let mut b = false;
    unsafe { sys::napi_is_array(env, v, &mut b) };
    b
}

pub fn is_date(env: Env, v: Val) -> bool {
    let mut b = false;
    unsafe { sys::napi_is_date(env, v, &mut b) };
    b
}

pub fn is_typedarray(env: Env, v: Val) -> bool {
    let mut b = false;
    unsafe { sys::napi_is_typedarray(env, v, &mut b) };
    b
}

/// Whether `v` is an instance of the global constructor `name` (`Map`, `Set`).
pub fn is_instance_of_global(env: Env, v: Val, name: &str) -> bool {
    let mut global = ptr::null_mut();
    if call!(napi_get_global(env, &mut global)).is_err() {
        return false;
    }
    let Ok(Some(ctor)) = get_field(env, global, name) else { return false };
    let mut b = false;
    call!(napi_instanceof(env, v, ctor, &mut b)).is_ok() && b
}

pub fn is_buffer(env: Env, v: Val) -> bool {
    let mut b = false;
    unsafe { sys::napi_is_buffer(env, v, &mut b) };
    b
}

pub fn get_bool(env: Env, v: Val) -> Result<bool> {
    let mut b = false;
    call!(napi_get_value_bool(env, v, &mut b))?;
    Ok(b)
}

pub fn get_f64(env: Env, v: Val) -> Result<f64> {
    let mut d = 0.0;
    call!(napi_get_value_double(env, v, &mut d))?;
    Ok(d)
}

/// A bigint that fits i64 (None when it does not).
pub fn get_bigint_i64(env: Env, v: Val) -> Option<i64> {
    let (mut n, mut lossless) = (0i64, false);
    let s = unsafe { sys::napi_get_value_bigint_int64(env, v, &mut n, &mut lossless) };
    (s == sys::Status::napi_ok && lossless).then_some(n)
}

pub fn get_date_ms(env: Env, v: Val) -> Result<f64> {
    let mut d = 0.0;
    call!(napi_get_date_value(env, v, &mut d))?;
    Ok(d)
}

pub fn get_string(env: Env, v: Val) -> Result<String> {
    // most strings are short: one call into a stack buffer, a second only when it was full
    let mut small = [0u8; 256];
    let mut written = 0usize;
    call!(napi_get_value_string_utf8(
        env,
        v,
        small.as_mut_ptr().cast(),
        small.len(),
        &mut written
    ))?;
    if written < small.len() - 4 {
        return Ok(String::from_utf8_lossy(&small[..written]).into_owned());
    }
    let mut len = 0usize;
    call!(napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len))?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    call!(napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), len + 1, &mut written))?;
    buf.truncate(written);
    // N-API writes valid UTF-8 (lone surrogates become U+FFFD)
    Ok(String::from_utf8(buf).unwrap_or_default())
}

/// The bytes of a Buffer or any typed array, borrowed from the JS heap. The caller keeps the
/// value alive (it is reachable from the arguments of the running callback).
pub fn get_bytes<'a>(env: Env, v: Val) -> Option<&'a [u8]> {
    // every Buffer is a Uint8Array, so the typed-array check comes first and usually decides
    if !is_typedarray(env, v) && is_buffer(env, v) {
        let (mut data, mut len) = (ptr::null_mut(), 0usize);
        if unsafe { sys::napi_get_buffer_info(env, v, &mut data, &mut len) } != sys::Status::napi_ok
        {
            return None;
        }
        return Some(if len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(data as *const u8, len) }
        });
    }
    if is_typedarray(env, v) {
        let (mut ty, mut len, mut data, mut ab, mut off) =
            (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        if unsafe {
            sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, &mut ab, &mut off)
        } != sys::Status::napi_ok
        {
            return None;
        }
        // only byte arrays: a Float64Array is not "bytes"
        if ty != sys::TypedarrayType::uint8_array
            && ty != sys::TypedarrayType::int8_array
            && ty != sys::TypedarrayType::uint8_clamped_array
        {
            return None;
        }
        return Some(if len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(data as *const u8, len) }
        });
    }
    None
}

pub fn array_len(env: Env, v: Val) -> Result<u32> {
    let mut n = 0u32;
    call!(napi_get_array_length(env, v, &mut n))?;
    Ok(n)
}

pub fn element(env: Env, v: Val, i: u32) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_element(env, v, i, &mut r))?;
    Ok(r)
}

pub fn string(env: Env, s: &str) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut r))?;
    Ok(r)
}

thread_local! {
    /// NUL-terminated copies of schema names (field names), keyed by the address and length of
    /// the schema's own text and checked by content, so a record field is read or written with
    /// one `napi_*_named_property` call instead of creating a key string first.
    static NAMES: std::cell::RefCell<std::collections::HashMap<(usize, usize), std::ffi::CString>> =
        std::cell::RefCell::default();
}

fn with_cname<T>(name: &str, f: impl FnOnce(&std::ffi::CStr) -> T) -> Option<T> {
    if name.as_bytes().contains(&0) {
        return None;
    }
    let key = (name.as_ptr() as usize, name.len());
    NAMES.with(|m| {
        let mut m = m.borrow_mut();
        if let Some(c) = m.get(&key) {
            if c.as_bytes() == name.as_bytes() {
                return Some(f(c));
            }
        }
        if m.len() > 100_000 {
            m.clear();
        }
        let c = std::ffi::CString::new(name).ok()?;
        let r = f(&c);
        m.insert(key, c);
        Some(r)
    })
}

/// `obj[name]` for a schema name (a record field); None when absent or undefined.
pub fn get_field(env: Env, obj: Val, name: &str) -> Result<Option<Val>> {
    let mut r = ptr::null_mut();
    match with_cname(name, |c| unsafe {
        sys::napi_get_named_property(env, obj, c.as_ptr(), &mut r)
    }) {
        Some(status) => check(status, "napi_get_named_property")?,
        None => return get(env, obj, name),
    }
    Ok((type_of(env, r)? != sys::ValueType::napi_undefined).then_some(r))
}

/// `obj[name] = v` for a schema name (a record field).
pub fn set_field(env: Env, obj: Val, name: &str, v: Val) -> Result<()> {
    match with_cname(name, |c| unsafe { sys::napi_set_named_property(env, obj, c.as_ptr(), v) }) {
        Some(status) => check(status, "napi_set_named_property"),
        None => set(env, obj, name, v),
    }
}

/// `obj[name]`; None when absent or undefined.
pub fn get(env: Env, obj: Val, name: &str) -> Result<Option<Val>> {
    let key = string(env, name)?;
    let mut r = ptr::null_mut();
    call!(napi_get_property(env, obj, key, &mut r))?;
    Ok((type_of(env, r)? != sys::ValueType::napi_undefined).then_some(r))
}

/// `obj[key]` with a key value (undefined when absent).
pub fn get_by_key(env: Env, obj: Val, key: Val) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_property(env, obj, key, &mut r))?;
    Ok(r)
}

pub fn set(env: Env, obj: Val, name: &str, v: Val) -> Result<()> {
    let key = string(env, name)?;
    call!(napi_set_property(env, obj, key, v))
}

pub fn set_element(env: Env, arr: Val, i: u32, v: Val) -> Result<()> {
    call!(napi_set_element(env, arr, i, v))
}

/// Own enumerable string keys, in property order.
pub fn keys(env: Env, obj: Val) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_all_property_names(
        env,
        obj,
        sys::KeyCollectionMode::own_only,
        sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
        sys::KeyConversion::numbers_to_strings,
        &mut r
    ))?;
    Ok(r)
}

pub fn null(env: Env) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_null(env, &mut r))?;
    Ok(r)
}

pub fn undefined(env: Env) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_undefined(env, &mut r))?;
    Ok(r)
}

pub fn boolean(env: Env, b: bool) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_get_boolean(env, b, &mut r))?;
    Ok(r)
}

pub fn double(env: Env, d: f64) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_double(env, d, &mut r))?;
    Ok(r)
}

pub fn int32(env: Env, n: i32) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_int32(env, n, &mut r))?;
    Ok(r)
}

pub fn bigint(env: Env, n: i64) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_bigint_int64(env, n, &mut r))?;
    Ok(r)
}

pub fn buffer(env: Env, b: &[u8]) -> Result<Val> {
    let (mut r, mut data) = (ptr::null_mut(), ptr::null_mut());
    call!(napi_create_buffer_copy(env, b.len(), b.as_ptr().cast(), &mut data, &mut r))?;
    Ok(r)
}

pub fn object(env: Env) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_object(env, &mut r))?;
    Ok(r)
}

pub fn array(env: Env, len: usize) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_array_with_length(env, len, &mut r))?;
    Ok(r)
}

pub fn date(env: Env, ms: f64) -> Result<Val> {
    let mut r = ptr::null_mut();
    call!(napi_create_date(env, ms, &mut r))?;
    Ok(r)
}

pub fn call_fn(env: Env, f: Val, args: &[Val]) -> Result<Val> {
    let this = undefined(env)?;
    let mut r = ptr::null_mut();
    call!(napi_call_function(env, this, f, args.len(), args.as_ptr(), &mut r))?;
    Ok(r)
}

/// A strong reference that outlives the current callback (the error factory).
pub struct Ref(sys::napi_ref);

impl Ref {
    #[cfg_attr(test, allow(dead_code))] // only the JS-registered error factory makes one
    pub fn new(env: Env, v: Val) -> Result<Self> {
        let mut r = ptr::null_mut();
        call!(napi_create_reference(env, v, 1, &mut r))?;
        Ok(Ref(r))
    }
    pub fn get(&self, env: Env) -> Result<Val> {
        let mut r = ptr::null_mut();
        call!(napi_get_reference_value(env, self.0, &mut r))?;
        Ok(r)
    }
}
