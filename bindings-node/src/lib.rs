//! The Node binding of kpipe (N-API via napi-rs). It converts values (convert.rs) and errors
//! (error.rs) and owns nothing else: routing, serializers, the registry, retries, the DLQ,
//! commits and offsets are the core's. Core work runs on the core's tokio runtime and settles
//! Promises (runtime.rs); JS values are read and built only on the JS thread. The JS-facing
//! API (Client, Producer, Consumer, errors) is the thin wrapper in index.js.

mod convert;
mod error;
mod js;
mod runtime;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kpipe::binding::{header_refs, OwnedHeader, Part, SerializedBatch};
use kpipe::options;
use kpipe::session::{AckMode, PollSession};
use kpipe::{ConsumerOptions, Data, Delivery, Serde, StartAt, TopicSerde};
use napi::bindgen_prelude::Buffer;
use napi::{sys, Env};
use napi_derive::napi;

use crate::convert::{JsBuilder, JsValue, Longs};
use crate::error::{guard, internal, throw};
use crate::js::{Raw, Val};
use crate::runtime::{now, promise};
use kpipe::avro::ValueSource as _;

/// The TypeError of a `start` that is no string, number, bigint or Date (as index.js throws).
const START_TYPE: &str =
    "start must be 'committed', 'earliest', 'latest', an offset (number or bigint) or a Date";
/// The TypeError of a reset target of another type.
const TO_TYPE: &str =
    "to must be 'earliest', 'latest', a time, a Date, milliseconds or {partition: offset}";

/// How often a waiting consumer call returns to JS (to notice close/abort).
const SLICE_MS: u64 = 200;

fn longs_of(longs: Option<String>) -> Longs {
    match longs.as_deref() {
        Some("number") => Longs::Number,
        _ => Longs::BigInt,
    }
}

fn ms(d: f64) -> Duration {
    Duration::from_millis(if d.is_finite() && d > 0.0 { d as u64 } else { 0 })
}

fn delivery_js(env: js::Env, d: Delivery) -> kpipe::Result<Val> {
    let r = (|| {
        let o = js::object(env)?;
        js::set(env, o, "cluster", js::string(env, &d.cluster)?)?;
        js::set(env, o, "topic", js::string(env, &d.topic)?)?;
        js::set(env, o, "partition", js::int32(env, d.partition)?)?;
        js::set(env, o, "offset", js::double(env, d.offset as f64)?)?;
        let ts = match d.timestamp_ms {
            Some(t) => js::date(env, t as f64)?,
            None => js::null(env)?,
        };
        js::set(env, o, "timestamp", ts)?;
        Ok::<_, napi::Error>(o)
    })();
    r.map_err(|e| internal(e.to_string()))
}

/// Serializes one key or value into `out`: Some(false) for null/undefined, None when the
/// serializer first needs registry I/O (the caller warms the topic and tries again).
fn serialize(
    env: js::Env,
    client: &kpipe::Client,
    topic: &str,
    is_key: bool,
    serde: &TopicSerde,
    v: Val,
    out: &mut Vec<u8>,
) -> kpipe::Result<Option<bool>> {
    let t = js::type_of(env, v).map_err(|e| internal(e.to_string()))?;
    if t == sys::ValueType::napi_undefined || t == sys::ValueType::napi_null {
        return Ok(Some(false));
    }
    let s = if is_key { &serde.key } else { &serde.value };
    if !matches!(s, Serde::Avro { .. }) {
        // text and bytes as themselves for the bytes/string/json serializers
        if t == sys::ValueType::napi_string {
            let text = js::get_string(env, v).map_err(|e| internal(e.to_string()))?;
            let d: Data<'_, JsValue> = Data::Str(&text);
            return now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose();
        }
        if let Some(b) = js::get_bytes(env, v) {
            let d: Data<'_, JsValue> = Data::Bytes(b);
            return now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose();
        }
    }
    let d = Data::Value(JsValue::new(env, v));
    now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose()
}

/// Headers as an array of [name, Buffer|Uint8Array|null] pairs (index.js normalizes them);
/// null is a null header value.
fn headers_of(env: js::Env, h: Val) -> kpipe::Result<Vec<OwnedHeader>> {
    let bad = |e: napi::Error| internal(e.to_string());
    let t = js::type_of(env, h).map_err(bad)?;
    if t != sys::ValueType::napi_object || !js::is_array(env, h) {
        return Ok(Vec::new());
    }
    let n = js::array_len(env, h).map_err(bad)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let pair = js::element(env, h, i).map_err(bad)?;
        let k = js::get_string(env, js::element(env, pair, 0).map_err(bad)?).map_err(bad)?;
        let v = js::element(env, pair, 1).map_err(bad)?;
        let t = js::type_of(env, v).map_err(bad)?;
        let value = if t == sys::ValueType::napi_null || t == sys::ValueType::napi_undefined {
            None
        } else {
            // index.js hands Buffers / Uint8Arrays only
            let b = js::get_bytes(env, v).ok_or_else(|| internal("a header value is not bytes"))?;
            Some(b.to_vec())
        };
        out.push((k, value));
    }
    Ok(out)
}

/// A kpipe client for one kpipe.yaml: routes every topic to its cluster, shares one producer
/// per cluster, holds the registry caches.
#[napi(js_name = "NativeClient")]
pub struct NativeClient {
    inner: kpipe::Client,
}

#[napi]
impl NativeClient {
    /// Reads kpipe.yaml (with `KPIPE_...` env overrides). Nothing connects yet.
    #[napi(factory)]
    pub fn from_file(env: Env, path: String) -> napi::Result<Self> {
        guard(&env, || kpipe::Client::from_file(&path)).map(|inner| NativeClient { inner })
    }

    /// YAML (or JSON) text shaped like kpipe.yaml.
    #[napi(factory)]
    pub fn from_yaml(env: Env, text: String) -> napi::Result<Self> {
        guard(&env, || kpipe::config::Config::from_yaml(&text).and_then(kpipe::Client::from_config))
            .map(|inner| NativeClient { inner })
    }

    /// Sets the serializers of `topic` (beats kpipe.yaml's `serializers:`); `reader` /
    /// `key_reader` (`schema`, `writer`, `latest`) are parsed by the core.
    #[napi]
    #[allow(clippy::too_many_arguments)] // positional: index.js passes the options object's fields
    pub fn set_serializer(
        &self,
        env: Env,
        topic: String,
        key: String,
        value: String,
        schema: Option<String>,
        key_schema: Option<String>,
        reader: Option<String>,
        key_reader: Option<String>,
    ) -> napi::Result<()> {
        guard(&env, || {
            let serde = TopicSerde {
                key: options::serde(
                    "key",
                    &key,
                    key_schema.map(Arc::from),
                    "keyReader",
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
            self.inner.set_topic_serde(&topic, serde);
            Ok(())
        })
    }

    #[napi]
    pub fn cluster_for(&self, env: Env, topic: String) -> napi::Result<String> {
        guard(&env, || self.inner.cluster_for(&topic).map(str::to_string))
    }

    /// Fetches the topic's writer schemas (registry I/O), so `send` can serialize on the JS
    /// thread without waiting.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn warm(&self, env: Env, topic: String) -> napi::Result<Raw> {
        let c = self.inner.clone();
        promise(
            &env,
            async move {
                let serde = c.topic_serde(&topic);
                c.warm_writers(&topic, &serde).await
            },
            |env, ()| js::undefined(env).map_err(|e| internal(e.to_string())),
        )
    }

    /// Serializes now (JS thread) and sends on the core runtime: a Promise of the delivery,
    /// or undefined when the topic's schemas must be fetched first (`warm`).
    #[napi(ts_return_type = "Promise<object> | undefined")]
    pub fn send(
        &self,
        env: Env,
        topic: String,
        key: Raw,
        value: Raw,
        headers: Raw,
        timestamp: Option<f64>,
    ) -> napi::Result<Option<Raw>> {
        let raw = env.raw();
        let prepared = guard(&env, || {
            let serde = self.inner.topic_serde(&topic);
            let (mut kb, mut vb) = (Vec::new(), Vec::new());
            let Some(has_k) = serialize(raw, &self.inner, &topic, true, &serde, key.0, &mut kb)?
            else {
                return Ok(None);
            };
            let Some(has_v) = serialize(raw, &self.inner, &topic, false, &serde, value.0, &mut vb)?
            else {
                return Ok(None);
            };
            Ok(Some((has_k.then_some(kb), has_v.then_some(vb), headers_of(raw, headers.0)?)))
        })?;
        let Some((kb, vb, hdrs)) = prepared else { return Ok(None) };
        let ts = timestamp.map(|t| t as i64);
        let c = self.inner.clone();
        promise(
            &env,
            async move {
                let hv = header_refs(&hdrs);
                c.send_raw(&topic, kb.as_deref(), vb.as_deref(), &hv, ts).await
            },
            delivery_js,
        )
        .map(Some)
    }

    /// Sends many records to one topic, queued back to back in order: a Promise of one entry
    /// per record (a delivery object, or the KpipeError of that record); undefined when the
    /// topic's schemas must be fetched first (`warm`).
    #[napi(ts_return_type = "Promise<Array<object>> | undefined")]
    pub fn send_many(&self, env: Env, topic: String, records: Raw) -> napi::Result<Option<Raw>> {
        let raw = env.raw();
        let prepared = guard(&env, || {
            let bad = |e: napi::Error| internal(e.to_string());
            let serde = self.inner.topic_serde(&topic);
            let n = js::array_len(raw, records.0).map_err(bad)?;
            let mut batch = SerializedBatch::with_capacity(n as usize);
            let mut scratch = Vec::with_capacity(256);
            for i in 0..n {
                let rec = js::element(raw, records.0, i).map_err(bad)?;
                let field = |name: &str| -> kpipe::Result<Val> {
                    match js::get(raw, rec, name).map_err(bad)? {
                        Some(v) => Ok(v),
                        None => js::undefined(raw).map_err(bad),
                    }
                };
                // None: the topic's schemas must be fetched first
                let mut one = |is_key: bool,
                               v: Val,
                               batch: &mut SerializedBatch|
                 -> kpipe::Result<Option<Part>> {
                    let Some(has) =
                        serialize(raw, &self.inner, &topic, is_key, &serde, v, &mut scratch)?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(batch.store(has.then_some(scratch.as_slice()))))
                };
                let r = (|| {
                    let Some(k) = one(true, field("key")?, &mut batch)? else { return Ok(None) };
                    let Some(v) = one(false, field("value")?, &mut batch)? else {
                        return Ok(None);
                    };
                    let h = headers_of(raw, field("headers")?)?;
                    let tv = field("timestamp")?;
                    let ts = if js::type_of(raw, tv).map_err(bad)? == sys::ValueType::napi_number {
                        Some(js::get_f64(raw, tv).map_err(bad)? as i64)
                    } else {
                        None
                    };
                    Ok(Some((k, v, h, ts)))
                })();
                match r {
                    Ok(None) => return Ok(None),
                    Ok(Some((k, v, h, ts))) => batch.push(k, v, h, ts),
                    Err(e) => batch.reject(e),
                }
            }
            Ok(Some(batch))
        })?;
        let Some(batch) = prepared else { return Ok(None) };
        let c = self.inner.clone();
        promise(
            &env,
            async move { Ok(batch.send(&c, &topic).await) },
            |env, all: Vec<kpipe::Result<Delivery>>| {
                let arr = js::array(env, all.len()).map_err(|e| internal(e.to_string()))?;
                for (i, r) in all.into_iter().enumerate() {
                    let v = match r {
                        Ok(d) => delivery_js(env, d)?,
                        Err(e) => error::value(env, &e).map_err(|e| internal(e.to_string()))?,
                    };
                    js::set_element(env, arr, i as u32, v).map_err(|e| internal(e.to_string()))?;
                }
                Ok(arr)
            },
        )
        .map(Some)
    }

    /// Waits (off the JS thread) until every record queued so far is delivered.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self, env: Env, timeout_ms: f64) -> napi::Result<Raw> {
        let c = self.inner.clone();
        let t = ms(timeout_ms);
        promise(
            &env,
            async move {
                tokio::task::spawn_blocking(move || c.flush(t))
                    .await
                    .unwrap_or_else(|_| Err(internal("flush panicked")))
            },
            |env, ()| js::undefined(env).map_err(|e| internal(e.to_string())),
        )
    }

    /// Flushes and closes; idempotent. Later calls fail with `closed`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<Raw> {
        let c = self.inner.clone();
        promise(
            &env,
            async move {
                tokio::task::spawn_blocking(move || c.close())
                    .await
                    .unwrap_or_else(|_| Err(internal("close panicked")))
            },
            |env, ()| js::undefined(env).map_err(|e| internal(e.to_string())),
        )
    }

    /// A group consumer. `start`: undefined (committed), a start position as text, an offset
    /// (number/bigint) or a Date; `commit` and `ack` as text (kpipe::options).
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn consumer(
        &self,
        env: Env,
        group: String,
        topics: Vec<String>,
        start: Raw,
        commit: Option<String>,
        ack: Option<String>,
        properties: Option<HashMap<String, String>>,
    ) -> napi::Result<NativeConsumer> {
        let raw = env.raw();
        let start = match js::type_of(raw, start.0)? {
            sys::ValueType::napi_undefined | sys::ValueType::napi_null => StartAt::Committed,
            sys::ValueType::napi_string => {
                let text = js::get_string(raw, start.0)?;
                guard(&env, || options::parse("start", &text))?
            }
            sys::ValueType::napi_number => StartAt::Offset(js::get_f64(raw, start.0)? as i64),
            sys::ValueType::napi_bigint => StartAt::Offset(
                js::get_bigint_i64(raw, start.0)
                    .ok_or_else(|| error::type_error(raw, "start offset out of range"))?,
            ),
            _ if js::is_date(raw, start.0) => {
                StartAt::Timestamp(js::get_date_ms(raw, start.0)? as i64)
            }
            _ => return Err(error::type_error(raw, START_TYPE)),
        };
        guard(&env, || {
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
            let inner = self.inner.consumer(opts)?;
            Ok(NativeConsumer {
                client: self.inner.clone(),
                session: Arc::new(PollSession::new(Arc::new(inner), ack)),
            })
        })
    }

    /// Per partition, the earliest offset whose timestamp is >= `timeMs` (the end offset when
    /// none is that new): a Promise of [partition, offset] pairs.
    #[napi(ts_return_type = "Promise<Array<[number, number]>>")]
    pub fn offsets_for_time(
        &self,
        env: Env,
        topic: String,
        time_ms: f64,
        cluster: Option<String>,
    ) -> napi::Result<Raw> {
        let o = guard(&env, || self.offsets(cluster.as_deref(), Some(&topic)))?;
        promise(
            &env,
            async move { o.offsets_for_time(&topic, time_ms as i64).await },
            |env, pairs| {
                let r = (|| {
                    let arr = js::array(env, pairs.len())?;
                    for (i, (p, off)) in pairs.into_iter().enumerate() {
                        let pair = js::array(env, 2)?;
                        js::set_element(env, pair, 0, js::int32(env, p)?)?;
                        js::set_element(env, pair, 1, js::double(env, off as f64)?)?;
                        js::set_element(env, arr, i as u32, pair)?;
                    }
                    Ok::<_, napi::Error>(arr)
                })();
                r.map_err(|e| internal(e.to_string()))
            },
        )
    }

    /// A group's committed offsets, as the JSON text of `kpipe offsets export`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn export_offsets(
        &self,
        env: Env,
        group: String,
        topics: Option<Vec<String>>,
        cluster: Option<String>,
    ) -> napi::Result<Raw> {
        let first = topics.as_ref().and_then(|t| t.first().cloned());
        let o = guard(&env, || self.offsets(cluster.as_deref(), first.as_deref()))?;
        promise(
            &env,
            async move {
                let doc = o.export(&group, topics.as_deref()).await?;
                serde_json::to_string(&doc).map_err(|e| internal(e.to_string()))
            },
            |env, s| js::string(env, &s).map_err(|e| internal(e.to_string())),
        )
    }

    /// Commits an export document (JSON text) to `group` (default: the document's); refuses
    /// while the group has members unless `force`. A Promise of the changes' JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn import_offsets(
        &self,
        env: Env,
        doc: String,
        group: Option<String>,
        force: bool,
        cluster: Option<String>,
    ) -> napi::Result<Raw> {
        let (o, doc) = guard(&env, || {
            let doc: kpipe::offsets::OffsetsExport =
                serde_json::from_str(&doc).map_err(|e| kpipe::Error::InputInvalid {
                    what: "offsets document".into(),
                    reason: e.to_string(),
                })?;
            let name = cluster.clone().unwrap_or_else(|| doc.cluster.clone());
            Ok((kpipe::offsets::Offsets::from_config(self.inner.config(), &name)?, doc))
        })?;
        promise(
            &env,
            async move {
                let changes = o.import(&doc, group.as_deref(), force).await?;
                serde_json::to_string(&changes).map_err(|e| internal(e.to_string()))
            },
            |env, s| js::string(env, &s).map_err(|e| internal(e.to_string())),
        )
    }

    /// Moves the group's offsets of `topics` to `to`: "earliest" | "latest" | a Date / ms
    /// (first record at or after it) | {partition: offset}. `dryRun` only reports. A Promise
    /// of the changes' JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    // positional, as index.js calls it: the JS API takes one options object
    #[allow(clippy::too_many_arguments)]
    pub fn reset_offsets(
        &self,
        env: Env,
        group: String,
        topics: Vec<String>,
        to: Raw,
        force: bool,
        dry_run: bool,
        cluster: Option<String>,
    ) -> napi::Result<Raw> {
        let raw = env.raw();
        if js::type_of(raw, to.0)? != sys::ValueType::napi_string
            && js::type_of(raw, to.0)? != sys::ValueType::napi_number
            && js::type_of(raw, to.0)? != sys::ValueType::napi_object
        {
            return Err(error::type_error(raw, TO_TYPE));
        }
        let (o, to) = guard(&env, || {
            let bad = |e: napi::Error| internal(e.to_string());
            let to = match js::type_of(raw, to.0).map_err(bad)? {
                sys::ValueType::napi_string => {
                    options::parse("to", &js::get_string(raw, to.0).map_err(bad)?)?
                }
                sys::ValueType::napi_number => {
                    kpipe::offsets::ResetTo::Time(js::get_f64(raw, to.0).map_err(bad)? as i64)
                }
                _ if js::is_date(raw, to.0) => {
                    kpipe::offsets::ResetTo::Time(js::get_date_ms(raw, to.0).map_err(bad)? as i64)
                }
                sys::ValueType::napi_object => {
                    let keys = js::keys(raw, to.0).map_err(bad)?;
                    let mut list = Vec::new();
                    for i in 0..js::array_len(raw, keys).map_err(bad)? {
                        let k = js::get_string(raw, js::element(raw, keys, i).map_err(bad)?)
                            .map_err(bad)?;
                        let v = js::get(raw, to.0, &k)
                            .map_err(bad)?
                            .ok_or_else(|| internal("missing offset"))?;
                        let p = k.parse::<i32>().map_err(|_| kpipe::Error::InputInvalid {
                            what: "to".into(),
                            reason: format!("partition {k:?} is not a number"),
                        })?;
                        list.push((
                            p,
                            JsValue::new(raw, v).as_i64().ok_or_else(|| {
                                kpipe::Error::InputInvalid {
                                    what: "to".into(),
                                    reason: format!("offset of partition {p} is not an integer"),
                                }
                            })?,
                        ));
                    }
                    kpipe::offsets::ResetTo::Explicit(list)
                }
                _ => unreachable!("checked above"),
            };
            Ok((self.offsets(cluster.as_deref(), topics.first().map(String::as_str))?, to))
        })?;
        promise(
            &env,
            async move {
                let changes = o.reset(&group, &topics, &to, force, dry_run).await?;
                serde_json::to_string(&changes).map_err(|e| internal(e.to_string()))
            },
            |env, s| js::string(env, &s).map_err(|e| internal(e.to_string())),
        )
    }

    /// Plans moving `group` from cluster `source` to `target` (by the timestamp of the next
    /// unconsumed record, or MirrorMaker 2 checkpoints). Changes nothing.
    #[napi(ts_return_type = "Promise<NativeMigrationPlan>")]
    // positional, as index.js calls it: the JS API takes one options object
    #[allow(clippy::too_many_arguments)]
    pub fn migrate_plan(
        &self,
        env: Env,
        group: String,
        source: String,
        target: String,
        topics: Option<Vec<String>>,
        strategy: Option<String>,
        source_alias: Option<String>,
    ) -> napi::Result<Raw> {
        let (s, t, req) = guard(&env, || {
            let req = kpipe::offsets::MigrateRequest::new(
                group.clone(),
                topics.clone(),
                strategy.as_deref(),
                source_alias.clone(),
            )?;
            Ok((self.offsets(Some(&source), None)?, self.offsets(Some(&target), None)?, req))
        })?;
        promise(
            &env,
            async move { kpipe::offsets::plan_migration(&s, &t, &req, |_, _| {}).await },
            |env, plan| {
                unsafe {
                    <NativeMigrationPlan as napi::bindgen_prelude::ToNapiValue>::to_napi_value(
                        env,
                        NativeMigrationPlan { plan },
                    )
                }
                .map_err(|e| internal(e.to_string()))
            },
        )
    }

    /// Applies a plan (refuses while the group has members on the target unless `force`): a
    /// Promise of the JSON text {rollback, changes}.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn migrate_apply(
        &self,
        env: Env,
        plan: &NativeMigrationPlan,
        force: bool,
    ) -> napi::Result<Raw> {
        let p = plan.plan.clone();
        let t = guard(&env, || self.offsets(Some(&p.target), None))?;
        promise(
            &env,
            async move {
                let (rollback, changes) = kpipe::offsets::apply_migration(&t, &p, force).await?;
                serde_json::to_string(
                    &serde_json::json!({ "rollback": rollback, "changes": changes }),
                )
                .map_err(|e| internal(e.to_string()))
            },
            |env, s| js::string(env, &s).map_err(|e| internal(e.to_string())),
        )
    }
}

/// A migration plan (`migratePlan`); apply it with `migrateApply`.
#[napi]
pub struct NativeMigrationPlan {
    plan: kpipe::offsets::MigrationPlan,
}

#[napi]
impl NativeMigrationPlan {
    /// The plan as JSON text (group, source, target, strategy, problems, partitions...).
    #[napi]
    pub fn to_json(&self, env: Env) -> napi::Result<String> {
        guard(&env, || serde_json::to_string(&self.plan).map_err(|e| internal(e.to_string())))
    }
}

impl NativeClient {
    fn offsets(
        &self,
        cluster: Option<&str>,
        topic: Option<&str>,
    ) -> kpipe::Result<kpipe::offsets::Offsets> {
        let name = match (cluster, topic) {
            (Some(c), _) => c.to_string(),
            (None, Some(t)) => self.inner.cluster_for(t)?.to_string(),
            (None, None) => {
                return Err(kpipe::Error::ConfigInvalid {
                    path: "cluster".into(),
                    reason: "pass a cluster (no topic to route by)".into(),
                })
            }
        };
        kpipe::offsets::Offsets::from_config(self.inner.config(), &name)
    }
}

/// One consumed record; key and value are decoded on request with the topic's deserializers.
#[napi]
pub struct NativeMessage {
    msg: Arc<kpipe::Message>,
    consumer: Arc<kpipe::Consumer>,
}

impl NativeMessage {
    fn decode(&self, env: &Env, key: bool, longs: Option<String>) -> napi::Result<Raw> {
        let raw = env.raw();
        // a decode error names the record (topic, partition, offset), as in every binding
        let m = &self.msg;
        let at = |e: kpipe::Error| {
            error::throw_details(raw, &e.details().at_record(&m.topic, m.partition, m.offset))
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut b = JsBuilder { env: raw, longs: longs_of(longs) };
            let fut = async {
                if key {
                    self.consumer.decode_key(&self.msg, &mut b).await
                } else {
                    self.consumer.decode_value(&self.msg, &mut b).await
                }
            };
            // the schemas were fetched with the batch; a miss (evicted) waits here briefly
            let v = match now(fut)? {
                Some(v) => v?,
                None => {
                    let mut b = JsBuilder { env: raw, longs: b.longs };
                    let f = async {
                        if key {
                            self.consumer.decode_key(&self.msg, &mut b).await
                        } else {
                            self.consumer.decode_value(&self.msg, &mut b).await
                        }
                    };
                    kpipe::runtime::block_on(f)??
                }
            };
            match v {
                Some(v) => Ok(Raw(v)),
                None => js::null(raw).map(Raw).map_err(|e| internal(e.to_string())),
            }
        }));
        match r {
            Ok(r) => r.map_err(at),
            Err(_) => Err(throw(raw, &internal("a kpipe call panicked"))),
        }
    }
}

#[napi]
impl NativeMessage {
    #[napi(getter)]
    pub fn topic(&self) -> String {
        self.msg.topic.to_string()
    }
    #[napi(getter)]
    pub fn partition(&self) -> i32 {
        self.msg.partition
    }
    #[napi(getter)]
    pub fn offset(&self) -> f64 {
        self.msg.offset as f64
    }
    /// Milliseconds since the epoch (null when the record has none).
    #[napi(getter)]
    pub fn timestamp(&self) -> Option<f64> {
        self.msg.timestamp_ms.map(|t| t as f64)
    }
    #[napi(getter)]
    pub fn raw_key(&self) -> Option<Buffer> {
        self.msg.key.as_ref().map(|b| Buffer::from(b.to_vec()))
    }
    #[napi(getter)]
    pub fn raw_value(&self) -> Option<Buffer> {
        self.msg.value.as_ref().map(|b| Buffer::from(b.to_vec()))
    }
    /// [name, Buffer | null] pairs, in order (null: a null header value).
    #[napi(ts_return_type = "Array<[string, Buffer | null]>")]
    pub fn headers(&self, env: Env) -> napi::Result<Raw> {
        let raw = env.raw();
        let arr = js::array(raw, self.msg.headers.len())?;
        for (i, (k, v)) in self.msg.headers.iter().enumerate() {
            let pair = js::array(raw, 2)?;
            js::set_element(raw, pair, 0, js::string(raw, k)?)?;
            let value = match v {
                Some(v) => js::buffer(raw, v)?,
                None => js::null(raw)?,
            };
            js::set_element(raw, pair, 1, value)?;
            js::set_element(raw, arr, i as u32, pair)?;
        }
        Ok(Raw(arr))
    }
    #[napi(ts_return_type = "unknown")]
    pub fn key(&self, env: Env, longs: Option<String>) -> napi::Result<Raw> {
        self.decode(&env, true, longs)
    }
    #[napi(ts_return_type = "unknown")]
    pub fn value(&self, env: Env, longs: Option<String>) -> napi::Result<Raw> {
        self.decode(&env, false, longs)
    }
}

/// A record being handled by `run` (the core's handling state: failed attempts so far).
#[napi]
pub struct NativeHandling {
    h: Arc<Mutex<Option<kpipe::Handling<()>>>>,
    msg: Arc<kpipe::Message>,
    consumer: Arc<kpipe::Consumer>,
}

#[napi]
impl NativeHandling {
    #[napi]
    pub fn message(&self) -> NativeMessage {
        NativeMessage { msg: self.msg.clone(), consumer: self.consumer.clone() }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A group consumer (see `NativeClient.consumer`): a wrapper of the core's poll session
/// (kpipe::session), which fetches in batches, warms schemas, applies the retriable-error
/// policy and the acknowledgement mode.
#[napi]
pub struct NativeConsumer {
    client: kpipe::Client,
    session: Arc<PollSession>,
}

fn message_js(env: js::Env, m: NativeMessage) -> kpipe::Result<Val> {
    unsafe { <NativeMessage as napi::bindgen_prelude::ToNapiValue>::to_napi_value(env, m) }
        .map_err(|e| internal(e.to_string()))
}

fn undefined_js(env: js::Env, _: ()) -> kpipe::Result<Val> {
    js::undefined(env).map_err(|e| internal(e.to_string()))
}

fn position(m: &NativeMessage) -> (Arc<str>, i32, i64) {
    (m.msg.topic.clone(), m.msg.partition, m.msg.offset)
}

impl NativeConsumer {
    fn consumer(&self) -> &Arc<kpipe::Consumer> {
        self.session.consumer()
    }

    fn hand_out(&self, m: Arc<kpipe::Message>) -> NativeMessage {
        NativeMessage { msg: m, consumer: self.consumer().clone() }
    }

    /// Runs a blocking core call off the JS thread and the runtime's workers.
    fn blocking(
        env: &Env,
        f: impl FnOnce() -> kpipe::Result<()> + Send + 'static,
    ) -> napi::Result<Raw> {
        promise(
            env,
            async move {
                tokio::task::spawn_blocking(f)
                    .await
                    .unwrap_or_else(|_| Err(internal("a kpipe call panicked")))
            },
            undefined_js,
        )
    }
}

#[napi]
impl NativeConsumer {
    /// A record already fetched, without waiting (null if none); the session acknowledges
    /// the previous one (implicit mode).
    #[napi]
    pub fn take(&self, env: Env) -> napi::Result<Option<NativeMessage>> {
        guard(&env, || self.session.try_next()).map(|m| m.map(|m| self.hand_out(m)))
    }

    /// Waits up to `timeoutMs` (off the JS thread) for the next record: a Promise of it, or
    /// null (the session's `next`).
    #[napi(ts_return_type = "Promise<NativeMessage | null>")]
    pub fn fetch(&self, env: Env, timeout_ms: f64) -> napi::Result<Raw> {
        let session = self.session.clone();
        let t = ms(timeout_ms).min(Duration::from_millis(SLICE_MS));
        let consumer = self.consumer().clone();
        promise(&env, async move { session.next(t).await }, move |env, m| match m {
            None => js::null(env).map_err(|e| internal(e.to_string())),
            Some(msg) => message_js(env, NativeMessage { msg, consumer }),
        })
    }

    /// Gives back a record whose caller stopped waiting (AbortSignal), so none is skipped.
    #[napi]
    pub fn unread(&self, msg: &NativeMessage) {
        self.session.unread(msg.msg.clone());
    }

    /// Marks `msg` handled without committing now (after-handle commits it soon).
    #[napi]
    pub fn ack(&self, env: Env, msg: &NativeMessage) -> napi::Result<()> {
        guard(&env, || self.consumer().ack(&msg.msg))
    }

    /// Commits every handled offset, waiting for the broker off the JS thread; `msg` given, it
    /// is acknowledged first, else the session decides (implicit: the last record handed out).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit(&self, env: Env, msg: Option<&NativeMessage>) -> napi::Result<Raw> {
        let record = msg.map(position);
        let session = self.session.clone();
        Self::blocking(&env, move || {
            session.commit(record.as_ref().map(|(t, p, o)| (&**t, *p, *o)))
        })
    }

    /// Moves one assigned partition to `offset` (the session drops what it fetched of it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn seek(&self, env: Env, topic: String, partition: i32, offset: f64) -> napi::Result<Raw> {
        let session = self.session.clone();
        Self::blocking(&env, move || {
            session.seek(&topic, partition, offset as i64, Duration::from_secs(10))
        })
    }

    /// Moves every assigned partition to the first record at or after `timeMs`: a Promise of
    /// [topic, partition, offset] triples.
    #[napi(ts_return_type = "Promise<Array<[string, number, number]>>")]
    pub fn seek_to_time(&self, env: Env, time_ms: f64) -> napi::Result<Raw> {
        let (session, client) = (self.session.clone(), self.client.clone());
        promise(
            &env,
            async move { session.seek_to_time(&client, time_ms as i64).await },
            |env, moved| {
                let r = (|| {
                    let arr = js::array(env, moved.len())?;
                    for (i, (t, p, o)) in moved.into_iter().enumerate() {
                        let tr = js::array(env, 3)?;
                        js::set_element(env, tr, 0, js::string(env, &t)?)?;
                        js::set_element(env, tr, 1, js::int32(env, p)?)?;
                        js::set_element(env, tr, 2, js::double(env, o as f64)?)?;
                        js::set_element(env, arr, i as u32, tr)?;
                    }
                    Ok::<_, napi::Error>(arr)
                })();
                r.map_err(|e| internal(e.to_string()))
            },
        )
    }

    /// Assigned [topic, partition] pairs.
    #[napi(ts_return_type = "Array<[string, number]>")]
    pub fn assignment(&self, env: Env) -> napi::Result<Raw> {
        let a = guard(&env, || self.consumer().assignment())?;
        let raw = env.raw();
        let arr = js::array(raw, a.len())?;
        for (i, (t, p)) in a.into_iter().enumerate() {
            let pair = js::array(raw, 2)?;
            js::set_element(raw, pair, 0, js::string(raw, &t)?)?;
            js::set_element(raw, pair, 1, js::int32(raw, p)?)?;
            js::set_element(raw, arr, i as u32, pair)?;
        }
        Ok(Raw(arr))
    }

    /// The run loop's step (the session's `next_handling`: before the first one it
    /// acknowledges the previous record per the ack mode and rewinds to records fetched but
    /// not handed out): a Promise of the next record to hand to the handler, or null (nothing
    /// yet, or it went to the DLQ undecodable).
    #[napi(ts_return_type = "Promise<NativeHandling | null>")]
    pub fn next_handling(&self, env: Env, timeout_ms: f64) -> napi::Result<Raw> {
        let session = self.session.clone();
        let consumer = self.consumer().clone();
        let t = ms(timeout_ms).min(Duration::from_millis(SLICE_MS));
        promise(
            &env,
            async move {
                let mut skip = kpipe::avro::Skip;
                session.next_handling(&mut skip, t).await
            },
            move |env, h| match h {
                None => js::null(env).map_err(|e| internal(e.to_string())),
                Some(h) => {
                    let msg = h.message.clone();
                    let nh = NativeHandling { h: Arc::new(Mutex::new(Some(h))), msg, consumer };
                    unsafe {
                        <NativeHandling as napi::bindgen_prelude::ToNapiValue>::to_napi_value(
                            env, nh,
                        )
                    }
                    .map_err(|e| internal(e.to_string()))
                }
            },
        )
    }

    /// The handler succeeded: the record counts as handled.
    #[napi]
    pub fn complete(&self, env: Env, h: &NativeHandling) -> napi::Result<()> {
        guard(&env, || match lock(&h.h).as_ref() {
            Some(hh) => self.consumer().complete(hh),
            None => Ok(()),
        })
    }

    /// The handler failed with `message`: the core decides. A Promise of the milliseconds to
    /// wait before calling the handler again, or -1 once the record went to the DLQ.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn fail(&self, env: Env, h: &NativeHandling, message: String) -> napi::Result<Raw> {
        let taken = lock(&h.h).take();
        let slot = h.h.clone();
        let inner = self.consumer().clone();
        promise(
            &env,
            async move {
                let Some(mut hh) = taken else { return Err(internal("record already handled")) };
                let r = inner.fail(&mut hh, &kpipe::Error::handler(message)).await;
                *lock(&slot) = Some(hh);
                Ok(match r? {
                    kpipe::Outcome::Retry { after, .. } => after.as_millis() as f64,
                    kpipe::Outcome::DeadLettered => -1.0,
                })
            },
            |env, n| js::double(env, n).map_err(|e| internal(e.to_string())),
        )
    }

    /// Ends a run (after-handle: commits what was handled and waits for it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn finish_run(&self, env: Env) -> napi::Result<Raw> {
        let inner = self.consumer().clone();
        Self::blocking(&env, move || inner.finish_run())
    }

    /// The session's close: acknowledges the last record handed out (implicit mode), commits
    /// what was handled and leaves the group; idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<Raw> {
        let session = self.session.clone();
        Self::blocking(&env, move || session.close())
    }
}

/// An Avro schema compiled once: encode JS values to an Avro body (no registry header) and
/// decode them back. For checks and tools; producers and consumers do this themselves.
#[napi]
pub struct Schema {
    inner: Arc<kpipe::avro::CompiledSchema>,
}

#[napi]
impl Schema {
    #[napi(constructor)]
    pub fn new(env: Env, schema: String) -> napi::Result<Self> {
        guard(&env, || kpipe::avro::CompiledSchema::parse(&schema))
            .map(|s| Schema { inner: Arc::new(s) })
    }

    /// The full name of a named root type (null otherwise).
    #[napi(getter)]
    pub fn name(&self) -> Option<String> {
        self.inner.name().map(str::to_string)
    }

    /// The Avro body of `value` (SerdeError `serde.encode` naming the field path).
    #[napi]
    pub fn encode(&self, env: Env, value: Raw) -> napi::Result<Buffer> {
        let raw = env.raw();
        guard(&env, || {
            let mut out = Vec::with_capacity(64);
            kpipe::avro::encode(&self.inner, &JsValue::new(raw, value.0), &mut out)?;
            Ok(Buffer::from(out))
        })
    }

    /// JS values from an Avro body written with this schema.
    #[napi(ts_return_type = "unknown")]
    pub fn decode(&self, env: Env, body: Buffer, longs: Option<String>) -> napi::Result<Raw> {
        let raw = env.raw();
        guard(&env, || {
            let mut b = JsBuilder { env: raw, longs: longs_of(longs) };
            kpipe::avro::decode(&self.inner, None, &body, &mut b).map(Raw)
        })
    }

    /// Natural JSON text of an Avro body (the CLI's and other languages' text form).
    #[napi]
    pub fn to_json(&self, env: Env, body: Buffer) -> napi::Result<String> {
        guard(&env, || kpipe::avro::avro_to_json(&self.inner, &body).map(|v| v.to_string()))
    }
}

/// Every core error code (the table the JS error classes are checked against).
#[napi]
pub fn error_codes() -> Vec<String> {
    kpipe::Error::CODES.iter().map(|c| c.to_string()).collect()
}

/// Every core error code with its family (`kpipe::Code::family`), which picks the JS class.
#[napi]
pub fn error_families() -> std::collections::HashMap<String, String> {
    kpipe::Code::ALL.iter().map(|c| (c.as_str().to_string(), c.family().to_string())).collect()
}

#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
