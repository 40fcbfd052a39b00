//! kpipe::Error -> JS errors. The JS side registers a factory that builds its `KpipeError`
//! subclasses (one per code family, defined in errors.js); the message is the core's `Display`
//! text, identical in every binding. Also: no panic crosses into JS.

use std::cell::RefCell;

use napi::bindgen_prelude::Unknown;

use crate::js::{self, Env, Raw, Ref, Val};

thread_local! {
    static FACTORY: RefCell<Option<Ref>> = const { RefCell::new(None) };
}

/// `(details) => KpipeError`, called on the JS thread with the core's details record as an
/// object (`code`, `message`, `retriable`, `fatal`, `field`, `cluster`, `topic`, `partition`,
/// `offset`, `subject`, `schemaId`; null when the error has none).
// napi-derive registers exports only outside cfg(test), so a test build sees no caller
#[cfg_attr(test, allow(dead_code))]
#[napi_derive::napi(js_name = "setErrorFactory")]
pub fn set_error_factory(env: napi::Env, factory: Raw) -> napi::Result<()> {
    let r = Ref::new(env.raw(), factory.0)?;
    FACTORY.with(|f| *f.borrow_mut() = Some(r));
    Ok(())
}

fn opt_string(env: Env, s: Option<&str>) -> napi::Result<Val> {
    match s {
        Some(s) => js::string(env, s),
        None => js::null(env),
    }
}

fn opt_number(env: Env, n: Option<f64>) -> napi::Result<Val> {
    match n {
        Some(n) => js::double(env, n),
        None => js::null(env),
    }
}

/// The details record as a JS object.
fn details_js(env: Env, d: &kpipe::Details) -> napi::Result<Val> {
    let o = js::object(env)?;
    js::set(env, o, "code", js::string(env, d.code)?)?;
    js::set(env, o, "message", js::string(env, &d.message)?)?;
    js::set(env, o, "retriable", js::boolean(env, d.retriable)?)?;
    js::set(env, o, "fatal", js::boolean(env, d.fatal)?)?;
    js::set(env, o, "field", opt_string(env, d.field.as_deref())?)?;
    js::set(env, o, "cluster", opt_string(env, d.cluster.as_deref())?)?;
    js::set(env, o, "topic", opt_string(env, d.topic.as_deref())?)?;
    js::set(env, o, "partition", opt_number(env, d.partition.map(f64::from))?)?;
    js::set(env, o, "offset", opt_number(env, d.offset.map(|o| o as f64))?)?;
    js::set(env, o, "subject", opt_string(env, d.subject.as_deref())?)?;
    js::set(env, o, "schemaId", opt_number(env, d.schema_id.map(f64::from))?)?;
    Ok(o)
}

/// The core's error for a send whose writer schema stayed uncached after fetches (see
/// `kpipe::Error::writer_not_cached`), for the JS send loop to throw.
// napi-derive registers exports only outside cfg(test), so a test build sees no caller
#[cfg_attr(test, allow(dead_code))]
#[napi_derive::napi(js_name = "writerNotCachedError")]
pub fn writer_not_cached_error(env: napi::Env) -> napi::Result<Raw> {
    value(env.raw(), &kpipe::Error::writer_not_cached()).map(Raw)
}

/// The JS error object for `e`.
pub fn value(env: Env, e: &kpipe::Error) -> napi::Result<Val> {
    details_value(env, &e.details())
}

/// The JS error object for a details record.
pub fn details_value(env: Env, d: &kpipe::Details) -> napi::Result<Val> {
    let o = details_js(env, d)?;
    let factory = FACTORY.with(|f| f.borrow().as_ref().map(|r| r.get(env)));
    match factory {
        Some(f) => js::call_fn(env, f?, &[o]),
        None => {
            // loaded without the JS wrapper: a plain Error with the same fields
            let mut out = std::ptr::null_mut();
            let (code, message) = (js::string(env, d.code)?, js::string(env, &d.message)?);
            unsafe { napi::sys::napi_create_error(env, code, message, &mut out) };
            let keys = js::keys(env, o)?;
            for i in 0..js::array_len(env, keys)? {
                let k = js::get_string(env, js::element(env, keys, i)?)?;
                if let Some(v) = js::get(env, o, &k)? {
                    js::set(env, out, &k, v)?;
                }
            }
            Ok(out)
        }
    }
}

/// A `napi::Error` that throws (or rejects with) the JS error of a details record.
pub fn throw_details(env: Env, d: &kpipe::Details) -> napi::Error {
    match details_value(env, d) {
        Ok(v) => napi::Error::from(unsafe { Unknown::from_raw_unchecked(env, v) }),
        Err(err) => err,
    }
}

/// A `napi::Error` that throws a JS `TypeError` (a wrong JS type: the language's own error).
pub fn type_error(env: Env, text: &str) -> napi::Error {
    let r = (|| {
        let msg = js::string(env, text)?;
        let mut out = std::ptr::null_mut();
        unsafe { napi::sys::napi_create_type_error(env, std::ptr::null_mut(), msg, &mut out) };
        Ok::<_, napi::Error>(napi::Error::from(unsafe { Unknown::from_raw_unchecked(env, out) }))
    })();
    r.unwrap_or_else(|e| e)
}

/// A `napi::Error` that throws (or rejects with) the JS error of `e`.
pub fn throw(env: Env, e: &kpipe::Error) -> napi::Error {
    match value(env, e) {
        Ok(v) => napi::Error::from(unsafe { Unknown::from_raw_unchecked(env, v) }),
        Err(err) => err,
    }
}

pub fn internal(reason: impl Into<String>) -> kpipe::Error {
    kpipe::Error::Internal { reason: reason.into() }
}

/// Runs `f` on the JS thread, turning a core error into a thrown KpipeError and a panic into
/// `internal`.
pub fn guard<T>(env: &napi::Env, f: impl FnOnce() -> kpipe::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(throw(env.raw(), &e)),
        Err(_) => Err(throw(env.raw(), &internal("a kpipe call panicked"))),
    }
}
