//! The compiled schema: an arena of nodes with named references resolved to indices (so
//! recursive records are just cycles in the arena), field defaults pre-encoded to bytes, and
//! the identity read plan used by the decoder.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::{Error, Result};

/// Index of a node in a [`CompiledSchema`]'s arena.
pub type NodeId = u32;

/// The Avro type of a plan node; logical types are their own variants.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(NodeId),
    Map(NodeId),
    Union(UnionNode),
    Record(RecordNode),
    Enum(EnumNode),
    Fixed(FixedNode),
    /// `decimal` on `bytes` (fixed = None) or on a `fixed`.
    Decimal(DecimalNode),
    /// `uuid` on `string` (fixed = None) or on a `fixed(16)`.
    Uuid {
        fixed: Option<Box<str>>,
    },
    /// date, time-*, timestamp-*, local-timestamp-*: an int or long underneath.
    Temporal(TemporalKind),
}

#[derive(Debug, Clone)]
pub(crate) struct UnionNode {
    pub branches: Vec<NodeId>,
    /// Branch names for explicit selection: type name or named type's full name.
    pub names: Vec<Box<str>>,
    /// Index of the `null` branch, if any.
    pub null_index: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct RecordNode {
    pub fullname: Box<str>,
    pub name: Box<str>,
    pub aliases: Vec<Box<str>>,
    pub fields: Vec<FieldNode>,
    pub by_name: HashMap<Box<str>, usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldNode {
    pub name: Box<str>,
    pub aliases: Vec<Box<str>>,
    pub node: NodeId,
    /// The schema default, as written in the schema.
    pub default_json: Option<Json>,
    /// The default pre-encoded with the field's type (None if absent or not encodable).
    pub default_bytes: Option<Box<[u8]>>,
}

#[derive(Debug, Clone)]
pub(crate) struct EnumNode {
    pub fullname: Box<str>,
    pub name: Box<str>,
    pub aliases: Vec<Box<str>>,
    pub symbols: Vec<Box<str>>,
    pub default: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct FixedNode {
    pub fullname: Box<str>,
    pub name: Box<str>,
    pub aliases: Vec<Box<str>>,
    pub size: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct DecimalNode {
    pub precision: u32,
    pub scale: u32,
    /// For a fixed decimal: (full name, size).
    pub fixed: Option<(Box<str>, usize)>,
}

/// Which date/time logical type a value is; the unit says what the Avro number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemporalKind {
    /// `date`: int days since 1970-01-01.
    Date,
    /// `time-millis`: int milliseconds after midnight.
    TimeMillis,
    /// `time-micros`: long microseconds after midnight.
    TimeMicros,
    /// `timestamp-millis`: long milliseconds since the epoch, UTC.
    TimestampMillis,
    /// `timestamp-micros`: long microseconds since the epoch, UTC.
    TimestampMicros,
    /// `timestamp-nanos`: long nanoseconds since the epoch, UTC.
    TimestampNanos,
    /// `local-timestamp-millis`: long milliseconds since the epoch, wall clock of no zone.
    LocalTimestampMillis,
    /// `local-timestamp-micros`.
    LocalTimestampMicros,
    /// `local-timestamp-nanos`.
    LocalTimestampNanos,
}

impl TemporalKind {
    /// True when the Avro number is an `int` (date, time-millis); else a `long`.
    pub fn is_int(self) -> bool {
        matches!(self, TemporalKind::Date | TemporalKind::TimeMillis)
    }
    /// Nanoseconds per unit of the Avro number (days count 86 400 s).
    pub fn unit_nanos(self) -> i128 {
        use TemporalKind::*;
        match self {
            Date => 86_400_000_000_000,
            TimeMillis | TimestampMillis | LocalTimestampMillis => 1_000_000,
            TimeMicros | TimestampMicros | LocalTimestampMicros => 1_000,
            TimestampNanos | LocalTimestampNanos => 1,
        }
    }
    /// The logicalType name.
    pub fn name(self) -> &'static str {
        use TemporalKind::*;
        match self {
            Date => "date",
            TimeMillis => "time-millis",
            TimeMicros => "time-micros",
            TimestampMillis => "timestamp-millis",
            TimestampMicros => "timestamp-micros",
            TimestampNanos => "timestamp-nanos",
            LocalTimestampMillis => "local-timestamp-millis",
            LocalTimestampMicros => "local-timestamp-micros",
            LocalTimestampNanos => "local-timestamp-nanos",
        }
    }
    pub(crate) fn from_name(s: &str) -> Option<Self> {
        use TemporalKind::*;
        Some(match s {
            "date" => Date,
            "time-millis" => TimeMillis,
            "time-micros" => TimeMicros,
            "timestamp-millis" => TimestampMillis,
            "timestamp-micros" => TimestampMicros,
            "timestamp-nanos" => TimestampNanos,
            "local-timestamp-millis" => LocalTimestampMillis,
            "local-timestamp-micros" => LocalTimestampMicros,
            "local-timestamp-nanos" => LocalTimestampNanos,
            _ => return None,
        })
    }
}

pub(crate) struct Inner {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    pub schema: apache_avro::Schema,
    pub canonical: String,
    pub identity: Arc<super::resolve::ReadPlan>,
}

/// A schema parsed once and compiled into an encoding/decoding plan. Cheap to clone (an `Arc`),
/// `Send + Sync`; cache one per schema id.
#[derive(Clone)]
pub struct CompiledSchema(pub(crate) Arc<Inner>);

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema").field("canonical", &self.0.canonical).finish()
    }
}

impl CompiledSchema {
    /// Parses and compiles schema text (JSON). Invalid schemas are `schema.invalid`.
    ///
    /// apache-avro validates the schema and gives the canonical form; the plan is compiled from
    /// the same JSON so that details apache-avro folds away (a `uuid` on `fixed(16)`) survive.
    pub fn parse(text: &str) -> Result<Self> {
        let schema = super::parse_apache(text)?;
        Self::compile_from(text, schema, &[])
    }

    /// Parses schema text whose named types may be defined by `named`: the texts of other
    /// schemas, each a named type (record, enum, fixed), that may refer to each other in any
    /// order (the registry's schema references, resolved by the caller). apache-avro parses
    /// them together (`Schema::parse_str_with_list`); the result is self-contained: its
    /// [`schema`](Self::schema) carries each referenced definition where the Avro rules
    /// define it (first use), so canonical forms and compatibility checks see the whole type.
    pub fn parse_with_references(text: &str, named: &[&str]) -> Result<Self> {
        if named.is_empty() {
            return Self::parse(text);
        }
        let (schema, defs) = apache_avro::Schema::parse_str_with_list(text, named)
            .map_err(|e| invalid(e.to_string()))?;
        let schema = inline_references(schema, &defs)?;
        Self::compile_from(text, schema, named)
    }

    fn compile_from(text: &str, schema: apache_avro::Schema, named: &[&str]) -> Result<Self> {
        let json: Json = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut c = Compiler { nodes: Vec::new(), names: HashMap::new(), pending: Vec::new() };
        for n in named {
            let json: Json = serde_json::from_str(n).map_err(|e| invalid(e.to_string()))?;
            c.compile(&json, None)?;
        }
        let root = c.compile(&json, None)?;
        for (name, slot) in std::mem::take(&mut c.pending) {
            match c.names.get(&name) {
                Some(&id) => fix_ref(&mut c.nodes, slot, id),
                None => return Err(invalid(format!("unknown type {name:?}"))),
            }
        }
        let mut nodes = c.nodes;
        fill_union_names(&mut nodes);
        compute_defaults(&mut nodes)?;
        let identity = Arc::new(super::resolve::ReadPlan::identity(&nodes, root));
        let canonical = schema.canonical_form();
        Ok(CompiledSchema(Arc::new(Inner { nodes, root, schema, canonical, identity })))
    }

    /// The apache-avro schema (for canonical forms, fingerprints, compatibility checks).
    pub fn schema(&self) -> &apache_avro::Schema {
        &self.0.schema
    }

    /// The Parsing Canonical Form of the schema.
    pub fn canonical_form(&self) -> &str {
        &self.0.canonical
    }

    /// The full name of the root record (or enum/fixed), None for other root types.
    pub fn name(&self) -> Option<&str> {
        match &self.0.nodes[self.0.root as usize] {
            Node::Record(r) => Some(&r.fullname),
            Node::Enum(e) => Some(&e.fullname),
            Node::Fixed(f) => Some(&f.fullname),
            _ => None,
        }
    }

    /// True when the root is a plain `bytes` (no logical type): Confluent's serializers frame
    /// such a value as its raw bytes, without the Avro length prefix.
    pub fn is_raw_bytes(&self) -> bool {
        matches!(self.0.nodes[self.0.root as usize], Node::Bytes)
    }

    pub(crate) fn nodes(&self) -> &[Node] {
        &self.0.nodes
    }

    pub(crate) fn root(&self) -> NodeId {
        self.0.root
    }

    /// The root of error paths: the root record's short name, else `$`.
    pub(crate) fn path_root(&self) -> &str {
        match &self.0.nodes[self.0.root as usize] {
            Node::Record(r) => &r.name,
            _ => "$",
        }
    }
}

/// `schema` with every reference to a type of `defs` (the referenced schemas) replaced by its
/// definition at the first use, depth first in field order as Avro defines names; later uses
/// stay references. Fails on a name `defs` define twice.
fn inline_references(
    schema: apache_avro::Schema,
    defs: &[apache_avro::Schema],
) -> Result<apache_avro::Schema> {
    use apache_avro::schema::Name;
    use apache_avro::Schema as S;
    fn name_of(s: &S) -> Option<&Name> {
        match s {
            S::Record(r) => Some(&r.name),
            S::Enum(e) => Some(&e.name),
            S::Fixed(f) => Some(&f.name),
            S::Decimal(d) => name_of(&d.inner),
            S::Uuid | S::Duration => None,
            _ => None,
        }
    }
    fn walk(
        s: S,
        defs: &HashMap<Name, &S>,
        defined: &mut std::collections::HashSet<Name>,
        depth: u32,
    ) -> Result<S> {
        if depth > super::MAX_DEPTH {
            return Err(invalid("schema references nest too deeply"));
        }
        Ok(match s {
            S::Ref { name } => match defs.get(&name) {
                Some(def) if !defined.contains(&name) => {
                    defined.insert(name);
                    walk((*def).clone(), defs, defined, depth + 1)?
                }
                _ => S::Ref { name },
            },
            S::Record(mut r) => {
                defined.insert(r.name.clone());
                let mut fields = std::mem::take(&mut r.fields);
                for f in &mut fields {
                    let inner = std::mem::replace(&mut f.schema, S::Null);
                    f.schema = walk(inner, defs, defined, depth + 1)?;
                }
                r.fields = fields;
                S::Record(r)
            }
            S::Array(mut a) => {
                a.items = Box::new(walk(*a.items, defs, defined, depth + 1)?);
                S::Array(a)
            }
            S::Map(mut m) => {
                m.types = Box::new(walk(*m.types, defs, defined, depth + 1)?);
                S::Map(m)
            }
            S::Union(u) => {
                let variants = u
                    .variants()
                    .iter()
                    .cloned()
                    .map(|v| walk(v, defs, defined, depth + 1))
                    .collect::<Result<Vec<_>>>()?;
                S::Union(
                    apache_avro::schema::UnionSchema::new(variants)
                        .map_err(|e| invalid(e.to_string()))?,
                )
            }
            S::Decimal(mut d) => {
                d.inner = Box::new(walk(*d.inner, defs, defined, depth + 1)?);
                S::Decimal(d)
            }
            other => {
                if let Some(n) = name_of(&other) {
                    defined.insert(n.clone());
                }
                other
            }
        })
    }
    let mut by_name: HashMap<Name, &S> = HashMap::new();
    for d in defs {
        if let Some(n) = name_of(d) {
            if by_name.insert(n.clone(), d).is_some() {
                return Err(invalid(format!("{} is defined by two references", n.fullname(None))));
            }
        }
    }
    walk(schema, &by_name, &mut std::collections::HashSet::new(), 0)
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::schema_invalid(reason.into())
}

/// Placeholder used while a named reference is unresolved.
const UNRESOLVED: NodeId = NodeId::MAX;

#[derive(Clone, Copy)]
enum Slot {
    Array(NodeId),
    Map(NodeId),
    Union(NodeId, usize),
    Field(NodeId, usize),
}

struct Compiler {
    nodes: Vec<Node>,
    names: HashMap<String, NodeId>,
    pending: Vec<(String, (Slot, NodeId))>,
}

fn fix_ref(nodes: &mut [Node], (slot, _): (Slot, NodeId), id: NodeId) {
    match slot {
        Slot::Array(n) => nodes[n as usize] = Node::Array(id),
        Slot::Map(n) => nodes[n as usize] = Node::Map(id),
        Slot::Union(n, i) => {
            if let Node::Union(u) = &mut nodes[n as usize] {
                u.branches[i] = id;
            }
        }
        Slot::Field(n, i) => {
            if let Node::Record(r) = &mut nodes[n as usize] {
                r.fields[i].node = id;
            }
        }
    }
}

const PRIMITIVES: &[&str] =
    &["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

fn fullname(name: &str, namespace: Option<&str>) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn short(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

fn ns_of(full: &str) -> Option<&str> {
    full.rfind('.').map(|i| &full[..i])
}

fn aliases(obj: &serde_json::Map<String, Json>, ns: Option<&str>) -> Vec<Box<str>> {
    obj.get("aliases")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter().filter_map(Json::as_str).map(|s| fullname(s, ns).into_boxed_str()).collect()
        })
        .unwrap_or_default()
}

impl Compiler {
    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        (self.nodes.len() - 1) as NodeId
    }

    /// Compiles `json`; a reference to a not-yet-defined name is recorded in `pending` with
    /// the slot the caller will store it in (the caller passes `slot`).
    fn compile_in(&mut self, json: &Json, ns: Option<&str>, slot: Slot) -> Result<NodeId> {
        if let Json::String(name) = json {
            if !PRIMITIVES.contains(&name.as_str()) {
                let full = fullname(name, ns);
                let found =
                    self.names.get(&full).or_else(|| self.names.get(name.as_str())).copied();
                return match found {
                    Some(id) => Ok(id),
                    None => {
                        self.pending.push((full, (slot, 0)));
                        Ok(UNRESOLVED)
                    }
                };
            }
        }
        self.compile(json, ns)
    }

    fn compile(&mut self, json: &Json, ns: Option<&str>) -> Result<NodeId> {
        match json {
            Json::String(s) => match s.as_str() {
                "null" => Ok(self.push(Node::Null)),
                "boolean" => Ok(self.push(Node::Boolean)),
                "int" => Ok(self.push(Node::Int)),
                "long" => Ok(self.push(Node::Long)),
                "float" => Ok(self.push(Node::Float)),
                "double" => Ok(self.push(Node::Double)),
                "bytes" => Ok(self.push(Node::Bytes)),
                "string" => Ok(self.push(Node::String)),
                other => {
                    let full = fullname(other, ns);
                    self.names
                        .get(&full)
                        .or_else(|| self.names.get(other))
                        .copied()
                        .ok_or_else(|| invalid(format!("unknown type {other:?}")))
                }
            },
            Json::Array(branches) => {
                let id = self.push(Node::Union(UnionNode {
                    branches: Vec::new(),
                    names: Vec::new(),
                    null_index: None,
                }));
                let mut ids = Vec::with_capacity(branches.len());
                for (i, b) in branches.iter().enumerate() {
                    ids.push(self.compile_in(b, ns, Slot::Union(id, i))?);
                }
                if let Node::Union(u) = &mut self.nodes[id as usize] {
                    u.branches = ids;
                }
                Ok(id)
            }
            Json::Object(obj) => self.compile_object(obj, ns),
            other => Err(invalid(format!("not a schema: {other}"))),
        }
    }

    fn compile_object(
        &mut self,
        obj: &serde_json::Map<String, Json>,
        ns: Option<&str>,
    ) -> Result<NodeId> {
        let ty = obj.get("type").ok_or_else(|| invalid("schema object without \"type\""))?;
        let logical = obj.get("logicalType").and_then(Json::as_str);
        let ty_str = match ty {
            Json::String(s) => s.as_str(),
            // {"type": {...}} or {"type": [...]}: a wrapped schema.
            other => return self.compile(other, ns),
        };
        match ty_str {
            "record" | "error" => {
                let name = obj
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| invalid("record without name"))?;
                let own_ns = obj.get("namespace").and_then(Json::as_str).or(ns);
                let full = fullname(name, own_ns);
                let inner_ns = ns_of(&full).map(str::to_string);
                let id = self.push(Node::Record(RecordNode {
                    fullname: full.clone().into_boxed_str(),
                    name: short(&full).into(),
                    aliases: aliases(obj, inner_ns.as_deref()),
                    fields: Vec::new(),
                    by_name: HashMap::new(),
                }));
                self.names.insert(full.clone(), id);
                let fields_json = obj
                    .get("fields")
                    .and_then(Json::as_array)
                    .ok_or_else(|| invalid("record without fields"))?;
                let mut fields = Vec::with_capacity(fields_json.len());
                for (i, f) in fields_json.iter().enumerate() {
                    let fo = f.as_object().ok_or_else(|| invalid("field is not an object"))?;
                    let fname = fo
                        .get("name")
                        .and_then(Json::as_str)
                        .ok_or_else(|| invalid("field without name"))?;
                    let fty = fo
                        .get("type")
                        .ok_or_else(|| invalid(format!("field {fname} without type")))?;
                    let node = self.compile_in(fty, inner_ns.as_deref(), Slot::Field(id, i))?;
                    fields.push(FieldNode {
                        name: fname.into(),
                        aliases: fo
                            .get("aliases")
                            .and_then(Json::as_array)
                            .map(|a| a.iter().filter_map(Json::as_str).map(Into::into).collect())
                            .unwrap_or_default(),
                        node,
                        default_json: fo.get("default").cloned(),
                        default_bytes: None,
                    });
                }
                let by_name = fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
                if let Node::Record(r) = &mut self.nodes[id as usize] {
                    r.fields = fields;
                    r.by_name = by_name;
                }
                Ok(id)
            }
            "enum" => {
                let name = obj
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| invalid("enum without name"))?;
                let full = fullname(name, obj.get("namespace").and_then(Json::as_str).or(ns));
                let symbols: Vec<Box<str>> = obj
                    .get("symbols")
                    .and_then(Json::as_array)
                    .ok_or_else(|| invalid("enum without symbols"))?
                    .iter()
                    .map(|s| {
                        s.as_str()
                            .map(Into::into)
                            .ok_or_else(|| invalid("enum symbol is not a string"))
                    })
                    .collect::<Result<_>>()?;
                let default = obj
                    .get("default")
                    .and_then(Json::as_str)
                    .and_then(|d| symbols.iter().position(|s| &**s == d))
                    .map(|i| i as u32);
                let id = self.push(Node::Enum(EnumNode {
                    name: short(&full).into(),
                    aliases: aliases(obj, ns_of(&full)),
                    fullname: full.clone().into_boxed_str(),
                    symbols,
                    default,
                }));
                self.names.insert(full, id);
                Ok(id)
            }
            "fixed" => {
                let name = obj
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| invalid("fixed without name"))?;
                let full = fullname(name, obj.get("namespace").and_then(Json::as_str).or(ns));
                let size =
                    obj.get("size")
                        .and_then(Json::as_u64)
                        .ok_or_else(|| invalid("fixed without size"))? as usize;
                let node = match logical {
                    Some("decimal") => match decimal_params(obj, Some(size)) {
                        Some((precision, scale)) => Node::Decimal(DecimalNode {
                            precision,
                            scale,
                            fixed: Some((full.clone().into_boxed_str(), size)),
                        }),
                        None => plain_fixed(&full, obj, size),
                    },
                    Some("uuid") if size == 16 => {
                        Node::Uuid { fixed: Some(full.clone().into_boxed_str()) }
                    }
                    _ => plain_fixed(&full, obj, size),
                };
                let id = self.push(node);
                self.names.insert(full, id);
                Ok(id)
            }
            "array" => {
                let id = self.push(Node::Array(UNRESOLVED));
                let items = obj.get("items").ok_or_else(|| invalid("array without items"))?;
                let item = self.compile_in(items, ns, Slot::Array(id))?;
                self.nodes[id as usize] = Node::Array(item);
                Ok(id)
            }
            "map" => {
                let id = self.push(Node::Map(UNRESOLVED));
                let values = obj.get("values").ok_or_else(|| invalid("map without values"))?;
                let v = self.compile_in(values, ns, Slot::Map(id))?;
                self.nodes[id as usize] = Node::Map(v);
                Ok(id)
            }
            prim => {
                let node = match (prim, logical) {
                    ("bytes", Some("decimal")) => match decimal_params(obj, None) {
                        Some((precision, scale)) => {
                            Node::Decimal(DecimalNode { precision, scale, fixed: None })
                        }
                        None => Node::Bytes,
                    },
                    ("string", Some("uuid")) => Node::Uuid { fixed: None },
                    (p, Some(l)) => match TemporalKind::from_name(l) {
                        Some(k) if (k.is_int() && p == "int") || (!k.is_int() && p == "long") => {
                            Node::Temporal(k)
                        }
                        _ => return self.compile(&Json::String(p.to_string()), ns),
                    },
                    (p, None) => return self.compile(&Json::String(p.to_string()), ns),
                };
                Ok(self.push(node))
            }
        }
    }
}

fn plain_fixed(full: &str, obj: &serde_json::Map<String, Json>, size: usize) -> Node {
    Node::Fixed(FixedNode {
        fullname: full.into(),
        name: short(full).into(),
        aliases: aliases(obj, ns_of(full)),
        size,
    })
}

/// precision/scale of a decimal, or None when invalid (the logical type is then ignored, as the
/// Avro specification says).
fn decimal_params(
    obj: &serde_json::Map<String, Json>,
    fixed_size: Option<usize>,
) -> Option<(u32, u32)> {
    let precision = obj.get("precision")?.as_u64()?;
    let scale = match obj.get("scale") {
        None => 0,
        Some(s) => s.as_u64()?,
    };
    if precision == 0 || scale > precision || precision > 10_000 {
        return None;
    }
    if let Some(size) = fixed_size {
        // Max digits a signed `size`-byte number always holds: floor(log10(2^(8*size-1) - 1)).
        let max = ((8.0 * size as f64 - 1.0) * std::f64::consts::LOG10_2).floor();
        if size == 0 || precision as f64 > max {
            return None;
        }
    }
    Some((precision as u32, scale as u32))
}

/// The name that selects a branch explicitly: full name for named types, else the type name.
pub(crate) fn type_name(nodes: &[Node], id: NodeId) -> Box<str> {
    match &nodes[id as usize] {
        Node::Null => "null".into(),
        Node::Boolean => "boolean".into(),
        Node::Int => "int".into(),
        Node::Long => "long".into(),
        Node::Float => "float".into(),
        Node::Double => "double".into(),
        Node::Bytes => "bytes".into(),
        Node::String => "string".into(),
        Node::Array(_) => "array".into(),
        Node::Map(_) => "map".into(),
        Node::Union(_) => "union".into(),
        Node::Record(r) => r.fullname.clone(),
        Node::Enum(e) => e.fullname.clone(),
        Node::Fixed(f) => f.fullname.clone(),
        Node::Decimal(d) => match &d.fixed {
            Some((n, _)) => n.clone(),
            None => "bytes".into(),
        },
        Node::Uuid { fixed } => fixed.clone().unwrap_or_else(|| "string".into()),
        Node::Temporal(k) => if k.is_int() { "int" } else { "long" }.into(),
    }
}

/// A short description of a node's type for error messages: `decimal(10,2)`, `record Order`.
pub(crate) fn describe(nodes: &[Node], id: NodeId) -> String {
    match &nodes[id as usize] {
        Node::Array(i) => format!("array<{}>", describe_short(nodes, *i)),
        Node::Map(v) => format!("map<{}>", describe_short(nodes, *v)),
        Node::Union(u) => {
            let parts: Vec<String> = u.branches.iter().map(|b| describe_short(nodes, *b)).collect();
            format!("union[{}]", parts.join(","))
        }
        Node::Record(r) => format!("record {}", r.fullname),
        Node::Enum(e) => format!("enum {} {{{}}}", e.fullname, e.symbols.join(",")),
        Node::Fixed(f) => format!("fixed {}({})", f.fullname, f.size),
        Node::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
        Node::Uuid { .. } => "uuid".into(),
        Node::Temporal(k) => k.name().into(),
        _ => type_name(nodes, id).into(),
    }
}

fn describe_short(nodes: &[Node], id: NodeId) -> String {
    match &nodes[id as usize] {
        Node::Record(r) => r.name.to_string(),
        Node::Enum(e) => e.name.to_string(),
        Node::Fixed(f) => f.name.to_string(),
        Node::Array(_) | Node::Map(_) | Node::Union(_) => describe(nodes, id),
        _ => describe(nodes, id),
    }
}

fn fill_union_names(nodes: &mut [Node]) {
    for i in 0..nodes.len() {
        if let Node::Union(u) = &nodes[i] {
            let names: Vec<Box<str>> = u.branches.iter().map(|b| type_name(nodes, *b)).collect();
            let null_index = u
                .branches
                .iter()
                .position(|b| matches!(nodes[*b as usize], Node::Null))
                .map(|i| i as u32);
            if let Node::Union(u) = &mut nodes[i] {
                u.names = names;
                u.null_index = null_index;
            }
        }
    }
}

/// Encodes every field default with the field's type (Avro's JSON default rules: bytes and
/// fixed as ISO-8859-1 strings, unions by their first matching branch). Runs to a fixpoint so
/// defaults that contain records with their own defaults resolve in any order.
fn compute_defaults(nodes: &mut [Node]) -> Result<()> {
    let mut todo: Vec<(usize, usize)> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if let Node::Record(r) = n {
            for (j, f) in r.fields.iter().enumerate() {
                if f.default_json.is_some() {
                    todo.push((i, j));
                }
            }
        }
    }
    let mut buf = Vec::new();
    for (i, j) in todo {
        let (record, field, node, json) = match &nodes[i] {
            Node::Record(r) => (
                r.fullname.clone(),
                r.fields[j].name.clone(),
                r.fields[j].node,
                r.fields[j].default_json.clone(),
            ),
            _ => continue,
        };
        let Some(json) = json else { continue };
        buf.clear();
        // The Avro spec: a union's default is a value of its first branch; Java's parser and
        // the registry judge it so, and a default matching a later branch would encode as a
        // different branch than every other implementation reads it.
        let result = match &nodes[node as usize] {
            Node::Union(u) => match u.branches.first() {
                Some(&first) => {
                    buf.push(0); // branch index 0
                    super::encode::encode_default(nodes, first, &json, &mut buf).map_err(|_| {
                        format!("does not match the union's first branch {} (the Avro spec requires the first)", type_name(nodes, first))
                    })
                }
                None => Err("is for an empty union, which has no values".to_string()),
            },
            _ => super::encode::encode_default(nodes, node, &json, &mut buf).map_err(|e| match e {
                Error::SerdeEncode { path, expected, got } if path.is_empty() => {
                    format!("is not a valid {expected}: {got}")
                }
                Error::SerdeEncode { path, expected, got } => {
                    format!("is not valid at {path}: expected {expected}, got {got}")
                }
                e => format!("is not a valid {}: {e}", type_name(nodes, node)),
            }),
        };
        if let Err(why) = result {
            // An invalid default is an invalid schema (as Java's parser judges it): accepting it
            // would fail only later, when a record without the field is written or projected.
            return Err(invalid(format!("{record}.{field}: default {json} {why}")));
        }
        if let Node::Record(r) = &mut nodes[i] {
            r.fields[j].default_bytes = Some(buf.clone().into_boxed_slice());
        }
    }
    Ok(())
}
