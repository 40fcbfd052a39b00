//! Waiting on core futures from a PHP request. PHP blocks its request while a call waits (its
//! model); the wait is cut into slices so that PHP signal handlers (pcntl_signal, Ctrl-C) run
//! within one slice: after each slice `pcntl_signal_dispatch()` is called when pcntl is loaded.
//! A handler that throws (or calls `exit()`) ends the wait with that exception pending; a
//! signal that arrived ends the waits that may return empty-handed (poll, run, iteration).

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use ext_php_rs::exception::PhpException;
use ext_php_rs::ffi::zend_atomic_bool;
use ext_php_rs::types::ZendCallable;
use ext_php_rs::zend::ExecutorGlobals;

use crate::error::{php, R};

/// How often a blocked call runs PHP's pending signal handlers.
pub const SLICE: Duration = Duration::from_millis(100);

unsafe extern "C" {
    fn zend_atomic_bool_load(obj: *const zend_atomic_bool) -> bool;
}

/// What stopped a wait before its future finished.
pub enum Stop {
    /// A signal arrived (its handler ran and returned).
    Signal,
}

/// Runs PHP's pending signal handlers; Err when one threw (the exception stays pending),
/// Ok(true) when a signal had arrived.
pub fn signals() -> R<bool> {
    let arrived = unsafe { zend_atomic_bool_load(&raw const ExecutorGlobals::get().vm_interrupt) };
    if arrived {
        if let Ok(f) = ZendCallable::try_from_name("pcntl_signal_dispatch") {
            let _ = f.try_call(vec![]);
        }
    }
    if ExecutorGlobals::has_exception() {
        return Err(pending());
    }
    Ok(arrived)
}

/// An error return whose exception is the one already pending (PhpException::throw keeps it).
pub fn pending() -> PhpException {
    PhpException::from_message("interrupted".into())
}

/// Runs `fut` on the core runtime, blocking this request, running signal handlers every
/// slice. `stop_on_signal`: give up (Err(Stop::Signal)) once a signal arrived.
pub fn wait<F: Future>(fut: F, stop_on_signal: bool) -> R<Result<F::Output, Stop>> {
    let mut fut = pin!(fut);
    loop {
        let r = kpipe::runtime::block_on(async { tokio::time::timeout(SLICE, &mut fut).await })
            .map_err(php)?;
        match r {
            Ok(v) => return Ok(Ok(v)),
            Err(_) => {
                if signals()? && stop_on_signal {
                    return Ok(Err(Stop::Signal));
                }
            }
        }
    }
}

/// Sleeps `d` in slices (a run's retry backoff); Err(Stop) once a signal arrived.
pub fn sleep(d: Duration) -> R<Result<(), Stop>> {
    wait(async move { tokio::time::sleep(d).await }, true)
}
