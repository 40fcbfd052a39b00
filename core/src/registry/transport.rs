//! HTTP to the registry: endpoints (failover), auth headers, retries with exponential backoff and
//! full jitter inside a deadline, and the mapping of HTTP statuses to typed errors.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::Deserialize;

use super::config::{redact_url, RegistryConfig};
use crate::error::{Error, Result};

const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";
const ACCEPT_ALL: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";

/// Counters behind [`super::RegistryStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub http_requests: AtomicU64,
    pub retries: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub disk_hits: AtomicU64,
    /// Failed attempts (unreachable, 5xx, timeouts): a registry that failed may have come back
    /// without its schemas, so cached ids are re-verified once this moves.
    pub failures: AtomicU64,
}

struct Endpoint {
    /// Base URL without userinfo and without a trailing slash; safe to print.
    base: String,
    /// `Authorization` value (marked sensitive), if any.
    auth: Option<HeaderValue>,
}

/// Backoff bounds of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub deadline: Duration,
    pub initial: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The upper bound of the sleep before retry number `retry` (1-based): initial * 2^(retry-1),
    /// capped at `max`.
    pub(crate) fn cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1).min(30)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Full jitter: uniform in `[0, cap(retry)]`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let cap = self.cap(retry).as_micros() as u64;
        if cap == 0 {
            return Duration::ZERO;
        }
        let r = std::collections::hash_map::RandomState::new().hash_one(retry);
        Duration::from_micros(r % (cap + 1))
    }
}

/// A failed call, before the caller turns it into an [`Error`].
#[derive(Debug)]
pub(crate) enum CallError {
    /// A non-retried HTTP status with the registry's `error_code` and message.
    Status { status: u16, code: Option<i64>, message: String },
    /// Transient failures until the deadline (or the attempt limit).
    Unavailable(String),
}

impl CallError {
    /// The default mapping; `what` names the thing asked for, `subject` the subject if any.
    pub(crate) fn into_error(self, what: &str, subject: &str) -> Error {
        match self {
            CallError::Unavailable(reason) => Error::RegistryUnavailable { reason },
            CallError::Status { status, code, message } => {
                map_status(status, code, message, what, subject)
            }
        }
    }
}

pub(crate) fn map_status(
    status: u16,
    code: Option<i64>,
    message: String,
    what: &str,
    subject: &str,
) -> Error {
    match status {
        401 | 403 => Error::RegistryAuth { status },
        404 => Error::RegistryNotFound {
            what: if message.is_empty() { what.to_string() } else { format!("{what} ({message})") },
            subject: (!subject.is_empty()).then(|| subject.to_string()),
        },
        // Confluent and Apicurio use 409 with error_code 409 for "incompatible"; 409 with another
        // code (e.g. Apicurio's 40405 "must be soft deleted first") is not about compatibility.
        409 if matches!(code, None | Some(409)) => {
            Error::SchemaIncompatible { subject: subject.to_string(), reason: message }
        }
        // 42201 is "invalid schema"; 42202.. are invalid version, level, mode, references, ...
        422 if matches!(code, None | Some(422) | Some(42201)) => Error::SchemaInvalid {
            reason: message,
            subject: (!subject.is_empty()).then(|| subject.to_string()),
        },
        _ => Error::RegistryRejected {
            status,
            message: match code {
                Some(c) => format!("{message} (error_code {c})"),
                None => message,
            },
        },
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    message: String,
}

fn parse_error_body(bytes: &[u8]) -> (Option<i64>, String) {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(b) => (b.error_code, b.message),
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim();
            let cut = text.char_indices().nth(300).map(|(i, _)| i).unwrap_or(text.len());
            (None, text[..cut].to_string())
        }
    }
}

pub(crate) struct Transport {
    http: reqwest::Client,
    endpoints: Vec<Endpoint>,
    current: AtomicUsize,
    timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

/// One request: method, path under the base URL (starting with `/`), optional JSON body.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub path: String,
    pub body: Option<Vec<u8>>,
    /// What the call is about, for logs and the `registry.unavailable` message.
    pub what: &'a str,
    /// At most this many attempts (1 = no retry); `None` = until the deadline.
    pub max_attempts: Option<u32>,
}

impl Transport {
    pub(crate) fn new(cfg: &RegistryConfig) -> Result<Self> {
        let urls = cfg.url.as_slice();
        if urls.is_empty() {
            return Err(invalid("registry.url", "at least one URL is required".into()));
        }
        if cfg.basic_auth.is_some() && cfg.bearer_token.is_some() {
            return Err(invalid("registry", "set basic_auth or bearer_token, not both".into()));
        }
        let r = &cfg.retry;
        if r.initial_backoff_ms == 0 || r.max_backoff_ms < r.initial_backoff_ms {
            return Err(invalid(
                "registry.retry",
                "need 0 < initial_backoff_ms <= max_backoff_ms".into(),
            ));
        }
        if cfg.timeout_ms == 0 {
            return Err(invalid("registry.timeout_ms", "must be > 0".into()));
        }
        let default_auth = match (&cfg.basic_auth, &cfg.bearer_token) {
            (Some(b), _) => Some(basic_header(&b.username, b.password.expose())),
            (None, Some(t)) => {
                Some(sensitive(&format!("Bearer {}", t.expose()), "registry.bearer_token"))
            }
            (None, None) => None,
        };
        let default_auth = default_auth.transpose()?;
        let mut endpoints = Vec::with_capacity(urls.len());
        for (i, raw) in urls.iter().enumerate() {
            let key = if urls.len() == 1 {
                "registry.url".to_string()
            } else {
                format!("registry.url[{i}]")
            };
            endpoints.push(endpoint(raw, &key, default_auth.clone())?);
        }

        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            .use_rustls_tls();
        if let Some(path) = &cfg.tls.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                invalid("registry.tls.ca_file", format!("cannot read {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                invalid(
                    "registry.tls.ca_file",
                    format!("{}: not PEM certificates: {e}", path.display()),
                )
            })?;
            if certs.is_empty() {
                return Err(invalid(
                    "registry.tls.ca_file",
                    format!("{}: no certificate found", path.display()),
                ));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        if cfg.tls.insecure_skip_verify {
            tracing::warn!(
                "registry.tls.insecure_skip_verify is set: server certificates are not checked"
            );
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http =
            builder.build().map_err(|e| Error::Internal { reason: format!("HTTP client: {e}") })?;
        Ok(Transport {
            http,
            endpoints,
            current: AtomicUsize::new(0),
            timeout: Duration::from_millis(cfg.timeout_ms),
            retry: RetryPolicy {
                deadline: Duration::from_millis(cfg.retry.deadline_ms),
                initial: Duration::from_millis(r.initial_backoff_ms),
                max: Duration::from_millis(r.max_backoff_ms),
            },
        })
    }

    /// The base URLs, without credentials.
    pub(crate) fn bases(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().map(|e| e.base.as_str())
    }

    /// Sends `req`, retrying transient failures; the body of a 2xx answer.
    pub(crate) async fn call(
        &self,
        req: &Req<'_>,
        counters: &Counters,
    ) -> Result<Vec<u8>, CallError> {
        let start = Instant::now();
        let deadline = start + self.retry.deadline;
        let mut attempts: u32 = 0;
        let last_cause = loop {
            let idx = self.current.load(Ordering::Relaxed) % self.endpoints.len();
            let ep = &self.endpoints[idx];
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.timeout.min(remaining).max(Duration::from_millis(1));
            attempts += 1;
            counters.http_requests.fetch_add(1, Ordering::Relaxed);

            let mut rb = self
                .http
                .request(req.method.clone(), format!("{}{}", ep.base, req.path))
                .header(ACCEPT, ACCEPT_ALL)
                .timeout(timeout);
            if let Some(auth) = &ep.auth {
                rb = rb.header(AUTHORIZATION, auth.clone());
            }
            if let Some(body) = &req.body {
                rb = rb.header(CONTENT_TYPE, CONTENT_TYPE_V1).body(body.clone());
            }
            let cause = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.bytes().await {
                        Ok(bytes) if (200..300).contains(&status) => return Ok(bytes.to_vec()),
                        Ok(bytes) => {
                            let (code, message) = parse_error_body(&bytes);
                            if status >= 500 || status == 408 || status == 429 {
                                if message.is_empty() {
                                    format!("HTTP {status} from {}", ep.base)
                                } else {
                                    format!("HTTP {status} from {}: {message}", ep.base)
                                }
                            } else {
                                return Err(CallError::Status { status, code, message });
                            }
                        }
                        Err(e) => format!(
                            "reading the answer (HTTP {status}) from {}: {}",
                            ep.base,
                            describe(&e)
                        ),
                    }
                }
                Err(e) => format!("{} {}", describe(&e), ep.base),
            };

            counters.failures.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            if req.max_attempts.is_some_and(|m| attempts >= m)
                || now + Duration::from_millis(1) >= deadline
            {
                break cause;
            }
            let backoff = self.retry.backoff(attempts).min(deadline - now);
            tracing::warn!(
                target: "kpipe::registry",
                what = req.what,
                method = %req.method,
                attempt = attempts,
                backoff_ms = backoff.as_millis() as u64,
                cause = %cause,
                "schema registry call failed, retrying"
            );
            counters.retries.fetch_add(1, Ordering::Relaxed);
            if self.endpoints.len() > 1 {
                let _ = self.current.compare_exchange(
                    idx,
                    (idx + 1) % self.endpoints.len(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            tokio::time::sleep(backoff).await;
            if Instant::now() + Duration::from_millis(1) >= deadline {
                // Slept to the deadline: one last attempt would have no time left.
                break cause;
            }
        };
        Err(CallError::Unavailable(format!(
            "{}: gave up after {attempts} attempt{} in {} ms; last error: {last_cause}",
            req.what,
            if attempts == 1 { "" } else { "s" },
            start.elapsed().as_millis()
        )))
    }
}

fn invalid(path: &str, reason: String) -> Error {
    Error::ConfigInvalid { path: path.to_string(), reason }
}

fn sensitive(value: &str, key: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| invalid(key, "contains characters not allowed in an HTTP header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

fn basic_header(user: &str, password: &str) -> Result<HeaderValue> {
    sensitive(
        &format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
        "registry.basic_auth",
    )
}

/// Parses one configured URL; credentials in its userinfo become its basic-auth header.
fn endpoint(raw: &str, key: &str, default_auth: Option<HeaderValue>) -> Result<Endpoint> {
    let shown = redact_url(raw);
    let mut url = reqwest::Url::parse(raw.trim())
        .map_err(|e| invalid(key, format!("not a URL ({e}): {shown:?}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, format!("expected an http:// or https:// URL, got {shown:?}")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, format!("a base URL has no query or fragment: {shown:?}")));
    }
    let mut auth = default_auth;
    if !url.username().is_empty() || url.password().is_some() {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        auth = Some(basic_header(&user, &pass)?);
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    Ok(Endpoint { base: url.as_str().trim_end_matches('/').to_string(), auth })
}

/// A transport error, without the URL (which the caller prints in its stripped form).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "bad answer"
    } else {
        "request failed"
    };
    // The innermost cause ("Connection refused (os error 111)", "invalid peer certificate: ...").
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(s) = source {
        innermost = Some(s);
        source = s.source();
    }
    match innermost {
        Some(s) if !e.is_timeout() => format!("{kind} ({s}) to"),
        _ => format!("{kind}:"),
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Subject names may hold characters that are special in a URL path.
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_names_are_path_encoded() {
        assert_eq!(encode("orders-value"), "orders-value");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn base64_and_percent_decoding() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(percent_decode("p%40ss%3Aw%2"), "p@ss:w%2");
    }

    #[test]
    fn backoff_caps_grow_exponentially_to_the_max_and_jitter_stays_under_the_cap() {
        let p = RetryPolicy {
            deadline: Duration::from_secs(30),
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        };
        let caps: Vec<u128> = (1..=8).map(|n| p.cap(n).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(p.cap(1000), Duration::from_secs(5));
        let mut distinct = std::collections::HashSet::new();
        for n in 1..=200 {
            let b = p.backoff(n % 6 + 1);
            assert!(b <= p.cap(n % 6 + 1));
            distinct.insert(b);
        }
        assert!(distinct.len() > 50, "jitter looks constant");
    }

    #[test]
    fn status_mapping() {
        let m = |s, c, msg: &str| map_status(s, c, msg.to_string(), "subject x", "x").code();
        assert_eq!(m(401, None, ""), "registry.auth");
        assert_eq!(m(403, Some(40301), ""), "registry.auth");
        assert_eq!(m(404, Some(40401), "Subject not found"), "registry.not_found");
        assert_eq!(m(409, Some(409), "incompatible"), "schema.incompatible");
        assert_eq!(m(409, None, "incompatible"), "schema.incompatible");
        assert_eq!(m(409, Some(40405), "must be soft deleted first"), "registry.rejected");
        assert_eq!(m(422, Some(42201), "bad"), "schema.invalid");
        assert_eq!(m(422, Some(42203), "Invalid compatibility level"), "registry.rejected");
        assert_eq!(m(422, Some(42206), "referenced"), "registry.rejected");
        assert_eq!(m(400, None, "Not able to deserialize"), "registry.rejected");
        let e =
            map_status(404, Some(40402), "Version 7 not found.".into(), "subject x version 7", "x");
        assert_eq!(
            e.to_string(),
            "schema registry: not found: subject x version 7 (Version 7 not found.)"
        );
    }

    #[test]
    fn urls_lose_their_userinfo_and_bad_urls_are_redacted() {
        let ep = endpoint("http://us%40er:p%3Ass@h:8081/apis/ccompat/v7/", "registry.url", None)
            .unwrap();
        assert_eq!(ep.base, "http://h:8081/apis/ccompat/v7");
        let auth = ep.auth.unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), format!("Basic {}", base64(b"us@er:p:ss")));
        for bad in [
            "ftp://u:hunter2@h",
            "http://u:hunter2@h/x?y=1",
            "u:hunter2@h:1",
            "http://u:hunter2@[::1",
        ] {
            let e = endpoint(bad, "registry.url", None).err().expect(bad);
            assert_eq!(e.code(), "config.invalid");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
