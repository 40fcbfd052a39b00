//! Client for the Confluent schema-registry REST API (Confluent Schema Registry, Apicurio's
//! ccompat API, Karapace, Redpanda). HTTP status codes map to typed errors here, once.
//!
//! - [`config`]: [`RegistryConfig`], the `registry:` section of kpipe.yaml.
//! - `transport`: failover URLs, auth headers, retries (exponential backoff, full jitter,
//!   deadline), status -> error mapping.
//! - `cache`: single-flight in-memory caches (id -> schema, (subject, schema) -> id,
//!   (subject, version) -> schema).
//! - `disk`: the optional on-disk cache that lets a process start while the registry is down.
//!
//! docs/registry.md describes the behaviour for users.

pub(crate) mod cache;
pub mod config;
mod disk;
#[cfg(test)]
mod tests;
mod transport;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};

pub use config::{BasicAuth, RegistryConfig, RegistryUrls, RetryConfig, Secret, TlsConfig};

use crate::compat::Level;
use crate::error::{Error, Result};
use cache::{Origin, Pair, SingleFlight, SubjectVersionKey};
use disk::DiskCache;
use transport::{encode, CallError, Counters, Req, Transport};

/// A schema as the registry returns it for a subject version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubjectVersion {
    /// The subject the schema is registered under.
    pub subject: String,
    /// The subject's version number, from 1.
    pub version: i32,
    /// The registry's global schema id.
    pub id: u32,
    /// The schema text as the registry stores it.
    pub schema: String,
    /// `AVRO` when absent (Confluent omits it for Avro).
    #[serde(default, rename = "schemaType")]
    pub schema_type: Option<String>,
    /// The schemas it references, by subject version.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
}

/// A reference from one schema to a named type registered under another subject version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The full name of the named type the referring schema uses (`com.acme.Address`).
    pub name: String,
    /// The subject the type is registered under.
    pub subject: String,
    /// The version of that subject.
    pub version: i32,
}

/// `NAME=SUBJECT:VERSION` (the CLI's `--reference`): the version is after the last `:`, so a
/// subject may contain colons. A malformed text is `input.invalid`.
impl std::str::FromStr for SchemaReference {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::InputInvalid {
            what: format!("schema reference {text:?}"),
            reason: format!(
                "{why} (expected NAME=SUBJECT:VERSION, e.g. com.acme.Address=address-value:1)"
            ),
        };
        let (name, rest) = text.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (subject, version) = rest.rsplit_once(':').ok_or_else(|| bad("no `:VERSION`"))?;
        let version: i32 =
            version.trim().parse().map_err(|_| bad("the version is not a number"))?;
        let (name, subject) = (name.trim(), subject.trim());
        if name.is_empty() || subject.is_empty() || version < 1 {
            return Err(bad("name and subject must not be empty and the version is at least 1"));
        }
        Ok(SchemaReference { name: name.into(), subject: subject.into(), version })
    }
}

/// A schema as registered under an id: its text and the references its named types resolve
/// through (empty for a self-contained schema). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// The schema text as registered.
    pub schema: Arc<str>,
    /// Where its named types from other subjects are registered.
    pub references: Arc<[SchemaReference]>,
}

/// The body of a register / lookup / compatibility request. `schema_type` and `references` are
/// passed through unchanged; both absent means a plain Avro schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct SchemaRequest {
    /// The schema text.
    pub schema: String,
    /// The registry's `schemaType` (`AVRO`, `PROTOBUF`, `JSON`); None for Avro.
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// The schemas it references, by subject version.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

impl SchemaRequest {
    /// A plain Avro schema.
    pub fn avro(schema: impl Into<String>) -> Self {
        SchemaRequest { schema: schema.into(), schema_type: None, references: Vec::new() }
    }

    /// The cache key: the schema text itself for plain Avro, else the whole request as JSON.
    fn cache_key(&self) -> Cow<'_, str> {
        let plain_type = self.schema_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("AVRO"));
        if plain_type && self.references.is_empty() {
            Cow::Borrowed(&self.schema)
        } else {
            Cow::Owned(serde_json::to_string(self).expect("a SchemaRequest serializes"))
        }
    }
}

impl From<&str> for SchemaRequest {
    fn from(schema: &str) -> Self {
        SchemaRequest::avro(schema)
    }
}

/// The answer of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CompatibilityCheck {
    /// True when the registry finds the schema compatible with the subject.
    pub is_compatible: bool,
    /// The registry's reasons, when it gives them (Confluent with `verbose=true`; Apicurio 3
    /// gives none).
    #[serde(default)]
    pub messages: Vec<String>,
}

/// Counters of one client (and its clones), for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryStats {
    /// HTTP attempts sent, retries included.
    pub http_requests: u64,
    /// Attempts that were retried after a transient failure.
    pub retries: u64,
    /// Cached lookups answered from memory (or by joining an in-flight fetch).
    pub cache_hits: u64,
    /// Cached lookups that had to fetch.
    pub cache_misses: u64,
    /// Answers served from the on-disk cache.
    pub disk_hits: u64,
}

/// A schema registry client. Cheap to clone (one `Arc`); clones share caches and counters.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    counters: Counters,
    /// id -> schema text and references (ids are immutable).
    ids: SingleFlight<u32, RegisteredSchema>,
    /// (subject, schema key) -> id, from registrations.
    registered: SingleFlight<(String, String), u32>,
    /// (subject, schema key) -> subject version, from lookups.
    lookups: SingleFlight<(String, String), Arc<SubjectVersion>>,
    /// (subject, fixed version >= 1) -> subject version.
    versions: SingleFlight<(String, i32), Arc<SubjectVersion>>,
    /// subject -> (fetched at, latest), only when `latest_ttl` > 0.
    latest: Mutex<HashMap<String, (Instant, Arc<SubjectVersion>)>>,
    latest_ttl: Duration,
    /// schema id -> when the registry said 404 for it, kept `not_found_ttl` (0: not kept), so
    /// a stream of records with an unknown id costs one request per TTL, not one per record.
    not_found: Mutex<HashMap<u32, Instant>>,
    not_found_ttl: Duration,
    disk: Option<DiskCache>,
    /// The first base URL, without credentials.
    base: String,
    verify_interval: Duration,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("urls", &self.inner.transport.bases().collect::<Vec<_>>())
            .field("disk_cache", &self.inner.disk.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct IdBody {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: String,
    #[serde(default)]
    references: Vec<SchemaReference>,
}

impl SchemaOnly {
    fn registered(self) -> RegisteredSchema {
        RegisteredSchema { schema: self.schema.into(), references: self.references.into() }
    }
}

/// `GET /config` answers `compatibilityLevel`, `PUT /config` answers `compatibility`.
#[derive(Deserialize)]
struct ConfigBody {
    #[serde(alias = "compatibilityLevel")]
    compatibility: Level,
}

#[derive(Serialize)]
struct ConfigRequest {
    compatibility: Level,
}

impl RegistryClient {
    /// A client for one base URL (e.g. `http://127.0.0.1:18081/apis/ccompat/v7`) with defaults.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::from_config(&RegistryConfig::new(base_url))
    }

    /// A client for the `registry:` section; `config.invalid`, naming the key, for a setting it
    /// cannot use (no URL, both `basic_auth` and `bearer_token`, a `cache_dir` it cannot create).
    pub fn from_config(cfg: &RegistryConfig) -> Result<Self> {
        let transport = Transport::new(cfg)?;
        let disk = cfg.cache_dir.as_deref().map(DiskCache::open).transpose()?;
        let base = transport.bases().next().unwrap_or_default().to_string();
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                transport,
                counters: Counters::default(),
                ids: SingleFlight::new(),
                registered: SingleFlight::new(),
                lookups: SingleFlight::new(),
                versions: SingleFlight::new(),
                latest: Mutex::new(HashMap::new()),
                latest_ttl: Duration::from_millis(cfg.latest_ttl_ms),
                not_found: Mutex::new(HashMap::new()),
                not_found_ttl: Duration::from_millis(cfg.not_found_ttl_ms),
                disk,
                base,
                verify_interval: Duration::from_millis(cfg.verify_interval_ms),
            }),
        })
    }

    /// Moves whenever a registry call fails (unreachable, 5xx, timeout): cached ids may be
    /// stale once it has moved (a registry that restarted without its storage reuses ids).
    pub fn failure_epoch(&self) -> u64 {
        self.inner.counters.failures.load(Ordering::Relaxed)
    }

    /// `registry.verify_interval_ms` (zero: no periodic check).
    pub fn verify_interval(&self) -> Duration {
        self.inner.verify_interval
    }

    /// What the registry says `id` names right now (text and references): one attempt, no
    /// cache. `Ok(None)` when it has no such id; `registry.unavailable` when it could not be
    /// asked.
    pub async fn schema_now(&self, id: u32) -> Result<Option<RegisteredSchema>> {
        let what = format!("re-checking schema id {id}");
        match self.call(Method::GET, format!("/schemas/ids/{id}"), None, &what, Some(1)).await {
            Ok(b) => Ok(Some(parse::<SchemaOnly>(&b, &what)?.registered())),
            Err(CallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e.into_error(&what, "")),
        }
    }

    /// Forgets every cached answer that involves `id` (the registry lost or reassigned it).
    pub fn forget_id(&self, id: u32) {
        let inner = &self.inner;
        inner.ids.remove_where(|k| *k == id);
        inner.registered.remove_where_value(|v| *v == id);
        inner.lookups.remove_where_value(|v| v.id == id);
        inner.versions.remove_where_value(|v| v.id == id);
        lock(&inner.latest).retain(|_, (_, sv)| sv.id != id);
        lock(&inner.not_found).remove(&id);
    }

    /// The (first) base URL, without credentials.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The counters of this client and its clones so far.
    pub fn stats(&self) -> RegistryStats {
        let c = &self.inner.counters;
        RegistryStats {
            http_requests: c.http_requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            cache_misses: c.cache_misses.load(Ordering::Relaxed),
            disk_hits: c.disk_hits.load(Ordering::Relaxed),
        }
    }

    // ---- schemas by id ---------------------------------------------------------------------

    /// The schema text registered with `id` (cached; `serde.unknown_schema_id` if none).
    pub async fn schema_by_id(&self, id: u32) -> Result<String> {
        Ok(self.schema(id).await?.to_string())
    }

    /// The schema text registered with `id`, shared. After the first call for an id this makes
    /// no HTTP request and does not allocate. Its references: [`schema_with_references`].
    ///
    /// [`schema_with_references`]: Self::schema_with_references
    pub async fn schema(&self, id: u32) -> Result<Arc<str>> {
        Ok(self.schema_with_references(id).await?.schema)
    }

    /// The schema registered with `id` with the references its named types resolve through
    /// (cached as [`schema`](Self::schema) is).
    pub async fn schema_with_references(&self, id: u32) -> Result<RegisteredSchema> {
        let inner = &self.inner;
        if !inner.not_found_ttl.is_zero() {
            let mut nf = lock(&inner.not_found);
            match nf.get(&id) {
                Some(at) if at.elapsed() < inner.not_found_ttl => {
                    drop(nf);
                    self.count(Origin::Cached);
                    return Err(Error::SerdeUnknownSchemaId { id });
                }
                Some(_) => {
                    nf.remove(&id);
                }
                None => {}
            }
        }
        let fetched = inner
            .ids
            .get_or_fetch(
                &id,
                || id,
                || async {
                    // Ids never change meaning, so a disk entry is served without asking the registry.
                    if let Some(known) = inner.disk.as_ref().and_then(|d| d.schema(id)) {
                        inner.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(known);
                    }
                    let what = format!("schema id {id}");
                    let body = self
                        .call(Method::GET, format!("/schemas/ids/{id}"), None, &what, None)
                        .await;
                    let body: SchemaOnly = match body {
                        Ok(b) => parse(&b, &what)?,
                        Err(CallError::Status { status: 404, .. }) => {
                            return Err(Error::SerdeUnknownSchemaId { id })
                        }
                        Err(e) => return Err(e.into_error(&what, "")),
                    };
                    let registered = body.registered();
                    if let Some(d) = &inner.disk {
                        d.put_schema(id, &registered);
                    }
                    Ok(registered)
                },
            )
            .await;
        // Only a 404 is remembered: an outage or timeout is asked again on the next call.
        let (text, origin) = fetched.inspect_err(|e| {
            if matches!(e, Error::SerdeUnknownSchemaId { .. }) && !inner.not_found_ttl.is_zero() {
                lock(&inner.not_found).insert(id, Instant::now());
            }
        })?;
        self.count(origin);
        Ok(text)
    }

    // ---- register and look up ----------------------------------------------------------------

    /// Registers an Avro `schema` under `subject` (or finds it there) and returns its id.
    /// Cached per (subject, schema): after the first call this makes no HTTP request.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32> {
        if let Some(id) = self.inner.registered.get(&Pair(subject, schema)) {
            self.count(Origin::Cached);
            return Ok(id);
        }
        self.register_schema(subject, &SchemaRequest::avro(schema)).await
    }

    /// Registers with `schemaType` / `references` passed through; returns the id.
    pub async fn register_schema(&self, subject: &str, request: &SchemaRequest) -> Result<u32> {
        let inner = &self.inner;
        let key = request.cache_key();
        let (id, origin) = inner
            .registered
            .get_or_fetch(
                &Pair(subject, &key),
                || (subject.to_string(), key.to_string()),
                || async {
                    let known = inner.disk.as_ref().and_then(|d| d.subject(subject, &key));
                    let what = format!("registering a schema under subject {subject}");
                    let path = format!("/subjects/{}/versions", encode(subject));
                    // With a disk answer at hand, one attempt: if it fails transiently, serve the disk.
                    let attempts = known.as_ref().map(|_| 1);
                    match self.call(Method::POST, path, Some(json(request)), &what, attempts).await
                    {
                        Ok(b) => {
                            let id = parse::<IdBody>(&b, &what)?.id;
                            if let Some(d) = &inner.disk {
                                d.put_subject(subject, &key, id, None);
                            }
                            // Our own registration may be a new latest version, and the id exists
                            // now: neither a cached `latest` nor a remembered 404 may hide that.
                            lock(&inner.latest).remove(subject);
                            lock(&inner.not_found).remove(&id);
                            Ok(id)
                        }
                        Err(CallError::Unavailable(reason)) => match known {
                            Some(entry) => {
                                self.served_from_disk(&what, &reason);
                                Ok(entry.id)
                            }
                            None => Err(Error::RegistryUnavailable { reason }),
                        },
                        Err(e) => Err(e.into_error(&format!("subject {subject}"), subject)),
                    }
                },
            )
            .await?;
        self.count(origin);
        Ok(id)
    }

    /// Finds `schema` (Avro) under `subject` without registering it: its version and id.
    /// `registry.not_found` if the subject does not exist or does not hold the schema.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<SubjectVersion> {
        if let Some(sv) = self.inner.lookups.get(&Pair(subject, schema)) {
            self.count(Origin::Cached);
            return Ok((*sv).clone());
        }
        self.lookup_schema(subject, &SchemaRequest::avro(schema)).await
    }

    /// [`RegistryClient::lookup`] with `schemaType` / `references` passed through.
    pub async fn lookup_schema(
        &self,
        subject: &str,
        request: &SchemaRequest,
    ) -> Result<SubjectVersion> {
        let inner = &self.inner;
        let key = request.cache_key();
        let (sv, origin) = inner
            .lookups
            .get_or_fetch(
                &Pair(subject, &key),
                || (subject.to_string(), key.to_string()),
                || async {
                    let known = inner
                        .disk
                        .as_ref()
                        .and_then(|d| d.subject(subject, &key))
                        .filter(|e| e.version.is_some());
                    let what = format!("looking up a schema under subject {subject}");
                    let path = format!("/subjects/{}", encode(subject));
                    let attempts = known.as_ref().map(|_| 1);
                    match self.call(Method::POST, path, Some(json(request)), &what, attempts).await
                    {
                        Ok(b) => {
                            let sv: SubjectVersion = parse(&b, &what)?;
                            if let Some(d) = &inner.disk {
                                d.put_subject(subject, &key, sv.id, Some(sv.version));
                            }
                            Ok(Arc::new(sv))
                        }
                        Err(CallError::Unavailable(reason)) => match known {
                            Some(entry) => {
                                self.served_from_disk(&what, &reason);
                                Ok(Arc::new(SubjectVersion {
                                    subject: subject.to_string(),
                                    version: entry.version.unwrap_or_default(),
                                    id: entry.id,
                                    schema: request.schema.clone(),
                                    schema_type: request.schema_type.clone(),
                                    references: request.references.clone(),
                                }))
                            }
                            None => Err(Error::RegistryUnavailable { reason }),
                        },
                        Err(e) => {
                            Err(e.into_error(&format!("schema under subject {subject}"), subject))
                        }
                    }
                },
            )
            .await?;
        self.count(origin);
        Ok((*sv).clone())
    }

    // ---- subjects and versions ---------------------------------------------------------------

    /// Version `version` (>= 1) of `subject`. Cached: a fixed version never changes.
    pub async fn subject_version(&self, subject: &str, version: i32) -> Result<SubjectVersion> {
        if version < 1 {
            // -1 means "latest" to Confluent; never cache it.
            return self.fetch_version(subject, &version.to_string()).await;
        }
        let (sv, origin) = self
            .inner
            .versions
            .get_or_fetch(
                &SubjectVersionKey(subject, version),
                || (subject.to_string(), version),
                || async { self.fetch_version(subject, &version.to_string()).await.map(Arc::new) },
            )
            .await?;
        self.count(origin);
        Ok((*sv).clone())
    }

    /// The latest version registered under `subject`. Not cached unless `latest_ttl_ms` > 0.
    pub async fn latest(&self, subject: &str) -> Result<SubjectVersion> {
        let ttl = self.inner.latest_ttl;
        if !ttl.is_zero() {
            let hit = lock(&self.inner.latest)
                .get(subject)
                .filter(|(at, _)| at.elapsed() < ttl)
                .map(|(_, sv)| sv.clone());
            if let Some(sv) = hit {
                self.count(Origin::Cached);
                return Ok((*sv).clone());
            }
        }
        let sv = self.fetch_version(subject, "latest").await?;
        if !ttl.is_zero() {
            self.count(Origin::Fetched);
            lock(&self.inner.latest)
                .insert(subject.to_string(), (Instant::now(), Arc::new(sv.clone())));
        }
        Ok(sv)
    }

    async fn fetch_version(&self, subject: &str, version: &str) -> Result<SubjectVersion> {
        let what = format!("subject {subject} version {version}");
        let path = format!("/subjects/{}/versions/{version}", encode(subject));
        let body = self
            .call(Method::GET, path, None, &what, None)
            .await
            .map_err(|e| e.into_error(&what, subject))?;
        let sv: SubjectVersion = parse(&body, &what)?;
        // What we learnt on the way: id -> schema, and the fixed version.
        let registered = RegisteredSchema {
            schema: Arc::from(sv.schema.as_str()),
            references: sv.references.clone().into(),
        };
        self.inner.ids.insert(sv.id, registered);
        lock(&self.inner.not_found).remove(&sv.id);
        if sv.version >= 1 {
            self.inner.versions.insert((sv.subject.clone(), sv.version), Arc::new(sv.clone()));
        }
        Ok(sv)
    }

    /// Every (not deleted) subject the registry knows.
    pub async fn subjects(&self) -> Result<Vec<String>> {
        self.list_subjects(false).await
    }

    /// Every subject, including soft-deleted ones when `include_deleted`.
    pub async fn list_subjects(&self, include_deleted: bool) -> Result<Vec<String>> {
        let path = if include_deleted { "/subjects?deleted=true" } else { "/subjects" };
        self.get_json(path.to_string(), "subjects", "").await
    }

    /// The version numbers registered under `subject`.
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>> {
        let what = format!("subject {subject}");
        self.get_json(format!("/subjects/{}/versions", encode(subject)), &what, subject).await
    }

    /// Deletes `subject`: soft, or hard when `permanent` (the registry wants a soft delete
    /// first). Returns the deleted versions and drops the subject from the memory caches.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let what = format!("subject {subject}");
        let mut path = format!("/subjects/{}", encode(subject));
        if permanent {
            path.push_str("?permanent=true");
        }
        let body = self
            .call(Method::DELETE, path, None, &what, None)
            .await
            .map_err(|e| e.into_error(&what, subject))?;
        let inner = &self.inner;
        inner.registered.remove_where(|(s, _)| s == subject);
        inner.lookups.remove_where(|(s, _)| s == subject);
        inner.versions.remove_where(|(s, _)| s == subject);
        lock(&inner.latest).remove(subject);
        parse(&body, &what)
    }

    // ---- compatibility -----------------------------------------------------------------------

    /// Checks `request` against version `version` of `subject` (`None` = latest), asking for
    /// the registry's reasons (`verbose=true`).
    pub async fn check_compatibility(
        &self,
        subject: &str,
        request: &SchemaRequest,
        version: Option<i32>,
    ) -> Result<CompatibilityCheck> {
        let v = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        let what = format!("compatibility with subject {subject} version {v}");
        let path = format!("/compatibility/subjects/{}/versions/{v}?verbose=true", encode(subject));
        let body = self
            .call(Method::POST, path, Some(json(request)), &what, None)
            .await
            .map_err(|e| e.into_error(&what, subject))?;
        parse(&body, &what)
    }

    /// The compatibility level set for `subject`, or `None` when it has none of its own
    /// (Confluent: 404 / 40408; Apicurio answers the global level instead, and 404 / 40401 for
    /// a subject it does not know).
    pub async fn subject_compatibility(&self, subject: &str) -> Result<Option<Level>> {
        let what = format!("compatibility config of subject {subject}");
        match self
            .call(Method::GET, format!("/config/{}", encode(subject)), None, &what, None)
            .await
        {
            Ok(b) => Ok(Some(parse::<ConfigBody>(&b, &what)?.compatibility)),
            Err(CallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e.into_error(&what, subject)),
        }
    }

    /// Sets `subject`'s compatibility level; returns the level the registry stored.
    pub async fn set_subject_compatibility(&self, subject: &str, level: Level) -> Result<Level> {
        let what = format!("compatibility config of subject {subject}");
        self.put_config(format!("/config/{}", encode(subject)), level, &what, subject).await
    }

    /// Removes `subject`'s own level, so the global one applies again.
    pub async fn delete_subject_compatibility(&self, subject: &str) -> Result<()> {
        let what = format!("compatibility config of subject {subject}");
        self.call(Method::DELETE, format!("/config/{}", encode(subject)), None, &what, None)
            .await
            .map_err(|e| e.into_error(&what, subject))?;
        Ok(())
    }

    /// The registry-wide compatibility level.
    pub async fn global_compatibility(&self) -> Result<Level> {
        let body: ConfigBody =
            self.get_json("/config".into(), "global compatibility config", "").await?;
        Ok(body.compatibility)
    }

    /// Sets the registry-wide compatibility level; returns the level the registry stored.
    pub async fn set_global_compatibility(&self, level: Level) -> Result<Level> {
        self.put_config("/config".into(), level, "global compatibility config", "").await
    }

    // ---- helpers -----------------------------------------------------------------------------

    async fn put_config(
        &self,
        path: String,
        level: Level,
        what: &str,
        subject: &str,
    ) -> Result<Level> {
        if level.registry_name().is_none() {
            return Err(Error::ConfigInvalid {
                path: "compatibility".into(),
                reason: format!("{level} is kpipe's client-side policy; a registry only stores NONE, BACKWARD, FORWARD, FULL and their _TRANSITIVE forms"),
            });
        }
        let body = json(&ConfigRequest { compatibility: level });
        let body = self
            .call(Method::PUT, path, Some(body), what, None)
            .await
            .map_err(|e| e.into_error(what, subject))?;
        Ok(parse::<ConfigBody>(&body, what)?.compatibility)
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: String,
        what: &str,
        subject: &str,
    ) -> Result<T> {
        let body = self
            .call(Method::GET, path, None, what, None)
            .await
            .map_err(|e| e.into_error(what, subject))?;
        parse(&body, what)
    }

    async fn call(
        &self,
        method: Method,
        path: String,
        body: Option<Vec<u8>>,
        what: &str,
        max_attempts: Option<u32>,
    ) -> Result<Vec<u8>, CallError> {
        let req = Req { method, path, body, what, max_attempts };
        self.inner.transport.call(&req, &self.inner.counters).await
    }

    fn count(&self, origin: Origin) {
        let c = &self.inner.counters;
        match origin {
            Origin::Cached | Origin::Joined => c.cache_hits.fetch_add(1, Ordering::Relaxed),
            Origin::Fetched => c.cache_misses.fetch_add(1, Ordering::Relaxed),
        };
    }

    fn served_from_disk(&self, what: &str, reason: &str) {
        self.inner.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "kpipe::registry", what, cause = reason, "schema registry unreachable; answered from the disk cache");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies serialize")
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::RegistryUnavailable {
        reason: format!("{what}: unexpected answer from the registry: {e}"),
    })
}
