//! The Rust agent of the exchange test (tests/conformance/exchange/README.md): produce and
//! consume with the core's own API, values as `serde_json::Value` (natural JSON).
//!
//! `kpipe-exchange produce CONFIG TOPIC ORDERS LANG` / `kpipe-exchange consume CONFIG TOPICS COUNT GROUP`

use std::time::Duration;

use kpipe::avro::JsonBuilder;
use kpipe::{Client, ConsumerOptions, Data, StartAt};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["produce", config, topic, orders, lang] => produce(config, topic, orders, lang).await,
        ["consume", config, topics, count, group] => match count.parse() {
            Ok(n) => consume(config, topics, n, group).await,
            Err(e) => Err(format!("COUNT {count:?}: {e}").into()),
        },
        _ => Err("usage: kpipe-exchange produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP".into()),
    };
    if let Err(e) = run {
        eprintln!("rust agent: {e}");
        std::process::exit(1);
    }
}

async fn produce(config: &str, topic: &str, orders: &str, lang: &str) -> Result<()> {
    let client = Client::from_file(config)?;
    let orders: Vec<Value> = std::fs::read_to_string(orders)?
        .lines()
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()?;
    for (seq, order) in orders.iter().enumerate() {
        let seq = seq.to_string();
        let headers: [kpipe::Header; 4] = [
            ("src", Some(lang.as_bytes())),
            ("seq", Some(seq.as_bytes())),
            ("empty", Some(b"")),
            ("none", None),
        ];
        let key = order["order_id"].as_str().ok_or("an order without order_id")?;
        let ts = order["created_at"].as_i64();
        client.send(topic, Data::<&Value>::Str(key), Data::Value(order), &headers, ts).await?;
    }
    let tomb_key = format!("tombstone-{lang}");
    let headers: [kpipe::Header; 2] = [("src", Some(lang.as_bytes())), ("seq", Some(b"tombstone"))];
    client
        .send(topic, Data::<&Value>::Str(&tomb_key), Data::<&Value>::Null, &headers, None)
        .await?;
    let mut bad = orders.first().ok_or("no orders")?.clone();
    bad["mileage_km"] = json!("many");
    let key = bad["order_id"].as_str().unwrap_or_default().to_string();
    let outcome =
        match client.send(topic, Data::<&Value>::Str(&key), Data::Value(&bad), &[], None).await {
            Ok(_) => json!({"error": null}),
            Err(e) => json!({"error": {"code": e.code(), "message": e.to_string()}}),
        };
    println!("{outcome}");
    client.close()?;
    Ok(())
}

async fn consume(config: &str, topics: &str, count: usize, group: &str) -> Result<()> {
    let client = Client::from_file(config)?;
    let topics: Vec<&str> = topics.split(',').collect();
    let mut opts = ConsumerOptions::new(group, &topics);
    opts.start = StartAt::Earliest;
    let consumer = client.consumer(opts)?;
    let want = count * topics.len();
    for n in 0..want {
        let Some(msg) = consumer.recv(Duration::from_secs(30)).await? else {
            return Err(format!("nothing for 30 s after {n} of {want} records").into());
        };
        let key = consumer.decode_key(&msg, &mut JsonBuilder).await?.unwrap_or(Value::Null);
        let value = consumer.decode_value(&msg, &mut JsonBuilder).await?.map(millis).transpose()?;
        let headers: Vec<Value> =
            msg.headers.iter().map(|(k, v)| json!([k, v.as_deref().map(hex)])).collect();
        let line = json!({
            "topic": &*msg.topic, "partition": msg.partition, "offset": msg.offset,
            "timestamp": msg.timestamp_ms, "key": key, "raw": msg.value.as_deref().map(hex),
            "headers": headers, "value": value,
        });
        println!("{line}");
        consumer.ack(&msg)?;
    }
    consumer.close()?;
    client.close()?;
    Ok(())
}

/// Natural JSON writes timestamp-millis as RFC 3339 text; the protocol compares integer ms.
fn millis(mut v: Value) -> Result<Value> {
    if let Some(text) = v["created_at"].as_str() {
        let ms = chrono::DateTime::parse_from_rfc3339(text)?.timestamp_millis();
        v["created_at"] = json!(ms);
    }
    Ok(v)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
