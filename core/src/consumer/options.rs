//! What a group consumer subscribes to and how it starts: `Subscription`, `StartAt`, `ConsumerOptions`.

use super::*;

/// What to subscribe to.
#[derive(Debug, Clone)]
pub enum Subscription {
    /// Topic names; all must route to one cluster.
    Topics(Vec<String>),
    /// A regex over topic names (librdkafka syntax, `^` is added when missing). Patterns cannot
    /// be routed, so `ConsumerOptions::cluster` names the cluster.
    Pattern(String),
}

/// Where a partition starts when this consumer first gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// The group's committed offset; earliest when the group has none.
    #[default]
    Committed,
    /// The partition's earliest offset.
    Earliest,
    /// The partition's end: only records produced after it is assigned.
    Latest,
    /// This offset in every partition.
    Offset(i64),
    /// The first record with timestamp >= this (ms since the epoch); the end when none.
    Timestamp(i64),
}

/// How to build a [`Consumer`] (see [`Client::consumer`]).
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// The consumer group id.
    pub group: String,
    /// The topics or the pattern to subscribe to.
    pub subscription: Subscription,
    /// Where a partition starts when this consumer first gets it (default: committed).
    pub start: StartAt,
    /// Overrides `consumer.commit`.
    pub commit: Option<CommitMode>,
    /// The cluster, required for a pattern; checked against the routes for names.
    pub cluster: Option<String>,
    /// Deserializers; default: the client's per-topic serde.
    pub serde: Option<TopicSerde>,
    /// Extra librdkafka properties (after the cluster's).
    pub properties: Vec<(String, String)>,
}

impl ConsumerOptions {
    /// Options for group `group` subscribing to `topics`, with every other option at its
    /// default.
    pub fn new(group: impl Into<String>, topics: &[&str]) -> Self {
        ConsumerOptions {
            group: group.into(),
            subscription: Subscription::Topics(topics.iter().map(|t| t.to_string()).collect()),
            start: StartAt::Committed,
            commit: None,
            cluster: None,
            serde: None,
            properties: Vec::new(),
        }
    }
}
