//! Mirroring one cluster's topics into another, record for record: the same topic name,
//! partition, key, value, headers (null values kept) and timestamp, as MirrorMaker 2 with its
//! identity replication policy leaves them, so `kpipe offsets migrate` can move a group across.
//! kpipe has its own because MirrorMaker 2 (Kafka's connect-mirror) is not always at hand.
//!
//! At-least-once: the source group (`group`) commits a record's offset only after the target
//! cluster acknowledged it, so a mirror stopped at any point resumes without a gap (a record
//! copied but not yet committed is copied again).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::CommitMode;
use crate::error::{Error, Result};
use crate::offsets::Offsets;
use crate::producer::DeliveryBatch;
use crate::{Client, ConsumerOptions, StartAt, Subscription};

/// What to mirror, and when to stop.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// The source cluster (a name of the config's `clusters`).
    pub from: String,
    /// The target cluster.
    pub to: String,
    /// The topics to copy; each is created on the target with the source's partition count
    /// when missing.
    pub topics: Vec<String>,
    /// The source consumer group that remembers how far the mirror got.
    pub group: String,
    /// Stop after this long without a new record (None: run until cancelled).
    pub idle: Option<Duration>,
    /// Stop after this many records (None: no limit).
    pub max: Option<u64>,
    /// Records copied per acknowledged batch (at least 1).
    pub batch: usize,
}

impl MirrorOptions {
    /// Options with a 2 s idle stop, no limit and batches of 500.
    pub fn new(from: &str, to: &str, topics: &[&str], group: &str) -> Self {
        MirrorOptions {
            from: from.into(),
            to: to.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            group: group.into(),
            idle: Some(Duration::from_secs(2)),
            max: None,
            batch: 500,
        }
    }
}

/// Records copied from one source partition in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MirroredPartition {
    /// Topic name (the same on both clusters).
    pub topic: String,
    /// Partition (the same on both clusters).
    pub partition: i32,
    /// Records copied.
    pub records: u64,
    /// Source offset of the first record copied.
    pub first_offset: i64,
    /// Source offset of the last record copied (committed in the source group as +1).
    pub last_offset: i64,
}

/// What a mirror run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MirrorReport {
    /// Records copied in all.
    pub records: u64,
    /// Per partition, sorted by topic and partition.
    pub partitions: Vec<MirroredPartition>,
    /// Topics created on the target.
    pub created: Vec<String>,
}

/// Copies `opts.topics` from `opts.from` to `opts.to` until idle, `max` or an error.
/// A topic that exists on the target with another partition count is
/// `offsets.partition_mismatch` before anything is copied.
pub async fn mirror(client: &Client, opts: &MirrorOptions) -> Result<MirrorReport> {
    if opts.from == opts.to {
        return Err(Error::ConfigInvalid {
            path: "mirror.to".into(),
            reason: format!("source and target are both cluster {:?}", opts.from),
        });
    }
    let mut report = MirrorReport::default();
    let source = Offsets::from_config(client.config(), &opts.from)?;
    let target = Offsets::from_config(client.config(), &opts.to)?;
    for topic in &opts.topics {
        let partitions = source.partition_count(topic).await?;
        match target.partition_count(topic).await {
            Ok(n) if n == partitions => {}
            Ok(n) => {
                return Err(Error::OffsetsPartitionMismatch {
                    reason: format!(
                        "{topic}: {partitions} partitions on {}, {n} on {}",
                        opts.from, opts.to
                    ),
                })
            }
            Err(Error::TopicNotFound { .. }) => {
                // replication -1: the target cluster's default.replication.factor
                crate::ClusterAdmin::new(target.bootstrap())?
                    .ensure_topic(topic, partitions, -1)
                    .await?;
                report.created.push(topic.clone());
            }
            Err(e) => return Err(e),
        }
    }
    let consumer = client.consumer(ConsumerOptions {
        group: opts.group.clone(),
        subscription: Subscription::Topics(opts.topics.clone()),
        start: StartAt::Committed,
        commit: Some(CommitMode::Manual),
        cluster: Some(opts.from.clone()),
        serde: None,
        properties: Vec::new(),
    })?;
    let producer = client.producer(&opts.to)?;
    let batch_size = opts.batch.max(1);
    let mut copied: BTreeMap<(Arc<str>, i32), MirroredPartition> = BTreeMap::new();
    let mut last_record = Instant::now();
    let result: Result<()> = async {
        loop {
            let limit = opts.max.map(|m| m.saturating_sub(report.records) as usize);
            if limit == Some(0) {
                return Ok(());
            }
            let want = limit.map_or(batch_size, |l| l.min(batch_size));
            // fill a batch: wait for the first record, then take what is already fetched
            let mut taken = Vec::with_capacity(want);
            let mut batch = DeliveryBatch::new();
            while taken.len() < want {
                let wait =
                    if taken.is_empty() { Duration::from_millis(200) } else { Duration::ZERO };
                let Some(m) = consumer.recv(wait).await? else { break };
                let headers: Vec<crate::Header<'_>> =
                    m.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
                producer
                    .enqueue_to(
                        &mut batch,
                        &m.topic,
                        Some(m.partition),
                        m.key.as_deref(),
                        m.value.as_deref(),
                        &headers,
                        m.timestamp_ms,
                    )
                    .await?;
                taken.push(m);
            }
            if taken.is_empty() {
                if opts.idle.is_some_and(|idle| last_record.elapsed() >= idle) {
                    return Ok(());
                }
                continue;
            }
            last_record = Instant::now();
            // every record of the batch acknowledged by the target before any is committed
            for outcome in batch.wait().await {
                outcome?;
            }
            for m in &taken {
                consumer.ack(m)?;
                report.records += 1;
                copied
                    .entry((m.topic.clone(), m.partition))
                    .and_modify(|p: &mut MirroredPartition| {
                        p.records += 1;
                        p.last_offset = m.offset;
                    })
                    .or_insert_with(|| MirroredPartition {
                        topic: m.topic.to_string(),
                        partition: m.partition,
                        records: 1,
                        first_offset: m.offset,
                        last_offset: m.offset,
                    });
            }
            consumer.commit()?;
        }
    }
    .await;
    let closed = consumer.close();
    result?;
    closed?;
    report.partitions = copied.into_values().collect(); // sorted by (topic, partition)
    tracing::info!(records = report.records, from = %opts.from, to = %opts.to, "mirrored");
    Ok(report)
}
