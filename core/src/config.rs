//! kpipe.yaml: one config file for every language, every key overridable by an env var.
//!
//! Env overrides: `KPIPE_` + the key path in upper case with `__` between levels, e.g.
//! `KPIPE_CLUSTERS__ONLINE__BOOTSTRAP`, `KPIPE_CONSUMER__MAX_ATTEMPTS=5`,
//! `KPIPE_REGISTRY__URL`. Secrets can stay out of the file: a string value written as
//! `${NAME}` is replaced by the env var NAME (a missing one is `config.invalid`).
//! Strict: an unknown key anywhere is `config.invalid` naming its path.
//! docs/config.md documents every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::providers::{Env, Format, Yaml};
use figment::Figment;
use serde::Deserialize;

use crate::codec::CodecSettings;
use crate::error::{Error, Result};
use crate::registry::RegistryConfig;
use crate::routing::{Route, Router, TopicTable};
use crate::serdes::{Serde, TopicSerde};

/// The whole kpipe.yaml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `clusters:` (required, at least one): each cluster by the name routes use.
    pub clusters: BTreeMap<String, ClusterConfig>,
    /// `registry:`: the schema registry, if any (keys in docs/registry.md).
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
    /// `routes:`: the first route whose `topic` pattern matches a topic decides its cluster.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Per-topic serializers; the first entry whose `topic` matches wins.
    #[serde(default)]
    pub serializers: Vec<SerializerConfig>,
    /// `schemas:`: subject naming, registration and the client-side policy.
    #[serde(default)]
    pub schemas: CodecSettings,
    /// `producer:`: acks, idempotence and timeouts of every producer.
    #[serde(default)]
    pub producer: ProducerConfig,
    /// `consumer:`: commit mode, retries and the dead-letter topic of every consumer.
    #[serde(default)]
    pub consumer: ConsumerConfig,
    /// Values that must never be shown (env substitutions, secret-like keys).
    #[serde(skip)]
    pub secrets: Redactor,
}

/// The values of a config that must never appear in a message: every `${NAME}` substitution
/// and every value under a secret-like key (see [`is_secret_key`]). `Debug` shows a count.
#[derive(Clone, Default)]
pub struct Redactor(Arc<Vec<String>>);

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.0.len())
    }
}

impl Redactor {
    /// `text` with every secret value replaced by `***` (longest first, so a secret that
    /// contains another is hidden whole).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in self.0.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }

    /// [`redact`](Self::redact) applied to an error's text fields (the code stays).
    pub fn redact_error(&self, e: Error) -> Error {
        if self.0.is_empty() {
            return e;
        }
        match e {
            Error::ConfigInvalid { path, reason } => {
                Error::ConfigInvalid { path: self.redact(&path), reason: self.redact(&reason) }
            }
            other => other,
        }
    }

    fn from_values(mut values: Vec<String>) -> Self {
        // Empty or one-character values would garble every message; they are no secret anyway.
        values.retain(|v| v.chars().count() > 1);
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Redactor(Arc::new(values))
    }
}

/// Whether a key (its last segment, e.g. a librdkafka property) holds a secret: passwords,
/// secrets, tokens, credentials, private keys, SASL settings (but the mechanism name) and
/// `ssl.key*` / keystore material.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const WORDS: &[&str] =
        &["password", "passwd", "secret", "token", "credential", "apikey", "api_key", "private"];
    if WORDS.iter().any(|w| k.contains(w)) {
        return true;
    }
    if k.starts_with("sasl.") {
        return !matches!(k.as_str(), "sasl.mechanism" | "sasl.mechanisms");
    }
    k.starts_with("ssl.key") || k.starts_with("ssl.keystore")
}

/// One Kafka cluster.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Comma-separated `host:port` list.
    pub bootstrap: String,
    /// Passed to librdkafka unchanged (`compression.type`, `security.protocol`, `sasl.*`, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

impl std::fmt::Debug for ClusterConfig {
    // librdkafka properties may hold passwords; show their names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("bootstrap", &self.bootstrap)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ClusterConfig {
    /// Checks every property with librdkafka itself (unknown names, bad values), together
    /// with the `producer:` settings kpipe sets, so a bad one fails at load naming its key,
    /// not at first use. The value never appears in the message.
    fn check_properties(&self, cluster: &str, producer: &ProducerConfig) -> Result<()> {
        let mut cfg = rdkafka::ClientConfig::new();
        cfg.set("bootstrap.servers", &self.bootstrap)
            .set("enable.idempotence", producer.idempotence.to_string())
            .set("acks", producer.acks.0.as_str())
            .set("delivery.timeout.ms", producer.delivery_timeout_ms.to_string())
            .set("linger.ms", producer.linger_ms.to_string());
        for (k, v) in &self.properties {
            cfg.set(k, v.0.as_str());
        }
        match cfg.create_native_config() {
            Ok(_) => Ok(()),
            Err(e) => {
                let key = match &e {
                    rdkafka::error::KafkaError::ClientConfig(_, _, key, _) => key.clone(),
                    _ => String::new(),
                };
                let path = if self.properties.contains_key(&key) || key.is_empty() {
                    format!("clusters.{cluster}.properties")
                } else {
                    // one of the settings kpipe derives from its own keys
                    let own = match key.as_str() {
                        "bootstrap.servers" => format!("clusters.{cluster}.bootstrap"),
                        "enable.idempotence" => "producer.idempotence".into(),
                        other => format!("producer.{}", other.replace('.', "_")),
                    };
                    return Err(match crate::error::config_error("producer", &e) {
                        Error::ConfigInvalid { reason, .. } => {
                            Error::ConfigInvalid { path: own, reason }
                        }
                        other => other,
                    });
                };
                Err(crate::error::config_error(&path, &e))
            }
        }
    }

    /// The properties as librdkafka wants them: strings.
    pub fn rdkafka_properties(&self) -> Vec<(String, String)> {
        self.properties.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()
    }
}

/// A YAML scalar kept as the string librdkafka expects (`linger.ms: 5` -> "5").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            S(String),
            I(i64),
            F(f64),
            B(bool),
        }
        Ok(Scalar(match Any::deserialize(d)? {
            Any::S(s) => s,
            Any::I(i) => i.to_string(),
            Any::F(f) => f.to_string(),
            Any::B(b) => b.to_string(),
        }))
    }
}

/// One `serializers:` entry: the key and value serializers of the topics matching `topic`
/// (exact name or glob, as in `routes:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerializerConfig {
    /// `serializers[i].topic` (required): an exact topic name or a glob.
    pub topic: String,
    /// `bytes` | `string` | `json` | `avro`.
    #[serde(default = "bytes_serde")]
    pub key: String,
    /// `bytes` | `string` | `json` | `avro`.
    #[serde(default = "bytes_serde")]
    pub value: String,
    /// `.avsc` file of an avro value (relative to the config file's directory).
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// `.avsc` file of an avro key.
    #[serde(default)]
    pub key_schema: Option<PathBuf>,
    /// The schema consumers read avro values as: `schema` (the default: `schema`'s file, or
    /// the writer schema without one), `writer` or `latest` (the subject's latest version).
    #[serde(default)]
    pub reader: Option<String>,
    /// The same for avro keys.
    #[serde(default)]
    pub key_reader: Option<String>,
    /// The text of `schema`, read when the config loads.
    #[serde(skip)]
    pub schema_text: Option<Arc<str>>,
    /// The text of `key_schema`, read when the config loads.
    #[serde(skip)]
    pub key_schema_text: Option<Arc<str>>,
}

fn bytes_serde() -> String {
    "bytes".into()
}

/// Producer defaults: idempotent and acks=all.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    /// `all`, `-1`, `0` or `1`; written as a string or an integer (`acks: 1`).
    pub acks: Scalar,
    /// `producer.idempotence`, librdkafka `enable.idempotence` (default true).
    pub idempotence: bool,
    /// `producer.delivery_timeout_ms`: a record not acknowledged by then fails with
    /// `kafka.timeout` (default 120000).
    pub delivery_timeout_ms: u64,
    /// `producer.linger_ms`, librdkafka `linger.ms` (default 5).
    pub linger_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            acks: Scalar("all".into()),
            idempotence: true,
            delivery_timeout_ms: 120_000,
            linger_ms: 5,
        }
    }
}

/// Consumer defaults: at-least-once with retries then a dead-letter topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerConfig {
    /// `consumer.commit`: when offsets are committed (default `after-handle`).
    pub commit: CommitMode,
    /// Handler attempts per record before it goes to the DLQ (1 = no retry).
    pub max_attempts: u32,
    /// `consumer.backoff_ms`: wait before the first retry, doubled per attempt (default 200).
    pub backoff_ms: u64,
    /// DLQ topic name template (`{topic}`: the source topic, `{group}`: the consumer group);
    /// empty disables the DLQ.
    pub dlq: String,
    /// How often `after-handle` commits the handled offsets (also on revoke and close).
    pub commit_interval_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            commit: CommitMode::AfterHandle,
            max_attempts: 3,
            backoff_ms: 200,
            dlq: "{topic}.dlq".into(),
            commit_interval_ms: 1000,
        }
    }
}

/// `consumer.commit` (parsed by crate::options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// `after-handle` (at-least-once): an offset is committed only after its record was
    /// handled, every `consumer.commit_interval_ms`, on revoke and on close.
    AfterHandle,
    /// `manual`: the same tracking; commits happen on `commit()`, revoke and close.
    Manual,
    /// `auto`: librdkafka's auto-commit of records handed out (not at-least-once).
    Auto,
}

impl Config {
    /// Reads `path`, then applies `KPIPE_...` env overrides and `${NAME}` secrets.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::ConfigInvalid {
                path: path.display().to_string(),
                reason: "config file not found".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigInvalid {
            path: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        check_duplicate_keys(&text)?;
        Self::load(Figment::from(Yaml::string(&text)), path.parent())
    }

    /// Parses YAML text, then applies env overrides and secrets as [`Config::from_file`].
    /// Relative schema paths are relative to the current directory.
    pub fn from_yaml(text: &str) -> Result<Self> {
        check_duplicate_keys(text)?;
        Self::load(Figment::from(Yaml::string(text)), None)
    }

    /// `dir`: the directory relative schema paths start from (None: the current directory).
    fn load(base: Figment, dir: Option<&Path>) -> Result<Self> {
        // Every key lives in a section, so an override always has a `__`; other KPIPE_* vars
        // (e.g. the dev stack's KPIPE_REGISTRY_URL) are not config keys and are left alone.
        let figment =
            base.merge(Env::prefixed("KPIPE_").filter(|k| k.as_str().contains("__")).split("__"));
        let mut value: figment::value::Value = figment.extract().map_err(config_error)?;
        let mut secrets = Vec::new();
        substitute_env(&mut value, &mut Vec::new(), &mut secrets)?;
        let secrets = Redactor::from_values(secrets);
        // From here on every message passes the redactor: a `${SECRET}` put under the wrong
        // key (or given a wrong type) must not come back in the error text.
        let mut config: Config = Figment::from(figment::providers::Serialized::defaults(value))
            .extract()
            .map_err(|e| secrets.redact_error(config_error(e)))?;
        config.secrets = secrets.clone();
        config.read_schemas(dir).map_err(|e| secrets.redact_error(e))?;
        config.validate().map_err(|e| secrets.redact_error(e))?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.clusters.is_empty() {
            return Err(Error::ConfigInvalid {
                path: "clusters".into(),
                reason: "at least one cluster is required".into(),
            });
        }
        for (name, c) in &self.clusters {
            if c.bootstrap.trim().is_empty() {
                return Err(Error::ConfigInvalid {
                    path: format!("clusters.{name}.bootstrap"),
                    reason: "missing bootstrap servers".into(),
                });
            }
        }
        if !matches!(self.producer.acks.0.as_str(), "all" | "-1" | "0" | "1") {
            return Err(Error::ConfigInvalid {
                path: "producer.acks".into(),
                reason: format!(
                    "unknown acks {:?} (expected all, -1, 0 or 1)",
                    self.producer.acks.0
                ),
            });
        }
        for (name, c) in &self.clusters {
            c.check_properties(name, &self.producer)?;
        }
        if self.consumer.max_attempts == 0 {
            return Err(Error::ConfigInvalid {
                path: "consumer.max_attempts".into(),
                reason: "must be at least 1".into(),
            });
        }
        self.router()?;
        self.topic_serdes()?;
        Ok(())
    }

    /// Reads and checks every `serializers[i].schema` / `key_schema` file.
    fn read_schemas(&mut self, dir: Option<&Path>) -> Result<()> {
        for (i, s) in self.serializers.iter_mut().enumerate() {
            if let Some(p) = &s.schema {
                s.schema_text = Some(read_schema(p, dir, || format!("serializers[{i}].schema"))?);
            }
            if let Some(p) = &s.key_schema {
                s.key_schema_text =
                    Some(read_schema(p, dir, || format!("serializers[{i}].key_schema"))?);
            }
        }
        Ok(())
    }

    /// The compiled `serializers:` table (first match wins).
    pub fn topic_serdes(&self) -> Result<TopicTable<TopicSerde>> {
        let mut table = TopicTable::default();
        for (i, s) in self.serializers.iter().enumerate() {
            let serde = |name: &str,
                         field: &str,
                         schema: Option<&Path>,
                         text: &Option<Arc<str>>,
                         schema_field: &str,
                         reader: Option<&str>,
                         reader_field: &str| {
                let serde = crate::options::serde(
                    &format!("serializers[{i}].{field}"),
                    name,
                    text.clone(),
                    &format!("serializers[{i}].{reader_field}"),
                    reader,
                )?;
                if let Some(p) = schema {
                    if !matches!(serde, Serde::Avro { .. }) {
                        return Err(Error::ConfigInvalid {
                            path: format!("serializers[{i}].{schema_field}"),
                            reason: format!(
                                "{} is only for `{field}: avro` (here `{field}: {name}`)",
                                p.display()
                            ),
                        });
                    }
                    if text.is_none() {
                        return Err(Error::ConfigInvalid {
                            path: format!("serializers[{i}].{schema_field}"),
                            reason: format!("schema file {} was not read (load the config with from_file / from_yaml)", p.display()),
                        });
                    }
                }
                Ok(serde)
            };
            let key = serde(
                &s.key,
                "key",
                s.key_schema.as_deref(),
                &s.key_schema_text,
                "key_schema",
                s.key_reader.as_deref(),
                "key_reader",
            )?;
            let value = serde(
                &s.value,
                "value",
                s.schema.as_deref(),
                &s.schema_text,
                "schema",
                s.reader.as_deref(),
                "reader",
            )?;
            table
                .push(&s.topic, TopicSerde { key, value }, || format!("serializers[{i}].topic"))?;
        }
        Ok(table)
    }

    /// The compiled routes. With no `routes:` and a single cluster, every topic goes there.
    pub fn router(&self) -> Result<Router> {
        let names = self.clusters.keys().map(String::as_str);
        if self.routes.is_empty() && self.clusters.len() == 1 {
            let only = self.clusters.keys().next().cloned().unwrap_or_default();
            return Router::new(&[Route { topic: "*".into(), cluster: only }], names);
        }
        Router::new(&self.routes, names)
    }
}

/// Reads an `.avsc` file (relative paths start at `dir`) and checks it is a valid Avro schema.
fn read_schema(path: &Path, dir: Option<&Path>, key: impl Fn() -> String) -> Result<Arc<str>> {
    let full = match dir {
        Some(d) if path.is_relative() => d.join(path),
        _ => path.to_path_buf(),
    };
    let text = std::fs::read_to_string(&full).map_err(|e| Error::ConfigInvalid {
        path: key(),
        reason: format!("cannot read schema file {}: {e}", full.display()),
    })?;
    crate::avro::CompiledSchema::parse(&text).map_err(|e| Error::ConfigInvalid {
        path: key(),
        reason: format!("invalid Avro schema in {}: {e}", full.display()),
    })?;
    Ok(text.into())
}

/// Refuses a mapping that repeats a key (`clusters:` twice), naming the key's full path:
/// figment would silently keep the last one. Other YAML errors are left to figment.
fn check_duplicate_keys(text: &str) -> Result<()> {
    use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
    struct Walk<'a> {
        path: &'a str,
        dup: &'a std::cell::RefCell<Option<String>>,
    }
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_none<E>(self) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> std::result::Result<(), A::Error> {
            let mut i = 0;
            loop {
                let path = format!("{}[{i}]", self.path);
                if a.next_element_seed(Walk { path: &path, dup: self.dup })?.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<serde_yaml::Value>()? {
                let name = match &k {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
                };
                let path = if self.path.is_empty() {
                    name.clone()
                } else {
                    format!("{}.{name}", self.path)
                };
                if !seen.insert(name) && self.dup.borrow().is_none() {
                    *self.dup.borrow_mut() = Some(path.clone());
                }
                m.next_value_seed(Walk { path: &path, dup: self.dup })?;
            }
            Ok(())
        }
    }
    let dup = std::cell::RefCell::new(None);
    for doc in serde_yaml::Deserializer::from_str(text) {
        // a syntax error is reported by figment with its own position
        if (Walk { path: "", dup: &dup }).deserialize(doc).is_err() {
            return Ok(());
        }
    }
    match dup.into_inner() {
        Some(path) => Err(Error::ConfigInvalid {
            path,
            reason: "duplicated key (each key may appear once)".into(),
        }),
        None => Ok(()),
    }
}

/// Replaces every string `${NAME}` by the env var NAME; collects the substituted values and
/// the values of secret-like keys into `secrets`.
fn substitute_env(
    value: &mut figment::value::Value,
    path: &mut Vec<String>,
    secrets: &mut Vec<String>,
) -> Result<()> {
    use figment::value::Value as V;
    let secret_key = path.last().is_some_and(|k| is_secret_key(k));
    match value {
        V::String(_, s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                match std::env::var(name) {
                    Ok(v) => {
                        *s = v;
                        secrets.push(s.clone());
                    }
                    Err(_) => {
                        return Err(Error::ConfigInvalid {
                            path: path.join("."),
                            reason: format!("env var {name} is not set"),
                        })
                    }
                }
            } else if secret_key {
                secrets.push(s.clone());
            }
        }
        V::Num(_, n) if secret_key => {
            if let Some(i) = n.to_i128() {
                secrets.push(i.to_string());
            }
        }
        V::Dict(_, d) => {
            for (k, v) in d.iter_mut() {
                path.push(k.clone());
                substitute_env(v, path, secrets)?;
                path.pop();
            }
        }
        V::Array(_, a) => {
            for (i, v) in a.iter_mut().enumerate() {
                let last = path.pop().unwrap_or_default();
                path.push(format!("{last}[{i}]"));
                substitute_env(v, path, secrets)?;
                path.pop();
                path.push(last);
            }
        }
        _ => {}
    }
    Ok(())
}

/// figment's path names the unknown key itself but only the parent of a missing one; the
/// user should see the full key either way.
fn config_error(e: figment::Error) -> Error {
    use figment::error::Kind;
    let e = e.into_iter().next().expect("figment errors are never empty");
    // list indices as `serializers[1]`, like the errors of validate()
    let mut path = String::new();
    for seg in &e.path {
        if !path.is_empty() && seg.parse::<usize>().is_ok() {
            path.push_str(&format!("[{seg}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(seg);
        }
    }
    let mut push = |field: &str| {
        if e.path.last().map(String::as_str) == Some(field) {
            return;
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
    };
    let reason = match &e.kind {
        Kind::UnknownField(field, expected) => {
            push(field);
            format!("unknown key (expected one of: {})", expected.join(", "))
        }
        Kind::MissingField(field) => {
            push(field);
            "missing key".to_string()
        }
        other => other.to_string(),
    };
    Error::ConfigInvalid { path: if path.is_empty() { "(root)".into() } else { path }, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../kpipe.yaml");

    #[test]
    fn the_sample_config_loads() {
        use crate::compat::Level;
        let c = Config::from_yaml(SAMPLE).unwrap();
        assert_eq!(c.clusters.len(), 3);
        assert_eq!(
            c.clusters["offline"].rdkafka_properties(),
            vec![("compression.type".into(), "zstd".into())]
        );
        let r = c.router().unwrap();
        assert_eq!(r.cluster_for("orders.created").unwrap(), "online");
        assert_eq!(r.cluster_for("anything").unwrap(), "business");
        assert_eq!(c.consumer.commit, CommitMode::AfterHandle);
        assert_eq!(c.schemas.policy, Level::AddWithDefaultOnly);
        let serdes = c.topic_serdes().unwrap();
        assert_eq!(
            serdes.first_match("events.clicks"),
            Some(&TopicSerde { key: Serde::String, value: Serde::Json })
        );
        assert_eq!(serdes.first_match("orders.created"), None);
    }

    fn err(yaml: &str) -> Error {
        Config::from_yaml(yaml).unwrap_err()
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let e = err("clusters: { a: { bootstrap: x, bootstrapp: y } }");
        assert_eq!(e.code(), "config.invalid");
        assert!(e.to_string().starts_with("clusters.a.bootstrapp: unknown key"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nconsumer: { max_attempt: 3 }");
        assert!(e.to_string().starts_with("consumer.max_attempt: unknown key"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nextra: 1");
        assert!(e.to_string().starts_with("extra: unknown key"), "{e}");
    }

    #[test]
    fn missing_bootstrap_unknown_cluster_and_bad_glob() {
        let e = err("clusters: { a: { properties: {} } }");
        assert!(e.to_string().starts_with("clusters.a.bootstrap: missing key"), "{e}");
        let e = err("clusters: { a: { bootstrap: '' } }");
        assert!(e.to_string().starts_with("clusters.a.bootstrap:"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nroutes: [ { topic: '*', cluster: b } ]");
        assert!(e.to_string().starts_with("routes[0].cluster: unknown cluster"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nroutes: [ { topic: 'x[', cluster: a } ]");
        assert!(e.to_string().starts_with("routes[0].topic: malformed glob"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nschemas: { subject_strategy: by-mood }");
        assert!(
            e.to_string().starts_with("schemas.subject_strategy: unknown subject strategy"),
            "{e}"
        );
        let e = err("clusters: { a: { bootstrap: x } }\nschemas: { policy: sideways }");
        assert!(e.to_string().starts_with("schemas.policy: unknown compatibility level"), "{e}");
        let e = err(
            "clusters: { a: { bootstrap: x } }\nschemas: { policy_allow: [aliases, anything] }",
        );
        assert!(
            e.to_string()
                .starts_with("schemas.policy_allow: unknown policy_allow entry \"anything\""),
            "{e}"
        );
        assert_eq!(e.code(), "config.invalid");
    }

    #[test]
    fn policy_allow_names_benign_changes() {
        let c = Config::from_yaml("clusters: { a: { bootstrap: x } }").unwrap();
        assert_eq!(
            c.schemas.policy_allow,
            crate::compat::PolicyAllow::default(),
            "strict by default"
        );
        let c = Config::from_yaml("clusters: { a: { bootstrap: x } }\nschemas: { policy_allow: [aliases, default-on-existing] }").unwrap();
        let a = c.schemas.policy_allow;
        assert!(a.aliases && a.default_on_existing && !a.order && !a.custom_properties);
    }

    const PING: &str = r#"{"type":"record","name":"Ping","fields":[{"name":"n","type":"long"}]}"#;

    /// A fresh temp directory for this test's files.
    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kpipe-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn serializers_first_match_wins_and_schemas_are_read() {
        let dir = temp_dir("serializers");
        std::fs::write(dir.join("ping.avsc"), PING).unwrap();
        std::fs::write(dir.join("key.avsc"), r#""string""#).unwrap();
        let yaml = r#"clusters: { a: { bootstrap: x } }
serializers:
  - { topic: orders.raw, value: bytes }
  - { topic: "orders.*", key: string, value: json }
  - { topic: "ping.{a,b}", key: avro, value: avro, schema: ping.avsc, key_schema: key.avsc }
  - { topic: "latest.*", value: avro }
"#;
        std::fs::write(dir.join("kpipe.yaml"), yaml).unwrap();
        // relative schema paths start at the config file's directory
        let c = Config::from_file(dir.join("kpipe.yaml")).unwrap();
        assert_eq!(c.serializers.len(), 4);
        assert_eq!(c.serializers[1].key, "string");
        assert_eq!(c.serializers[0].key, "bytes", "key defaults to bytes");
        let t = c.topic_serdes().unwrap();
        assert_eq!(t.first_match("orders.raw"), Some(&TopicSerde::default()));
        assert_eq!(
            t.first_match("orders.eu.created"),
            Some(&TopicSerde { key: Serde::String, value: Serde::Json })
        );
        assert_eq!(
            t.first_match("ping.b"),
            Some(&TopicSerde { key: Serde::avro(r#""string""#), value: Serde::avro(PING) })
        );
        assert_eq!(
            t.first_match("latest.x"),
            Some(&TopicSerde {
                key: Serde::Bytes,
                value: Serde::Avro { schema: None, reader: crate::AvroReader::Schema }
            })
        );
        assert_eq!(t.first_match("ping.c"), None);
        assert_eq!(t.first_match("xorders.a"), None, "a glob matches the whole name");
        // no serializers: an empty table
        assert!(Config::from_yaml("clusters: { a: { bootstrap: x } }")
            .unwrap()
            .topic_serdes()
            .unwrap()
            .is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn serializer_errors_name_their_key() {
        let dir = temp_dir("serializer-errors");
        let bad = dir.join("bad.avsc");
        std::fs::write(
            &bad,
            r#"{"type":"record","name":"Bad","fields":[{"name":"n","type":"nope"}]}"#,
        )
        .unwrap();
        let good = dir.join("ping.avsc");
        std::fs::write(&good, PING).unwrap();
        let missing = dir.join("missing.avsc");
        let base =
            "clusters: { a: { bootstrap: x } }\nserializers:\n  - { topic: a, value: json }\n";
        let cases = [
            (format!("{base}  - {{ topic: b, value: xml }}"), "serializers[1].value: unknown serializer \"xml\""),
            (format!("{base}  - {{ topic: b, key: Json }}"), "serializers[1].key: unknown serializer \"Json\""),
            (format!("{base}  - {{ topic: 'b[', value: json }}"), "serializers[1].topic: malformed glob"),
            (format!("{base}  - {{ topic: '', value: json }}"), "serializers[1].topic: empty pattern"),
            (
                format!("clusters: {{ a: {{ bootstrap: x }} }}\nserializers: [ {{ topic: a, value: avro, schema: '{}' }} ]", missing.display()),
                "serializers[0].schema: cannot read schema file",
            ),
            (
                format!("clusters: {{ a: {{ bootstrap: x }} }}\nserializers: [ {{ topic: a, value: avro, schema: '{}' }} ]", bad.display()),
                "serializers[0].schema: invalid Avro schema",
            ),
            (
                format!("{base}  - {{ topic: b, key: avro, key_schema: '{}' }}", bad.display()),
                "serializers[1].key_schema: invalid Avro schema",
            ),
            (
                format!("{base}  - {{ topic: b, value: json, schema: '{}' }}", good.display()),
                "serializers[1].schema:",
            ),
            (format!("{base}  - {{ value: json }}"), "topic: missing key"),
            (format!("{base}  - {{ topic: b, valu: json }}"), "valu: unknown key"),
        ];
        for (yaml, starts) in cases {
            let e = err(&yaml);
            assert_eq!(e.code(), "config.invalid", "{yaml}");
            assert!(e.to_string().contains(starts), "{yaml}\n=> {e}");
        }
        // the key path starts the message
        assert!(err(&format!("{base}  - {{ topic: b, value: xml }}"))
            .to_string()
            .starts_with("serializers[1].value:"));
        let e = err(&format!("clusters: {{ a: {{ bootstrap: x }} }}\nserializers: [ {{ topic: a, value: avro, schema: '{}' }} ]", missing.display()));
        assert!(e.to_string().starts_with("serializers[0].schema:"), "{e}");
        let e = err(&format!("{base}  - {{ value: json }}"));
        assert!(e.to_string().starts_with("serializers[1].topic: missing key"), "{e}");
        let e = err(&format!("{base}  - {{ topic: b, valu: json }}"));
        assert!(e.to_string().starts_with("serializers[1].valu: unknown key"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn registry_credentials_from_env() {
        // Env vars are process-wide; names here are unique to this test.
        std::env::set_var("KPIPE_TEST_REG_TOKEN", "tok-env");
        std::env::set_var("KPIPE_TEST_REG_PASSWORD", "pw-env");
        let c = Config::from_yaml("clusters: { a: { bootstrap: x } }\nregistry: { url: 'http://r:1', bearer_token: '${KPIPE_TEST_REG_TOKEN}' }").unwrap();
        assert_eq!(c.registry.as_ref().unwrap().bearer_token.as_ref().unwrap().expose(), "tok-env");
        let c = Config::from_yaml(
            "clusters: { a: { bootstrap: x } }\nregistry: { url: 'http://r:1', basic_auth: { username: svc, password: '${KPIPE_TEST_REG_PASSWORD}' } }",
        )
        .unwrap();
        let auth = c.registry.as_ref().unwrap().basic_auth.as_ref().unwrap();
        assert_eq!((auth.username.as_str(), auth.password.expose()), ("svc", "pw-env"));
        assert!(!format!("{c:?}").contains("pw-env"), "secrets must not show in Debug");
    }

    #[test]
    fn env_overrides_and_secrets() {
        // Env vars are process-wide; names here are unique to this test.
        std::env::set_var("KPIPE_CONSUMER__MAX_ATTEMPTS", "7");
        std::env::set_var("KPIPE_TEST_SASL_PASSWORD", "s3cret");
        let c = Config::from_yaml(
            "clusters: { a: { bootstrap: x, properties: { sasl.password: '${KPIPE_TEST_SASL_PASSWORD}' } } }",
        )
        .unwrap();
        std::env::remove_var("KPIPE_CONSUMER__MAX_ATTEMPTS");
        assert_eq!(c.consumer.max_attempts, 7);
        assert_eq!(c.clusters["a"].rdkafka_properties()[0].1, "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"), "secrets must not show in Debug");
        assert!(!format!("{:?}", c.secrets).contains("s3cret"));
        let e = err("clusters: { a: { bootstrap: '${KPIPE_TEST_UNSET_VAR}' } }");
        assert!(
            e.to_string()
                .starts_with("clusters.a.bootstrap: env var KPIPE_TEST_UNSET_VAR is not set"),
            "{e}"
        );
    }

    #[test]
    fn a_secret_in_a_rejected_property_never_shows() {
        std::env::set_var("KPIPE_TEST_LEAK_PW", "S3cr3t-Pa55word");
        let cases = [
            // unknown property, invalid value, a secret-like key, a wrong type elsewhere (not
            // max_attempts: another test sets its env override meanwhile)
            ("clusters: { a: { bootstrap: x, properties: { sasl.passwd: '${KPIPE_TEST_LEAK_PW}' } } }", "clusters.a.properties.sasl.passwd"),
            ("clusters: { a: { bootstrap: x, properties: { linger.ms: '${KPIPE_TEST_LEAK_PW}' } } }", "clusters.a.properties.linger.ms"),
            ("clusters: { a: { bootstrap: x, properties: { security.protocol: 'S3cr3t-Pa55word', sasl.password: 'S3cr3t-Pa55word' } } }", "clusters.a.properties.security.protocol"),
            ("clusters: { a: { bootstrap: x } }\nconsumer: { backoff_ms: '${KPIPE_TEST_LEAK_PW}' }", "consumer.backoff_ms"),
        ];
        for (yaml, path) in cases {
            let e = err(yaml);
            assert_eq!(e.code(), "config.invalid", "{yaml}");
            let text = format!("{e} {e:?}");
            assert!(!text.contains("S3cr3t"), "secret leaked: {text}");
            assert!(e.to_string().starts_with(path), "{yaml}\n=> {e}");
        }
    }

    #[test]
    fn duplicated_keys_are_refused_with_their_path() {
        let e = err("clusters: { a: { bootstrap: x } }\nclusters: { b: { bootstrap: y } }");
        assert!(e.to_string().starts_with("clusters: duplicated key"), "{e}");
        let e = err("clusters:\n  a:\n    bootstrap: x\n    bootstrap: y\n");
        assert!(e.to_string().starts_with("clusters.a.bootstrap: duplicated key"), "{e}");
        let e = err(
            "clusters: { a: { bootstrap: x } }\nroutes:\n  - { topic: t, cluster: a, topic: u }\n",
        );
        assert!(e.to_string().starts_with("routes[0].topic: duplicated key"), "{e}");
    }

    #[test]
    fn librdkafka_properties_and_acks_are_checked_at_load() {
        let e = err("clusters: { a: { bootstrap: x, properties: { no.such.prop: 1 } } }");
        assert!(e.to_string().starts_with("clusters.a.properties.no.such.prop:"), "{e}");
        let e = err("clusters: { a: { bootstrap: x } }\nproducer: { acks: banana }");
        assert!(e.to_string().starts_with("producer.acks: unknown acks \"banana\""), "{e}");
        for acks in ["1", "0", "-1", "all", "'1'"] {
            let c = Config::from_yaml(&format!(
                "clusters: {{ a: {{ bootstrap: x }} }}\nproducer: {{ acks: {acks} }}"
            ))
            .unwrap();
            assert_eq!(c.producer.acks.0, acks.trim_matches('\''));
        }
    }
}
