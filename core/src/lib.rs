#![warn(missing_docs)]
//! kpipe: one Kafka core for every language team.
//!
//! All behaviour lives in this crate; the bindings (Python, Node, Go, PHP) convert values and
//! errors only. See DESIGN.md in the project's shared folder for the architecture.

pub mod admin;
pub mod avro;
pub mod binding;
pub mod codec;
pub mod compat;
pub mod config;
pub mod consumer;
mod delivery;
pub mod error;
pub mod offsets;
pub mod options;
pub mod producer;
pub mod registry;
pub mod routing;
pub mod serdes;

pub use admin::ClusterAdmin;
pub use consumer::{ClusterConsumer, Record};
pub use error::{Code, Details, Error, Result};
pub use producer::{ClusterProducer, Delivery};
pub use registry::RegistryClient;
pub mod client;
pub mod dlq;
pub mod mirror;
pub use consumer::handling;
pub mod retry;
pub mod runtime;
pub mod session;
pub mod stats;

pub use client::{Client, Header, Outgoing, SendGuard};
pub use consumer::{
    Consumer, ConsumerOptions, Message, PartitionLag, Received, StartAt, Subscription,
};
pub use handling::{Handling, Outcome};
pub use serdes::{AvroReader, Data, Serde, TopicSerde};
pub use stats::KafkaStats;
