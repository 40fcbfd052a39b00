//! Topic metadata of one cluster: names, partitions, watermarks, configs, offsets for a time, the record at an offset.

use super::*;

impl Offsets {
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
            Ok(md
                .brokers()
                .iter()
                .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
                .collect())
        })
        .await
    }

    /// The topic's configs that are not broker defaults (`all` = every one).
    pub async fn topic_configs(&self, topic: &str, all: bool) -> Result<BTreeMap<String, String>> {
        let admin = self.admin()?;
        let spec = rdkafka::admin::ResourceSpecifier::Topic(topic);
        let res = admin
            .describe_configs([&spec], &AdminOptions::new().request_timeout(Some(TIMEOUT)))
            .await?;
        let mut out = BTreeMap::new();
        for r in res {
            let r = r.map_err(|code| match code {
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition => Error::TopicNotFound {
                    topic: topic.to_string(),
                    cluster: self.inner.cluster.clone(),
                },
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

    pub(super) async fn offsets_for_time_in(
        &self,
        topic: &str,
        partitions: &[i32],
        time_ms: i64,
    ) -> Result<Vec<(i32, i64)>> {
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
    pub async fn record_at(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<Option<(i64, i64)>> {
        let this = self.clone();
        let topic = topic.to_string();
        blocking(move || {
            let (lo, hi) = this.inner.meta.fetch_watermarks(&topic, partition, TIMEOUT)?;
            let offset = offset.max(lo);
            if offset >= hi {
                return Ok(None);
            }
            let c: BaseConsumer = make_config(
                &this.inner.cluster,
                &this.inner.bootstrap,
                &this.inner.properties,
                None,
            )
            .create()?;
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
            Err(Error::KafkaTimeout {
                reason: format!("reading {topic}[{partition}] at offset {offset}"),
            })
        })
        .await
    }
}
