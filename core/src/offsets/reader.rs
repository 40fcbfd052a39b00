//! Reading a topic without a group, up to the end offsets of when the reader was made.

use super::*;

impl Offsets {
    /// A group-less reader of `topic` from `start` up to the end offsets as of now.
    pub async fn reader(&self, topic: &str, start: StartAt) -> Result<TopicReader> {
        let parts = self.partitions(topic).await?;
        let mut starts: Vec<(i32, i64, i64)> = Vec::new(); // partition, start, end
        match start {
            StartAt::Earliest => {
                starts.extend(parts.iter().map(|p| (p.partition, p.earliest, p.latest)))
            }
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
                        reason: format!(
                            "{topic} has no partition {partition} (it has {})",
                            parts.len()
                        ),
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
            make_config(&self.inner.cluster, &self.inner.bootstrap, &self.inner.properties, None)
                .create()?;
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
                .map(|h| {
                    h.iter().map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec))).collect()
                })
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
