//! The registry client against the real Apicurio ccompat API of the local stack (dev/stack up).
//! Every endpoint, the error mapping, caches, single flight, failover and the disk cache.
//! Subjects are unique per run. Cases the real registry cannot show (5xx, auth) are unit tests
//! in core/src/registry/tests.rs.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kpipe::compat::Level;
use kpipe::registry::{RegistryConfig, RegistryUrls, RetryConfig, SchemaReference, SchemaRequest};
use kpipe::RegistryClient;

const V1: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"id","type":"long"}]}"#;
const V2: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;
/// Removes `id`: BACKWARD-incompatible with V1/V2 (no default for the new field).
const BAD: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"sku","type":"string"}]}"#;

fn client() -> RegistryClient {
    RegistryClient::new(&common::registry_url()).unwrap()
}

fn subject(tag: &str) -> String {
    common::unique(&format!("kpipe-it-reg-{tag}"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(common::unique(&format!("kpipe-reg-cache-{tag}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn same_schema(a: &str, b: &str) -> bool {
    let a: serde_json::Value = serde_json::from_str(a).unwrap();
    let b: serde_json::Value = serde_json::from_str(b).unwrap();
    a == b
}

#[tokio::test]
async fn register_lookup_read_back_and_cache() {
    let reg = client();
    let s = subject("basic");
    let id1 = reg.register(&s, V1).await.unwrap();
    let before = reg.stats().http_requests;
    assert_eq!(reg.register(&s, V1).await.unwrap(), id1, "cached");
    assert_eq!(reg.stats().http_requests, before, "a cached register makes no request");

    // A second client (no cache) gets the same id from the registry for the same schema.
    assert_eq!(client().register(&s, V1).await.unwrap(), id1);

    let id2 = reg.register(&s, V2).await.unwrap();
    assert_ne!(id1, id2);

    let found = reg.lookup(&s, V1).await.unwrap();
    assert_eq!((found.subject.as_str(), found.version, found.id), (s.as_str(), 1, id1));
    assert!(same_schema(&found.schema, V1));
    let n = reg.stats().http_requests;
    assert_eq!(reg.lookup(&s, V1).await.unwrap(), found);
    assert_eq!(reg.stats().http_requests, n, "a cached lookup makes no request");

    assert!(same_schema(&reg.schema_by_id(id2).await.unwrap(), V2));
    let n = reg.stats().http_requests;
    let text = reg.schema(id2).await.unwrap();
    assert!(same_schema(&text, V2));
    assert_eq!(reg.stats().http_requests, n, "a cached id makes no request");

    let v1 = reg.subject_version(&s, 1).await.unwrap();
    assert_eq!((v1.version, v1.id), (1, id1));
    let n = reg.stats().http_requests;
    assert_eq!(reg.subject_version(&s, 1).await.unwrap(), v1);
    assert_eq!(reg.stats().http_requests, n, "a fixed version is cached");

    let latest = reg.latest(&s).await.unwrap();
    assert_eq!((latest.version, latest.id), (2, id2));
    assert_eq!(latest.schema_type, None);
    let n = reg.stats().http_requests;
    reg.latest(&s).await.unwrap();
    assert_eq!(reg.stats().http_requests, n + 1, "latest is not cached by default");

    assert_eq!(reg.versions(&s).await.unwrap(), vec![1, 2]);
    assert!(reg.subjects().await.unwrap().contains(&s));
    let stats = reg.stats();
    assert!(stats.cache_hits >= 4 && stats.cache_misses >= 4, "{stats:?}");
    assert_eq!(stats.retries, 0);
}

#[tokio::test]
async fn not_found_errors() {
    let reg = client();
    let s = subject("nf");
    let missing = subject("missing");
    reg.register(&s, V1).await.unwrap();

    let e = reg.schema_by_id(999_999_999).await.unwrap_err();
    assert_eq!(e.code(), "serde.unknown_schema_id");
    assert_eq!(reg.latest(&missing).await.unwrap_err().code(), "registry.not_found");
    assert_eq!(reg.versions(&missing).await.unwrap_err().code(), "registry.not_found");
    let e = reg.subject_version(&s, 7).await.unwrap_err();
    assert_eq!(e.code(), "registry.not_found");
    assert!(e.to_string().contains("version 7"), "{e}");
    // Lookup of a schema the subject does not hold (40403) and of an unknown subject (40401).
    assert_eq!(reg.lookup(&s, V2).await.unwrap_err().code(), "registry.not_found");
    assert_eq!(reg.lookup(&missing, V1).await.unwrap_err().code(), "registry.not_found");
    assert_eq!(reg.delete_subject(&missing, false).await.unwrap_err().code(), "registry.not_found");
    assert_eq!(
        reg.check_compatibility(&s, &V1.into(), Some(9)).await.unwrap_err().code(),
        "registry.not_found"
    );
    // Failures are not cached: once registered, the lookup finds it.
    reg.register(&s, V2).await.unwrap();
    assert_eq!(reg.lookup(&s, V2).await.unwrap().version, 2);
}

#[tokio::test]
async fn invalid_and_incompatible_schemas() {
    let reg = client();
    let s = subject("bad");
    reg.register(&s, V1).await.unwrap();
    assert_eq!(reg.set_subject_compatibility(&s, Level::Backward).await.unwrap(), Level::Backward);

    let e = reg.register(&s, BAD).await.unwrap_err();
    assert_eq!(e.code(), "schema.incompatible", "{e}");
    assert!(e.to_string().contains(&s), "{e}");
    let e = reg.register(&s, "{not json").await.unwrap_err();
    assert_eq!(e.code(), "schema.invalid", "{e}");
    let e = reg.register(&s, r#"{"type":"recrd"}"#).await.unwrap_err();
    assert_eq!(e.code(), "schema.invalid", "{e}");
    // A schemaType the text does not match.
    let req = SchemaRequest {
        schema: "\"string\"".into(),
        schema_type: Some("PROTOBUF".into()),
        references: vec![],
    };
    assert_eq!(reg.register_schema(&s, &req).await.unwrap_err().code(), "schema.invalid");
    // V2 only adds a field with a default: accepted.
    reg.register(&s, V2).await.unwrap();
}

#[tokio::test]
async fn compatibility_checks() {
    let reg = client();
    let s = subject("compat");
    reg.register(&s, V1).await.unwrap();
    reg.set_subject_compatibility(&s, Level::Backward).await.unwrap();
    let ok = reg.check_compatibility(&s, &V2.into(), None).await.unwrap();
    assert!(ok.is_compatible, "{ok:?}");
    let bad = reg.check_compatibility(&s, &BAD.into(), None).await.unwrap();
    assert!(!bad.is_compatible);
    // Apicurio gives no messages even with verbose=true (Confluent does); accept both.
    let _ = bad.messages;
    let bad1 = reg.check_compatibility(&s, &BAD.into(), Some(1)).await.unwrap();
    assert!(!bad1.is_compatible);
    let e = reg.check_compatibility(&s, &"{not json".into(), None).await.unwrap_err();
    assert_eq!(e.code(), "schema.invalid");
}

#[tokio::test]
async fn subject_and_global_config() {
    let reg = client();
    let s = subject("config");
    reg.register(&s, V1).await.unwrap();
    let global = reg.global_compatibility().await.unwrap();
    // Apicurio answers the global level for a subject without its own (Confluent: 40408 -> None).
    let own = reg.subject_compatibility(&s).await.unwrap();
    assert!(own.is_none() || own == Some(global), "{own:?} vs {global}");
    assert_eq!(
        reg.set_subject_compatibility(&s, Level::FullTransitive).await.unwrap(),
        Level::FullTransitive
    );
    assert_eq!(reg.subject_compatibility(&s).await.unwrap(), Some(Level::FullTransitive));
    reg.delete_subject_compatibility(&s).await.unwrap();
    let own = reg.subject_compatibility(&s).await.unwrap();
    assert!(own.is_none() || own == Some(global), "{own:?}");
    // An unknown subject has no level (Apicurio 40401, Confluent 40408).
    assert_eq!(reg.subject_compatibility(&subject("nocfg")).await.unwrap(), None);
    // Setting the global level to what it is already: shows the endpoint without disturbing
    // other tests that share the registry.
    assert_eq!(reg.set_global_compatibility(global).await.unwrap(), global);
    assert_eq!(reg.global_compatibility().await.unwrap(), global);
}

#[tokio::test]
async fn delete_soft_then_permanent() {
    let reg = client();
    let s = subject("delete");
    let id = reg.register(&s, V1).await.unwrap();
    reg.register(&s, V2).await.unwrap();
    reg.subject_version(&s, 1).await.unwrap();
    // Permanent before soft is refused (Apicurio 409/40405; Confluent 404/40405).
    let e = reg.delete_subject(&s, true).await.unwrap_err();
    assert!(matches!(e.code(), "registry.rejected" | "registry.not_found"), "{e}");
    assert_eq!(reg.delete_subject(&s, false).await.unwrap(), vec![1, 2]);
    assert!(!reg.subjects().await.unwrap().contains(&s));
    assert!(reg.list_subjects(true).await.unwrap().contains(&s));
    // The subject's cache entries went with it.
    assert_eq!(reg.subject_version(&s, 1).await.unwrap_err().code(), "registry.not_found");
    assert_eq!(reg.delete_subject(&s, true).await.unwrap(), vec![1, 2]);
    assert!(!reg.list_subjects(true).await.unwrap().contains(&s));
    // Ids are immutable, so the id cache keeps answering.
    assert!(same_schema(&reg.schema_by_id(id).await.unwrap(), V1));
}

#[tokio::test]
async fn references_and_schema_type_pass_through() {
    let reg = client();
    let inner = subject("ref-inner");
    let outer = subject("ref-outer");
    let item = r#"{"type":"record","name":"Item","namespace":"kpipe.it","fields":[{"name":"sku","type":"string"}]}"#;
    let req =
        SchemaRequest { schema: item.into(), schema_type: Some("AVRO".into()), references: vec![] };
    reg.register_schema(&inner, &req).await.unwrap();
    let holder = r#"{"type":"record","name":"Holder","namespace":"kpipe.it","fields":[{"name":"item","type":"kpipe.it.Item"}]}"#;
    let refs =
        vec![SchemaReference { name: "kpipe.it.Item".into(), subject: inner.clone(), version: 1 }];
    let req = SchemaRequest { schema: holder.into(), schema_type: None, references: refs.clone() };
    let id = reg.register_schema(&outer, &req).await.unwrap();
    let v = reg.subject_version(&outer, 1).await.unwrap();
    assert_eq!((v.id, v.references.clone()), (id, refs));
    assert_eq!(reg.lookup_schema(&outer, &req).await.unwrap().id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_first_lookups_make_one_request() {
    let s = subject("flight");
    let id = client().register(&s, V1).await.unwrap();
    let reg = client();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let reg = reg.clone();
            tokio::spawn(async move { reg.schema(id).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert!(same_schema(&t.await.unwrap(), V1));
    }
    let stats = reg.stats();
    assert_eq!(stats.http_requests, 1, "{stats:?}");
    assert_eq!((stats.cache_misses, stats.cache_hits), (1, 19));
}

#[tokio::test]
async fn failover_and_credentials_in_the_url() {
    let live = common::registry_url();
    let mut cfg = RegistryConfig::new(RegistryUrls::Many(vec![
        "http://127.0.0.1:1/apis/ccompat/v7".into(),
        live.clone(),
    ]));
    cfg.retry = RetryConfig { deadline_ms: 5_000, initial_backoff_ms: 10, max_backoff_ms: 50 };
    let reg = RegistryClient::from_config(&cfg).unwrap();
    let s = subject("failover");
    reg.register(&s, V1).await.unwrap();
    assert_eq!(reg.stats().retries, 1, "one failed attempt on the closed port");

    // Apicurio in the stack does not check credentials: userinfo is accepted and stripped.
    let with_creds = live.replacen("http://", "http://alice:hunter2@", 1);
    let reg = RegistryClient::new(&with_creds).unwrap();
    assert_eq!(reg.base_url(), live);
    assert!(reg.subjects().await.unwrap().contains(&s));
    assert!(!format!("{reg:?}").contains("hunter2"));
}

#[tokio::test]
async fn error_text_never_holds_url_credentials() {
    let mut cfg = RegistryConfig::new("http://alice:hunter2@127.0.0.1:1/apis/ccompat/v7");
    cfg.retry = RetryConfig { deadline_ms: 300, initial_backoff_ms: 10, max_backoff_ms: 50 };
    let reg = RegistryClient::from_config(&cfg).unwrap();
    for err in [
        reg.schema(1).await.unwrap_err(),
        reg.register("s", V1).await.unwrap_err(),
        reg.subjects().await.unwrap_err(),
    ] {
        assert_eq!(err.code(), "registry.unavailable");
        let text = format!("{err} | {err:?}");
        eprintln!("{text}");
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("alice"), "{text}");
    }
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

/// RELIABILITY row 8: a process starts while the registry is down and serves what it knew.
#[tokio::test]
async fn disk_cache_serves_known_schemas_while_the_registry_is_down() {
    let dir = temp_dir("down");
    let s = subject("disk");
    let mut cfg = RegistryConfig::new(common::registry_url());
    cfg.cache_dir = Some(dir.clone());
    let live = RegistryClient::from_config(&cfg).unwrap();
    let id1 = live.register(&s, V1).await.unwrap();
    let looked = live.lookup(&s, V1).await.unwrap();
    let id2 = live.register(&s, V2).await.unwrap();
    let text2 = live.schema(id2).await.unwrap();

    // A new process: same cache dir, registry unreachable, short deadline.
    let mut down = RegistryConfig::new("http://127.0.0.1:1/apis/ccompat/v7");
    down.cache_dir = Some(dir.clone());
    down.retry = RetryConfig { deadline_ms: 800, initial_backoff_ms: 20, max_backoff_ms: 100 };
    let reg = RegistryClient::from_config(&down).unwrap();

    assert_eq!(&*reg.schema(id2).await.unwrap(), &*text2, "known id from disk, no request");
    assert_eq!(reg.stats().http_requests, 0);
    assert_eq!(reg.register(&s, V1).await.unwrap(), id1, "known (subject, schema) -> id");
    assert_eq!(reg.register(&s, V2).await.unwrap(), id2);
    let found = reg.lookup(&s, V1).await.unwrap();
    assert_eq!((found.id, found.version), (looked.id, looked.version));
    assert_eq!(reg.stats().disk_hits, 4);
    // One quick attempt each for the (subject, schema) answers, no retry loop.
    assert_eq!(reg.stats().http_requests, 3);

    let start = Instant::now();
    let e = reg.schema(999_999_998).await.unwrap_err();
    assert_eq!(e.code(), "registry.unavailable", "{e}");
    let e2 = reg.register(&s, BAD).await.unwrap_err();
    assert_eq!(e2.code(), "registry.unavailable", "{e2}");
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1_400), "two calls of ~800 ms each: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_400), "deadline overrun: {elapsed:?}");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    // Served from memory from now on: no disk read, no request.
    let n = reg.stats();
    reg.schema(id2).await.unwrap();
    reg.register(&s, V1).await.unwrap();
    assert_eq!(reg.stats().http_requests, n.http_requests);
    assert_eq!(reg.stats().disk_hits, n.disk_hits);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_house_policy_is_not_sent_to_the_registry() {
    let reg = client();
    let e = reg
        .set_subject_compatibility("kpipe-it-never-sent", Level::AddWithDefaultOnly)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(e.to_string().contains("client-side policy"), "{e}");
}

fn client_with(f: impl FnOnce(&mut RegistryConfig)) -> RegistryClient {
    let mut cfg = RegistryConfig::new(common::registry_url().as_str());
    f(&mut cfg);
    RegistryClient::from_config(&cfg).unwrap()
}

fn fresh(tag: &str) -> String {
    format!(
        r#"{{"type":"record","name":"F","namespace":"kpipe.it.{}","fields":[{{"name":"id","type":"long"}}]}}"#,
        tag.replace(['-', '.'], "_")
    )
}

/// A cached `latest` is reused for its TTL, except that our own registration replaces it.
#[tokio::test]
async fn latest_is_cached_for_its_ttl_and_invalidated_by_our_register() {
    let s = subject("latest-ttl");
    let reg = client_with(|c| c.latest_ttl_ms = 60_000);
    reg.register(&s, V1).await.unwrap();
    assert_eq!(reg.latest(&s).await.unwrap().version, 1);
    let before = reg.stats().http_requests;
    assert_eq!(reg.latest(&s).await.unwrap().version, 1);
    assert_eq!(reg.stats().http_requests, before, "a cached latest makes no request");
    reg.register(&s, V2).await.unwrap();
    assert_eq!(
        reg.latest(&s).await.unwrap().version,
        2,
        "our register invalidates the cached latest"
    );
    // another process's registration is seen only after the TTL (the cache is per client)
    let other = client();
    let v3 = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""},{"name":"n","type":"int","default":0}]}"#;
    other.register(&s, v3).await.unwrap();
    assert_eq!(reg.latest(&s).await.unwrap().version, 2);
    assert_eq!(other.latest(&s).await.unwrap().version, 3);
}

/// A 404 for a schema id is remembered briefly (one request per TTL for a stream of records
/// with an unknown id), never an outage, and our own registration of the id clears it.
#[tokio::test]
async fn an_unknown_id_is_remembered_briefly() {
    let reg = client_with(|c| c.not_found_ttl_ms = 400);
    let unknown = 999_999_990;
    assert_eq!(reg.schema(unknown).await.unwrap_err().code(), "serde.unknown_schema_id");
    let before = reg.stats().http_requests;
    for _ in 0..10 {
        assert_eq!(reg.schema(unknown).await.unwrap_err().code(), "serde.unknown_schema_id");
    }
    assert_eq!(reg.stats().http_requests, before, "remembered: no request");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(reg.schema(unknown).await.unwrap_err().code(), "serde.unknown_schema_id");
    assert_eq!(reg.stats().http_requests, before + 1, "asked again after the TTL");

    let off = client_with(|c| c.not_found_ttl_ms = 0);
    let _ = off.schema(unknown).await;
    let before = off.stats().http_requests;
    let _ = off.schema(unknown).await;
    assert_eq!(off.stats().http_requests, before + 1, "0 turns it off");

    // The id after the newest one 404s until it is registered; registering it through this
    // client clears the remembered 404 at once. Other tests register concurrently, so the id
    // may go to someone else: try a few times.
    let reg = client_with(|c| c.not_found_ttl_ms = 60_000);
    let mut shown = false;
    for i in 0..5 {
        let n = reg
            .register(&subject("nf-a"), &fresh(&format!("a{i}{}", common::unique(""))))
            .await
            .unwrap();
        if reg.schema(n + 1).await.is_ok() {
            continue; // taken meanwhile
        }
        let m = reg
            .register(&subject("nf-b"), &fresh(&format!("b{i}{}", common::unique(""))))
            .await
            .unwrap();
        assert!(reg.schema(m).await.is_ok(), "a registered id is found");
        if m == n + 1 {
            shown = true;
            break;
        }
    }
    assert!(shown, "never registered the id right after the newest one (registry busy?)");
}

/// Kills the child (a TLS server) when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// TLS with `tls.ca_file`: a registry whose certificate is signed by a private CA (openssl's
/// s_server serving the registry's answer as a file) is trusted with the CA file and refused
/// without it. The local stack's registry speaks plain HTTP, hence this server.
#[tokio::test]
async fn tls_with_a_ca_file() {
    let dir = temp_dir("tls");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=kpipe test CA",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    // s_server -WWW serves files under its working directory: the answer to GET /schemas/ids/1
    std::fs::create_dir_all(dir.join("schemas/ids")).unwrap();
    std::fs::write(dir.join("schemas/ids/1"), r#"{"schema":"\"string\""}"#).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Child(
        std::process::Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &port.to_string(),
                "-cert",
                "srv.pem",
                "-key",
                "srv.key",
                "-WWW",
            ])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server"),
    );
    let ready = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(ready.elapsed() < Duration::from_secs(10), "TLS server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("https://localhost:{port}");
    let config = |ca: bool| {
        let mut c = RegistryConfig::new(url.as_str());
        c.retry = RetryConfig { deadline_ms: 3_000, ..Default::default() };
        if ca {
            c.tls.ca_file = Some(dir.join("ca.pem"));
        }
        c
    };
    let trusted = RegistryClient::from_config(&config(true)).unwrap();
    assert_eq!(&*trusted.schema(1).await.unwrap(), r#""string""#);
    let untrusted = RegistryClient::from_config(&config(false)).unwrap();
    let e = untrusted.schema(1).await.unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("certificate"),
        "refused for its certificate: [{}] {e}",
        e.code()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
