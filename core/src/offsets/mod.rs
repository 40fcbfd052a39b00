//! Offsets: time-based positions, a group's committed offsets and lag, export/import, resets,
//! reading a topic without a group, and moving a group between clusters (`migrate`).
//!
//! Everything here talks to one cluster through its own rdkafka clients (a group-less
//! `BaseConsumer` for metadata, watermarks and timestamps; a `BaseConsumer` with `group.id` that
//! never subscribes for committed offsets and commits). The blocking librdkafka calls run on
//! tokio's blocking pool, so every public call is `async`.
//!
//! Migration (DESIGN.md, "Offsets and cluster migration"): for each partition, take the group's
//! committed offset `C` in the source, read the timestamp `T` of the record at `C` (the next
//! unconsumed one), and commit in the target the earliest offset whose timestamp is `>= T`.
//! Ties and skew replay; nothing is skipped. See docs/cli.md for the plan's statuses.
//!
//! Files: this one (the types, the `Offsets` handle, client config), `metadata` (topics,
//! watermarks, offsets for a time), `groups` (committed offsets, lag, export/import, reset),
//! `reader` (group-less reads), `checkpoint` (MirrorMaker 2 checkpoint codec), `migrate`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};

mod checkpoint;
mod groups;
mod metadata;
mod migrate;
mod reader;

pub use checkpoint::*;
pub use migrate::*;
pub use reader::*;

/// How long one metadata / offsets request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Parses an RFC 3339 datetime (`2026-01-01T10:00:00Z`, any offset) to epoch milliseconds.
pub fn parse_time(text: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim()).map(|t| t.timestamp_millis()).map_err(|e| {
        Error::InputInvalid {
            what: format!("datetime {text:?}"),
            reason: format!("{e}; expected RFC 3339 like 2026-01-01T10:00:00Z"),
        }
    })
}

/// Epoch milliseconds as RFC 3339 UTC with milliseconds (`2026-01-01T10:00:00.000Z`).
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// One partition's offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOffset {
    /// Topic of the partition.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// `None` in a rollback file: the group had no committed offset there.
    pub offset: Option<i64>,
}

/// A group's committed offsets as JSON (`kpipe offsets export`, rollback files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetsExport {
    /// Name of the cluster the offsets were read from.
    pub cluster: String,
    /// The consumer group.
    pub group: String,
    /// RFC 3339 time of the export.
    pub exported_at: String,
    /// The committed offset of each partition, by topic and partition.
    pub offsets: Vec<PartitionOffset>,
}

/// A partition's committed offset next to its watermarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Topic of the partition.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// `None`: the group has not committed here.
    pub committed: Option<i64>,
    /// The partition's earliest offset (low watermark).
    pub earliest: i64,
    /// Offset after the partition's last record (high watermark).
    pub latest: i64,
    /// `latest - committed` (or `latest - earliest` with no commit).
    pub lag: i64,
}

/// A member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    /// The member id the coordinator gave it.
    pub id: String,
    /// The member's `client.id`.
    pub client_id: String,
    /// The host the member connects from.
    pub host: String,
    /// topic -> partitions, decoded from the consumer protocol assignment when present.
    pub assignment: BTreeMap<String, Vec<i32>>,
}

/// A group as the coordinator reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    /// The consumer group.
    pub group: String,
    /// `Stable`, `Empty`, `Dead` (unknown group), `PreparingRebalance`, ...
    pub state: String,
    /// The group's protocol type (`consumer` for consumer groups; empty for an unknown group).
    pub protocol_type: String,
    /// The active members.
    pub members: Vec<GroupMember>,
}

/// A partition's leader, replicas and ISR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    /// The partition number.
    pub partition: i32,
    /// Broker id of the partition's leader (-1 when it has none).
    pub leader: i32,
    /// Broker ids of its replicas.
    pub replicas: Vec<i32>,
    /// Broker ids of its in-sync replicas.
    pub isr: Vec<i32>,
    /// The partition's earliest offset (low watermark).
    pub earliest: i64,
    /// Offset after the partition's last record (high watermark).
    pub latest: i64,
    /// `latest - earliest` (compacted or transactional topics hold fewer).
    pub messages: i64,
}

/// Where a reset puts a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTo {
    /// Each partition's earliest offset.
    Earliest,
    /// Each partition's end (high watermark): only new records are read.
    Latest,
    /// Epoch milliseconds: the earliest offset whose timestamp is >= it (the end when none).
    Time(i64),
    /// Explicit offsets per partition of each topic: (partition, offset).
    Explicit(Vec<(i32, i64)>),
}

/// One change a reset/import/migration makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffsetChange {
    /// Topic of the partition.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// The group's committed offset before the change; None when it had none.
    pub before: Option<i64>,
    /// The offset committed (or, in a dry run, to be committed).
    pub after: i64,
}

/// Where a topic read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    /// Every partition from its earliest offset.
    Earliest,
    /// Every partition from the earliest offset whose timestamp is >= this (epoch ms).
    Time(i64),
    /// One partition from an offset (only that partition is read).
    Offset {
        /// The partition to read.
        partition: i32,
        /// The offset to start at.
        offset: i64,
    },
}

/// A record read without a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Topic the record was read from.
    pub topic: String,
    /// Partition the record was read from.
    pub partition: i32,
    /// Offset of the record in its partition.
    pub offset: i64,
    /// Epoch milliseconds, when the record has one.
    pub timestamp: Option<i64>,
    /// The raw key; None for a null key.
    pub key: Option<Vec<u8>>,
    /// The raw value; None for a null value.
    pub value: Option<Vec<u8>>,
    /// The headers in record order; None for a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Offsets work against one cluster.
#[derive(Clone)]
pub struct Offsets {
    inner: Arc<Inner>,
}

struct Inner {
    cluster: String,
    bootstrap: String,
    properties: Vec<(String, String)>,
    meta: BaseConsumer,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal { reason: format!("offsets task: {e}") })?
}

impl Offsets {
    /// `properties` pass through to librdkafka (security settings and the like).
    pub fn new(cluster: &str, bootstrap: &str, properties: &[(String, String)]) -> Result<Self> {
        // Producer-only properties make a consumer warn; keep the ones a consumer understands.
        let properties: Vec<(String, String)> = properties
            .iter()
            .filter(|(k, _)| !PRODUCER_ONLY.contains(&k.as_str()))
            .cloned()
            .collect();
        let inner = Inner {
            cluster: cluster.to_string(),
            bootstrap: bootstrap.to_string(),
            meta: make_config(cluster, bootstrap, &properties, None).create().map_err(|e| {
                crate::error::config_error(&format!("clusters.{cluster}.properties"), &e)
            })?,
            properties,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The cluster `name` of `config`.
    pub fn from_config(config: &Config, name: &str) -> Result<Self> {
        let c = config.clusters.get(name).ok_or_else(|| Error::ConfigInvalid {
            path: format!("clusters.{name}"),
            reason: format!(
                "no such cluster (configured: {})",
                config.clusters.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        Self::new(name, &c.bootstrap, &c.rdkafka_properties())
    }

    /// Name of the cluster this handle works on.
    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    /// The cluster's bootstrap servers.
    pub fn bootstrap(&self) -> &str {
        &self.inner.bootstrap
    }

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer> {
        make_config(&self.inner.cluster, &self.inner.bootstrap, &self.inner.properties, Some(group))
            .create()
            .map_err(|e| {
                crate::error::config_error(
                    &format!("clusters.{}.properties", self.inner.cluster),
                    &e,
                )
            })
    }

    fn admin(&self) -> Result<AdminClient<DefaultClientContext>> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.inner.bootstrap);
        for (k, v) in &self.inner.properties {
            if !CONSUMER_ONLY.contains(&k.as_str()) {
                cfg.set(k, v);
            }
        }
        cfg.create().map_err(|e| {
            crate::error::config_error(&format!("clusters.{}.properties", self.inner.cluster), &e)
        })
    }
}

// ---- helpers ---------------------------------------------------------------------------------------

const PRODUCER_ONLY: &[&str] = &[
    "compression.type",
    "compression.codec",
    "linger.ms",
    "queue.buffering.max.ms",
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "delivery.timeout.ms",
    "message.timeout.ms",
    "batch.size",
    "batch.num.messages",
    "retries",
    "message.send.max.retries",
];

const CONSUMER_ONLY: &[&str] =
    &["group.id", "enable.auto.commit", "auto.offset.reset", "isolation.level"];

fn make_config(
    cluster: &str,
    bootstrap: &str,
    properties: &[(String, String)],
    group: Option<&str>,
) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        .set("client.id", format!("kpipe-offsets-{cluster}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("allow.auto.create.topics", "false")
        .set("auto.offset.reset", "earliest")
        .set("log_level", "3");
    // librdkafka needs a group.id for a consumer even when it never joins a group.
    cfg.set("group.id", group.unwrap_or("kpipe-offsets-no-group"));
    for (k, v) in properties {
        cfg.set(k, v);
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trip_and_layout() {
        let cp = Checkpoint {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
            upstream_offset: 10,
            downstream_offset: 7,
            metadata: String::new(),
        };
        let (k, v) = cp.encode();
        assert_eq!(k, [0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(v.len(), 2 + 8 + 8 + 2);
        assert_eq!(Checkpoint::decode(&k, &v).unwrap(), cp);
        assert_eq!(Checkpoint::decode(&k[..3], &v).unwrap_err().code(), "serde.decode");
    }

    #[test]
    fn times_parse_and_format() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T01:00:01+01:00").unwrap(), 1000);
        assert_eq!(parse_time("yesterday").unwrap_err().code(), "input.invalid");
        assert_eq!(format_time(1500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn assignment_decodes() {
        let mut b = vec![0, 0, 0, 0, 0, 1];
        put_str(&mut b, "t");
        b.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5]);
        b.extend_from_slice(&[0, 0, 0, 0]);
        let a = decode_assignment(&b);
        assert_eq!(a.get("t"), Some(&vec![0, 5]));
        assert!(decode_assignment(&[1]).is_empty());
    }
}
