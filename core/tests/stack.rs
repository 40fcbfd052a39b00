//! Against the real local stack (dev/stack up): one record through each cluster and back,
//! and a schema through the registry's Confluent-compatible API.

mod common;

use std::time::Duration;

use apache_avro::types::Value;
use kpipe::{avro, ClusterAdmin, ClusterConsumer, ClusterProducer, RegistryClient};

const SCHEMA: &str = r#"{"type":"record","name":"Ping","namespace":"kpipe.test",
  "fields":[{"name":"seq","type":"long"},{"name":"cluster","type":"string"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_goes_through_each_cluster_and_back() {
    for cluster in common::clusters() {
        let topic = common::unique(&format!("kpipe.it.roundtrip.{}", cluster.name));
        ClusterAdmin::new(&cluster.bootstrap)
            .unwrap()
            .ensure_topic(&topic, 3, cluster.replication)
            .await
            .unwrap_or_else(|e| panic!("creating {topic} on {}: {e}", cluster.name));

        let producer = ClusterProducer::new(cluster.name, &cluster.bootstrap, &[]).unwrap();
        let value = format!("hello {}", cluster.name);
        let delivery = producer
            .send(&topic, Some(b"k1"), Some(value.as_bytes()), &[("trace", Some(b"t-1"))])
            .await
            .unwrap_or_else(|e| panic!("producing to {}: [{}] {e}", cluster.name, e.code()));
        assert_eq!(&*delivery.cluster, cluster.name);
        assert_eq!(delivery.offset, 0, "first record of a new topic");

        let consumer =
            ClusterConsumer::new(&cluster.bootstrap, &common::unique("kpipe-it"), &[]).unwrap();
        consumer.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
        let record = consumer
            .recv(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no record came back from {}", cluster.name));
        assert_eq!(&*record.topic, topic.as_str());
        assert_eq!(record.partition, delivery.partition);
        assert_eq!(record.offset, delivery.offset);
        assert_eq!(record.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(record.value.as_deref(), Some(value.as_bytes()));
        assert_eq!(record.headers, vec![("trace".to_string(), Some(b"t-1".to_vec()))]);
    }
}

#[tokio::test]
async fn a_schema_registers_and_reads_back_by_id() {
    let registry = RegistryClient::new(&common::registry_url()).unwrap();
    let subject = common::unique("kpipe-it-ping-value");
    let id = registry.register(&subject, SCHEMA).await.unwrap();
    // Registering the same schema again finds the same id.
    assert_eq!(registry.register(&subject, SCHEMA).await.unwrap(), id);

    let text = registry.schema_by_id(id).await.unwrap();
    let original = avro::parse_schema(SCHEMA).unwrap();
    let fetched = avro::parse_schema(&text).unwrap();
    assert_eq!(fetched.canonical_form(), original.canonical_form());

    let latest = registry.latest(&subject).await.unwrap();
    assert_eq!((latest.id, latest.version), (id, 1));
    assert!(registry.subjects().await.unwrap().contains(&subject));

    let missing = registry.schema_by_id(999_999_999).await.unwrap_err();
    assert_eq!(missing.code(), "serde.unknown_schema_id");
    let missing = registry.latest(&common::unique("kpipe-it-missing")).await.unwrap_err();
    assert_eq!(missing.code(), "registry.not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_records_survive_a_trip_through_the_registry_and_online() {
    let registry = RegistryClient::new(&common::registry_url()).unwrap();
    let topic = common::unique("kpipe.it.avro");
    let id = registry.register(&format!("{topic}-value"), SCHEMA).await.unwrap();
    let schema = avro::CompiledSchema::parse(SCHEMA).unwrap();
    let online = common::clusters().into_iter().find(|c| c.name == "online").unwrap();
    ClusterAdmin::new(&online.bootstrap).unwrap().ensure_topic(&topic, 1, 3).await.unwrap();
    let producer = ClusterProducer::new("online", &online.bootstrap, &[]).unwrap();
    let mut sent = Vec::new();
    for seq in 0..5i64 {
        let v = Value::Record(vec![
            ("seq".into(), Value::Long(seq)),
            ("cluster".into(), Value::String("online".into())),
        ]);
        let mut bytes = Vec::new();
        avro::encode_framed(id, &schema, &&v, &mut bytes).unwrap();
        producer.send(&topic, None, Some(&bytes), &[]).await.unwrap();
        sent.push(v);
    }
    let consumer =
        ClusterConsumer::new(&online.bootstrap, &common::unique("kpipe-it"), &[]).unwrap();
    consumer.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let r =
            consumer.recv(Duration::from_secs(30)).await.unwrap().expect("a record within 30 s");
        let payload = r.value.unwrap();
        let (wire_id, body) = avro::split_header(&payload).unwrap();
        let writer =
            avro::CompiledSchema::parse(&registry.schema_by_id(wire_id).await.unwrap()).unwrap();
        got.push(avro::decode(&writer, None, body, &mut avro::ApacheBuilder).unwrap());
    }
    assert_eq!(got, sent);
}
