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
    ConfigInvalid {
        /// The key's path, like `clusters.online.bootstrap`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// No route matches the topic.
    #[error("no route matches topic {topic:?}")]
    RouteNoCluster {
        /// The topic no route matched.
        topic: String,
    },

    /// The registry could not be reached or answered 5xx (after retries).
    #[error("schema registry unavailable: {reason}")]
    RegistryUnavailable {
        /// Why the last attempt failed.
        reason: String,
    },

    /// The registry has no such subject, version or schema id. `subject` is the subject
    /// asked about, when there is one (a missing schema reference names the referenced one).
    #[error("schema registry: not found: {what}")]
    RegistryNotFound {
        /// What was looked up (and the registry's message, when it gave one).
        what: String,
        /// The subject asked about, when there is one.
        subject: Option<String>,
    },

    /// The registry refused the credentials (401/403).
    #[error("schema registry: not authorized ({status})")]
    RegistryAuth {
        /// The HTTP status, 401 or 403.
        status: u16,
    },

    /// The registry rejected the request (other 4xx).
    #[error("schema registry rejected the request ({status}): {message}")]
    RegistryRejected {
        /// The HTTP status.
        status: u16,
        /// The registry's message, with its `error_code` when it gave one.
        message: String,
    },

    /// A schema is not valid Avro. `subject` is the registry subject the schema came from,
    /// when it came from one (a schema reference that does not parse, or a reference cycle).
    #[error("invalid schema: {reason}")]
    SchemaInvalid {
        /// Why the schema is not valid.
        reason: String,
        /// The registry subject the schema came from, when it came from one.
        subject: Option<String>,
    },

    /// The registry's compatibility check refused the schema.
    #[error("schema incompatible with subject {subject}: {reason}")]
    SchemaIncompatible {
        /// The subject the schema was checked against.
        subject: String,
        /// Why it is incompatible.
        reason: String,
    },

    /// The client-side policy check refused the schema; one entry per violation.
    #[error("schema violates policy {policy}: {}", .violations.join("; "))]
    SchemaPolicyViolation {
        /// The policy that refused it, like `add-with-default-only`.
        policy: String,
        /// Each violation with its path, one per entry.
        violations: Vec<String>,
    },

    /// A value does not fit the schema. `path` names the field (`order.items[3].price`).
    #[error("{path}: expected {expected}, got {got}")]
    SerdeEncode {
        /// The field path, like `order.items[3].price`.
        path: String,
        /// What the schema expects there.
        expected: String,
        /// What the value holds there.
        got: String,
    },

    /// A payload is not valid for its schema.
    #[error("cannot decode: {reason}")]
    SerdeDecode {
        /// Why the payload could not be decoded.
        reason: String,
    },

    /// The payload names a schema id the registry does not have.
    #[error("unknown schema id {id}")]
    SerdeUnknownSchemaId {
        /// The schema id the payload names.
        id: u32,
    },

    /// The payload does not start with the Confluent wire-format header.
    #[error("not Confluent wire format: {reason}")]
    SerdeBadMagic {
        /// What is wrong with the header.
        reason: String,
    },

    /// A Kafka operation did not finish in time.
    #[error("kafka timeout: {reason}")]
    KafkaTimeout {
        /// What failed, usually librdkafka's description.
        reason: String,
    },

    /// A Kafka error that may go away on its own (leader change, broker restart).
    #[error("kafka (retriable): {reason}")]
    KafkaRetriable {
        /// What failed, usually librdkafka's description.
        reason: String,
    },

    /// A Kafka error that will not go away by retrying.
    #[error("kafka: {reason}")]
    KafkaFatal {
        /// What failed, usually librdkafka's description.
        reason: String,
    },

    /// Authentication or authorization failed against a cluster.
    #[error("kafka authorization: {reason}")]
    KafkaAuth {
        /// What failed, usually librdkafka's description.
        reason: String,
    },

    /// The consumer group has active members, so its offsets may not be changed.
    #[error("group {group} has active members on {cluster}")]
    OffsetsGroupActive {
        /// The consumer group.
        group: String,
        /// The cluster where it has active members.
        cluster: String,
    },

    /// A requested offset or time is outside what the partition holds.
    #[error("{reason}")]
    OffsetsOutOfRange {
        /// The offset, time or partition asked for, and what the topic holds.
        reason: String,
    },

    /// Topics differ between the clusters of a migration (partition counts, or missing).
    #[error("{reason}")]
    OffsetsPartitionMismatch {
        /// Which topics differ, and how.
        reason: String,
    },

    /// `--strategy checkpoint` found no MirrorMaker 2 checkpoint for the group.
    #[error("no MirrorMaker 2 checkpoint: {reason}")]
    OffsetsNoCheckpoint {
        /// Where the checkpoints were looked for, and why none was found.
        reason: String,
    },

    /// The topic does not exist on the cluster.
    #[error("topic {topic:?} does not exist on cluster {cluster}")]
    TopicNotFound {
        /// The missing topic.
        topic: String,
        /// The cluster it was looked up on.
        cluster: String,
    },

    /// Input given to a tool (a datetime, an offset spec, a JSON line, a file) is malformed.
    #[error("{what}: {reason}")]
    InputInvalid {
        /// The input, like `datetime "yesterday"` or a file and line.
        what: String,
        /// What is wrong with it and what was expected.
        reason: String,
    },

    /// The handle was closed.
    #[error("{what} is closed")]
    Closed {
        /// The closed handle: `client`, `producer`, `consumer`, ...
        what: String,
    },

    /// A consumer handler returned an error for a record (after its retries).
    #[error("handler failed: {message}")]
    HandlerFailed {
        /// The handler's message.
        message: String,
    },

    /// kpipe was used in a child process after `fork()`; librdkafka handles and the runtime
    /// belong to the parent.
    #[error("kpipe was initialised in process {parent} and used after fork in process {child}; create clients in the child")]
    ProcessForked {
        /// The process id kpipe was initialised in.
        parent: u32,
        /// The process id it was used in.
        child: u32,
    },

    /// A bug in kpipe (including a caught panic). Please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong.
        reason: String,
    },
}

/// The one declaration of the codes: each variant, its stable code and its nature
/// (`retriable`: the same call may succeed later unchanged; `fatal`: the handle that returned
/// it cannot be used any more). [`Code`], [`Error::code`], [`Error::CODES`], [`Error::is_retriable`]
/// and [`Error::is_fatal`] derive from it, and through them docs/errors.md's check and every
/// binding's classes and sentinels.
macro_rules! codes {
    ($($variant:ident => $code:literal $(, $flag:ident)*;)+) => {
        /// The code of an [`Error`] without its details, one per variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = concat!("`", $code, "`")] $variant,)+
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The stable string (`config.invalid`).
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)+ }
            }

            /// True when the same call may succeed later without any change by the caller.
            pub const fn is_retriable(self) -> bool {
                match self { $(Code::$variant => codes!(@has retriable $($flag)*),)+ }
            }

            /// True when the handle that returned it cannot be used any more.
            pub const fn is_fatal(self) -> bool {
                match self { $(Code::$variant => codes!(@has fatal $($flag)*),)+ }
            }

            /// The code spelled `text`.
            pub fn parse(text: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == text)
            }
        }

        impl Error {
            /// Every code [`Error::code`] can return, in documentation order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The code of this error.
            pub fn kind(&self) -> Code {
                match self { $(Error::$variant { .. } => Code::$variant,)+ }
            }
        }
    };
    (@has retriable retriable $($rest:ident)*) => { true };
    (@has fatal fatal $($rest:ident)*) => { true };
    (@has $want:ident $other:ident $($rest:ident)*) => { codes!(@has $want $($rest)*) };
    (@has $want:ident) => { false };
}

codes! {
    ConfigInvalid => "config.invalid";
    RouteNoCluster => "route.no_cluster";
    RegistryUnavailable => "registry.unavailable", retriable;
    RegistryNotFound => "registry.not_found";
    RegistryAuth => "registry.auth";
    RegistryRejected => "registry.rejected";
    SchemaInvalid => "schema.invalid";
    SchemaIncompatible => "schema.incompatible";
    SchemaPolicyViolation => "schema.policy_violation";
    SerdeEncode => "serde.encode";
    SerdeDecode => "serde.decode";
    SerdeUnknownSchemaId => "serde.unknown_schema_id";
    SerdeBadMagic => "serde.bad_magic";
    KafkaTimeout => "kafka.timeout", retriable;
    KafkaRetriable => "kafka.retriable", retriable;
    KafkaFatal => "kafka.fatal", fatal;
    KafkaAuth => "kafka.auth";
    OffsetsGroupActive => "offsets.group_active";
    OffsetsOutOfRange => "offsets.out_of_range";
    OffsetsPartitionMismatch => "offsets.partition_mismatch";
    OffsetsNoCheckpoint => "offsets.no_checkpoint";
    TopicNotFound => "topic.not_found";
    InputInvalid => "input.invalid";
    Closed => "closed", fatal;
    HandlerFailed => "handler.failed";
    ProcessForked => "process.forked", fatal;
    Internal => "internal", fatal;
}

impl Code {
    /// The family a binding's error class groups this code under, the same in every binding
    /// (Python and Node `ConfigError`, PHP `ConfigException`, ...): the code's first part,
    /// except that `route.*` counts as config, `topic.*` as kafka and `process.*` as fork.
    pub fn family(self) -> &'static str {
        match self.as_str().split('.').next().unwrap_or("") {
            "config" | "route" => "Config",
            "registry" => "Registry",
            "schema" => "Schema",
            "serde" => "Serde",
            "kafka" | "topic" => "Kafka",
            "offsets" => "Offsets",
            "input" => "Input",
            "closed" => "Closed",
            "handler" => "Handler",
            "process" => "Fork",
            _ => "Internal",
        }
    }

    /// Every family, once each, in documentation order of their first code.
    pub fn families() -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for c in Code::ALL {
            if !out.contains(&c.family()) {
                out.push(c.family());
            }
        }
        out
    }
}

/// Everything known about an error, as it crosses every binding boundary (docs/errors.md,
/// "Details"): Python exception attributes, the C ABI's `kpipe_error_details_json`, Go's
/// `*Error` fields. Absent fields are unknown for this error.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Details {
    /// The stable code, like `config.invalid`.
    pub code: &'static str,
    /// The `Display` text, the same in every language.
    pub message: String,
    /// True when the same call may succeed later unchanged.
    pub retriable: bool,
    /// True when the handle that returned the error cannot be used any more.
    pub fatal: bool,
    /// The config key or value field path (`serializers[0].value`, `order.items[3].price`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The cluster (`offsets.group_active`, `topic.not_found`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The topic (a consumed record's decode error, `route.no_cluster`, `topic.not_found`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The partition of a consumed record whose decoding failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// The offset of a consumed record whose decoding failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// The subject (`schema.incompatible`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The schema id (`serde.unknown_schema_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<u32>,
}

impl Details {
    /// The same details, at a record (a decode error of a consumed record).
    pub fn at_record(mut self, topic: &str, partition: i32, offset: i64) -> Self {
        self.topic = Some(topic.to_string());
        self.partition = Some(partition);
        self.offset = Some(offset);
        self
    }

    /// As JSON text (what the C ABI hands out).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Error {
    /// The stable code, identical in every binding.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// True when the same call may succeed later without any change by the caller.
    pub fn is_retriable(&self) -> bool {
        self.kind().is_retriable()
    }

    /// True when the handle that returned it cannot be used any more.
    pub fn is_fatal(&self) -> bool {
        self.kind().is_fatal()
    }

    /// The details record of this error.
    pub fn details(&self) -> Details {
        let mut d = Details {
            code: self.code(),
            message: self.to_string(),
            retriable: self.is_retriable(),
            fatal: self.is_fatal(),
            ..Details::default()
        };
        match self {
            Error::ConfigInvalid { path, .. } | Error::SerdeEncode { path, .. } => {
                d.field = Some(path.clone())
            }
            Error::RouteNoCluster { topic } => d.topic = Some(topic.clone()),
            Error::SchemaIncompatible { subject, .. } => d.subject = Some(subject.clone()),
            Error::RegistryNotFound { subject, .. } | Error::SchemaInvalid { subject, .. } => {
                d.subject = subject.clone()
            }
            Error::SerdeUnknownSchemaId { id } => d.schema_id = Some(*id),
            Error::OffsetsGroupActive { cluster, .. } => d.cluster = Some(cluster.clone()),
            Error::TopicNotFound { topic, cluster } => {
                d.topic = Some(topic.clone());
                d.cluster = Some(cluster.clone());
            }
            _ => {}
        }
        d
    }

    /// A binding's no-wait path found a topic's writer schema missing from the cache again
    /// after fetching it (the cache was re-checked or emptied meanwhile, more than once).
    pub fn writer_not_cached() -> Self {
        Error::RegistryUnavailable {
            reason: "the writer schema could not be kept in the cache".into(),
        }
    }

    /// A handler failure, for consumer handlers to return.
    pub fn handler(message: impl fmt::Display) -> Self {
        Error::HandlerFailed { message: message.to_string() }
    }

    /// `schema.invalid` about no particular subject.
    pub fn schema_invalid(reason: impl fmt::Display) -> Self {
        Error::SchemaInvalid { reason: reason.to_string(), subject: None }
    }

    /// `registry.not_found` about no particular subject.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::RegistryNotFound { what: what.to_string(), subject: None }
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
            let desc =
                if value.is_empty() { desc.clone() } else { desc.replace(value.as_str(), "***") };
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

/// A result whose error is a kpipe [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        assert_eq!(Code::ALL.len(), Error::CODES.len());
        for (c, text) in Code::ALL.iter().zip(Error::CODES) {
            assert_eq!(c.as_str(), *text);
            assert!(seen.insert(*text), "{text} listed twice");
            assert_eq!(Code::parse(text), Some(*c));
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{text}"
            );
            assert!(!(c.is_retriable() && c.is_fatal()), "{text} both retriable and fatal");
        }
    }

    #[test]
    fn families_group_codes_as_the_bindings_name_them() {
        assert_eq!(Code::RouteNoCluster.family(), "Config");
        assert_eq!(Code::TopicNotFound.family(), "Kafka");
        assert_eq!(Code::ProcessForked.family(), "Fork");
        assert_eq!(Code::families().len(), 11);
    }

    #[test]
    fn details_carry_what_the_error_knows() {
        let d =
            Error::ConfigInvalid { path: "consumer.commit".into(), reason: "bad".into() }.details();
        assert_eq!(
            (d.code, d.field.as_deref(), d.retriable, d.fatal),
            ("config.invalid", Some("consumer.commit"), false, false)
        );
        assert_eq!(d.message, "consumer.commit: bad");
        let d = Error::SerdeUnknownSchemaId { id: 7 }.details().at_record("t", 1, 42);
        assert_eq!(
            (d.schema_id, d.topic.as_deref(), d.partition, d.offset),
            (Some(7), Some("t"), Some(1), Some(42))
        );
        assert_eq!(
            d.to_json(),
            r#"{"code":"serde.unknown_schema_id","message":"unknown schema id 7","retriable":false,"fatal":false,"topic":"t","partition":1,"offset":42,"schema_id":7}"#
        );
        assert!(Error::Closed { what: "x".into() }.details().fatal);
        assert!(Error::KafkaTimeout { reason: "x".into() }.details().retriable);
    }

    #[test]
    fn docs_errors_md_documents_every_code() {
        let doc = include_str!("../../docs/errors.md");
        // the table: | `code` | retriable | fatal | ... |, one row per code, flags as declared
        let mut rows = std::collections::HashMap::new();
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() > 4 && cells[1].starts_with('`') && matches!(cells[2], "yes" | "no") {
                rows.insert(
                    cells[1].trim_matches('`').to_string(),
                    (cells[2] == "yes", cells[3] == "yes"),
                );
            }
        }
        for c in Code::ALL {
            let flags = rows
                .remove(c.as_str())
                .unwrap_or_else(|| panic!("docs/errors.md has no row for {}", c.as_str()));
            assert_eq!(
                flags,
                (c.is_retriable(), c.is_fatal()),
                "docs/errors.md: retriable/fatal of {}",
                c.as_str()
            );
        }
        assert!(rows.is_empty(), "docs/errors.md documents codes the core does not have: {rows:?}");
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
