//! Producing to one cluster. Idempotent with acks=all unless the caller's properties say
//! otherwise; every delivery failure comes back to the caller as a typed error.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

use crate::error::{Error, Result};

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub cluster: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A producer bound to one cluster.
pub struct ClusterProducer {
    cluster: String,
    inner: FutureProducer,
}

impl ClusterProducer {
    /// `properties` pass through to librdkafka and override kpipe's defaults.
    pub fn new(cluster: &str, bootstrap: &str, properties: &[(String, String)]) -> Result<Self> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("client.id", format!("kpipe-{cluster}"));
        for (k, v) in properties {
            cfg.set(k, v);
        }
        let inner: FutureProducer = cfg.create().map_err(|e| Error::ConfigInvalid {
            path: format!("clusters.{cluster}.properties"),
            reason: e.to_string(),
        })?;
        Ok(Self { cluster: cluster.to_string(), inner })
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Sends one record and waits for its delivery report.
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<Delivery> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        if !headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(headers.len());
            for (name, v) in headers {
                h = h.insert(Header { key: name, value: Some(*v) });
            }
            record = record.headers(h);
        }
        // Timeout::Never: a full local queue waits instead of failing; the delivery itself is
        // still bounded by librdkafka's delivery.timeout.ms.
        match self.inner.send(record, rdkafka::util::Timeout::Never).await {
            Ok(d) => Ok(Delivery {
                cluster: self.cluster.clone(),
                topic: topic.to_string(),
                partition: d.partition,
                offset: d.offset,
            }),
            Err((e, _msg)) => Err(e.into()),
        }
    }

    /// Waits until every queued record is delivered or failed.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.inner.flush(timeout).map_err(Error::from)
    }
}
