//! Registry-aware Avro against the live registry (dev/stack): subject naming, the client-side
//! policy before registration, use_latest, and decoding by the id in the payload.

mod common;

use std::sync::Arc;

use kpipe::avro::{CompiledSchema, JsonBuilder, SubjectStrategy};
use kpipe::codec::{AvroCodec, CodecSettings};
use kpipe::compat::Level;
use kpipe::RegistryClient;
use serde_json::json;

const V1: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[
  {"name":"id","type":"string"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}]}"#;
const V2_WITH_DEFAULT: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[
  {"name":"id","type":"string"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"city","type":"string","default":"unknown"}]}"#;
const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[
  {"name":"id","type":"string"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"city","type":"string"}]}"#;
const V2_RETYPED: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[
  {"name":"id","type":"long"},{"name":"amount","type":"double"}]}"#;

fn codec(settings: CodecSettings) -> AvroCodec {
    AvroCodec::new(RegistryClient::new(&common::registry_url()).unwrap(), settings)
}

#[tokio::test]
async fn encodes_registers_once_and_decodes_by_id() {
    let codec = codec(CodecSettings::default());
    let topic = common::unique("kpipe.it.codec");
    let value = json!({"id": "o-1", "amount": "12.30"});
    let mut buf = Vec::new();
    let w = codec.encode(&topic, false, Some(V1), &&value, &mut buf).await.unwrap();
    assert_eq!(&*w.subject, format!("{topic}-value"));
    assert_eq!(
        &buf[..5],
        &[0, (w.id >> 24) as u8, (w.id >> 16) as u8, (w.id >> 8) as u8, w.id as u8]
    );
    assert_eq!(codec.decode(&buf, None, &mut JsonBuilder).await.unwrap(), value);

    // The hot path: no more HTTP calls for the same schema, for encode or decode.
    let before = codec.registry().stats().http_requests;
    for _ in 0..100 {
        buf.clear();
        codec.encode(&topic, false, Some(V1), &&value, &mut buf).await.unwrap();
        codec.decode(&buf, None, &mut JsonBuilder).await.unwrap();
    }
    assert_eq!(codec.registry().stats().http_requests, before);

    // A fresh codec (another process) decodes by the id alone.
    let other = self::codec(CodecSettings::default());
    assert_eq!(other.decode(&buf, None, &mut JsonBuilder).await.unwrap(), value);
}

#[tokio::test]
async fn the_house_policy_runs_before_registration() {
    let codec = codec(CodecSettings::default());
    let topic = common::unique("kpipe.it.policy");
    let subject = format!("{topic}-value");
    let mut buf = Vec::new();
    codec
        .encode(&topic, false, Some(V1), &&json!({"id": "a", "amount": "1.00"}), &mut buf)
        .await
        .unwrap();

    let e = codec.writer(&topic, false, Some(V2_NO_DEFAULT)).await.unwrap_err();
    assert_eq!(e.code(), "schema.policy_violation");
    assert!(e.to_string().contains("Order.city: field added without a default"), "{e}");
    let e = codec.writer(&topic, false, Some(V2_RETYPED)).await.unwrap_err();
    assert_eq!(e.code(), "schema.policy_violation");
    let msg = e.to_string();
    assert!(
        msg.contains("Order.id") && msg.contains("Order.amount"),
        "every violation is listed: {msg}"
    );
    assert_eq!(
        codec.registry().versions(&subject).await.unwrap(),
        vec![1],
        "nothing was registered"
    );

    let w = codec.writer(&topic, false, Some(V2_WITH_DEFAULT)).await.unwrap();
    assert_eq!(codec.registry().versions(&subject).await.unwrap(), vec![1, 2]);
    assert_eq!(codec.registry().latest(&subject).await.unwrap().id, w.id);
}

#[tokio::test]
async fn with_policy_none_the_registry_still_judges() {
    let codec = codec(CodecSettings { policy: Level::None, ..Default::default() });
    let topic = common::unique("kpipe.it.nopolicy");
    let subject = format!("{topic}-value");
    codec.registry().set_subject_compatibility(&subject, Level::Backward).await.unwrap();
    codec.writer(&topic, false, Some(V1)).await.unwrap();
    let e = codec.writer(&topic, false, Some(V2_NO_DEFAULT)).await.unwrap_err();
    assert_eq!(e.code(), "schema.incompatible", "{e}");
}

#[tokio::test]
async fn use_latest_and_lookup_only_modes() {
    let topic = common::unique("kpipe.it.latest");
    let subject = format!("{topic}-value");
    let registry = RegistryClient::new(&common::registry_url()).unwrap();
    registry.register(&subject, V1).await.unwrap();
    let v2 = registry.register(&subject, V2_WITH_DEFAULT).await.unwrap();

    let latest = codec(CodecSettings { use_latest: true, ..Default::default() });
    let w = latest.writer(&topic, false, None).await.unwrap();
    assert_eq!(w.id, v2);
    let mut buf = Vec::new();
    latest
        .encode(&topic, false, None, &&json!({"id": "x", "amount": "2.50"}), &mut buf)
        .await
        .unwrap();
    assert_eq!(
        latest.decode(&buf, None, &mut JsonBuilder).await.unwrap(),
        json!({"id": "x", "amount": "2.50", "city": "unknown"})
    );

    let lookup = codec(CodecSettings { auto_register: false, ..Default::default() });
    assert_eq!(lookup.writer(&topic, false, Some(V1)).await.unwrap().subject.as_ref(), subject);
    let e = lookup.writer(&common::unique("kpipe.it.absent"), false, Some(V1)).await.unwrap_err();
    assert_eq!(e.code(), "registry.not_found");
}

#[tokio::test]
async fn record_strategies_name_subjects_by_record() {
    let topic = common::unique("kpipe.it.strategy");
    let record = codec(CodecSettings {
        subject_strategy: SubjectStrategy::Record,
        policy: Level::None,
        ..Default::default()
    });
    assert_eq!(&*record.writer(&topic, false, Some(V1)).await.unwrap().subject, "kpipe.it.Order");
    let topic_record = codec(CodecSettings {
        subject_strategy: SubjectStrategy::TopicRecord,
        ..Default::default()
    });
    assert_eq!(
        &*topic_record.writer(&topic, true, Some(V1)).await.unwrap().subject,
        format!("{topic}-kpipe.it.Order")
    );
}

#[tokio::test]
async fn reader_projection_and_bad_payloads() {
    let codec = codec(CodecSettings::default());
    let topic = common::unique("kpipe.it.project");
    let mut buf = Vec::new();
    codec
        .encode(&topic, false, Some(V1), &&json!({"id": "p", "amount": "-0.05"}), &mut buf)
        .await
        .unwrap();
    let reader = Arc::new(CompiledSchema::parse(V2_WITH_DEFAULT).unwrap());
    let v = codec.decode(&buf, Some(&reader), &mut JsonBuilder).await.unwrap();
    assert_eq!(v, json!({"id": "p", "amount": "-0.05", "city": "unknown"}));

    let e = codec.decode(&[1, 0, 0, 0, 1, 2], None, &mut JsonBuilder).await.unwrap_err();
    assert_eq!(e.code(), "serde.bad_magic");
    let e =
        codec.decode(&[0, 0x7f, 0xff, 0xff, 0xf0, 2], None, &mut JsonBuilder).await.unwrap_err();
    assert_eq!(e.code(), "serde.unknown_schema_id");
    let mut truncated = buf.clone();
    truncated.truncate(buf.len() - 1);
    let e = codec.decode(&truncated, None, &mut JsonBuilder).await.unwrap_err();
    assert_eq!(e.code(), "serde.decode");
}

/// The house policy is strict by default: adding an alias to an existing field is refused
/// before the registry is asked; `schemas.policy_allow: [aliases]` lets it register.
#[tokio::test]
async fn house_policy_is_strict_unless_a_benign_change_is_allowed() {
    let topic = common::unique("kpipe.it.codec.allow");
    let v1 = r#"{"type":"record","name":"P","fields":[{"name":"id","type":"string"}]}"#;
    let v2 = r#"{"type":"record","name":"P","fields":[{"name":"id","type":"string","aliases":["ident"]}]}"#;
    let value = json!({"id": "a"});
    let strict = codec(CodecSettings::default());
    let mut buf = Vec::new();
    strict.encode(&topic, false, Some(v1), &&value, &mut buf).await.unwrap();
    let e = strict.encode(&topic, false, Some(v2), &&value, &mut buf).await.unwrap_err();
    assert_eq!(e.code(), "schema.policy_violation");
    assert!(e.to_string().contains("P.id: field aliases changed from [] to [ident]"), "{e}");
    let versions = strict.registry().versions(&format!("{topic}-value")).await.unwrap();
    assert_eq!(versions.len(), 1, "nothing registered");

    let mut allow = kpipe::compat::PolicyAllow::default();
    allow.allow("aliases").unwrap();
    let lenient = codec(CodecSettings { policy_allow: allow, ..Default::default() });
    buf.clear();
    // (the registry may file it under the existing version: aliases are not in the canonical form)
    lenient.encode(&topic, false, Some(v2), &&value, &mut buf).await.unwrap();
    assert_eq!(lenient.decode(&buf, None, &mut JsonBuilder).await.unwrap(), value);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sends_of_a_schema_resolve_it_once() {
    let topic = common::unique("kpipe.it.herd");
    let mut buf = Vec::new();
    let v1 = json!({"id": "o-1", "amount": "1.00"});
    codec(CodecSettings::default()).encode(&topic, false, Some(V1), &&v1, &mut buf).await.unwrap();

    // a fresh codec (a starting service): 500 sends of v2 at once, all before any is cached
    let codec = Arc::new(codec(CodecSettings::default()));
    let before = codec.registry().stats().http_requests;
    let v2 = json!({"id": "o-2", "amount": "2.00", "city": "Oslo"});
    let sends: Vec<_> = (0..500)
        .map(|_| {
            let (codec, topic, v2) = (codec.clone(), topic.clone(), v2.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                codec
                    .encode(&topic, false, Some(V2_WITH_DEFAULT), &&v2, &mut out)
                    .await
                    .map(|w| w.id)
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for s in sends {
        ids.insert(s.await.unwrap().unwrap());
    }
    assert_eq!(ids.len(), 1, "every send got the same schema id");
    // the policy check (the subject's versions, then its latest) and one registration, for
    // all 500: not one version listing per send
    let calls = codec.registry().stats().http_requests - before;
    assert!(calls <= 3, "{calls} registry requests for one new schema");
}
