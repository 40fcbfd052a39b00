//! Cases the real registry cannot show (5xx, outages, auth, slow answers), against a tiny
//! hand-written HTTP/1.1 responder on a loopback port. The live-registry tests are in
//! core/tests/registry.rs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the fake server answers: status, JSON body, delay before answering.
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
}

fn answer(status: u16, body: &str) -> Answer {
    Answer { status, body: body.to_string(), delay: Duration::ZERO }
}

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    hits: Arc<AtomicUsize>,
}

impl Fake {
    /// Serves until the test ends; `respond(n, request)` is called with the 0-based request number.
    async fn start(respond: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let respond = Arc::new(respond);
        let (seen2, hits2) = (seen.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let (seen, hits, respond) = (seen2.clone(), hits2.clone(), respond.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else { return };
                    let n = hits.fetch_add(1, Ordering::SeqCst);
                    seen.lock().unwrap().push(req.clone());
                    let a = respond(n, &req);
                    tokio::time::sleep(a.delay).await;
                    let head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/vnd.schemaregistry.v1+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        a.status,
                        a.body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(a.body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Fake { url, seen, hits }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Some(Seen { method, path, headers, body })
}

/// Short backoffs so the tests stay fast.
fn config(url: &str, deadline_ms: u64) -> RegistryConfig {
    let mut c = RegistryConfig::new(url);
    c.retry = RetryConfig { deadline_ms, initial_backoff_ms: 20, max_backoff_ms: 200 };
    c.timeout_ms = 2_000;
    c
}

const SCHEMA_BODY: &str = r#"{"schema":"\"long\""}"#;

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let fake = Fake::start(|n, _| {
        if n < 2 {
            answer(500, r#"{"error_code":50001,"message":"boom"}"#)
        } else {
            answer(200, SCHEMA_BODY)
        }
    })
    .await;
    let client = RegistryClient::from_config(&config(&fake.url, 5_000)).unwrap();
    assert_eq!(&*client.schema(1).await.unwrap(), "\"long\"");
    assert_eq!(fake.count(), 3);
    let s = client.stats();
    assert_eq!((s.http_requests, s.retries), (3, 2));
    // Cached now: no more requests.
    assert_eq!(client.schema_by_id(1).await.unwrap(), "\"long\"");
    assert_eq!(fake.count(), 3);
    assert_eq!(client.stats().cache_hits, 1);
    let r = &fake.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/schemas/ids/1"));
    assert!(r.header("accept").unwrap().starts_with("application/vnd.schemaregistry.v1+json"));
}

#[tokio::test]
async fn always_503_gives_up_at_the_deadline() {
    let fake = Fake::start(|_, _| answer(503, "")).await;
    let client = RegistryClient::from_config(&config(&fake.url, 700)).unwrap();
    let start = Instant::now();
    let err = client.register("s", "\"long\"").await.unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(err.code(), "registry.unavailable");
    assert!(err.is_retriable());
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert!(elapsed >= Duration::from_millis(600), "gave up early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1_000), "overran the deadline: {elapsed:?}");
    // Backoff grows up to 200 ms, so 700 ms allows a handful of attempts, not hundreds.
    let n = fake.count();
    assert!((4..=60).contains(&n), "{n} attempts");
    assert_eq!(client.stats().http_requests, n as u64);
    // A failure is not cached: the next call asks again.
    let _ = client.register("s", "\"long\"").await.unwrap_err();
    assert!(fake.count() > n);
}

#[tokio::test]
async fn connection_refused_is_unavailable_and_names_the_cause() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client =
        RegistryClient::from_config(&config(&format!("http://127.0.0.1:{port}"), 300)).unwrap();
    let start = Instant::now();
    let err = client.subjects().await.unwrap_err();
    assert_eq!(err.code(), "registry.unavailable");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(start.elapsed() < Duration::from_millis(800));
    assert!(client.stats().retries >= 1);
}

#[tokio::test]
async fn basic_auth_header_and_401_are_not_retried() {
    let fake =
        Fake::start(|_, _| answer(401, r#"{"error_code":40101,"message":"Unauthorized"}"#)).await;
    let mut cfg = config(&fake.url, 5_000);
    cfg.basic_auth = Some(BasicAuth { username: "user".into(), password: "pass".into() });
    let client = RegistryClient::from_config(&cfg).unwrap();
    let err = client.subjects().await.unwrap_err();
    assert_eq!(err.code(), "registry.auth");
    assert!(!err.to_string().contains("pass"), "{err}");
    assert_eq!(fake.count(), 1);
    assert_eq!(fake.requests()[0].header("authorization"), Some("Basic dXNlcjpwYXNz"));
}

#[tokio::test]
async fn bearer_token_header() {
    let fake = Fake::start(|_, _| answer(403, "")).await;
    let mut cfg = config(&fake.url, 5_000);
    cfg.bearer_token = Some("tok-123".into());
    let client = RegistryClient::from_config(&cfg).unwrap();
    assert_eq!(client.subjects().await.unwrap_err().code(), "registry.auth");
    assert_eq!(fake.requests()[0].header("authorization"), Some("Bearer tok-123"));
}

#[tokio::test]
async fn url_userinfo_becomes_basic_auth_and_is_never_printed() {
    let fake = Fake::start(|_, _| answer(200, r#"["a"]"#)).await;
    let with_creds = fake.url.replace("http://", "http://user:pass@");
    let client = RegistryClient::new(&with_creds).unwrap();
    assert_eq!(client.subjects().await.unwrap(), ["a"]);
    assert_eq!(fake.requests()[0].header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(client.base_url(), fake.url);
    assert!(!format!("{client:?}").contains("pass"));

    // Errors about such a URL name the host but not the credentials.
    let client =
        RegistryClient::from_config(&config("http://admin:s3cr3t@127.0.0.1:1/apis", 100)).unwrap();
    let err = client.schema(5).await.unwrap_err();
    assert_eq!(err.code(), "registry.unavailable");
    let text = format!("{err} {err:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cr3t") && !text.contains("admin"), "{text}");
    let err = RegistryClient::new("ftp://admin:s3cr3t@host").unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err}");
}

#[tokio::test]
async fn four_xx_map_to_typed_errors_without_retry() {
    let fake = Fake::start(|_, req| match req.path.as_str() {
        "/subjects/a/versions" => answer(409, r#"{"error_code":409,"message":"Incompatible: c at /fields/0"}"#),
        "/subjects/b/versions" => answer(422, r#"{"error_code":42201,"message":"Invalid schema"}"#),
        "/subjects/c/versions" => answer(400, "Not able to deserialize data provided."),
        "/subjects/d?permanent=true" => answer(409, r#"{"error_code":40405,"message":"must be soft deleted first"}"#),
        "/config/e" => answer(404, r#"{"error_code":40408,"message":"Subject 'e' does not have subject-level compatibility configured"}"#),
        "/schemas/ids/7" => answer(404, r#"{"error_code":40403,"message":"Schema 7 not found"}"#),
        _ => answer(404, r#"{"error_code":40401,"message":"Subject not found."}"#),
    })
    .await;
    let client = RegistryClient::from_config(&config(&fake.url, 5_000)).unwrap();
    let e = client.register("a", "\"int\"").await.unwrap_err();
    assert_eq!(e.code(), "schema.incompatible");
    assert_eq!(e.to_string(), "schema incompatible with subject a: Incompatible: c at /fields/0");
    assert_eq!(client.register("b", "\"int\"").await.unwrap_err().code(), "schema.invalid");
    let e = client.register("c", "\"int\"").await.unwrap_err();
    assert_eq!(e.code(), "registry.rejected");
    assert!(
        e.to_string().contains("(400)") && e.to_string().contains("Not able to deserialize"),
        "{e}"
    );
    assert_eq!(client.delete_subject("d", true).await.unwrap_err().code(), "registry.rejected");
    assert_eq!(client.subject_compatibility("e").await.unwrap(), None);
    assert_eq!(client.schema(7).await.unwrap_err().code(), "serde.unknown_schema_id");
    assert_eq!(client.latest("z").await.unwrap_err().code(), "registry.not_found");
    assert_eq!(fake.count(), 7);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_first_lookups_make_one_request() {
    let fake = Fake::start(|_, req| {
        let body = if req.path.starts_with("/schemas") { SCHEMA_BODY } else { r#"{"id":42}"# };
        Answer { status: 200, body: body.into(), delay: Duration::from_millis(200) }
    })
    .await;
    let client = RegistryClient::from_config(&config(&fake.url, 5_000)).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                c.schema(3).await.map(|s| s.len() as u32)
            } else {
                c.register("orders-value", "\"long\"").await
            }
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap(), if i % 2 == 0 { 6 } else { 42 });
    }
    assert_eq!(fake.count(), 2, "one request per key");
    let s = client.stats();
    assert_eq!((s.http_requests, s.cache_misses, s.cache_hits), (2, 2, 18));
    let bodies: Vec<String> = fake.requests().iter().map(|r| r.body.clone()).collect();
    assert!(bodies.contains(&r#"{"schema":"\"long\""}"#.to_string()), "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_a_failure_which_is_not_cached() {
    let fake = Fake::start(|_, _| Answer {
        status: 404,
        body: r#"{"error_code":40403,"message":"Schema 9 not found"}"#.into(),
        delay: Duration::from_millis(150),
    })
    .await;
    // (the short memory of 404s is off here: this is about the single flight itself)
    let mut cfg = config(&fake.url, 5_000);
    cfg.not_found_ttl_ms = 0;
    let client = RegistryClient::from_config(&cfg).unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.schema(9).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().code(), "serde.unknown_schema_id");
    }
    assert_eq!(fake.count(), 1);
    assert!(client.schema(9).await.is_err());
    assert_eq!(fake.count(), 2);
    // with it (the default), the 404 is remembered
    let client = RegistryClient::from_config(&config(&fake.url, 5_000)).unwrap();
    assert!(client.schema(9).await.is_err());
    assert!(client.schema(9).await.is_err());
    assert_eq!(fake.count(), 3);
}

/// A transient failure (5xx, outage) is never remembered, unlike a 404: the next call asks.
#[tokio::test]
async fn a_transient_failure_is_never_cached() {
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let d = down.clone();
    let fake = Fake::start(move |_, _| {
        if d.load(std::sync::atomic::Ordering::SeqCst) {
            answer(503, "")
        } else {
            answer(200, SCHEMA_BODY)
        }
    })
    .await;
    let client = RegistryClient::from_config(&config(&fake.url, 300)).unwrap();
    assert_eq!(client.schema(1).await.unwrap_err().code(), "registry.unavailable");
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(&*client.schema(1).await.unwrap(), r#""long""#);
}

#[tokio::test]
async fn failover_to_the_next_url() {
    let fake = Fake::start(|_, _| answer(200, r#"["x"]"#)).await;
    let mut cfg = config("http://127.0.0.1:1", 5_000);
    cfg.url = RegistryUrls::Many(vec!["http://127.0.0.1:1".into(), fake.url.clone()]);
    let client = RegistryClient::from_config(&cfg).unwrap();
    assert_eq!(client.subjects().await.unwrap(), ["x"]);
    assert_eq!(client.stats().retries, 1);
    // The working URL is kept for the next call.
    assert_eq!(client.subjects().await.unwrap(), ["x"]);
    assert_eq!(client.stats().http_requests, 3);
}

#[tokio::test]
async fn latest_is_uncached_by_default_and_cached_with_a_ttl() {
    let body = r#"{"subject":"s","version":2,"id":9,"schema":"\"long\""}"#;
    let fake = Fake::start(move |_, _| answer(200, body)).await;
    let client = RegistryClient::from_config(&config(&fake.url, 5_000)).unwrap();
    client.latest("s").await.unwrap();
    client.latest("s").await.unwrap();
    assert_eq!(fake.count(), 2);
    // ... but it taught the client id 9 and version 2.
    assert_eq!(&*client.schema(9).await.unwrap(), "\"long\"");
    assert_eq!(client.subject_version("s", 2).await.unwrap().id, 9);
    assert_eq!(fake.count(), 2);

    let mut cfg = config(&fake.url, 5_000);
    cfg.latest_ttl_ms = 150;
    let client = RegistryClient::from_config(&cfg).unwrap();
    client.latest("s").await.unwrap();
    client.latest("s").await.unwrap();
    assert_eq!(fake.count(), 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.latest("s").await.unwrap();
    assert_eq!(fake.count(), 4);
}

#[test]
fn config_errors() {
    let mut c = RegistryConfig::new("http://a");
    c.basic_auth = Some(BasicAuth { username: "u".into(), password: "p".into() });
    c.bearer_token = Some("t".into());
    assert_eq!(RegistryClient::from_config(&c).unwrap_err().code(), "config.invalid");
    let mut c = RegistryConfig::new("http://a");
    c.retry.initial_backoff_ms = 0;
    assert_eq!(RegistryClient::from_config(&c).unwrap_err().code(), "config.invalid");
    let mut c = RegistryConfig::new("http://a");
    c.tls.ca_file = Some("/nonexistent/ca.pem".into());
    let e = RegistryClient::from_config(&c).unwrap_err();
    assert!(e.to_string().starts_with("registry.tls.ca_file:"), "{e}");
    assert_eq!(RegistryClient::new("127.0.0.1:18081").unwrap_err().code(), "config.invalid");
    let mut c = RegistryConfig::new("https://a");
    c.tls.insecure_skip_verify = true;
    RegistryClient::from_config(&c).unwrap();
}

#[test]
fn the_client_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<RegistryClient>();
    assert_eq!(std::mem::size_of::<RegistryClient>(), std::mem::size_of::<usize>());
}

/// A registry that answers references in a cycle (a -> b -> a): no real registry lets one be
/// registered, but a decoder must still stop with an error naming the subject, not loop.
#[tokio::test]
async fn a_cycle_of_schema_references_is_schema_invalid_naming_the_subject() {
    let rec = |name: &str, refs: &str| {
        let schema = format!(
            r#"{{\"type\":\"record\",\"name\":\"{name}\",\"fields\":[{{\"name\":\"x\",\"type\":\"long\"}}]}}"#
        );
        format!(
            r#"{{"subject":"{s}","version":1,"id":{id},"schema":"{schema}","references":{refs}}}"#,
            s = name.to_lowercase(),
            id = name.len()
        )
    };
    let a = rec("A", r#"[{"name":"B","subject":"bb","version":1}]"#);
    let b = rec("BB", r#"[{"name":"A","subject":"a","version":1}]"#);
    let fake = Fake::start(move |_, req| match req.path.as_str() {
        "/subjects/a/versions/1" => answer(200, &a),
        "/subjects/bb/versions/1" => answer(200, &b),
        _ => answer(404, r#"{"error_code":40401,"message":"Subject not found"}"#),
    })
    .await;
    let client = RegistryClient::from_config(&config(&fake.url, 2_000)).unwrap();
    let refs = [SchemaReference { name: "A".into(), subject: "a".into(), version: 1 }];
    let e = crate::codec::compile_with_references(&client, r#""long""#, &refs, "schema id 1")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "schema.invalid", "{e}");
    assert_eq!(e.details().subject.as_deref(), Some("a"));
    assert!(e.to_string().contains("cycle: a version 1 -> bb version 1 -> a version 1"), "{e}");

    // A reference the registry does not have: registry.not_found with its subject.
    let refs = [SchemaReference { name: "C".into(), subject: "c".into(), version: 3 }];
    let e = crate::codec::compile_with_references(&client, r#""long""#, &refs, "schema id 1")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "registry.not_found", "{e}");
    assert_eq!(e.details().subject.as_deref(), Some("c"));
    assert!(
        e.to_string().contains("schema reference C of schema id 1: subject c version 3"),
        "{e}"
    );
}

#[test]
fn schema_references_parse_from_name_subject_version() {
    let r: SchemaReference = "com.acme.Address=a:b-value:2".parse().unwrap();
    assert_eq!(
        r,
        SchemaReference {
            name: "com.acme.Address".into(),
            subject: "a:b-value".into(),
            version: 2
        }
    );
    for bad in ["Address", "Address=subject", "Address=subject:x", "=s:1", "A=s:0"] {
        let e = bad.parse::<SchemaReference>().unwrap_err();
        assert_eq!(e.code(), "input.invalid", "{bad}");
        assert!(e.to_string().contains("NAME=SUBJECT:VERSION"), "{e}");
    }
}
