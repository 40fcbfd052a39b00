//! In-memory caches with single flight: concurrent first lookups of one key make one request.
//!
//! Each key holds either a finished value or an in-flight fetch. The first caller of a missing
//! key becomes the leader and runs the fetch; callers arriving meanwhile wait on a `watch`
//! channel and get the leader's result, error included. Only successes stay in the map, so
//! the next call after a failure tries again. If the leader's future is dropped (cancelled),
//! its slot is removed and a waiter becomes the new leader.
//!
//! Keys may be looked up by a borrowed form (`hashbrown::Equivalent`), so a hit allocates
//! nothing: e.g. `(String, String)` is found with [`Pair`]`(&str, &str)`.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::{Equivalent, HashMap};
use tokio::sync::watch;

use crate::error::{Error, Result};

type Shared<V> = Option<Result<V, Arc<Error>>>;

enum Slot<V> {
    Ready(V),
    InFlight(watch::Receiver<Shared<V>>),
}

pub(crate) struct SingleFlight<K, V> {
    map: Mutex<HashMap<K, Slot<V>, RandomState>>,
}

/// Whether a value came from the cache or was fetched by this call (for the hit counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Cached,
    Fetched,
    Joined,
}

impl<K: Hash + Eq, V: Clone> SingleFlight<K, V> {
    pub(crate) fn new() -> Self {
        SingleFlight { map: Mutex::new(HashMap::with_hasher(RandomState::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Slot<V>, RandomState>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The finished value of `key`, if any. Never waits, never allocates.
    pub(crate) fn get<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q) -> Option<V> {
        match self.lock().get(key) {
            Some(Slot::Ready(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores `value` unless the key already holds a finished value.
    pub(crate) fn insert(&self, key: K, value: V) {
        let mut map = self.lock();
        if !matches!(map.get(&key), Some(Slot::Ready(_))) {
            map.insert(key, Slot::Ready(value));
        }
    }

    /// Forgets every entry whose key matches.
    pub(crate) fn remove_where(&self, mut pred: impl FnMut(&K) -> bool) {
        self.lock().retain(|k, _| !pred(k));
    }

    /// Forgets every finished entry whose value matches.
    pub(crate) fn remove_where_value(&self, mut pred: impl FnMut(&V) -> bool) {
        self.lock().retain(|_, slot| !matches!(slot, Slot::Ready(v) if pred(v)));
    }

    /// The cached value of `key`, or the result of `fetch` run once for all concurrent callers.
    pub(crate) async fn get_or_fetch<Q, F, Fut>(
        &self,
        key: &Q,
        make_key: impl Fn() -> K,
        fetch: F,
    ) -> Result<(V, Origin)>
    where
        Q: Hash + Equivalent<K> + ?Sized,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let mut fetch = Some(fetch);
        loop {
            let action = {
                let mut map = self.lock();
                match map.get(key) {
                    Some(Slot::Ready(v)) => return Ok((v.clone(), Origin::Cached)),
                    Some(Slot::InFlight(rx)) => Err(rx.clone()),
                    None => {
                        let (tx, rx) = watch::channel(None);
                        map.insert(make_key(), Slot::InFlight(rx));
                        Ok(tx)
                    }
                }
            };
            let mut rx = match action {
                Ok(tx) => {
                    let fetch = fetch.take().expect("a caller leads at most once");
                    return self.lead(key, &make_key, tx, fetch).await;
                }
                Err(rx) => rx,
            };
            loop {
                if let Some(result) = rx.borrow_and_update().clone() {
                    return match result {
                        Ok(v) => Ok((v, Origin::Joined)),
                        Err(e) => Err(clone_error(&e)),
                    };
                }
                if rx.changed().await.is_err() {
                    // The leader went away without an answer (cancelled): try again.
                    if let Some(result) = rx.borrow().clone() {
                        return match result {
                            Ok(v) => Ok((v, Origin::Joined)),
                            Err(e) => Err(clone_error(&e)),
                        };
                    }
                    break;
                }
            }
        }
    }

    async fn lead<Q, M, F, Fut>(
        &self,
        key: &Q,
        make_key: &M,
        tx: watch::Sender<Shared<V>>,
        fetch: F,
    ) -> Result<(V, Origin)>
    where
        Q: Hash + Equivalent<K> + ?Sized,
        M: Fn() -> K,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        // If this future is dropped before it finishes, the guard removes the in-flight slot.
        struct Guard<'a, K: Hash + Eq, V, Q: Hash + Equivalent<K> + ?Sized> {
            owner: &'a SingleFlight<K, V>,
            key: &'a Q,
            armed: bool,
        }
        impl<K: Hash + Eq, V, Q: Hash + Equivalent<K> + ?Sized> Drop for Guard<'_, K, V, Q> {
            fn drop(&mut self) {
                if self.armed {
                    let mut map = self.owner.map.lock().unwrap_or_else(|p| p.into_inner());
                    if matches!(map.get(self.key), Some(Slot::InFlight(_))) {
                        map.remove(self.key);
                    }
                }
            }
        }
        let mut guard = Guard { owner: self, key, armed: true };
        let result = fetch().await;
        guard.armed = false;
        {
            let mut map = self.lock();
            match &result {
                Ok(v) => {
                    map.insert(make_key(), Slot::Ready(v.clone()));
                }
                Err(_) => {
                    if matches!(map.get(key), Some(Slot::InFlight(_))) {
                        map.remove(key);
                    }
                }
            }
        }
        match result {
            Ok(v) => {
                tx.send_replace(Some(Ok(v.clone())));
                Ok((v, Origin::Fetched))
            }
            Err(e) => {
                let shared = Arc::new(e);
                tx.send_replace(Some(Err(shared.clone())));
                Err(clone_error(&shared))
            }
        }
    }
}

/// A borrowed `(String, String)` key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair<'a>(pub &'a str, pub &'a str);

impl Hash for Pair<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Same as `(String, String)::hash`.
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<(String, String)> for Pair<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// A borrowed `(String, i32)` key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubjectVersionKey<'a>(pub &'a str, pub i32);

impl Hash for SubjectVersionKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<(String, i32)> for SubjectVersionKey<'_> {
    fn equivalent(&self, key: &(String, i32)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// `Error` is not `Clone`; rebuild the variants the registry client produces for waiters
/// that share one failed fetch.
pub(crate) fn clone_error(e: &Error) -> Error {
    match e {
        Error::ConfigInvalid { path, reason } => {
            Error::ConfigInvalid { path: path.clone(), reason: reason.clone() }
        }
        Error::RegistryUnavailable { reason } => {
            Error::RegistryUnavailable { reason: reason.clone() }
        }
        Error::RegistryNotFound { what, subject } => {
            Error::RegistryNotFound { what: what.clone(), subject: subject.clone() }
        }
        Error::RegistryAuth { status } => Error::RegistryAuth { status: *status },
        Error::RegistryRejected { status, message } => {
            Error::RegistryRejected { status: *status, message: message.clone() }
        }
        Error::SchemaInvalid { reason, subject } => {
            Error::SchemaInvalid { reason: reason.clone(), subject: subject.clone() }
        }
        Error::SchemaIncompatible { subject, reason } => {
            Error::SchemaIncompatible { subject: subject.clone(), reason: reason.clone() }
        }
        Error::SerdeUnknownSchemaId { id } => Error::SerdeUnknownSchemaId { id: *id },
        Error::Closed { what } => Error::Closed { what: what.clone() },
        other => Error::Internal { reason: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_fetch_and_errors_are_not_cached() {
        let cache: Arc<SingleFlight<(String, String), u32>> = Arc::new(SingleFlight::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(
                        &Pair("s", "x"),
                        || ("s".into(), "x".into()),
                        || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Err::<u32, _>(Error::RegistryUnavailable { reason: "down".into() })
                        },
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err().code(), "registry.unavailable");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (v, origin) = cache
            .get_or_fetch(&Pair("s", "x"), || ("s".into(), "x".into()), || async { Ok(7) })
            .await
            .unwrap();
        assert_eq!((v, origin), (7, Origin::Fetched));
        assert_eq!(cache.get(&Pair("s", "x")), Some(7));
        assert_eq!(cache.get(&Pair("s", "y")), None);
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_over() {
        let cache: Arc<SingleFlight<u32, u32>> = Arc::new(SingleFlight::new());
        let c2 = cache.clone();
        let leader = tokio::spawn(async move {
            c2.get_or_fetch(
                &1,
                || 1,
                || async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(1)
                },
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let c3 = cache.clone();
        let waiter =
            tokio::spawn(async move { c3.get_or_fetch(&1, || 1, || async { Ok(2) }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let (v, _) =
            tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap().unwrap();
        assert_eq!(v, 2);
    }
}
