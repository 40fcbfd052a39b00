//! Order-record serde: kpipe's compiled plan beside apache-avro 0.21 used directly.
//! `cargo bench -p kpipe-bench` (records/s = criterion's "elem/s").

use std::hint::black_box;
use std::time::Duration;

use apache_avro::types::Value;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kpipe::avro::{self, ApacheBuilder, CompiledSchema, JsonBuilder};

const SCHEMA: &str = include_str!("../../../tests/conformance/schemas/order.avsc");
const ORDERS: &str = include_str!("../../../tests/conformance/orders.jsonl");

fn orders() -> Vec<serde_json::Value> {
    ORDERS.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let plan = CompiledSchema::parse(SCHEMA).unwrap();
    let schema = plan.schema().clone();
    let json = orders();
    let n = json.len() as u64;
    let bodies: Vec<Vec<u8>> = json.iter().map(|v| avro::json_to_avro(&plan, v).unwrap()).collect();
    let apache_values: Vec<Value> = bodies
        .iter()
        .map(|b| apache_avro::from_avro_datum(&schema, &mut &b[..], None).unwrap())
        .collect();

    // apache-avro's Value::resolve refuses minimal-length decimals (the DESIGN.md pitfall:
    // "Precision 12 too small to hold decimal values with 4 bytes"), so its input carries the
    // amount sign-extended to the 6 bytes it insists on for precision 12.
    let apache_input: Vec<Value> = apache_values.iter().map(widen_decimals).collect();

    let mut g = c.benchmark_group("order/encode");
    g.throughput(Throughput::Elements(n));
    let mut buf = Vec::with_capacity(512);
    g.bench_function("kpipe from natural JSON", |b| {
        b.iter(|| {
            for v in &json {
                buf.clear();
                avro::encode_framed(1, &plan, &v, &mut buf).unwrap();
                black_box(&buf);
            }
        })
    });
    g.bench_function("kpipe from apache Value", |b| {
        b.iter(|| {
            for v in &apache_values {
                buf.clear();
                avro::encode_framed(1, &plan, &v, &mut buf).unwrap();
                black_box(&buf);
            }
        })
    });
    g.bench_function("apache-avro resolve + to_avro_datum", |b| {
        b.iter(|| {
            for v in &apache_input {
                let resolved = v.clone().resolve(&schema).unwrap();
                black_box(apache_avro::to_avro_datum(&schema, resolved).unwrap());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("order/decode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("kpipe to natural JSON", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(avro::decode(&plan, None, body, &mut JsonBuilder).unwrap());
            }
        })
    });
    g.bench_function("kpipe to apache Value", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(avro::decode(&plan, None, body, &mut ApacheBuilder).unwrap());
            }
        })
    });
    g.bench_function("apache-avro from_avro_datum", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(apache_avro::from_avro_datum(&schema, &mut &body[..], None).unwrap());
            }
        })
    });
    g.finish();
}

fn widen_decimals(v: &Value) -> Value {
    match v {
        Value::Record(fields) => {
            Value::Record(fields.iter().map(|(k, x)| (k.clone(), widen_decimals(x))).collect())
        }
        Value::Decimal(d) => {
            let b = Vec::<u8>::try_from(d).unwrap();
            let fill = if b[0] & 0x80 != 0 { 0xff } else { 0 };
            let mut wide = vec![fill; 6usize.saturating_sub(b.len())];
            wide.extend_from_slice(&b);
            Value::Decimal(apache_avro::Decimal::from(wide))
        }
        other => other.clone(),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
