//! The routed client against the local stack: routing, serializers, send_many, the group
//! consumer's positions, closed handles, and bad config files.

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use client_support as s;
use kpipe::avro::JsonBuilder;
use kpipe::{Client, ClusterConsumer, ConsumerOptions, Data, Outgoing, Serde, StartAt, TopicSerde};
use serde_json::json;

type J<'a> = &'a serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_go_to_online_and_the_rest_to_business() {
    let client = Client::from_config(s::config("")).unwrap();
    let orders = s::unique("orders.kpipe-it-route");
    let other = s::unique("kpipe.it.route");
    s::create_topic("online", &orders, 1, 3).await;
    s::create_topic("business", &other, 1, 1).await;
    for (topic, cluster) in [(&orders, "online"), (&other, "business")] {
        let d = client
            .send::<J, J>(
                topic,
                Data::Str("k"),
                Data::Str(topic),
                &[("h", Some(b"v")), ("null", None), ("empty", Some(b""))],
                Some(1_700_000_000_000),
            )
            .await
            .unwrap();
        assert_eq!((&*d.cluster, &*d.topic, d.offset), (cluster, topic.as_str(), 0));
        assert_eq!(d.timestamp_ms, Some(1_700_000_000_000));
        // read it back from that cluster directly
        let c = ClusterConsumer::new(&s::bootstrap(cluster), &s::unique("kpipe-it"), &[]).unwrap();
        c.assign_from_beginning(topic, Duration::from_secs(10)).unwrap();
        let r =
            c.recv(Duration::from_secs(30)).await.unwrap().expect("record on its routed cluster");
        assert_eq!(r.value.as_deref(), Some(topic.as_bytes()));
        assert_eq!(r.timestamp_ms, Some(1_700_000_000_000));
        // a null header value comes back null, an empty one empty
        let want: Vec<(String, Option<Vec<u8>>)> = vec![
            ("h".into(), Some(b"v".to_vec())),
            ("null".into(), None),
            ("empty".into(), Some(Vec::new())),
        ];
        assert_eq!(r.headers, want);
    }
    // the orders topic does not exist on business: no record of it there
    let c = ClusterConsumer::new(
        &s::bootstrap("business"),
        &s::unique("kpipe-it"),
        &[("allow.auto.create.topics".into(), "false".into())],
    )
    .unwrap();
    assert!(
        c.assign_from_beginning(&orders, Duration::from_secs(5)).is_err(),
        "{orders} must not exist on business"
    );
    client.close().unwrap();
    client.close().unwrap(); // idempotent
    let e = client.send::<J, J>(&other, Data::Null, Data::Str("x"), &[], None).await.unwrap_err();
    assert_eq!(e.code(), "closed");
}

const PING: &str = r#"{"type":"record","name":"Ping","namespace":"kpipe.it","fields":[
  {"name":"n","type":"long"},{"name":"note","type":"string"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serializers_round_trip_through_a_group_consumer() {
    let client = Client::from_config(s::config("")).unwrap();
    let json_topic = s::unique("kpipe.it.serde.json");
    let avro_topic = s::unique("kpipe.it.serde.avro");
    s::create_topic("business", &json_topic, 2, 1).await;
    s::create_topic("business", &avro_topic, 2, 1).await;
    client.set_topic_serde(&json_topic, TopicSerde { key: Serde::String, value: Serde::Json });
    client
        .set_topic_serde(&avro_topic, TopicSerde { key: Serde::String, value: Serde::avro(PING) });

    let values: Vec<serde_json::Value> =
        (0..10).map(|n| json!({"n": n, "note": format!("note {n}")})).collect();
    let keys: Vec<String> = (0..10).map(|n| format!("key-{n}")).collect();
    for topic in [&json_topic, &avro_topic] {
        let recs = values
            .iter()
            .zip(&keys)
            .map(|(v, k)| Outgoing::new(topic.as_str(), Data::<J>::Str(k), Data::Value(v)));
        let results = client.send_many(recs).await.unwrap();
        assert_eq!(results.len(), 10);
        for r in &results {
            assert!(r.is_ok(), "{r:?}");
        }
    }
    // a per-call override and a value that does not fit: per-record results
    let bad = json!(5);
    let string_serde = TopicSerde { key: Serde::String, value: Serde::String };
    let recs = vec![
        Outgoing {
            serde: Some(&string_serde),
            ..Outgoing::new(json_topic.as_str(), Data::<J>::Null, Data::Value(&bad))
        },
        Outgoing::new(json_topic.as_str(), Data::Null, Data::Value(&values[0])),
    ];
    let results = client.send_many(recs).await.unwrap();
    assert_eq!(results[0].as_ref().unwrap_err().code(), "serde.encode");
    assert!(results[1].is_ok());
    let e = client
        .send::<J, J>(&avro_topic, Data::Null, Data::Value(&json!({"n": "x"})), &[], None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "serde.encode");
    assert!(e.to_string().contains("n"), "{e}");

    for topic in [&json_topic, &avro_topic] {
        let mut opts = ConsumerOptions::new(s::unique("kpipe-it-serde"), &[topic.as_str()]);
        opts.start = StartAt::Earliest;
        let consumer = client.consumer(opts).unwrap();
        let mut got = Vec::new();
        let expected = if topic == &json_topic { 11 } else { 10 };
        while got.len() < expected {
            let m =
                consumer.recv(Duration::from_secs(30)).await.unwrap().expect("record within 30 s");
            let k = consumer.decode_key(&m, &mut JsonBuilder).await.unwrap();
            let v = consumer.decode_value(&m, &mut JsonBuilder).await.unwrap().unwrap();
            got.push((k, v));
            consumer.ack(&m).unwrap();
        }
        for (k, v) in &got {
            if let Some(k) = k {
                let n = k.as_str().unwrap().trim_start_matches("key-").parse::<usize>().unwrap();
                assert_eq!(v, &values[n], "{topic}");
            }
        }
        consumer.commit().unwrap();
        let committed: i64 =
            consumer.committed(Duration::from_secs(10)).unwrap().iter().map(|(_, _, o)| *o).sum();
        assert_eq!(committed, expected as i64, "everything acked is committed");
        let lag = consumer.lag(Duration::from_secs(10)).unwrap();
        assert_eq!(lag.iter().map(|l| l.lag).sum::<i64>(), 0);
        consumer.pause(&[]).unwrap();
        consumer.resume(&[]).unwrap();
        consumer.close().unwrap();
        consumer.close().unwrap();
        assert_eq!(consumer.recv(Duration::from_millis(10)).await.unwrap_err().code(), "closed");
    }
    s::drop_subject(&format!("{avro_topic}-value")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_serializers_apply_without_set_topic_serde() {
    let client = Client::from_config(s::config(
        "serializers:\n  - { topic: \"kpipe.it.yaml-serde.*\", key: string, value: json }\n",
    ))
    .unwrap();
    let topic = s::unique("kpipe.it.yaml-serde.x");
    s::create_topic("business", &topic, 1, 1).await;
    let json_serde = TopicSerde { key: Serde::String, value: Serde::Json };
    assert_eq!(client.topic_serde(&topic), json_serde, "from kpipe.yaml");
    assert_eq!(client.topic_serde("kpipe.it.other"), TopicSerde::default(), "no entry: bytes");

    let value = json!({"n": 1, "note": "from yaml"});
    client.send::<J, J>(&topic, Data::Str("k1"), Data::Value(&value), &[], None).await.unwrap();
    // a per-call override wins over the config entry
    let string_serde = TopicSerde { key: Serde::String, value: Serde::String };
    let plain = json!("plain text");
    let rec = Outgoing {
        serde: Some(&string_serde),
        ..Outgoing::new(topic.as_str(), Data::<J>::Str("k2"), Data::Value(&plain))
    };
    client.send_record(rec).await.unwrap();

    // the bytes on the wire: JSON text, then the unquoted string
    let raw = ClusterConsumer::new(&s::bootstrap("business"), &s::unique("kpipe-it"), &[]).unwrap();
    raw.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
    let r = raw.recv(Duration::from_secs(30)).await.unwrap().expect("first record");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(r.value.as_deref().unwrap()).unwrap(),
        value
    );
    assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
    let r = raw.recv(Duration::from_secs(30)).await.unwrap().expect("second record");
    assert_eq!(r.value.as_deref(), Some(&b"plain text"[..]));

    // a group consumer decodes with the config entry too
    let mut opts = ConsumerOptions::new(s::unique("kpipe-it-yaml-serde"), &[topic.as_str()]);
    opts.start = StartAt::Earliest;
    let consumer = client.consumer(opts).unwrap();
    let m = consumer.recv(Duration::from_secs(30)).await.unwrap().expect("record within 30 s");
    assert_eq!(consumer.decode_key(&m, &mut JsonBuilder).await.unwrap(), Some(json!("k1")));
    assert_eq!(consumer.decode_value(&m, &mut JsonBuilder).await.unwrap(), Some(value.clone()));
    consumer.close().unwrap();

    // set_topic_serde beats the config entry
    client.set_topic_serde(&topic, string_serde.clone());
    assert_eq!(client.topic_serde(&topic), string_serde);
    client.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_positions_and_out_of_order_acks() {
    let client = Client::from_config(s::config("")).unwrap();
    let topic = s::unique("kpipe.it.start");
    s::create_topic("business", &topic, 1, 1).await;
    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as i64;
    for i in 0..10i64 {
        let ts = before + i * 1000;
        client
            .send::<J, J>(&topic, Data::Null, Data::Str(&i.to_string()), &[], Some(ts))
            .await
            .unwrap();
    }
    let first = |start: StartAt| {
        let client = client.clone();
        let topic = topic.clone();
        async move {
            let mut o = ConsumerOptions::new(s::unique("kpipe-it-start"), &[topic.as_str()]);
            o.start = start;
            let c = client.consumer(o).unwrap();
            let m = c.recv(Duration::from_secs(20)).await.unwrap();
            c.close().unwrap();
            m.map(|m| m.offset)
        }
    };
    assert_eq!(first(StartAt::Earliest).await, Some(0));
    assert_eq!(first(StartAt::Committed).await, Some(0));
    assert_eq!(first(StartAt::Offset(7)).await, Some(7));
    assert_eq!(first(StartAt::Timestamp(before + 4500)).await, Some(5));

    // out-of-order acks never commit past an unhandled record
    let group = s::unique("kpipe-it-ooo");
    let mut o = ConsumerOptions::new(&group, &[topic.as_str()]);
    o.commit = Some(kpipe::config::CommitMode::Manual);
    let c = client.consumer(o).unwrap();
    let mut ms = Vec::new();
    while ms.len() < 5 {
        ms.push(c.recv(Duration::from_secs(20)).await.unwrap().expect("record"));
    }
    c.ack(&ms[1]).unwrap();
    c.ack(&ms[2]).unwrap();
    c.commit().unwrap();
    assert!(
        c.committed(Duration::from_secs(10)).unwrap().iter().all(|(_, _, o)| *o == -1),
        "offset 0 unhandled: nothing committed"
    );
    c.ack(&ms[0]).unwrap();
    c.ack(&ms[4]).unwrap();
    c.commit().unwrap();
    assert_eq!(c.committed(Duration::from_secs(10)).unwrap()[0].2, 3, "0..=2 handled, 3 not");
    c.seek(&topic, 0, 8, Duration::from_secs(5)).unwrap();
    assert_eq!(c.recv(Duration::from_secs(20)).await.unwrap().unwrap().offset, 8);
    let pos = c.position().unwrap();
    assert_eq!(pos[0].2, 9);
    c.close().unwrap();
    // a new member of the group starts at the commit
    let c = client.consumer(ConsumerOptions::new(&group, &[topic.as_str()])).unwrap();
    assert_eq!(c.recv(Duration::from_secs(20)).await.unwrap().unwrap().offset, 3);
    c.close().unwrap();
}

#[test]
fn bad_config_files_give_their_specific_errors() {
    let dir = std::env::temp_dir().join(s::unique("kpipe-it-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("unknown-key.yaml", "clusters: { a: { bootstrap: x, bootstrapp: y } }", "clusters.a.bootstrapp: unknown key"),
        ("no-bootstrap.yaml", "clusters: { a: { properties: {} } }", "clusters.a.bootstrap: missing key"),
        ("unknown-cluster.yaml", "clusters: { a: { bootstrap: x } }\nroutes: [ { topic: '*', cluster: b } ]", "routes[0].cluster: unknown cluster"),
        ("bad-glob.yaml", "clusters: { a: { bootstrap: x } }\nroutes: [ { topic: 'x[', cluster: a } ]", "routes[0].topic: malformed glob"),
        ("bad-commit.yaml", "clusters: { a: { bootstrap: x } }\nconsumer: { commit: sometimes }", "consumer.commit"),
        ("zero-attempts.yaml", "clusters: { a: { bootstrap: x } }\nconsumer: { max_attempts: 0 }", "consumer.max_attempts: must be at least 1"),
        ("missing-secret.yaml", "clusters: { a: { bootstrap: '${KPIPE_IT_UNSET_SECRET}' } }", "env var KPIPE_IT_UNSET_SECRET is not set"),
        ("bad-serializer.yaml", "clusters: { a: { bootstrap: x } }\nserializers: [ { topic: x, value: xml } ]", "serializers[0].value: unknown serializer"),
        ("missing-schema.yaml", "clusters: { a: { bootstrap: x } }\nserializers: [ { topic: x, value: avro, schema: nope.avsc } ]", "serializers[0].schema: cannot read schema file"),
        ("not-yaml.yaml", "clusters: [", ""),
    ];
    for (name, text, starts) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let e = Client::from_file(&path).unwrap_err();
        assert_eq!(e.code(), "config.invalid", "{name}: {e}");
        assert!(e.to_string().contains(starts), "{name}: {e}");
    }
    let e = Client::from_file(dir.join("absent.yaml")).unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(e.to_string().contains("config file not found"), "{e}");
    // a bad librdkafka property is refused at load, naming its cluster and key
    let e = kpipe::config::Config::from_yaml(
        "clusters: { a: { bootstrap: x, properties: { no.such.property: 1 } } }",
    )
    .unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(e.to_string().starts_with("clusters.a.properties.no.such.property:"), "{e}");
    // no route, and one consumer over two clusters
    let client = Client::from_config(
        kpipe::config::Config::from_yaml(
            "clusters: { a: { bootstrap: x }, b: { bootstrap: y } }\nroutes: [ { topic: 'a.*', cluster: a }, { topic: 'b.*', cluster: b } ]",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(client.producer("zzz").unwrap_err().code(), "config.invalid");
    let e = kpipe::runtime::block_on(client.send::<J, J>("c.x", Data::Null, Data::Null, &[], None))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "route.no_cluster");
    let e = client.consumer(ConsumerOptions::new("g", &["a.x", "b.y"])).unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(e.to_string().contains("a.x -> a") && e.to_string().contains("b.y -> b"), "{e}");
    let e = client.send_blocking::<J, J>("c.x", Data::Null, Data::Null, &[], None).unwrap_err();
    assert_eq!(e.code(), "route.no_cluster");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_statistics_are_exposed() {
    let yaml = s::yaml(None, "").replace(
        &format!("  business: {{ bootstrap: \"{}\" }}", s::bootstrap("business")),
        &format!(
            "  business: {{ bootstrap: \"{}\", properties: {{ statistics.interval.ms: 100 }} }}",
            s::bootstrap("business")
        ),
    );
    let client = Client::from_config(kpipe::config::Config::from_yaml(&yaml).unwrap()).unwrap();
    let topic = s::unique("kpipe.it.stats");
    s::create_topic("business", &topic, 1, 1).await;
    client.send::<J, J>(&topic, Data::Null, Data::Str("x"), &[], None).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let st = client.statistics();
        if let Some(s) = st.into_iter().find(|s| s.txmsgs >= 1) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "no statistics within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stats.cluster, "business");
    assert_eq!(stats.client_type, "producer");
    assert!(stats.brokers_up >= 1);
    assert!(stats.raw.topics.contains_key(&topic));
    client.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_subscription_reads_every_matching_topic() {
    let client = Client::from_config(s::config("")).unwrap();
    let base = s::unique("kpipe.it.pat").replace('-', "_");
    let topics = [format!("{base}.a"), format!("{base}.b")];
    for t in &topics {
        s::create_topic("business", t, 1, 1).await;
        client.send::<J, J>(t, Data::Null, Data::Str(t), &[], None).await.unwrap();
    }
    let mut o = ConsumerOptions::new(s::unique("kpipe-it-pat"), &[]);
    o.subscription = kpipe::Subscription::Pattern(format!("{}\\..*", base.replace('.', "\\.")));
    o.start = StartAt::Earliest;
    assert_eq!(
        client.consumer(o.clone()).unwrap_err().code(),
        "config.invalid",
        "a pattern needs a cluster"
    );
    o.cluster = Some("business".into());
    let c = client.consumer(o).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        let m = c
            .recv(Duration::from_secs(30))
            .await
            .unwrap()
            .expect("a record of each matching topic");
        seen.insert(m.topic.to_string());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), topics.to_vec());
    c.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handled_offsets_are_committed_when_partitions_are_revoked() {
    // Periodic commits are off (1 h), so only the revoke callback can commit.
    let client =
        Client::from_config(s::config("consumer: { commit_interval_ms: 3600000 }\n")).unwrap();
    let topic = s::unique("kpipe.it.revoke");
    s::create_topic("business", &topic, 4, 1).await;
    let values: Vec<String> = (0..40).map(|n| n.to_string()).collect();
    let recs =
        values.iter().map(|v| Outgoing::<J, J>::new(topic.as_str(), Data::Str(v), Data::Str(v)));
    for r in client.send_many(recs).await.unwrap() {
        r.unwrap();
    }
    let group = s::unique("kpipe-it-revoke");
    let a = client.consumer(ConsumerOptions::new(&group, &[topic.as_str()])).unwrap();
    let mut handled = 0;
    while handled < 40 {
        let m = a.recv(Duration::from_secs(30)).await.unwrap().expect("record");
        a.ack(&m).unwrap();
        handled += 1;
    }
    let probe = ClusterConsumer::new(&s::bootstrap("business"), &group, &[]).unwrap();
    assert!(
        probe.committed_offsets(&topic, 4, Duration::from_secs(10)).unwrap().iter().all(|o| *o < 0),
        "nothing committed yet"
    );
    // a second member joins: a's partitions are revoked, and a commits in the revoke callback
    let b = Arc::new(client.consumer(ConsumerOptions::new(&group, &[topic.as_str()])).unwrap());
    let b2 = b.clone();
    let joiner = tokio::spawn(async move {
        let _ = b2.recv(Duration::from_secs(15)).await;
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let _ = a.recv(Duration::from_millis(200)).await.unwrap();
        let committed = probe.committed_offsets(&topic, 4, Duration::from_secs(10)).unwrap();
        if committed.iter().sum::<i64>() == 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "handled offsets not committed on revoke: {committed:?}"
        );
    }
    joiner.await.unwrap();
    a.close().unwrap();
    b.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_record_gets_its_error_in_place_and_the_others_are_sent() {
    use kpipe::binding::SerializedBatch;
    let client = Client::from_config(s::config("")).unwrap();
    let topic = s::unique("kpipe.it.batch.reject");
    s::create_topic("business", &topic, 1, 1).await;
    let mut batch = SerializedBatch::with_capacity(3);
    for (i, good) in [true, false, true].into_iter().enumerate() {
        if good {
            let k = batch.store(None);
            let v = batch.store(Some(format!("v{i}").as_bytes()));
            batch.push(k, v, vec![], None);
        } else {
            batch.reject(kpipe::Error::InputInvalid {
                what: "record 1".into(),
                reason: "bad".into(),
            });
        }
    }
    assert_eq!(batch.len(), 2);
    assert_eq!(batch.first_rejection().map(|e| e.code()), Some("input.invalid"));
    let sent = batch.send(&client, &topic).await;
    assert_eq!(sent.len(), 3, "one result per record, the rejected one included");
    assert_eq!(sent[0].as_ref().unwrap().offset, 0);
    assert_eq!(sent[1].as_ref().unwrap_err().code(), "input.invalid");
    assert_eq!(sent[2].as_ref().unwrap().offset, 1);
    let c = ClusterConsumer::new(&s::bootstrap("business"), &s::unique("kpipe-it"), &[]).unwrap();
    c.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
    for want in ["v0", "v2"] {
        let r = c.recv(Duration::from_secs(30)).await.unwrap().expect("a record");
        assert_eq!(r.value.as_deref(), Some(want.as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialized_batch_queues_its_records_in_order_with_their_own_headers() {
    use kpipe::binding::{wait_all, OwnedHeader, SerializedBatch};
    let client = Client::from_config(s::config("")).unwrap();
    let topic = s::unique("kpipe.it.batch");
    s::create_topic("business", &topic, 1, 1).await;
    // runs of equal headers/timestamps, then a change, then the first again: order must hold
    /// key, value, headers, timestamp
    type Planned = (Option<&'static str>, Option<&'static str>, Vec<OwnedHeader>, Option<i64>);
    let plan: Vec<Planned> = vec![
        (Some("k0"), Some("v0"), vec![("h".into(), Some(b"a".to_vec()))], Some(1_000)),
        (None, Some("v1"), vec![("h".into(), Some(b"a".to_vec()))], Some(1_000)),
        (Some("k2"), None, vec![("h".into(), None)], Some(2_000)),
        (Some("k3"), Some(""), vec![], None),
        (Some("k4"), Some("v4"), vec![("h".into(), Some(b"a".to_vec()))], Some(1_000)),
    ];
    let mut batch = SerializedBatch::with_capacity(plan.len());
    for (k, v, h, ts) in &plan {
        let k = batch.store(k.map(str::as_bytes));
        let v = batch.store(v.map(str::as_bytes));
        batch.push(k, v, h.clone(), *ts);
    }
    assert_eq!(batch.len(), 5);
    let sent = wait_all(batch.enqueue(&client, &topic).await).await;
    let offsets: Vec<i64> = sent.into_iter().map(|d| d.unwrap().offset).collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
    let c = ClusterConsumer::new(&s::bootstrap("business"), &s::unique("kpipe-it"), &[]).unwrap();
    c.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
    for (k, v, h, ts) in &plan {
        let r = c.recv(Duration::from_secs(30)).await.unwrap().expect("a record");
        assert_eq!(r.key.as_deref(), k.map(str::as_bytes));
        assert_eq!(r.value.as_deref(), v.map(str::as_bytes));
        assert_eq!(&r.headers, h);
        if let Some(ts) = ts {
            assert_eq!(r.timestamp_ms, Some(*ts));
        }
    }
}
