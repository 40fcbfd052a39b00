//! Read plans: a writer schema resolved against a reader schema (Avro schema resolution), or
//! against itself, compiled once into the nodes the decoder walks ([`Projection`]).

use std::collections::HashMap;
use std::sync::Arc;

use super::plan::{CompiledSchema, Node, NodeId, TemporalKind};
use crate::error::{Error, Result};

use super::builder::ValueBuilder;
use super::decode::run;

#[derive(Debug)]
pub(crate) enum RNode {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    IntAsLong,
    IntAsFloat,
    IntAsDouble,
    LongAsFloat,
    LongAsDouble,
    FloatAsDouble,
    BytesAsString,
    StringAsBytes,
    Array(u32),
    Map(u32),
    Record(Box<RRecord>),
    Enum(Box<REnum>),
    Fixed(usize),
    Decimal { precision: u32, scale: u32, fixed: Option<usize> },
    UuidString,
    UuidFixed,
    Temporal { kind: TemporalKind, writer_int: bool },
    WriterUnion(Box<[u32]>),
    ReaderUnion { union: NodeId, index: u32, inner: u32 },
    Fail(Box<str>),
}

#[derive(Debug)]
pub(crate) struct RRecord {
    pub(crate) node: NodeId,
    pub(crate) name: Box<str>,
    pub(crate) field_count: usize,
    pub(crate) fields: Vec<RField>,
    pub(crate) defaults: Vec<RDefault>,
}

#[derive(Debug)]
pub(crate) enum RField {
    Read { index: u32, name: Box<str>, r: u32 },
    Skip(u32),
}

#[derive(Debug)]
pub(crate) struct RDefault {
    pub(crate) index: u32,
    pub(crate) name: Box<str>,
    pub(crate) r: u32,
    pub(crate) bytes: Option<Box<[u8]>>,
}

#[derive(Debug)]
pub(crate) struct REnum {
    pub(crate) symbols: Vec<Box<str>>,
    /// Writer symbol index -> reader symbol index (None: unknown and no reader default).
    pub(crate) map: Vec<Option<u32>>,
}

/// A compiled read plan.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    pub(crate) nodes: Vec<RNode>,
    pub(crate) zero_size: Vec<bool>,
    pub(crate) root: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    W,
    R,
}

struct Resolver<'a> {
    w: &'a [Node],
    r: &'a [Node],
    out: Vec<RNode>,
    memo: HashMap<(Side, NodeId, Side, NodeId), u32>,
}

/// The underlying Avro type class of a node, for matching.
#[derive(PartialEq)]
enum Base<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(&'a str, usize),
    Other,
}

fn base(n: &Node) -> Base<'_> {
    match n {
        Node::Null => Base::Null,
        Node::Boolean => Base::Boolean,
        Node::Int => Base::Int,
        Node::Long => Base::Long,
        Node::Float => Base::Float,
        Node::Double => Base::Double,
        Node::Bytes => Base::Bytes,
        Node::String => Base::String,
        Node::Fixed(f) => Base::Fixed(&f.fullname, f.size),
        Node::Decimal(d) => match &d.fixed {
            Some((n, s)) => Base::Fixed(n, *s),
            None => Base::Bytes,
        },
        Node::Uuid { fixed: Some(n) } => Base::Fixed(n, 16),
        Node::Uuid { fixed: None } => Base::String,
        Node::Temporal(k) if k.is_int() => Base::Int,
        Node::Temporal(_) => Base::Long,
        _ => Base::Other,
    }
}

fn short(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s)
}

fn names_match(w_full: &str, r_full: &str, r_aliases: &[Box<str>]) -> bool {
    w_full == r_full
        || short(w_full) == short(r_full)
        || r_aliases.iter().any(|a| &**a == w_full || short(a) == short(w_full))
}

impl<'a> Resolver<'a> {
    fn nodes(&self, s: Side) -> &'a [Node] {
        match s {
            Side::W => self.w,
            Side::R => self.r,
        }
    }

    fn push(&mut self, n: RNode) -> u32 {
        self.out.push(n);
        (self.out.len() - 1) as u32
    }

    /// Whether writer `w` can be read as reader `r` without a failing node (shallow).
    fn matches(&self, ws: Side, w: NodeId, rs: Side, r: NodeId, exact: bool) -> bool {
        let (wn, rn) = (&self.nodes(ws)[w as usize], &self.nodes(rs)[r as usize]);
        match (wn, rn) {
            (Node::Record(a), Node::Record(b)) => names_match(&a.fullname, &b.fullname, &b.aliases),
            (Node::Enum(a), Node::Enum(b)) => names_match(&a.fullname, &b.fullname, &b.aliases),
            (Node::Fixed(a), Node::Fixed(b)) => {
                a.size == b.size && names_match(&a.fullname, &b.fullname, &b.aliases)
            }
            (Node::Array(_), Node::Array(_)) | (Node::Map(_), Node::Map(_)) => true,
            (Node::Union(_), _) | (_, Node::Union(_)) => false,
            _ => {
                let (bw, br) = (base(wn), base(rn));
                if bw == Base::Other || br == Base::Other {
                    return false;
                }
                match (&bw, &br) {
                    (Base::Fixed(a, s1), Base::Fixed(b, s2)) => s1 == s2 && short(a) == short(b),
                    _ if bw == br => true,
                    _ if exact => false,
                    (Base::Int, Base::Long | Base::Float | Base::Double)
                    | (Base::Long, Base::Float | Base::Double)
                    | (Base::Float, Base::Double)
                    | (Base::String, Base::Bytes)
                    | (Base::Bytes, Base::String) => true,
                    _ => false,
                }
            }
        }
    }

    fn resolve(&mut self, ws: Side, w: NodeId, rs: Side, r: NodeId) -> u32 {
        let key = (ws, w, rs, r);
        if let Some(&id) = self.memo.get(&key) {
            return id;
        }
        let (wn, rn) = (&self.nodes(ws)[w as usize], &self.nodes(rs)[r as usize]);
        // Containers get their slot first so recursion finds it.
        let slot = self.push(RNode::Null);
        self.memo.insert(key, slot);
        let node = match (wn, rn) {
            (Node::Union(wu), _) => {
                let branches: Vec<u32> =
                    wu.branches.iter().map(|&b| self.resolve(ws, b, rs, r)).collect();
                RNode::WriterUnion(branches.into_boxed_slice())
            }
            (_, Node::Union(ru)) => {
                let branches = &ru.branches;
                let pick = branches
                    .iter()
                    .position(|&b| ws == rs && b == w)
                    .or_else(|| branches.iter().position(|&b| self.matches(ws, w, rs, b, true)))
                    .or_else(|| branches.iter().position(|&b| self.matches(ws, w, rs, b, false)));
                match pick {
                    Some(i) => {
                        let inner = self.resolve(ws, w, rs, branches[i]);
                        RNode::ReaderUnion { union: r, index: i as u32, inner }
                    }
                    None => RNode::Fail(
                        format!(
                            "writer type {} matches no branch of reader {}",
                            super::plan::describe(self.nodes(ws), w),
                            super::plan::describe(self.nodes(rs), r)
                        )
                        .into(),
                    ),
                }
            }
            (Node::Record(wr), Node::Record(rr))
                if names_match(&wr.fullname, &rr.fullname, &rr.aliases) =>
            {
                let mut used = vec![false; rr.fields.len()];
                let mut fields = Vec::with_capacity(wr.fields.len());
                for wf in &wr.fields {
                    let ri =
                        rr.by_name.get(&wf.name).copied().or_else(|| {
                            rr.fields.iter().position(|rf| rf.aliases.contains(&wf.name))
                        });
                    match ri {
                        Some(ri) if !used[ri] => {
                            used[ri] = true;
                            let rnode = self.resolve(ws, wf.node, rs, rr.fields[ri].node);
                            fields.push(RField::Read {
                                index: ri as u32,
                                name: rr.fields[ri].name.clone(),
                                r: rnode,
                            });
                        }
                        _ => {
                            let skip = self.resolve(ws, wf.node, ws, wf.node);
                            fields.push(RField::Skip(skip));
                        }
                    }
                }
                let mut defaults = Vec::new();
                for (i, rf) in rr.fields.iter().enumerate() {
                    if !used[i] {
                        let rnode = self.resolve(rs, rf.node, rs, rf.node);
                        defaults.push(RDefault {
                            index: i as u32,
                            name: rf.name.clone(),
                            r: rnode,
                            bytes: rf.default_bytes.clone(),
                        });
                    }
                }
                RNode::Record(Box::new(RRecord {
                    node: r,
                    name: rr.fullname.clone(),
                    field_count: rr.fields.len(),
                    fields,
                    defaults,
                }))
            }
            (Node::Enum(we), Node::Enum(re))
                if names_match(&we.fullname, &re.fullname, &re.aliases) =>
            {
                let map = we
                    .symbols
                    .iter()
                    .map(|s| {
                        re.symbols.iter().position(|x| x == s).map(|i| i as u32).or(re.default)
                    })
                    .collect();
                RNode::Enum(Box::new(REnum { symbols: re.symbols.clone(), map }))
            }
            (Node::Array(wi), Node::Array(ri)) => {
                let (wi, ri) = (*wi, *ri);
                RNode::Array(self.resolve(ws, wi, rs, ri))
            }
            (Node::Map(wv), Node::Map(rv)) => {
                let (wv, rv) = (*wv, *rv);
                RNode::Map(self.resolve(ws, wv, rs, rv))
            }
            _ => self.leaf(wn, rn),
        };
        self.out[slot as usize] = node;
        slot
    }

    fn leaf(&self, wn: &Node, rn: &Node) -> RNode {
        let (bw, br) = (base(wn), base(rn));
        let fail = || {
            RNode::Fail(
                format!(
                    "writer type {} cannot be read as {}",
                    describe_node(wn),
                    describe_node(rn)
                )
                .into(),
            )
        };
        // Reader logical types apply when the underlying types agree.
        if bw == br || matches!((&bw, &br), (Base::Fixed(_, a), Base::Fixed(_, b)) if a == b) {
            if let (Base::Fixed(a, _), Base::Fixed(b, _)) = (&bw, &br) {
                let aliases: &[Box<str>] = match rn {
                    Node::Fixed(f) => &f.aliases,
                    _ => &[],
                };
                if !names_match(a, b, aliases) {
                    return fail();
                }
            }
            return match rn {
                Node::Decimal(d) => {
                    let (precision, scale) = match wn {
                        Node::Decimal(wd) => (wd.precision, wd.scale),
                        _ => (d.precision, d.scale),
                    };
                    RNode::Decimal { precision, scale, fixed: d.fixed.as_ref().map(|f| f.1) }
                }
                Node::Uuid { fixed: None } => RNode::UuidString,
                Node::Uuid { fixed: Some(_) } => RNode::UuidFixed,
                Node::Temporal(k) => RNode::Temporal { kind: *k, writer_int: k.is_int() },
                Node::Fixed(f) => RNode::Fixed(f.size),
                _ => match br {
                    Base::Null => RNode::Null,
                    Base::Boolean => RNode::Boolean,
                    Base::Int => RNode::Int,
                    Base::Long => RNode::Long,
                    Base::Float => RNode::Float,
                    Base::Double => RNode::Double,
                    Base::Bytes => RNode::Bytes,
                    Base::String => RNode::String,
                    Base::Fixed(_, s) => RNode::Fixed(s),
                    Base::Other => fail(),
                },
            };
        }
        match (bw, br) {
            (Base::Int, Base::Long) => RNode::IntAsLong,
            (Base::Int, Base::Float) => RNode::IntAsFloat,
            (Base::Int, Base::Double) => RNode::IntAsDouble,
            (Base::Long, Base::Float) => RNode::LongAsFloat,
            (Base::Long, Base::Double) => RNode::LongAsDouble,
            (Base::Float, Base::Double) => RNode::FloatAsDouble,
            (Base::Bytes, Base::String) => RNode::BytesAsString,
            (Base::String, Base::Bytes) => RNode::StringAsBytes,
            _ => fail(),
        }
    }
}

fn describe_node(n: &Node) -> String {
    match n {
        Node::Record(r) => format!("record {}", r.fullname),
        Node::Enum(e) => format!("enum {}", e.fullname),
        Node::Fixed(f) => format!("fixed {}", f.fullname),
        Node::Array(_) => "array".into(),
        Node::Map(_) => "map".into(),
        Node::Union(_) => "union".into(),
        Node::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
        Node::Uuid { .. } => "uuid".into(),
        Node::Temporal(k) => k.name().into(),
        Node::Null => "null".into(),
        Node::Boolean => "boolean".into(),
        Node::Int => "int".into(),
        Node::Long => "long".into(),
        Node::Float => "float".into(),
        Node::Double => "double".into(),
        Node::Bytes => "bytes".into(),
        Node::String => "string".into(),
    }
}

impl ReadPlan {
    pub(crate) fn identity(nodes: &[Node], root: NodeId) -> ReadPlan {
        let mut r = Resolver { w: nodes, r: nodes, out: Vec::new(), memo: HashMap::new() };
        let root = r.resolve(Side::W, root, Side::W, root);
        ReadPlan::finish(r.out, root)
    }

    fn resolve(writer: &CompiledSchema, reader: &CompiledSchema) -> ReadPlan {
        let mut r = Resolver {
            w: writer.nodes(),
            r: reader.nodes(),
            out: Vec::new(),
            memo: HashMap::new(),
        };
        let root = r.resolve(Side::W, writer.root(), Side::R, reader.root());
        ReadPlan::finish(r.out, root)
    }

    fn finish(nodes: Vec<RNode>, root: u32) -> ReadPlan {
        // Least fixpoint of "may encode to zero bytes".
        let mut zero = vec![false; nodes.len()];
        loop {
            let mut changed = false;
            for (i, n) in nodes.iter().enumerate() {
                if zero[i] {
                    continue;
                }
                let z = match n {
                    RNode::Null | RNode::Fixed(0) => true,
                    RNode::Decimal { fixed: Some(0), .. } => true,
                    RNode::Record(r) => r.fields.iter().all(|f| match f {
                        RField::Read { r, .. } | RField::Skip(r) => zero[*r as usize],
                    }),
                    RNode::ReaderUnion { inner, .. } => zero[*inner as usize],
                    _ => false,
                };
                if z {
                    zero[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        ReadPlan { nodes, zero_size: zero, root }
    }
}

/// A writer schema resolved against a reader schema (Avro schema resolution), compiled once.
/// Cache one per (writer id, reader) pair.
#[derive(Clone)]
pub struct Projection {
    plan: Arc<ReadPlan>,
    reader: CompiledSchema,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection").field("reader", &self.reader).finish()
    }
}

impl Projection {
    /// Resolves `writer` against `reader`. Fails (`serde.decode`) when the root types cannot
    /// match; mismatches deeper down (a union branch the reader lacks, an enum symbol without
    /// a reader default, a reader-only field without default) fail when a record uses them.
    pub fn new(writer: &CompiledSchema, reader: &CompiledSchema) -> Result<Projection> {
        let plan = ReadPlan::resolve(writer, reader);
        if let RNode::Fail(why) = &plan.nodes[plan.root as usize] {
            return Err(Error::decode(format!("cannot read with the reader schema: {why}")));
        }
        Ok(Projection { plan: Arc::new(plan), reader: reader.clone() })
    }

    /// Decodes an Avro body written with the projection's writer schema.
    pub fn decode<B: ValueBuilder>(&self, body: &[u8], builder: &mut B) -> Result<B::Value> {
        run(&self.plan, &self.reader, body, builder)
    }
}

pub(crate) fn identity_plan(schema: &CompiledSchema) -> &ReadPlan {
    &schema.0.identity
}
