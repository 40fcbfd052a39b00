use super::plan::Node;
use super::*;
use serde_json::{json, Value as Json};

const ORDER: &str = include_str!("../../../tests/conformance/schemas/order.avsc");
const EVERYTHING: &str = include_str!("../../../tests/conformance/schemas/everything.avsc");
const TREE: &str = include_str!("../../../tests/conformance/schemas/tree.avsc");
const ORDERS: &str = include_str!("../../../tests/conformance/orders.jsonl");

const PING: &str = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"long"},{"name":"s","type":"string"}]}"#;

fn enc(schema: &CompiledSchema, v: &Json) -> Result<Vec<u8>> {
    json_to_avro(schema, v)
}

#[test]
fn frames_and_unframes() {
    let schema = CompiledSchema::parse(PING).unwrap();
    let v = json!({"a": 3, "s": "x"});
    let mut bytes = Vec::new();
    encode_framed(258, &schema, &&v, &mut bytes).unwrap();
    assert_eq!(&bytes[..5], &[0, 0, 0, 1, 2]);
    assert_eq!(&bytes[5..], &[6, 2, b'x']);
    let (id, body) = split_header(&bytes).unwrap();
    assert_eq!(id, 258);
    assert_eq!(decode(&schema, None, body, &mut JsonBuilder).unwrap(), v);
}

#[test]
fn rejects_bad_headers_and_trailing_bytes() {
    let schema = CompiledSchema::parse(PING).unwrap();
    assert_eq!(split_header(&[0, 0, 0]).unwrap_err().code(), "serde.bad_magic");
    assert_eq!(split_header(&[1, 0, 0, 0, 1, 6]).unwrap_err().code(), "serde.bad_magic");
    assert_eq!(avro_to_json(&schema, &[6, 2, b'x', 9]).unwrap_err().code(), "serde.decode");
    assert_eq!(avro_to_json(&schema, &[6]).unwrap_err().code(), "serde.decode");
}

#[test]
fn orders_match_apache_avro_and_round_trip() {
    let schema = CompiledSchema::parse(ORDER).unwrap();
    for line in ORDERS.lines().take(20) {
        let v: Json = serde_json::from_str(line).unwrap();
        let bytes = enc(&schema, &v).unwrap();
        // apache-avro reads our bytes, and our apache-avro view encodes to the same bytes.
        let av = apache_avro::from_avro_datum(schema.schema(), &mut &bytes[..], None).unwrap();
        let mut again = Vec::new();
        encode(&schema, &&av, &mut again).unwrap();
        // (apache-avro maps are HashMaps: compare contents, not entry order.)
        let natural = avro_to_json(&schema, &bytes).unwrap();
        assert_eq!(avro_to_json(&schema, &again).unwrap(), natural);
        assert_eq!(decode(&schema, None, &bytes, &mut ApacheBuilder).unwrap(), av);
        assert_eq!(enc(&schema, &natural).unwrap(), bytes);
    }
}

#[test]
fn encode_errors_name_the_path_and_type() {
    let schema = CompiledSchema::parse(ORDER).unwrap();
    let mut v: Json = serde_json::from_str(ORDERS.lines().nth(1).unwrap()).unwrap();
    v["items"][1]["qty"] = json!("two");
    let e = enc(&schema, &v).unwrap_err();
    assert_eq!(e.code(), "serde.encode");
    assert_eq!(e.to_string(), "Order.items[1].qty: expected int, got string \"two\"");

    let mut v: Json = serde_json::from_str(ORDERS.lines().next().unwrap()).unwrap();
    v["amount"] = json!("12.345");
    let e = enc(&schema, &v).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "Order.amount: expected decimal(12,2), got string \"12.345\" (more than 2 digits"
        ),
        "{e}"
    );
    v["amount"] = json!("12345678901.5");
    let e = enc(&schema, &v).unwrap_err().to_string();
    assert!(e.contains("more than 12 digits"), "{e}");
    v["amount"] = json!("5");
    enc(&schema, &v).unwrap();

    v["attributes"] = json!({"k": 5});
    assert_eq!(
        enc(&schema, &v).unwrap_err().to_string(),
        "Order.attributes[\"k\"]: expected string, got integer 5"
    );
    v.as_object_mut().unwrap().remove("customer_id");
    assert!(enc(&schema, &v)
        .unwrap_err()
        .to_string()
        .starts_with("Order.customer_id: expected long, got nothing"));
}

#[test]
fn absent_fields_take_schema_defaults() {
    let schema = CompiledSchema::parse(ORDER).unwrap();
    let mut v: Json = serde_json::from_str(ORDERS.lines().next().unwrap()).unwrap();
    let full = enc(&schema, &v).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("vehicle_vin");
    o.insert("attributes".into(), json!({}));
    let with_empty = enc(&schema, &v).unwrap();
    v.as_object_mut().unwrap().remove("attributes");
    assert_eq!(enc(&schema, &v).unwrap(), with_empty);
    assert_ne!(full, with_empty);
}

#[test]
fn out_of_range_and_odd_numbers_are_errors_not_panics() {
    let s = |t: &str| CompiledSchema::parse(t).unwrap();
    assert_eq!(enc(&s("\"int\""), &json!(2147483648i64)).unwrap_err().code(), "serde.encode");
    assert_eq!(
        enc(&s("\"int\""), &json!(-2147483648i64)).unwrap(),
        vec![0xff, 0xff, 0xff, 0xff, 0x0f]
    );
    assert_eq!(enc(&s("\"long\""), &json!(u64::MAX)).unwrap_err().code(), "serde.encode");
    assert_eq!(enc(&s("\"long\""), &json!(1.5)).unwrap_err().code(), "serde.encode");
    assert_eq!(enc(&s("\"long\""), &json!("NaN")).unwrap_err().code(), "serde.encode");
    assert_eq!(enc(&s("\"double\""), &json!("NaN")).unwrap(), f64::NAN.to_le_bytes().to_vec());
    assert_eq!(enc(&s("\"float\""), &json!(1e300)).unwrap_err().code(), "serde.encode");
    assert_eq!(enc(&s("\"bytes\""), &json!("not base64!")).unwrap_err().code(), "serde.encode");
    assert_eq!(enc(&s("\"bytes\""), &json!("aGk=")).unwrap(), vec![4, b'h', b'i']);
}

#[test]
fn unions_follow_the_natural_rule() {
    let s = CompiledSchema::parse(r#"["null","int","string",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]},{"type":"record","name":"Q","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]},{"type":"map","values":"int"}]"#).unwrap();
    assert_eq!(enc(&s, &json!(null)).unwrap(), vec![0]);
    assert_eq!(enc(&s, &json!(5)).unwrap(), vec![2, 10]);
    assert_eq!(enc(&s, &json!("a")).unwrap(), vec![4, 2, b'a']);
    assert_eq!(enc(&s, &json!({"x": 1})).unwrap(), vec![6, 2]);
    assert_eq!(enc(&s, &json!({"x": 1, "y": 2})).unwrap(), vec![8, 2, 4]);
    assert_eq!(enc(&s, &json!({"z": 1})).unwrap(), vec![10, 2, 2, b'z', 2, 0]);
    // Explicit branch by type name or full name.
    assert_eq!(enc(&s, &json!({"string": "a"})).unwrap(), vec![4, 2, b'a']);
    assert_eq!(enc(&s, &json!({"map": {"x": 1}})).unwrap(), vec![10, 2, 2, b'x', 2, 0]);
    let out = avro_to_json(&s, &[10, 2, 2, b'x', 2, 0]).unwrap();
    assert_eq!(out, json!({"map": {"x": 1}}), "ambiguous values come back wrapped");
    assert_eq!(enc(&s, &out).unwrap(), vec![10, 2, 2, b'x', 2, 0]);
    assert_eq!(enc(&s, &json!(1.5)).unwrap_err().code(), "serde.encode");

    // null-second unions.
    let s2 = CompiledSchema::parse(r#"["string","null"]"#).unwrap();
    assert_eq!(enc(&s2, &json!(null)).unwrap(), vec![2]);
    assert_eq!(avro_to_json(&s2, &[0, 2, b'a']).unwrap(), json!("a"));
    // "NaN" in [string, double] stays a string; a double NaN comes back wrapped.
    let s3 = CompiledSchema::parse(r#"["string","double"]"#).unwrap();
    let mut nan = vec![2];
    nan.extend_from_slice(&f64::NAN.to_le_bytes());
    assert_eq!(avro_to_json(&s3, &nan).unwrap(), json!({"double": "NaN"}));
}

#[test]
fn logical_types_accept_natural_and_underlying_forms() {
    let s = |t: &str| CompiledSchema::parse(t).unwrap();
    let date = s(r#"{"type":"int","logicalType":"date"}"#);
    assert_eq!(enc(&date, &json!("2026-11-24")).unwrap(), enc(&date, &json!(20781)).unwrap());
    assert_eq!(
        avro_to_json(&date, &enc(&date, &json!(20781)).unwrap()).unwrap(),
        json!("2026-11-24")
    );
    let ts = s(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    let b = enc(&ts, &json!("2026-05-28T20:26:40.000Z")).unwrap();
    assert_eq!(b, enc(&ts, &json!(1780000000000i64)).unwrap());
    assert_eq!(b, enc(&ts, &json!("2026-05-28T22:26:40+02:00")).unwrap());
    assert_eq!(avro_to_json(&ts, &b).unwrap(), json!("2026-05-28T20:26:40.000Z"));
    let lts = s(r#"{"type":"long","logicalType":"local-timestamp-micros"}"#);
    assert_eq!(enc(&lts, &json!("2026-05-28T20:26:40.000Z")).unwrap_err().code(), "serde.encode");
    let b = enc(&lts, &json!("2026-05-28T20:26:40.5")).unwrap();
    assert_eq!(avro_to_json(&lts, &b).unwrap(), json!("2026-05-28T20:26:40.500000"));
    let t = s(r#"{"type":"int","logicalType":"time-millis"}"#);
    assert_eq!(
        avro_to_json(&t, &enc(&t, &json!("10:00:00.123")).unwrap()).unwrap(),
        json!("10:00:00.123")
    );
    let u = s(r#"{"type":"string","logicalType":"uuid"}"#);
    let b = enc(&u, &json!("78E51061-7311-48A3-82CE-6F447ED4D57B")).unwrap();
    assert_eq!(avro_to_json(&u, &b).unwrap(), json!("78e51061-7311-48a3-82ce-6f447ed4d57b"));
    let uf = s(r#"{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}"#);
    let b = enc(&uf, &json!("78e51061-7311-48a3-82ce-6f447ed4d57b")).unwrap();
    assert_eq!(b.len(), 16);
    let fd = s(
        r#"{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":8,"scale":2}"#,
    );
    assert_eq!(enc(&fd, &json!("-0.05")).unwrap(), vec![0xff, 0xff, 0xff, 0xfb]);
    assert_eq!(avro_to_json(&fd, &[0xff, 0xff, 0xff, 0xfb]).unwrap(), json!("-0.05"));
}

#[test]
fn apache_values_encode_with_explicit_unions_and_logical_types() {
    use apache_avro::types::Value as V;
    let schema = CompiledSchema::parse(ORDER).unwrap();
    let v: Json = serde_json::from_str(ORDERS.lines().next().unwrap()).unwrap();
    let bytes = enc(&schema, &v).unwrap();
    let av = decode(&schema, None, &bytes, &mut ApacheBuilder).unwrap();
    let V::Record(fields) = &av else { panic!() };
    assert!(matches!(fields[0].1, V::Uuid(_)));
    assert!(matches!(fields[4].1, V::Decimal(_)));
    assert!(matches!(fields[7].1, V::Union(0, _)));
    let mut out = Vec::new();
    encode(&schema, &&av, &mut out).unwrap();
    assert_eq!(avro_to_json(&schema, &out).unwrap(), avro_to_json(&schema, &bytes).unwrap());
}

#[test]
fn projection_follows_schema_resolution() {
    let writer = CompiledSchema::parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"int"},
            {"name":"gone","type":{"type":"array","items":"string"}},
            {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","Z"]}},
            {"name":"s","type":"string"},
            {"name":"u","type":["null","int"]}]}"#,
    )
    .unwrap();
    let reader = CompiledSchema::parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"double"},
            {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","OTHER"],"default":"OTHER"}},
            {"name":"s2","aliases":["s"],"type":"bytes"},
            {"name":"u","type":["null","long","string"]},
            {"name":"added","type":{"type":"map","values":"int"},"default":{"k":1}}]}"#,
    )
    .unwrap();
    let bytes =
        enc(&writer, &json!({"a": 3, "gone": ["x", "y"], "e": "Z", "s": "hi", "u": 4})).unwrap();
    let p = Projection::new(&writer, &reader).unwrap();
    let got = p.decode(&bytes, &mut JsonBuilder).unwrap();
    assert_eq!(got, json!({"a": 3.0, "e": "OTHER", "s2": "aGk=", "u": 4, "added": {"k": 1}}));
    // Reader-only field without default fails when used.
    let strict = CompiledSchema::parse(
        r#"{"type":"record","name":"R","fields":[{"name":"zz","type":"int"}]}"#,
    )
    .unwrap();
    assert_eq!(
        decode(&writer, Some(&strict), &bytes, &mut JsonBuilder).unwrap_err().code(),
        "serde.decode"
    );
    // Incompatible roots are refused up front.
    assert_eq!(
        Projection::new(&writer, &CompiledSchema::parse("\"string\"").unwrap()).unwrap_err().code(),
        "serde.decode"
    );
}

#[test]
fn recursive_records_round_trip_and_depth_is_bounded() {
    let schema = CompiledSchema::parse(TREE).unwrap();
    let v = json!({"label": "a", "children": [{"label": "b", "children": [], "next": null}], "next": {"label": "c", "children": [], "next": null}});
    let b = enc(&schema, &v).unwrap();
    assert_eq!(avro_to_json(&schema, &b).unwrap(), v);
    // A chain deeper than MAX_DEPTH fails cleanly on both sides.
    let mut deep = json!({"label": "x"});
    for _ in 0..MAX_DEPTH {
        deep = json!({"label": "x", "next": deep});
    }
    assert_eq!(enc(&schema, &deep).unwrap_err().code(), "serde.encode");
    let mut body = Vec::new();
    for _ in 0..(MAX_DEPTH + 5) {
        body.extend_from_slice(&[2, b'x', 0, 2]);
    }
    body.extend_from_slice(&[2, b'x', 0, 0]);
    assert_eq!(avro_to_json(&schema, &body).unwrap_err().code(), "serde.decode");
}

#[test]
fn malformed_bodies_are_typed_errors() {
    let schema = CompiledSchema::parse(EVERYTHING).unwrap();
    let order = CompiledSchema::parse(ORDER).unwrap();
    let cases: &[(&CompiledSchema, &[u8])] = &[
        (&order, &[]),
        (&order, &[0x48]), // uuid string truncated
        (&order, &[0x01]), // negative length
        (&order, &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // huge length
        (&order, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // varint overflow
        (&CompiledSchema::parse(r#"["null","int"]"#).unwrap(), &[4]), // bad union index
        (&CompiledSchema::parse(r#"["null","int"]"#).unwrap(), &[1]), // negative union index
        (&CompiledSchema::parse(r#"{"type":"enum","name":"E","symbols":["A"]}"#).unwrap(), &[2]),
        (&CompiledSchema::parse("\"string\"").unwrap(), &[4, 0xc3, 0x28]), // invalid UTF-8
        (&CompiledSchema::parse("\"boolean\"").unwrap(), &[2]),
        (&CompiledSchema::parse("\"int\"").unwrap(), &[0x80, 0x80, 0x80, 0x80, 0x10]), // > i32
        (
            &CompiledSchema::parse(r#"{"type":"array","items":"null"}"#).unwrap(),
            &[0xfe, 0xff, 0xff, 0xff, 0x0f],
        ),
        (
            &CompiledSchema::parse(r#"{"type":"array","items":"long"}"#).unwrap(),
            &[0xfe, 0xff, 0xff, 0xff, 0x0f],
        ),
        (&schema, &[0; 3]),
    ];
    for (s, body) in cases {
        let e = avro_to_json(s, body).unwrap_err();
        assert_eq!(e.code(), "serde.decode", "{body:?}: {e}");
    }
}

#[test]
fn subject_strategy_is_exported() {
    assert_eq!(SubjectStrategy::default().subject("t", false, None).unwrap(), "t-value");
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// splitmix64: deterministic values from a proptest seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn pick_or(&mut self, xs: &[i64], f: impl FnOnce(u64) -> i64) -> i64 {
        let x = self.next();
        let i = self.below(xs.len() as u64 + 1) as usize;
        xs.get(i).copied().unwrap_or_else(|| f(x))
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A random natural-JSON value valid for `id`, with unions often written explicitly.
fn gen(nodes: &[Node], id: u32, r: &mut Rng, depth: u32) -> Json {
    use super::plan::TemporalKind as T;
    match &nodes[id as usize] {
        Node::Null => Json::Null,
        Node::Boolean => json!(r.below(2) == 1),
        Node::Int => {
            json!(r.pick_or(&[0i64, 1, -1, i32::MIN as i64, i32::MAX as i64], |x| x as i32 as i64))
        }
        Node::Long => json!(r.pick_or(&[0i64, i64::MIN, i64::MAX, 999], |x| x as i64)),
        Node::Float => {
            let f = f32::from_bits(r.next() as u32);
            let mut b = JsonBuilder;
            b.float(f).unwrap()
        }
        Node::Double => {
            let f = f64::from_bits(r.next());
            let mut b = JsonBuilder;
            b.double(f).unwrap()
        }
        Node::Bytes => {
            let n = r.below(6) as usize;
            json!(b64(&(0..n).map(|_| r.next() as u8).collect::<Vec<_>>()))
        }
        Node::String => {
            let n = r.below(6) as usize;
            let s: String = (0..n)
                .map(|_| r.pick(&['a', 'Z', '0', ' ', 'é', '中', '😀', '"', '\\', '\n']))
                .collect();
            json!(s)
        }
        Node::Array(i) => {
            let n = if depth > 3 { 0 } else { r.below(3) };
            Json::Array((0..n).map(|_| gen(nodes, *i, r, depth + 1)).collect())
        }
        Node::Map(v) => {
            let n = if depth > 3 { 0 } else { r.below(3) };
            Json::Object((0..n).map(|k| (format!("k{k}"), gen(nodes, *v, r, depth + 1))).collect())
        }
        Node::Union(u) => {
            let i = if depth > 3 {
                u.null_index.unwrap_or(0) as usize
            } else {
                r.below(u.branches.len() as u64) as usize
            };
            let v = gen(nodes, u.branches[i], r, depth + 1);
            if r.below(2) == 0 || v.is_null() {
                json!({ u.names[i].to_string(): v })
            } else {
                v
            }
        }
        Node::Record(rec) => {
            let mut m = serde_json::Map::new();
            for f in &rec.fields {
                if f.default_bytes.is_some() && r.below(3) == 0 {
                    continue;
                }
                m.insert(f.name.to_string(), gen(nodes, f.node, r, depth + 1));
            }
            Json::Object(m)
        }
        Node::Enum(e) => json!(e.symbols[r.below(e.symbols.len() as u64) as usize].to_string()),
        Node::Fixed(f) => json!(b64(&(0..f.size).map(|_| r.next() as u8).collect::<Vec<_>>())),
        Node::Decimal(d) => {
            let digits = r.below(d.precision.min(18) as u64 + 1) as u32;
            let unscaled = if digits == 0 { 0 } else { (r.next() % 10u64.pow(digits)) as i128 };
            let unscaled = if r.below(2) == 0 { -unscaled } else { unscaled };
            let mut out = Vec::new();
            let p = super::logical::i128_parts(unscaled, d.scale as i64);
            super::logical::decimal_to_twos(&p, d.precision, d.scale, &mut out).unwrap();
            json!(decimal_text(&out, d.scale))
        }
        Node::Uuid { .. } => {
            let mut u = [0u8; 16];
            u.iter_mut().for_each(|b| *b = r.next() as u8);
            let mut b = JsonBuilder;
            b.uuid(&u).unwrap()
        }
        Node::Temporal(k) => {
            let n: i64 = match k {
                T::Date => r.pick_or(&[0i64, -1, 20_781], |x| x as i32 as i64),
                T::TimeMillis => r.below(86_400_000) as i64,
                T::TimeMicros => r.below(86_400_000_000) as i64,
                _ => r.pick_or(&[0i64, -1, 1_780_000_000_000, i64::MAX, i64::MIN], |x| {
                    x as i64 >> (x % 40)
                }),
            };
            if r.below(2) == 0 {
                json!(n)
            } else {
                let mut b = JsonBuilder;
                b.temporal(*k, n).unwrap()
            }
        }
    }
}

fn prop_schemas() -> Vec<CompiledSchema> {
    [ORDER, EVERYTHING, TREE, r#"["null","int","string",{"type":"map","values":"long"},{"type":"record","name":"A","fields":[{"name":"k","type":"long"}]}]"#]
        .iter()
        .map(|t| CompiledSchema::parse(t).unwrap())
        .collect()
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Decoding arbitrary bytes with any schema, plain or projected, returns, never panics.
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), which in 0usize..4) {
            let schemas = prop_schemas();
            let s = &schemas[which];
            let _ = avro_to_json(s, &bytes);
            let _ = decode(s, None, &bytes, &mut ApacheBuilder);
            let _ = decode(s, Some(&schemas[which]), &bytes, &mut JsonBuilder);
            // And if it decodes, re-encoding the result never panics either.
            if let Ok(v) = avro_to_json(s, &bytes) {
                let _ = json_to_avro(s, &v);
            }
        }

        /// Random valid values: encode -> decode -> encode gives the same bytes; apache-avro reads
        /// the bytes; the apache-avro view encodes to the same bytes.
        #[test]
        fn valid_values_round_trip(seed in any::<u64>(), which in 0usize..4) {
            let schemas = prop_schemas();
            let s = &schemas[which];
            let mut r = Rng(seed);
            let v = gen(s.nodes(), s.root(), &mut r, 0);
            let bytes = json_to_avro(s, &v).map_err(|e| TestCaseError::fail(format!("{v}: {e}")))?;
            let back = avro_to_json(s, &bytes).map_err(|e| TestCaseError::fail(format!("{v}: {e}")))?;
            let again = json_to_avro(s, &back).map_err(|e| TestCaseError::fail(format!("{back}: {e}")))?;
            prop_assert_eq!(&again, &bytes, "value {} decoded as {}", v, back);
            let av = apache_avro::from_avro_datum(s.schema(), &mut &bytes[..], None)
                .map_err(|e| TestCaseError::fail(format!("apache-avro cannot read {v}: {e}")))?;
            let mut from_apache = Vec::new();
            encode(s, &&av, &mut from_apache).map_err(|e| TestCaseError::fail(format!("{av:?}: {e}")))?;
            // apache-avro maps are HashMaps: same contents, entry order may differ.
            prop_assert_eq!(from_apache.len(), bytes.len());
            prop_assert_eq!(&avro_to_json(s, &from_apache).unwrap(), &back);
            let ours = decode(s, None, &bytes, &mut ApacheBuilder).unwrap();
            let mut from_ours = Vec::new();
            encode(s, &&ours, &mut from_ours).unwrap();
            prop_assert_eq!(avro_to_json(s, &from_ours).unwrap(), back);
        }
    }
}

/// The deepest nesting allowed encodes and decodes within a 1 MiB thread stack (even in debug
/// builds), and one level more is a typed error on both sides.
#[test]
fn max_depth_fits_in_a_small_stack() {
    let schema = CompiledSchema::parse(TREE).unwrap();
    for (levels, ok) in [(127usize, true), (128, false), (400, false)] {
        let s2 = schema.clone();
        let r = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let mut deep = json!({"label": "x"});
                for _ in 0..levels {
                    deep = json!({"label": "x", "next": deep});
                }
                let mut body = Vec::new();
                for _ in 0..levels {
                    body.extend_from_slice(&[2, b'x', 0, 2]);
                }
                body.extend_from_slice(&[2, b'x', 0, 0]);
                let e = json_to_avro(&s2, &deep).map(|_| ()).map_err(|e| e.code());
                let d =
                    decode(&s2, None, &body, &mut ApacheBuilder).map(|_| ()).map_err(|e| e.code());
                // serde_json drops nested values recursively; keep that off this small stack.
                std::mem::forget(deep);
                (e, d)
            })
            .unwrap()
            .join()
            .unwrap();
        if ok {
            assert_eq!(r, (Ok(()), Ok(())), "{levels} levels");
        } else {
            assert_eq!(r, (Err("serde.encode"), Err("serde.decode")), "{levels} levels");
        }
    }
}

#[test]
fn record_fields_in_any_order_give_the_same_bytes() {
    // in schema order (the one-walk path), reordered, with an unknown key, with a field left
    // to its default: every shape must encode alike
    let schema = CompiledSchema::parse(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"s","type":"string"},{"name":"d","type":"int","default":7}]}"#,
    )
    .unwrap();
    let in_order = enc(&schema, &json!({"a": 1, "s": "x", "d": 7})).unwrap();
    assert_eq!(in_order, vec![2, 2, b'x', 14]);
    assert_eq!(enc(&schema, &json!({"d": 7, "s": "x", "a": 1})).unwrap(), in_order);
    assert_eq!(enc(&schema, &json!({"a": 1, "s": "x"})).unwrap(), in_order);
    assert_eq!(enc(&schema, &json!({"a": 1, "zz": 0, "s": "x"})).unwrap(), in_order);
    // an error inside the in-order walk still names its field, and leaves no partial output
    let err = enc(&schema, &json!({"a": 1, "s": 5, "d": 7})).unwrap_err();
    assert_eq!(err.code(), "serde.encode");
    assert!(err.to_string().contains("R.s"), "{err}");
    let err = enc(&schema, &json!({"s": "x", "a": "one", "d": 7})).unwrap_err();
    assert!(err.to_string().contains("R.a"), "{err}");
}

#[test]
fn top_level_bytes_are_framed_raw() {
    let schema = CompiledSchema::parse(r#""bytes""#).unwrap();
    let mut buf = Vec::new();
    encode_framed(9, &schema, &&json!("AAEC/w=="), &mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 0, 9, 0, 1, 2, 0xff], "raw bytes after the header, no length prefix");
    let (_, body) = split_header(&buf).unwrap();
    assert_eq!(
        decode_framed_body(&schema, None, body, &mut JsonBuilder).unwrap(),
        json!("AAEC/w==")
    );
    // an empty value is just the header
    buf.clear();
    encode_framed(9, &schema, &&json!(""), &mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 0, 9]);
    assert_eq!(decode_framed_body(&schema, None, &[], &mut JsonBuilder).unwrap(), json!(""));
    // a long value (multi-byte Avro length) keeps every byte
    let long = vec![7u8; 300];
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &long);
    buf.clear();
    encode_framed(9, &schema, &&json!(b64), &mut buf).unwrap();
    assert_eq!(&buf[5..], &long[..]);
    // projection to a reader works on the raw form (bytes -> string promotion)
    let reader = CompiledSchema::parse(r#""string""#).unwrap();
    assert_eq!(
        decode_framed_body(&schema, Some(&reader), b"hi", &mut JsonBuilder).unwrap(),
        json!("hi")
    );
    // the Avro body API is unchanged; a bytes field inside a record keeps its prefix
    assert_eq!(json_to_avro(&schema, &json!("aGk=")).unwrap(), [4, b'h', b'i']);
    let rec = CompiledSchema::parse(
        r#"{"type":"record","name":"R","fields":[{"name":"b","type":"bytes"}]}"#,
    )
    .unwrap();
    buf.clear();
    encode_framed(9, &rec, &&json!({"b": "aGk="}), &mut buf).unwrap();
    assert_eq!(&buf[5..], &[4, b'h', b'i']);
    // a bytes decimal is an Avro value, not raw bytes
    let dec = CompiledSchema::parse(
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":1}"#,
    )
    .unwrap();
    assert!(!dec.is_raw_bytes());
}

#[test]
fn invalid_defaults_are_schema_invalid_with_the_field_path() {
    let rec = |field: &str| {
        format!(r#"{{"type":"record","name":"R","namespace":"t","fields":[{field}]}}"#)
    };
    for (field, path, why) in [
        (r#"{"name":"n","type":"int","default":2147483648}"#, "t.R.n", "32-bit"),
        (r#"{"name":"n","type":"int","default":-2147483649}"#, "t.R.n", "32-bit"),
        (r#"{"name":"u","type":["null","int"],"default":5}"#, "t.R.u", "first branch null"),
        (r#"{"name":"u","type":["string","null"],"default":null}"#, "t.R.u", "first branch string"),
        (r#"{"name":"u","type":["int","long"],"default":4294967296}"#, "t.R.u", "first branch int"),
        (
            r#"{"name":"f","type":{"type":"fixed","name":"F","size":2},"default":"abc"}"#,
            "t.R.f",
            "default",
        ),
        // apache-avro's own check, which already named the field
        (r#"{"name":"s","type":"string","default":1}"#, r#"field "s" in "t.R""#, "default"),
        (
            r#"{"name":"i","type":{"type":"record","name":"I","fields":[{"name":"x","type":"int","default":3000000000}]}}"#,
            "t.I.x",
            "32-bit",
        ),
    ] {
        let e = CompiledSchema::parse(&rec(field)).expect_err(field);
        assert_eq!(e.code(), "schema.invalid", "{field}");
        let msg = e.to_string();
        assert!(msg.contains(path) && msg.contains(why), "{field}: {msg}");
        // compatibility checks and the policy parse the same way
        let e = crate::compat::check_str(crate::compat::Level::Backward, &rec(field), &[])
            .expect_err(field);
        assert_eq!(e.code(), "schema.invalid");
        assert!(parse_schema(&rec(field)).is_err());
    }
    for field in [
        r#"{"name":"n","type":"int","default":2147483647}"#,
        r#"{"name":"n","type":"long","default":4294967296}"#,
        r#"{"name":"u","type":["null","int"],"default":null}"#,
        r#"{"name":"u","type":["int","null"],"default":5}"#,
        r#"{"name":"d","type":"double","default":1}"#,
    ] {
        CompiledSchema::parse(&rec(field)).unwrap_or_else(|e| panic!("{field}: {e}"));
    }
    // the first branch's default is what a reader gets for the missing field
    let w = CompiledSchema::parse(&rec(r#"{"name":"a","type":"int"}"#)).unwrap();
    let r = CompiledSchema::parse(&rec(
        r#"{"name":"a","type":"int"},{"name":"u","type":["int","null"],"default":5}"#,
    ))
    .unwrap();
    let body = json_to_avro(&w, &json!({"a": 1})).unwrap();
    assert_eq!(decode(&w, Some(&r), &body, &mut JsonBuilder).unwrap(), json!({"a": 1, "u": 5}));
}
