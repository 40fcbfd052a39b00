use super::*;

/// A record `R` in namespace `t` with the given fields (JSON array body).
fn rec(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","namespace":"t","fields":[{fields}]}}"#)
}

fn run(level: Level, new: &str, previous: &[&str]) -> Vec<Violation> {
    check_str(level, new, previous).unwrap_or_else(|e| panic!("schemas should parse: {e}"))
}

/// (path, kind) of each violation.
fn pk(v: &[Violation]) -> Vec<(String, &'static str)> {
    v.iter().map(|v| (v.path.clone(), v.kind.as_str())).collect()
}

fn one(path: &str, kind: &'static str) -> Vec<(String, &'static str)> {
    vec![(path.to_string(), kind)]
}

fn ok(level: Level, old: &str, new: &str) {
    let v = run(level, new, &[old]);
    assert!(v.is_empty(), "{level} should accept\n old: {old}\n new: {new}\n got: {v:#?}");
}

const INT_A: &str = r#"{"name":"a","type":"int"}"#;

// ---------------------------------------------------------------- levels

#[test]
fn level_parses_registry_and_config_spellings() {
    for (text, level) in [
        ("NONE", Level::None),
        ("BACKWARD", Level::Backward),
        ("backward", Level::Backward),
        ("backward_transitive", Level::BackwardTransitive),
        ("BACKWARD_TRANSITIVE", Level::BackwardTransitive),
        ("backward-transitive", Level::BackwardTransitive),
        ("Forward", Level::Forward),
        ("FORWARD_TRANSITIVE", Level::ForwardTransitive),
        ("full", Level::Full),
        ("FULL_TRANSITIVE", Level::FullTransitive),
        ("add-with-default-only", Level::AddWithDefaultOnly),
        ("ADD_WITH_DEFAULT_ONLY", Level::AddWithDefaultOnly),
        (" backward ", Level::Backward),
    ] {
        assert_eq!(text.parse::<Level>(), Ok(level), "{text}");
    }
    for bad in ["", "backwards", "full transitive", "add-with-default"] {
        let err = bad.parse::<Level>().unwrap_err();
        assert!(err.to_string().contains("unknown compatibility level"), "{err}");
    }
}

#[test]
fn level_display_round_trips_and_serde_uses_it() {
    for level in Level::ALL {
        assert_eq!(level.to_string().parse::<Level>(), Ok(level));
        let json = serde_json::to_string(&level).unwrap();
        assert_eq!(json, format!("\"{level}\""));
        assert_eq!(serde_json::from_str::<Level>(&json).unwrap(), level);
    }
    assert_eq!(Level::BackwardTransitive.to_string(), "BACKWARD_TRANSITIVE");
    assert_eq!(Level::AddWithDefaultOnly.to_string(), "add-with-default-only");
    assert_eq!(Level::Full.registry_name(), Some("FULL"));
    assert_eq!(Level::AddWithDefaultOnly.registry_name(), None);
    assert!(serde_json::from_str::<Level>("\"sideways\"").is_err());
}

#[test]
fn violation_kinds_are_stable_snake_case_strings() {
    let mut seen = std::collections::HashSet::new();
    for kind in ViolationKind::ALL {
        let s = kind.as_str();
        assert!(seen.insert(s));
        assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{s}\""));
    }
    let v = Violation {
        path: "R.a".into(),
        kind: ViolationKind::FieldRemoved,
        message: "field removed".into(),
    };
    assert_eq!(v.to_string(), "R.a: field removed");
    assert_eq!(
        serde_json::to_value(&v).unwrap(),
        serde_json::json!({"path": "R.a", "kind": "field_removed", "message": "field removed"})
    );
}

#[test]
fn docs_compat_md_lists_every_kind() {
    let doc = include_str!("../../../docs/compat.md");
    for kind in ViolationKind::ALL {
        assert!(
            doc.contains(&format!("`{}`", kind.as_str())),
            "docs/compat.md does not document {kind}"
        );
    }
}

#[test]
fn no_previous_schema_and_level_none_accept_anything() {
    let a = rec(INT_A);
    let b = r#""string""#;
    for level in Level::ALL {
        assert!(run(level, b, &[]).is_empty());
    }
    assert!(run(Level::None, b, &[&a]).is_empty());
}

// ---------------------------------------------------------------- reader/writer rules

#[test]
fn backward_fields_added_need_defaults_removed_are_fine() {
    let old = rec(INT_A);
    ok(
        Level::Backward,
        &old,
        &rec(&format!(r#"{INT_A},{{"name":"b","type":"string","default":""}}"#)),
    );
    ok(Level::Backward, &old, &rec(""));
    let v =
        run(Level::Backward, &rec(&format!(r#"{INT_A},{{"name":"b","type":"string"}}"#)), &[&old]);
    assert_eq!(pk(&v), one("R.b", "field_added_without_default"));
    assert_eq!(v[0].message, "field added without a default");
}

#[test]
fn forward_fields_removed_need_an_old_default() {
    let old = rec(&format!(r#"{INT_A},{{"name":"b","type":"int","default":0}}"#));
    ok(Level::Forward, &old, &rec(INT_A)); // b had a default
    let v = run(Level::Forward, &rec(r#"{"name":"b","type":"int","default":0}"#), &[&old]);
    assert_eq!(pk(&v), one("R.a", "field_removed"));
    ok(
        Level::Forward,
        &old,
        &rec(&format!(
            r#"{INT_A},{{"name":"b","type":"int","default":0}},{{"name":"c","type":"int"}}"#
        )),
    );
}

#[test]
fn promotions_follow_the_specification() {
    let allowed = [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ];
    let all = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];
    for from in all {
        for to in all {
            let old = rec(&format!(r#"{{"name":"a","type":"{from}"}}"#));
            let new = rec(&format!(r#"{{"name":"a","type":"{to}"}}"#));
            let v = run(Level::Backward, &new, &[&old]);
            if from == to || allowed.contains(&(from, to)) {
                assert!(v.is_empty(), "{from} -> {to}: {v:?}");
            } else {
                assert_eq!(pk(&v), one("R.a", "type_changed"), "{from} -> {to}");
                assert_eq!(v[0].message, format!("type changed from {from} to {to}"));
            }
            // FORWARD is BACKWARD with the roles swapped.
            let f = run(Level::Forward, &new, &[&old]);
            assert_eq!(
                f.is_empty(),
                from == to || allowed.contains(&(to, from)),
                "forward {from} -> {to}"
            );
        }
    }
}

#[test]
fn logical_types_are_judged_on_their_underlying_type() {
    let t = |ty: &str| rec(&format!(r#"{{"name":"a","type":{ty}}}"#));
    let ts_ms = t(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    let ts_us = t(r#"{"type":"long","logicalType":"timestamp-micros"}"#);
    let uuid = t(r#"{"type":"string","logicalType":"uuid"}"#);
    let date = t(r#"{"type":"int","logicalType":"date"}"#);
    ok(Level::Full, &ts_ms, &ts_us);
    ok(Level::Full, &ts_ms, &t(r#""long""#));
    ok(Level::Full, &uuid, &t(r#""string""#));
    ok(Level::Backward, &date, &t(r#""long""#)); // date is an int: int -> long
    let v = run(Level::Backward, &t(r#""int""#), &[&ts_ms]);
    assert_eq!(pk(&v), one("R.a", "type_changed"));
    assert_eq!(v[0].message, "type changed from timestamp-millis to int");
}

#[test]
fn decimal_scale_changes_and_narrowed_precision_are_reported() {
    let d = |p: u32, s: u32| {
        rec(&format!(
            r#"{{"name":"a","type":{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":{s}}}}}"#
        ))
    };
    ok(Level::Backward, &d(12, 2), &d(14, 2)); // wider precision reads every old value
    let v = run(Level::Backward, &d(12, 3), &[&d(12, 2)]);
    assert_eq!(pk(&v), one("R.a", "decimal_changed"));
    assert_eq!(v[0].message, "decimal scale changed from 2 to 3 (decimal(12,2) to decimal(12,3))");
    let v = run(Level::Backward, &d(10, 2), &[&d(12, 2)]);
    assert_eq!(pk(&v), one("R.a", "decimal_changed"));
    assert_eq!(v[0].message, "decimal precision reduced from 12 to 10");
    let v = run(Level::Forward, &d(14, 2), &[&d(12, 2)]);
    assert_eq!(pk(&v), one("R.a", "decimal_changed"));
    // bytes <-> decimal(bytes) is judged on bytes, as Confluent does
    ok(Level::Full, &d(12, 2), &rec(r#"{"name":"a","type":"bytes"}"#));
}

#[test]
fn enum_symbols_and_enum_defaults() {
    let e = |symbols: &str, default: &str| {
        rec(&format!(
            r#"{{"name":"s","type":{{"type":"enum","name":"S","symbols":[{symbols}]{default}}}}}"#
        ))
    };
    let abc = e(r#""A","B","C""#, "");
    let ab = e(r#""A","B""#, "");
    let ab_default = e(r#""A","B""#, r#","default":"A""#);
    let abcd = e(r#""A","B","C","D""#, "");
    let v = run(Level::Backward, &ab, &[&abc]);
    assert_eq!(pk(&v), one("R.s", "enum_symbol_removed"));
    assert_eq!(v[0].message, "enum symbol C removed");
    ok(Level::Backward, &abc, &ab_default); // the new reader maps C to its default
    ok(Level::Backward, &abc, &abcd);
    let v = run(Level::Forward, &abcd, &[&abc]);
    assert_eq!(pk(&v), one("R.s", "enum_symbol_added"));
    assert!(v[0].message.starts_with("enum symbol D added"), "{}", v[0].message);
    // the old reader has a default: it reads D as that default
    let abc_default = e(r#""A","B","C""#, r#","default":"A""#);
    ok(Level::Forward, &abc_default, &e(r#""A","B","C","D""#, r#","default":"A""#));
}

#[test]
fn field_aliases_let_the_reader_rename() {
    let old = rec(r#"{"name":"city","type":"string"}"#);
    let renamed = rec(r#"{"name":"town","type":"string","aliases":["city"]}"#);
    ok(Level::Backward, &old, &renamed);
    // an old reader knows nothing of the alias: for it, city is gone and has no default
    let v = run(Level::Forward, &renamed, &[&old]);
    assert_eq!(pk(&v), one("R.city", "field_removed"));
    // without the alias the new field needs a default
    let v = run(Level::Backward, &rec(r#"{"name":"town","type":"string"}"#), &[&old]);
    assert_eq!(pk(&v), one("R.town", "field_added_without_default"));
}

#[test]
fn named_types_match_by_unqualified_name_or_reader_alias() {
    let named = |name: &str, ns: &str, aliases: &str| {
        format!(
            r#"{{"type":"record","name":"{name}","namespace":"{ns}"{aliases},"fields":[{INT_A}]}}"#
        )
    };
    ok(Level::Full, &named("R", "a.b", ""), &named("R", "c.d", "")); // namespace ignored, as the spec says
    let v = run(Level::Backward, &named("S", "t", ""), &[&named("R", "t", "")]);
    assert_eq!(pk(&v), one("S", "name_changed"));
    assert_eq!(v[0].message, "name changed from t.R to t.S");
    ok(Level::Backward, &named("R", "t", ""), &named("S", "t", r#","aliases":["R"]"#));
    ok(Level::Backward, &named("R", "t", ""), &named("S", "u", r#","aliases":["t.R"]"#));
    // fixed: name and size
    let fx = |name: &str, size: u32| {
        rec(&format!(r#"{{"name":"h","type":{{"type":"fixed","name":"{name}","size":{size}}}}}"#))
    };
    ok(Level::Full, &fx("H", 16), &fx("H", 16));
    assert_eq!(
        pk(&run(Level::Backward, &fx("H", 32), &[&fx("H", 16)])),
        one("R.h", "fixed_size_changed")
    );
    assert_eq!(
        pk(&run(Level::Backward, &fx("G", 16), &[&fx("H", 16)])),
        one("R.h", "name_changed")
    );
}

#[test]
fn unions_writer_branches_must_all_be_readable() {
    let u = |ty: &str| rec(&format!(r#"{{"name":"v","type":{ty},"default":null}}"#));
    let ns = u(r#"["null","string"]"#);
    let nsi = u(r#"["null","string","int"]"#);
    ok(Level::Backward, &ns, &nsi);
    let v = run(Level::Forward, &nsi, &[&ns]);
    assert_eq!(pk(&v), one("R.v<union>", "union_branch_added"));
    let v = run(Level::Backward, &ns, &[&nsi]);
    assert_eq!(pk(&v), one("R.v<union>", "union_branch_removed"));
    assert_eq!(v[0].message, "union branch int removed");
    // int -> long inside a union is a promotion of that branch
    ok(Level::Backward, &u(r#"["null","int"]"#), &u(r#"["null","long"]"#));
    // making a field optional: BACKWARD yes, FORWARD no (old readers cannot read null)
    let plain = rec(r#"{"name":"v","type":"string"}"#);
    ok(Level::Backward, &plain, &ns);
    let v = run(Level::Forward, &ns, &[&plain]);
    assert_eq!(pk(&v), one("R.v", "type_changed"));
    assert!(v[0].message.contains("cannot read branch null"), "{}", v[0].message);
    // a writer union whose every branch promotes to the reader's type
    ok(
        Level::Backward,
        &rec(r#"{"name":"v","type":["int","long"]}"#),
        &rec(r#"{"name":"v","type":"double"}"#),
    );
    // reader union with no branch for the writer's type
    let v = run(
        Level::Backward,
        &u(r#"["null","string"]"#),
        &[&rec(r#"{"name":"v","type":"boolean"}"#)],
    );
    assert_eq!(pk(&v), one("R.v", "type_changed"));
    assert_eq!(v[0].message, "type changed from boolean to [null, string]");
}

#[test]
fn union_branch_records_are_compared_deeply() {
    let u = |inner: &str| {
        rec(&format!(
            r#"{{"name":"addr","type":["null",{{"type":"record","name":"Address","fields":[{inner}]}}],"default":null}}"#
        ))
    };
    let old = u(r#"{"name":"city","type":"string"}"#);
    let new = u(r#"{"name":"city","type":"string"},{"name":"zip","type":"string"}"#);
    let v = run(Level::Backward, &new, &[&old]);
    assert_eq!(pk(&v), one("R.addr<Address>.zip", "field_added_without_default"));
}

#[test]
fn arrays_and_maps_recurse() {
    let old = rec(
        r#"{"name":"xs","type":{"type":"array","items":"int"}},{"name":"m","type":{"type":"map","values":"string"}}"#,
    );
    let new = rec(
        r#"{"name":"xs","type":{"type":"array","items":"string"}},{"name":"m","type":{"type":"map","values":"int"}}"#,
    );
    let v = run(Level::Backward, &new, &[&old]);
    assert_eq!(pk(&v), vec![("R.xs[]".into(), "type_changed"), ("R.m{}".into(), "type_changed")]);
    ok(
        Level::Backward,
        &old,
        &rec(
            r#"{"name":"xs","type":{"type":"array","items":"long"}},{"name":"m","type":{"type":"map","values":"bytes"}}"#,
        ),
    );
    let v = run(
        Level::Backward,
        &rec(
            r#"{"name":"xs","type":{"type":"map","values":"int"}},{"name":"m","type":{"type":"map","values":"string"}}"#,
        ),
        &[&old],
    );
    assert_eq!(pk(&v), one("R.xs", "type_changed"));
    assert_eq!(v[0].message, "type changed from array<int> to map<int>");
}

const LIST_V1: &str = r#"{"type":"record","name":"Node","fields":[
    {"name":"value","type":"int"},
    {"name":"next","type":["null","Node"],"default":null}]}"#;

#[test]
fn recursive_schemas_terminate_and_report_once() {
    let with = |extra: &str| {
        format!(
            r#"{{"type":"record","name":"Node","fields":[
            {{"name":"value","type":"int"}},{extra}
            {{"name":"next","type":["null","Node"],"default":null}}]}}"#
        )
    };
    for level in Level::ALL {
        assert!(run(level, LIST_V1, &[LIST_V1]).is_empty(), "{level}");
        assert!(
            run(level, &with(r#"{"name":"label","type":"string","default":""},"#), &[LIST_V1])
                .is_empty(),
            "{level}"
        );
    }
    let v = run(Level::Backward, &with(r#"{"name":"label","type":"string"},"#), &[LIST_V1]);
    assert_eq!(pk(&v), one("Node.label", "field_added_without_default"));
    let v =
        run(Level::AddWithDefaultOnly, &with(r#"{"name":"label","type":"string"},"#), &[LIST_V1]);
    assert_eq!(pk(&v), one("Node.label", "field_added_without_default"));
    let long_value = LIST_V1.replace(r#""type":"int""#, r#""type":"long""#);
    ok(Level::Backward, LIST_V1, &long_value);
    assert_eq!(
        pk(&run(Level::Forward, &long_value, &[LIST_V1])),
        one("Node.value", "type_changed")
    );
    assert_eq!(
        pk(&run(Level::AddWithDefaultOnly, &long_value, &[LIST_V1])),
        one("Node.value", "type_changed")
    );
}

#[test]
fn mutually_recursive_types_terminate() {
    let s = |extra: &str| {
        format!(
            r#"{{"type":"record","name":"A","fields":[
              {{"name":"b","type":["null",{{"type":"record","name":"B","fields":[
                 {{"name":"a","type":["null","A"],"default":null}}{extra}]}}],"default":null}}]}}"#
        )
    };
    for level in Level::ALL {
        assert!(run(level, &s(""), &[&s("")]).is_empty(), "{level}");
    }
    let v = run(Level::Backward, &s(r#",{"name":"n","type":"int"}"#), &[&s("")]);
    assert_eq!(pk(&v), one("A.b<B>.n", "field_added_without_default"));
    let v = run(Level::AddWithDefaultOnly, &s(r#",{"name":"n","type":"int"}"#), &[&s("")]);
    assert_eq!(pk(&v), one("A.b<B>.n", "field_added_without_default"));
}

#[test]
fn a_shared_named_type_is_reported_at_every_use() {
    let s = |qty: &str| {
        format!(
            r#"{{"type":"record","name":"Order","fields":[
              {{"name":"first","type":{{"type":"record","name":"Item","fields":[{{"name":"qty","type":"{qty}"}}]}}}},
              {{"name":"rest","type":{{"type":"array","items":"Item"}}}},
              {{"name":"byId","type":{{"type":"map","values":"Item"}}}}]}}"#
        )
    };
    let v = run(Level::Backward, &s("string"), &[&s("int")]);
    assert_eq!(
        pk(&v),
        vec![
            ("Order.first.qty".into(), "type_changed"),
            ("Order.rest[].qty".into(), "type_changed"),
            ("Order.byId{}.qty".into(), "type_changed"),
        ]
    );
    let v = run(Level::AddWithDefaultOnly, &s("long"), &[&s("int")]);
    assert_eq!(v.len(), 3, "{v:?}");
}

#[test]
fn many_violations_are_reported_together() {
    let old = rec(r#"{"name":"a","type":"int"},{"name":"b","type":"string"},
           {"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}},
           {"name":"xs","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"p","type":"double"}]}}}"#);
    let new = rec(r#"{"name":"a","type":"string"},
           {"name":"s","type":{"type":"enum","name":"S","symbols":["X"]}},
           {"name":"xs","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"p","type":"float"},{"name":"q","type":"int"}]}}},
           {"name":"c","type":"int"}"#);
    let v = run(Level::Backward, &new, &[&old]);
    assert_eq!(
        pk(&v),
        vec![
            ("R.a".into(), "type_changed"),
            ("R.s".into(), "enum_symbol_removed"),
            ("R.xs[].p".into(), "type_changed"),
            ("R.xs[].q".into(), "field_added_without_default"),
            ("R.c".into(), "field_added_without_default"),
        ]
    );
    let full = run(Level::Full, &new, &[&old]);
    // FULL adds what old readers cannot read: b removed without default; a and p reported once
    assert!(
        full.iter().any(|x| x.path == "R.b" && x.kind == ViolationKind::FieldRemoved),
        "{full:?}"
    );
    assert_eq!(full.iter().filter(|x| x.path == "R.a").count(), 1, "{full:?}");
    let house = run(Level::AddWithDefaultOnly, &new, &[&old]);
    assert_eq!(
        pk(&house),
        vec![
            ("R.a".into(), "type_changed"),
            ("R.b".into(), "field_removed"),
            ("R.s".into(), "enum_symbol_removed"),
            ("R.xs[].p".into(), "type_changed"),
            ("R.xs[].q".into(), "field_added_without_default"),
            ("R.c".into(), "field_added_without_default"),
        ]
    );
}

// ---------------------------------------------------------------- transitive

#[test]
fn transitive_levels_check_every_previous_version() {
    let v1 = rec(INT_A);
    let v2 = rec(r#"{"name":"z","type":"int","default":0}"#); // a removed: fine for BACKWARD
    let v3 =
        rec(r#"{"name":"z","type":"int","default":0},{"name":"a","type":"string","default":""}"#);
    assert!(run(Level::Backward, &v3, &[&v1, &v2]).is_empty());
    let v = run(Level::BackwardTransitive, &v3, &[&v1, &v2]);
    assert_eq!(pk(&v), one("R.a", "type_changed"));
    assert_eq!(v[0].message, "type changed from int to string (against previous version 1 of 2)");
    assert!(run(Level::Full, &v3, &[&v1, &v2]).is_empty());
    assert_eq!(pk(&run(Level::FullTransitive, &v3, &[&v1, &v2])), one("R.a", "type_changed"));

    // FORWARD: v1's reader needs a, which v3 writes as a string
    let f1 = rec(r#"{"name":"a","type":"int","default":0}"#);
    let f2 = rec(r#"{"name":"a","type":"int","default":0},{"name":"b","type":"int","default":0}"#);
    let f3 =
        rec(r#"{"name":"b","type":"int","default":0},{"name":"a","type":"string","default":""}"#);
    assert!(!run(Level::Forward, &f3, &[&f2]).is_empty()); // int reader cannot read string
    let f3ok = rec(r#"{"name":"b","type":"int","default":0}"#);
    assert!(run(Level::Forward, &f3ok, &[&f1, &f2]).is_empty());
    assert!(run(Level::ForwardTransitive, &f3ok, &[&f1, &f2]).is_empty());
    // v2 gave a a default, v3 drops a: v2's readers fill it in, v1's cannot
    let g1 = rec(INT_A);
    let g2 = rec(r#"{"name":"a","type":"int","default":0}"#);
    let g3 = rec(r#"{"name":"z","type":"int","default":0}"#);
    assert!(run(Level::Forward, &g3, &[&g1, &g2]).is_empty());
    let v = run(Level::ForwardTransitive, &g3, &[&g1, &g2]);
    assert_eq!(pk(&v), one("R.a", "field_removed"));
    assert!(v[0].message.ends_with("(against previous version 1 of 2)"), "{}", v[0].message);
    assert_eq!(pk(&run(Level::FullTransitive, &g3, &[&g1, &g2])), one("R.a", "field_removed"));
    assert!(run(Level::Full, &g3, &[&g1, &g2]).is_empty());
    assert!(enforce_str(Level::FullTransitive, &g3, &[&g2]).is_ok());

    // a violation against every version carries no version note
    let v = run(Level::BackwardTransitive, &rec(r#"{"name":"n","type":"int"}"#), &[&v1, &v2]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].message, "field added without a default");
}

#[test]
fn house_policy_is_checked_against_the_latest_version_only() {
    let v1 = rec(INT_A);
    let v2 = rec(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#); // added before the policy
    let v3 = rec(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int"},{"name":"c","type":"int","default":0}"#,
    );
    assert!(run(Level::AddWithDefaultOnly, &v3, &[&v1, &v2]).is_empty());
}

// ---------------------------------------------------------------- house policy at depth

/// R.f is a union of null and a map of arrays of record Inner; `inner` is Inner's fields.
fn deep(inner: &str) -> String {
    rec(&format!(
        r#"{{"name":"f","type":["null",{{"type":"map","values":{{"type":"array","items":
            {{"type":"record","name":"Inner","fields":[{inner}]}}}}}}],"default":null}}"#
    ))
}

const DEEP_PATH: &str = "R.f<map>{}[]";

fn house(old: &str, new: &str) -> Vec<(String, &'static str)> {
    pk(&run(Level::AddWithDefaultOnly, new, &[old]))
}

#[test]
fn house_policy_accepts_only_added_fields_with_defaults_at_any_depth() {
    let base = deep(r#"{"name":"x","type":"int"}"#);
    assert!(house(&base, &base).is_empty());
    // added with a default: fine, anywhere in the record
    assert!(house(
        &base,
        &deep(r#"{"name":"x","type":"int"},{"name":"y","type":"string","default":"n/a"}"#)
    )
    .is_empty());
    assert!(house(
        &base,
        &deep(r#"{"name":"y","type":["null","long"],"default":null},{"name":"x","type":"int"}"#)
    )
    .is_empty());
    // docs may change
    assert!(house(&base, &deep(r#"{"name":"x","type":"int","doc":"the x"}"#)).is_empty());
    let p = |leaf: &str| format!("{DEEP_PATH}{leaf}");
    // strict: a default added to an existing field is a violation (unless allowed)
    assert_eq!(
        house(&base, &deep(r#"{"name":"x","type":"int","default":1}"#)),
        one(&p(".x"), "default_added")
    );
    assert_eq!(
        house(&base, &deep(r#"{"name":"x","type":"int"},{"name":"y","type":"int"}"#)),
        one(&p(".y"), "field_added_without_default")
    );
    assert_eq!(
        house(&base, &deep(r#"{"name":"y","type":"int","default":0}"#)),
        one(&p(".x"), "field_removed")
    );
    assert_eq!(
        house(&base, &deep(r#"{"name":"y","type":"int","aliases":["x"]}"#)),
        one(&p(".y"), "field_renamed")
    );
    let v = run(Level::AddWithDefaultOnly, &deep(r#"{"name":"x","type":"long"}"#), &[&base]);
    assert_eq!(pk(&v), one(&p(".x"), "type_changed"));
    assert!(
        v[0].message.starts_with("type changed from int to long (a promotion"),
        "{}",
        v[0].message
    );
}

#[test]
fn promotions_pass_backward_but_not_the_house_policy() {
    for (from, to) in [
        ("int", "long"),
        ("int", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("long", "float"),
    ] {
        let old = deep(&format!(r#"{{"name":"x","type":"{from}"}}"#));
        let new = deep(&format!(r#"{{"name":"x","type":"{to}"}}"#));
        ok(Level::Backward, &old, &new);
        assert_eq!(
            house(&old, &new),
            one(&format!("{DEEP_PATH}.x"), "type_changed"),
            "{from} -> {to}"
        );
    }
}

#[test]
fn house_policy_refuses_every_other_change_at_depth() {
    let p = |leaf: &str| format!("{DEEP_PATH}{leaf}");
    let cases: Vec<(&str, &str, &str, &'static str)> = vec![
        // (old field(s), new field(s), leaf path, kind)
        (
            r#"{"name":"x","type":"int"},{"name":"y","type":"int"}"#,
            r#"{"name":"y","type":"int"},{"name":"x","type":"int"}"#,
            ".y",
            "field_reordered",
        ),
        (
            r#"{"name":"x","type":"int","default":1}"#,
            r#"{"name":"x","type":"int","default":2}"#,
            ".x",
            "default_changed",
        ),
        (
            r#"{"name":"x","type":"int","default":1}"#,
            r#"{"name":"x","type":"int"}"#,
            ".x",
            "default_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#,
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}"#,
            ".x",
            "enum_symbol_added",
        ),
        (
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#,
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A"]}}"#,
            ".x",
            "enum_symbol_removed",
        ),
        (
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#,
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["B","A"]}}"#,
            ".x",
            "enum_symbols_reordered",
        ),
        (
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#,
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}}"#,
            ".x",
            "default_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"enum","name":"E","symbols":["A"]}}"#,
            r#"{"name":"x","type":{"type":"enum","name":"F","symbols":["A"]}}"#,
            ".x",
            "name_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"fixed","name":"H","size":16}}"#,
            r#"{"name":"x","type":{"type":"fixed","name":"H","size":32}}"#,
            ".x",
            "fixed_size_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"fixed","name":"H","size":16}}"#,
            r#"{"name":"x","type":{"type":"fixed","name":"H","namespace":"other","size":16}}"#,
            ".x",
            "namespace_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"long","logicalType":"timestamp-millis"}}"#,
            r#"{"name":"x","type":{"type":"long","logicalType":"timestamp-micros"}}"#,
            ".x",
            "logical_type_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"long","logicalType":"timestamp-millis"}}"#,
            r#"{"name":"x","type":"long"}"#,
            ".x",
            "logical_type_changed",
        ),
        (
            r#"{"name":"x","type":"string"}"#,
            r#"{"name":"x","type":{"type":"string","logicalType":"uuid"}}"#,
            ".x",
            "logical_type_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}}"#,
            r#"{"name":"x","type":{"type":"bytes","logicalType":"decimal","precision":14,"scale":2}}"#,
            ".x",
            "decimal_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}}"#,
            r#"{"name":"x","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":3}}"#,
            ".x",
            "decimal_changed",
        ),
        (
            r#"{"name":"x","type":["null","int"],"default":null}"#,
            r#"{"name":"x","type":["null","int","string"],"default":null}"#,
            ".x<union>",
            "union_branch_added",
        ),
        (
            r#"{"name":"x","type":["null","int","string"],"default":null}"#,
            r#"{"name":"x","type":["null","int"],"default":null}"#,
            ".x<union>",
            "union_branch_removed",
        ),
        (
            r#"{"name":"x","type":["null","int"],"default":null}"#,
            r#"{"name":"x","type":["int","null"],"default":1}"#,
            ".x<union>",
            "union_branches_reordered",
        ),
        (
            r#"{"name":"x","type":["null","int"],"default":null}"#,
            r#"{"name":"x","type":["null","long"],"default":null}"#,
            ".x<union>",
            "union_branch_removed",
        ),
        (
            r#"{"name":"x","type":"int"}"#,
            r#"{"name":"x","type":["null","int"],"default":null}"#,
            ".x",
            "type_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"array","items":"int"}}"#,
            r#"{"name":"x","type":{"type":"array","items":"long"}}"#,
            ".x[]",
            "type_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"map","values":"int"}}"#,
            r#"{"name":"x","type":{"type":"map","values":"string"}}"#,
            ".x{}",
            "type_changed",
        ),
        (
            r#"{"name":"x","type":{"type":"record","name":"N","fields":[{"name":"k","type":"int"}]}}"#,
            r#"{"name":"x","type":{"type":"record","name":"N","fields":[{"name":"k","type":"int"},{"name":"j","type":"int"}]}}"#,
            ".x.j",
            "field_added_without_default",
        ),
        (
            r#"{"name":"x","type":{"type":"record","name":"N","fields":[{"name":"k","type":"int"}]}}"#,
            r#"{"name":"x","type":{"type":"record","name":"M","aliases":["N"],"fields":[{"name":"k","type":"int"}]}}"#,
            ".x",
            "name_changed",
        ),
    ];
    for (old, new, leaf, kind) in cases {
        let got = house(&deep(old), &deep(new));
        assert!(
            got.contains(&(p(leaf), kind)),
            "{kind} at {leaf}\n old: {old}\n new: {new}\n got: {got:?}"
        );
    }
    // the record's own name and namespace
    let named = |name: &str, ns: &str| {
        format!(r#"{{"type":"record","name":"{name}","namespace":"{ns}","fields":[{INT_A}]}}"#)
    };
    assert_eq!(house(&named("R", "a"), &named("R", "b")), one("R", "namespace_changed"));
    assert_eq!(house(&named("R", "a"), &named("S", "a")), one("S", "name_changed"));
}

#[test]
fn house_policy_pairs_union_branches_by_name() {
    let u = |branches: &str| rec(&format!(r#"{{"name":"v","type":[{branches}]}}"#));
    let a = r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}"#;
    let a2 = r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}"#;
    let b = r#"{"type":"record","name":"B","fields":[{"name":"x","type":"int"}]}"#;
    assert!(house(&u(&format!("{a},{b}")), &u(&format!("{a},{b}"))).is_empty());
    assert_eq!(
        house(&u(&format!("{a},{b}")), &u(&format!("{a2},{b}"))),
        one("R.v<A>.y", "field_added_without_default")
    );
    assert_eq!(
        house(&u(&format!("{a},{b}")), &u(&format!("{b},{a}"))),
        one("R.v<union>", "union_branches_reordered")
    );
}

// ---------------------------------------------------------------- errors and robustness

#[test]
fn enforce_maps_to_the_error_codes() {
    let old = rec(INT_A);
    let bad = rec(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#);
    let good = rec(r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#);
    assert!(enforce_str(Level::AddWithDefaultOnly, &good, &[&old]).is_ok());
    match enforce_str(Level::AddWithDefaultOnly, &bad, &[&old]).unwrap_err() {
        Error::SchemaPolicyViolation { policy, violations } => {
            assert_eq!(policy, "add-with-default-only");
            assert_eq!(violations, vec!["R.b: field added without a default".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let err = enforce_str(Level::Backward, &bad, &[&old]).unwrap_err();
    assert_eq!(err.code(), "schema.incompatible");
    assert!(err.to_string().contains("BACKWARD: R.b: field added without a default"), "{err}");
    let (new, prev) = parse_all(&bad, &[&old]).unwrap();
    let err = enforce_for_subject("orders-value", Level::Full, &new, &prev).unwrap_err();
    assert_eq!(
        err.to_string(),
        "schema incompatible with subject orders-value: FULL: R.b: field added without a default"
    );
}

#[test]
fn invalid_schemas_are_schema_invalid() {
    let err = check_str(Level::Backward, "{not json", &[]).unwrap_err();
    assert_eq!(err.code(), "schema.invalid");
    assert!(err.to_string().contains("new schema"), "{err}");
    let err =
        check_str(Level::Backward, r#""int""#, &[r#""int""#, r#"{"type":"nope"}"#]).unwrap_err();
    assert_eq!(err.code(), "schema.invalid");
    assert!(err.to_string().contains("previous schema 2 of 2"), "{err}");
}

#[test]
fn every_pair_of_odd_schemas_is_checked_at_every_level_without_panicking() {
    let schemas = [
        r#""null""#,
        r#""int""#,
        r#"["null","int","string"]"#,
        r#"{"type":"array","items":["null",{"type":"map","values":"long"}]}"#,
        r#"{"type":"map","values":{"type":"fixed","name":"F","size":4}}"#,
        r#"{"type":"fixed","name":"F","size":16,"logicalType":"uuid"}"#,
        r#"{"type":"fixed","name":"D","size":12,"logicalType":"duration"}"#,
        r#"{"type":"fixed","name":"Dec","size":8,"logicalType":"decimal","precision":10,"scale":2}"#,
        r#"{"type":"bytes","logicalType":"big-decimal"}"#,
        r#"{"type":"enum","name":"F","symbols":["A"]}"#,
        r#"{"type":"record","name":"F","fields":[]}"#,
        LIST_V1,
        r#"{"type":"record","name":"T","fields":[{"name":"u","type":{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}},{"name":"v","type":"U"}]}"#,
        r#"{"type":"record","name":"T","fields":[{"name":"u","type":{"type":"fixed","name":"U","size":16}},{"name":"v","type":"U"}]}"#,
        r#"{"type":"record","name":"T","aliases":["Node"],"fields":[{"name":"next","type":["null","T"]}]}"#,
        r#"[{"type":"record","name":"A","fields":[{"name":"a","type":["null","A"]}]},{"type":"record","name":"B","fields":[{"name":"a","type":"A"}]}]"#,
    ];
    let parsed: Vec<Schema> = schemas
        .iter()
        .map(|s| Schema::parse_str(s).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect();
    for new in &parsed {
        for old in &parsed {
            for level in Level::ALL {
                let v = check(level, new, std::slice::from_ref(old));
                if std::ptr::eq(new, old) {
                    assert!(v.is_empty(), "{level}: a schema is compatible with itself: {v:?}");
                }
                let _ = check(level, new, &[old.clone(), new.clone(), old.clone()]);
            }
        }
    }
}

fn house_allowing(allow: &[&str], old: &str, new: &str) -> Vec<(String, &'static str)> {
    let mut a = PolicyAllow::default();
    for n in allow {
        a.allow(n).unwrap();
    }
    pk(&check_str_allowing(Level::AddWithDefaultOnly, a, new, &[old]).unwrap())
}

#[test]
fn house_policy_is_strict_about_benign_changes_unless_allowed() {
    let base = deep(r#"{"name":"x","type":"int"}"#);
    let p = |leaf: &str| format!("{DEEP_PATH}{leaf}");
    let cases: [(&str, String, &str, &str); 6] = [
        (
            "default-on-existing",
            deep(r#"{"name":"x","type":"int","default":1}"#),
            ".x",
            "default_added",
        ),
        (
            "order",
            deep(r#"{"name":"x","type":"int","order":"descending"}"#),
            ".x",
            "field_order_changed",
        ),
        ("aliases", deep(r#"{"name":"x","type":"int","aliases":["ex"]}"#), ".x", "aliases_changed"),
        (
            "custom-properties",
            deep(r#"{"name":"x","type":"int","owner":"team-a"}"#),
            ".x",
            "property_changed",
        ),
        // on the record itself
        (
            "aliases",
            base.replace(r#""name":"Inner","#, r#""name":"Inner","aliases":["Old"],"#),
            "",
            "aliases_changed",
        ),
        (
            "custom-properties",
            base.replace(r#""name":"Inner","#, r#""name":"Inner","pii":true,"#),
            "",
            "property_changed",
        ),
    ];
    for (allow, new, leaf, kind) in &cases {
        assert_eq!(house(&base, new), one(&p(leaf), kind), "strict by default\n new: {new}");
        assert!(
            house_allowing(&[allow], &base, new).is_empty(),
            "{allow} lets it through\n new: {new}"
        );
        // allowing something else does not
        let other = if *allow == "order" { "aliases" } else { "order" };
        assert_eq!(house_allowing(&[other], &base, new), one(&p(leaf), kind));
    }
    let e = r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}"#;
    let e2 = r#"{"name":"e","type":{"type":"enum","name":"E","aliases":["F"],"symbols":["A"],"color":"red"}}"#;
    let got = house(&rec(e), &rec(e2));
    assert_eq!(
        got,
        vec![("R.e".to_string(), "aliases_changed"), ("R.e".to_string(), "property_changed")]
    );
    assert!(house_allowing(&["aliases", "custom-properties"], &rec(e), &rec(e2)).is_empty());
    // doc is always free; an added field with a default always passes; a rename stays a rename
    assert!(house(&base, &deep(r#"{"name":"x","type":"int","doc":"d"},{"name":"y","type":"int","default":0,"aliases":["z"]}"#)).is_empty());
    assert_eq!(
        house_allowing(&["aliases"], &base, &deep(r#"{"name":"y","type":"int","aliases":["x"]}"#)),
        one(&p(".y"), "field_renamed")
    );
    // other levels ignore the list; unknown names are refused
    assert!(run(
        Level::Backward,
        &deep(r#"{"name":"x","type":"int","order":"descending"}"#),
        &[&base]
    )
    .is_empty());
    let e = PolicyAllow::default().allow("everything").unwrap_err();
    assert!(
        e.to_string().contains("aliases, order, custom-properties, default-on-existing"),
        "{e}"
    );
}
