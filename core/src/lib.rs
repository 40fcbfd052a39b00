//! kpipe: one Kafka core for every language team.
//!
//! All behaviour lives in this crate; the bindings (Python, Node, Go, PHP) convert values and
//! errors only. See DESIGN.md in the project's shared folder for the architecture.

pub mod admin;
pub mod avro;
pub mod codec;
pub mod compat;
pub mod config;
pub mod consumer;
pub mod error;
pub mod producer;
pub mod registry;
pub mod routing;

pub use admin::ClusterAdmin;
pub use consumer::{ClusterConsumer, Record};
pub use error::{Error, Result};
pub use producer::{ClusterProducer, Delivery};
pub use registry::RegistryClient;
