//! Cluster administration the core and the CLI need: creating topics.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::Result;

/// Admin operations against one cluster.
pub struct ClusterAdmin {
    inner: AdminClient<DefaultClientContext>,
}

impl ClusterAdmin {
    /// An admin client of the cluster at `bootstrap`; `config.invalid` when librdkafka refuses it.
    pub fn new(bootstrap: &str) -> Result<Self> {
        let inner = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .map_err(|e| crate::error::config_error("bootstrap", &e))?;
        Ok(Self { inner })
    }

    /// Creates `topic`; a topic that already exists counts as success.
    pub async fn ensure_topic(&self, topic: &str, partitions: i32, replication: i32) -> Result<()> {
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = self.inner.create_topics([&new], &opts).await?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => return Err(rdkafka::error::KafkaError::AdminOp(code).into()),
            }
        }
        Ok(())
    }
}
