//! Poison records: a handler failing on some records sends exactly those to `<topic>.dlq`
//! (original key, value bytes, headers + kpipe.* headers) after its retries and goes on;
//! undecodable payloads go the same way without handler attempts.

mod client_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support as s;
use kpipe::{
    dlq, Client, ClusterConsumer, ConsumerOptions, Data, Error, Serde, StartAt, TopicSerde,
};
use serde_json::json;

type J<'a> = &'a serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_and_undecodable_records_go_to_the_dlq_and_the_consumer_goes_on() {
    let client = Client::from_config(s::config(
        "consumer: { max_attempts: 3, backoff_ms: 10, commit_interval_ms: 100 }\n",
    ))
    .unwrap();
    let topic = s::unique("kpipe.it.poison");
    let dlq_topic = format!("{topic}.dlq");
    s::create_topic("business", &topic, 3, 1).await;
    s::create_topic("business", &dlq_topic, 1, 1).await;
    client.set_topic_serde(&topic, TopicSerde { key: Serde::String, value: Serde::Json });

    let total = 60usize;
    let poison = |n: usize| n % 7 == 3;
    let garbage = |n: usize| n % 11 == 5;
    for n in 0..total {
        let key = format!("k{n}");
        let v = json!({"n": n});
        let hdr = format!("trace-{n}");
        let headers = [("trace", Some(hdr.as_bytes())), ("nothing", None)];
        let value = if garbage(n) { Data::Bytes(b"{not json") } else { Data::Value(&v) };
        client.send::<J, J>(&topic, Data::Str(&key), value, &headers, None).await.unwrap();
    }
    let expected_dlq: BTreeSet<usize> = (0..total).filter(|n| poison(*n) || garbage(*n)).collect();

    let mut opts = ConsumerOptions::new(s::unique("kpipe-it-poison"), &[topic.as_str()]);
    opts.start = StartAt::Earliest;
    let consumer = Arc::new(client.consumer(opts).unwrap());
    let handled = Arc::new(Mutex::new(BTreeSet::new()));
    let attempts = Arc::new(Mutex::new(BTreeMap::<usize, u32>::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let run = {
        let (c, handled, attempts, calls) =
            (consumer.clone(), handled.clone(), attempts.clone(), calls.clone());
        tokio::spawn(async move {
            c.run(move |rec| {
                let (handled, attempts, calls) = (handled.clone(), attempts.clone(), calls.clone());
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let n = rec.value.as_ref().and_then(|v| v["n"].as_u64()).expect("decoded value")
                        as usize;
                    *attempts.lock().unwrap().entry(n).or_default() += 1;
                    if n % 7 == 3 {
                        return Err(Error::handler(format!("cannot handle order {n}")));
                    }
                    handled.lock().unwrap().insert(n);
                    Ok(())
                }
            })
            .await
        })
    };

    // read the DLQ directly until every expected dead letter is there
    let reader =
        ClusterConsumer::new(&s::bootstrap("business"), &s::unique("kpipe-it-dlq"), &[]).unwrap();
    reader.assign_from_beginning(&dlq_topic, Duration::from_secs(10)).unwrap();
    let mut letters = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while letters.len() < expected_dlq.len() && Instant::now() < deadline {
        if let Some(r) = reader.recv(Duration::from_secs(1)).await.unwrap() {
            letters.push(r);
        }
    }
    // the consumer went on past every poison record
    while handled.lock().unwrap().len() < total - expected_dlq.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.stop();
    run.await.unwrap().unwrap();

    let h = |r: &kpipe::Message, k: &str| {
        let v = r.header(k).unwrap_or_else(|| panic!("header {k}"));
        String::from_utf8(v.unwrap_or_else(|| panic!("header {k} is null")).to_vec()).unwrap()
    };
    let mut seen = BTreeSet::new();
    for r in &letters {
        let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
        let n: usize = key.trim_start_matches('k').parse().unwrap();
        assert!(seen.insert(n), "record {n} dead-lettered twice");
        assert_eq!(h(r, "trace"), format!("trace-{n}"), "original headers kept");
        assert_eq!(r.header("nothing"), Some(None), "a null original header stays null");
        assert_eq!(h(r, dlq::SOURCE_TOPIC), topic);
        let (p, o): (i32, i64) = (
            h(r, dlq::SOURCE_PARTITION).parse().unwrap(),
            h(r, dlq::SOURCE_OFFSET).parse().unwrap(),
        );
        assert!((0..3).contains(&p) && o >= 0);
        assert!(h(r, dlq::SOURCE_TIMESTAMP).parse::<i64>().unwrap() > 0);
        if garbage(n) {
            assert_eq!(r.value.as_deref(), Some(&b"{not json"[..]), "original bytes");
            assert_eq!(h(r, dlq::ERROR_CODE), "serde.decode");
            assert_eq!(h(r, dlq::ATTEMPTS), "0");
        } else {
            assert_eq!(
                r.value.as_deref(),
                Some(json!({"n": n}).to_string().as_bytes()),
                "original bytes"
            );
            assert_eq!(h(r, dlq::ERROR_CODE), "handler.failed");
            assert_eq!(
                h(r, dlq::ERROR_MESSAGE),
                format!("handler failed: cannot handle order {n}")
            );
            assert_eq!(h(r, dlq::ATTEMPTS), "3");
            assert_eq!(attempts.lock().unwrap()[&n], 3, "retried max_attempts times");
        }
    }
    assert_eq!(seen, expected_dlq, "exactly the poison and undecodable records");
    let handled = handled.lock().unwrap().clone();
    let good: BTreeSet<usize> = (0..total).filter(|n| !expected_dlq.contains(n)).collect();
    assert_eq!(handled, good);
    // everything, dead letters included, was committed
    let committed: i64 =
        consumer.committed(Duration::from_secs(10)).unwrap().iter().map(|(_, _, o)| *o).sum();
    assert_eq!(committed, total as i64);
    consumer.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dlq_write_stops_the_loop_without_committing() {
    // The DLQ template names a topic on a cluster nobody listens on: the write times out.
    let extra = "consumer: { max_attempts: 1, backoff_ms: 1, commit_interval_ms: 50, dlq: 'nowhere.{topic}' }\n";
    let mut yaml = s::yaml(None, extra);
    yaml = yaml.replace("routes:\n", "routes:\n  - { topic: \"nowhere.*\", cluster: dead }\n");
    yaml = yaml.replace("clusters:\n", "clusters:\n  dead: { bootstrap: \"127.0.0.1:1\", properties: { message.timeout.ms: 2000 } }\n");
    let client = Client::from_config(kpipe::config::Config::from_yaml(&yaml).unwrap()).unwrap();
    let topic = s::unique("kpipe.it.dlqfail");
    s::create_topic("business", &topic, 1, 1).await;
    for n in 0..3 {
        client
            .send::<J, J>(&topic, Data::Null, Data::Str(&n.to_string()), &[], None)
            .await
            .unwrap();
    }
    let group = s::unique("kpipe-it-dlqfail");
    let consumer = client.consumer(ConsumerOptions::new(&group, &[topic.as_str()])).unwrap();
    let e = consumer
        .run(|rec| async move {
            if rec.message.offset == 1 {
                Err(Error::handler("no"))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "kafka.timeout", "{e}");
    consumer.commit().unwrap();
    assert_eq!(
        consumer.committed(Duration::from_secs(10)).unwrap()[0].2,
        1,
        "offset 1 is not committed"
    );
    consumer.close().unwrap();
}
