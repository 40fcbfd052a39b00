//! The demo scenario in Rust: Avro orders through every cluster of the local stack and back.
//!
//! `kpipe-demo [kpipe.yaml]`: one `Client` from the config file routes `orders.demo` to online,
//! `payments.demo` to business and `lake.orders.demo` to offline (kpipe.yaml's routes); it
//! writes two orders (examples/orders.jsonl, natural JSON) to each as Avro through the
//! registry (schema examples/order.avsc, checked against the house policy before it is
//! registered), then a group consumer per topic reads exactly those records back and prints
//! them decoded. `make demo` runs it against `dev/stack`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kpipe::avro::JsonBuilder;
use kpipe::{Client, ConsumerOptions, Data, Serde, StartAt, TopicSerde};
use serde_json::Value;

const TOPICS: [&str; 3] = ["orders.demo", "payments.demo", "lake.orders.demo"];

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = std::env::args().nth(1).unwrap_or_else(|| "kpipe.yaml".into());
    let client = Client::from_file(&config)?;
    let schema: Arc<str> = std::fs::read_to_string(examples_dir().join("order.avsc"))?.into();
    let orders: Vec<Value> = std::fs::read_to_string(examples_dir().join("orders.jsonl"))?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let started_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;

    for topic in TOPICS {
        let cluster = client.cluster_for(topic)?.to_string();
        let serde = TopicSerde { key: Serde::String, value: Serde::avro(schema.clone()) };
        client.set_topic_serde(topic, serde.clone());
        for order in &orders {
            let key = order["order_id"].as_str().unwrap_or_default();
            let d =
                client.send(topic, Data::<&Value>::Str(key), Data::Value(order), &[], None).await?;
            println!("sent   {topic} -> {cluster} p{} @{}", d.partition, d.offset);
        }

        // A fresh group reading from the demo's start time sees exactly this run's records.
        let mut opts = ConsumerOptions::new(format!("kpipe-demo-{started_ms}"), &[topic]);
        opts.start = StartAt::Timestamp(started_ms);
        opts.serde = Some(serde);
        let consumer = client.consumer(opts)?;
        for _ in &orders {
            let Some(msg) = consumer.recv(Duration::from_secs(30)).await? else {
                return Err(format!(
                    "{topic}: a record did not come back from {cluster} within 30 s"
                )
                .into());
            };
            let value = consumer.decode_value(&msg, &mut JsonBuilder).await?.unwrap_or(Value::Null);
            println!("read   {topic} <- {cluster} p{} @{}: {value}", msg.partition, msg.offset);
            consumer.ack(&msg)?;
        }
        consumer.close()?;
    }
    client.close()?;
    println!("demo done: every order came back from business, online and offline");
    Ok(())
}
