//! Produce and consume throughput: the kpipe client (routing, Avro encoding through the
//! registry-aware codec, delivery reports per record) beside rust-rdkafka used directly with
//! the same pre-encoded bytes, in one run, against the local stack's business cluster.
//!
//! `cargo bench -p kpipe-bench --bench produce_consume` (release). `KPIPE_BENCH_RECORDS`
//! overrides the 1 000 000 records; addresses follow dev/stack's env vars.
//! Workload: the Order record (tests/conformance/orders.jsonl cycled, distinct string keys),
//! a 6-partition RF-1 topic, acks=all, idempotent, linger.ms=5 on both sides.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kpipe::avro::JsonBuilder;
use kpipe::{Client, ClusterAdmin, ConsumerOptions, Data, Outgoing, Serde, StartAt, TopicSerde};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message as _, Offset, TopicPartitionList};

const SCHEMA: &str = include_str!("../../../tests/conformance/schemas/order.avsc");
const ORDERS: &str = include_str!("../../../tests/conformance/orders.jsonl");
const PARTITIONS: i32 = 6;
const CHUNK: usize = 250_000;

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

#[derive(Clone)]
struct Counting(Arc<Counters>);

struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(_) => self.0.ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.0.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// CPU seconds this process used so far (user + system, from /proc).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    ticks / 100.0
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = env_or("KPIPE_BENCH_RECORDS", "1000000").parse().expect("KPIPE_BENCH_RECORDS");
    let business = env_or("KPIPE_BUSINESS_BOOTSTRAP", "127.0.0.1:19092");
    let registry = env_or("KPIPE_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7");
    let yaml = format!(
        "clusters: {{ business: {{ bootstrap: \"{business}\" }} }}\nregistry: {{ url: \"{registry}\" }}\n\
         producer: {{ acks: all, idempotence: true, linger_ms: 5 }}\n"
    );
    let client = Client::from_config(kpipe::config::Config::from_yaml(&yaml).unwrap()).unwrap();
    let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let kpipe_topic = format!("kpipe.bench.pc.{run}.kpipe");
    let raw_topic = format!("kpipe.bench.pc.{run}.raw");
    let admin = ClusterAdmin::new(&business).unwrap();
    for t in [&kpipe_topic, &raw_topic] {
        admin.ensure_topic(t, PARTITIONS, 1).await.unwrap();
    }
    let orders: Vec<serde_json::Value> = ORDERS.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let keys: Vec<String> = (0..n).map(|i| format!("order-{i:08}")).collect();
    client.set_topic_serde(&kpipe_topic, TopicSerde { key: Serde::String, value: Serde::avro(SCHEMA) });
    // The same bytes kpipe writes: registry id + Avro body, encoded once per distinct order.
    let codec = client.codec().unwrap();
    let mut encoded = Vec::new();
    for o in &orders {
        let mut buf = Vec::new();
        codec.encode(&kpipe_topic, false, Some(SCHEMA), &o, &mut buf).await.unwrap();
        encoded.push(buf);
    }
    let plan = kpipe::avro::CompiledSchema::parse(SCHEMA).unwrap();
    let avg = encoded.iter().map(Vec::len).sum::<usize>() / encoded.len();
    println!("{n} Order records (avg {avg} B Avro), {PARTITIONS} partitions, business @ {business}");

    // ---- Avro encoding alone (what kpipe does on top of raw rdkafka) ----
    let t = Instant::now();
    let mut buf = Vec::with_capacity(512);
    for i in 0..n {
        buf.clear();
        kpipe::avro::encode_framed(1, &plan, &&orders[i % orders.len()], &mut buf).unwrap();
    }
    let encode_only = t.elapsed();
    println!("encode   kpipe Avro encode only (1 thread):    {:>10.0} records/s ({encode_only:.2?})", rate(n, encode_only));

    // ---- produce: raw rdkafka (pre-encoded bytes) ----
    let ctx = Counting(Arc::new(Counters { ok: AtomicU64::new(0), failed: AtomicU64::new(0) }));
    let raw: ThreadedProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", &business)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create_with_context(ctx.clone())
        .unwrap();
    let t = Instant::now();
    let c0 = cpu();
    for i in 0..n {
        let mut rec = BaseRecord::to(&raw_topic).key(keys[i].as_bytes()).payload(&encoded[i % encoded.len()]);
        loop {
            match raw.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
    rdkafka::producer::Producer::flush(&raw, Duration::from_secs(120)).unwrap();
    let raw_produce = t.elapsed();
    println!("  (raw produce: {:.2} CPU s)", cpu() - c0);
    assert_eq!(ctx.0.ok.load(Ordering::Relaxed) as usize, n, "raw deliveries ({} failed)", ctx.0.failed.load(Ordering::Relaxed));
    drop(raw);

    // ---- produce: raw rdkafka FutureProducer (pre-encoded bytes, futures awaited in order) ----
    let fp: rdkafka::producer::FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &business)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let t = Instant::now();
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let mut futures = Vec::with_capacity(end - start);
        for i in start..end {
            let mut rec = rdkafka::producer::FutureRecord::to(&raw_topic).key(keys[i].as_bytes()).payload(&encoded[i % encoded.len()]);
            loop {
                match fp.send_result(rec) {
                    Ok(f) => break futures.push(f),
                    Err((_, back)) => {
                        rec = back;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
        for f in futures {
            f.await.unwrap().unwrap();
        }
    }
    let future_produce = t.elapsed();
    drop(fp);

    // ---- produce: kpipe (Avro encoding included) ----
    let t = Instant::now();
    let c0 = cpu();
    let mut delivered = 0usize;
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let recs = (start..end).map(|i| {
            Outgoing::<&serde_json::Value, &serde_json::Value>::new(
                &kpipe_topic,
                Data::Str(&keys[i]),
                Data::Value(&orders[i % orders.len()]),
            )
        });
        for r in client.send_many(recs).await.unwrap() {
            r.unwrap();
            delivered += 1;
        }
    }
    let kpipe_produce = t.elapsed();
    println!("  (kpipe produce: {:.2} CPU s)", cpu() - c0);
    assert_eq!(delivered, n);

    let (rr, kr) = (rate(n, raw_produce), rate(n, kpipe_produce));
    println!("produce  rdkafka ThreadedProducer (pre-encoded): {rr:>10.0} records/s ({raw_produce:.2?})");
    println!("produce  kpipe Client::send_many (Avro encode):  {kr:>10.0} records/s ({kpipe_produce:.2?})");
    let fr = rate(n, future_produce);
    println!("produce  rdkafka FutureProducer (pre-encoded):   {fr:>10.0} records/s ({future_produce:.2?})");
    println!("produce  ratio kpipe/rdkafka: {:.2}x vs ThreadedProducer, {:.2}x vs FutureProducer", kr / rr, kr / fr);

    if std::env::var("KPIPE_BENCH_ONLY").as_deref() == Ok("produce") {
        let subject = format!("{kpipe_topic}-value");
        let _ = codec.registry().delete_subject(&subject, false).await;
        let _ = codec.registry().delete_subject(&subject, true).await;
        return;
    }

    // ---- consume: raw rdkafka BaseConsumer (bytes only) ----
    let raw_c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &business)
        .set("group.id", format!("kpipe-bench-raw-{run}"))
        .set("fetch.queue.backoff.ms", "10") // kpipe's consumer default, for a like-for-like run
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(&kpipe_topic, p, Offset::Beginning).unwrap();
    }
    raw_c.assign(&tpl).unwrap();
    // the first record is not timed (connection and fetch start), as for kpipe below
    raw_c.poll(Duration::from_secs(30)).expect("first record").unwrap();
    let t = Instant::now();
    let c0 = cpu();
    let (mut count, mut bytes) = (1usize, 0usize);
    while count < n {
        if let Some(m) = raw_c.poll(Duration::from_secs(10)) {
            let m = m.unwrap();
            bytes += m.payload().map_or(0, <[u8]>::len) + m.key().map_or(0, <[u8]>::len);
            count += 1;
        } else {
            panic!("raw consumer stalled at {count}");
        }
    }
    let raw_consume = t.elapsed();
    println!("  (raw consume: {:.2} CPU s)", cpu() - c0);
    drop(raw_c);
    // ---- consume: raw rdkafka StreamConsumer, owned messages (detach), group subscription ----
    let sc: rdkafka::consumer::StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &business)
        .set("group.id", format!("kpipe-bench-rawstream-{run}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .unwrap();
    sc.subscribe(&[kpipe_topic.as_str()]).unwrap();
    sc.recv().await.unwrap();
    let t = Instant::now();
    let mut owned_bytes = 0usize;
    for _ in 1..n {
        let m = sc.recv().await.unwrap().detach();
        owned_bytes += m.payload().map_or(0, <[u8]>::len);
    }
    let stream_consume = t.elapsed();
    std::hint::black_box(owned_bytes);
    drop(sc);

    // ---- consume: kpipe group consumer (after-handle tracking), raw and decoded ----
    let mut kpipe_consume = Vec::new();
    for decode in [false, true] {
        let mut opts = ConsumerOptions::new(format!("kpipe-bench-{run}-{decode}"), &[kpipe_topic.as_str()]);
        opts.start = StartAt::Earliest;
        if let Ok(props) = std::env::var("KPIPE_BENCH_CONSUMER_PROPS") {
            for kv in props.split(',') {
                if let Some((k, v)) = kv.split_once('=') {
                    opts.properties.push((k.into(), v.into()));
                }
            }
        }
        let c = client.consumer(opts).unwrap();
        // wait for the assignment so the group join is not timed
        let first = c.recv(Duration::from_secs(30)).await.unwrap().expect("first record");
        c.ack(&first).unwrap();
        let t = Instant::now();
        let c0 = cpu();
        let mut count = 1usize;
        let mut kbytes = 0usize;
        while count < n {
            let m = c.recv(Duration::from_secs(10)).await.unwrap().expect("kpipe consumer stalled");
            if decode {
                let v = c.decode_value(&m, &mut JsonBuilder).await.unwrap();
                kbytes += v.is_some() as usize;
            } else {
                kbytes += m.value.as_ref().map_or(0, Vec::len);
            }
            c.ack(&m).unwrap();
            count += 1;
        }
        kpipe_consume.push(t.elapsed());
        println!("  (kpipe consume decode={decode}: {:.2} CPU s)", cpu() - c0);
        std::hint::black_box(kbytes);
        c.close().unwrap();
    }
    std::hint::black_box(bytes);
    let rr = rate(n - 1, raw_consume);
    let k_raw = rate(n - 1, kpipe_consume[0]);
    let k_dec = rate(n - 1, kpipe_consume[1]);
    println!("consume  rdkafka BaseConsumer (bytes):               {rr:>10.0} records/s ({raw_consume:.2?})");
    println!("consume  kpipe Consumer::recv + ack (bytes):         {k_raw:>10.0} records/s ({:.2?})", kpipe_consume[0]);
    println!("consume  kpipe recv + Avro decode to JSON + ack:     {k_dec:>10.0} records/s ({:.2?})", kpipe_consume[1]);
    let sr = rate(n - 1, stream_consume);
    println!("consume  rdkafka StreamConsumer + detach (owned):    {sr:>10.0} records/s ({stream_consume:.2?})");
    println!("consume  ratio kpipe/rdkafka: {:.2}x (bytes) vs BaseConsumer, {:.2}x vs StreamConsumer+detach; {:.2}x (decoded) vs BaseConsumer", k_raw / rr, k_raw / sr, k_dec / rr);
    // leave no subject behind in the shared registry
    let subject = format!("{kpipe_topic}-value");
    let _ = codec.registry().delete_subject(&subject, false).await;
    let _ = codec.registry().delete_subject(&subject, true).await;
    client.close().unwrap();
}
