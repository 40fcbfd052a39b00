//! One tokio runtime per process, and the blocking façade bindings call from any thread.
//!
//! # Fork policy
//!
//! librdkafka is not fork-safe: its background threads do not survive `fork()`, and a handle
//! created in the parent is unusable (and may deadlock) in the child. PHP-FPM and Python's
//! multiprocessing fork. kpipe records the process id when each client is created; any later
//! call on it from a different process id fails with the typed error `process.forked` (fatal)
//! instead of hanging, and dropping it there leaks its librdkafka handles instead of joining
//! threads that do not exist in the child, so a child can always exit. kpipe does not rebuild
//! a parent's clients after a fork: the child creates its own (the usual "create after fork"
//! rule), and gets a fresh runtime for them: the runtime is per process (the parent's, whose
//! worker threads did not survive the fork, is left alone, never dropped). The current pid is
//! tracked by a `pthread_atfork` child handler ([`current_pid`]), so the check on every send
//! and receive is an atomic load.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Once, OnceLock};

use crate::error::{Error, Result};

struct Shared {
    pid: u32,
    rt: tokio::runtime::Runtime,
}

static RUNTIME: OnceLock<std::result::Result<Shared, String>> = OnceLock::new();

/// The runtime of a forked child (built on first use there); replaced, never dropped, when
/// that child forks again.
static CHILD_RUNTIME: std::sync::Mutex<Option<Shared>> = std::sync::Mutex::new(None);

/// The current process id, kept up to date by a `pthread_atfork` child handler, so checking
/// it costs an atomic load instead of a `getpid` system call on every send and receive.
static PID: AtomicU32 = AtomicU32::new(0);
static HOOK: Once = Once::new();

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    // getpid is async-signal-safe, as a fork handler requires.
    PID.store(unsafe { libc::getpid() } as u32, Ordering::SeqCst);
}

/// The current process id (installs the fork hook on first use).
pub fn current_pid() -> u32 {
    HOOK.call_once(|| {
        PID.store(std::process::id(), Ordering::SeqCst);
        #[cfg(unix)]
        // SAFETY: registers a handler that only stores into an atomic; no other state.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    if cfg!(unix) {
        PID.load(Ordering::SeqCst)
    } else {
        std::process::id()
    }
}

/// Fails with `process.forked` when `created_in` is not the current process.
pub fn check_pid(created_in: u32) -> Result<()> {
    let now = current_pid();
    if now != created_in {
        return Err(Error::ProcessForked { parent: created_in, child: now });
    }
    Ok(())
}

/// The process-wide runtime (built on first use: 2 worker threads unless `KPIPE_WORKER_THREADS`
/// says otherwise).
pub fn handle() -> Result<tokio::runtime::Handle> {
    let shared = RUNTIME
        .get_or_init(build)
        .as_ref()
        .map_err(|e| Error::Internal { reason: format!("cannot start the kpipe runtime: {e}") })?;
    if shared.pid == current_pid() {
        return Ok(shared.rt.handle().clone());
    }
    // a forked child: its own runtime
    let mut child = CHILD_RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = child.as_ref().filter(|c| c.pid == current_pid()) {
        return Ok(c.rt.handle().clone());
    }
    let fresh = build()
        .map_err(|e| Error::Internal { reason: format!("cannot start the kpipe runtime: {e}") })?;
    let handle = fresh.rt.handle().clone();
    if let Some(stale) = child.replace(fresh) {
        // the runtime of the process this child forked from: its threads are gone here
        std::mem::forget(stale);
    }
    Ok(handle)
}

fn build() -> std::result::Result<Shared, String> {
    let threads = std::env::var("KPIPE_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("kpipe-rt")
        .enable_all()
        .build()
        .map(|rt| Shared { pid: current_pid(), rt })
        .map_err(|e| e.to_string())
}

/// Runs `fut` to completion on the kpipe runtime, blocking the calling thread. Callable from
/// any thread that is not itself running async code (there it returns `internal` rather than
/// panicking); bindings release their interpreter lock around it. A panic inside `fut` comes
/// back as `internal`.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    let handle = handle()?;
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Internal {
            reason:
                "a blocking kpipe call was made from inside an async runtime; use the async API"
                    .into(),
        });
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.block_on(fut)))
        .map_err(|_| Error::Internal { reason: "a kpipe task panicked".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_runs_and_a_foreign_pid_is_refused() {
        assert_eq!(block_on(async { 40 + 2 }).unwrap(), 42);
        let e = check_pid(std::process::id().wrapping_add(1)).unwrap_err();
        assert_eq!(e.code(), "process.forked");
        assert!(e.is_fatal());
        assert_eq!(current_pid(), std::process::id());
        check_pid(std::process::id()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_forked_child_sees_its_own_pid() {
        let parent = current_pid();
        // SAFETY: the child only reads an atomic, writes to a pipe and calls _exit.
        unsafe {
            let mut fds = [0i32; 2];
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let child = libc::fork();
            assert!(child >= 0);
            if child == 0 {
                let ok: u8 =
                    (check_pid(parent).is_err() && current_pid() == libc::getpid() as u32) as u8;
                libc::write(fds[1], &ok as *const u8 as *const libc::c_void, 1);
                libc::_exit(0);
            }
            let mut ok = 0u8;
            assert_eq!(libc::read(fds[0], &mut ok as *mut u8 as *mut libc::c_void, 1), 1);
            libc::waitpid(child, std::ptr::null_mut(), 0);
            assert_eq!(ok, 1, "the child must refuse handles of the parent");
        }
    }

    #[test]
    fn a_panicking_task_is_an_error_not_a_panic() {
        let e = block_on(async { panic!("boom") }).unwrap_err();
        assert_eq!(e.code(), "internal");
    }

    #[tokio::test]
    async fn blocking_inside_a_runtime_is_refused() {
        assert_eq!(block_on(async {}).unwrap_err().code(), "internal");
    }
}
