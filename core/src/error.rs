//! The one error type of kpipe. Every binding maps [`Error::code`] to its idiom and keeps
//! [`Error`]'s `Display` text as the message, so the same failure reads the same everywhere.
//! docs/errors.md documents every code; a test checks the table and [`Error::CODES`] agree.

use std::fmt;

/// A kpipe failure. The `code()` string is the stable contract; variants may grow.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config key is missing, unknown or has a bad value. `path` is the key's path.
    #[error("{path}: {reason}")]
    ConfigInvalid { path: String, reason: String },

    /// No route matches the topic.
    #[error("no route matches topic {topic:?}")]
    RouteNoCluster { topic: String },

    /// The registry could not be reached or answered 5xx (after retries).
    #[error("schema registry unavailable: {reason}")]
    RegistryUnavailable { reason: String },

    /// The registry has no such subject, version or schema id.
    #[error("schema registry: not found: {what}")]
    RegistryNotFound { what: String },

    /// The registry refused the credentials (401/403).
    #[error("schema registry: not authorized ({status})")]
    RegistryAuth { status: u16 },

    /// The registry rejected the request (other 4xx).
    #[error("schema registry rejected the request ({status}): {message}")]
    RegistryRejected { status: u16, message: String },

    /// A schema is not valid Avro.
    #[error("invalid schema: {reason}")]
    SchemaInvalid { reason: String },

    /// The registry's compatibility check refused the schema.
    #[error("schema incompatible with subject {subject}: {reason}")]
    SchemaIncompatible { subject: String, reason: String },

    /// The client-side policy check refused the schema; one entry per violation.
    #[error("schema violates policy {policy}: {}", .violations.join("; "))]
    SchemaPolicyViolation { policy: String, violations: Vec<String> },

    /// A value does not fit the schema. `path` names the field (`order.items[3].price`).
    #[error("{path}: expected {expected}, got {got}")]
    SerdeEncode { path: String, expected: String, got: String },

    /// A payload is not valid for its schema.
    #[error("cannot decode: {reason}")]
    SerdeDecode { reason: String },

    /// The payload names a schema id the registry does not have.
    #[error("unknown schema id {id}")]
    SerdeUnknownSchemaId { id: u32 },

    /// The payload does not start with the Confluent wire-format header.
    #[error("not Confluent wire format: {reason}")]
    SerdeBadMagic { reason: String },

    /// A Kafka operation did not finish in time.
    #[error("kafka timeout: {reason}")]
    KafkaTimeout { reason: String },

    /// A Kafka error that may go away on its own (leader change, broker restart).
    #[error("kafka (retriable): {reason}")]
    KafkaRetriable { reason: String },

    /// A Kafka error that will not go away by retrying.
    #[error("kafka: {reason}")]
    KafkaFatal { reason: String },

    /// Authentication or authorization failed against a cluster.
    #[error("kafka authorization: {reason}")]
    KafkaAuth { reason: String },

    /// The consumer group has active members, so its offsets may not be changed.
    #[error("group {group} has active members on {cluster}")]
    OffsetsGroupActive { group: String, cluster: String },

    /// A requested offset or time is outside what the partition holds.
    #[error("{reason}")]
    OffsetsOutOfRange { reason: String },

    /// Topics differ between the clusters of a migration (partition counts, or missing).
    #[error("{reason}")]
    OffsetsPartitionMismatch { reason: String },

    /// `--strategy checkpoint` found no MirrorMaker 2 checkpoint for the group.
    #[error("no MirrorMaker 2 checkpoint: {reason}")]
    OffsetsNoCheckpoint { reason: String },

    /// The topic does not exist on the cluster.
    #[error("topic {topic:?} does not exist on cluster {cluster}")]
    TopicNotFound { topic: String, cluster: String },

    /// Input given to a tool (a datetime, an offset spec, a JSON line, a file) is malformed.
    #[error("{what}: {reason}")]
    InputInvalid { what: String, reason: String },

    /// The handle was closed.
    #[error("{what} is closed")]
    Closed { what: String },

    /// A consumer handler returned an error for a record (after its retries).
    #[error("handler failed: {message}")]
    HandlerFailed { message: String },

    /// kpipe was used in a child process after `fork()`; librdkafka handles and the runtime
    /// belong to the parent.
    #[error("kpipe was initialised in process {parent} and used after fork in process {child}; create clients in the child")]
    ProcessForked { parent: u32, child: u32 },

    /// A bug in kpipe (including a caught panic). Please report it.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl Error {
    /// Every code [`Error::code`] can return, in documentation order.
    pub const CODES: &'static [&'static str] = &[
        "config.invalid",
        "route.no_cluster",
        "registry.unavailable",
        "registry.not_found",
        "registry.auth",
        "registry.rejected",
        "schema.invalid",
        "schema.incompatible",
        "schema.policy_violation",
        "serde.encode",
        "serde.decode",
        "serde.unknown_schema_id",
        "serde.bad_magic",
        "kafka.timeout",
        "kafka.retriable",
        "kafka.fatal",
        "kafka.auth",
        "offsets.group_active",
        "offsets.out_of_range",
        "offsets.partition_mismatch",
        "offsets.no_checkpoint",
        "topic.not_found",
        "input.invalid",
        "closed",
        "handler.failed",
        "process.forked",
        "internal",
    ];

    /// The stable code, identical in every binding.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ConfigInvalid { .. } => "config.invalid",
            Error::RouteNoCluster { .. } => "route.no_cluster",
            Error::RegistryUnavailable { .. } => "registry.unavailable",
            Error::RegistryNotFound { .. } => "registry.not_found",
            Error::RegistryAuth { .. } => "registry.auth",
            Error::RegistryRejected { .. } => "registry.rejected",
            Error::SchemaInvalid { .. } => "schema.invalid",
            Error::SchemaIncompatible { .. } => "schema.incompatible",
            Error::SchemaPolicyViolation { .. } => "schema.policy_violation",
            Error::SerdeEncode { .. } => "serde.encode",
            Error::SerdeDecode { .. } => "serde.decode",
            Error::SerdeUnknownSchemaId { .. } => "serde.unknown_schema_id",
            Error::SerdeBadMagic { .. } => "serde.bad_magic",
            Error::KafkaTimeout { .. } => "kafka.timeout",
            Error::KafkaRetriable { .. } => "kafka.retriable",
            Error::KafkaFatal { .. } => "kafka.fatal",
            Error::KafkaAuth { .. } => "kafka.auth",
            Error::OffsetsGroupActive { .. } => "offsets.group_active",
            Error::OffsetsOutOfRange { .. } => "offsets.out_of_range",
            Error::OffsetsPartitionMismatch { .. } => "offsets.partition_mismatch",
            Error::OffsetsNoCheckpoint { .. } => "offsets.no_checkpoint",
            Error::TopicNotFound { .. } => "topic.not_found",
            Error::InputInvalid { .. } => "input.invalid",
            Error::Closed { .. } => "closed",
            Error::HandlerFailed { .. } => "handler.failed",
            Error::ProcessForked { .. } => "process.forked",
            Error::Internal { .. } => "internal",
        }
    }

    /// True when the same call may succeed later without any change by the caller.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Error::RegistryUnavailable { .. } | Error::KafkaTimeout { .. } | Error::KafkaRetriable { .. }
        )
    }

    /// True when the handle that returned it cannot be used any more.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::KafkaFatal { .. } | Error::Closed { .. } | Error::ProcessForked { .. } | Error::Internal { .. }
        )
    }

    /// A handler failure, for consumer handlers to return.
    pub fn handler(message: impl fmt::Display) -> Self {
        Error::HandlerFailed { message: message.to_string() }
    }

    pub(crate) fn decode(reason: impl fmt::Display) -> Self {
        Error::SerdeDecode { reason: reason.to_string() }
    }
}

/// A librdkafka configuration error as `config.invalid` under `path`, naming the property but
/// never its value (rdkafka's own Display text ends with the value, which may be a secret;
/// librdkafka's description may quote it too).
pub(crate) fn config_error(path: &str, err: &rdkafka::error::KafkaError) -> Error {
    match err {
        rdkafka::error::KafkaError::ClientConfig(_, desc, key, value) => {
            let desc = if value.is_empty() { desc.clone() } else { desc.replace(value.as_str(), "***") };
            Error::ConfigInvalid { path: format!("{path}.{key}"), reason: desc }
        }
        other => Error::ConfigInvalid { path: path.into(), reason: other.to_string() },
    }
}

/// Maps librdkafka's errors to kpipe codes by their nature.
impl From<rdkafka::error::KafkaError> for Error {
    fn from(err: rdkafka::error::KafkaError) -> Self {
        use rdkafka::types::RDKafkaErrorCode as C;
        if let rdkafka::error::KafkaError::ClientConfig(..) = &err {
            // rdkafka's Display appends the property's value, which may be a password
            return config_error("properties", &err);
        }
        let reason = err.to_string();
        let Some(code) = err.rdkafka_error_code() else {
            return Error::KafkaFatal { reason };
        };
        match code {
            C::MessageTimedOut | C::RequestTimedOut | C::OperationTimedOut => {
                Error::KafkaTimeout { reason }
            }
            C::Authentication
            | C::SaslAuthenticationFailed
            | C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::DelegationTokenAuthorizationFailed
            | C::SSL => Error::KafkaAuth { reason },
            C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::BrokerNotAvailable
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::NetworkException
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::CoordinatorLoadInProgress
            | C::RebalanceInProgress
            | C::UnknownTopicOrPartition
            | C::QueueFull
            | C::KafkaStorageError
            | C::FencedLeaderEpoch
            | C::UnknownLeaderEpoch
            | C::OffsetNotAvailable
            | C::PreferredLeaderNotAvailable
            | C::ThrottlingQuotaExceeded => Error::KafkaRetriable { reason },
            _ => Error::KafkaFatal { reason },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_table_lists_every_code_once() {
        let mut seen = std::collections::HashSet::new();
        for c in Error::CODES {
            assert!(seen.insert(*c), "{c} listed twice");
        }
        let samples = [
            Error::ConfigInvalid { path: "a".into(), reason: "b".into() },
            Error::SerdeUnknownSchemaId { id: 7 },
            Error::Closed { what: "producer".into() },
        ];
        for e in samples {
            assert!(Error::CODES.contains(&e.code()), "{} missing from CODES", e.code());
        }
    }

    #[test]
    fn docs_errors_md_documents_every_code() {
        let doc = include_str!("../../docs/errors.md");
        for c in Error::CODES {
            assert!(doc.contains(&format!("`{c}`")), "docs/errors.md does not document {c}");
        }
    }

    #[test]
    fn kafka_errors_map_by_nature() {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaErrorCode as C;
        let e: Error = KafkaError::MessageProduction(C::MessageTimedOut).into();
        assert_eq!(e.code(), "kafka.timeout");
        let e: Error = KafkaError::MessageProduction(C::NotEnoughReplicas).into();
        assert_eq!(e.code(), "kafka.retriable");
        assert!(e.is_retriable());
        let e: Error = KafkaError::MessageProduction(C::TopicAuthorizationFailed).into();
        assert_eq!(e.code(), "kafka.auth");
        let e: Error = KafkaError::MessageProduction(C::MessageSizeTooLarge).into();
        assert_eq!(e.code(), "kafka.fatal");
    }
}
