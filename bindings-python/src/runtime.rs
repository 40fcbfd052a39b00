//! Async glue: blocking calls with the GIL released that still notice Ctrl-C, running an
//! already-ready core future without a thread switch, and resolving asyncio futures from the
//! core's runtime threads.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::IntoPy;

/// How often a blocked call wakes up to run Python's signal handlers (Ctrl-C).
pub const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// Runs `fut` on the core runtime with the GIL released; every 200 ms it takes the GIL for a
/// moment to run signal handlers, and returns their exception (KeyboardInterrupt) when one
/// raises, dropping `fut`.
pub fn wait<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let r = py.detach(move || {
        kpipe::runtime::block_on(async move {
            let mut fut = pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => return Ok(r),
                    _ = tokio::time::sleep(SIGNAL_CHECK) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    });
    r.py_err()?
}

/// Runs `f`, turning a panic into the core's `internal` error: no panic crosses into Python.
pub fn guarded<T>(f: impl FnOnce() -> kpipe::Result<T>) -> kpipe::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(kpipe::Error::Internal { reason: "a kpipe call panicked".into() }))
}

/// Runs a core future that is expected to finish without waiting (a cache hit: serializing
/// or decoding once the schema is cached) on the calling thread, GIL held. `None` when it
/// would have to wait (a registry call): the caller then fetches what is missing with
/// [`wait`] (GIL released, Ctrl-C answered) and tries again, so no network wait ever holds
/// the GIL.
pub fn now<F: Future>(fut: F) -> kpipe::Result<Option<F::Output>> {
    let handle = kpipe::runtime::handle()?;
    let mut fut = std::pin::pin!(fut);
    let _ctx = handle.enter();
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Ok(Some(v)),
        Poll::Pending => Ok(None),
    }
}

/// At interpreter exit (atexit hook of the kpipe package): waits for sends already accepted
/// (un-awaited send_async included) and flushes every live client, within `timeout` seconds
/// in all, GIL released; prints on stderr how many records were left undelivered. Returns
/// that number.
#[pyfunction]
#[pyo3(signature = (timeout=30.0))]
pub fn _flush_at_exit(py: Python<'_>, timeout: f64) -> usize {
    let bound = Duration::from_secs_f64(timeout.max(0.0));
    let left =
        py.detach(|| std::panic::catch_unwind(|| kpipe::client::flush_all(bound)).unwrap_or(0));
    if left > 0 {
        eprintln!(
            "kpipe: {left} accepted records were not delivered before the process exited \
             (flush or close the client, or await send_async, before exit)"
        );
    }
    left
}

/// Schedules `_resolve(fut, ok, value)` on `loop` from any thread (a closed loop is ignored).
pub fn resolve(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    fut: &Py<PyAny>,
    result: PyResult<Py<PyAny>>,
) {
    let resolve = match py.import("kpipe._kpipe").and_then(|m| m.getattr("_resolve")) {
        Ok(f) => f,
        Err(_) => return,
    };
    let (ok, value) = match result {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    let _ = event_loop
        .bind(py)
        .call_method1("call_soon_threadsafe", (resolve, fut.clone_ref(py), ok, value));
}

/// Sets the result or exception of an asyncio future unless it is already done (cancelled).
#[pyfunction]
pub fn _resolve(fut: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if fut.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        fut.call_method1("set_result", (value,))?;
    } else {
        fut.call_method1("set_exception", (value,))?;
    }
    Ok(())
}
