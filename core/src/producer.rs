//! Producing to one cluster.
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

use crate::config::{ClusterConfig, ProducerConfig};
use crate::delivery::report;
pub use crate::delivery::DeliveryBatch;
use crate::error::{Error, Result};
pub use crate::serdes::{Data, Serde, TopicSerde};
use crate::stats::{KafkaStats, StatsContext};

/// Where a record was written. `cluster` and `topic` are shared (one allocation per cluster
/// and per topic run of a send, not per record); they deref to `&str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Name of the cluster the record was written to.
    pub cluster: Arc<str>,
    /// Topic the record was written to.
    pub topic: Arc<str>,
    /// Partition the record was written to.
    pub partition: i32,
    /// Offset the broker gave the record in its partition.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch) as the broker stored it, when known.
    pub timestamp_ms: Option<i64>,
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

    /// Name of the cluster the producer writes to.
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
        headers: &[crate::client::Header<'_>],
        timestamp_ms: Option<i64>,
    ) -> Result<()> {
        self.enqueue_to(batch, topic, None, key, value, headers, timestamp_ms).await
    }

    /// [`enqueue`](Self::enqueue) into `partition` (None: the partitioner picks, by key).
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue_to(
        &self,
        batch: &mut DeliveryBatch,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[crate::client::Header<'_>],
        timestamp_ms: Option<i64>,
    ) -> Result<()> {
        let opaque = batch.slot();
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, opaque);
        if let Some(p) = partition {
            record = record.partition(p);
        }
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
                h = h.insert(Header { key: name, value: *v });
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
        headers: &[crate::client::Header<'_>],
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
