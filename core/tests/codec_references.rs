//! Schema references against the live registry (dev/stack): a record using a named type
//! registered under another subject is written and read by id, registered with its
//! references, and checked by the policy with the referenced types compiled in.

mod common;

use kpipe::avro::{CompiledSchema, JsonBuilder};
use kpipe::codec::{AvroCodec, CodecSettings};
use kpipe::compat::Level;
use kpipe::registry::{SchemaReference, SchemaRequest};
use kpipe::RegistryClient;
use serde_json::json;

const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"kpipe.it","fields":[
  {"name":"street","type":"string"},{"name":"city","type":"string"}]}"#;
/// Address with a new field without a default: the house policy and BACKWARD refuse it, also
/// for a schema that only uses Address through a reference.
const ADDRESS_V2_NO_DEFAULT: &str = r#"{"type":"record","name":"Address","namespace":"kpipe.it","fields":[
  {"name":"street","type":"string"},{"name":"city","type":"string"},{"name":"zip","type":"string"}]}"#;
/// Uses Address twice: the first use defines it, the second refers to it by name.
const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"kpipe.it","fields":[
  {"name":"id","type":"long"},{"name":"ship_to","type":"Address"},
  {"name":"bill_to","type":["null","kpipe.it.Address"],"default":null}]}"#;

fn registry() -> RegistryClient {
    RegistryClient::new(&common::registry_url()).unwrap()
}

fn codec(settings: CodecSettings) -> AvroCodec {
    AvroCodec::new(registry(), settings)
}

/// Address registered under its own subject; the Order topic's value subject registered with
/// a reference to it. Returns (topic, address subject, order id).
async fn setup(tag: &str) -> (String, String, u32) {
    let reg = registry();
    let address = common::unique(&format!("kpipe-it-address-{tag}"));
    reg.register(&address, ADDRESS).await.unwrap();
    let topic = common::unique(&format!("kpipe.it.refs.{tag}"));
    let request = SchemaRequest {
        schema: ORDER.into(),
        schema_type: None,
        references: vec![SchemaReference {
            name: "kpipe.it.Address".into(),
            subject: address.clone(),
            version: 1,
        }],
    };
    let id = codec(CodecSettings::default()).register(&format!("{topic}-value"), &request).await;
    (topic, address, id.unwrap())
}

#[tokio::test]
async fn a_schema_with_references_is_written_and_read_by_id() {
    let (topic, address, id) = setup("rw").await;
    let reg = registry();
    let got = reg.schema_with_references(id).await.unwrap();
    assert_eq!(
        &*got.references,
        &[SchemaReference { name: "kpipe.it.Address".into(), subject: address, version: 1 }],
        "the registry returns the references with the schema by id"
    );

    // A producer writing with the subject's latest (references and all) ...
    let writer =
        codec(CodecSettings { use_latest: true, auto_register: false, ..Default::default() });
    let value = json!({"id": 7, "ship_to": {"street": "Main St 1", "city": "Oslo"},
                       "bill_to": {"kpipe.it.Address": {"street": "Box 9", "city": "Bergen"}}});
    let mut buf = Vec::new();
    let w = writer.encode(&topic, false, None, &&value, &mut buf).await.unwrap();
    assert_eq!(w.id, id);
    // ... and a fresh reader (another process) that knows only the id in the payload.
    let reader = codec(CodecSettings::default());
    let decoded = reader.decode(&buf, None, &mut JsonBuilder).await.unwrap();
    assert_eq!(decoded["ship_to"], json!({"street": "Main St 1", "city": "Oslo"}));
    assert_eq!(decoded["id"], json!(7));
    assert_eq!(decoded["bill_to"], json!({"street": "Box 9", "city": "Bergen"}));

    // The compiled schema is self-contained: its canonical form defines Address inline.
    let compiled = reader.compiled(id).await.unwrap();
    let full = CompiledSchema::parse_with_references(ORDER, &[ADDRESS]).unwrap();
    assert_eq!(compiled.canonical_form(), full.canonical_form());
    assert!(compiled.canonical_form().contains(r#"{"name":"kpipe.it.Address","type":"record""#));
    // The Avro body is what apache-avro writes for the same value with the same schemata.
    let inlined = apache_avro::Schema::parse_str(compiled.canonical_form()).unwrap();
    let body = &buf[5..];
    let back = apache_avro::from_avro_datum(&inlined, &mut &body[..], None).unwrap();
    assert!(format!("{back:?}").contains("Bergen"), "{back:?}");
}

#[tokio::test]
async fn a_missing_reference_names_the_referenced_subject() {
    let codec = codec(CodecSettings::default());
    let missing = common::unique("kpipe-it-address-missing");
    let request = SchemaRequest {
        schema: ORDER.into(),
        schema_type: None,
        references: vec![SchemaReference {
            name: "kpipe.it.Address".into(),
            subject: missing.clone(),
            version: 1,
        }],
    };
    let e = codec.register(&common::unique("kpipe-it-order-missing"), &request).await.unwrap_err();
    assert_eq!(e.code(), "registry.not_found", "{e}");
    assert_eq!(e.details().subject.as_deref(), Some(missing.as_str()));
    assert!(e.to_string().contains("schema reference kpipe.it.Address"), "{e}");

    // Without its reference the schema does not compile: schema.invalid naming the type.
    let e = CompiledSchema::parse(ORDER).unwrap_err();
    assert_eq!(e.code(), "schema.invalid");
    assert!(e.to_string().contains("Address"), "{e}");
}

#[tokio::test]
async fn the_policy_compares_the_schema_compiled_with_its_references() {
    let (topic, address, _) = setup("policy").await;
    let reg = registry();
    // Address v2 adds a field without a default (registered without kpipe's policy).
    reg.set_subject_compatibility(&address, Level::None).await.unwrap();
    let v2 = reg.register(&address, ADDRESS_V2_NO_DEFAULT).await.unwrap();
    assert!(v2 > 0);
    let request = SchemaRequest {
        schema: ORDER.into(),
        schema_type: None,
        references: vec![SchemaReference {
            name: "kpipe.it.Address".into(),
            subject: address.clone(),
            version: 2,
        }],
    };
    // The Order text is unchanged, but the Address it now uses gained `zip` without a default.
    let e = codec(CodecSettings::default())
        .register(&format!("{topic}-value"), &request)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "schema.policy_violation", "{e}");
    assert!(e.to_string().contains("zip"), "{e}");
    // At BACKWARD the same change is refused too (an old record has no zip to read).
    let backward = CodecSettings { policy: Level::Backward, ..Default::default() };
    let e = codec(backward).register(&format!("{topic}-value"), &request).await.unwrap_err();
    assert_eq!(e.code(), "schema.incompatible", "{e}");
    assert_eq!(e.details().subject, Some(format!("{topic}-value")));
}

const V1: &str = r#"{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[
  {"name":"id","type":"long"},{"name":"old","type":"string","default":"x"}]}"#;
/// v1 minus `old`, plus `unit` with a default.
const V2: &str = r#"{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[
  {"name":"id","type":"long"},{"name":"unit","type":"string","default":"celsius"}]}"#;
/// `id` retyped to string: a v1 record cannot be read as it.
const V_BAD: &str = r#"{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[
  {"name":"id","type":"string"}]}"#;

#[tokio::test]
async fn records_are_read_as_the_reader_schema() {
    use kpipe::AvroReader;
    use std::sync::Arc;
    let codec = codec(CodecSettings { policy: Level::None, ..Default::default() });
    let topic = common::unique("kpipe.it.readers");
    let mut v1 = Vec::new();
    codec.encode(&topic, false, Some(V1), &&json!({"id": 1, "old": "o"}), &mut v1).await.unwrap();

    let reader: Arc<str> = V2.into();
    let read = |r: AvroReader, s: Option<Arc<str>>| {
        let (codec, topic, v1) = (&codec, &topic, &v1);
        async move { codec.decode_as(v1, topic, false, s.as_ref(), r, &mut JsonBuilder).await }
    };
    // The serializer's schema is the reader: v2's default, v1's `old` skipped.
    assert_eq!(
        read(AvroReader::Schema, Some(reader.clone())).await.unwrap(),
        json!({"id": 1, "unit": "celsius"})
    );
    // `writer`, or no schema: as written.
    assert_eq!(
        read(AvroReader::Writer, Some(reader.clone())).await.unwrap(),
        json!({"id": 1, "old": "o"})
    );
    assert_eq!(read(AvroReader::Schema, None).await.unwrap(), json!({"id": 1, "old": "o"}));
    // The hot path asks the registry nothing more.
    let before = codec.registry().stats().http_requests;
    for _ in 0..50 {
        read(AvroReader::Schema, Some(reader.clone())).await.unwrap();
    }
    assert_eq!(codec.registry().stats().http_requests, before);

    // `latest`: the subject's latest version, registered after the record was written.
    codec.registry().register(&format!("{topic}-value"), V2).await.unwrap();
    assert_eq!(read(AvroReader::Latest, None).await.unwrap(), json!({"id": 1, "unit": "celsius"}));

    // A reader the record cannot be resolved to: serde.decode, every time. (A root that
    // cannot match, another record name, fails when the projection is built.)
    let bad: Arc<str> = V_BAD.into();
    for _ in 0..2 {
        let e = read(AvroReader::Schema, Some(bad.clone())).await.unwrap_err();
        assert_eq!(e.code(), "serde.decode", "{e}");
        assert!(e.to_string().contains("long cannot be read as string"), "{e}");
    }
}
