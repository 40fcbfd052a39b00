//! Registry-aware Avro: the one place where subject naming, registration policy, schema ids and
//! compiled schemas meet. Producers ask it for a writer schema and id; consumers ask it for the
//! compiled schema of an id. After the first call per schema nothing here makes an HTTP call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::avro::{self, CompiledSchema, SubjectStrategy, ValueBuilder, ValueSource};
use crate::compat::{self, Level};
use crate::error::{Error, Result};
use crate::registry::RegistryClient;

/// How a codec names subjects and registers schemas: the `schemas:` section of kpipe.yaml.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodecSettings {
    /// `topic` ({topic}-value), `record` (record full name), `topic-record`.
    pub subject_strategy: SubjectStrategy,
    /// Register a schema the subject does not have yet (after the policy check).
    pub auto_register: bool,
    /// Write with the subject's latest registered schema instead of the caller's.
    pub use_latest: bool,
    /// Checked client-side before registering.
    pub policy: Level,
}

impl Default for CodecSettings {
    fn default() -> Self {
        Self {
            subject_strategy: SubjectStrategy::Topic,
            auto_register: true,
            use_latest: false,
            policy: Level::AddWithDefaultOnly,
        }
    }
}

/// A schema ready to write with: its registry id and compiled plan.
/// Cloning is reference-count bumps only.
#[derive(Debug, Clone)]
pub struct WriterSchema {
    pub subject: Arc<str>,
    pub id: u32,
    pub schema: Arc<CompiledSchema>,
}

type WriterCache = HashMap<String, [TopicWriters; 2]>;

/// The writers of one topic's keys or values.
#[derive(Default)]
struct TopicWriters {
    /// By the caller's schema text.
    by_text: HashMap<Box<str>, WriterSchema>,
    /// The last shared schema text asked for, compared by pointer: a producer hands the same
    /// `Arc<str>` for every record, so the hot path skips hashing the whole text.
    last: Option<(Arc<str>, WriterSchema)>,
}

/// Registry-aware Avro encoding and decoding; cheap to share (`Arc` inside the registry client,
/// caches behind mutexes held only for map lookups).
pub struct AvroCodec {
    registry: RegistryClient,
    settings: CodecSettings,
    /// schema id -> compiled writer schema (ids never change meaning).
    by_id: Mutex<HashMap<u32, Arc<CompiledSchema>>>,
    /// topic -> [value, key] -> caller's schema text -> writer. Nested so the hot path looks up
    /// borrowed `&str`s without allocating; the text is the caller's, unnormalised.
    writers: Mutex<WriterCache>,
}

impl AvroCodec {
    pub fn new(registry: RegistryClient, settings: CodecSettings) -> Self {
        Self { registry, settings, by_id: Mutex::default(), writers: Mutex::default() }
    }

    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    pub fn settings(&self) -> &CodecSettings {
        &self.settings
    }

    /// The writer schema for `topic`'s key or value given the caller's schema text (or, with
    /// `use_latest`, the subject's latest version; then `schema_text` only names the subject
    /// for the record strategies and may be None for the topic strategy).
    pub async fn writer(&self, topic: &str, is_key: bool, schema_text: Option<&str>) -> Result<WriterSchema> {
        // With use_latest the latest version is resolved once per process, as Confluent's
        // serializers do by default; "" keys the case without a caller schema.
        let cache_text = schema_text.unwrap_or("");
        if let Some(w) = self.lock_writers().get(topic).and_then(|t| t[is_key as usize].by_text.get(cache_text)) {
            return Ok(w.clone());
        }
        let caller_schema = schema_text.map(CompiledSchema::parse).transpose()?;
        let record_name = caller_schema.as_ref().and_then(|s| s.name().map(str::to_string));
        let subject: Arc<str> = self.settings.subject_strategy.subject(topic, is_key, record_name.as_deref())?.into();

        let writer = if self.settings.use_latest {
            let latest = self.registry.latest(&subject).await?;
            WriterSchema { subject, id: latest.id, schema: self.compiled(latest.id).await? }
        } else {
            let schema = Arc::new(caller_schema.ok_or_else(|| Error::SchemaInvalid {
                reason: format!("no schema given for {subject} and schemas.use_latest is off"),
            })?);
            let text = schema_text.unwrap_or_default();
            let id = if self.settings.auto_register {
                self.check_policy(&subject, &schema).await?;
                self.registry.register(&subject, text).await?
            } else {
                self.registry.lookup(&subject, text).await?.id
            };
            self.lock_by_id().entry(id).or_insert_with(|| schema.clone());
            WriterSchema { subject, id, schema }
        };
        self.lock_writers().entry(topic.to_string()).or_default()[is_key as usize].by_text.insert(cache_text.into(), writer.clone());
        Ok(writer)
    }

    /// [`writer`](Self::writer) for a schema text the caller shares as an `Arc<str>` for many
    /// records: found by pointer after the first call.
    pub async fn writer_shared(&self, topic: &str, is_key: bool, schema_text: &Arc<str>) -> Result<WriterSchema> {
        let last = self.lock_writers().get(topic).and_then(|t| t[is_key as usize].last.clone());
        if let Some((text, w)) = last {
            if Arc::ptr_eq(&text, schema_text) {
                return Ok(w);
            }
        }
        let w = self.writer(topic, is_key, Some(schema_text)).await?;
        self.lock_writers().entry(topic.to_string()).or_default()[is_key as usize].last =
            Some((schema_text.clone(), w.clone()));
        Ok(w)
    }

    /// Runs the configured policy against the subject's registered versions (the latest, or
    /// all of them for transitive levels). A subject with no versions passes.
    async fn check_policy(&self, subject: &str, new: &CompiledSchema) -> Result<()> {
        if self.settings.policy == Level::None {
            return Ok(());
        }
        let versions = match self.registry.versions(subject).await {
            Ok(v) => v,
            Err(Error::RegistryNotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let wanted: Vec<i32> = if self.settings.policy.is_transitive() {
            versions
        } else {
            versions.into_iter().max().into_iter().collect()
        };
        let mut previous = Vec::with_capacity(wanted.len());
        for v in wanted {
            let sv = self.registry.subject_version(subject, v).await?;
            previous.push(avro::parse_schema(&sv.schema)?);
        }
        compat::enforce_for_subject(subject, self.settings.policy, new.schema(), &previous)
    }

    /// The compiled schema registered with `id` (fetched and compiled once).
    pub async fn compiled(&self, id: u32) -> Result<Arc<CompiledSchema>> {
        if let Some(s) = self.lock_by_id().get(&id) {
            return Ok(s.clone());
        }
        let text = self.registry.schema(id).await?;
        let compiled = Arc::new(CompiledSchema::parse(&text)?);
        Ok(self.lock_by_id().entry(id).or_insert(compiled).clone())
    }

    /// Encodes `value` as a Confluent-framed payload for `topic` into `out` (appended).
    pub async fn encode<S: ValueSource>(
        &self,
        topic: &str,
        is_key: bool,
        schema_text: Option<&str>,
        value: &S,
        out: &mut Vec<u8>,
    ) -> Result<WriterSchema> {
        let writer = self.writer(topic, is_key, schema_text).await?;
        avro::encode_framed(writer.id, &writer.schema, value, out)?;
        Ok(writer)
    }

    /// Decodes a Confluent-framed payload with its writer schema (fetched by id), optionally
    /// projected to `reader`.
    pub async fn decode<B: ValueBuilder>(
        &self,
        payload: &[u8],
        reader: Option<&CompiledSchema>,
        builder: &mut B,
    ) -> Result<B::Value> {
        let (id, body) = avro::split_header(payload)?;
        let writer = self.compiled(id).await?;
        avro::decode(&writer, reader, body, builder)
    }

    fn lock_by_id(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<CompiledSchema>>> {
        // A poisoned map still holds valid entries: every insert is a single statement.
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_writers(&self) -> std::sync::MutexGuard<'_, WriterCache> {
        self.writers.lock().unwrap_or_else(|p| p.into_inner())
    }
}
