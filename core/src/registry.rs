//! Client for the Confluent schema-registry REST API (Confluent Schema Registry, Apicurio's
//! ccompat API, Karapace, Redpanda). HTTP status codes map to typed errors here, once.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A schema as the registry returns it for a subject version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub id: u32,
    pub schema: String,
}

#[derive(Serialize)]
struct SchemaBody<'a> {
    schema: &'a str,
}

#[derive(Deserialize)]
struct IdBody {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// A registry at one base URL, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

impl RegistryClient {
    pub fn new(base_url: &str) -> Result<Self> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::ConfigInvalid {
                path: "registry.url".into(),
                reason: format!("expected an http:// or https:// URL, got {base_url:?}"),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Internal { reason: format!("HTTP client: {e}") })?;
        Ok(Self { base, http })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Registers `schema` under `subject` (or finds it there) and returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32> {
        let url = format!("{}/subjects/{}/versions", self.base, encode(subject));
        let body: IdBody = self.send(self.http.post(url).json(&SchemaBody { schema }), subject).await?;
        Ok(body.id)
    }

    /// The schema text registered with `id`.
    pub async fn schema_by_id(&self, id: u32) -> Result<String> {
        let url = format!("{}/schemas/ids/{id}", self.base);
        match self.send::<SchemaOnly>(self.http.get(url), &format!("schema id {id}")).await {
            Ok(s) => Ok(s.schema),
            Err(Error::RegistryNotFound { .. }) => Err(Error::SerdeUnknownSchemaId { id }),
            Err(e) => Err(e),
        }
    }

    /// The latest version registered under `subject`.
    pub async fn latest(&self, subject: &str) -> Result<SubjectVersion> {
        let url = format!("{}/subjects/{}/versions/latest", self.base, encode(subject));
        self.send(self.http.get(url), subject).await
    }

    /// Every subject the registry knows.
    pub async fn subjects(&self) -> Result<Vec<String>> {
        self.send(self.http.get(format!("{}/subjects", self.base)), "subjects").await
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T> {
        let resp = req
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .send()
            .await
            .map_err(|e| Error::RegistryUnavailable { reason: describe_transport(&e) })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return resp
                .json::<T>()
                .await
                .map_err(|e| Error::RegistryUnavailable { reason: format!("bad response body: {e}") });
        }
        let message = resp.json::<ErrorBody>().await.map(|b| b.message).unwrap_or_default();
        Err(match status {
            401 | 403 => Error::RegistryAuth { status },
            404 => Error::RegistryNotFound { what: what.to_string() },
            409 => Error::SchemaIncompatible { subject: what.to_string(), reason: message },
            422 => Error::SchemaInvalid { reason: message },
            500..=599 => Error::RegistryUnavailable { reason: format!("HTTP {status}: {message}") },
            _ => Error::RegistryRejected { status, message },
        })
    }
}

/// Subject names may hold characters that are special in a URL path.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The URL may carry credentials; keep them out of error text.
fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    match e.url() {
        Some(u) => format!("{kind} to {}://{}:{}", u.scheme(), u.host_str().unwrap_or("?"), u.port_or_known_default().unwrap_or(0)),
        None => kind.to_string(),
    }
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
    fn rejects_a_url_without_scheme() {
        let err = RegistryClient::new("127.0.0.1:18081").unwrap_err();
        assert_eq!(err.code(), "config.invalid");
    }
}
