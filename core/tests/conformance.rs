//! The Avro golden vectors of tests/conformance/avro/vectors.jsonl (expected bytes from
//! fastavro; see tests/conformance/README.md), checked against kpipe's engine and, where it can
//! represent the value, apache-avro as a second reference.

use std::path::PathBuf;

use kpipe::avro::{self, ApacheBuilder, CompiledSchema, JsonBuilder};
use serde_json::Value as Json;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

struct Vector {
    line: usize,
    case: Json,
}

impl Vector {
    fn name(&self) -> String {
        format!("vectors.jsonl:{} {:?}", self.line, self.case["name"].as_str().unwrap_or(""))
    }

    fn schema_text(&self) -> String {
        match self.case.get("schema_file").and_then(Json::as_str) {
            Some(f) => std::fs::read_to_string(dir().join(f)).unwrap(),
            None => self.case["schema"].to_string(),
        }
    }
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(dir().join("avro/vectors.jsonl")).expect("vectors.jsonl");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Vector { line: i + 1, case: serde_json::from_str(l).unwrap() })
        .collect()
}

#[test]
fn golden_vectors() {
    let vs = vectors();
    assert!(vs.len() >= 100, "only {} vectors", vs.len());
    let (mut valid, mut errors) = (0, 0);
    let mut failures = Vec::new();
    for v in &vs {
        let schema =
            CompiledSchema::parse(&v.schema_text()).unwrap_or_else(|e| panic!("{}: {e}", v.name()));
        let input = &v.case["input"];
        if let Some(err) = v.case.get("error") {
            errors += 1;
            match avro::json_to_avro(&schema, input) {
                Ok(b) => {
                    failures.push(format!("{}: expected {err}, encoded {}", v.name(), hex(&b)))
                }
                Err(e) => {
                    let path = err["path"].as_str().unwrap();
                    if e.code() != err["code"].as_str().unwrap()
                        || !e.to_string().starts_with(&format!("{path}: "))
                    {
                        failures.push(format!(
                            "{}: expected {err}, got [{}] {e}",
                            v.name(),
                            e.code()
                        ));
                    }
                }
            }
            continue;
        }
        valid += 1;
        let expected = unhex(v.case["body_hex"].as_str().unwrap());
        let output = v.case.get("output").unwrap_or(input);
        match avro::json_to_avro(&schema, input) {
            Ok(b) if b == expected => {}
            Ok(b) => failures.push(format!(
                "{}: encoded {} expected {}",
                v.name(),
                hex(&b),
                hex(&expected)
            )),
            Err(e) => failures.push(format!("{}: encode failed: {e}", v.name())),
        }
        match avro::avro_to_json(&schema, &expected) {
            Ok(j) if &j == output => {
                // Natural JSON reads back to the same bytes.
                let again = avro::json_to_avro(&schema, &j);
                if again.as_deref().ok() != Some(&expected[..]) {
                    failures.push(format!("{}: decoded {j} re-encodes to {again:?}", v.name()));
                }
            }
            Ok(j) => failures.push(format!("{}: decoded {j}, expected {output}", v.name())),
            Err(e) => failures.push(format!("{}: decode failed: {e}", v.name())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vs.len(),
        failures.join("\n")
    );
    eprintln!("{valid} valid vectors and {errors} error vectors pass");
}

/// apache-avro 0.21 as a second, independent reader (and writer where it can represent the
/// value: its `Value::resolve` rejects minimal-length decimals, the DESIGN.md pitfall, and its
/// maps are unordered, so bytes are compared only without decimals and multi-entry maps).
#[test]
fn golden_vectors_agree_with_apache_avro() {
    let (mut read, mut written, mut skipped) = (0, 0, Vec::new());
    for v in vectors() {
        if v.case.get("error").is_some() {
            continue;
        }
        let text = v.schema_text();
        let schema = CompiledSchema::parse(&text).unwrap();
        let body = unhex(v.case["body_hex"].as_str().unwrap());
        let value = match apache_avro::from_avro_datum(schema.schema(), &mut &body[..], None) {
            Ok(x) => x,
            Err(e) => {
                skipped.push(format!("{} (apache-avro cannot read it: {e})", v.name()));
                continue;
            }
        };
        read += 1;
        // Our reading of the same bytes builds the same apache-avro value...
        let ours = avro::decode(&schema, None, &body, &mut ApacheBuilder).unwrap();
        let same = format!("{ours:?}") == format!("{value:?}") || {
            // (NaN != NaN and HashMap order: compare through natural JSON instead.)
            let mut a = Vec::new();
            let mut b = Vec::new();
            avro::encode(&schema, &&ours, &mut a).unwrap();
            avro::encode(&schema, &&value, &mut b).unwrap();
            avro::decode(&schema, None, &a, &mut JsonBuilder).unwrap()
                == avro::decode(&schema, None, &b, &mut JsonBuilder).unwrap()
        };
        assert!(same, "{}: apache-avro read {value:?}, kpipe {ours:?}", v.name());
        // ...and apache-avro writes the same bytes where it can.
        let has_decimal = text.contains("\"decimal\"");
        let has_multi_map = matches!(&value, apache_avro::types::Value::Map(m) if m.len() > 1)
            || text.contains("\"map\"");
        if !has_decimal && !has_multi_map {
            match apache_avro::to_avro_datum(schema.schema(), value) {
                Ok(b) => {
                    assert_eq!(hex(&b), hex(&body), "{}: apache-avro writes other bytes", v.name());
                    written += 1;
                }
                Err(e) => skipped.push(format!("{} (apache-avro cannot write it: {e})", v.name())),
            }
        }
    }
    eprintln!(
        "apache-avro read {read} vectors and wrote {written} byte-identical; skipped: {skipped:#?}"
    );
    assert!(read >= 100, "apache-avro read only {read} vectors; skipped {skipped:#?}");
}
