//! A registry that lost or reassigned ids (here: the subject deleted permanently behind the
//! producer's back, as a registry restarted without its storage would) is noticed before a
//! cached id is written again: the send fails `registry.not_found`, nothing is written with the
//! stale id, and the next send resolves the schema afresh. Against the live registry.

mod client_support;

use std::time::Duration;

use client_support as s;
use kpipe::{Client, ClusterConsumer, Data, Serde, TopicSerde};
use serde_json::json;

type J<'a> = &'a serde_json::Value;

/// A schema of its own per test: the registry reuses a content's id when it comes back.
fn schema(tag: &str) -> String {
    format!(r#"{{"type":"record","name":"Reverify{tag}","fields":[{{"name":"n","type":"long"}}]}}"#)
}

fn client(registry_yaml: &str) -> Client {
    let mut y = String::from("clusters:\n");
    y.push_str(&format!("  business: {{ bootstrap: \"{}\" }}\n", s::bootstrap("business")));
    y.push_str(registry_yaml);
    Client::from_config(kpipe::config::Config::from_yaml(&y).unwrap()).unwrap()
}

async fn send(c: &Client, topic: &str, n: i64) -> kpipe::Result<kpipe::Delivery> {
    let v = json!({ "n": n });
    c.send::<J, J>(topic, Data::Null, Data::Value(&v), &[], None).await
}

/// The schema ids in the topic's records, in order.
async fn ids_in(topic: &str, n: usize) -> Vec<u32> {
    let c = ClusterConsumer::new(&s::bootstrap("business"), &s::unique("g-reverify"), &[]).unwrap();
    c.assign_from_beginning(topic, Duration::from_secs(10)).unwrap();
    let mut ids = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ids.len() < n && std::time::Instant::now() < deadline {
        if let Ok(Some(r)) = c.recv(Duration::from_millis(500)).await {
            let v = r.value.expect("a value");
            ids.push(u32::from_be_bytes([v[1], v[2], v[3], v[4]]));
        }
    }
    ids
}

async fn check(c: Client, topic: &str) {
    let subject = format!("{topic}-value");
    let schema = schema("Periodic");
    s::create_topic("business", topic, 1, 1).await;
    c.set_topic_serde(topic, TopicSerde { key: Serde::Bytes, value: Serde::avro(schema.as_str()) });
    send(&c, topic, 1).await.unwrap();
    // the registry forgets the subject and its ids
    s::drop_subject(&subject).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let e = send(&c, topic, 2).await.unwrap_err();
    assert_eq!(e.code(), "registry.not_found", "{e}");
    assert!(e.to_string().contains("not writing records with it"), "{e}");
    // the next send registers again and writes the new id
    send(&c, topic, 3).await.unwrap();
    let ids = ids_in(topic, 2).await;
    assert_eq!(ids.len(), 2, "the refused record was not written");
    // the second record carries the id the registry gave now (it may reuse the content's id)
    let reg = kpipe::RegistryClient::new(&s::common::registry_url()).unwrap();
    assert_eq!(reg.lookup(&subject, &schema).await.unwrap().id, ids[1]);
    s::drop_subject(&subject).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_periodic_check_catches_an_id_the_registry_lost() {
    let url = s::common::registry_url();
    let c = client(&format!("registry: {{ url: \"{url}\", verify_interval_ms: 300 }}\n"));
    check(c, &s::unique("kpipe-it-reverify-periodic")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_failure_makes_the_next_send_check_its_cached_id() {
    // No periodic check. The first URL is a closed port: the first registry call fails there
    // once and fails over to the live registry, which marks the cache as to be re-checked.
    let url = s::common::registry_url();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/apis/ccompat/v7")
    };
    let c =
        client(&format!("registry: {{ url: [\"{dead}\", \"{url}\"], verify_interval_ms: 0 }}\n"));
    let topic = s::unique("kpipe-it-reverify-failure");
    let subject = format!("{topic}-value");
    let schema = schema("Failure");
    s::create_topic("business", &topic, 1, 1).await;
    c.set_topic_serde(
        &topic,
        TopicSerde { key: Serde::Bytes, value: Serde::avro(schema.as_str()) },
    );
    send(&c, &topic, 1).await.unwrap();
    s::drop_subject(&subject).await;
    let e = send(&c, &topic, 2).await.unwrap_err();
    assert_eq!(e.code(), "registry.not_found", "{e}");
    send(&c, &topic, 3).await.unwrap();
    // with no failure since, the cache is trusted: no registry call per record
    let before = c.codec().unwrap().registry().stats().http_requests;
    send(&c, &topic, 4).await.unwrap();
    assert_eq!(c.codec().unwrap().registry().stats().http_requests, before);
    let ids = ids_in(&topic, 3).await;
    assert_eq!(ids.len(), 3, "the refused record was not written");
    assert_eq!(ids[1], ids[2]);
    let reg = kpipe::RegistryClient::new(&s::common::registry_url()).unwrap();
    assert_eq!(reg.lookup(&subject, &schema).await.unwrap().id, ids[2]);
    s::drop_subject(&subject).await;
}
