//! Promises resolved from the core's tokio runtime: the future runs on kpipe's threads (never
//! on the JS thread), and the result is turned into JS values back on the JS thread. A pending
//! promise keeps the process alive; nothing else does, so an idle process exits.

use std::future::Future;

use crate::error::{internal, throw};
use crate::js::{Env, Raw, Val};

type Resolver = Box<dyn FnOnce(napi::Env) -> napi::Result<Raw> + Send>;

/// Runs `fut` on the core runtime; `finish` converts its output on the JS thread.
pub fn promise<T, F, G>(env: &napi::Env, fut: F, finish: G) -> napi::Result<Raw>
where
    T: Send + 'static,
    F: Future<Output = kpipe::Result<T>> + Send + 'static,
    G: FnOnce(Env, T) -> kpipe::Result<Val> + Send + 'static,
{
    let handle = kpipe::runtime::handle().map_err(|e| throw(env.raw(), &e))?;
    let (deferred, promise) = env.create_deferred::<Raw, Resolver>()?;
    handle.spawn(async move {
        // an inner task, so a panic in `fut` is a JoinError here instead of a lost promise
        let joined = tokio::spawn(fut).await;
        let r: kpipe::Result<T> = joined.unwrap_or_else(|_| Err(internal("a kpipe task panicked")));
        deferred.resolve(Box::new(move |env: napi::Env| {
            let raw = env.raw();
            let out = match r {
                Ok(t) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| finish(raw, t)))
                    .unwrap_or_else(|_| Err(internal("a kpipe conversion panicked"))),
                Err(e) => Err(e),
            };
            out.map(Raw).map_err(|e| throw(raw, &e))
        }));
    });
    Ok(Raw(napi::JsValue::raw(&promise)))
}

/// Runs a core future that should finish without waiting (a cache hit) on the JS thread; if
/// it would wait (registry I/O), returns None and the caller goes asynchronous instead.
pub fn now<F: Future>(fut: F) -> kpipe::Result<Option<F::Output>> {
    let handle = kpipe::runtime::handle()?;
    let _ctx = handle.enter();
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    Ok(match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    })
}
