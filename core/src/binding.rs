//! Helpers for bindings whose native values may only be read under an interpreter lock (the
//! Python GIL): serialize a key or value *now*, with the lock held, exactly as `send` would,
//! then send the bytes with the lock released (`Data::Bytes`). Also: warm the schema caches a
//! decode will need, and move a consumer to a point in time. Behaviour only composes what
//! `Client`, `Consumer` and `Offsets` already do.

use std::sync::Arc;
use std::time::Duration;

use crate::avro::ValueSource;
use crate::client::Client;
use crate::consumer::{Consumer, Message};
use crate::error::Error;
use crate::error::Result;
use crate::offsets::Offsets;
use crate::producer::{ClusterProducer, Delivery, DeliveryBatch};
use crate::serdes::{Data, Serde, TopicSerde};

impl Client {
    /// Serializes `data` (the key when `is_key`) for `topic` into `out` (cleared first) with
    /// `serde` (default: [`Client::topic_serde`]) — the same bytes `send` would queue. Returns
    /// false for `Data::Null`. Only a registry lookup awaits (the first time per topic and
    /// schema); the value is read synchronously.
    pub async fn serialize_for<S: ValueSource>(
        &self,
        topic: &str,
        is_key: bool,
        serde: &TopicSerde,
        data: &Data<'_, S>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        let s: &Serde = if is_key { &serde.key } else { &serde.value };
        self.serialize(topic, is_key, s, data, out, &mut None).await
    }

    /// Resolves (and caches) the Avro writer schemas of `topic`'s serializers, so a following
    /// [`serialize_for`](Self::serialize_for) does no I/O.
    pub async fn warm_writers(&self, topic: &str, serde: &TopicSerde) -> Result<()> {
        let Some(codec) = self.codec() else {
            return Ok(());
        };
        for (is_key, s) in [(true, &serde.key), (false, &serde.value)] {
            if let Serde::Avro { schema: Some(text) } = s {
                codec.writer_shared(topic, is_key, text).await?;
            }
        }
        Ok(())
    }

    /// Fetches (and caches) the writer schemas a decode of `msg` with `serde` will need, so the
    /// decode itself does no I/O. Errors are left for the decode to report.
    pub async fn warm_readers(&self, msg: &Message, serde: &TopicSerde) {
        let Some(codec) = self.codec() else { return };
        for (s, payload) in [(&serde.key, &msg.key), (&serde.value, &msg.value)] {
            if let (Serde::Avro { .. }, Some(p)) = (s, payload) {
                if let Ok((id, _)) = crate::avro::split_header(p) {
                    let _ = codec.compiled(id).await;
                }
            }
        }
    }
}

/// A serialized record: key and value bytes (None: no key / a tombstone).
pub type Serialized<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Records queued by [`Client::enqueue_serialized`], awaited with [`PendingDeliveries::wait`].
pub struct PendingDeliveries {
    producer: Option<Arc<ClusterProducer>>,
    topic: Arc<str>,
    batch: DeliveryBatch,
    /// Per record: queued (its report is in `batch`, in order) or the error that kept it out.
    queued: Vec<Result<()>>,
}

impl PendingDeliveries {
    /// One result per record, in order (as `send_many`).
    pub async fn wait(self) -> Vec<Result<Delivery>> {
        let mut reports = self.batch.wait().await.into_iter();
        self.queued
            .into_iter()
            .map(|q| match (q, &self.producer) {
                (Ok(()), Some(p)) => {
                    let o = reports.next().unwrap_or_else(|| {
                        Err(Error::Internal { reason: "no delivery report".into() })
                    });
                    p.delivery_shared(&self.topic, o)
                }
                (Ok(()), None) => Err(Error::Internal { reason: "no producer".into() }),
                (Err(e), _) => Err(e),
            })
            .collect()
    }
}

impl Client {
    /// The queueing half of `send_many` for records already serialized (see
    /// [`serialize_for`](Self::serialize_for)): queues them in order (waiting for room in
    /// librdkafka's queue) and returns without waiting for acknowledgements, so a caller can
    /// serialize the next records meanwhile and keep per-partition order across calls made
    /// one after another. A routing error fails every record.
    pub async fn enqueue_serialized(
        &self,
        topic: &str,
        records: &[Serialized<'_>],
        headers: &[(&str, &[u8])],
        timestamp_ms: Option<i64>,
    ) -> PendingDeliveries {
        let shared: Arc<str> = Arc::from(topic);
        let producer = match self.cluster_for(topic).and_then(|c| self.producer(c)) {
            Ok(p) => p,
            Err(e) => {
                return PendingDeliveries {
                    producer: None,
                    topic: shared,
                    batch: DeliveryBatch::new(),
                    queued: records.iter().map(|_| Err(e.clone())).collect(),
                };
            }
        };
        let mut batch = DeliveryBatch::new();
        batch.reserve(records.len());
        let mut queued = Vec::with_capacity(records.len());
        for (k, v) in records {
            queued.push(producer.enqueue(&mut batch, topic, *k, *v, headers, timestamp_ms).await);
        }
        PendingDeliveries { producer: Some(producer), topic: shared, batch, queued }
    }
}

impl Consumer {
    /// Seeks every assigned partition to the first record with timestamp >= `time_ms` (the
    /// end when none). Returns (topic, partition, offset) per partition moved.
    pub async fn seek_to_time(
        &self,
        client: &Client,
        time_ms: i64,
    ) -> Result<Vec<(String, i32, i64)>> {
        let cluster = self.cluster()?;
        let offsets = Offsets::from_config(client.config(), &cluster)?;
        let assigned = self.assignment()?;
        let mut topics: Vec<&str> = assigned.iter().map(|(t, _)| t.as_str()).collect();
        topics.sort();
        topics.dedup();
        let mut moved = Vec::new();
        for topic in topics {
            for (p, o) in offsets.offsets_for_time(topic, time_ms).await? {
                if assigned.iter().any(|(t, ap)| t == topic && *ap == p) {
                    self.seek(topic, p, o, Duration::from_secs(10))?;
                    moved.push((topic.to_string(), p, o));
                }
            }
        }
        Ok(moved)
    }
}
