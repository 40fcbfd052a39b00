//! The routed entry point: one [`Client`] per kpipe.yaml. Each topic goes to the cluster of
//! its first matching route; one librdkafka producer per cluster is created on first use and
//! shared by every send (and by consumers' dead letters).
//!
//! Serializers: each topic has a [`TopicSerde`] (key and value), set with
//! [`Client::set_topic_serde`], else from the first matching `serializers:` entry of
//! kpipe.yaml; topics with neither use bytes for both. A call can override it with
//! [`Outgoing::serde`] (and a consumer with `ConsumerOptions::serde`). `Data::Bytes` is always sent unchanged (pre-encoded payloads).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use crate::avro::ValueSource;
use crate::codec::{AvroCodec, WriterSchema};
use crate::config::Config;
use crate::consumer::{Consumer, ConsumerOptions};
use crate::error::{Error, Result};
use crate::producer::{ClusterProducer, Delivery, DeliveryBatch};
use crate::registry::RegistryClient;
use crate::routing::{Router, TopicTable};
use crate::serdes::{serialize, Data, Serde, TopicSerde};
use crate::stats::KafkaStats;

/// One header of a record to send: its name and value; a None value is sent as a null
/// header value (distinct from an empty one), as Kafka allows.
pub type Header<'a> = (&'a str, Option<&'a [u8]>);

/// One record to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a, K = &'a serde_json::Value, V = &'a serde_json::Value> {
    /// Topic to write to; it also decides the cluster (routes) and the serializers.
    pub topic: &'a str,
    /// The key, serialized with the topic's key serializer.
    pub key: Data<'a, K>,
    /// The value, serialized with the topic's value serializer.
    pub value: Data<'a, V>,
    /// Headers, sent in this order; a None value is a null header (distinct from empty).
    pub headers: &'a [Header<'a>],
    /// The record's timestamp in ms since the epoch; None lets the producer set it.
    pub timestamp_ms: Option<i64>,
    /// Overrides the topic's serializers for this record.
    pub serde: Option<&'a TopicSerde>,
}

impl<'a, K, V> Outgoing<'a, K, V> {
    /// A record for `topic` with no headers, no timestamp and the topic's serializers.
    pub fn new(topic: &'a str, key: Data<'a, K>, value: Data<'a, V>) -> Self {
        Outgoing { topic, key, value, headers: &[], timestamp_ms: None, serde: None }
    }
}

/// The caller's schema text and the writer it resolved to.
type CachedWriter = (Arc<str>, WriterSchema);

/// One topic of a `send_many` call: resolved once, shared by its records.
struct SendTopic<'a> {
    name: &'a str,
    /// The name handed out in every `Delivery` of the topic.
    shared: Arc<str>,
    producer: Arc<ClusterProducer>,
    serde: TopicSerde,
    /// [key, value] writers resolved during this call.
    writers: [Option<CachedWriter>; 2],
}

struct Inner {
    pid: u32,
    config: Config,
    router: Router,
    codec: Option<Arc<AvroCodec>>,
    producers: Mutex<HashMap<String, Arc<ClusterProducer>>>,
    serdes: RwLock<HashMap<String, TopicSerde>>,
    /// The `serializers:` of kpipe.yaml, below `serdes`.
    config_serdes: TopicTable<TopicSerde>,
    /// Reused encode buffers (key, value).
    buffers: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Set when `close` begins: no new send is accepted ([`Client::begin_send`]).
    closing: AtomicBool,
    /// Set once accepted sends are queued: every call fails `closed`.
    closed: AtomicBool,
    /// Sends accepted and not finished yet (see [`SendGuard`]); `close` waits for them.
    inflight: AtomicUsize,
    /// The consumers this client created, closed by `close` (weak: a dropped one is gone).
    consumers: Mutex<Vec<crate::consumer::ConsumerCloser>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.pid != crate::runtime::current_pid() {
            // dropped in a forked child: librdkafka producers would join threads (and flush
            // to sockets) of the parent; leak them so the child exits cleanly
            let producers =
                std::mem::take(self.producers.get_mut().unwrap_or_else(|p| p.into_inner()));
            std::mem::forget(producers);
            if let Some(codec) = self.codec.take() {
                std::mem::forget(codec);
            }
        }
    }
}

/// Every live client of the process (weak), for [`flush_all`] at interpreter exit.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// One accepted send: while it lives, `close` (and [`flush_all`]) wait for it before flushing,
/// so a record accepted before `close` is delivered, not failed with `closed`.
pub struct SendGuard {
    inner: Arc<Inner>,
}

impl Drop for SendGuard {
    fn drop(&mut self) {
        self.inner.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for SendGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendGuard")
    }
}

/// Waits until no accepted send of `inner` is left (or `deadline`); the number left.
fn drain(inner: &Inner, deadline: std::time::Instant) -> usize {
    loop {
        let n = inner.inflight.load(Ordering::Acquire);
        if n == 0 || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// At process exit: for every live client, waits for accepted sends and flushes, all within
/// `timeout`. Returns how many records were still not delivered (accepted sends not queued
/// plus records queued in librdkafka), so the caller can report them. Clients created in
/// another process (before a fork) are skipped.
pub fn flush_all(timeout: Duration) -> usize {
    let deadline = std::time::Instant::now() + timeout;
    let live: Vec<Arc<Inner>> =
        LIVE.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
    let mut left = 0;
    for inner in live {
        if inner.pid != crate::runtime::current_pid() || inner.closed.load(Ordering::Acquire) {
            continue;
        }
        left += drain(&inner, deadline);
        let producers: Vec<_> =
            inner.producers.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for p in producers {
            let _ = p.flush(deadline.saturating_duration_since(std::time::Instant::now()));
            left += p.in_flight().max(0) as usize;
        }
    }
    left
}

/// The kpipe client. Cheap to clone; clones share producers, caches and the closed state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("clusters", &self.inner.config.clusters.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; nothing connects until the first send or consumer.
    pub fn from_config(config: Config) -> Result<Self> {
        let router = config.router()?;
        let config_serdes = config.topic_serdes()?;
        let codec = match &config.registry {
            Some(r) => Some(Arc::new(AvroCodec::new(
                RegistryClient::from_config(r)?,
                config.schemas.clone(),
            ))),
            None => None,
        };
        let client = Client {
            inner: Arc::new(Inner {
                pid: crate::runtime::current_pid(),
                config,
                router,
                codec,
                producers: Mutex::default(),
                serdes: RwLock::default(),
                config_serdes,
                buffers: Mutex::default(),
                closing: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                inflight: AtomicUsize::new(0),
                consumers: Mutex::default(),
            }),
        };
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&client.inner));
        Ok(client)
    }

    /// Reads kpipe.yaml (with env overrides) and builds a client.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_config(Config::from_file(path)?)
    }

    /// The config the client was built from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The registry-aware Avro codec (None without a `registry:` section).
    pub fn codec(&self) -> Option<&AvroCodec> {
        self.inner.codec.as_deref()
    }

    /// The cluster `topic` routes to.
    pub fn cluster_for(&self, topic: &str) -> Result<&str> {
        self.inner.router.cluster_for(topic)
    }

    /// Sets the serializers of `topic` (exact name); beats kpipe.yaml's `serializers:`.
    pub fn set_topic_serde(&self, topic: &str, serde: TopicSerde) {
        self.inner
            .serdes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_string(), serde);
    }

    /// The serializers of `topic`: those set with [`set_topic_serde`](Self::set_topic_serde),
    /// else the first matching `serializers:` entry, else bytes/bytes.
    pub fn topic_serde(&self, topic: &str) -> TopicSerde {
        if let Some(s) = self.inner.serdes.read().unwrap_or_else(|p| p.into_inner()).get(topic) {
            return s.clone();
        }
        self.inner.config_serdes.first_match(topic).cloned().unwrap_or_default()
    }

    fn check(&self) -> Result<()> {
        crate::runtime::check_pid(self.inner.pid)?;
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed { what: "client".into() });
        }
        Ok(())
    }

    /// `process.forked` when used in a child forked after this client was created (closed or
    /// not).
    pub(crate) fn check_process(&self) -> Result<()> {
        crate::runtime::check_pid(self.inner.pid)
    }

    /// `closed` once [`close`](Self::close) began, `process.forked` in a forked child: what
    /// every binding call on a client checks first.
    pub fn ensure_open(&self) -> Result<()> {
        self.check()?;
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(Error::Closed { what: "client".into() });
        }
        Ok(())
    }

    /// Counts a send made straight on the core (Rust, the C ABI) for `close` to wait for;
    /// unlike [`begin_send`](Self::begin_send) it is accepted while `close` drains.
    fn track(&self) -> Result<SendGuard> {
        self.check()?;
        self.inner.inflight.fetch_add(1, Ordering::AcqRel);
        Ok(SendGuard { inner: self.inner.clone() })
    }

    /// Accepts one send: `closed` once `close` began; otherwise `close` waits (up to the
    /// delivery timeout) until the returned guard is dropped. Bindings take it when the call
    /// is made (before handing the work to the runtime), so an accepted record is delivered
    /// or reported, never failed by a later `close`.
    pub fn begin_send(&self) -> Result<SendGuard> {
        self.ensure_open()?;
        self.inner.inflight.fetch_add(1, Ordering::AcqRel);
        // re-check: a close that began meanwhile may already have drained
        if self.inner.closed.load(Ordering::Acquire) {
            self.inner.inflight.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Closed { what: "client".into() });
        }
        Ok(SendGuard { inner: self.inner.clone() })
    }

    /// The shared producer of `cluster`, created on first use.
    pub fn producer(&self, cluster: &str) -> Result<Arc<ClusterProducer>> {
        self.check()?;
        let mut map = self.inner.producers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = map.get(cluster) {
            return Ok(p.clone());
        }
        let cc = self.inner.config.clusters.get(cluster).ok_or_else(|| Error::ConfigInvalid {
            path: "clusters".into(),
            reason: format!("unknown cluster {cluster:?}"),
        })?;
        let p = Arc::new(ClusterProducer::from_config(cluster, cc, &self.inner.config.producer)?);
        tracing::info!(cluster, "producer created");
        map.insert(cluster.to_string(), p.clone());
        Ok(p)
    }

    fn producer_for(&self, topic: &str) -> Result<Arc<ClusterProducer>> {
        let cluster = self.cluster_for(topic)?;
        self.producer(cluster)
    }

    /// Sends one record with the topic's serializers and waits for its acknowledgement:
    /// (cluster, topic, partition, offset, timestamp) or a typed error.
    pub async fn send<K: ValueSource, V: ValueSource>(
        &self,
        topic: &str,
        key: Data<'_, K>,
        value: Data<'_, V>,
        headers: &[Header<'_>],
        timestamp_ms: Option<i64>,
    ) -> Result<Delivery> {
        self.send_record(Outgoing { topic, key, value, headers, timestamp_ms, serde: None }).await
    }

    /// Sends one record (see [`Outgoing`]) and waits for its acknowledgement.
    pub async fn send_record<K: ValueSource, V: ValueSource>(
        &self,
        rec: Outgoing<'_, K, V>,
    ) -> Result<Delivery> {
        let _accepted = self.track()?;
        let producer = self.producer_for(rec.topic)?;
        let owned;
        let serde = match rec.serde {
            Some(s) => s,
            None => {
                owned = self.topic_serde(rec.topic);
                &owned
            }
        };
        let mut bufs = self.take_buffers();
        let mut batch = DeliveryBatch::new();
        let queued = self
            .enqueue(&producer, &mut batch, &rec, serde, &mut bufs, &mut Default::default())
            .await;
        self.give_buffers(bufs);
        queued?;
        let outcome = batch
            .wait()
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::Internal { reason: "no delivery report".into() }));
        let r = producer.delivery(rec.topic, outcome);
        if let Err(e) = &r {
            tracing::warn!(topic = rec.topic, code = e.code(), "send failed");
        }
        r
    }

    /// Sends every record (queued back to back, encode buffers reused) and waits for all
    /// acknowledgements; one result per record, in order. A record that fails to serialize or
    /// route does not stop the others. The whole call wakes once, when the last report is in.
    pub async fn send_many<'a, K: ValueSource + 'a, V: ValueSource + 'a>(
        &self,
        records: impl IntoIterator<Item = Outgoing<'a, K, V>>,
    ) -> Result<Vec<Result<Delivery>>> {
        let _accepted = self.track()?;
        let records = records.into_iter();
        let mut bufs = self.take_buffers();
        let mut batch = DeliveryBatch::new();
        // per record: the index of its topic in `topics` (queued: report in the batch), or its error
        let mut pending: Vec<Result<usize>> = Vec::with_capacity(records.size_hint().0);
        batch.reserve(records.size_hint().0);
        // every topic of this call, looked up once: producer, serializers, shared name, writers
        let mut topics: Vec<SendTopic<'a>> = Vec::new();
        let mut by_name: HashMap<&'a str, usize> = HashMap::new();
        let mut current: Option<usize> = None;
        for rec in records {
            let g = match current {
                Some(g) if topics[g].name == rec.topic => g,
                _ => match by_name.get(rec.topic) {
                    Some(&g) => g,
                    None => match self.producer_for(rec.topic) {
                        Ok(producer) => {
                            topics.push(SendTopic {
                                name: rec.topic,
                                shared: Arc::from(rec.topic),
                                producer,
                                serde: self.topic_serde(rec.topic),
                                writers: Default::default(),
                            });
                            by_name.insert(rec.topic, topics.len() - 1);
                            topics.len() - 1
                        }
                        Err(e) => {
                            pending.push(Err(e));
                            continue;
                        }
                    },
                },
            };
            current = Some(g);
            let t = &mut topics[g];
            let serde = rec.serde.unwrap_or(&t.serde);
            let queued =
                self.enqueue(&t.producer, &mut batch, &rec, serde, &mut bufs, &mut t.writers).await;
            pending.push(queued.map(|()| g));
        }
        self.give_buffers(bufs);
        let mut outcomes = batch.wait().await.into_iter();
        let mut out = Vec::with_capacity(pending.len());
        for q in pending {
            out.push(match q {
                Ok(g) => {
                    let o = outcomes.next().unwrap_or_else(|| {
                        Err(Error::Internal { reason: "no delivery report".into() })
                    });
                    topics[g].producer.delivery_shared(&topics[g].shared, o)
                }
                Err(e) => Err(e),
            });
        }
        Ok(out)
    }

    /// Sends raw bytes (no serializer) and waits for the acknowledgement.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
        timestamp_ms: Option<i64>,
    ) -> Result<Delivery> {
        let _accepted = self.track()?;
        let producer = self.producer_for(topic)?;
        let mut batch = DeliveryBatch::new();
        producer.enqueue(&mut batch, topic, key, value, headers, timestamp_ms).await?;
        let outcome = batch
            .wait()
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::Internal { reason: "no delivery report".into() }));
        producer.delivery(topic, outcome)
    }

    async fn enqueue<K: ValueSource, V: ValueSource>(
        &self,
        producer: &ClusterProducer,
        batch: &mut DeliveryBatch,
        rec: &Outgoing<'_, K, V>,
        serde: &TopicSerde,
        bufs: &mut (Vec<u8>, Vec<u8>),
        writers: &mut [Option<CachedWriter>; 2],
    ) -> Result<()> {
        let [key_writer, value_writer] = writers;
        let has_key =
            self.serialize(rec.topic, true, &serde.key, &rec.key, &mut bufs.0, key_writer).await?;
        let has_value = self
            .serialize(rec.topic, false, &serde.value, &rec.value, &mut bufs.1, value_writer)
            .await?;
        tracing::trace!(topic = rec.topic, cluster = producer.cluster(), "send");
        producer
            .enqueue(
                batch,
                rec.topic,
                has_key.then_some(bufs.0.as_slice()),
                has_value.then_some(bufs.1.as_slice()),
                rec.headers,
                rec.timestamp_ms,
            )
            .await
    }

    /// Serializes one key or value as `send` does (`memo`: the writer schema resolved by an
    /// earlier call of the same send, reused by pointer).
    pub(crate) async fn serialize<S: ValueSource>(
        &self,
        topic: &str,
        is_key: bool,
        serde: &Serde,
        data: &Data<'_, S>,
        out: &mut Vec<u8>,
        memo: &mut Option<CachedWriter>,
    ) -> Result<bool> {
        if let (Serde::Avro { schema: Some(text), .. }, Data::Value(v), Some(codec)) =
            (serde, data, self.codec())
        {
            // the writer of this topic and schema text, resolved once per call (by pointer)
            let writer = match memo {
                Some((t, w)) if Arc::ptr_eq(t, text) => w,
                _ => {
                    &memo.insert((text.clone(), codec.writer_shared(topic, is_key, text).await?)).1
                }
            };
            out.clear();
            crate::avro::encode_framed(writer.id, &writer.schema, v, out)?;
            return Ok(true);
        }
        serialize(self.codec(), topic, is_key, serde, data, out).await
    }

    fn take_buffers(&self) -> (Vec<u8>, Vec<u8>) {
        self.inner.buffers.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    fn give_buffers(&self, b: (Vec<u8>, Vec<u8>)) {
        let mut pool = self.inner.buffers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 64 {
            pool.push(b);
        }
    }

    /// Waits (blocking) until every record queued so far is delivered or failed; a
    /// `kafka.timeout` if some are still in flight after `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.check()?;
        let producers: Vec<_> = self
            .inner
            .producers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for p in producers {
            p.flush(timeout)?;
        }
        Ok(())
    }

    /// The latest librdkafka statistics of every producer created so far.
    pub fn statistics(&self) -> Vec<KafkaStats> {
        self.inner
            .producers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(|p| p.statistics())
            .collect()
    }

    /// A group consumer (see [`ConsumerOptions`]).
    pub fn consumer(&self, opts: ConsumerOptions) -> Result<Consumer> {
        self.ensure_open()?;
        let c = Consumer::new(self.clone(), opts)?;
        let mut list = self.inner.consumers.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|c| c.is_live());
        list.push(c.closer());
        Ok(c)
    }

    /// Closes everything this client created, in this order: (1) no new call is accepted
    /// (`closed`); (2) its consumers commit what was handled and leave their groups, which
    /// wakes a `recv`/`run` blocked in another thread; (3) sends accepted before are queued
    /// (waiting for them, up to `producer.delivery_timeout_ms`); (4) producers flush within
    /// the same bound. Idempotent; returns the first error (commit or flush), if any.
    pub fn close(&self) -> Result<()> {
        crate::runtime::check_pid(self.inner.pid)?;
        if self.inner.closing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let timeout = Duration::from_millis(self.inner.config.producer.delivery_timeout_ms);
        let deadline = std::time::Instant::now() + timeout;
        let mut result = Ok(());
        let consumers =
            std::mem::take(&mut *self.inner.consumers.lock().unwrap_or_else(|p| p.into_inner()));
        for c in consumers {
            if let Err(e) = c.close() {
                result = result.and(Err(e));
            }
        }
        let left = drain(&self.inner, deadline);
        self.inner.closed.store(true, Ordering::Release);
        let producers: Vec<_> = self
            .inner
            .producers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, p)| p)
            .collect();
        for p in producers {
            if let Err(e) = p.flush(deadline.saturating_duration_since(std::time::Instant::now())) {
                result = result.and(Err(e));
            }
        }
        if left > 0 {
            tracing::warn!(left, "client closed with sends still being prepared");
            result = result.and(Err(Error::KafkaTimeout {
                reason: format!("{left} accepted sends were not queued before close's deadline"),
            }));
        }
        result
    }

    // ---- blocking façade (any non-async thread; bindings release their lock around it) ----

    /// [`send`](Self::send), blocking.
    pub fn send_blocking<K: ValueSource, V: ValueSource>(
        &self,
        topic: &str,
        key: Data<'_, K>,
        value: Data<'_, V>,
        headers: &[Header<'_>],
        timestamp_ms: Option<i64>,
    ) -> Result<Delivery> {
        crate::runtime::block_on(self.send(topic, key, value, headers, timestamp_ms))?
    }

    /// [`send_many`](Self::send_many), blocking.
    pub fn send_many_blocking<'a, K: ValueSource + 'a, V: ValueSource + 'a>(
        &self,
        records: impl IntoIterator<Item = Outgoing<'a, K, V>>,
    ) -> Result<Vec<Result<Delivery>>> {
        crate::runtime::block_on(self.send_many(records))?
    }
}
