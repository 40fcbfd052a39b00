//! Avro interop with a client no one here wrote: for every valid golden vector, a record kpipe
//! encodes (schema registered in the live registry) is decoded by confluent-kafka's
//! AvroDeserializer, and a record confluent-kafka's AvroSerializer encodes is decoded by kpipe,
//! to the same natural JSON and the same body bytes. The Python side is
//! tests/interop/confluent_avro.py, run with the venv `make test` sets up (or $KPIPE_PYTHON).

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kpipe::avro::JsonBuilder;
use kpipe::codec::{AvroCodec, CodecSettings};
use kpipe::compat::Level;
use kpipe::RegistryClient;
use serde_json::{json, Value as Json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    std::env::var_os("KPIPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// A valid vector, with a non-record schema wrapped in a one-field record: confluent-kafka's
/// serializer wants a named schema, and the body bytes of such a record equal its field's.
struct Case {
    name: String,
    schema: Json,
    input: Json,
    expected: Json,
    body_hex: String,
}

fn cases() -> Vec<Case> {
    let dir = root().join("tests/conformance");
    let text = std::fs::read_to_string(dir.join("avro/vectors.jsonl")).expect("vectors.jsonl");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Json = serde_json::from_str(line).unwrap();
        if case.get("error").is_some() {
            continue;
        }
        let schema: Json = match case.get("schema_file").and_then(Json::as_str) {
            Some(f) => {
                serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
            }
            None => case["schema"].clone(),
        };
        let input = case["input"].clone();
        let expected = case.get("output").cloned().unwrap_or_else(|| input.clone());
        // Where fastavro's bytes differ from Java's (decimal -1.28), confluent-kafka writes fastavro's.
        let body_hex = case
            .get("fastavro_hex")
            .or(case.get("body_hex"))
            .and_then(Json::as_str)
            .unwrap()
            .to_string();
        let is_record = schema.get("type").and_then(Json::as_str) == Some("record");
        let (schema, input, expected) = if is_record {
            (schema, input, expected)
        } else {
            (
                json!({"type": "record", "name": "KpipeInteropWrap", "fields": [{"name": "v", "type": schema}]}),
                json!({"v": input}),
                json!({"v": expected}),
            )
        };
        out.push(Case {
            name: case["name"].as_str().unwrap_or("").to_string(),
            schema,
            input,
            expected,
            body_hex,
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vector_round_trips_through_confluent_kafka() {
    let registry = RegistryClient::new(&common::registry_url()).unwrap();
    let codec =
        AvroCodec::new(registry, CodecSettings { policy: Level::None, ..Default::default() });
    let run = common::unique("kpipe.it.interop");
    let cases = cases();
    assert!(cases.len() >= 100, "expected the full vector set, found {}", cases.len());

    let mut request = String::new();
    let mut topics = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let topic = format!("{run}.{i}");
        let mut payload = Vec::new();
        codec
            .encode(&topic, false, Some(&c.schema.to_string()), &&c.input, &mut payload)
            .await
            .unwrap_or_else(|e| panic!("{}: kpipe could not encode: [{}] {e}", c.name, e.code()));
        let line = json!({"name": c.name, "topic": topic, "schema": c.schema, "payload_hex": hex(&payload), "expected": c.expected});
        request.push_str(&line.to_string());
        request.push('\n');
        topics.push(topic);
    }

    let answers = confluent_helper(request);
    assert_eq!(answers.len(), cases.len(), "one answer per vector");

    let mut failures = Vec::new();
    let mut empty_bodies = 0;
    for (c, a) in cases.iter().zip(&answers) {
        if c.body_hex.is_empty() {
            // confluent-kafka-python refuses any payload shorter than 6 bytes ("Expecting data
            // framing of length 6 bytes or more"), so a record whose Avro body is empty (null,
            // fixed(0), a record of no fields) is its limitation, not a disagreement. Both
            // directions are still checked against the message, and kpipe must decode the header.
            let refused = a["decoded_error"].as_str().unwrap_or("");
            if !refused.contains("6 bytes or more") {
                failures.push(format!(
                    "{}: expected confluent-kafka's short-payload refusal, got {a}",
                    c.name
                ));
            }
            empty_bodies += 1;
            continue;
        }
        if a["decoded_ok"] != json!(true) {
            failures.push(format!(
                "{}: confluent-kafka decoded kpipe's record as {} (error: {}), expected {}",
                c.name, a["decoded"], a["decoded_error"], c.expected
            ));
        }
        let Some(confluent_hex) = a["confluent_hex"].as_str() else {
            failures.push(format!(
                "{}: confluent-kafka could not encode: {}",
                c.name, a["encode_error"]
            ));
            continue;
        };
        let payload = unhex(confluent_hex);
        if payload.len() < 5 || hex(&payload[5..]) != c.body_hex {
            failures.push(format!(
                "{}: confluent-kafka body {} != vector {}",
                c.name, confluent_hex, c.body_hex
            ));
        }
        match codec.decode(&payload, None, &mut JsonBuilder).await {
            Ok(v) if v == c.expected => {}
            Ok(v) => failures.push(format!(
                "{}: kpipe decoded confluent-kafka's record as {v}, expected {}",
                c.name, c.expected
            )),
            Err(e) => failures.push(format!(
                "{}: kpipe could not decode confluent-kafka's record: [{}] {e}",
                c.name,
                e.code()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        empty_bodies <= 5,
        "only the few empty-body vectors may skip the byte check ({empty_bodies})"
    );
}

/// Runs tests/interop/confluent_avro.py over the request lines; one answer per line.
fn confluent_helper(request: String) -> Vec<Json> {
    let py = python();
    assert!(py.exists(), "{} not found: run `make venv` (or set KPIPE_PYTHON)", py.display());
    let mut child = Command::new(&py)
        .arg(root().join("tests/interop/confluent_avro.py"))
        .arg(common::registry_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the confluent-kafka helper");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "confluent-kafka helper failed: {}", output.status);
    let answers: Vec<Json> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    answers
}

/// A top-level `bytes` schema: Confluent's Python (and Java, JS) serializers write the raw bytes
/// after the header, no Avro length prefix; kpipe writes and reads the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_bytes_match_confluent_kafka_both_ways() {
    let registry = RegistryClient::new(&common::registry_url()).unwrap();
    let codec =
        AvroCodec::new(registry, CodecSettings { policy: Level::None, ..Default::default() });
    let run = common::unique("kpipe.it.interop.bytes");
    let values = ["AAEC/w==", "aGVsbG8gd29ybGQ=", "CGhp", "AA=="];
    let mut request = String::new();
    let mut payloads = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let topic = format!("{run}.{i}");
        let mut payload = Vec::new();
        codec.encode(&topic, false, Some(r#""bytes""#), &&json!(v), &mut payload).await.unwrap();
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).unwrap();
        assert_eq!(&payload[5..], &raw[..], "{v}: kpipe writes the raw bytes after the header");
        let line = json!({"name": v, "topic": topic, "schema": "bytes", "payload_hex": hex(&payload), "expected": v});
        request.push_str(&line.to_string());
        request.push('\n');
        payloads.push(raw);
    }
    let answers = confluent_helper(request);
    assert_eq!(answers.len(), values.len());
    for ((v, raw), a) in values.iter().zip(&payloads).zip(&answers) {
        assert_eq!(
            a["decoded_ok"],
            json!(true),
            "{v}: confluent-kafka decoded kpipe's record as {a}"
        );
        let theirs = unhex(
            a["confluent_hex"]
                .as_str()
                .unwrap_or_else(|| panic!("{v}: confluent-kafka could not encode: {a}")),
        );
        assert_eq!(&theirs[5..], &raw[..], "{v}: confluent-kafka writes the raw bytes too");
        let back = codec.decode(&theirs, None, &mut JsonBuilder).await.unwrap();
        assert_eq!(back, json!(v), "kpipe decodes confluent-kafka's record");
    }
}
