//! Registry-aware Avro: the one place where subject naming, registration policy, schema ids and
//! compiled schemas meet. Producers ask it for a writer schema and id; consumers ask it for the
//! compiled schema of an id. After the first call per schema nothing here makes an HTTP call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::avro::{self, CompiledSchema, Projection, SubjectStrategy, ValueBuilder, ValueSource};
use crate::compat::{self, Level};
use crate::error::{Error, Result};
use crate::registry::cache::{Origin, SingleFlight};
use crate::registry::{RegistryClient, SchemaReference, SchemaRequest};
use crate::serdes::AvroReader;

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
    /// Benign changes the house policy lets through (none by default): `aliases`, `order`,
    /// `custom-properties`, `default-on-existing`.
    pub policy_allow: compat::PolicyAllow,
}

impl Default for CodecSettings {
    fn default() -> Self {
        Self {
            subject_strategy: SubjectStrategy::Topic,
            auto_register: true,
            use_latest: false,
            policy: Level::AddWithDefaultOnly,
            policy_allow: compat::PolicyAllow::default(),
        }
    }
}

/// A schema ready to write with: its registry id and compiled plan.
/// Cloning is reference-count bumps only.
#[derive(Debug, Clone)]
pub struct WriterSchema {
    /// The subject the schema is registered under.
    pub subject: Arc<str>,
    /// The registry's schema id, written into every record's header.
    pub id: u32,
    /// The compiled schema to encode with.
    pub schema: Arc<CompiledSchema>,
}

type WriterCache = HashMap<String, [TopicWriters; 2]>;

/// How a record written with one schema id is read as a reader schema: `None` when the
/// reader is the writer schema itself (its identity plan), else the projection; the error is
/// kept so every record of that writer fails alike without resolving again.
type ReadAs = Result<Option<Arc<Projection>>>;

/// Projections by (writer id, reader).
#[derive(Default)]
struct Readers {
    /// By (writer id, address of the caller's reader text). The entry keeps its `Arc<str>`
    /// alive, so the address cannot name another text while it is cached; a consumer hands
    /// the same `Arc` for every record, so the hot path hashes two words, not the schema.
    by_text: HashMap<(u32, usize), (Arc<str>, ReadAs)>,
    /// Reader texts compiled once, by text (for other `Arc`s of a known text).
    compiled: HashMap<Box<str>, Arc<CompiledSchema>>,
    /// `reader: latest`: topic -> [value, key] -> writer id -> the projection to the
    /// subject's latest version when the first record of that writer was read.
    latest: HashMap<String, [HashMap<u32, ReadAs>; 2]>,
}

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
    /// Re-verification of cached writer ids (see [`AvroCodec::writer`]).
    verify: Verify,
    /// Writer resolutions in flight, by (topic, is_key, schema text): concurrent first sends
    /// of one schema make one policy check and one registration between them, not one each
    /// (10k sends at start-up made 10k version listings and starved the registry).
    resolving: SingleFlight<(String, bool, String), WriterSchema>,
    /// How records are read as reader schemas.
    readers: Mutex<Readers>,
}

/// When cached writer ids were last confirmed by the registry.
struct Verify {
    created: std::time::Instant,
    /// The registry's failure epoch at the last confirmation.
    epoch: AtomicU64,
    /// When the periodic check is due, in ms since `created`.
    due_ms: AtomicU64,
    /// After a check that could not reach the registry: no new check before this (ms since
    /// `created`), so a registry that is down costs one attempt per few seconds, not one per
    /// record.
    retry_after_ms: AtomicU64,
    /// One check at a time; the others wait for its outcome.
    running: tokio::sync::Mutex<()>,
}

impl AvroCodec {
    /// A codec over `registry`, naming subjects and registering schemas as `settings` say.
    pub fn new(registry: RegistryClient, settings: CodecSettings) -> Self {
        let epoch = AtomicU64::new(registry.failure_epoch());
        let due_ms = AtomicU64::new(interval_ms(&registry));
        let verify = Verify {
            created: std::time::Instant::now(),
            epoch,
            due_ms,
            retry_after_ms: AtomicU64::new(0),
            running: tokio::sync::Mutex::new(()),
        };
        Self {
            registry,
            settings,
            by_id: Mutex::default(),
            writers: Mutex::default(),
            verify,
            resolving: SingleFlight::new(),
            readers: Mutex::default(),
        }
    }

    fn check_due(&self) -> bool {
        let v = &self.verify;
        let now = v.created.elapsed().as_millis() as u64;
        if now < v.retry_after_ms.load(Ordering::Acquire) {
            return false;
        }
        if self.registry.failure_epoch() != v.epoch.load(Ordering::Acquire) {
            return true;
        }
        interval_ms(&self.registry) != u64::MAX && now >= v.due_ms.load(Ordering::Acquire)
    }

    /// Before a cached writer id is used again after a registry failure (or every
    /// `registry.verify_interval_ms`), asks the registry what each cached id names now. An id
    /// it no longer has, or that now names another schema (a registry restarted without its
    /// storage hands ids out again), is dropped from every cache, and a send that would have
    /// written it fails `registry.not_found` instead of writing an id that means something
    /// else (the next send resolves the schema afresh). A registry that cannot be asked keeps
    /// the cache in use (cached schemas keep flowing while it is down).
    async fn verify_writers(&self, topic: &str, is_key: bool) -> Result<()> {
        if !self.check_due() {
            return Ok(());
        }
        // One caller checks; the others keep using the cache meanwhile rather than wait for it,
        // so a binding's no-wait serialize path stays ready for every send but the checker's.
        let Ok(_one) = self.verify.running.try_lock() else { return Ok(()) };
        if !self.check_due() {
            return Ok(()); // checked meanwhile by another caller
        }
        let mut cached: Vec<(u32, Arc<CompiledSchema>)> = Vec::new();
        for sides in self.lock_writers().values() {
            for side in sides {
                for w in side.by_text.values().chain(side.last.iter().map(|(_, w)| w)) {
                    if !cached.iter().any(|(id, _)| *id == w.id) {
                        cached.push((w.id, w.schema.clone()));
                    }
                }
            }
        }
        let mut stale: Vec<(u32, &'static str)> = Vec::new();
        for (id, schema) in &cached {
            match self.registry.schema_now(*id).await {
                Ok(Some(now)) => {
                    let from = format!("schema id {id}");
                    let same = compile_with_references(
                        &self.registry,
                        &now.schema,
                        &now.references,
                        &from,
                    )
                    .await
                    .map(|s| s.canonical_form() == schema.canonical_form())
                    .unwrap_or(false);
                    if !same {
                        stale.push((*id, "now names another schema"));
                    }
                }
                Ok(None) => stale.push((*id, "is no longer known to it")),
                Err(e) => {
                    // not reachable (yet): keep writing with the cache, ask again soon
                    tracing::debug!(target: "kpipe::registry", code = e.code(), "cannot re-check cached schema ids");
                    let soon = (self.verify.created.elapsed().as_millis() as u64)
                        .saturating_add(interval_ms(&self.registry).min(5_000));
                    self.verify.retry_after_ms.store(soon, Ordering::Release);
                    return Ok(());
                }
            }
        }
        self.verify.epoch.store(self.registry.failure_epoch(), Ordering::Release);
        self.verify.retry_after_ms.store(0, Ordering::Release);
        let next = (self.verify.created.elapsed().as_millis() as u64)
            .saturating_add(interval_ms(&self.registry));
        self.verify.due_ms.store(next, Ordering::Release);
        if stale.is_empty() {
            return Ok(());
        }
        let mut mine = None;
        {
            let mut writers = self.lock_writers();
            for (t, sides) in writers.iter_mut() {
                for (k, side) in sides.iter_mut().enumerate() {
                    let hit = |w: &WriterSchema| {
                        stale
                            .iter()
                            .find(|(id, _)| *id == w.id)
                            .map(|(id, why)| (w.subject.clone(), *id, *why))
                    };
                    if t == topic && k == is_key as usize {
                        mine = side
                            .last
                            .as_ref()
                            .and_then(|(_, w)| hit(w))
                            .or_else(|| side.by_text.values().find_map(hit));
                    }
                    side.by_text.retain(|_, w| hit(w).is_none());
                    if side.last.as_ref().is_some_and(|(_, w)| hit(w).is_some()) {
                        side.last = None;
                    }
                }
            }
        }
        for (id, why) in &stale {
            tracing::error!(target: "kpipe::registry", id, why, "a cached schema id changed meaning in the registry; dropped from the cache");
            self.lock_by_id().remove(id);
            self.registry.forget_id(*id);
        }
        match mine {
            Some((subject, id, why)) => Err(Error::RegistryNotFound {
                subject: Some(subject.to_string()),
                what: format!(
                    "schema id {id} cached for subject {subject} {why} in the registry (it lost or reassigned ids); \
                     not writing records with it (the next send resolves the schema again)"
                ),
            }),
            None => Ok(()),
        }
    }

    /// The registry client the codec resolves schemas with.
    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    /// The `schemas:` settings the codec was made with.
    pub fn settings(&self) -> &CodecSettings {
        &self.settings
    }

    /// The writer schema for `topic`'s key or value given the caller's schema text (or, with
    /// `use_latest`, the subject's latest version; then `schema_text` only names the subject
    /// for the record strategies and may be None for the topic strategy).
    pub async fn writer(
        &self,
        topic: &str,
        is_key: bool,
        schema_text: Option<&str>,
    ) -> Result<WriterSchema> {
        self.verify_writers(topic, is_key).await?;
        // With use_latest the latest version is resolved once per process, as Confluent's
        // serializers do by default; "" keys the case without a caller schema.
        let cache_text = schema_text.unwrap_or("");
        if let Some(w) =
            self.lock_writers().get(topic).and_then(|t| t[is_key as usize].by_text.get(cache_text))
        {
            return Ok(w.clone());
        }
        let key = (topic.to_string(), is_key, cache_text.to_string());
        let resolved = self
            .resolving
            .get_or_fetch(&key, || key.clone(), || self.resolve_writer(topic, is_key, schema_text))
            .await;
        if let Ok((_, Origin::Fetched)) = &resolved {
            // the writer cache holds it now; the flight was only there to join the callers
            self.resolving.remove_where(|k| *k == key);
        }
        Ok(resolved?.0)
    }

    /// The uncached path of [`writer`](Self::writer): subject, policy check and registration
    /// (or the subject's latest), then the writer cache.
    async fn resolve_writer(
        &self,
        topic: &str,
        is_key: bool,
        schema_text: Option<&str>,
    ) -> Result<WriterSchema> {
        let cache_text = schema_text.unwrap_or("");
        let caller_schema = schema_text.map(CompiledSchema::parse).transpose()?;
        let record_name = caller_schema.as_ref().and_then(|s| s.name().map(str::to_string));
        let subject: Arc<str> =
            self.settings.subject_strategy.subject(topic, is_key, record_name.as_deref())?.into();

        let writer = if self.settings.use_latest {
            let latest = self.registry.latest(&subject).await?;
            WriterSchema { subject, id: latest.id, schema: self.compiled(latest.id).await? }
        } else {
            let schema = Arc::new(caller_schema.ok_or_else(|| Error::SchemaInvalid {
                reason: format!("no schema given for {subject} and schemas.use_latest is off"),
                subject: Some(subject.to_string()),
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
        self.lock_writers().entry(topic.to_string()).or_default()[is_key as usize]
            .by_text
            .insert(cache_text.into(), writer.clone());
        Ok(writer)
    }

    /// [`writer`](Self::writer) for a schema text the caller shares as an `Arc<str>` for many
    /// records: found by pointer after the first call.
    pub async fn writer_shared(
        &self,
        topic: &str,
        is_key: bool,
        schema_text: &Arc<str>,
    ) -> Result<WriterSchema> {
        self.verify_writers(topic, is_key).await?;
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

    /// Registers `request` (its references included) under `subject` after the configured
    /// policy check, which compares the schema compiled with its references against the
    /// subject's versions compiled with theirs. Returns the id. A reference the registry does
    /// not have is `registry.not_found` naming the referenced subject.
    pub async fn register(&self, subject: &str, request: &SchemaRequest) -> Result<u32> {
        let from = format!("the schema for subject {subject}");
        let new =
            compile_with_references(&self.registry, &request.schema, &request.references, &from)
                .await?;
        self.check_policy(subject, &new).await?;
        let id = self.registry.register_schema(subject, request).await?;
        self.lock_by_id().entry(id).or_insert_with(|| Arc::new(new));
        Ok(id)
    }

    /// Runs the configured policy against the subject's registered versions (the latest, or
    /// all of them for transitive levels). A subject with no versions passes.
    async fn check_policy(&self, subject: &str, new: &CompiledSchema) -> Result<()> {
        if self.settings.policy == Level::None {
            return Ok(());
        }
        let previous: Vec<_> = previous_versions(&self.registry, subject, self.settings.policy)
            .await?
            .into_iter()
            .map(|(_, s)| s.schema().clone())
            .collect();
        compat::enforce_for_subject_allowing(
            subject,
            self.settings.policy,
            self.settings.policy_allow,
            new.schema(),
            &previous,
        )
    }

    /// The compiled schema registered with `id` (fetched and compiled once).
    pub async fn compiled(&self, id: u32) -> Result<Arc<CompiledSchema>> {
        if let Some(s) = self.lock_by_id().get(&id) {
            return Ok(s.clone());
        }
        let registered = self.registry.schema_with_references(id).await?;
        let from = format!("schema id {id}");
        let compiled = Arc::new(
            compile_with_references(
                &self.registry,
                &registered.schema,
                &registered.references,
                &from,
            )
            .await?,
        );
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
        avro::decode_framed_body(&writer, reader, body, builder)
    }

    /// Decodes a Confluent-framed payload of `topic`'s key (`is_key`) or value as `reader`
    /// says: projected to `schema` (`AvroReader::Schema` with a schema), to the subject's
    /// latest version (`AvroReader::Latest`), or as written. Projections are built once per
    /// (writer id, reader) and cached; after the first record nothing here awaits I/O.
    /// A reader the writer cannot be resolved to is `serde.decode` naming both schemas.
    pub async fn decode_as<B: ValueBuilder>(
        &self,
        payload: &[u8],
        topic: &str,
        is_key: bool,
        schema: Option<&Arc<str>>,
        reader: AvroReader,
        builder: &mut B,
    ) -> Result<B::Value> {
        let (id, body) = avro::split_header(payload)?;
        let writer = self.compiled(id).await?;
        let projection = self.read_as(id, &writer, topic, is_key, schema, reader).await?;
        match projection {
            None => avro::decode_framed_body(&writer, None, body, builder),
            Some(p) => p.decode(&avro::framed_body(&writer, body), builder),
        }
    }

    /// Resolves (and caches) how records of writer `id` are read; what
    /// [`decode_as`](Self::decode_as) uses and a binding's warm-up fetches ahead.
    pub async fn read_as(
        &self,
        id: u32,
        writer: &CompiledSchema,
        topic: &str,
        is_key: bool,
        schema: Option<&Arc<str>>,
        reader: AvroReader,
    ) -> ReadAs {
        match (reader, schema) {
            (AvroReader::Writer, _) | (AvroReader::Schema, None) => Ok(None),
            (AvroReader::Schema, Some(text)) => {
                let key = (id, Arc::as_ptr(text) as *const u8 as usize);
                if let Some((_, got)) = self.lock_readers().by_text.get(&key) {
                    return got.clone();
                }
                let known = self.lock_readers().compiled.get(&**text).cloned();
                let compiled = match known {
                    Some(c) => c,
                    None => {
                        let c = Arc::new(CompiledSchema::parse(text).map_err(|e| match e {
                            Error::SchemaInvalid { reason, subject } => Error::SchemaInvalid {
                                reason: format!("the reader schema: {reason}"),
                                subject,
                            },
                            e => e,
                        })?);
                        self.lock_readers().compiled.insert((**text).into(), c.clone());
                        c
                    }
                };
                let got = project(id, writer, &compiled, "the reader schema");
                self.lock_readers().by_text.insert(key, (text.clone(), got.clone()));
                got
            }
            (AvroReader::Latest, _) => {
                let hit = self
                    .lock_readers()
                    .latest
                    .get(topic)
                    .and_then(|t| t[is_key as usize].get(&id).cloned());
                if let Some(got) = hit {
                    return got;
                }
                let subject =
                    self.settings.subject_strategy.subject(topic, is_key, writer.name())?;
                let latest = self.registry.latest(&subject).await?;
                let got = if latest.id == id {
                    Ok(None)
                } else {
                    let compiled = self.compiled(latest.id).await?;
                    let what = format!(
                        "the latest schema of subject {subject} (version {}, id {})",
                        latest.version, latest.id
                    );
                    project(id, writer, &compiled, &what)
                };
                self.lock_readers().latest.entry(topic.to_string()).or_default()[is_key as usize]
                    .insert(id, got.clone());
                got
            }
        }
    }

    fn lock_readers(&self) -> std::sync::MutexGuard<'_, Readers> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_by_id(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<CompiledSchema>>> {
        // A poisoned map still holds valid entries: every insert is a single statement.
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_writers(&self) -> std::sync::MutexGuard<'_, WriterCache> {
        self.writers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The projection from writer `id` to `reader` (None when they are the same schema); a reader
/// the writer cannot be resolved to is `serde.decode` saying which reader (`what`).
fn project(id: u32, writer: &CompiledSchema, reader: &CompiledSchema, what: &str) -> ReadAs {
    if writer.canonical_form() == reader.canonical_form() {
        return Ok(None);
    }
    match Projection::new(writer, reader) {
        Ok(p) => Ok(Some(Arc::new(p))),
        Err(Error::SerdeDecode { reason }) => Err(Error::SerdeDecode {
            reason: format!("schema id {id} cannot be read as {what}: {reason}"),
        }),
        Err(e) => Err(e),
    }
}

/// The versions of `subject` a check at `level` compares with (the latest, or all of them for
/// transitive levels), oldest first, each compiled with its references. A subject the registry
/// does not know has none.
pub async fn previous_versions(
    registry: &RegistryClient,
    subject: &str,
    level: Level,
) -> Result<Vec<(i32, CompiledSchema)>> {
    let versions = match registry.versions(subject).await {
        Ok(v) => v,
        Err(Error::RegistryNotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let wanted: Vec<i32> = if level.is_transitive() {
        let mut v = versions;
        v.sort_unstable();
        v
    } else {
        versions.into_iter().max().into_iter().collect()
    };
    let mut previous = Vec::with_capacity(wanted.len());
    for v in wanted {
        let sv = registry.subject_version(subject, v).await?;
        let from = format!("subject {subject} version {v}");
        previous
            .push((v, compile_with_references(registry, &sv.schema, &sv.references, &from).await?));
    }
    Ok(previous)
}

/// Compiles `text` with the named types its `references` bring from other subjects, resolved
/// recursively (each referenced version fetched once by subject and version, then cached by
/// the registry client). `from` says whose references they are, for messages. A reference the
/// registry does not have is `registry.not_found`, a cycle of references `schema.invalid`,
/// both naming the referenced subject.
pub async fn compile_with_references(
    registry: &RegistryClient,
    text: &str,
    references: &[SchemaReference],
    from: &str,
) -> Result<CompiledSchema> {
    if references.is_empty() {
        return CompiledSchema::parse(text);
    }
    let mut texts: Vec<String> = Vec::new();
    let mut done: Vec<(String, i32)> = Vec::new();
    let mut path: Vec<(String, i32)> = Vec::new();
    collect_references(registry, references, from, &mut path, &mut done, &mut texts).await?;
    let named: Vec<&str> = texts.iter().map(String::as_str).collect();
    CompiledSchema::parse_with_references(text, &named).map_err(|e| match e {
        Error::SchemaInvalid { reason, subject } => Error::SchemaInvalid {
            reason: format!("{from} with its references: {reason}"),
            subject,
        },
        e => e,
    })
}

/// Depth first: a referenced schema's own references come before it in `texts`.
fn collect_references<'a>(
    registry: &'a RegistryClient,
    references: &'a [SchemaReference],
    from: &'a str,
    path: &'a mut Vec<(String, i32)>,
    done: &'a mut Vec<(String, i32)>,
    texts: &'a mut Vec<String>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        for r in references {
            let key = (r.subject.clone(), r.version);
            if path.contains(&key) {
                let chain: Vec<String> =
                    path.iter().map(|(s, v)| format!("{s} version {v}")).collect();
                return Err(Error::SchemaInvalid {
                    reason: format!(
                        "schema references form a cycle: {} -> {} version {} (reference {})",
                        chain.join(" -> "),
                        r.subject,
                        r.version,
                        r.name
                    ),
                    subject: Some(r.subject.clone()),
                });
            }
            if done.contains(&key) {
                continue;
            }
            if path.len() >= 64 {
                return Err(Error::SchemaInvalid {
                    reason: format!("schema references nest deeper than 64 at {from}"),
                    subject: Some(r.subject.clone()),
                });
            }
            let sv =
                registry.subject_version(&r.subject, r.version).await.map_err(|e| match e {
                    Error::RegistryNotFound { what, .. } => Error::RegistryNotFound {
                        what: format!(
                            "schema reference {} of {from}: subject {} version {} ({what})",
                            r.name, r.subject, r.version
                        ),
                        subject: Some(r.subject.clone()),
                    },
                    e => e,
                })?;
            let here = format!("subject {} version {}", r.subject, r.version);
            path.push(key.clone());
            let inner =
                collect_references(registry, &sv.references, &here, path, done, texts).await;
            path.pop();
            inner?;
            done.push(key);
            texts.push(sv.schema);
        }
        Ok(())
    })
}

/// The periodic check interval in ms (`u64::MAX`: off).
fn interval_ms(registry: &RegistryClient) -> u64 {
    match registry.verify_interval().as_millis() as u64 {
        0 => u64::MAX,
        ms => ms,
    }
}
