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
            match s {
                Serde::Avro { schema: Some(text), .. } => {
                    codec.writer_shared(topic, is_key, text).await?;
                }
                // no schema: the subject's latest (`schemas.use_latest`)
                Serde::Avro { schema: None, .. } => {
                    codec.writer(topic, is_key, None).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Fetches (and caches) the writer schemas a decode of `msg` with `serde` will need, so the
    /// decode itself does no I/O. Errors are left for the decode to report.
    pub async fn warm_readers(&self, msg: &Message, serde: &TopicSerde) {
        let Some(codec) = self.codec() else { return };
        for (is_key, s, payload) in
            [(true, &serde.key, &msg.key), (false, &serde.value, &msg.value)]
        {
            if let (Serde::Avro { schema, reader }, Some(p)) = (s, payload) {
                if let Ok((id, _)) = crate::avro::split_header(p) {
                    if let Ok(writer) = codec.compiled(id).await {
                        let schema = schema.as_ref();
                        let _ =
                            codec.read_as(id, &writer, &msg.topic, is_key, schema, *reader).await;
                    }
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
        headers: &[crate::client::Header<'_>],
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

/// A header owned by a binding until it is queued: name and value (None: no value).
pub type OwnedHeader = (String, Option<Vec<u8>>);

/// `headers` borrowed as `send_raw` / `enqueue_serialized` take them.
pub fn header_refs(headers: &[OwnedHeader]) -> Vec<crate::client::Header<'_>> {
    headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect()
}

/// Where one serialized key or value lies in a [`SerializedBatch`] (None: no key / a
/// tombstone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part(Option<(usize, usize)>);

/// The records of one `send_many`, serialized back to back into one buffer (one allocation
/// for the batch instead of two per record) and queued in order by [`enqueue`](Self::enqueue).
/// Bindings that must read native values under a lock fill it with the lock held and queue
/// with it released.
#[derive(Default)]
pub struct SerializedBatch {
    arena: Vec<u8>,
    records: Vec<(Part, Part, Vec<OwnedHeader>, Option<i64>)>,
    /// Per record, in the caller's order: pushed (Ok, in `records`) or the error that kept it
    /// out ([`reject`](Self::reject)), so [`send`](Self::send) answers for every record.
    outcomes: Vec<Result<()>>,
}

impl SerializedBatch {
    /// An empty batch with room for `records` records (of about 128 bytes each).
    pub fn with_capacity(records: usize) -> Self {
        SerializedBatch {
            arena: Vec::with_capacity(records * 128),
            records: Vec::with_capacity(records),
            outcomes: Vec::with_capacity(records),
        }
    }

    /// Copies one serialized key or value (None: none) into the batch.
    pub fn store(&mut self, bytes: Option<&[u8]>) -> Part {
        Part(bytes.map(|b| {
            let start = self.arena.len();
            self.arena.extend_from_slice(b);
            (start, self.arena.len())
        }))
    }

    /// Adds a record whose key and value were [`store`](Self::store)d.
    pub fn push(
        &mut self,
        key: Part,
        value: Part,
        headers: Vec<OwnedHeader>,
        timestamp_ms: Option<i64>,
    ) {
        self.records.push((key, value, headers, timestamp_ms));
        self.outcomes.push(Ok(()));
    }

    /// Counts a record that could not be serialized: it is not sent, and
    /// [`send`](Self::send) gives `error` in its place while the others go out.
    pub fn reject(&mut self, error: Error) {
        self.outcomes.push(Err(error));
    }

    /// The error of the first [`reject`](Self::reject)ed record, if any (for callers that
    /// queue all or nothing).
    pub fn first_rejection(&self) -> Option<&Error> {
        self.outcomes.iter().find_map(|o| o.as_ref().err())
    }

    /// The number of records pushed (rejected ones not counted).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `send_many`: queues the pushed records and waits for them; one result per record in
    /// the caller's order, a rejected record's error in its place.
    pub async fn send(self, client: &Client, topic: &str) -> Vec<Result<Delivery>> {
        let mut sent = wait_all(self.enqueue(client, topic).await).await.into_iter();
        self.outcomes
            .into_iter()
            .map(|o| {
                o.and_then(|()| {
                    sent.next().unwrap_or_else(|| {
                        Err(Error::Internal { reason: "no delivery report".into() })
                    })
                })
            })
            .collect()
    }

    /// Queues every record, in order, for `topic` (see [`Client::enqueue_serialized`]): a run
    /// of records with the same headers and timestamp goes in one call; order holds because
    /// each call has queued its records before the next starts.
    pub async fn enqueue(&self, client: &Client, topic: &str) -> Vec<PendingDeliveries> {
        let at = |p: Part| p.0.map(|(a, b)| &self.arena[a..b]);
        let mut pending = Vec::new();
        let mut i = 0;
        while i < self.records.len() {
            let (_, _, headers, ts) = &self.records[i];
            let mut j = i + 1;
            while j < self.records.len()
                && self.records[j].2 == *headers
                && self.records[j].3 == *ts
            {
                j += 1;
            }
            let run: Vec<Serialized<'_>> =
                self.records[i..j].iter().map(|(k, v, _, _)| (at(*k), at(*v))).collect();
            pending.push(client.enqueue_serialized(topic, &run, &header_refs(headers), *ts).await);
            i = j;
        }
        pending
    }
}

/// Waits for every queued record: one result per record, in queueing order.
pub async fn wait_all(pending: Vec<PendingDeliveries>) -> Vec<Result<Delivery>> {
    let mut all = Vec::new();
    for p in pending {
        all.extend(p.wait().await);
    }
    all
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
