//! kpipe::Error -> JS errors. The JS side registers a factory that builds its `KpipeError`
//! subclasses (one per code family, defined in errors.js); the message is the core's `Display`
//! text, identical in every binding. Also: no panic crosses into JS.

use std::cell::RefCell;

use napi::bindgen_prelude::Unknown;

use crate::js::{self, Env, Raw, Ref, Val};
use crate::seam;

thread_local! {
    static FACTORY: RefCell<Option<Ref>> = const { RefCell::new(None) };
}

/// `(code, message, retriable, fatal) => KpipeError`, called on the JS thread.
#[napi_derive::napi(js_name = "setErrorFactory")]
pub fn set_error_factory(env: napi::Env, factory: Raw) -> napi::Result<()> {
    let r = Ref::new(env.raw(), factory.0)?;
    FACTORY.with(|f| *f.borrow_mut() = Some(r));
    Ok(())
}

/// The JS error object for `e`.
pub fn value(env: Env, e: &kpipe::Error) -> napi::Result<Val> {
    let d = seam::details(e);
    let args = [
        js::string(env, d.code)?,
        js::string(env, &d.message)?,
        js::boolean(env, d.retriable)?,
        js::boolean(env, d.fatal)?,
    ];
    let factory = FACTORY.with(|f| f.borrow().as_ref().map(|r| r.get(env)));
    match factory {
        Some(f) => js::call_fn(env, f?, &args),
        None => {
            // loaded without the JS wrapper: a plain Error with the same fields
            let mut out = std::ptr::null_mut();
            unsafe { napi::sys::napi_create_error(env, args[0], args[1], &mut out) };
            js::set(env, out, "retriable", args[2])?;
            js::set(env, out, "fatal", args[3])?;
            Ok(out)
        }
    }
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
