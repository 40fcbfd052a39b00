//! The PHP binding of kpipe (ext-php-rs): the `kpipe` extension. It converts values
//! (convert.rs) and errors (error.rs) and waits (wait.rs); routing, serializers, the registry,
//! the poll session, retries, the DLQ, commits and offsets are the core's.
//!
//! PHP's lifetimes: objects die with the request, so the extension keeps each core client in
//! a per-process cache (keyed by its config and the process id): a php-fpm worker reuses its
//! producer connections across requests. Records queued with `Producer::queue` are awaited
//! at the end of every request and at process end (module shutdown), and their failures
//! reported as PHP warnings, so a request that ends never loses a record silently.

#![cfg_attr(windows, feature(abi_vectorcall))]
#![allow(clippy::needless_pass_by_value)]

mod convert;
mod error;
mod wait;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ext_php_rs::convert::IntoZval;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ce;
use kpipe::binding::{header_refs, OwnedHeader, Part, SerializedBatch};
use kpipe::options;
use kpipe::session::{AckMode, PollSession};
use kpipe::{ConsumerOptions, Data, StartAt, TopicSerde};

use crate::convert::{is_datetime, PhpBuilder, PhpValue};
use crate::error::{guard, internal, php, type_error, R};
use crate::wait::{wait, Stop};

const START_TYPE: &str =
    "start must be 'committed', 'earliest', 'latest', an offset (int) or a DateTimeInterface";
const TO_TYPE: &str =
    "to must be 'earliest', 'latest', a time text, a DateTimeInterface, milliseconds (int) or [partition => offset]";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ms(t: Option<i64>, default: u64) -> Duration {
    Duration::from_millis(t.map(|t| t.max(0) as u64).unwrap_or(default))
}

/// One core client of this process and the deliveries it still owes (`Producer::queue`).
struct Shared {
    client: kpipe::Client,
    pending: Mutex<Vec<Vec<kpipe::binding::PendingDeliveries>>>,
}

impl Shared {
    /// Waits for every queued record; the errors of those that failed, in order.
    fn settle(&self) -> kpipe::Result<Vec<kpipe::Error>> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        kpipe::runtime::block_on(async move {
            let mut errors = Vec::new();
            for p in pending.into_iter().flatten() {
                errors.extend(p.wait().await.into_iter().filter_map(Result::err));
            }
            errors
        })
    }
}

fn cache() -> &'static Mutex<HashMap<String, Arc<Shared>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Shared>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The cache key: the process, the config text and the `KPIPE_*` overrides it reads.
fn key(kind: &str, source: &str, text: &str) -> String {
    let mut env: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| k.starts_with("KPIPE_")).collect();
    env.sort();
    format!("{}\0{kind}\0{source}\0{text}\0{env:?}", std::process::id())
}

fn cached(
    key: String,
    make: impl FnOnce() -> kpipe::Result<kpipe::Client>,
) -> kpipe::Result<Arc<Shared>> {
    let mut c = lock(cache());
    if let Some(s) = c.get(&key) {
        if s.client.ensure_open().is_ok() {
            return Ok(s.clone());
        }
    }
    let s = Arc::new(Shared { client: make()?, pending: Mutex::new(Vec::new()) });
    c.insert(key, s.clone());
    Ok(s)
}

/// A kpipe client for one kpipe.yaml: routes every topic to its cluster, shares one producer
/// per cluster, holds the registry caches. Reused by later requests of the same process.
#[php_class]
#[php(name = "Kpipe\\Client")]
pub struct Client {
    shared: Arc<Shared>,
}

fn topics_of(z: &Zval) -> R<Vec<String>> {
    if let Some(s) = z.str() {
        return Ok(vec![s.to_string()]);
    }
    if let Some(a) = z.array() {
        return a
            .values()
            .map(|v| {
                v.str().map(str::to_string).ok_or_else(|| type_error("topics must be strings"))
            })
            .collect();
    }
    Err(type_error("topics must be a string or a list of strings"))
}

/// A record's serialized key and value (None: no key / a tombstone).
type SerializedPair = (Option<Vec<u8>>, Option<Vec<u8>>);

fn datetime_ms(z: &Zval) -> Option<i64> {
    PhpValue::new(z).as_temporal_ms()
}

trait TemporalMs {
    fn as_temporal_ms(&self) -> Option<i64>;
}
impl TemporalMs for PhpValue<'_> {
    fn as_temporal_ms(&self) -> Option<i64> {
        use kpipe::avro::ValueSource as _;
        match self.as_temporal()? {
            kpipe::avro::Temporal::Instant(ns) => Some(ns.div_euclid(1_000_000) as i64),
            _ => None,
        }
    }
}

#[php_impl]
impl Client {
    /// Reads kpipe.yaml (with `KPIPE_...` env overrides). Nothing connects yet.
    pub fn from_file(path: String) -> R<Client> {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        guard(|| cached(key("file", &path, &text), || kpipe::Client::from_file(&path)))
            .map(|shared| Client { shared })
    }

    /// YAML (or JSON) text shaped like kpipe.yaml.
    pub fn from_yaml(yaml: String) -> R<Client> {
        guard(|| {
            cached(key("yaml", "", &yaml), || {
                kpipe::config::Config::from_yaml(&yaml).and_then(kpipe::Client::from_config)
            })
        })
        .map(|shared| Client { shared })
    }

    /// Sets the serializers of `topic` (beats kpipe.yaml's `serializers:`): "bytes",
    /// "string", "json" or "avro" (with the writer schema as JSON text). `reader` /
    /// `key_reader` ("schema", "writer", "latest"; Avro only) say which schema a record is
    /// decoded into; the core parses them.
    #[allow(clippy::too_many_arguments)] // PHP's named optional arguments, one per option
    pub fn set_serializer(
        &self,
        topic: String,
        value: String,
        schema: Option<String>,
        key: Option<String>,
        key_schema: Option<String>,
        reader: Option<String>,
        key_reader: Option<String>,
    ) -> R<()> {
        guard(|| {
            let key = key.unwrap_or_else(|| "bytes".into());
            let serde = TopicSerde {
                key: options::serde(
                    "key",
                    &key,
                    key_schema.map(Arc::from),
                    "key_reader",
                    key_reader.as_deref(),
                )?,
                value: options::serde(
                    "value",
                    &value,
                    schema.map(Arc::from),
                    "reader",
                    reader.as_deref(),
                )?,
            };
            self.shared.client.set_topic_serde(&topic, serde);
            Ok(())
        })
    }

    /// The cluster `topic` routes to.
    pub fn cluster_for(&self, topic: String) -> R<String> {
        guard(|| self.shared.client.cluster_for(&topic).map(str::to_string))
    }

    pub fn producer(&self) -> Producer {
        Producer { shared: self.shared.clone() }
    }

    /// A group consumer. `start`: null (committed), "committed" | "earliest" | "latest" | an
    /// offset (int) | a DateTimeInterface; `commit`: "after-handle" | "manual" | "auto";
    /// `ack`: "implicit" (default) | "explicit".
    pub fn consumer(
        &self,
        group: String,
        topics: &Zval,
        start: Option<&Zval>,
        commit: Option<String>,
        ack: Option<String>,
        properties: Option<HashMap<String, String>>,
    ) -> R<Consumer> {
        let topics = topics_of(topics)?;
        let start = match start.map(Zval::dereference) {
            None => None,
            Some(z) if z.is_null() => None,
            Some(z) if z.is_string() => Some(Err(z.str().unwrap_or_default().to_string())),
            Some(z) if z.is_long() => Some(Ok(StartAt::Offset(z.long().unwrap_or(0)))),
            Some(z) if is_datetime(z) => {
                Some(Ok(StartAt::Timestamp(datetime_ms(z).ok_or_else(|| type_error(START_TYPE))?)))
            }
            Some(_) => return Err(type_error(START_TYPE)),
        };
        guard(|| {
            let start = match start {
                None => StartAt::Committed,
                Some(Ok(s)) => s,
                Some(Err(text)) => options::parse("start", &text)?,
            };
            let ack: AckMode =
                ack.as_deref().map(|a| options::parse("ack", a)).transpose()?.unwrap_or_default();
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            let mut opts = ConsumerOptions::new(group.as_str(), &names);
            opts.start = start;
            opts.commit = commit.as_deref().map(|c| options::parse("commit", c)).transpose()?;
            if let Some(p) = &properties {
                let mut p: Vec<(String, String)> =
                    p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                p.sort();
                opts.properties = p;
            }
            // librdkafka's stream consumer spawns onto the runtime it is created in
            let handle = kpipe::runtime::handle()?;
            let _ctx = handle.enter();
            let inner = self.shared.client.consumer(opts)?;
            Ok(Consumer {
                client: self.shared.client.clone(),
                session: Arc::new(PollSession::new(Arc::new(inner), ack)),
                stop: AtomicBool::new(false),
                current: None,
            })
        })
    }

    /// Waits until every record sent or queued so far is delivered; throws the first failure.
    pub fn flush(&self, timeout_ms: Option<i64>) -> R<()> {
        Producer { shared: self.shared.clone() }.flush(timeout_ms)
    }

    /// Flushes and closes (consumers commit and leave); idempotent. Later calls fail `closed`.
    pub fn close(&self) -> R<()> {
        let settled = guard(|| self.shared.settle());
        let s = self.shared.clone();
        let r = wait(
            async move { tokio::task::spawn_blocking(move || s.client.close()).await },
            false,
        )?;
        match r {
            Ok(Ok(r)) => guard(|| r)?,
            Ok(Err(_)) => return Err(php(internal("close panicked"))),
            Err(Stop::Signal) => {}
        }
        if let Some(e) = settled?.into_iter().next() {
            return Err(php(e));
        }
        Ok(())
    }

    /// Per partition, the earliest offset whose timestamp is >= `time` (the end offset when
    /// none): [partition => offset].
    pub fn offsets_for_time(&self, topic: String, time: &Zval, cluster: Option<String>) -> R<Zval> {
        let t = time_ms(time)?;
        let o = guard(|| self.offsets(cluster.as_deref(), Some(&topic)))?;
        let pairs = done(wait(async move { o.offsets_for_time(&topic, t).await }, false)?)?;
        let mut ht = ZendHashTable::new();
        for (p, off) in pairs {
            ht.insert(p as i64, off).map_err(|e| php(internal(e.to_string())))?;
        }
        let mut z = Zval::new();
        z.set_hashtable(ht);
        Ok(z)
    }

    /// A group's committed offsets (the document of `kpipe offsets export`, as an array).
    pub fn export_offsets(
        &self,
        group: String,
        topics: Option<Vec<String>>,
        cluster: Option<String>,
    ) -> R<Zval> {
        let first = topics.as_ref().and_then(|t| t.first().cloned());
        let o = guard(|| self.offsets(cluster.as_deref(), first.as_deref()))?;
        let doc = done(wait(async move { o.export(&group, topics.as_deref()).await }, false)?)?;
        guard(|| {
            convert::json_zval(&serde_json::to_value(&doc).map_err(|e| internal(e.to_string()))?)
        })
    }

    /// Commits an export document (array or JSON text) to `group` (default: the document's);
    /// refuses while the group has members unless `force`. Returns the changes.
    pub fn import_offsets(
        &self,
        doc: &Zval,
        group: Option<String>,
        force: Option<bool>,
        cluster: Option<String>,
    ) -> R<Zval> {
        let text = json_text(doc)?;
        let (o, doc) = guard(|| {
            let doc: kpipe::offsets::OffsetsExport =
                serde_json::from_str(&text).map_err(|e| kpipe::Error::InputInvalid {
                    what: "offsets document".into(),
                    reason: e.to_string(),
                })?;
            let name = cluster.clone().unwrap_or_else(|| doc.cluster.clone());
            Ok((kpipe::offsets::Offsets::from_config(self.shared.client.config(), &name)?, doc))
        })?;
        let force = force.unwrap_or(false);
        let changes =
            done(wait(async move { o.import(&doc, group.as_deref(), force).await }, false)?)?;
        guard(|| {
            convert::json_zval(
                &serde_json::to_value(&changes).map_err(|e| internal(e.to_string()))?,
            )
        })
    }

    /// Moves the group's offsets of `topics` to `to`: "earliest" | "latest" | a time text |
    /// a DateTimeInterface | milliseconds | [partition => offset]. `dry_run` only reports.
    pub fn reset_offsets(
        &self,
        group: String,
        topics: &Zval,
        to: &Zval,
        force: Option<bool>,
        dry_run: Option<bool>,
        cluster: Option<String>,
    ) -> R<Zval> {
        let topics = topics_of(topics)?;
        let to = to.dereference();
        let target: Result<kpipe::offsets::ResetTo, String> = if let Some(s) = to.str() {
            Err(s.to_string())
        } else if let Some(n) = to.long() {
            Ok(kpipe::offsets::ResetTo::Time(n))
        } else if is_datetime(to) {
            Ok(kpipe::offsets::ResetTo::Time(datetime_ms(to).ok_or_else(|| type_error(TO_TYPE))?))
        } else if let Some(a) = to.array() {
            let mut list = Vec::new();
            for (k, v) in a.iter() {
                let p = match k {
                    ext_php_rs::types::ArrayKey::Long(n) => n as i32,
                    _ => return Err(type_error(TO_TYPE)),
                };
                list.push((p, v.long().ok_or_else(|| type_error(TO_TYPE))?));
            }
            Ok(kpipe::offsets::ResetTo::Explicit(list))
        } else {
            return Err(type_error(TO_TYPE));
        };
        let (o, to) = guard(|| {
            let to = match target {
                Ok(t) => t,
                Err(text) => options::parse("to", &text)?,
            };
            Ok((self.offsets(cluster.as_deref(), topics.first().map(String::as_str))?, to))
        })?;
        let (force, dry) = (force.unwrap_or(false), dry_run.unwrap_or(false));
        let changes =
            done(wait(async move { o.reset(&group, &topics, &to, force, dry).await }, false)?)?;
        guard(|| {
            convert::json_zval(
                &serde_json::to_value(&changes).map_err(|e| internal(e.to_string()))?,
            )
        })
    }

    /// Plans moving `group` from cluster `source` to `target` (`kpipe offsets migrate
    /// --dry-run`): the plan document as an array (`partitions`, `problems`); nothing changes.
    pub fn migrate_plan(
        &self,
        group: String,
        source: String,
        target: String,
        topics: Option<Vec<String>>,
        strategy: Option<String>,
        source_alias: Option<String>,
    ) -> R<Zval> {
        let (s, t, req) = guard(|| {
            let req = kpipe::offsets::MigrateRequest::new(
                group,
                topics,
                strategy.as_deref(),
                source_alias,
            )?;
            Ok((self.offsets(Some(&source), None)?, self.offsets(Some(&target), None)?, req))
        })?;
        let plan = done(wait(
            async move { kpipe::offsets::plan_migration(&s, &t, &req, |_, _| {}).await },
            false,
        )?)?;
        guard(|| {
            convert::json_zval(&serde_json::to_value(&plan).map_err(|e| internal(e.to_string()))?)
        })
    }

    /// Applies a plan from `migratePlan` (its array or JSON text): refused while the group has
    /// members on the target unless `force`. Returns ['rollback' => the target's previous
    /// offsets (an export document for `importOffsets`), 'changes' => [...]].
    pub fn migrate_apply(&self, plan: &Zval, force: Option<bool>) -> R<Zval> {
        let text = json_text(plan)?;
        let (t, plan) = guard(|| {
            let plan: kpipe::offsets::MigrationPlan = serde_json::from_str(&text).map_err(|e| {
                kpipe::Error::InputInvalid { what: "migration plan".into(), reason: e.to_string() }
            })?;
            Ok((self.offsets(Some(&plan.target), None)?, plan))
        })?;
        let force = force.unwrap_or(false);
        let (rollback, changes) = done(wait(
            async move { kpipe::offsets::apply_migration(&t, &plan, force).await },
            false,
        )?)?;
        guard(|| {
            convert::json_zval(&serde_json::json!({ "rollback": rollback, "changes": changes }))
        })
    }

    /// Every core error code (what the exception classes are checked against).
    pub fn error_codes() -> Vec<String> {
        kpipe::Error::CODES.iter().map(|c| c.to_string()).collect()
    }

    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
}

fn done<T>(r: Result<kpipe::Result<T>, Stop>) -> R<T> {
    match r {
        Ok(r) => r.map_err(php),
        // waits that cannot return empty-handed do not stop on a signal
        Err(Stop::Signal) => Err(php(internal("wait stopped"))),
    }
}

fn time_ms(z: &Zval) -> R<i64> {
    let z = z.dereference();
    if let Some(n) = z.long() {
        return Ok(n);
    }
    if is_datetime(z) {
        return datetime_ms(z)
            .ok_or_else(|| type_error("time must be milliseconds or a DateTimeInterface"));
    }
    Err(type_error("time must be milliseconds or a DateTimeInterface"))
}

fn json_text(z: &Zval) -> R<String> {
    if let Some(s) = z.str() {
        return Ok(s.to_string());
    }
    // an array: PHP's own json_encode
    let f = ext_php_rs::types::ZendCallable::try_from_name("json_encode")
        .map_err(|e| php(internal(e.to_string())))?;
    f.try_call(vec![z])
        .ok()
        .and_then(|s| s.string())
        .ok_or_else(|| type_error("doc must be an array or JSON text"))
}

impl Client {
    fn offsets(
        &self,
        cluster: Option<&str>,
        topic: Option<&str>,
    ) -> kpipe::Result<kpipe::offsets::Offsets> {
        let name = match (cluster, topic) {
            (Some(c), _) => c.to_string(),
            (None, Some(t)) => self.shared.client.cluster_for(t)?.to_string(),
            (None, None) => {
                return Err(kpipe::Error::ConfigInvalid {
                    path: "cluster".into(),
                    reason: "pass a cluster (no topic to route by)".into(),
                })
            }
        };
        kpipe::offsets::Offsets::from_config(self.shared.client.config(), &name)
    }
}

/// Where a record was written.
#[php_class]
#[php(name = "Kpipe\\RecordMetadata")]
pub struct RecordMetadata {
    #[php(prop)]
    pub cluster: String,
    #[php(prop)]
    pub topic: String,
    #[php(prop)]
    pub partition: i64,
    #[php(prop)]
    pub offset: i64,
    /// Milliseconds since the epoch as the broker stored it (null when unknown).
    #[php(prop)]
    pub timestamp: Option<i64>,
}

impl From<kpipe::Delivery> for RecordMetadata {
    fn from(d: kpipe::Delivery) -> Self {
        RecordMetadata {
            cluster: d.cluster.to_string(),
            topic: d.topic.to_string(),
            partition: i64::from(d.partition),
            offset: d.offset,
            timestamp: d.timestamp_ms,
        }
    }
}

/// Sends records; every topic goes to the cluster its route names.
#[php_class]
#[php(name = "Kpipe\\Producer")]
pub struct Producer {
    shared: Arc<Shared>,
}

/// Headers: [name => value] or a list of [name, value] pairs (names may repeat); a value is a
/// string or null.
fn headers_of(h: Option<&Zval>) -> R<Vec<OwnedHeader>> {
    let Some(h) = h.map(Zval::dereference) else {
        return Ok(Vec::new());
    };
    if h.is_null() {
        return Ok(Vec::new());
    }
    let Some(a) = h.array() else {
        return Err(type_error("headers must be an array"));
    };
    let bytes = |v: &Zval| -> R<Option<Vec<u8>>> {
        let v = v.dereference();
        if v.is_null() {
            return Ok(None);
        }
        v.zend_str()
            .map(|s| Some(s.as_bytes().to_vec()))
            .ok_or_else(|| type_error("header values must be strings or null"))
    };
    let mut out = Vec::with_capacity(a.len());
    for (k, v) in a.iter() {
        match k {
            ext_php_rs::types::ArrayKey::Long(_) => {
                let pair =
                    v.dereference().array().filter(|p| p.len() == 2).ok_or_else(|| {
                        type_error("a header must be name => value or [name, value]")
                    })?;
                let name = pair
                    .get_index(0)
                    .and_then(Zval::str)
                    .ok_or_else(|| type_error("header names must be strings"))?;
                out.push((name.to_string(), bytes(pair.get_index(1).unwrap_or(&Zval::null()))?));
            }
            other => out.push((other.to_string(), bytes(v)?)),
        }
    }
    Ok(out)
}

fn timestamp_of(t: Option<&Zval>) -> R<Option<i64>> {
    match t.map(Zval::dereference) {
        None => Ok(None),
        Some(z) if z.is_null() => Ok(None),
        Some(z) => time_ms(z).map(Some),
    }
}

fn data(z: Option<&Zval>) -> Data<'_, PhpValue<'_>> {
    match z.map(Zval::dereference) {
        None => Data::Null,
        Some(z) if z.is_null() => Data::Null,
        Some(z) => Data::Value(PhpValue::new(z)),
    }
}

impl Producer {
    /// Serializes one record (registry I/O the first time per schema, waited here).
    fn serialize(
        &self,
        topic: &str,
        key: Option<&Zval>,
        value: Option<&Zval>,
    ) -> R<SerializedPair> {
        let c = &self.shared.client;
        let serde = c.topic_serde(topic);
        let (k, v) = (data(key), data(value));
        let (mut kb, mut vb) = (Vec::new(), Vec::new());
        let r = wait(
            async {
                let hk = c.serialize_for(topic, true, &serde, &k, &mut kb).await?;
                let hv = c.serialize_for(topic, false, &serde, &v, &mut vb).await?;
                Ok::<_, kpipe::Error>((hk, hv))
            },
            false,
        )?;
        let (hk, hv) = done(r)?;
        Ok((hk.then_some(kb), hv.then_some(vb)))
    }
}

#[php_impl]
impl Producer {
    /// Sends one record and waits for the broker's acknowledgement.
    pub fn send(
        &self,
        topic: String,
        value: Option<&Zval>,
        key: Option<&Zval>,
        headers: Option<&Zval>,
        timestamp: Option<&Zval>,
    ) -> R<RecordMetadata> {
        let hdrs = headers_of(headers)?;
        let ts = timestamp_of(timestamp)?;
        let (kb, vb) = self.serialize(&topic, key, value)?;
        let c = self.shared.client.clone();
        let hv = header_refs(&hdrs);
        let r = wait(c.send_raw(&topic, kb.as_deref(), vb.as_deref(), &hv, ts), false)?;
        done(r).map(RecordMetadata::from)
    }

    /// Sends many records to one topic, queued back to back in order, and waits for all:
    /// one entry per record, a RecordMetadata or the KpipeException of that record.
    /// Each record: ['value' => ..., 'key' => ..., 'headers' => [...], 'timestamp' => ...].
    pub fn send_many(&self, topic: String, records: &Zval) -> R<Vec<Zval>> {
        let batch = self.serialize_batch(&topic, records)?;
        let c = self.shared.client.clone();
        let results =
            done(wait(async move { batch.send(&c, &topic).await }, false).map(|r| r.map(Ok))?)?;
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            out.push(match r {
                Ok(d) => RecordMetadata::from(d)
                    .into_zval(false)
                    .map_err(|e| php(internal(e.to_string())))?,
                Err(e) => error::value(&e),
            });
        }
        Ok(out)
    }

    /// Queues records without waiting for acknowledgements (the fast path): they are
    /// awaited by `flush()`, at the end of the request, and at process end; a failure
    /// throws from `flush()` or, at request end, is reported as a PHP warning.
    /// `records`: one record array (['value' => ...]) or a list of them.
    pub fn queue(&self, topic: String, records: &Zval) -> R<i64> {
        let batch = self.serialize_batch(&topic, records)?;
        // all or nothing: a record that cannot be serialized keeps the whole call out
        if let Some(e) = batch.first_rejection() {
            return Err(php(e.clone()));
        }
        let n = batch.len() as i64;
        let c = self.shared.client.clone();
        match wait(async move { batch.enqueue(&c, &topic).await }, false)? {
            Ok(pending) => lock(&self.shared.pending).push(pending),
            Err(_) => return Err(php(internal("queueing stopped"))),
        }
        Ok(n)
    }

    /// Waits until every record sent or queued so far is delivered (default 30 s); throws the
    /// first failure.
    pub fn flush(&self, timeout_ms: Option<i64>) -> R<()> {
        let errors = guard(|| self.shared.settle())?;
        if let Some(e) = errors.into_iter().next() {
            return Err(php(e));
        }
        let c = self.shared.client.clone();
        let t = ms(timeout_ms, 30_000);
        let r = wait(async move { tokio::task::spawn_blocking(move || c.flush(t)).await }, false)?;
        match r {
            Ok(Ok(r)) => r.map_err(php),
            _ => Err(php(internal("flush panicked"))),
        }
    }
}

impl Producer {
    /// Serializes one record array (['value' => ...]) or a list of them, in order. A record
    /// that is no array, or whose headers or timestamp have the wrong PHP type, throws; one
    /// that the serializer refuses is rejected in the batch (its error takes its place).
    fn serialize_batch(&self, topic: &str, records: &Zval) -> R<SerializedBatch> {
        let a =
            records.dereference().array().ok_or_else(|| type_error("records must be an array"))?;
        let single = !a.has_sequential_keys() || a.is_empty();
        let list: Vec<&Zval> = if single && a.get("value").is_some() {
            vec![records.dereference()]
        } else {
            a.values().collect()
        };
        let mut batch = SerializedBatch::with_capacity(list.len());
        let c = &self.shared.client;
        let serde = c.topic_serde(topic);
        let mut scratch = Vec::with_capacity(256);
        for rec in list {
            let r = rec
                .dereference()
                .array()
                .ok_or_else(|| type_error("each record must be an array with a 'value'"))?;
            let hdrs = headers_of(r.get("headers"))?;
            let ts = timestamp_of(r.get("timestamp"))?;
            // outer error: the runtime (thrown); inner: the serializer's (this record's)
            let mut part = |is_key: bool,
                            z: Option<&Zval>,
                            batch: &mut SerializedBatch|
             -> R<kpipe::Result<Part>> {
                let d = data(z);
                let has = kpipe::runtime::block_on(c.serialize_for(
                    topic,
                    is_key,
                    &serde,
                    &d,
                    &mut scratch,
                ))
                .map_err(php)?;
                Ok(has.map(|has| batch.store(has.then_some(scratch.as_slice()))))
            };
            let k = part(true, r.get("key"), &mut batch)?;
            let v = part(false, r.get("value"), &mut batch)?;
            match (k, v) {
                (Ok(k), Ok(v)) => batch.push(k, v, hdrs, ts),
                (Err(e), _) | (_, Err(e)) => batch.reject(e),
            }
        }
        Ok(batch)
    }
}

fn header_zval(v: Option<&[u8]>) -> Zval {
    v.map_or_else(Zval::null, convert::bytes_zval)
}

/// One consumed record; key and value are decoded on request with the topic's deserializers.
#[php_class]
#[php(name = "Kpipe\\Message")]
pub struct Message {
    msg: Arc<kpipe::Message>,
    consumer: Arc<kpipe::Consumer>,
}

impl Message {
    fn decode(&self, key: bool) -> R<Zval> {
        let m = &self.msg;
        let at = |e: kpipe::Error| {
            error::from_details(&e.details().at_record(&m.topic, m.partition, m.offset))
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut b = PhpBuilder;
            let fut = async {
                if key {
                    self.consumer.decode_key(&self.msg, &mut b).await
                } else {
                    self.consumer.decode_value(&self.msg, &mut b).await
                }
            };
            kpipe::runtime::block_on(fut)?
        }));
        match r {
            Ok(Ok(v)) => Ok(v.unwrap_or_else(Zval::null)),
            Ok(Err(e)) => Err(at(e)),
            Err(_) => Err(php(internal("a kpipe call panicked"))),
        }
    }
}

#[php_impl]
impl Message {
    #[php(getter)]
    pub fn get_topic(&self) -> String {
        self.msg.topic.to_string()
    }
    #[php(getter)]
    pub fn get_partition(&self) -> i64 {
        i64::from(self.msg.partition)
    }
    #[php(getter)]
    pub fn get_offset(&self) -> i64 {
        self.msg.offset
    }
    /// Milliseconds since the epoch (null when the record has none).
    #[php(getter)]
    pub fn get_timestamp(&self) -> Option<i64> {
        self.msg.timestamp_ms
    }
    /// The decoded key (SerdeException naming topic, partition and offset when it cannot be).
    pub fn key(&self) -> R<Zval> {
        self.decode(true)
    }
    /// The decoded value.
    pub fn value(&self) -> R<Zval> {
        self.decode(false)
    }
    /// The key's bytes as received (null when none).
    pub fn raw_key(&self) -> Option<Zval> {
        self.msg.key.as_ref().map(|b| convert::bytes_zval(b))
    }
    pub fn raw_value(&self) -> Option<Zval> {
        self.msg.value.as_ref().map(|b| convert::bytes_zval(b))
    }
    /// [name, value] pairs, in order (names may repeat); a header sent with no value has a
    /// null value, an empty one "".
    pub fn headers(&self) -> R<Vec<Vec<Zval>>> {
        Ok(self
            .msg
            .headers
            .iter()
            .map(|(k, v)| vec![convert::string_zval(k), header_zval(v.as_deref())])
            .collect())
    }
    /// The first header named `name`, or null (also when that header has no value:
    /// `headers()` tells the two apart).
    pub fn header(&self, name: String) -> Option<Zval> {
        self.msg.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| header_zval(v.as_deref()))
    }
}

/// A group consumer: a wrapper of the core's poll session (batches, schema warming, the
/// retriable-error policy, the acknowledgement mode). Iterable with `foreach` (until `stop()`
/// or a signal).
#[php_class]
#[php(name = "Kpipe\\Consumer")]
#[php(implements(ce = ce::iterator, stub = "\\Iterator"))]
pub struct Consumer {
    client: kpipe::Client,
    session: Arc<PollSession>,
    stop: AtomicBool,
    current: Option<Arc<kpipe::Message>>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // the safety net of the request's end: the session's close (errors have no one to go to)
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.session.close()));
    }
}

impl Consumer {
    fn consumer(&self) -> &Arc<kpipe::Consumer> {
        self.session.consumer()
    }
    fn message(&self, m: Arc<kpipe::Message>) -> Message {
        Message { msg: m, consumer: self.consumer().clone() }
    }
    /// The next record, waiting up to `t`; None on timeout or when a signal arrived.
    fn next_record(&self, t: Duration) -> R<Option<Arc<kpipe::Message>>> {
        if let Some(m) = guard(|| self.session.try_next())? {
            return Ok(Some(m));
        }
        let s = self.session.clone();
        match wait(async move { s.next(t).await }, true)? {
            Ok(r) => r.map_err(php),
            Err(Stop::Signal) => Ok(None),
        }
    }
}

#[php_impl]
impl Consumer {
    /// Waits up to `timeout_ms` (default 1000) for the next record: a Message, or null (none
    /// came, or a signal arrived). Acknowledges the previous record (implicit mode).
    pub fn poll(&self, timeout_ms: Option<i64>) -> R<Option<Message>> {
        Ok(self.next_record(ms(timeout_ms, 1000))?.map(|m| self.message(m)))
    }

    /// Marks `message` handled without committing now (after-handle commits it soon).
    pub fn ack(&self, message: &Message) -> R<()> {
        guard(|| self.consumer().ack(&message.msg))
    }

    /// Commits every handled offset and waits for the broker; `message` given, it is
    /// acknowledged first, else the session decides (implicit: the last record handed out).
    pub fn commit(&self, message: Option<&Message>) -> R<()> {
        let record = message.map(|m| (m.msg.topic.clone(), m.msg.partition, m.msg.offset));
        guard(|| self.session.commit(record.as_ref().map(|(t, p, o)| (&**t, *p, *o))))
    }

    /// Moves one assigned partition to `offset`.
    pub fn seek(&self, topic: String, partition: i64, offset: i64) -> R<()> {
        guard(|| self.session.seek(&topic, partition as i32, offset, Duration::from_secs(10)))
    }

    /// Moves every assigned partition to the first record at or after `time`: a list of
    /// [topic, partition, offset].
    pub fn seek_to_time(&self, time: &Zval) -> R<Vec<Vec<Zval>>> {
        let t = time_ms(time)?;
        let (s, c) = (self.session.clone(), self.client.clone());
        let moved = done(wait(async move { s.seek_to_time(&c, t).await }, false)?)?;
        Ok(moved
            .into_iter()
            .map(|(t, p, o)| {
                let (mut zp, mut zo) = (Zval::new(), Zval::new());
                zp.set_long(i64::from(p));
                zo.set_long(o);
                vec![convert::string_zval(&t), zp, zo]
            })
            .collect())
    }

    /// Assigned [topic, partition] pairs.
    pub fn assignment(&self) -> R<Vec<Vec<Zval>>> {
        let a = guard(|| self.consumer().assignment())?;
        Ok(a.into_iter()
            .map(|(t, p)| {
                let mut zp = Zval::new();
                zp.set_long(i64::from(p));
                vec![convert::string_zval(&t), zp]
            })
            .collect())
    }

    /// Handles records with `handler(Message $m)` until `stop()`, a signal, or `max` records:
    /// a handler that throws is retried per `consumer.max_attempts`/`backoff_ms`, then the
    /// record goes to the DLQ (the core's rules). Each record is acknowledged after its
    /// handler returned. Returns the number of records handled.
    pub fn run(&self, handler: &Zval, max: Option<i64>) -> R<i64> {
        let f = ext_php_rs::types::ZendCallable::new(handler)
            .map_err(|_| type_error("handler must be callable"))?;
        self.stop.store(false, Ordering::Release);
        let mut handled = 0i64;
        let outcome = (|| -> R<()> {
            while !self.stop.load(Ordering::Acquire) && max.is_none_or(|m| handled < m) {
                let s = self.session.clone();
                let step = wait(
                    async move {
                        let mut skip = kpipe::avro::Skip;
                        s.next_handling(&mut skip, wait::SLICE).await
                    },
                    true,
                )?;
                let mut h = match step {
                    Err(Stop::Signal) => return Ok(()),
                    Ok(r) => match r.map_err(php)? {
                        None => continue,
                        Some(h) => h,
                    },
                };
                loop {
                    let m = self
                        .message(h.message.clone())
                        .into_zval(false)
                        .map_err(|e| php(internal(e.to_string())))?;
                    let r = f.try_call(vec![&m]);
                    let failure = match r {
                        Ok(_) if !ext_php_rs::zend::ExecutorGlobals::has_exception() => None,
                        _ => match ext_php_rs::zend::ExecutorGlobals::take_exception() {
                            Some(ex) if unsafe { zend_is_unwind_exit(&raw const *ex) } => {
                                // exit() in the handler: let PHP finish, the record unacknowledged
                                let mut z = Zval::new();
                                let mut ex = ex;
                                z.set_object(&mut ex);
                                let _ = ext_php_rs::exception::throw_object(z);
                                return Err(wait::pending());
                            }
                            Some(ex) => Some(
                                ex.try_call_method("getMessage", vec![])
                                    .ok()
                                    .and_then(|z| z.string())
                                    .unwrap_or_else(|| ex.get_class_name().unwrap_or_default()),
                            ),
                            None => Some("handler call failed".to_string()),
                        },
                    };
                    match failure {
                        None => {
                            guard(|| self.consumer().complete(&h))?;
                            handled += 1;
                            break;
                        }
                        Some(text) => {
                            let c = self.consumer().clone();
                            let err = kpipe::Error::handler(text);
                            let (outcome, back) = done(wait(
                                async move {
                                    let o = c.fail(&mut h, &err).await;
                                    o.map(|o| (o, h))
                                },
                                false,
                            )?)?;
                            h = back;
                            match outcome {
                                kpipe::Outcome::DeadLettered => {
                                    handled += 1;
                                    break;
                                }
                                kpipe::Outcome::Retry { after, .. } => {
                                    if wait::sleep(after)?.is_err() {
                                        return Ok(());
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        let finished = guard(|| self.consumer().finish_run());
        outcome?;
        finished?;
        Ok(handled)
    }

    /// Ends a `run` or a `foreach` after the current record.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// The session's close: acknowledges the last record handed out (implicit mode), commits
    /// what was handled and leaves the group; idempotent.
    pub fn close(&self) -> R<()> {
        let s = self.session.clone();
        match wait(async move { tokio::task::spawn_blocking(move || s.close()).await }, false)? {
            Ok(Ok(r)) => r.map_err(php),
            _ => Err(php(internal("close panicked"))),
        }
    }

    // ---- Iterator: foreach ($consumer as $offset => $message) ----

    pub fn current(&self) -> Option<Message> {
        self.current.clone().map(|m| self.message(m))
    }
    pub fn key(&self) -> Option<i64> {
        self.current.as_ref().map(|m| m.offset)
    }
    // PHP's Iterator protocol names it `next`
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> R<()> {
        self.current = None;
        while !self.stop.load(Ordering::Acquire) {
            let s = self.session.clone();
            match wait(async move { s.next(Duration::from_secs(1)).await }, true)? {
                Ok(r) => {
                    if let Some(m) = r.map_err(php)? {
                        self.current = Some(m);
                        return Ok(());
                    }
                }
                Err(Stop::Signal) => return Ok(()),
            }
        }
        Ok(())
    }
    pub fn rewind(&mut self) -> R<()> {
        self.stop.store(false, Ordering::Release);
        self.next()
    }
    pub fn valid(&self) -> bool {
        self.current.is_some()
    }
}

unsafe extern "C" {
    fn zend_is_unwind_exit(ex: *const ext_php_rs::ffi::zend_object) -> bool;
}

/// An Avro schema compiled once: encode PHP values to an Avro body (no registry header) and
/// decode them back. For checks and tools; producers and consumers do this themselves.
#[php_class]
#[php(name = "Kpipe\\Schema")]
pub struct Schema {
    inner: Arc<kpipe::avro::CompiledSchema>,
}

#[php_impl]
impl Schema {
    pub fn __construct(schema: String) -> R<Self> {
        guard(|| kpipe::avro::CompiledSchema::parse(&schema)).map(|s| Schema { inner: Arc::new(s) })
    }
    /// The full name of a named root type (null otherwise).
    pub fn name(&self) -> Option<String> {
        self.inner.name().map(str::to_string)
    }
    /// The Avro body of `value` (SerdeException `serde.encode` naming the field path).
    pub fn encode(&self, value: &Zval) -> R<Zval> {
        guard(|| {
            let mut out = Vec::with_capacity(64);
            kpipe::avro::encode(&self.inner, &PhpValue::new(value), &mut out)?;
            Ok(convert::bytes_zval(&out))
        })
    }
    /// PHP values from an Avro body written with this schema.
    pub fn decode(&self, body: &Zval) -> R<Zval> {
        let b = body
            .zend_str()
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| type_error("body must be a string"))?;
        guard(|| kpipe::avro::decode(&self.inner, None, &b, &mut PhpBuilder))
    }
    /// Natural JSON text of an Avro body (the CLI's and other languages' text form).
    pub fn to_json(&self, body: &Zval) -> R<String> {
        let b = body
            .zend_str()
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| type_error("body must be a string"))?;
        guard(|| kpipe::avro::avro_to_json(&self.inner, &b).map(|v| v.to_string()))
    }
}

/// The end of a request: await the records this request (and earlier ones) queued, so none
/// is lost when the request ends; report failures as warnings.
extern "C" fn request_shutdown(_type: i32, _module: i32) -> i32 {
    let _ = std::panic::catch_unwind(|| settle_all("request end"));
    0
}

/// The end of the process (php-fpm worker exit, CLI end): settle and flush every client.
extern "C" fn module_shutdown(_type: i32, _module: i32) -> i32 {
    let _ = std::panic::catch_unwind(|| {
        settle_all("process end");
        let left = kpipe::client::flush_all(Duration::from_secs(30));
        if left > 0 {
            eprintln!("kpipe: {left} records were not delivered before the process ended");
        }
    });
    0
}

fn settle_all(when: &str) {
    let pid = std::process::id();
    let mine: Vec<Arc<Shared>> = lock(cache())
        .iter()
        .filter(|(k, _)| k.split('\0').next() == Some(&pid.to_string()))
        .map(|(_, s)| s.clone())
        .collect();
    for s in mine {
        match s.settle() {
            Ok(errors) if errors.is_empty() => {}
            Ok(errors) => warn(&format!(
                "kpipe: {} queued records failed at {when}; first: {}",
                errors.len(),
                errors[0]
            )),
            Err(e) => warn(&format!("kpipe: queued records not awaited at {when}: {e}")),
        }
    }
}

fn warn(text: &str) {
    eprintln!("{text}");
}

fn startup(_ty: i32, _module: i32) -> i32 {
    match error::register() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kpipe: registering the exception classes failed: {e}");
            1
        }
    }
}

#[php_module]
#[php(startup = startup)]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .name("kpipe")
        .class::<Client>()
        .class::<RecordMetadata>()
        .class::<Producer>()
        .class::<Message>()
        .class::<Consumer>()
        .class::<Schema>()
        .request_shutdown_function(request_shutdown)
        .shutdown_function(module_shutdown)
}
