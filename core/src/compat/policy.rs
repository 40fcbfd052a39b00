//! The house policy `add-with-default-only`: the new schema is the previous one plus record
//! fields that all have defaults. Nothing else may differ, at any depth: no field removed,
//! renamed or moved, no type changed (not even a promotion), no logical type, decimal
//! parameter, enum symbol, fixed size, union branch, name or namespace changed, and no default
//! of an existing field changed, dropped or added, and (unless kpipe.yaml's
//! `schemas.policy_allow` names them) no alias, field `order` or custom property changed.
//! Only `doc` may change freely.

use apache_avro::schema::{Name, RecordSchema};
use apache_avro::Schema;

use super::names::{root_path, simple_label, Base, Side};
use super::{Guard, Violation, ViolationKind as K};

pub(super) fn check(old: &Schema, new: &Schema) -> Vec<Violation> {
    let mut c = Policy { old: Side::new(old), new: Side::new(new), guard: Guard::default() };
    let root = root_path(&c.new, new);
    let mut out = Vec::new();
    c.same(old, new, &root, &mut out);
    c.guard.finish(&root, &mut out);
    out
}

struct Policy<'a> {
    old: Side<'a>,
    new: Side<'a>,
    guard: Guard,
}

fn push(out: &mut Vec<Violation>, path: &str, kind: super::ViolationKind, message: String) {
    out.push(Violation { path: path.to_string(), kind, message });
}

impl<'a> Policy<'a> {
    fn type_changed(&self, o: &'a Schema, n: &'a Schema, path: &str, out: &mut Vec<Violation>) {
        let (od, nd) = (self.old.describe(o), self.new.describe(n));
        let promotion = is_promotion(&self.old.base(o), &self.new.base(n));
        let message = if promotion {
            format!("type changed from {od} to {nd} (a promotion readers can resolve, but add-with-default-only allows no type change)")
        } else {
            format!("type changed from {od} to {nd}")
        };
        push(out, path, K::TypeChanged, message);
    }

    fn same(&mut self, o: &'a Schema, n: &'a Schema, path: &str, out: &mut Vec<Violation>) {
        if self.guard.tick() {
            return;
        }
        let (od, nd) = (self.old.deref(o), self.new.deref(n));
        match (od, nd) {
            (Schema::Union(ou), Schema::Union(nu)) => {
                self.union(ou.variants(), nu.variants(), path, out)
            }
            (Schema::Record(or), Schema::Record(nr)) => self.record(or, nr, path, out),
            (Schema::Enum(oe), Schema::Enum(ne)) => {
                self.name(&oe.name, &ne.name, path, out);
                for s in oe.symbols.iter().filter(|s| !ne.symbols.contains(s)) {
                    push(out, path, K::EnumSymbolRemoved, format!("enum symbol {s} removed"));
                }
                for s in ne.symbols.iter().filter(|s| !oe.symbols.contains(s)) {
                    push(out, path, K::EnumSymbolAdded, format!("enum symbol {s} added"));
                }
                let common_old: Vec<&String> =
                    oe.symbols.iter().filter(|s| ne.symbols.contains(s)).collect();
                let common_new: Vec<&String> =
                    ne.symbols.iter().filter(|s| oe.symbols.contains(s)).collect();
                if common_old != common_new {
                    push(
                        out,
                        path,
                        K::EnumSymbolsReordered,
                        format!(
                            "enum symbols reordered from [{}] to [{}]",
                            oe.symbols.join(", "),
                            ne.symbols.join(", ")
                        ),
                    );
                }
                self.extras(
                    oe.aliases.as_ref(),
                    ne.aliases.as_ref(),
                    &oe.attributes,
                    &ne.attributes,
                    path,
                    out,
                );
                if oe.default != ne.default {
                    let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
                    push(
                        out,
                        path,
                        K::DefaultChanged,
                        format!(
                            "enum default changed from {} to {}",
                            show(&oe.default),
                            show(&ne.default)
                        ),
                    );
                }
            }
            (Schema::Fixed(of), Schema::Fixed(nf)) => {
                self.name(&of.name, &nf.name, path, out);
                self.extras(
                    of.aliases.as_ref(),
                    nf.aliases.as_ref(),
                    &of.attributes,
                    &nf.attributes,
                    path,
                    out,
                );
                if of.size != nf.size {
                    push(
                        out,
                        path,
                        K::FixedSizeChanged,
                        format!("fixed size changed from {} to {}", of.size, nf.size),
                    );
                }
                let (ol, nl) = (of.attributes.get("logicalType"), nf.attributes.get("logicalType"));
                if ol != nl {
                    let show = |l: Option<&serde_json::Value>| {
                        l.map_or("none".to_string(), |v| v.to_string())
                    };
                    push(
                        out,
                        path,
                        K::LogicalTypeChanged,
                        format!("logical type changed from {} to {}", show(ol), show(nl)),
                    );
                }
            }
            (Schema::Array(oa), Schema::Array(na)) => {
                properties(&oa.attributes, &na.attributes, path, out);
                self.same(&oa.items, &na.items, &format!("{path}[]"), out)
            }
            (Schema::Map(om), Schema::Map(nm)) => {
                properties(&om.attributes, &nm.attributes, path, out);
                self.same(&om.types, &nm.types, &format!("{path}{{}}"), out)
            }
            (Schema::Decimal(odec), Schema::Decimal(ndec)) => {
                if odec.precision != ndec.precision || odec.scale != ndec.scale {
                    push(
                        out,
                        path,
                        K::DecimalChanged,
                        format!(
                            "decimal changed from decimal({},{}) to decimal({},{})",
                            odec.precision, odec.scale, ndec.precision, ndec.scale
                        ),
                    );
                }
                self.same(&odec.inner, &ndec.inner, path, out);
            }
            (Schema::Ref { name: on }, Schema::Ref { name: nn }) => self.name(on, nn, path, out),
            (od, nd) if std::mem::discriminant(od) == std::mem::discriminant(nd) => {}
            (od, nd) => {
                let same_base = same_base(&self.old.base(od), &self.new.base(nd));
                let logical = |s: &Schema| is_logical(s).then(|| simple_label(s));
                if same_base && (is_logical(od) || is_logical(nd)) {
                    let message = match (logical(od), logical(nd)) {
                        (Some(a), Some(b)) => format!("logical type changed from {a} to {b}"),
                        (Some(a), None) => format!("logical type {a} removed"),
                        (None, Some(b)) => format!("logical type {b} added"),
                        (None, None) => {
                            format!(
                                "type changed from {} to {}",
                                self.old.describe(od),
                                self.new.describe(nd)
                            )
                        }
                    };
                    push(out, path, K::LogicalTypeChanged, message);
                } else {
                    self.type_changed(od, nd, path, out);
                }
            }
        }
    }

    /// Aliases and custom properties of a named type.
    fn extras(
        &self,
        oa: Option<&Vec<apache_avro::schema::Alias>>,
        na: Option<&Vec<apache_avro::schema::Alias>>,
        op: &Attributes,
        np: &Attributes,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let names = |a: Option<&Vec<apache_avro::schema::Alias>>| -> Vec<String> {
            a.map(|a| a.iter().map(|x| x.fullname(None)).collect()).unwrap_or_default()
        };
        let (o, n) = (names(oa), names(na));
        if o != n {
            push(
                out,
                path,
                K::AliasesChanged,
                format!("aliases changed from [{}] to [{}]", o.join(", "), n.join(", ")),
            );
        }
        properties(op, np, path, out);
    }

    /// Named types keep their full name.
    fn name(&self, o: &Name, n: &Name, path: &str, out: &mut Vec<Violation>) {
        if o.name != n.name {
            push(out, path, K::NameChanged, format!("name changed from {o} to {n}"));
        } else if o.namespace != n.namespace {
            let show = |ns: &Option<String>| ns.clone().unwrap_or_else(|| "(none)".into());
            push(
                out,
                path,
                K::NamespaceChanged,
                format!(
                    "namespace of {} changed from {} to {}",
                    o.name,
                    show(&o.namespace),
                    show(&n.namespace)
                ),
            );
        }
    }

    fn union(&mut self, ob: &'a [Schema], nb: &'a [Schema], path: &str, out: &mut Vec<Violation>) {
        let oid: Vec<String> = ob.iter().map(|s| self.old.identity(s)).collect();
        let nid: Vec<String> = nb.iter().map(|s| self.new.identity(s)).collect();
        let upath = format!("{path}<union>");
        for (i, id) in oid.iter().enumerate() {
            if !nid.contains(id) {
                push(
                    out,
                    &upath,
                    K::UnionBranchRemoved,
                    format!("union branch {} removed", self.old.describe(&ob[i])),
                );
            }
        }
        for (i, id) in nid.iter().enumerate() {
            if !oid.contains(id) {
                push(
                    out,
                    &upath,
                    K::UnionBranchAdded,
                    format!("union branch {} added", self.new.describe(&nb[i])),
                );
            }
        }
        let common_old: Vec<&String> = oid.iter().filter(|s| nid.contains(s)).collect();
        let common_new: Vec<&String> = nid.iter().filter(|s| oid.contains(s)).collect();
        if common_old != common_new {
            let show = |side: &Side<'a>, b: &'a [Schema]| {
                b.iter().map(|s| side.label(s)).collect::<Vec<_>>().join(", ")
            };
            push(
                out,
                &upath,
                K::UnionBranchesReordered,
                format!(
                    "union branches reordered from [{}] to [{}]",
                    show(&self.old, ob),
                    show(&self.new, nb)
                ),
            );
        }
        for (i, id) in oid.iter().enumerate() {
            if let Some(j) = nid.iter().position(|x| x == id) {
                let bpath = format!("{path}<{}>", self.new.label(&nb[j]));
                self.same(&ob[i], &nb[j], &bpath, out);
            }
        }
    }

    fn record(
        &mut self,
        o: &'a RecordSchema,
        n: &'a RecordSchema,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let key = (o as *const RecordSchema as usize, n as *const RecordSchema as usize);
        if !self.guard.enter(key, path, out) {
            return;
        }
        let mut local = Vec::new();
        self.name(&o.name, &n.name, path, &mut local);
        self.extras(
            o.aliases.as_ref(),
            n.aliases.as_ref(),
            &o.attributes,
            &n.attributes,
            path,
            &mut local,
        );
        let mut matched = vec![false; n.fields.len()];
        // (position in the new record, name) of the last old field found, to spot moves
        let mut last: Option<(usize, &str)> = None;
        for of in &o.fields {
            let by_name = n.fields.iter().position(|f| f.name == of.name);
            let renamed = by_name.is_none().then(|| {
                n.fields.iter().enumerate().position(|(j, f)| {
                    !matched[j] && f.aliases.as_ref().is_some_and(|a| a.contains(&of.name))
                })
            });
            let Some(j) = by_name.or(renamed.flatten()) else {
                push(
                    &mut local,
                    &format!("{path}.{}", of.name),
                    K::FieldRemoved,
                    "field removed".into(),
                );
                continue;
            };
            let Some(nf) = n.fields.get(j) else { continue };
            matched[j] = true;
            let fpath = format!("{path}.{}", nf.name);
            if by_name.is_none() {
                push(
                    &mut local,
                    &fpath,
                    K::FieldRenamed,
                    format!("field renamed from {} to {}", of.name, nf.name),
                );
            } else if of.aliases != nf.aliases {
                // (a rename's new alias is part of the rename, reported above)
                let show = |a: &Option<Vec<String>>| {
                    format!("[{}]", a.as_deref().unwrap_or_default().join(", "))
                };
                push(
                    &mut local,
                    &fpath,
                    K::AliasesChanged,
                    format!(
                        "field aliases changed from {} to {}",
                        show(&of.aliases),
                        show(&nf.aliases)
                    ),
                );
            }
            if of.order != nf.order {
                push(
                    &mut local,
                    &fpath,
                    K::FieldOrderChanged,
                    format!("field order changed from {:?} to {:?}", of.order, nf.order)
                        .to_lowercase(),
                );
            }
            properties(&of.custom_attributes, &nf.custom_attributes, &fpath, &mut local);
            match last {
                Some((lj, lname)) if j < lj => push(
                    &mut local,
                    &fpath,
                    K::FieldReordered,
                    format!("field moved: it came after {lname} and now comes before it"),
                ),
                _ => last = Some((j, &of.name)),
            }
            self.same(&of.schema, &nf.schema, &fpath, &mut local);
            match (&of.default, &nf.default) {
                (Some(a), Some(b)) if a != b => push(
                    &mut local,
                    &fpath,
                    K::DefaultChanged,
                    format!("default changed from {a} to {b}"),
                ),
                (Some(a), None) => {
                    push(&mut local, &fpath, K::DefaultChanged, format!("default {a} removed"))
                }
                (None, Some(b)) => push(
                    &mut local,
                    &fpath,
                    K::DefaultAdded,
                    format!("default {b} added to an existing field"),
                ),
                _ => {}
            }
        }
        for (j, nf) in n.fields.iter().enumerate() {
            if !matched[j] && nf.default.is_none() {
                push(
                    &mut local,
                    &format!("{path}.{}", nf.name),
                    K::FieldAddedWithoutDefault,
                    "field added without a default".into(),
                );
            }
        }
        self.guard.leave(path, local, out);
    }
}

fn is_logical(s: &Schema) -> bool {
    !matches!(
        s,
        Schema::Null
            | Schema::Boolean
            | Schema::Int
            | Schema::Long
            | Schema::Float
            | Schema::Double
            | Schema::Bytes
            | Schema::String
            | Schema::Array(_)
            | Schema::Map(_)
            | Schema::Union(_)
            | Schema::Record(_)
            | Schema::Enum(_)
            | Schema::Fixed(_)
            | Schema::Ref { .. }
    )
}

fn same_base(a: &Base<'_>, b: &Base<'_>) -> bool {
    match (a, b) {
        (Base::Fixed(_, x), Base::Fixed(_, y)) => x == y,
        _ => {
            a.same_kind(b)
                && !matches!(
                    a,
                    Base::Record(_)
                        | Base::Enum(_)
                        | Base::Union(_)
                        | Base::Array(_)
                        | Base::Map(_)
                )
        }
    }
}

fn is_promotion(from: &Base<'_>, to: &Base<'_>) -> bool {
    use Base as B;
    matches!(
        (from, to),
        (B::Int, B::Long | B::Float | B::Double)
            | (B::Long, B::Float | B::Double)
            | (B::Float, B::Double)
            | (B::String, B::Bytes)
            | (B::Bytes, B::String)
    )
}

type Attributes = std::collections::BTreeMap<String, serde_json::Value>;

/// Custom properties (apache-avro keeps `logicalType` of a fixed among them: judged as a
/// logical type change instead).
fn properties(o: &Attributes, n: &Attributes, path: &str, out: &mut Vec<Violation>) {
    let keys: std::collections::BTreeSet<&String> =
        o.keys().chain(n.keys()).filter(|k| *k != "logicalType").collect();
    for k in keys {
        let message = match (o.get(k), n.get(k)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => format!("property {k} changed from {a} to {b}"),
            (Some(a), None) => format!("property {k} ({a}) removed"),
            (None, Some(b)) => format!("property {k} ({b}) added"),
            (None, None) => continue,
        };
        push(out, path, K::PropertyChanged, message);
    }
}
