//! `RegistryConfig`: the `registry:` section of kpipe.yaml. Secrets never reach `Debug` output.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// A secret string (password, token). `Debug` prints `***`; read it with [`Secret::expose`].
/// Deserializes from a string, or from a number or bool (an env override such as
/// `KPIPE_REGISTRY__BASIC_AUTH__PASSWORD=123456` may arrive typed) taken as its text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Never log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// One registry URL, or several tried in turn (failover). A URL may carry credentials as
/// userinfo (`http://user:pass@host`); they are sent as basic auth and never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "a URL or a list of URLs")]
pub enum RegistryUrls {
    /// A single URL.
    One(String),
    /// URLs tried in turn, the first one first.
    Many(Vec<String>),
}

impl RegistryUrls {
    /// The URLs in the order they are tried (credentials included: never print them).
    pub fn as_slice(&self) -> &[String] {
        match self {
            RegistryUrls::One(u) => std::slice::from_ref(u),
            RegistryUrls::Many(v) => v,
        }
    }
}

impl fmt::Debug for RegistryUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.as_slice().iter().map(|u| redact_url(u)).collect();
        match self {
            RegistryUrls::One(_) => fmt::Debug::fmt(&shown[0], f),
            RegistryUrls::Many(_) => fmt::Debug::fmt(&shown, f),
        }
    }
}

impl From<&str> for RegistryUrls {
    fn from(s: &str) -> Self {
        RegistryUrls::One(s.to_string())
    }
}

impl From<String> for RegistryUrls {
    fn from(s: String) -> Self {
        RegistryUrls::One(s)
    }
}

impl From<Vec<String>> for RegistryUrls {
    fn from(v: Vec<String>) -> Self {
        RegistryUrls::Many(v)
    }
}

/// HTTP basic authentication.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// `basic_auth.username`.
    pub username: String,
    /// `basic_auth.password`, never printed.
    pub password: Secret,
}

/// Retries of transient failures (connection errors, timeouts, 408, 429, 5xx): exponential
/// backoff with full jitter, all within `deadline_ms` for one call.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Overall time budget of one client call, retries included. Default 30 000.
    pub deadline_ms: u64,
    /// Upper bound of the first backoff. Default 100.
    pub initial_backoff_ms: u64,
    /// Upper bound of any backoff. Default 5 000.
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { deadline_ms: 30_000, initial_backoff_ms: 100, max_backoff_ms: 5_000 }
    }
}

/// TLS for `https://` URLs (rustls; the built-in webpki roots are always trusted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM file with one or more extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. For local testing only; logged as a warning.
    pub insecure_skip_verify: bool,
}

/// The `registry:` section of kpipe.yaml.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Base URL(s), e.g. `http://127.0.0.1:18081/apis/ccompat/v7`.
    pub url: RegistryUrls,
    /// `basic_auth`: HTTP basic auth for every URL without its own userinfo (default none).
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `bearer_token`: sent as `Authorization: Bearer ...` (default none); exclusive with
    /// `basic_auth`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Timeout of one HTTP attempt (capped by what is left of the retry deadline). Default 10 000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// `retry`: retries of transient failures.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Directory of the optional on-disk cache (id -> schema, (subject, schema) -> id).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// How long `latest(subject)` answers are cached; 0 (default) means not cached.
    #[serde(default)]
    pub latest_ttl_ms: u64,
    /// How long a 404 for a schema id is remembered (`serde.unknown_schema_id` answered from
    /// memory); 0 turns it off. Default 1000. Our own registration of the id clears it.
    #[serde(default = "default_not_found_ttl_ms")]
    pub not_found_ttl_ms: u64,
    /// How often a producer re-checks that the schema ids it has cached still name the same
    /// schemas in the registry (also right after any failed registry call); 0 turns the
    /// periodic check off (the check after a failure stays). Default 30 000.
    #[serde(default = "default_verify_interval_ms")]
    pub verify_interval_ms: u64,
    /// `tls`: TLS settings of `https://` URLs.
    #[serde(default)]
    pub tls: TlsConfig,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_not_found_ttl_ms() -> u64 {
    1_000
}

fn default_verify_interval_ms() -> u64 {
    30_000
}

impl RegistryConfig {
    /// A config with one URL and every other key at its default.
    pub fn new(url: impl Into<RegistryUrls>) -> Self {
        RegistryConfig {
            url: url.into(),
            basic_auth: None,
            bearer_token: None,
            timeout_ms: default_timeout_ms(),
            retry: RetryConfig::default(),
            cache_dir: None,
            latest_ttl_ms: 0,
            not_found_ttl_ms: default_not_found_ttl_ms(),
            verify_interval_ms: default_verify_interval_ms(),
            tls: TlsConfig::default(),
        }
    }
}

/// `url` with any userinfo replaced by `***`, for messages and logs. Works on unparsable text too.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // No scheme: the whole thing may be `user:pass@host`.
        return match url.rfind('@') {
            Some(at) if !url[..at].contains('/') => format!("***@{}", &url[at + 1..]),
            _ => url.to_string(),
        };
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}://***@{}{}",
            &url[..scheme_end],
            &authority[at + 1..],
            &rest[authority_end..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_url_forms() {
        let c: RegistryConfig = serde_json::from_str(r#"{"url":"http://a:1"}"#).unwrap();
        assert_eq!(c, RegistryConfig::new("http://a:1"));
        assert_eq!(c.retry.deadline_ms, 30_000);
        assert_eq!(c.timeout_ms, 10_000);
        let c: RegistryConfig = serde_json::from_str(
            r#"{"url":["http://a:1","http://b:2"],"retry":{"deadline_ms":5},"tls":{"insecure_skip_verify":true},
                "basic_auth":{"username":"u","password":"p"},"cache_dir":"/tmp/x","latest_ttl_ms":100}"#,
        )
        .unwrap();
        assert_eq!(c.url.as_slice(), ["http://a:1", "http://b:2"]);
        assert_eq!(c.retry, RetryConfig { deadline_ms: 5, ..RetryConfig::default() });
        assert_eq!(c.basic_auth.unwrap().password.expose(), "p");
        let c: RegistryConfig = serde_json::from_str(
            r#"{"url":"http://a","basic_auth":{"username":"u","password":123456}}"#,
        )
        .unwrap();
        assert_eq!(c.basic_auth.unwrap().password.expose(), "123456");
        assert!(serde_json::from_str::<RegistryConfig>(
            r#"{"url":"http://a","bearer_token":["x"]}"#
        )
        .is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let e =
            serde_json::from_str::<RegistryConfig>(r#"{"url":"http://a","urls":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `urls`"), "{e}");
        let e =
            serde_json::from_str::<RegistryConfig>(r#"{"url":"http://a","retry":{"deadline":1}}"#)
                .unwrap_err();
        assert!(e.to_string().contains("unknown field `deadline`"), "{e}");
        let e = serde_json::from_str::<RegistryConfig>(r#"{"url":"http://a","tls":{"ca":"x"}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `ca`"), "{e}");
        let e = serde_json::from_str::<RegistryConfig>(
            r#"{"url":"http://a","basic_auth":{"user":"x"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `user`"), "{e}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut c = RegistryConfig::new(RegistryUrls::Many(vec![
            "http://alice:pw-in-url@reg:8081/apis/ccompat/v7".into(),
            "https://tok-user:tok-in-url@reg2".into(),
        ]));
        c.basic_auth = Some(BasicAuth { username: "bob".into(), password: "pw-basic".into() });
        c.bearer_token = Some("tok-bearer".into());
        let shown = format!("{c:?} {c:#?}");
        for secret in ["pw-in-url", "tok-in-url", "pw-basic", "tok-bearer", "alice"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("http://***@reg:8081/apis/ccompat/v7"), "{shown}");
    }

    #[test]
    fn redacts_userinfo_only() {
        assert_eq!(redact_url("http://u:p@h:1/x?a=b@c"), "http://***@h:1/x?a=b@c");
        assert_eq!(redact_url("http://h:1/x"), "http://h:1/x");
        assert_eq!(redact_url("u:p@h:1"), "***@h:1");
        assert_eq!(redact_url("https://a@b@h"), "https://***@h");
    }
}
