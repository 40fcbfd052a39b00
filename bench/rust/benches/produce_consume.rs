//! Produce and consume throughput as ../shared/BENCH-PROTOCOL.md describes: the kpipe client
//! (routing, registry-aware Avro encoding, a delivery report per record) beside rust-rdkafka used
//! directly with the same records pre-encoded, in one run, alternating A B A B, a fresh
//! 6-partition topic per case, reporting the median of the per-repetition ratios (min, max).
//!
//! `bench/rust/run` pins the stack to CPU 1 and this process to CPU 0, then runs
//! `cargo bench -p kpipe-bench --bench produce_consume`. Environment:
//! `KPIPE_BENCH_RECORDS` (1 000 000), `KPIPE_BENCH_REPS` (5), `KPIPE_BENCH_LINGER` ("5,50"),
//! `KPIPE_BENCH_WARMUP` (50 000); addresses follow dev/stack's env vars.
//!
//! Cases per repetition (each consumer reads the kpipe-produced topic from the start):
//! - produce: rdkafka `ThreadedProducer` with pre-encoded bytes | kpipe `Client::send_many`
//!   encoding each `serde_json::Value` order (Avro included);
//! - consume, bytes: rdkafka `BaseConsumer` | kpipe `Consumer::recv` + `ack`;
//! - consume, decoded to native values: `BaseConsumer` + `apache_avro::from_avro_datum` |
//!   kpipe `recv` + `decode_value` into the same `apache_avro::types::Value` + `ack`.
//!
//! Correctness gate (a fast but wrong run fails the bench): every delivery acknowledged; each
//! consumer sees exactly N records, offsets contiguous from 0 per partition (so unique), and the
//! sum of payload lengths (bytes cases) or of decoded `customer_id` (decoded cases) equals the
//! input's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apache_avro::types::Value as AvroValue;
use kpipe::avro::ApacheBuilder;
use kpipe::{Client, ClusterAdmin, ConsumerOptions, Data, Outgoing, Serde, StartAt, TopicSerde};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message as _, Offset, TopicPartitionList};

const SCHEMA: &str = include_str!("../../../tests/conformance/schemas/order.avsc");
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

/// CPU seconds this process used so far (user + system of every thread, from /proc).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

fn proc_status(key: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| "?".into())
}

/// Wall time and CPU seconds of one case.
struct Measured {
    wall: Duration,
    cpu: f64,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Measured) {
    let (t, c) = (Instant::now(), cpu());
    let out = f();
    (out, Measured { wall: t.elapsed(), cpu: cpu() - c })
}

async fn measure_async<T>(f: impl std::future::Future<Output = T>) -> (T, Measured) {
    let (t, c) = (Instant::now(), cpu());
    let out = f.await;
    (out, Measured { wall: t.elapsed(), cpu: cpu() - c })
}

/// Offsets contiguous from 0 in every partition: each record seen once, none missing.
struct Gate {
    next: [i64; PARTITIONS as usize],
    count: usize,
    sum: i64,
}

impl Gate {
    fn new() -> Self {
        Gate { next: [0; PARTITIONS as usize], count: 0, sum: 0 }
    }

    #[inline]
    fn see(&mut self, partition: i32, offset: i64, sum: i64) {
        let slot = &mut self.next[partition as usize];
        assert_eq!(offset, *slot, "partition {partition}: offset {offset}, expected {slot}");
        *slot += 1;
        self.count += 1;
        self.sum += sum;
    }

    fn check(&self, what: &str, n: usize, sum: i64) {
        assert_eq!(self.count, n, "{what}: record count");
        assert_eq!(self.sum, sum, "{what}: checksum");
    }
}

fn customer_id(v: &AvroValue) -> i64 {
    match v {
        AvroValue::Record(fields) => match fields.iter().find(|(k, _)| k == "customer_id") {
            Some((_, AvroValue::Long(x))) => *x,
            other => panic!("customer_id: {other:?}"),
        },
        other => panic!("not a record: {other:?}"),
    }
}

fn load_orders(n: usize) -> Vec<serde_json::Value> {
    let gen = env_or(
        "KPIPE_BENCH_GEN",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bench/gen_order.py"),
    );
    let out = std::process::Command::new("python3")
        .arg(&gen)
        .arg(n.to_string())
        .output()
        .expect("run gen_order.py");
    assert!(out.status.success(), "{gen}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8 orders");
    let orders: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("order JSON")).collect();
    assert_eq!(orders.len(), n, "gen_order.py printed {} records", orders.len());
    orders
}

struct Bench {
    n: usize,
    business: String,
    client: Client,
    admin: ClusterAdmin,
    deleter: AdminClient<DefaultClientContext>,
    orders: Vec<serde_json::Value>,
    keys: Vec<String>,
    encoded: Vec<Vec<u8>>,
    customer_sum: i64,
    encoded_len_sum: i64,
    run: u128,
}

impl Bench {
    /// A new topic with Avro values for `clients`, whose schema id each has registered and
    /// cached (no registry call is timed).
    async fn fresh_topic(&self, name: &str, clients: &[&Client]) -> String {
        let topic = format!("kpipe.bench.pc.{}.{name}", self.run);
        self.admin.ensure_topic(&topic, PARTITIONS, 1).await.unwrap();
        for c in clients {
            c.set_topic_serde(
                &topic,
                TopicSerde { key: Serde::String, value: Serde::avro(SCHEMA) },
            );
            let mut buf = Vec::new();
            c.codec()
                .unwrap()
                .encode(&topic, false, Some(SCHEMA), &&self.orders[0], &mut buf)
                .await
                .unwrap();
        }
        topic
    }

    /// Deletes the topic and its subject.
    async fn drop_topic(&self, topic: &str) {
        let _ = self.deleter.delete_topics(&[topic], &AdminOptions::new()).await;
        let registry = self.client.codec().unwrap().registry();
        let subject = format!("{topic}-value");
        let _ = registry.delete_subject(&subject, false).await;
        let _ = registry.delete_subject(&subject, true).await;
    }

    /// The raw producer of one linger setting, created once and warmed like kpipe's client.
    fn raw_producer(&self, linger: u32) -> (ThreadedProducer<Counting>, Counting) {
        let ctx = Counting(Arc::new(Counters { ok: AtomicU64::new(0), failed: AtomicU64::new(0) }));
        let raw = ClientConfig::new()
            .set("bootstrap.servers", &self.business)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", linger.to_string())
            .create_with_context(ctx.clone())
            .unwrap();
        (raw, ctx)
    }

    fn produce_raw(
        &self,
        (raw, ctx): &(ThreadedProducer<Counting>, Counting),
        topic: &str,
        count: usize,
    ) -> Measured {
        ctx.0.ok.store(0, Ordering::Relaxed);
        ctx.0.failed.store(0, Ordering::Relaxed);
        let ((), m) = measure(|| {
            for i in 0..count {
                let mut rec =
                    BaseRecord::to(topic).key(self.keys[i].as_bytes()).payload(&self.encoded[i]);
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
            rdkafka::producer::Producer::flush(raw, Duration::from_secs(300)).unwrap();
        });
        assert_eq!(
            ctx.0.ok.load(Ordering::Relaxed) as usize,
            count,
            "raw deliveries ({} failed)",
            ctx.0.failed.load(Ordering::Relaxed)
        );
        m
    }

    /// kpipe `send_many`; `pre_encoded` sends the raw side's bytes (attribution: kpipe's
    /// bookkeeping without the Avro encoding).
    async fn produce_kpipe(
        &self,
        client: &Client,
        topic: &str,
        count: usize,
        pre_encoded: bool,
    ) -> Measured {
        let ((), m) = measure_async(async {
            let mut delivered = 0usize;
            for start in (0..count).step_by(CHUNK) {
                let end = (start + CHUNK).min(count);
                let recs = (start..end).map(|i| {
                    let value = if pre_encoded {
                        Data::Bytes(&self.encoded[i])
                    } else {
                        Data::Value(&self.orders[i])
                    };
                    Outgoing::<&serde_json::Value, &serde_json::Value>::new(
                        topic,
                        Data::Str(&self.keys[i]),
                        value,
                    )
                });
                for r in client.send_many(recs).await.unwrap() {
                    r.unwrap();
                    delivered += 1;
                }
            }
            assert_eq!(delivered, count, "kpipe deliveries");
        })
        .await;
        m
    }

    fn raw_consumer(&self, topic: &str, group: &str) -> BaseConsumer {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.business)
            .set("group.id", group)
            .set("fetch.queue.backoff.ms", "10") // kpipe's consumer default, like for like
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
        }
        c.assign(&tpl).unwrap();
        c
    }

    /// rdkafka `BaseConsumer`; `decode` adds apache-avro's `from_avro_datum`.
    fn consume_raw(&self, topic: &str, decode: bool) -> Measured {
        let schema = apache_avro::Schema::parse_str(SCHEMA).unwrap();
        let c = self.raw_consumer(topic, &format!("kpipe-bench-raw-{}-{decode}", self.run));
        let mut gate = Gate::new();
        let one = |m: &rdkafka::message::BorrowedMessage<'_>, gate: &mut Gate| {
            let payload = m.payload().expect("payload");
            let sum = if decode {
                let mut body = &payload[5..];
                customer_id(
                    &apache_avro::from_avro_datum(&schema, &mut body, None)
                        .expect("apache-avro decode"),
                )
            } else {
                payload.len() as i64
            };
            gate.see(m.partition(), m.offset(), sum);
        };
        // the first record is not timed (connection and fetch start), as for kpipe
        let first = c.poll(Duration::from_secs(30)).expect("first record").unwrap();
        one(&first, &mut gate);
        drop(first);
        let ((), m) = measure(|| {
            while gate.count < self.n {
                let msg = c
                    .poll(Duration::from_secs(10))
                    .unwrap_or_else(|| panic!("raw consumer stalled at {}", gate.count))
                    .unwrap();
                one(&msg, &mut gate);
            }
        });
        gate.check(
            "raw consume",
            self.n,
            if decode { self.customer_sum } else { self.encoded_len_sum },
        );
        m
    }

    /// kpipe group consumer (after-handle tracking); `decode` decodes into apache-avro values.
    async fn consume_kpipe(&self, topic: &str, decode: bool) -> Measured {
        let mut opts = ConsumerOptions::new(format!("kpipe-bench-{}-{decode}", self.run), &[topic]);
        opts.start = StartAt::Earliest;
        let c = self.client.consumer(opts).unwrap();
        let mut gate = Gate::new();
        let one = |m: &kpipe::Message, v: Option<AvroValue>, gate: &mut Gate| {
            let sum = match v {
                Some(v) => customer_id(&v),
                None => m.value.as_ref().map_or(0, |b| b.len() as i64),
            };
            gate.see(m.partition, m.offset, sum);
        };
        let first = c.recv(Duration::from_secs(30)).await.unwrap().expect("first record");
        let v =
            if decode { c.decode_value(&first, &mut ApacheBuilder).await.unwrap() } else { None };
        one(&first, v, &mut gate);
        c.ack(&first).unwrap();
        let ((), m) = measure_async(async {
            while gate.count < self.n {
                let msg = c
                    .recv(Duration::from_secs(10))
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("kpipe consumer stalled at {}", gate.count));
                let v = if decode {
                    c.decode_value(&msg, &mut ApacheBuilder).await.unwrap()
                } else {
                    None
                };
                one(&msg, v, &mut gate);
                c.ack(&msg).unwrap();
            }
        })
        .await;
        gate.check(
            "kpipe consume",
            self.n,
            if decode { self.customer_sum } else { self.encoded_len_sum },
        );
        c.close().unwrap();
        m
    }
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = env_or("KPIPE_BENCH_RECORDS", "1000000").parse().expect("KPIPE_BENCH_RECORDS");
    let reps: usize = env_or("KPIPE_BENCH_REPS", "5").parse().expect("KPIPE_BENCH_REPS");
    let warmup: usize = env_or("KPIPE_BENCH_WARMUP", "50000").parse().expect("KPIPE_BENCH_WARMUP");
    let lingers: Vec<u32> = env_or("KPIPE_BENCH_LINGER", "5,50")
        .split(',')
        .map(|s| s.trim().parse().expect("KPIPE_BENCH_LINGER"))
        .collect();
    let business = env_or("KPIPE_BUSINESS_BOOTSTRAP", "127.0.0.1:19092");
    let registry = env_or("KPIPE_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7");
    let client_for = |linger: u32| {
        let yaml = format!(
            "clusters: {{ business: {{ bootstrap: \"{business}\" }} }}\nregistry: {{ url: \"{registry}\" }}\n\
             producer: {{ acks: all, idempotence: true, linger_ms: {linger} }}\n"
        );
        Client::from_config(kpipe::config::Config::from_yaml(&yaml).unwrap()).unwrap()
    };
    let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let t = Instant::now();
    let orders = load_orders(n.max(warmup));
    let keys: Vec<String> =
        orders.iter().map(|o| o["order_id"].as_str().expect("order_id").to_string()).collect();
    println!("generated {} orders in {:.1?}", orders.len(), t.elapsed());

    let client = client_for(lingers[0]);
    let mut bench = Bench {
        n,
        business: business.clone(),
        admin: ClusterAdmin::new(&business).unwrap(),
        deleter: ClientConfig::new().set("bootstrap.servers", &business).create().unwrap(),
        client,
        orders,
        keys,
        encoded: Vec::new(),
        customer_sum: 0,
        encoded_len_sum: 0,
        run,
    };
    // The bytes kpipe writes (registry id + Avro body), pre-encoded for the raw producer; the
    // schema id is registered and cached before anything is timed.
    let probe = bench.fresh_topic("probe", &[&bench.client]).await;
    let codec = bench.client.codec().unwrap();
    let mut encoded = Vec::with_capacity(bench.orders.len());
    for o in &bench.orders {
        let mut buf = Vec::new();
        codec.encode(&probe, false, Some(SCHEMA), &o, &mut buf).await.unwrap();
        encoded.push(buf);
    }
    bench.encoded = encoded;
    bench.customer_sum = bench.orders[..n].iter().map(|o| o["customer_id"].as_i64().unwrap()).sum();
    bench.encoded_len_sum = bench.encoded[..n].iter().map(|b| b.len() as i64).sum();
    let avg = bench.encoded_len_sum as usize / n;
    let affinity = proc_status("Cpus_allowed_list:");
    let pinned = std::env::var("KPIPE_BENCH_PINNED").unwrap_or_else(|_| "no".into());
    println!(
        "{n} Order records (avg {avg} B framed Avro), {PARTITIONS} partitions, business @ {business}; \
         {reps} repetitions per linger; client CPUs {affinity}; stack pinned: {pinned}"
    );

    // ---- attribution: Avro encoding alone of the same N distinct orders, no broker ----
    let plan = kpipe::avro::CompiledSchema::parse(SCHEMA).unwrap();
    let mut buf = Vec::with_capacity(512);
    let ((), m) = measure(|| {
        for o in &bench.orders[..n] {
            buf.clear();
            kpipe::avro::encode_framed(1, &plan, &o, &mut buf).unwrap();
        }
    });
    println!(
        "attribution: Avro encode alone of the {n} orders (serde_json values, 1 thread): {:.0} records/s, {:.2} CPU-s per 1M",
        n as f64 / m.wall.as_secs_f64(),
        m.cpu * 1e6 / n as f64
    );

    bench.drop_topic(&probe).await;

    // per (linger, case): kpipe rate / raw rate per repetition, and (rate, CPU-s per 1M) per side
    let mut ratios: BTreeMap<(u32, &str), Vec<f64>> = BTreeMap::new();
    // [kpipe, raw]: (records/s, CPU-s per 1M) per repetition
    type SideRates = [Vec<(f64, f64)>; 2];
    let mut rates: BTreeMap<(u32, &str), SideRates> = BTreeMap::new();
    let mut record = |linger: u32,
                      case: &'static str,
                      client: &str,
                      kpipe: bool,
                      m: &Measured,
                      count: usize| {
        let rate = count as f64 / m.wall.as_secs_f64();
        let cpu_per_m = m.cpu * 1e6 / count as f64;
        println!(
            "{{\"case\":\"{case}\",\"client\":\"{client}\",\"linger_ms\":{linger},\"records\":{count},\"seconds\":{:.3},\"records_per_s\":{rate:.0},\"cpu_s_per_1m\":{cpu_per_m:.2}}}",
            m.wall.as_secs_f64()
        );
        rates.entry((linger, case)).or_default()[kpipe as usize].push((rate, cpu_per_m));
        rate
    };
    for &linger in &lingers {
        // both sides' producers live for the whole linger setting and are warmed up first
        // (connections, metadata, producer id; warm-up records discarded)
        let client = client_for(linger);
        let raw = bench.raw_producer(linger);
        let warm = bench.fresh_topic(&format!("l{linger}.warm"), &[&client]).await;
        bench.produce_raw(&raw, &warm, warmup);
        bench.produce_kpipe(&client, &warm, warmup, false).await;
        bench.drop_topic(&warm).await;
        for rep in 0..reps {
            let raw_topic = bench.fresh_topic(&format!("l{linger}.r{rep}.raw"), &[]).await;
            let kp_topic = bench
                .fresh_topic(&format!("l{linger}.r{rep}.kpipe"), &[&bench.client, &client])
                .await;
            // alternate which side goes first
            let (raw_m, kp_m) = if rep % 2 == 0 {
                let r = bench.produce_raw(&raw, &raw_topic, n);
                (r, bench.produce_kpipe(&client, &kp_topic, n, false).await)
            } else {
                let k = bench.produce_kpipe(&client, &kp_topic, n, false).await;
                (bench.produce_raw(&raw, &raw_topic, n), k)
            };
            let rr = record(
                linger,
                "produce",
                "rdkafka ThreadedProducer, pre-encoded",
                false,
                &raw_m,
                n,
            );
            let kr = record(linger, "produce", "kpipe send_many, Avro encode", true, &kp_m, n);
            ratios.entry((linger, "produce")).or_default().push(kr / rr);
            // attribution: the same kpipe call with the pre-encoded bytes
            let bytes_topic = bench.fresh_topic(&format!("l{linger}.r{rep}.kbytes"), &[]).await;
            let kb_m = bench.produce_kpipe(&client, &bytes_topic, n, true).await;
            let attribution = "produce pre-encoded (attribution)";
            record(
                linger,
                attribution,
                "rdkafka ThreadedProducer, pre-encoded (the run above)",
                false,
                &raw_m,
                n,
            );
            let kbr =
                record(linger, attribution, "kpipe send_many, pre-encoded bytes", true, &kb_m, n);
            ratios.entry((linger, attribution)).or_default().push(kbr / rr);
            bench.drop_topic(&bytes_topic).await;
            for (case, decode) in [("consume bytes", false), ("consume decoded", true)] {
                let (raw_m, kp_m) = if rep % 2 == 0 {
                    let r = bench.consume_raw(&kp_topic, decode);
                    (r, bench.consume_kpipe(&kp_topic, decode).await)
                } else {
                    let k = bench.consume_kpipe(&kp_topic, decode).await;
                    (bench.consume_raw(&kp_topic, decode), k)
                };
                let (rn, kn) = if decode {
                    (
                        "rdkafka BaseConsumer + apache-avro from_avro_datum",
                        "kpipe recv + decode_value(ApacheBuilder) + ack",
                    )
                } else {
                    ("rdkafka BaseConsumer", "kpipe recv + ack")
                };
                let rr = record(linger, case, rn, false, &raw_m, n - 1);
                let kr = record(linger, case, kn, true, &kp_m, n - 1);
                ratios.entry((linger, case)).or_default().push(kr / rr);
            }
            bench.drop_topic(&raw_topic).await;
            bench.drop_topic(&kp_topic).await;
        }
        client.close().unwrap();
    }

    println!("\nkpipe / rdkafka, median of {reps} per-repetition ratios [min, max]; rates are medians (CPU-s per 1M records):");
    println!("| linger.ms | case | rdkafka rec/s (CPU-s/1M) | kpipe rec/s (CPU-s/1M) | ratio [min, max] |");
    println!("|---|---|---|---|---|");
    for ((linger, case), rs) in &ratios {
        let [raw, kp] = &rates[&(*linger, *case)];
        let (r_rate, _, _) = median(raw.iter().map(|x| x.0).collect());
        let (r_cpu, _, _) = median(raw.iter().map(|x| x.1).collect());
        let (k_rate, _, _) = median(kp.iter().map(|x| x.0).collect());
        let (k_cpu, _, _) = median(kp.iter().map(|x| x.1).collect());
        let (m, lo, hi) = median(rs.clone());
        println!("| {linger} | {case} | {r_rate:.0} ({r_cpu:.2}) | {k_rate:.0} ({k_cpu:.2}) | {m:.2}x [{lo:.2}, {hi:.2}] |");
    }
    println!(
        "peak RSS of the bench process (all {} orders held as serde_json values): {}",
        bench.orders.len(),
        proc_status("VmHWM:")
    );
    bench.client.close().unwrap();
}
