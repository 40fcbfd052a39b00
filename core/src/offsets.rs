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

/// How long one metadata / offsets request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Parses an RFC 3339 datetime (`2026-01-01T10:00:00Z`, any offset) to epoch milliseconds.
pub fn parse_time(text: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim()).map(|t| t.timestamp_millis()).map_err(|e| Error::InputInvalid {
        what: format!("datetime {text:?}"),
        reason: format!("{e}; expected RFC 3339 like 2026-01-01T10:00:00Z"),
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
    pub topic: String,
    pub partition: i32,
    /// `None` in a rollback file: the group had no committed offset there.
    pub offset: Option<i64>,
}

/// A group's committed offsets as JSON (`kpipe offsets export`, rollback files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetsExport {
    pub cluster: String,
    pub group: String,
    /// RFC 3339 time of the export.
    pub exported_at: String,
    pub offsets: Vec<PartitionOffset>,
}

/// A partition's committed offset next to its watermarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// `None`: the group has not committed here.
    pub committed: Option<i64>,
    pub earliest: i64,
    pub latest: i64,
    /// `latest - committed` (or `latest - earliest` with no commit).
    pub lag: i64,
}

/// A member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    pub id: String,
    pub client_id: String,
    pub host: String,
    /// topic -> partitions, decoded from the consumer protocol assignment when present.
    pub assignment: BTreeMap<String, Vec<i32>>,
}

/// A group as the coordinator reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    pub group: String,
    /// `Stable`, `Empty`, `Dead` (unknown group), `PreparingRebalance`, ...
    pub state: String,
    pub protocol_type: String,
    pub members: Vec<GroupMember>,
}

/// A partition's leader, replicas and ISR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub earliest: i64,
    pub latest: i64,
    /// `latest - earliest` (compacted or transactional topics hold fewer).
    pub messages: i64,
}

/// Where a reset puts a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTo {
    Earliest,
    Latest,
    /// Epoch milliseconds: the earliest offset whose timestamp is >= it (the end when none).
    Time(i64),
    /// Explicit offsets per partition of each topic: (partition, offset).
    Explicit(Vec<(i32, i64)>),
}

/// One change a reset/import/migration makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffsetChange {
    pub topic: String,
    pub partition: i32,
    pub before: Option<i64>,
    pub after: i64,
}

/// Where a topic read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    /// Epoch milliseconds.
    Time(i64),
    /// One partition from an offset (only that partition is read).
    Offset {
        partition: i32,
        offset: i64,
    },
}

/// A record read without a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Epoch milliseconds, when the record has one.
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
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
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Internal { reason: format!("offsets task: {e}") })?
}

impl Offsets {
    /// `properties` pass through to librdkafka (security settings and the like).
    pub fn new(cluster: &str, bootstrap: &str, properties: &[(String, String)]) -> Result<Self> {
        // Producer-only properties make a consumer warn; keep the ones a consumer understands.
        let properties: Vec<(String, String)> =
            properties.iter().filter(|(k, _)| !PRODUCER_ONLY.contains(&k.as_str())).cloned().collect();
        let inner = Inner {
            cluster: cluster.to_string(),
            bootstrap: bootstrap.to_string(),
            meta: make_config(cluster, bootstrap, &properties, None)
                .create()
                .map_err(|e| Error::ConfigInvalid { path: format!("clusters.{cluster}"), reason: e.to_string() })?,
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

    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    pub fn bootstrap(&self) -> &str {
        &self.inner.bootstrap
    }

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer> {
        make_config(&self.inner.cluster, &self.inner.bootstrap, &self.inner.properties, Some(group)).create().map_err(
            |e| Error::ConfigInvalid { path: format!("clusters.{}", self.inner.cluster), reason: e.to_string() },
        )
    }

    fn admin(&self) -> Result<AdminClient<DefaultClientContext>> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.inner.bootstrap);
        for (k, v) in &self.inner.properties {
            if !CONSUMER_ONLY.contains(&k.as_str()) {
                cfg.set(k, v);
            }
        }
        cfg.create().map_err(|e| Error::ConfigInvalid {
            path: format!("clusters.{}", self.inner.cluster),
            reason: e.to_string(),
        })
    }

    // ---- topics ------------------------------------------------------------------------------

    /// Every topic name, internal ones (`__...`) last, each list sorted.
    pub async fn topic_names(&self) -> Result<Vec<String>> {
        let this = self.clone();
        blocking(move || {
            let md = this.inner.meta.fetch_metadata(None, TIMEOUT)?;
            let mut names: Vec<String> = md.topics().iter().map(|t| t.name().to_string()).collect();
            names.sort_by_key(|n| (n.starts_with("__"), n.clone()));
            Ok(names)
        })
        .await
    }

    /// The number of partitions of `topic` (`topic.not_found` when it does not exist).
    pub async fn partition_count(&self, topic: &str) -> Result<i32> {
        Ok(self.partitions(topic).await?.len() as i32)
    }

    /// Partitions with leader, replicas, ISR and watermarks.
    pub async fn partitions(&self, topic: &str) -> Result<Vec<PartitionInfo>> {
        let this = self.clone();
        let topic = topic.to_string();
        blocking(move || {
            let md = this.inner.meta.fetch_metadata(Some(&topic), TIMEOUT)?;
            let t = md.topics().iter().find(|t| t.name() == topic);
            let Some(t) = t.filter(|t| t.error().is_none() && !t.partitions().is_empty()) else {
                return Err(Error::TopicNotFound { topic, cluster: this.inner.cluster.clone() });
            };
            let mut out = Vec::new();
            for p in t.partitions() {
                let (lo, hi) = this.inner.meta.fetch_watermarks(&topic, p.id(), TIMEOUT)?;
                out.push(PartitionInfo {
                    partition: p.id(),
                    leader: p.leader(),
                    replicas: p.replicas().to_vec(),
                    isr: p.isr().to_vec(),
                    earliest: lo,
                    latest: hi,
                    messages: hi - lo,
                });
            }
            out.sort_by_key(|p| p.partition);
            Ok(out)
        })
        .await
    }

    /// The earliest and latest (next to be written) offsets of one partition.
    pub async fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let this = self.clone();
        let topic = topic.to_string();
        blocking(move || Ok(this.inner.meta.fetch_watermarks(&topic, partition, TIMEOUT)?)).await
    }

    /// Broker ids and `host:port`.
    pub async fn brokers(&self) -> Result<Vec<(i32, String)>> {
        let this = self.clone();
        blocking(move || {
            let md = this.inner.meta.fetch_metadata(None, TIMEOUT)?;
            Ok(md.brokers().iter().map(|b| (b.id(), format!("{}:{}", b.host(), b.port()))).collect())
        })
        .await
    }

    /// The topic's configs that are not broker defaults (`all` = every one).
    pub async fn topic_configs(&self, topic: &str, all: bool) -> Result<BTreeMap<String, String>> {
        let admin = self.admin()?;
        let spec = rdkafka::admin::ResourceSpecifier::Topic(topic);
        let res = admin.describe_configs([&spec], &AdminOptions::new().request_timeout(Some(TIMEOUT))).await?;
        let mut out = BTreeMap::new();
        for r in res {
            let r = r.map_err(|code| match code {
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition => {
                    Error::TopicNotFound { topic: topic.to_string(), cluster: self.inner.cluster.clone() }
                }
                c => rdkafka::error::KafkaError::AdminOp(c).into(),
            })?;
            for e in r.entries {
                if (all || !e.is_default) && !e.is_sensitive {
                    out.insert(e.name, e.value.unwrap_or_default());
                }
            }
        }
        Ok(out)
    }

    /// Per partition, the earliest offset whose timestamp is >= `time_ms`; the partition's end
    /// (latest) offset when no record is that new.
    pub async fn offsets_for_time(&self, topic: &str, time_ms: i64) -> Result<Vec<(i32, i64)>> {
        let n = self.partition_count(topic).await?;
        let parts: Vec<i32> = (0..n).collect();
        self.offsets_for_time_in(topic, &parts, time_ms).await
    }

    async fn offsets_for_time_in(&self, topic: &str, partitions: &[i32], time_ms: i64) -> Result<Vec<(i32, i64)>> {
        let this = self.clone();
        let topic = topic.to_string();
        let partitions = partitions.to_vec();
        blocking(move || {
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                tpl.add_partition_offset(&topic, *p, Offset::Offset(time_ms))?;
            }
            let res = this.inner.meta.offsets_for_times(tpl, TIMEOUT)?;
            let mut out = Vec::new();
            for e in res.elements() {
                e.error()?;
                let off = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => this.inner.meta.fetch_watermarks(&topic, e.partition(), TIMEOUT)?.1,
                };
                out.push((e.partition(), off));
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    /// The timestamp of the record at `offset` (`None` when the partition holds no record at or
    /// after it within the read timeout, e.g. `offset` is the end). Reads the first record at
    /// or after `offset` and returns its offset too.
    pub async fn record_at(&self, topic: &str, partition: i32, offset: i64) -> Result<Option<(i64, i64)>> {
        let this = self.clone();
        let topic = topic.to_string();
        blocking(move || {
            let (lo, hi) = this.inner.meta.fetch_watermarks(&topic, partition, TIMEOUT)?;
            let offset = offset.max(lo);
            if offset >= hi {
                return Ok(None);
            }
            let c: BaseConsumer =
                make_config(&this.inner.cluster, &this.inner.bootstrap, &this.inner.properties, None).create()?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))?;
            c.assign(&tpl)?;
            let deadline = Instant::now() + TIMEOUT;
            while Instant::now() < deadline {
                match c.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) if m.partition() == partition && m.offset() >= offset => {
                        let ts = m.timestamp().to_millis().unwrap_or(-1);
                        return Ok(Some((m.offset(), ts)));
                    }
                    Some(Err(e)) => return Err(e.into()),
                    _ => {}
                }
            }
            Err(Error::KafkaTimeout { reason: format!("reading {topic}[{partition}] at offset {offset}") })
        })
        .await
    }

    // ---- groups ------------------------------------------------------------------------------

    /// Every group the cluster knows (name, state), sorted by name.
    pub async fn group_names(&self) -> Result<Vec<(String, String)>> {
        let this = self.clone();
        blocking(move || {
            let list = this.inner.meta.fetch_group_list(None, TIMEOUT)?;
            let mut out: Vec<(String, String)> =
                list.groups().iter().map(|g| (g.name().to_string(), g.state().to_string())).collect();
            out.sort();
            Ok(out)
        })
        .await
    }

    /// The group's state and members (an unknown group is `Dead` with no members).
    pub async fn group_state(&self, group: &str) -> Result<GroupState> {
        let this = self.clone();
        let group = group.to_string();
        blocking(move || {
            let list = this.inner.meta.fetch_group_list(Some(&group), TIMEOUT)?;
            let Some(g) = list.groups().iter().find(|g| g.name() == group) else {
                return Ok(GroupState { group, state: "Dead".into(), protocol_type: String::new(), members: vec![] });
            };
            let members = g
                .members()
                .iter()
                .map(|m| GroupMember {
                    id: m.id().to_string(),
                    client_id: m.client_id().to_string(),
                    host: m.client_host().to_string(),
                    assignment: m.assignment().map(decode_assignment).unwrap_or_default(),
                })
                .collect();
            Ok(GroupState {
                group,
                state: g.state().to_string(),
                protocol_type: g.protocol_type().to_string(),
                members,
            })
        })
        .await
    }

    /// `offsets.group_active` when the group has members here.
    pub async fn ensure_inactive(&self, group: &str) -> Result<()> {
        let st = self.group_state(group).await?;
        if st.members.is_empty() {
            Ok(())
        } else {
            Err(Error::OffsetsGroupActive { group: group.to_string(), cluster: self.inner.cluster.clone() })
        }
    }

    /// The group's committed offsets. `topics`: the topics to look at; `None` = every topic of
    /// the cluster (only partitions with a commit are returned then).
    pub async fn committed(&self, group: &str, topics: Option<&[String]>) -> Result<Vec<PartitionOffset>> {
        let names: Vec<String> = match topics {
            Some(t) => t.to_vec(),
            None => self.topic_names().await?.into_iter().filter(|t| !t.starts_with("__")).collect(),
        };
        let explicit = topics.is_some();
        let this = self.clone();
        let group = group.to_string();
        blocking(move || {
            let md = this.inner.meta.fetch_metadata(None, TIMEOUT)?;
            let mut tpl = TopicPartitionList::new();
            for name in &names {
                match md.topics().iter().find(|t| t.name() == name && !t.partitions().is_empty()) {
                    Some(t) => {
                        for p in t.partitions() {
                            tpl.add_partition(name, p.id());
                        }
                    }
                    None if explicit => {
                        return Err(Error::TopicNotFound { topic: name.clone(), cluster: this.inner.cluster.clone() })
                    }
                    None => {}
                }
            }
            if tpl.count() == 0 {
                return Ok(Vec::new());
            }
            let c = this.group_consumer(&group)?;
            let res = c.committed_offsets(tpl, TIMEOUT)?;
            let mut out = Vec::new();
            for e in res.elements() {
                let offset = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                };
                if offset.is_some() || explicit {
                    out.push(PartitionOffset { topic: e.topic().to_string(), partition: e.partition(), offset });
                }
            }
            out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            Ok(out)
        })
        .await
    }

    /// Committed offsets with watermarks and lag.
    pub async fn lag(&self, group: &str, topics: Option<&[String]>) -> Result<Vec<PartitionLag>> {
        let committed = self.committed(group, topics).await?;
        let mut out = Vec::with_capacity(committed.len());
        for c in committed {
            let (lo, hi) = self.watermarks(&c.topic, c.partition).await?;
            let lag = hi - c.offset.unwrap_or(lo).max(lo);
            out.push(PartitionLag {
                topic: c.topic,
                partition: c.partition,
                committed: c.offset,
                earliest: lo,
                latest: hi,
                lag: lag.max(0),
            });
        }
        Ok(out)
    }

    /// The group's committed offsets as an export document.
    pub async fn export(&self, group: &str, topics: Option<&[String]>) -> Result<OffsetsExport> {
        let offsets = self.committed(group, topics).await?.into_iter().filter(|o| o.offset.is_some()).collect();
        Ok(OffsetsExport {
            cluster: self.inner.cluster.clone(),
            group: group.to_string(),
            exported_at: format_time(chrono::Utc::now().timestamp_millis()),
            offsets,
        })
    }

    /// Commits `offsets` for `group` (refusing while it has members unless `force`). Returns
    /// the changes with the previous committed offsets.
    pub async fn commit(&self, group: &str, offsets: &[(String, i32, i64)], force: bool) -> Result<Vec<OffsetChange>> {
        if !force {
            self.ensure_inactive(group).await?;
        }
        let topics: BTreeSet<String> = offsets.iter().map(|o| o.0.clone()).collect();
        let topics: Vec<String> = topics.into_iter().collect();
        let before: HashMap<(String, i32), Option<i64>> = self
            .committed(group, Some(&topics))
            .await?
            .into_iter()
            .map(|o| ((o.topic, o.partition), o.offset))
            .collect();
        let this = self.clone();
        let group = group.to_string();
        let offsets = offsets.to_vec();
        blocking(move || {
            let mut tpl = TopicPartitionList::new();
            let mut changes = Vec::new();
            for (t, p, o) in &offsets {
                tpl.add_partition_offset(t, *p, Offset::Offset(*o))?;
                changes.push(OffsetChange {
                    topic: t.clone(),
                    partition: *p,
                    before: before.get(&(t.clone(), *p)).copied().flatten(),
                    after: *o,
                });
            }
            if tpl.count() > 0 {
                let c = this.group_consumer(&group)?;
                c.commit(&tpl, CommitMode::Sync).map_err(|e| match e.rdkafka_error_code() {
                    Some(
                        rdkafka::types::RDKafkaErrorCode::UnknownMemberId
                        | rdkafka::types::RDKafkaErrorCode::IllegalGeneration
                        | rdkafka::types::RDKafkaErrorCode::RebalanceInProgress,
                    ) => Error::OffsetsGroupActive { group: group.clone(), cluster: this.inner.cluster.clone() },
                    _ => e.into(),
                })?;
            }
            Ok(changes)
        })
        .await
    }

    /// Commits an export document's offsets here (as `group`, default the document's).
    /// Entries without an offset (a rollback of partitions that had no commit) are skipped
    /// unless every entry lacks one, in which case the group is deleted (it had no offsets).
    pub async fn import(&self, doc: &OffsetsExport, group: Option<&str>, force: bool) -> Result<Vec<OffsetChange>> {
        let group = group.unwrap_or(&doc.group);
        let list: Vec<(String, i32, i64)> =
            doc.offsets.iter().filter_map(|o| o.offset.map(|off| (o.topic.clone(), o.partition, off))).collect();
        if list.is_empty() && !doc.offsets.is_empty() {
            if !force {
                self.ensure_inactive(group).await?;
            }
            self.delete_group(group).await?;
            return Ok(Vec::new());
        }
        self.commit(group, &list, force).await
    }

    /// Deletes the group (all its committed offsets); an unknown group is fine.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let admin = self.admin()?;
        let res = admin.delete_groups(&[group], &AdminOptions::new().request_timeout(Some(TIMEOUT))).await?;
        for r in res {
            match r {
                Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::NonEmptyGroup)) => {
                    return Err(Error::OffsetsGroupActive { group: group.into(), cluster: self.inner.cluster.clone() })
                }
                Err((_, c)) => return Err(rdkafka::error::KafkaError::AdminOp(c).into()),
            }
        }
        Ok(())
    }

    /// The offsets a reset of `topics` to `to` would commit.
    pub async fn reset_plan(&self, topics: &[String], to: &ResetTo) -> Result<Vec<(String, i32, i64)>> {
        let mut out = Vec::new();
        for topic in topics {
            let parts = self.partitions(topic).await?;
            match to {
                ResetTo::Earliest => out.extend(parts.iter().map(|p| (topic.clone(), p.partition, p.earliest))),
                ResetTo::Latest => out.extend(parts.iter().map(|p| (topic.clone(), p.partition, p.latest))),
                ResetTo::Time(ms) => {
                    for (p, o) in self.offsets_for_time(topic, *ms).await? {
                        out.push((topic.clone(), p, o));
                    }
                }
                ResetTo::Explicit(list) => {
                    for (p, o) in list {
                        let Some(info) = parts.iter().find(|x| x.partition == *p) else {
                            return Err(Error::OffsetsOutOfRange {
                                reason: format!("{topic} has no partition {p} (it has {})", parts.len()),
                            });
                        };
                        if *o < info.earliest || *o > info.latest {
                            return Err(Error::OffsetsOutOfRange {
                                reason: format!(
                                    "offset {o} is outside {topic}[{p}] (earliest {}, latest {})",
                                    info.earliest, info.latest
                                ),
                            });
                        }
                        out.push((topic.clone(), *p, *o));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Resets the group on `topics`; with `dry_run` only reports what it would commit.
    pub async fn reset(
        &self,
        group: &str,
        topics: &[String],
        to: &ResetTo,
        force: bool,
        dry_run: bool,
    ) -> Result<Vec<OffsetChange>> {
        if !force && !dry_run {
            self.ensure_inactive(group).await?;
        }
        let plan = self.reset_plan(topics, to).await?;
        if dry_run {
            let before: HashMap<(String, i32), Option<i64>> = self
                .committed(group, Some(topics))
                .await?
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset))
                .collect();
            return Ok(plan
                .into_iter()
                .map(|(t, p, o)| OffsetChange {
                    before: before.get(&(t.clone(), p)).copied().flatten(),
                    topic: t,
                    partition: p,
                    after: o,
                })
                .collect());
        }
        self.commit(group, &plan, force).await
    }

    // ---- reading -----------------------------------------------------------------------------

    /// A group-less reader of `topic` from `start` up to the end offsets as of now.
    pub async fn reader(&self, topic: &str, start: StartAt) -> Result<TopicReader> {
        let parts = self.partitions(topic).await?;
        let mut starts: Vec<(i32, i64, i64)> = Vec::new(); // partition, start, end
        match start {
            StartAt::Earliest => starts.extend(parts.iter().map(|p| (p.partition, p.earliest, p.latest))),
            StartAt::Time(ms) => {
                let offs = self.offsets_for_time(topic, ms).await?;
                for (p, o) in offs {
                    let info = parts.iter().find(|x| x.partition == p);
                    starts.push((p, o, info.map_or(o, |i| i.latest)));
                }
            }
            StartAt::Offset { partition, offset } => {
                let Some(info) = parts.iter().find(|x| x.partition == partition) else {
                    return Err(Error::OffsetsOutOfRange {
                        reason: format!("{topic} has no partition {partition} (it has {})", parts.len()),
                    });
                };
                if offset < info.earliest || offset > info.latest {
                    return Err(Error::OffsetsOutOfRange {
                        reason: format!(
                            "offset {offset} is outside {topic}[{partition}] (earliest {}, latest {})",
                            info.earliest, info.latest
                        ),
                    });
                }
                starts.push((partition, offset, info.latest));
            }
        }
        let consumer: StreamConsumer =
            make_config(&self.inner.cluster, &self.inner.bootstrap, &self.inner.properties, None).create()?;
        let mut tpl = TopicPartitionList::new();
        let mut remaining = HashMap::new();
        for (p, s, e) in starts {
            if s < e {
                tpl.add_partition_offset(topic, p, Offset::Offset(s))?;
                remaining.insert(p, e);
            }
        }
        if tpl.count() > 0 {
            consumer.assign(&tpl)?;
        }
        Ok(TopicReader { consumer, remaining, idle: Duration::from_secs(10) })
    }

    // ---- MirrorMaker 2 checkpoints -----------------------------------------------------------

    /// The latest MirrorMaker 2 checkpoint per (topic, partition) for `group`, read from
    /// `<source_alias>.checkpoints.internal` on this (the target) cluster.
    pub async fn checkpoints(&self, source_alias: &str, group: &str) -> Result<BTreeMap<(String, i32), Checkpoint>> {
        let topic = format!("{source_alias}.checkpoints.internal");
        let mut reader = match self.reader(&topic, StartAt::Earliest).await {
            Ok(r) => r,
            Err(Error::TopicNotFound { .. }) => {
                return Err(Error::OffsetsNoCheckpoint {
                    reason: format!("topic {topic} does not exist on {}", self.inner.cluster),
                })
            }
            Err(e) => return Err(e),
        };
        let mut out = BTreeMap::new();
        while let Some(r) = reader.next().await? {
            let (Some(k), Some(v)) = (r.key.as_deref(), r.value.as_deref()) else { continue };
            let Ok(cp) = Checkpoint::decode(k, v) else { continue };
            if cp.group == group {
                out.insert((cp.topic.clone(), cp.partition), cp);
            }
        }
        Ok(out)
    }
}

/// Reads records from assigned partitions until each reaches the end offset it had when the
/// reader was made.
pub struct TopicReader {
    consumer: StreamConsumer,
    remaining: HashMap<i32, i64>,
    idle: Duration,
}

impl TopicReader {
    /// Stop when no record came for this long (default 10 s; a partition whose last offsets are
    /// transaction markers never "reaches" its end).
    pub fn set_idle_timeout(&mut self, idle: Duration) {
        self.idle = idle;
    }

    /// The next record, or `None` when every partition reached its end.
    pub async fn next(&mut self) -> Result<Option<RawRecord>> {
        loop {
            if self.remaining.is_empty() {
                return Ok(None);
            }
            let m = match tokio::time::timeout(self.idle, self.consumer.recv()).await {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(m)) => m,
            };
            let p = m.partition();
            let Some(end) = self.remaining.get(&p).copied() else { continue };
            if m.offset() + 1 >= end {
                self.remaining.remove(&p);
            }
            if m.offset() >= end {
                continue;
            }
            let headers = m
                .headers()
                .map(|h| h.iter().map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec))).collect())
                .unwrap_or_default();
            return Ok(Some(RawRecord {
                topic: m.topic().to_string(),
                partition: p,
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers,
            }));
        }
    }
}

// ---- MirrorMaker 2 checkpoint records ------------------------------------------------------------

/// One MirrorMaker 2 checkpoint: the group's committed offset upstream and its translation
/// downstream. Binary form (Kafka's `org.apache.kafka.connect.mirror.Checkpoint`): key is the
/// struct (group: STRING, topic: STRING, partition: INT32); value is a version INT16 (0)
/// followed by (upstreamOffset: INT64, offset: INT64, metadata: STRING); STRING is an INT16
/// length and UTF-8 bytes, all integers big-endian. `topic` is the downstream topic name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub upstream_offset: i64,
    pub downstream_offset: i64,
    pub metadata: String,
}

impl Checkpoint {
    /// Encodes the key and value as MirrorMaker 2 writes them.
    pub fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let mut k = Vec::new();
        put_str(&mut k, &self.group);
        put_str(&mut k, &self.topic);
        k.extend_from_slice(&self.partition.to_be_bytes());
        let mut v = Vec::new();
        v.extend_from_slice(&0i16.to_be_bytes());
        v.extend_from_slice(&self.upstream_offset.to_be_bytes());
        v.extend_from_slice(&self.downstream_offset.to_be_bytes());
        put_str(&mut v, &self.metadata);
        (k, v)
    }

    /// Decodes a checkpoint record (`serde.decode` when it is not one).
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
        let mut k = Cursor(key);
        let group = k.string()?;
        let topic = k.string()?;
        let partition = k.i32()?;
        let mut v = Cursor(value);
        let version = v.i16()?;
        if version < 0 {
            return Err(Error::decode(format!("checkpoint version {version}")));
        }
        let upstream_offset = v.i64()?;
        let downstream_offset = v.i64()?;
        let metadata = v.string()?;
        Ok(Checkpoint { group, topic, partition, upstream_offset, downstream_offset, metadata })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len().min(i16::MAX as usize);
    out.extend_from_slice(&(len as i16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len]);
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            return Err(Error::decode("truncated MirrorMaker 2 record"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(String::new());
        }
        let b = self.take(n as usize)?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::decode("MirrorMaker 2 string is not UTF-8"))
    }
}

/// Decodes a consumer-protocol member assignment (version, [topic, [partition]], user data);
/// anything unreadable gives an empty map.
fn decode_assignment(bytes: &[u8]) -> BTreeMap<String, Vec<i32>> {
    let mut c = Cursor(bytes);
    let mut out = BTreeMap::new();
    let mut run = || -> Result<()> {
        c.i16()?;
        let n = c.i32()?;
        for _ in 0..n.max(0) {
            let t = c.string()?;
            let m = c.i32()?;
            let mut ps = Vec::new();
            for _ in 0..m.max(0) {
                ps.push(c.i32()?);
            }
            out.insert(t, ps);
        }
        Ok(())
    };
    let _ = run();
    out
}

// ---- migration -----------------------------------------------------------------------------------

/// How a migration translates offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// By the timestamp of the next unconsumed record (DESIGN.md). The default.
    #[default]
    Timestamp,
    /// By MirrorMaker 2 checkpoints (`<source-alias>.checkpoints.internal` on the target).
    Checkpoint,
}

/// What to migrate.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub group: String,
    /// `None`: every topic the group has committed offsets for in the source.
    pub topics: Option<Vec<String>>,
    pub strategy: Strategy,
    /// The MirrorMaker 2 alias of the source cluster (default: the source cluster's name).
    pub source_alias: Option<String>,
}

/// One partition of a migration plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset in the source (`None`: no commit there).
    pub source_offset: Option<i64>,
    /// Timestamp (ms) of the next unconsumed record in the source.
    pub timestamp: Option<i64>,
    /// The offset to commit in the target (`None`: nothing will be committed).
    pub target_offset: Option<i64>,
    /// The group's current committed offset in the target.
    pub target_previous: Option<i64>,
    /// Records the group will read again (those sharing the boundary timestamp), when known.
    pub replayed: Option<i64>,
    /// `ok`, `caught_up`, `no_commit`, `source_empty`, `source_expired`, `target_expired`,
    /// `target_behind`, `partition_missing`, `checkpoint`, `checkpoint_stale`.
    pub status: String,
    /// Plain words for anything not `ok`.
    pub note: String,
}

/// A topic whose partitions differ between the clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicProblem {
    pub topic: String,
    pub source_partitions: i32,
    /// 0 when the topic does not exist on the target.
    pub target_partitions: i32,
    pub message: String,
}

/// The result of planning a migration; apply it with [`apply_migration`].
#[derive(Debug, Clone, Serialize)]
pub struct MigrationPlan {
    pub group: String,
    pub source: String,
    pub target: String,
    pub strategy: Strategy,
    /// Members the group has on the target now (apply refuses unless forced).
    pub target_members: usize,
    pub problems: Vec<TopicProblem>,
    pub partitions: Vec<PlanEntry>,
}

impl MigrationPlan {
    /// The offsets the plan commits.
    pub fn commits(&self) -> Vec<(String, i32, i64)> {
        self.partitions.iter().filter_map(|e| e.target_offset.map(|o| (e.topic.clone(), e.partition, o))).collect()
    }

    /// The rollback document: the target's offsets before the migration, for every partition
    /// the plan commits (`offset: null` where the group had none).
    pub fn rollback(&self) -> OffsetsExport {
        OffsetsExport {
            cluster: self.target.clone(),
            group: self.group.clone(),
            exported_at: format_time(chrono::Utc::now().timestamp_millis()),
            offsets: self
                .partitions
                .iter()
                .filter(|e| e.target_offset.is_some())
                .map(|e| PartitionOffset { topic: e.topic.clone(), partition: e.partition, offset: e.target_previous })
                .collect(),
        }
    }
}

/// Plans moving `req.group` from `source` to `target`; changes nothing. `progress(done, total)`
/// is called after each partition.
pub async fn plan_migration(
    source: &Offsets,
    target: &Offsets,
    req: &MigrateRequest,
    mut progress: impl FnMut(usize, usize),
) -> Result<MigrationPlan> {
    let committed = source.committed(&req.group, req.topics.as_deref()).await?;
    let mut by_topic: BTreeMap<String, Vec<PartitionOffset>> = BTreeMap::new();
    for c in committed {
        by_topic.entry(c.topic.clone()).or_default().push(c);
    }
    if let Some(t) = &req.topics {
        for name in t {
            by_topic.entry(name.clone()).or_default();
        }
    }
    let checkpoints = match req.strategy {
        Strategy::Checkpoint => {
            let alias = req.source_alias.clone().unwrap_or_else(|| source.cluster().to_string());
            let cps = target.checkpoints(&alias, &req.group).await?;
            if cps.is_empty() {
                return Err(Error::OffsetsNoCheckpoint {
                    reason: format!(
                        "{alias}.checkpoints.internal on {} has none for group {}",
                        target.cluster(),
                        req.group
                    ),
                });
            }
            Some((alias, cps))
        }
        Strategy::Timestamp => None,
    };
    let target_state = target.group_state(&req.group).await?;
    let total: usize = by_topic.values().map(Vec::len).sum();
    let mut done = 0;
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (topic, parts) in by_topic {
        let src_n = source.partition_count(&topic).await?;
        let tgt_n = match target.partition_count(&topic).await {
            Ok(n) => n,
            Err(Error::TopicNotFound { .. }) => 0,
            Err(e) => return Err(e),
        };
        if src_n != tgt_n {
            problems.push(TopicProblem {
                topic: topic.clone(),
                source_partitions: src_n,
                target_partitions: tgt_n,
                message: if tgt_n == 0 {
                    format!("{topic} does not exist on {}", target.cluster())
                } else {
                    format!(
                        "{topic} has {src_n} partitions on {} but {tgt_n} on {}",
                        source.cluster(),
                        target.cluster()
                    )
                },
            });
        }
        let tgt_prev: HashMap<i32, Option<i64>> = if tgt_n > 0 {
            target
                .committed(&req.group, Some(std::slice::from_ref(&topic)))
                .await?
                .into_iter()
                .map(|o| (o.partition, o.offset))
                .collect()
        } else {
            HashMap::new()
        };
        for po in parts {
            let mut e = PlanEntry {
                topic: topic.clone(),
                partition: po.partition,
                source_offset: po.offset,
                timestamp: None,
                target_offset: None,
                target_previous: tgt_prev.get(&po.partition).copied().flatten(),
                replayed: None,
                status: "ok".into(),
                note: String::new(),
            };
            if po.partition >= tgt_n {
                e.status = "partition_missing".into();
                e.note = format!("partition {} does not exist on {}", po.partition, target.cluster());
            } else if let Some((alias, cps)) = &checkpoints {
                plan_by_checkpoint(source, target, alias, cps, &mut e).await?;
            } else {
                plan_by_timestamp(source, target, &mut e).await?;
            }
            entries.push(e);
            done += 1;
            progress(done, total);
        }
    }
    Ok(MigrationPlan {
        group: req.group.clone(),
        source: source.cluster().to_string(),
        target: target.cluster().to_string(),
        strategy: req.strategy,
        target_members: target_state.members.len(),
        problems,
        partitions: entries,
    })
}

async fn plan_by_timestamp(source: &Offsets, target: &Offsets, e: &mut PlanEntry) -> Result<()> {
    let Some(c) = e.source_offset else {
        e.status = "no_commit".into();
        e.note = format!("the group has no committed offset on {}; nothing to move", source.cluster());
        return Ok(());
    };
    let (s_lo, s_hi) = source.watermarks(&e.topic, e.partition).await?;
    let (t_lo, t_hi) = target.watermarks(&e.topic, e.partition).await?;
    if s_lo == s_hi {
        e.target_offset = Some(t_lo);
        if c < s_lo {
            e.status = "source_expired".into();
            e.note = format!(
                "offsets {c}..{s_lo} expired on {} (the partition is empty now); committing the target's earliest offset",
                source.cluster()
            );
        } else {
            e.status = "source_empty".into();
            e.note = format!("the partition is empty on {}; committing the target's earliest offset", source.cluster());
        }
        return Ok(());
    }
    // The boundary: the next unconsumed record, or the last consumed one when caught up.
    let (probe, caught_up) = if c >= s_hi { (s_hi - 1, true) } else { (c.max(s_lo), false) };
    if c < s_lo {
        e.status = "source_expired".into();
        e.note = format!(
            "offsets {c}..{s_lo} expired on {} before the group read them; starting at the earliest record",
            source.cluster()
        );
    }
    let Some((at, ts)) = source.record_at(&e.topic, e.partition, probe).await? else {
        e.status = "source_empty".into();
        e.note = "no readable record at the boundary; committing the target's earliest offset".into();
        e.target_offset = Some(t_lo);
        return Ok(());
    };
    if caught_up {
        e.status = "caught_up".into();
        e.note = "the group read everything; the last record's timestamp is the boundary (it replays)".into();
    }
    e.timestamp = Some(ts);
    let (_, tgt) = target
        .offsets_for_time_in(&e.topic, &[e.partition], ts)
        .await?
        .into_iter()
        .next()
        .unwrap_or((e.partition, t_hi));
    e.target_offset = Some(tgt);
    // Replayed: the source records from the first one at that timestamp up to the commit.
    let first_src = source.offsets_for_time_in(&e.topic, &[e.partition], ts).await?.first().map(|x| x.1);
    let consumed_end = if caught_up { s_hi } else { at };
    if let Some(f) = first_src {
        e.replayed = Some((consumed_end - f).max(0));
    }
    if tgt == t_hi && e.status == "ok" {
        e.status = "target_behind".into();
        e.note = format!("{} holds no record this new yet; committing its end offset", target.cluster());
    } else if tgt == t_lo && t_lo > 0 {
        if let Some((_, t_ts)) = target.record_at(&e.topic, e.partition, t_lo).await? {
            if t_ts > ts {
                e.status = "target_expired".into();
                e.note = format!(
                    "records older than {} expired on {}; the group starts at its earliest",
                    format_time(t_ts),
                    target.cluster()
                );
                e.replayed = None;
            }
        }
    }
    Ok(())
}

async fn plan_by_checkpoint(
    source: &Offsets,
    target: &Offsets,
    alias: &str,
    cps: &BTreeMap<(String, i32), Checkpoint>,
    e: &mut PlanEntry,
) -> Result<()> {
    let renamed = format!("{alias}.{}", e.topic);
    let cp = cps.get(&(e.topic.clone(), e.partition)).or_else(|| cps.get(&(renamed, e.partition)));
    match (cp, e.source_offset) {
        (Some(cp), Some(c)) if cp.upstream_offset <= c => {
            e.target_offset = Some(cp.downstream_offset);
            e.status = "checkpoint".into();
            e.note = if cp.upstream_offset < c {
                format!(
                    "checkpoint at upstream offset {}; {} records replay",
                    cp.upstream_offset,
                    c - cp.upstream_offset
                )
            } else {
                "checkpoint matches the committed offset".into()
            };
            e.replayed = Some(c - cp.upstream_offset);
        }
        (Some(cp), Some(c)) => {
            // The group moved back after the checkpoint: the checkpoint would skip.
            plan_by_timestamp(source, target, e).await?;
            e.status = "checkpoint_stale".into();
            e.note = format!(
                "checkpoint upstream offset {} is past the committed {c}; translated by timestamp",
                cp.upstream_offset
            );
        }
        (None, Some(_)) => {
            plan_by_timestamp(source, target, e).await?;
            e.note = format!("no checkpoint for this partition; translated by timestamp. {}", e.note);
        }
        (_, None) => {
            e.status = "no_commit".into();
            e.note = format!("the group has no committed offset on {}; nothing to move", source.cluster());
        }
    }
    let _ = target;
    Ok(())
}

/// Applies a plan: refuses while the group has members on the target (unless `force`) and
/// when topics differ between the clusters (`offsets.partition_mismatch`, unless `force`, in
/// which case only the matching partitions move). Returns the rollback document (write it
/// before anything else fails) and the changes.
pub async fn apply_migration(
    target: &Offsets,
    plan: &MigrationPlan,
    force: bool,
) -> Result<(OffsetsExport, Vec<OffsetChange>)> {
    check_migration(target, plan, force).await?;
    let rollback = plan.rollback();
    let changes = target.commit(&plan.group, &plan.commits(), force).await?;
    Ok((rollback, changes))
}

/// The refusals of [`apply_migration`] without applying anything: `offsets.group_active` while
/// the group has members on the target, `offsets.partition_mismatch` when the plan reports
/// topics that differ. `force` skips both.
pub async fn check_migration(target: &Offsets, plan: &MigrationPlan, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    target.ensure_inactive(&plan.group).await?;
    if !plan.problems.is_empty() {
        let msgs: Vec<&str> = plan.problems.iter().map(|p| p.message.as_str()).collect();
        return Err(Error::OffsetsPartitionMismatch { reason: msgs.join("; ") });
    }
    Ok(())
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

const CONSUMER_ONLY: &[&str] = &["group.id", "enable.auto.commit", "auto.offset.reset", "isolation.level"];

fn make_config(cluster: &str, bootstrap: &str, properties: &[(String, String)], group: Option<&str>) -> ClientConfig {
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
