//! Golden tests of the `kpipe` binary: output shapes and bad input. The offline tools need
//! nothing; the rest use the local stack (addresses from KPIPE_* env vars, as `dev/stack env`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use predicates::prelude::*;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn business() -> String {
    env_or("KPIPE_BUSINESS_BOOTSTRAP", "127.0.0.1:19092")
}

fn offline() -> String {
    env_or("KPIPE_OFFLINE_BOOTSTRAP", "127.0.0.1:30092")
}

/// A scratch folder (removed on drop).
struct Dir(PathBuf);

impl std::ops::Deref for Dir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scratch folder with a kpipe.yaml for the stack and the test schemas.
fn workdir() -> Dir {
    let dir = std::env::temp_dir().join(unique("kpipe-cli-test"));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!(
        "clusters:\n  business: {{ bootstrap: \"{}\" }}\n  offline: {{ bootstrap: \"{}\" }}\n\
         registry: {{ url: \"{}\" }}\nroutes:\n  - {{ topic: \"*\", cluster: business }}\n\
         schemas: {{ subject_strategy: topic, auto_register: true, policy: add-with-default-only }}\n",
        business(),
        offline(),
        env_or("KPIPE_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7"),
    );
    std::fs::write(dir.join("kpipe.yaml"), yaml).unwrap();
    std::fs::write(dir.join("v1.avsc"), V1).unwrap();
    std::fs::write(dir.join("v2.avsc"), V2_BAD).unwrap();
    std::fs::write(dir.join("v2ok.avsc"), V2_OK).unwrap();
    Dir(dir)
}

const V1: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"city","type":"string"}]}"#;
const V2_BAD: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"city","type":"string"},{"name":"zip","type":"string"}]}"#;
const V2_OK: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"city","type":"string"},{"name":"zip","type":"string","default":""}]}"#;

fn kpipe(dir: &PathBuf) -> Command {
    let mut c = Command::cargo_bin("kpipe").unwrap();
    c.current_dir(dir).env_remove("KPIPE_CONFIG").timeout(Duration::from_secs(120));
    c
}

fn stdout_json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

// ---- offline tools --------------------------------------------------------------------------

#[test]
fn avro_encode_decode_round_trip_and_bad_lines() {
    let d = workdir();
    let out = kpipe(&d)
        .args(["avro", "encode", "--schema", "v1.avsc", "--id", "7"])
        .write_stdin(
            "{\"id\":1,\"city\":\"Oslo\"}\nnot json\n{\"id\":\"x\",\"city\":\"a\"}\n{\"id\":2,\"city\":\"\"}\n",
        )
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2: error[input.invalid]"))
        .stderr(predicate::str::contains("line 3: error[serde.encode]: Order.id"))
        .get_output()
        .stdout
        .clone();
    let lines: Vec<String> = String::from_utf8(out).unwrap().lines().map(str::to_string).collect();
    assert_eq!(lines, vec!["000000000702084f736c6f".to_string(), "00000000070400".to_string()]);
    // Decode: hex lines (framed), one malformed, the rest go on.
    let input = format!("{}\nzz-not-avro\n{}\n", lines[0], lines[1]);
    kpipe(&d)
        .args(["avro", "decode", "--schema", "v1.avsc"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stdout("{\"id\":1,\"city\":\"Oslo\"}\n{\"id\":2,\"city\":\"\"}\n")
        .stderr(predicate::str::contains("line 2: error[serde.decode]"));
    // Body-only (no --id), projected to a reader schema that adds a defaulted field.
    kpipe(&d)
        .args(["avro", "encode", "--schema", "v1.avsc"])
        .write_stdin("{\"id\":3,\"city\":\"B\"}\n")
        .assert()
        .success()
        .stdout("060242\n");
    kpipe(&d)
        .args(["avro", "decode", "--schema", "v1.avsc", "--reader", "v2ok.avsc"])
        .write_stdin("060242\n")
        .assert()
        .success()
        .stdout("{\"id\":3,\"city\":\"B\",\"zip\":\"\"}\n");
}

#[test]
fn schema_compat_exit_codes_and_paths() {
    let d = workdir();
    kpipe(&d)
        .args([
            "schema",
            "compat",
            "--old",
            "v1.avsc",
            "--new",
            "v2ok.avsc",
            "--level",
            "add-with-default-only",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("compatible: add-with-default-only against v1.avsc"));
    kpipe(&d)
        .args([
            "schema",
            "compat",
            "--old",
            "v1.avsc",
            "--new",
            "v2.avsc",
            "--level",
            "add-with-default-only",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Order.id: "))
        .stdout(predicate::str::contains(
            "Order.zip: field added without a default [field_added_without_default]",
        ));
    let out = kpipe(&d)
        .args([
            "--json", "schema", "compat", "--old", "v1.avsc", "--new", "v2.avsc", "--level",
            "backward",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["compatible"], false);
    assert_eq!(v["level"], "BACKWARD");
    assert!(v["violations"].as_array().unwrap().iter().any(|x| x["path"] == "Order.id"), "{v}");
    // Usage errors exit 2; an unknown level is the core's config.invalid (exit 3), as in every
    // binding (bad_options_give_the_cores_code_and_message).
    kpipe(&d)
        .args(["schema", "compat", "--old", "v1.avsc", "--new", "v2.avsc", "--level", "sideways"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(
            "error[config.invalid]: level: unknown compatibility level \"sideways\"",
        ));
    kpipe(&d).args(["schema", "compat"]).assert().code(2);
    // A missing file is input.invalid, exit 3 with a hint.
    kpipe(&d)
        .args(["schema", "compat", "--old", "nope.avsc", "--new", "v2.avsc"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[input.invalid]: file nope.avsc"))
        .stderr(predicate::str::contains("\n  hint: "));
}

/// The same bad option values as every binding (tests/conformance/options.json): the core's
/// code and message, word for word, in text and in `--json` mode (with the details record).
#[test]
fn bad_options_give_the_cores_code_and_message() {
    let d = workdir();
    let doc: Value =
        serde_json::from_str(include_str!("../../tests/conformance/options.json")).unwrap();
    let mut covered = Vec::new();
    for c in doc["cases"].as_array().unwrap() {
        if !c["surfaces"].as_array().unwrap().iter().any(|s| s == "cli") {
            continue;
        }
        let (option, value) = (c["option"].as_str().unwrap(), c["value"].as_str().unwrap());
        covered.push(option.to_string());
        let args: Vec<&str> = match option {
            "strategy" => vec![
                "offsets",
                "migrate",
                "--from",
                "business",
                "--to",
                "offline",
                "--group",
                "g",
                "--dry-run",
                "--strategy",
                value,
            ],
            "level" => {
                vec!["schema", "compat", "--old", "v1.avsc", "--new", "v2.avsc", "--level", value]
            }
            other => panic!("no CLI surface for {other}"),
        };
        let line =
            format!("error[{}]: {}\n", c["code"].as_str().unwrap(), c["message"].as_str().unwrap());
        kpipe(&d).args(&args).assert().code(3).stderr(predicate::str::starts_with(line));
        let out = kpipe(&d).arg("--json").args(&args).assert().code(3).get_output().stderr.clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["code"], c["code"], "{v}");
        assert_eq!(v["error"]["message"], c["message"], "{v}");
        assert_eq!(v["error"]["field"], c["field"], "{v}");
        assert_eq!(v["error"]["fatal"], false, "{v}");
    }
    covered.sort();
    assert_eq!(covered, ["level", "strategy"]);
}

#[test]
fn invalid_defaults_are_schema_invalid_in_compat_and_encode() {
    let d = workdir();
    let bad = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"city","type":"string"},{"name":"n","type":["null","int"],"default":3}]}"#;
    std::fs::write(d.join("bad.avsc"), bad).unwrap();
    kpipe(&d)
        .args([
            "schema",
            "compat",
            "--old",
            "v1.avsc",
            "--new",
            "bad.avsc",
            "--level",
            "add-with-default-only",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("error[schema.invalid]"))
        .stderr(predicate::str::contains(
            "Order.n: default 3 does not match the union's first branch null",
        ));
    kpipe(&d)
        .args(["avro", "encode", "--schema", "bad.avsc"])
        .write_stdin("{\"id\":1,\"city\":\"x\"}\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("error[schema.invalid]"));
}

#[test]
fn avro_decode_framing_is_explicit() {
    let d = workdir();
    std::fs::write(d.join("double.avsc"), r#""double""#).unwrap();
    std::fs::write(d.join("string.avsc"), r#""string""#).unwrap();
    std::fs::write(d.join("bytes.avsc"), r#""bytes""#).unwrap();
    // a 5-byte header and 3 bytes of a double: an error in auto (never re-read as 8 bare bytes)
    for framing in ["auto", "confluent"] {
        kpipe(&d)
            .args(["avro", "decode", "--schema", "double.avsc", "--framing", framing])
            .write_stdin("0000000007000000\n")
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("line 1: error[serde.decode]"));
    }
    // the same 8 bytes as a bare body are a double
    kpipe(&d)
        .args(["avro", "decode", "--schema", "double.avsc", "--framing", "bare"])
        .write_stdin("0000000007000000\n")
        .assert()
        .success()
        .stdout("1.4853970537e-313\n");
    // a frame too short to be one: an error with --framing confluent; auto reads it bare
    kpipe(&d)
        .args(["avro", "decode", "--schema", "string.avsc", "--framing", "confluent"])
        .write_stdin("00\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 1: error[serde.bad_magic]: "))
        .stderr(predicate::str::contains("shorter than the 5-byte header"));
    kpipe(&d)
        .args(["avro", "decode", "--schema", "string.avsc"])
        .write_stdin("00\n")
        .assert()
        .success()
        .stdout("\"\"\n");
    // a bare body that does not start with 0x00 is not a frame
    kpipe(&d)
        .args(["avro", "decode", "--schema", "string.avsc", "--framing", "confluent"])
        .write_stdin("0468690000\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error[serde.bad_magic]: not Confluent wire format: first byte is 0x04",
        ));
    // top-level bytes: framed raw (as Confluent writes it), bare with the Avro length
    kpipe(&d)
        .args(["avro", "encode", "--schema", "bytes.avsc", "--id", "7"])
        .write_stdin("\"aGk=\"\n")
        .assert()
        .success()
        .stdout("00000000076869\n");
    kpipe(&d)
        .args(["avro", "decode", "--schema", "bytes.avsc", "--framing", "confluent"])
        .write_stdin("00000000076869\n")
        .assert()
        .success()
        .stdout("\"aGk=\"\n");
    kpipe(&d)
        .args(["avro", "decode", "--schema", "bytes.avsc", "--framing", "bare"])
        .write_stdin("046869\n")
        .assert()
        .success()
        .stdout("\"aGk=\"\n");
    kpipe(&d)
        .args(["avro", "decode", "--schema", "bytes.avsc", "--framing", "sideways"])
        .assert()
        .code(2);
}

#[test]
fn house_policy_strict_and_allow_flag() {
    let d = workdir();
    let v1b = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long","order":"descending"},{"name":"city","type":"string","default":""}]}"#;
    std::fs::write(d.join("v1b.avsc"), v1b).unwrap();
    kpipe(&d)
        .args(["schema", "compat", "--old", "v1.avsc", "--new", "v1b.avsc"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Order.id: field order changed from ascending to descending [field_order_changed]",
        ))
        .stdout(predicate::str::contains(
            "Order.city: default \"\" added to an existing field [default_added]",
        ));
    kpipe(&d)
        .args([
            "schema",
            "compat",
            "--old",
            "v1.avsc",
            "--new",
            "v1b.avsc",
            "--allow",
            "order",
            "--allow",
            "default-on-existing",
        ])
        .assert()
        .success();
    kpipe(&d)
        .args([
            "schema",
            "check",
            "--against",
            "v1.avsc",
            "--schema",
            "v1b.avsc",
            "--allow",
            "order",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[default_added]"));
    kpipe(&d)
        .args(["schema", "compat", "--old", "v1.avsc", "--new", "v1b.avsc", "--allow", "all"])
        .assert()
        .code(3);
}

#[test]
fn bad_datetime_and_offset_spec() {
    let d = workdir();
    kpipe(&d)
        .args(["consume", "t", "--from-time", "2026-13-01 10:00"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[input.invalid]: datetime \"2026-13-01 10:00\""));
    kpipe(&d)
        .args(["--json", "consume", "t", "--from-offset", "zero"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("\"code\":\"input.invalid\""));
    kpipe(&d).args(["--config", "missing.yaml", "topics", "list"]).assert().code(3).stderr(
        predicate::str::starts_with("error[config.invalid]: missing.yaml: config file not found"),
    );
}

// ---- against the stack ------------------------------------------------------------------------

/// A whole second about an hour ago.
fn recent_base() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    (now - 3_600_000) / 1000 * 1000
}

fn ensure_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        kpipe::ClusterAdmin::new(bootstrap)
            .unwrap()
            .ensure_topic(topic, partitions, 1)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
}

fn produce_raw(bootstrap: &str, topic: &str, records: &[(i32, i64, String)]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
        for (part, ts, v) in records {
            let r: FutureRecord<'_, str, str> = FutureRecord::to(topic)
                .partition(*part)
                .timestamp(*ts)
                .payload(v.as_str())
                .key("k");
            p.send(r, Duration::from_secs(30)).await.map_err(|(e, _)| e).unwrap();
        }
    });
}

#[test]
fn topics_consume_from_time_and_unknown_topic() {
    let d = workdir();
    let t = unique("kpipe.it.cli.consume");
    ensure_topic(&business(), &t, 2);
    // Recent timestamps, as a cluster with time-based retention would keep them.
    let base = recent_base();
    let recs: Vec<(i32, i64, String)> =
        (0..10).map(|i| (i % 2, base + i as i64 * 60_000, format!("{{\"n\":{i}}}"))).collect();
    produce_raw(&business(), &t, &recs);

    let out = kpipe(&d)
        .args(["--json", "topics", "describe", &t])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["messages"], 10);
    assert_eq!(v["partitions"].as_array().unwrap().len(), 2);
    for k in ["partition", "leader", "replicas", "isr", "earliest", "latest", "messages"] {
        assert!(v["partitions"][0].get(k).is_some(), "missing {k}: {v}");
    }
    kpipe(&d).args(["topics", "describe", &t]).assert().success().stdout(predicate::str::contains(
        "PARTITION  LEADER  REPLICAS  ISR  EARLIEST  LATEST  MESSAGES",
    ));
    kpipe(&d)
        .args(["topics", "list", "--cluster", "business"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("TOPIC "))
        .stdout(predicate::str::contains(&t));
    // Without --cluster: every cluster, each row naming its cluster.
    kpipe(&d)
        .args(["topics", "list"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("CLUSTER "))
        .stdout(
            predicate::str::is_match(format!(r"(?m)^business\s+{}\s", regex_escape(&t))).unwrap(),
        );

    // From 10:05: records 5..9 exactly.
    let out = kpipe(&d)
        .args([
            "consume",
            &t,
            "--from-time",
            &kpipe::offsets::format_time(base + 5 * 60_000),
            "--decode",
            "json",
        ])
        .args(["--idle-ms", "3000"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = stdout_json_lines(&out);
    let mut ns: Vec<i64> = lines.iter().map(|l| l["value"]["n"].as_i64().unwrap()).collect();
    ns.sort();
    assert_eq!(ns, vec![5, 6, 7, 8, 9]);
    for l in &lines {
        for k in ["topic", "partition", "offset", "timestamp", "key", "value", "headers"] {
            assert!(l.get(k).is_some(), "missing {k}: {l}");
        }
        assert_eq!(l["key"], "k");
    }
    // --max and --from-offset, hex decoding.
    let out = kpipe(&d)
        .args(["consume", &t, "--from-offset", "1:3", "--max", "1", "--decode", "hex"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = stdout_json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0]["partition"].as_i64(), lines[0]["offset"].as_i64()), (Some(1), Some(3)));
    assert_eq!(lines[0]["value"], "7b226e223a377d"); // {"n":7}

    kpipe(&d).args(["consume", "kpipe.no.such.topic.at.all"]).assert().code(3).stderr(
        predicate::str::starts_with("error[topic.not_found]: topic \"kpipe.no.such.topic.at.all\""),
    );
    kpipe(&d).args(["topics", "describe", "kpipe.no.such.topic.at.all"]).assert().code(3);
}

#[test]
fn a_secret_in_a_rejected_property_never_shows() {
    let d = workdir();
    std::fs::write(
        d.join("kpipe.yaml"),
        "clusters:\n  business: { bootstrap: \"127.0.0.1:1\", properties: { sasl.passwd: '${KPIPE_CLI_TEST_PW}' } }\n",
    )
    .unwrap();
    let out = kpipe(&d)
        .env("KPIPE_CLI_TEST_PW", "S3cr3t-Pa55word")
        .args(["topics", "list"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("S3cr3t"), "secret leaked: {text}");
    assert!(text.contains("clusters.business.properties.sasl.passwd"), "{text}");
}

#[test]
fn produce_reports_a_non_utf8_line_and_sends_the_rest() {
    let d = workdir();
    let t = unique("kpipe.it.cli.utf8");
    ensure_topic(&business(), &t, 1);
    let mut input: Vec<u8> = Vec::new();
    for i in 1..=600 {
        if i == 300 {
            input.extend_from_slice(b"\xff\xfe not utf-8\n");
        } else {
            input.extend_from_slice(format!("{{\"id\":{i},\"city\":\"c{i}\"}}\n").as_bytes());
        }
    }
    kpipe(&d)
        .args(["produce", &t, "--schema", "v1.avsc"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 300: error[input.invalid]"))
        .stderr(predicate::str::contains("not valid UTF-8"))
        .stderr(predicate::str::contains("produced 599 records"))
        .stderr(predicate::str::contains("1 lines failed"));
    let out = kpipe(&d)
        .args(["consume", &t, "--idle-ms", "3000"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ids: Vec<i64> =
        stdout_json_lines(&out).iter().map(|l| l["value"]["id"].as_i64().unwrap()).collect();
    let want: Vec<i64> = (1..=600).filter(|i| *i != 300).collect();
    assert_eq!(ids, want, "every good line, before and after the bad one, in order");
}

#[test]
fn produce_avro_then_consume_decoded_and_schema_commands() {
    let d = workdir();
    let t = unique("kpipe.it.cli.produce");
    let subject = format!("{t}-value");
    ensure_topic(&business(), &t, 1);
    kpipe(&d)
        .args(["produce", &t, "--schema", "v1.avsc", "--key", "a"])
        .write_stdin("{\"id\":1,\"city\":\"Oslo\"}\n{bad\n{\"id\":2,\"city\":\"Rome\"}\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2: error[input.invalid]"))
        .stderr(predicate::str::contains("produced 2 records"));
    let out = kpipe(&d)
        .args(["consume", &t, "--idle-ms", "3000"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = stdout_json_lines(&out);
    let values: Vec<&Value> = lines.iter().map(|l| &l["value"]).collect();
    assert_eq!(
        values,
        vec![
            &serde_json::json!({"id":1,"city":"Oslo"}),
            &serde_json::json!({"id":2,"city":"Rome"})
        ]
    );

    // schema get / check / diff / register.
    let out = kpipe(&d)
        .args(["--json", "schema", "get", "--subject", &subject])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["schema"]["name"], "Order");
    kpipe(&d)
        .args(["schema", "check", "--subject", &subject, "--schema", "v2.avsc"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "NOT compatible: add-with-default-only against subject {subject} version 1"
        )))
        .stdout(predicate::str::contains("  Order.zip: field added without a default"));
    kpipe(&d)
        .args([
            "schema",
            "check",
            "--subject",
            &subject,
            "--schema",
            "v2.avsc",
            "--level",
            "forward",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Order.id"));
    kpipe(&d)
        .args(["schema", "check", "--subject", &subject, "--schema", "v2ok.avsc"])
        .assert()
        .success();
    kpipe(&d)
        .args(["schema", "diff", "--subject", &subject, "--new", "v2ok.avsc"])
        .assert()
        .success()
        .stdout(predicate::str::contains("+    {"))
        .stdout(predicate::str::contains("# add-with-default-only: ok"));
    kpipe(&d)
        .args(["schema", "register", "--subject", &subject, "--schema", "v2.avsc"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not registered"));
    kpipe(&d)
        .args(["schema", "register", "--subject", &subject, "--schema", "v2ok.avsc"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("registered {subject} version 2")));
    // Produce by subject (latest = v2ok); a value that does not fit names its path.
    kpipe(&d)
        .args(["produce", &t, "--subject", &subject])
        .write_stdin("{\"id\":3,\"city\":\"Bonn\",\"zip\":\"53111\"}\n{\"id\":4,\"city\":5}\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2: error[serde.encode]: Order.city"));
    kpipe(&d)
        .args(["schema", "get", "--subject", "kpipe-no-such-subject-xyz"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[registry.not_found]"));
}

#[test]
fn schema_register_with_references_then_produce_and_consume() {
    let d = workdir();
    let t = unique("kpipe.it.cli.refs");
    let address = unique("kpipe-it-cli-address");
    let order = format!("{t}-value");
    ensure_topic(&business(), &t, 1);
    std::fs::write(
        d.join("address.avsc"),
        r#"{"type":"record","name":"Address","namespace":"kpipe.it","fields":[{"name":"city","type":"string"}]}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("order.avsc"),
        r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"to","type":"kpipe.it.Address"}]}"#,
    )
    .unwrap();
    kpipe(&d)
        .args(["schema", "register", "--subject", &address, "--schema", "address.avsc"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("registered {address} version 1")));
    // Without its reference the schema does not compile.
    kpipe(&d)
        .args(["schema", "register", "--subject", &order, "--schema", "order.avsc"])
        .assert()
        .code(predicate::ne(0))
        .stderr(predicate::str::starts_with("error[schema.invalid]"))
        .stderr(predicate::str::contains("kpipe.it.Address"));
    // A malformed --reference and one the registry does not have.
    kpipe(&d)
        .args(["schema", "register", "--subject", &order, "--schema", "order.avsc"])
        .args(["--reference", "kpipe.it.Address"])
        .assert()
        .code(predicate::ne(0))
        .stderr(predicate::str::starts_with("error[input.invalid]"))
        .stderr(predicate::str::contains("NAME=SUBJECT:VERSION"));
    kpipe(&d)
        .args(["schema", "register", "--subject", &order, "--schema", "order.avsc"])
        .args(["--reference", &format!("kpipe.it.Address={address}:9")])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[registry.not_found]"))
        .stderr(predicate::str::contains(format!("subject {address} version 9")));
    kpipe(&d)
        .args(["schema", "register", "--subject", &order, "--schema", "order.avsc"])
        .args(["--reference", &format!("kpipe.it.Address={address}:1")])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("registered {order} version 1")));
    // check follows the reference too: the same schema is compatible with itself.
    kpipe(&d)
        .args(["schema", "check", "--subject", &order, "--schema", "order.avsc"])
        .args(["--reference", &format!("kpipe.it.Address={address}:1")])
        .assert()
        .success();
    let out = kpipe(&d)
        .args(["--json", "schema", "get", "--subject", &order])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["version"], 1);
    kpipe(&d)
        .args(["produce", &t, "--subject", &order])
        .write_stdin("{\"id\":1,\"to\":{\"city\":\"Oslo\"}}\n")
        .assert()
        .success();
    let out = kpipe(&d)
        .args(["consume", &t, "--idle-ms", "3000"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = stdout_json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["value"], serde_json::json!({"id": 1, "to": {"city": "Oslo"}}));
}

fn commit(bootstrap: &str, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        tpl.add_partition_offset(topic, *p, Offset::Offset(*o)).unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

#[test]
fn groups_and_offsets_export_import_reset_migrate() {
    let d = workdir();
    let t = unique("kpipe.it.cli.offsets");
    let g = unique("kpipe-it-cli-group");
    ensure_topic(&business(), &t, 3);
    ensure_topic(&offline(), &t, 3);
    let base = recent_base();
    let recs: Vec<(i32, i64, String)> =
        (0..12).map(|i| (i % 3, base + (i as i64 / 3) * 1000, i.to_string())).collect();
    produce_raw(&business(), &t, &recs);
    produce_raw(&offline(), &t, &recs);
    commit(&business(), &g, &t, &[(0, 2), (1, 1), (2, 4)]);

    let out = kpipe(&d)
        .args(["--json", "groups", "describe", &g, "--topics", &t])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["total_lag"], 5);
    assert_eq!(v["partitions"][0]["committed"], 2);
    kpipe(&d)
        .args(["groups", "describe", &g, "--topics", &t])
        .assert()
        .success()
        .stdout(predicate::str::contains("TOPIC").and(predicate::str::contains("LAG")));
    kpipe(&d)
        .args(["groups", "list", "--cluster", "business"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("GROUP"));

    // Export, reset (dry run and real), import.
    kpipe(&d)
        .args(["offsets", "export", "--group", &g, "--topics", &t, "-o", "exp.json"])
        .assert()
        .success();
    let exp: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("exp.json")).unwrap()).unwrap();
    assert_eq!(exp["offsets"].as_array().unwrap().len(), 3);
    kpipe(&d)
        .args(["offsets", "reset", "--group", &g, "--topics", &t, "--to-earliest", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dry run: nothing committed"));
    kpipe(&d)
        .args([
            "offsets",
            "reset",
            "--group",
            &g,
            "--topics",
            &t,
            "--to-datetime",
            &kpipe::offsets::format_time(base + 2000),
        ])
        .assert()
        .success();
    let out = kpipe(&d)
        .args(["offsets", "export", "--group", &g, "--topics", &t])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let offs: Vec<i64> =
        v["offsets"].as_array().unwrap().iter().map(|x| x["offset"].as_i64().unwrap()).collect();
    assert_eq!(offs, vec![2, 2, 2]);
    kpipe(&d)
        .args(["offsets", "reset", "--group", &g, "--topics", &t, "--to-datetime", "tomorrow"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[input.invalid]"));
    kpipe(&d).args(["offsets", "import", "--file", "exp.json"]).assert().success();

    // Migrate: the dry run prints the plan and changes nothing.
    kpipe(&d)
        .args([
            "offsets",
            "migrate",
            "--from",
            "business",
            "--to",
            "offline",
            "--group",
            &g,
            "--topics",
            &t,
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("TOPIC")
                .and(predicate::str::contains("TIMESTAMP"))
                .and(predicate::str::contains("REPLAYED")),
        )
        .stdout(predicate::str::contains("dry run: nothing committed"));
    let out = kpipe(&d)
        .args([
            "--json",
            "offsets",
            "export",
            "--group",
            &g,
            "--cluster",
            "offline",
            "--topics",
            &t,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(v["offsets"].as_array().unwrap().is_empty(), "dry run committed: {v}");
    let out = kpipe(&d)
        .args([
            "--json", "offsets", "migrate", "--from", "business", "--to", "offline", "--group", &g,
            "--topics", &t,
        ])
        .args(["--rollback-file", "rb.json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    // Partition 0: committed 2, record 6's timestamp base+2s is shared by offset 2 only (0,3,6,9 -> ts 0,1,2,3).
    let plan = v["plan"]["partitions"].as_array().unwrap();
    assert_eq!(plan.len(), 3);
    assert_eq!(plan[0]["target_offset"], 2);
    assert_eq!(plan[0]["timestamp"], base + 2000);
    assert!(d.join("rb.json").exists());
    kpipe(&d).args(["offsets", "import", "--file", "rb.json"]).assert().success();
    // Checkpoint strategy with no checkpoints for this group.
    kpipe(&d)
        .args([
            "offsets", "migrate", "--from", "business", "--to", "offline", "--group", &g,
            "--topics", &t,
        ])
        .args(["--strategy", "checkpoint", "--source-alias", "kpipe-no-such-alias", "--dry-run"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error[offsets.no_checkpoint]"));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// Every record of `topic` on `bootstrap`, by partition then offset: (partition, offset,
/// timestamp, key, value, headers).
#[allow(clippy::type_complexity)]
fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> Vec<(i32, i64, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Option<Vec<u8>>)>)>
{
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{Offset, TopicPartitionList};
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("kpipe.it.read"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while out.len() < count && std::time::Instant::now() < deadline {
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect()
                })
                .unwrap_or_default();
            out.push((
                m.partition(),
                m.offset(),
                m.timestamp().to_millis(),
                m.key().map(<[u8]>::to_vec),
                m.payload().map(<[u8]>::to_vec),
                headers,
            ));
        }
    }
    out.sort_by_key(|r| (r.0, r.1));
    out
}

#[test]
fn mirror_copies_records_as_they_are_and_resumes_where_it_stopped() {
    use rdkafka::message::{Header, OwnedHeaders};
    let d = workdir();
    let t = unique("kpipe.it.cli.mirror");
    ensure_topic(&business(), &t, 3);
    let base = recent_base();
    let send = |from: usize, to: usize| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let p: FutureProducer =
                ClientConfig::new().set("bootstrap.servers", business()).create().unwrap();
            for i in from..to {
                let key = format!("k{i}");
                let value = format!("v{i}");
                let headers = OwnedHeaders::new()
                    .insert(Header { key: "seq", value: Some(i.to_string().as_bytes()) })
                    .insert(Header { key: "empty", value: Some(&b""[..]) })
                    .insert(Header::<&[u8]> { key: "none", value: None });
                let mut r: FutureRecord<'_, str, str> = FutureRecord::to(&t)
                    .partition((i % 3) as i32)
                    .timestamp(base + i as i64)
                    .key(key.as_str())
                    .headers(headers);
                if i % 5 != 4 {
                    r = r.payload(value.as_str()); // every fifth a tombstone
                }
                p.send(r, Duration::from_secs(30)).await.map_err(|(e, _)| e).unwrap();
            }
        });
    };
    send(0, 20);
    let g = unique("kpipe.it.mirror");
    let run = |max: Option<&str>| {
        let mut args =
            vec!["--json", "mirror", "--from", "business", "--to", "offline", "--topics", &t];
        args.extend(["--group", &g, "--idle-ms", "1500"]);
        if let Some(m) = max {
            args.extend(["--max", m]);
        }
        let out = kpipe(&d).args(&args).assert().success().get_output().stdout.clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        v
    };
    // a first run stopped after 8 records, a second one takes the rest: each record once
    let first = run(Some("8"));
    assert_eq!(first["records"], 8);
    assert_eq!(first["created"], serde_json::json!([t]));
    let second = run(None);
    assert_eq!(second["records"], 12, "{second}");
    assert_eq!(second["created"], serde_json::json!([]));
    let source = read_all(&business(), &t, 3, 20);
    let target = read_all(&offline(), &t, 3, 20);
    assert_eq!(source.len(), 20);
    assert_eq!(target, source, "same partitions, offsets, timestamps, keys, values, headers");
    assert!(target.iter().any(|r| r.4.is_none()), "tombstones copied");
    assert_eq!(target[0].5[2], ("none".to_string(), None), "a null header stays null");

    // new records: only they are copied
    send(20, 26);
    let third = run(None);
    assert_eq!(third["records"], 6);
    assert_eq!(read_all(&offline(), &t, 3, 26), read_all(&business(), &t, 3, 26));

    // a target topic with another partition count: refused before anything is copied
    let t2 = unique("kpipe.it.cli.mirror2");
    ensure_topic(&business(), &t2, 2);
    ensure_topic(&offline(), &t2, 3);
    let out = kpipe(&d)
        .args(["--json", "mirror", "--from", "business", "--to", "offline", "--topics", &t2])
        .args(["--group", &g])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["error"]["code"], "offsets.partition_mismatch", "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2 partitions on business, 3 on offline"));
}
