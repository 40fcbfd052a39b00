//! Consuming: a minimal [`ClusterConsumer`] (one cluster, caller-driven assignment) and the
//! routed group [`Consumer`] with commit tracking, a retrying `run` loop and dead letters.
//!
//! Commit tracking (`after-handle` and `manual`): every record handed out is registered per
//! partition as pending; `ack` marks it done; the committable offset of a partition is one
//! past the longest done prefix of its pending offsets. So an out-of-order completion never
//! commits past a record that is still being handled. `after-handle` commits the committable
//! offsets every `consumer.commit_interval_ms` (asynchronously), on rebalance revoke (in the
//! revoke callback, synchronously, before the partitions go) and on close (synchronously).
//! `manual` commits them only on [`Consumer::commit`] (and on revoke/close). `auto` is
//! librdkafka's auto-commit (at-most-once-ish: offsets of records handed out are committed).
//!
//! Files: this one (records and the group consumer), `cluster` (the one-cluster consumer),
//! `options`, `tracker` (commit tracking), `context` (librdkafka callbacks: rebalance, stats).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode as RdCommit, Consumer as _, ConsumerContext, Rebalance,
    RebalanceProtocol, StreamConsumer,
};
use rdkafka::error::KafkaResult;
use rdkafka::message::{Headers, Message as _};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};

use crate::avro::ValueBuilder;
use crate::client::Client;
use crate::config::CommitMode;
use crate::error::{Error, Result};
use crate::serdes::TopicSerde;
use crate::stats::{KafkaStats, StatsContext};

mod cluster;
mod context;
pub mod handling;
mod options;
mod tracker;

pub use cluster::*;
use context::*;
pub use options::*;
use tracker::*;

/// One consumed record, with its raw key and value (decode with [`Consumer::decode_value`]).
/// `topic` is shared by every record of the topic (it derefs to `&str`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic the record was read from.
    pub topic: Arc<str>,
    /// Partition the record was read from.
    pub partition: i32,
    /// Offset of the record in its partition.
    pub offset: i64,
    /// The record's timestamp in ms since the epoch, when it has one.
    pub timestamp_ms: Option<i64>,
    /// The raw key; None for a null key.
    pub key: Option<Vec<u8>>,
    /// The raw value; None for a null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Name and value of each header, in order; a value is None when the header was sent
    /// with a null value (distinct from an empty one).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// The routed consumer's record type.
pub type Message = Record;

impl Record {
    /// Copies `m` (its topic name already shared as `topic`).
    fn from_borrowed(m: &rdkafka::message::BorrowedMessage<'_>, topic: Arc<str>) -> Self {
        Record {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms: m.timestamp().to_millis(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The value of the first header named `name`: None when there is no such header,
    /// `Some(None)` when its value is null.
    pub fn header(&self, name: &str) -> Option<Option<&[u8]>> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_deref())
    }
}

// ---- the routed group consumer ----------------------------------------------------------------

/// A decoded record as the `run` handler sees it.
#[derive(Debug, Clone)]
pub struct Received<V> {
    /// The record as received, with its raw key and value.
    pub message: Arc<Message>,
    /// The decoded key; None for a null key.
    pub key: Option<V>,
    /// The decoded value; None for a null value.
    pub value: Option<V>,
}

/// Lag of one assigned partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// Topic of the partition.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// Next offset this consumer will read (-1 when not yet known).
    pub position: i64,
    /// Offset after the partition's last record, as the broker reports it.
    pub high_watermark: i64,
    /// `high_watermark - position` (or `high - low` when the position is unknown).
    pub lag: i64,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    cluster: String,
    group: String,
    consumer: StreamConsumer<Ctx>,
    ctx: Ctx,
    pub(crate) mode: CommitMode,
    /// When the next periodic commit is due, in ms since `created`.
    next_commit_ms: AtomicU64,
    created: Instant,
    /// Shared topic names for records that are not tracked (`auto` mode).
    names: Mutex<Vec<Arc<str>>>,
    pid: u32,
}

/// A group consumer on one cluster. Cheap to share behind `Arc`; `close()` is idempotent and
/// every call after it fails with `closed`.
pub struct Consumer {
    // shared with the client's list of its consumers, so `Client::close` can close them
    state: Arc<RwLock<Option<Arc<Inner>>>>,
    stop: Arc<AtomicBool>,
    /// What decoding needs, kept outside `state` so records stay decodable after `close`.
    decoder: Decoder,
}

struct Decoder {
    client: Client,
    serde: Option<TopicSerde>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.state.read().unwrap_or_else(|p| p.into_inner());
        match g.as_ref() {
            Some(i) => f
                .debug_struct("Consumer")
                .field("cluster", &i.cluster)
                .field("group", &i.group)
                .finish(),
            None => f.write_str("Consumer(closed)"),
        }
    }
}

impl Consumer {
    pub(crate) fn new(client: Client, opts: ConsumerOptions) -> Result<Self> {
        let config = client.config();
        let cluster = match (&opts.subscription, &opts.cluster) {
            (Subscription::Pattern(_), None) => {
                return Err(Error::ConfigInvalid {
                    path: "consumer.cluster".into(),
                    reason: "a pattern subscription needs an explicit cluster".into(),
                })
            }
            (Subscription::Pattern(_), Some(c)) => c.clone(),
            (Subscription::Topics(topics), explicit) => {
                if topics.is_empty() {
                    return Err(Error::ConfigInvalid {
                        path: "consumer.topics".into(),
                        reason: "no topics to subscribe to".into(),
                    });
                }
                let mut by_cluster: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                for t in topics {
                    by_cluster.entry(client.cluster_for(t)?.to_string()).or_default().push(t);
                }
                if by_cluster.len() > 1 {
                    let parts: Vec<String> = by_cluster
                        .iter()
                        .map(|(c, ts)| format!("{} -> {c}", ts.join(", ")))
                        .collect();
                    return Err(Error::ConfigInvalid {
                        path: "consumer.topics".into(),
                        reason: format!(
                            "one consumer reads one cluster, but the topics route to several: {}",
                            parts.join("; ")
                        ),
                    });
                }
                let routed = by_cluster.into_keys().next().unwrap_or_default();
                if let Some(c) = explicit.as_ref().filter(|c| **c != routed) {
                    return Err(Error::ConfigInvalid {
                        path: "consumer.cluster".into(),
                        reason: format!("the topics route to {routed}, not {c}"),
                    });
                }
                routed
            }
        };
        let cc = config.clusters.get(&cluster).ok_or_else(|| Error::ConfigInvalid {
            path: "consumer.cluster".into(),
            reason: format!("unknown cluster {cluster:?}"),
        })?;
        let mode = opts.commit.unwrap_or(config.consumer.commit);
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &cc.bootstrap)
            .set("group.id", &opts.group)
            .set("client.id", format!("kpipe-{cluster}"))
            .set("auto.offset.reset", "earliest")
            // librdkafka 2.x waits 1 s before fetching again once its local queue is full; a
            // consumer that drains fast then starves. 10 ms keeps the pipeline full.
            .set("fetch.queue.backoff.ms", "10")
            .set("enable.auto.commit", if mode == CommitMode::Auto { "true" } else { "false" });
        for (k, v) in cc.rdkafka_properties().iter().chain(opts.properties.iter()) {
            cfg.set(k, v);
        }
        let ctx = Ctx {
            stats: StatsContext::new(&cluster),
            tracker: Arc::default(),
            start: opts.start,
            track: mode != CommitMode::Auto,
            started: Arc::default(),
        };
        let consumer: StreamConsumer<Ctx> = cfg.create_with_context(ctx.clone()).map_err(|e| {
            crate::error::config_error(&format!("clusters.{cluster}.properties"), &e)
        })?;
        match &opts.subscription {
            Subscription::Topics(t) => {
                let names: Vec<&str> = t.iter().map(String::as_str).collect();
                consumer.subscribe(&names)?;
            }
            Subscription::Pattern(p) => {
                let p = if p.starts_with('^') { p.clone() } else { format!("^{p}") };
                consumer.subscribe(&[&p])?;
            }
        }
        tracing::info!(cluster = %cluster, group = %opts.group, ?mode, "consumer subscribed");
        let commit_interval_ms = config.consumer.commit_interval_ms;
        let (decode_client, decode_serde) = (client.clone(), opts.serde);
        Ok(Consumer {
            state: Arc::new(RwLock::new(Some(Arc::new(Inner {
                client,
                cluster,
                group: opts.group,
                consumer,
                ctx,
                mode,
                next_commit_ms: AtomicU64::new(commit_interval_ms),
                created: Instant::now(),
                names: Mutex::default(),
                pid: crate::runtime::current_pid(),
            })))),
            stop: Arc::new(AtomicBool::new(false)),
            decoder: Decoder { client: decode_client, serde: decode_serde },
        })
    }

    pub(crate) fn inner(&self) -> Result<Arc<Inner>> {
        let g = self.state.read().unwrap_or_else(|p| p.into_inner());
        let inner = g.as_ref().ok_or_else(|| Error::Closed { what: "consumer".into() })?.clone();
        crate::runtime::check_pid(inner.pid)?;
        Ok(inner)
    }

    /// Name of the cluster the consumer reads from; `closed` after [`close`](Self::close).
    pub fn cluster(&self) -> Result<String> {
        Ok(self.inner()?.cluster.clone())
    }

    /// The consumer group id; `closed` after [`close`](Self::close).
    pub fn group(&self) -> Result<String> {
        Ok(self.inner()?.group.clone())
    }

    /// The next record, or `None` when none arrived within `timeout`. With `after-handle` or
    /// `manual` the record counts as in flight until [`Consumer::ack`].
    pub async fn recv(&self, timeout: Duration) -> Result<Option<Message>> {
        let inner = self.inner()?;
        inner.maybe_commit();
        // A record librdkafka already fetched is taken without arming a timer (the common
        // case under load); only an empty queue waits with the timeout.
        let mut next = std::pin::pin!(inner.consumer.recv());
        let ready =
            next.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        let polled = match ready {
            std::task::Poll::Ready(r) => Ok(r),
            std::task::Poll::Pending => tokio::time::timeout(timeout, next).await,
        };
        let got = match polled {
            Err(_) => return Ok(None),
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(m)) => {
                let topic = if inner.ctx.track {
                    lock(&inner.ctx.tracker).received(m.topic(), m.partition(), m.offset())
                } else {
                    inner.name(m.topic())
                };
                Record::from_borrowed(&m, topic)
            }
        };
        Ok(Some(got))
    }

    /// [`recv`](Self::recv), blocking (any thread that is not running async code).
    pub fn recv_blocking(&self, timeout: Duration) -> Result<Option<Message>> {
        crate::runtime::block_on(self.recv(timeout))?
    }

    /// Same as [`recv`](Self::recv); the name bindings use.
    pub async fn poll(&self, timeout: Duration) -> Result<Option<Message>> {
        self.recv(timeout).await
    }

    /// Marks `msg` handled: its offset becomes committable once every earlier record of its
    /// partition is handled too.
    pub fn ack(&self, msg: &Message) -> Result<()> {
        let g = self.state.read().unwrap_or_else(|p| p.into_inner());
        let inner = g.as_ref().ok_or_else(|| Error::Closed { what: "consumer".into() })?;
        lock(&inner.ctx.tracker).done(&msg.topic, msg.partition, msg.offset);
        Ok(())
    }

    /// Commits every committable offset now and waits for the broker (any mode but `auto`).
    pub fn commit(&self) -> Result<()> {
        self.inner()?.commit_now(RdCommit::Sync)
    }

    fn serde_for(&self, topic: &str) -> TopicSerde {
        self.decoder.serde.clone().unwrap_or_else(|| self.decoder.client.topic_serde(topic))
    }

    /// Decodes the key of `msg` with the topic's deserializer into `builder`'s values (also
    /// after [`close`](Self::close): a record already received stays readable).
    pub async fn decode_key<B: ValueBuilder>(
        &self,
        msg: &Message,
        builder: &mut B,
    ) -> Result<Option<B::Value>> {
        // a record of the parent used in a forked child: its registry client is the parent's
        self.decoder.client.check_process()?;
        let serde = self.serde_for(&msg.topic).key;
        match &msg.key {
            None => Ok(None),
            Some(k) => {
                let codec = self.decoder.client.codec();
                crate::serdes::deserialize(codec, &serde, &msg.topic, true, k, builder)
                    .await
                    .map(Some)
            }
        }
    }

    /// Decodes the value of `msg` with the topic's deserializer into `builder`'s values (also
    /// after [`close`](Self::close)).
    pub async fn decode_value<B: ValueBuilder>(
        &self,
        msg: &Message,
        builder: &mut B,
    ) -> Result<Option<B::Value>> {
        self.decoder.client.check_process()?;
        let serde = self.serde_for(&msg.topic).value;
        match &msg.value {
            None => Ok(None),
            Some(v) => {
                let codec = self.decoder.client.codec();
                crate::serdes::deserialize(codec, &serde, &msg.topic, false, v, builder)
                    .await
                    .map(Some)
            }
        }
    }

    /// Fetches (and caches) the writer schemas the decode of `batch` will need, so decoding it
    /// does no I/O (the serializers are looked up once per run of records of one topic).
    /// Errors are left for the decode to report.
    pub async fn warm_schemas(&self, batch: &[Arc<Message>]) {
        let mut cache: Option<(Arc<str>, TopicSerde)> = None;
        for m in batch {
            let serde = match &cache {
                Some((t, s)) if Arc::ptr_eq(t, &m.topic) || **t == *m.topic => s.clone(),
                _ => {
                    let s = self.serde_for(&m.topic);
                    cache = Some((m.topic.clone(), s.clone()));
                    s
                }
            };
            self.decoder.client.warm_readers(m, &serde).await;
        }
    }

    /// Stops fetching from `partitions` (every assigned one when empty).
    pub fn pause(&self, partitions: &[(&str, i32)]) -> Result<()> {
        let inner = self.inner()?;
        let tpl = inner.partitions(partitions)?;
        inner.consumer.pause(&tpl).map_err(Error::from)
    }

    /// Fetches again from paused `partitions` (every assigned one when empty).
    pub fn resume(&self, partitions: &[(&str, i32)]) -> Result<()> {
        let inner = self.inner()?;
        let tpl = inner.partitions(partitions)?;
        inner.consumer.resume(&tpl).map_err(Error::from)
    }

    /// Moves an assigned partition to `offset`. Records of it still in flight are forgotten by
    /// the commit tracker (their acks no longer count).
    pub fn seek(&self, topic: &str, partition: i32, offset: i64, timeout: Duration) -> Result<()> {
        let inner = self.inner()?;
        inner.consumer.seek(topic, partition, Offset::Offset(offset), timeout)?;
        let mut t = lock(&inner.ctx.tracker);
        t.forget(topic, partition);
        Ok(())
    }

    /// Moves an assigned partition back to `offset` to receive its records again: unlike
    /// [`seek`](Self::seek), records before `offset` still in flight stay tracked (an
    /// unacknowledged one still holds the commit back).
    pub(crate) fn rewind(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        timeout: Duration,
    ) -> Result<()> {
        let inner = self.inner()?;
        inner.consumer.seek(topic, partition, Offset::Offset(offset), timeout)?;
        lock(&inner.ctx.tracker).forget_from(topic, partition, offset);
        Ok(())
    }

    /// Next offset to read per assigned partition (-1 when not yet known).
    pub fn position(&self) -> Result<Vec<(String, i32, i64)>> {
        let inner = self.inner()?;
        let tpl = inner.consumer.position()?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| {
                (
                    e.topic().to_string(),
                    e.partition(),
                    e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(-1),
                )
            })
            .collect())
    }

    /// Assigned partitions.
    pub fn assignment(&self) -> Result<Vec<(String, i32)>> {
        let inner = self.inner()?;
        let tpl = inner.consumer.assignment()?;
        Ok(tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect())
    }

    /// The group's committed offsets of the assigned partitions (blocks up to `timeout`).
    pub fn committed(&self, timeout: Duration) -> Result<Vec<(String, i32, i64)>> {
        let inner = self.inner()?;
        let tpl = inner.consumer.committed(timeout)?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| {
                (
                    e.topic().to_string(),
                    e.partition(),
                    e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(-1),
                )
            })
            .collect())
    }

    /// Lag per assigned partition (queries the brokers' watermarks; blocks up to `timeout` each).
    pub fn lag(&self, timeout: Duration) -> Result<Vec<PartitionLag>> {
        let inner = self.inner()?;
        let positions = self.position()?;
        let mut out = Vec::with_capacity(positions.len());
        for (topic, partition, position) in positions {
            let (low, high) = inner.consumer.fetch_watermarks(&topic, partition, timeout)?;
            let lag = if position >= 0 { (high - position).max(0) } else { (high - low).max(0) };
            out.push(PartitionLag { topic, partition, position, high_watermark: high, lag });
        }
        Ok(out)
    }

    /// The latest librdkafka statistics (needs `statistics.interval.ms`).
    pub fn statistics(&self) -> Result<Option<KafkaStats>> {
        Ok(self.inner()?.ctx.stats.latest())
    }

    /// Commits what was handled and leaves the group. Idempotent; later calls fail `closed`;
    /// a `recv`/`run` blocked in another thread returns within its wait slice (`closed` /
    /// `Ok`).
    pub fn close(&self) -> Result<()> {
        close_state(&self.state, &self.stop)
    }

    /// What the client keeps to close this consumer when it closes (no strong reference).
    pub(crate) fn closer(&self) -> ConsumerCloser {
        ConsumerCloser { state: Arc::downgrade(&self.state), stop: Arc::downgrade(&self.stop) }
    }
}

/// A weak handle on a consumer's state: [`Client::close`] closes its consumers through it.
pub(crate) struct ConsumerCloser {
    state: std::sync::Weak<RwLock<Option<Arc<Inner>>>>,
    stop: std::sync::Weak<AtomicBool>,
}

impl ConsumerCloser {
    /// False once the consumer was dropped or closed.
    pub(crate) fn is_live(&self) -> bool {
        self.state.upgrade().is_some_and(|s| s.read().unwrap_or_else(|p| p.into_inner()).is_some())
    }

    pub(crate) fn close(&self) -> Result<()> {
        match (self.state.upgrade(), self.stop.upgrade()) {
            (Some(state), Some(stop)) => close_state(&state, &stop),
            _ => Ok(()),
        }
    }
}

fn close_state(state: &RwLock<Option<Arc<Inner>>>, stop: &AtomicBool) -> Result<()> {
    let taken = state.write().unwrap_or_else(|p| p.into_inner()).take();
    stop.store(true, Ordering::SeqCst);
    let Some(inner) = taken else { return Ok(()) };
    crate::runtime::check_pid(inner.pid)?;
    let r = if inner.mode == CommitMode::Auto { Ok(()) } else { inner.commit_now(RdCommit::Sync) };
    // Unsubscribing revokes the partitions (the revoke callback flushes commits again,
    // harmlessly); dropping the last Arc closes the librdkafka consumer.
    inner.consumer.unsubscribe();
    tracing::info!(cluster = %inner.cluster, group = %inner.group, "consumer closed");
    r
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let pid = self.state.read().map(|g| g.as_ref().map(|i| i.pid)).unwrap_or(None);
        match pid {
            Some(pid) if pid == crate::runtime::current_pid() => {
                let _ = self.close();
            }
            // created before a fork: destroying the librdkafka handle here would wait for
            // threads that exist only in the parent (a hang at the child's exit); leak it
            Some(_) => {
                if let Some(inner) = self.state.write().unwrap_or_else(|p| p.into_inner()).take() {
                    std::mem::forget(inner);
                }
            }
            None => {}
        }
    }
}

impl Inner {
    fn maybe_commit(&self) {
        if self.mode != CommitMode::AfterHandle {
            return;
        }
        let interval = self.client.config().consumer.commit_interval_ms;
        let now = self.created.elapsed().as_millis() as u64;
        let due = self.next_commit_ms.load(Ordering::Relaxed);
        // one caller claims each due commit
        if now < due
            || self
                .next_commit_ms
                .compare_exchange(due, now + interval, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = self.commit_now(RdCommit::Async) {
            tracing::warn!(code = e.code(), error = %e, "periodic commit failed");
        }
    }

    /// The shared name of `topic` (untracked records).
    fn name(&self, topic: &str) -> Arc<str> {
        let mut names = lock(&self.names);
        if let Some(n) = names.iter().find(|n| ***n == *topic) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(topic);
        names.push(n.clone());
        n
    }

    pub(crate) fn commit_now(&self, mode: RdCommit) -> Result<()> {
        if self.mode == CommitMode::Auto {
            return Ok(());
        }
        let tpl = lock(&self.ctx.tracker).to_commit(None);
        if tpl.count() == 0 {
            return Ok(());
        }
        let _span =
            tracing::debug_span!("commit", cluster = %self.cluster, partitions = tpl.count())
                .entered();
        self.consumer.commit(&tpl, mode)?;
        if matches!(mode, RdCommit::Sync) {
            lock(&self.ctx.tracker).committed(&tpl);
        }
        Ok(())
    }

    fn partitions(&self, partitions: &[(&str, i32)]) -> Result<TopicPartitionList> {
        if partitions.is_empty() {
            return Ok(self.consumer.assignment()?);
        }
        let mut tpl = TopicPartitionList::new();
        for (t, p) in partitions {
            tpl.add_partition(t, *p);
        }
        Ok(tpl)
    }
}
