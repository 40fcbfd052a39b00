//! Producing to one cluster, and the serializers of keys and values.
//!
//! [`ClusterProducer`] wraps one librdkafka producer (idempotent, acks=all unless the config
//! says otherwise). Every delivery failure comes back to the caller as a typed error: a record
//! is either acknowledged (a [`Delivery`]) or its future resolves to an error, never dropped.
//! The routed, serializing entry point is [`crate::Client`].

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::types::RDKafkaErrorCode;

use crate::avro::{Kind, ValueBuilder, ValueSource};
use crate::codec::AvroCodec;
use crate::config::{ClusterConfig, ProducerConfig};
use crate::delivery::report;
pub use crate::delivery::DeliveryBatch;
use crate::error::{Error, Result};
use crate::stats::{KafkaStats, StatsContext};

/// Where a record was written. `cluster` and `topic` are shared (one allocation per cluster
/// and per topic run of a send, not per record); they deref to `&str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub cluster: Arc<str>,
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp (ms since the epoch) as the broker stored it, when known.
    pub timestamp_ms: Option<i64>,
}

/// How a key or a value becomes bytes (and back).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Serde {
    /// Raw bytes, unchanged (a value source must give bytes or text).
    #[default]
    Bytes,
    /// UTF-8 text.
    String,
    /// JSON text of the value (natural JSON; bytes as base64).
    Json,
    /// Confluent-framed Avro through the registry. `schema` is the writer schema text; None
    /// uses the subject's latest schema (`schemas.use_latest`).
    Avro { schema: Option<Arc<str>> },
}

impl Serde {
    pub fn avro(schema: impl Into<Arc<str>>) -> Self {
        Serde::Avro { schema: Some(schema.into()) }
    }
}

/// The serializers of one topic's keys and values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicSerde {
    pub key: Serde,
    pub value: Serde,
}

/// A key or value handed to `send`: nothing, raw bytes, text, or a native value walked
/// through [`ValueSource`] (what the bindings pass). `Bytes` is sent as is whatever the
/// serializer (pre-encoded payloads).
#[derive(Debug, Clone, Copy)]
pub enum Data<'a, S = &'a serde_json::Value> {
    Null,
    Bytes(&'a [u8]),
    Str(&'a str),
    Value(S),
}

impl<S> Data<'_, S> {
    pub fn is_null(&self) -> bool {
        matches!(self, Data::Null)
    }
}

/// Serializes `data` with `serde` into `out` (cleared first). Returns false for `Data::Null`.
pub(crate) async fn serialize<S: ValueSource>(
    codec: Option<&AvroCodec>,
    topic: &str,
    is_key: bool,
    serde: &Serde,
    data: &Data<'_, S>,
    out: &mut Vec<u8>,
) -> Result<bool> {
    out.clear();
    let what = if is_key { "key" } else { "value" };
    match (data, serde) {
        (Data::Null, _) => return Ok(false),
        (Data::Bytes(b), _) => out.extend_from_slice(b),
        (Data::Str(s), Serde::Json) => serde_json::to_writer(&mut *out, s)
            .map_err(|e| Error::Internal { reason: e.to_string() })?,
        (Data::Str(s), _) => out.extend_from_slice(s.as_bytes()),
        (Data::Value(v), Serde::Bytes) => match v.as_bytes() {
            Some(b) => out.extend_from_slice(&b),
            None => return Err(mismatch(what, "bytes", v.kind())),
        },
        (Data::Value(v), Serde::String) => match v.as_str() {
            Some(s) => out.extend_from_slice(s.as_bytes()),
            None => return Err(mismatch(what, "string", v.kind())),
        },
        (Data::Value(v), Serde::Json) => write_json(v, what, out, 0)?,
        (Data::Value(v), Serde::Avro { schema }) => {
            let codec = codec.ok_or_else(|| Error::ConfigInvalid {
                path: "registry".into(),
                reason: "the avro serializer needs a registry: section".into(),
            })?;
            codec.encode(topic, is_key, schema.as_deref(), v, out).await?;
        }
    }
    Ok(true)
}

fn mismatch(path: &str, expected: &str, got: Kind) -> Error {
    Error::SerdeEncode { path: path.into(), expected: expected.into(), got: got.name().into() }
}

/// Natural JSON text of any value source.
fn write_json<S: ValueSource>(v: &S, path: &str, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    use std::io::Write as _;
    if depth > crate::avro::MAX_DEPTH as usize {
        return Err(Error::SerdeEncode {
            path: path.into(),
            expected: "a shallower value".into(),
            got: "too deep".into(),
        });
    }
    let io = |e: std::io::Error| Error::Internal { reason: e.to_string() };
    let str_json = |s: &str, out: &mut Vec<u8>| {
        serde_json::to_writer(out, s).map_err(|e| Error::Internal { reason: e.to_string() })
    };
    match v.kind() {
        Kind::Null => out.extend_from_slice(b"null"),
        Kind::Bool => {
            out.extend_from_slice(if v.as_bool() == Some(true) { b"true" } else { b"false" })
        }
        Kind::Int | Kind::Float => {
            if let Some(i) = v.as_i64().filter(|_| v.kind() == Kind::Int) {
                write!(out, "{i}").map_err(io)?;
            } else {
                match v.as_f64() {
                    Some(f) if f.is_finite() => write!(out, "{f}").map_err(io)?,
                    Some(f) => str_json(
                        if f.is_nan() {
                            "NaN"
                        } else if f > 0.0 {
                            "Infinity"
                        } else {
                            "-Infinity"
                        },
                        out,
                    )?,
                    None => return Err(mismatch(path, "a number", v.kind())),
                }
            }
        }
        Kind::Bytes => {
            use base64::Engine as _;
            let b = v.as_bytes().ok_or_else(|| mismatch(path, "bytes", Kind::Bytes))?;
            str_json(&base64::engine::general_purpose::STANDARD.encode(b), out)?;
        }
        Kind::Seq => {
            out.push(b'[');
            let mut first = true;
            v.for_each_item(&mut |item| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_json(&item, path, out, depth + 1)
            })?;
            out.push(b']');
        }
        Kind::Map => {
            out.push(b'{');
            let mut first = true;
            v.for_each_entry(&mut |k, item| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                str_json(k, out)?;
                out.push(b':');
                write_json(&item, path, out, depth + 1)
            })?;
            out.push(b'}');
        }
        other => match v.as_str() {
            Some(s) => str_json(&s, out)?,
            None => return Err(mismatch(path, "a JSON-representable value", other)),
        },
    }
    Ok(())
}

/// Builds a value from bytes written by `serde` (the consumer side of [`serialize`]).
pub(crate) async fn deserialize<B: ValueBuilder>(
    codec: Option<&AvroCodec>,
    serde: &Serde,
    bytes: &[u8],
    builder: &mut B,
) -> Result<B::Value> {
    match serde {
        Serde::Bytes => builder.bytes(bytes),
        Serde::String => builder.string(
            std::str::from_utf8(bytes).map_err(|e| Error::decode(format!("not UTF-8: {e}")))?,
        ),
        Serde::Json => {
            let v: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| Error::decode(format!("not JSON: {e}")))?;
            json_into(&v, builder, 0)
        }
        Serde::Avro { .. } => {
            let codec = codec.ok_or_else(|| Error::ConfigInvalid {
                path: "registry".into(),
                reason: "the avro deserializer needs a registry: section".into(),
            })?;
            codec.decode(bytes, None, builder).await
        }
    }
}

fn json_into<B: ValueBuilder>(v: &serde_json::Value, b: &mut B, depth: usize) -> Result<B::Value> {
    use serde_json::Value as J;
    if depth > crate::avro::MAX_DEPTH as usize {
        return Err(Error::decode("JSON nested too deeply"));
    }
    match v {
        J::Null => b.null(),
        J::Bool(x) => b.boolean(*x),
        J::Number(n) => match n.as_i64() {
            Some(i) => b.long(i),
            None => b.double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => b.string(s),
        J::Array(items) => {
            let mut arr = b.array_start(items.len())?;
            for item in items {
                let x = json_into(item, b, depth + 1)?;
                b.array_push(&mut arr, x)?;
            }
            b.array_end(arr)
        }
        J::Object(map) => {
            let mut m = b.map_start(map.len())?;
            for (k, item) in map {
                let x = json_into(item, b, depth + 1)?;
                b.map_insert(&mut m, k, x)?;
            }
            b.map_end(m)
        }
    }
}

/// The librdkafka context of a kpipe producer: statistics, logs, and delivery reports into
/// their batch slots.
#[derive(Clone)]
pub struct ProducerCtx {
    stats: StatsContext,
}

impl rdkafka::ClientContext for ProducerCtx {
    fn stats(&self, statistics: rdkafka::Statistics) {
        self.stats.stats(statistics)
    }
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        self.stats.log(level, fac, msg)
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self.stats.error(error, reason)
    }
}

impl ProducerContext for ProducerCtx {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let outcome = match result {
            Ok(m) => Ok((m.partition(), m.offset(), m.timestamp().to_millis())),
            Err((e, m)) => {
                let e = Error::from(e.clone());
                tracing::warn!(cluster = self.stats.cluster(), topic = m.topic(), code = e.code(), error = %e, "delivery failed");
                Err(e)
            }
        };
        // SAFETY: every kpipe record is queued with an opaque from `DeliveryBatch::slot`.
        unsafe { report(opaque, outcome) };
    }
}

/// A producer bound to one cluster.
pub struct ClusterProducer {
    cluster: Arc<str>,
    inner: ThreadedProducer<ProducerCtx>,
    context: StatsContext,
}

impl std::fmt::Debug for ClusterProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterProducer").field("cluster", &self.cluster).finish_non_exhaustive()
    }
}

impl ClusterProducer {
    /// `properties` pass through to librdkafka and override kpipe's defaults.
    pub fn new(cluster: &str, bootstrap: &str, properties: &[(String, String)]) -> Result<Self> {
        let cc = ClusterConfig { bootstrap: bootstrap.to_string(), properties: Default::default() };
        Self::build(cluster, &cc, &ProducerConfig::default(), properties)
    }

    /// From a cluster's config and the `producer:` section; the cluster's `properties` win.
    pub fn from_config(cluster: &str, cc: &ClusterConfig, pc: &ProducerConfig) -> Result<Self> {
        Self::build(cluster, cc, pc, &cc.rdkafka_properties())
    }

    fn build(
        cluster: &str,
        cc: &ClusterConfig,
        pc: &ProducerConfig,
        properties: &[(String, String)],
    ) -> Result<Self> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &cc.bootstrap)
            .set("enable.idempotence", pc.idempotence.to_string())
            .set("acks", &pc.acks.0)
            .set("delivery.timeout.ms", pc.delivery_timeout_ms.to_string())
            .set("linger.ms", pc.linger_ms.to_string())
            .set("client.id", format!("kpipe-{cluster}"));
        for (k, v) in properties {
            cfg.set(k, v);
        }
        let context = StatsContext::new(cluster);
        // named by property, never by value (which may be a secret)
        let inner: ThreadedProducer<ProducerCtx> =
            cfg.create_with_context(ProducerCtx { stats: context.clone() }).map_err(|e| {
                crate::error::config_error(&format!("clusters.{cluster}.properties"), &e)
            })?;
        Ok(Self { cluster: cluster.into(), inner, context })
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The latest librdkafka statistics of this producer (needs `statistics.interval.ms`).
    pub fn statistics(&self) -> Option<KafkaStats> {
        self.context.latest()
    }

    /// Queues one record into `batch` (librdkafka copies key, value and headers). A full local
    /// queue waits (asynchronously) for room; the delivery itself is bounded by
    /// `delivery.timeout.ms`. On error nothing was queued.
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue(
        &self,
        batch: &mut DeliveryBatch,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
        timestamp_ms: Option<i64>,
    ) -> Result<()> {
        let opaque = batch.slot();
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, opaque);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Some(ts) = timestamp_ms {
            record = record.timestamp(ts);
        }
        if !headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(headers.len());
            for (name, v) in headers {
                h = h.insert(Header { key: name, value: Some(*v) });
            }
            record = record.headers(h);
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((e, _)) => {
                    batch.unqueued(opaque);
                    return Err(e.into());
                }
            }
        }
    }

    pub(crate) fn delivery(
        &self,
        topic: &str,
        outcome: Result<(i32, i64, Option<i64>)>,
    ) -> Result<Delivery> {
        self.delivery_shared(&Arc::from(topic), outcome)
    }

    /// [`delivery`](Self::delivery) with the topic name already shared.
    pub(crate) fn delivery_shared(
        &self,
        topic: &Arc<str>,
        outcome: Result<(i32, i64, Option<i64>)>,
    ) -> Result<Delivery> {
        outcome.map(|(partition, offset, timestamp_ms)| Delivery {
            cluster: self.cluster.clone(),
            topic: topic.clone(),
            partition,
            offset,
            timestamp_ms,
        })
    }

    /// Sends one record and waits for its delivery report.
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivery> {
        let mut batch = DeliveryBatch::new();
        self.enqueue(&mut batch, topic, key, value, headers, None).await?;
        let outcome = batch
            .wait()
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::Internal { reason: "no delivery report".into() }));
        self.delivery(topic, outcome)
    }

    /// Waits until every queued record is delivered or failed.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.inner.flush(timeout).map_err(Error::from)
    }

    /// Records queued or in flight.
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }
}
