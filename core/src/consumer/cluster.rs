//! The minimal consumer bound to one cluster, positioned by the caller (no group management).

use super::*;

/// A consumer bound to one cluster, positioned by the caller (no group management).
pub struct ClusterConsumer {
    inner: StreamConsumer,
}

impl ClusterConsumer {
    /// A consumer of `bootstrap` with group id `group` (auto-commit off, `auto.offset.reset`
    /// earliest) and extra librdkafka `properties`; a bad property is `config.invalid`.
    pub fn new(bootstrap: &str, group: &str, properties: &[(String, String)]) -> Result<Self> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        for (k, v) in properties {
            cfg.set(k, v);
        }
        let inner: StreamConsumer =
            cfg.create().map_err(|e| crate::error::config_error("consumer", &e))?;
        Ok(Self { inner })
    }

    /// Reads `topic` from the start of each of its partitions, outside group management.
    pub fn assign_from_beginning(&self, topic: &str, timeout: Duration) -> Result<()> {
        let md = self.inner.fetch_metadata(Some(topic), timeout)?;
        let partitions = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if partitions == 0 {
            return Err(Error::KafkaRetriable {
                reason: format!("topic {topic} has no partitions yet"),
            });
        }
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        self.inner.assign(&tpl)?;
        Ok(())
    }

    /// Reads the given partitions from the given offsets, outside group management.
    pub fn assign_at(&self, positions: &[(&str, i32, i64)]) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in positions {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        self.inner.assign(&tpl)?;
        Ok(())
    }

    /// The group's committed offsets of `topic`'s partitions `0..partitions` (-1: none).
    pub fn committed_offsets(
        &self,
        topic: &str,
        partitions: i32,
        timeout: Duration,
    ) -> Result<Vec<i64>> {
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let r = self.inner.committed_offsets(tpl, timeout)?;
        Ok((0..partitions)
            .map(|p| {
                r.find_partition(topic, p)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0)
                    .unwrap_or(-1)
            })
            .collect())
    }

    /// The next record, or `None` when none arrived within `timeout`.
    pub async fn recv(&self, timeout: Duration) -> Result<Option<Record>> {
        match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => Ok(None),
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(m)) => Ok(Some(Record::from_borrowed(&m, Arc::from(m.topic())))),
        }
    }
}
