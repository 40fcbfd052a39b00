//! Consuming from one cluster. Auto-commit is off: offsets are committed by the caller once a
//! record has been handled.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result};

/// One consumed record, with its raw key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// A group consumer bound to one cluster.
pub struct ClusterConsumer {
    inner: StreamConsumer,
}

impl ClusterConsumer {
    pub fn new(bootstrap: &str, group: &str, properties: &[(String, String)]) -> Result<Self> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        for (k, v) in properties {
            cfg.set(k, v);
        }
        let inner: StreamConsumer = cfg
            .create()
            .map_err(|e| Error::ConfigInvalid { path: "consumer".into(), reason: e.to_string() })?;
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
            return Err(Error::KafkaRetriable { reason: format!("topic {topic} has no partitions yet") });
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

    /// The next record, or `None` when none arrived within `timeout`.
    pub async fn recv(&self, timeout: Duration) -> Result<Option<Record>> {
        match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => Ok(None),
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(m)) => Ok(Some(Record {
                topic: m.topic().to_string(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp_ms: m.timestamp().to_millis(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })),
        }
    }
}
