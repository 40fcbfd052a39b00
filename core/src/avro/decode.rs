//! The decoder: a read plan (writer schema resolved against a reader schema, or against itself)
//! walked over the payload, building native values through a [`ValueBuilder`].

use std::collections::HashMap;
use std::sync::Arc;

use super::encode::MAX_DEPTH;
use super::plan::{CompiledSchema, Node, NodeId, TemporalKind};
use super::source::ValueSource;
use crate::error::{Error, Result};

/// Most items an array or map of zero-byte values (nulls, empty records) may claim.
pub const MAX_ZERO_SIZE_ITEMS: u64 = 1 << 20;

/// What the decoder tells a builder about a record.
#[derive(Debug, Clone, Copy)]
pub struct RecordInfo<'a> {
    /// Full name of the (reader) record.
    pub name: &'a str,
    /// Number of fields the built record will have (reader fields).
    pub field_count: usize,
    /// Index of the record in its schema's plan; stable for a [`CompiledSchema`], so a builder
    /// may cache per-record data (interned keys, classes) by it.
    pub id: u32,
}

/// The branch of a union the decoder read, with what a builder needs to decide how to present
/// it (natural JSON unwraps unless the union rule would pick another branch on the way back).
#[derive(Clone, Copy)]
pub struct UnionBranch<'a> {
    schema: &'a CompiledSchema,
    union: NodeId,
    index: usize,
}

impl<'a> UnionBranch<'a> {
    /// Position of the branch in the (reader) union.
    pub fn index(&self) -> usize {
        self.index
    }
    /// The branch's name for explicit selection: its type name or its full name.
    pub fn name(&self) -> &'a str {
        match &self.schema.nodes()[self.union as usize] {
            Node::Union(u) => &u.names[self.index],
            _ => "",
        }
    }
    /// True when the union has no branch before this one but `null`, so an unwrapped non-null
    /// value always reads back into this branch: the cheap common case.
    pub fn unambiguous(&self) -> bool {
        match &self.schema.nodes()[self.union as usize] {
            Node::Union(u) => self.index == 0 || (self.index == 1 && u.null_index == Some(0)),
            _ => true,
        }
    }
    /// The branch the union rule (see docs/avro.md) would pick for `value` when encoding it.
    pub fn natural_index<S: ValueSource>(&self, value: &S) -> Option<usize> {
        super::encode::natural_branch(self.schema.nodes(), self.union, value)
    }
}

/// Builds native values while the decoder walks a payload. Each binding implements it over its
/// own values (Python objects, JS values, ...); the core implements it for natural JSON
/// ([`super::JsonBuilder`]) and apache-avro's `Value` ([`super::ApacheBuilder`]).
pub trait ValueBuilder {
    /// A finished value.
    type Value;
    /// A record under construction.
    type Record;
    /// An array under construction.
    type Array;
    /// A map under construction.
    type Map;

    fn null(&mut self) -> Result<Self::Value>;
    fn boolean(&mut self, v: bool) -> Result<Self::Value>;
    fn int(&mut self, v: i32) -> Result<Self::Value>;
    fn long(&mut self, v: i64) -> Result<Self::Value>;
    fn float(&mut self, v: f32) -> Result<Self::Value>;
    fn double(&mut self, v: f64) -> Result<Self::Value>;
    fn bytes(&mut self, v: &[u8]) -> Result<Self::Value>;
    fn string(&mut self, v: &str) -> Result<Self::Value>;
    fn fixed(&mut self, v: &[u8]) -> Result<Self::Value>;
    fn enum_symbol(&mut self, index: u32, symbol: &str) -> Result<Self::Value>;
    /// A decimal: `unscaled` is big-endian two's complement (see [`super::decimal_text`]).
    fn decimal(&mut self, unscaled: &[u8], precision: u32, scale: u32) -> Result<Self::Value>;
    fn uuid(&mut self, v: &[u8; 16]) -> Result<Self::Value>;
    /// A date/time logical value as its Avro number (days, millis, micros, nanos per `kind`).
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> Result<Self::Value>;
    fn record_start(&mut self, info: &RecordInfo<'_>) -> Result<Self::Record>;
    /// A field, in writer order, then reader-only fields (defaults); `index` is the reader's.
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        index: usize,
        name: &str,
        v: Self::Value,
    ) -> Result<()>;
    fn record_end(&mut self, rec: Self::Record) -> Result<Self::Value>;
    /// `size_hint` is bounded by the input length; never trust it for more.
    fn array_start(&mut self, size_hint: usize) -> Result<Self::Array>;
    fn array_push(&mut self, arr: &mut Self::Array, v: Self::Value) -> Result<()>;
    fn array_end(&mut self, arr: Self::Array) -> Result<Self::Value>;
    fn map_start(&mut self, size_hint: usize) -> Result<Self::Map>;
    fn map_insert(&mut self, map: &mut Self::Map, key: &str, v: Self::Value) -> Result<()>;
    fn map_end(&mut self, map: Self::Map) -> Result<Self::Value>;
    /// Called with the value of a union branch; the default returns it unwrapped.
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Self::Value) -> Result<Self::Value> {
        let _ = branch;
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Read plan
// ---------------------------------------------------------------------------------------------

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
    node: NodeId,
    name: Box<str>,
    field_count: usize,
    fields: Vec<RField>,
    defaults: Vec<RDefault>,
}

#[derive(Debug)]
enum RField {
    Read { index: u32, name: Box<str>, r: u32 },
    Skip(u32),
}

#[derive(Debug)]
struct RDefault {
    index: u32,
    name: Box<str>,
    r: u32,
    bytes: Option<Box<[u8]>>,
}

#[derive(Debug)]
pub(crate) struct REnum {
    symbols: Vec<Box<str>>,
    /// Writer symbol index -> reader symbol index (None: unknown and no reader default).
    map: Vec<Option<u32>>,
}

/// A compiled read plan.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    nodes: Vec<RNode>,
    zero_size: Vec<bool>,
    root: u32,
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

pub(crate) fn run<B: ValueBuilder>(
    plan: &ReadPlan,
    reader: &CompiledSchema,
    body: &[u8],
    b: &mut B,
) -> Result<B::Value> {
    let mut d = Dec { buf: body, pos: 0, plan, reader };
    let v = d.read(plan.root, b, 0)?;
    if d.pos != body.len() {
        return Err(Error::decode(format!(
            "{} trailing bytes after the value",
            body.len() - d.pos
        )));
    }
    Ok(v)
}

pub(crate) fn identity_plan(schema: &CompiledSchema) -> &ReadPlan {
    &schema.0.identity
}

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

struct Dec<'a, 'p> {
    buf: &'a [u8],
    pos: usize,
    plan: &'p ReadPlan,
    reader: &'p CompiledSchema,
}

fn truncated() -> Error {
    Error::decode("truncated: the body ends inside a value")
}

impl<'a, 'p> Dec<'a, 'p> {
    #[inline]
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    fn long(&mut self) -> Result<i64> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(truncated());
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Error::decode("varint overflows 64 bits"));
            }
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::decode("varint overflows 64 bits"));
            }
        }
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    #[inline]
    fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v)
            .map_err(|_| Error::decode(format!("int value {v} outside the 32-bit range")))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(truncated());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.long()?;
        if n < 0 {
            return Err(Error::decode(format!("negative length {n}")));
        }
        if n as u64 > self.remaining() as u64 {
            return Err(Error::decode(format!(
                "length {n} exceeds the {} remaining bytes",
                self.remaining()
            )));
        }
        self.take(n as usize)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str> {
        let b = self.len_prefixed()?;
        std::str::from_utf8(b).map_err(|e| Error::decode(format!("invalid UTF-8 in a string: {e}")))
    }

    fn f32(&mut self) -> Result<f32> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// Reads a block count; returns (count, remaining bytes check done).
    fn block(&mut self, zero_size: bool, total: &mut u64) -> Result<u64> {
        let c = self.long()?;
        let count = if c < 0 {
            let _size = self.long()?;
            c.unsigned_abs()
        } else {
            c as u64
        };
        *total = total.saturating_add(count);
        if zero_size {
            if *total > MAX_ZERO_SIZE_ITEMS {
                return Err(Error::decode(format!(
                    "more than {MAX_ZERO_SIZE_ITEMS} zero-size items"
                )));
            }
        } else if count > self.remaining() as u64 {
            return Err(Error::decode(format!(
                "block count {count} exceeds the {} remaining bytes",
                self.remaining()
            )));
        }
        Ok(count)
    }

    /// Dispatcher kept small: in debug builds big match frames would multiply by the nesting
    /// depth, so leaves and each container kind live in their own functions.
    fn read<B: ValueBuilder>(&mut self, r: u32, b: &mut B, depth: u32) -> Result<B::Value> {
        let plan = self.plan;
        match &plan.nodes[r as usize] {
            RNode::Array(item) => self.read_array(*item, b, depth),
            RNode::Map(val) => self.read_map(*val, b, depth),
            RNode::Record(rec) => self.read_record(rec, b, depth),
            RNode::WriterUnion(branches) => self.read_writer_union(branches, b, depth),
            RNode::ReaderUnion { union, index, inner } => {
                let v = self.read(*inner, b, depth)?;
                let ub = UnionBranch { schema: self.reader, union: *union, index: *index as usize };
                b.union_value(&ub, v)
            }
            leaf => self.read_leaf(leaf, b),
        }
    }

    fn read_leaf<B: ValueBuilder>(&mut self, node: &RNode, b: &mut B) -> Result<B::Value> {
        match node {
            RNode::Null => b.null(),
            RNode::Boolean => match self.take(1)?[0] {
                0 => b.boolean(false),
                1 => b.boolean(true),
                x => Err(Error::decode(format!("boolean byte {x:#04x}"))),
            },
            RNode::Int => {
                let v = self.int()?;
                b.int(v)
            }
            RNode::Long => {
                let v = self.long()?;
                b.long(v)
            }
            RNode::Float => {
                let v = self.f32()?;
                b.float(v)
            }
            RNode::Double => {
                let v = self.f64()?;
                b.double(v)
            }
            RNode::Bytes | RNode::StringAsBytes => {
                let v = self.len_prefixed()?;
                b.bytes(v)
            }
            RNode::String | RNode::BytesAsString => {
                let v = self.str()?;
                b.string(v)
            }
            RNode::IntAsLong => {
                let v = self.int()?;
                b.long(v as i64)
            }
            RNode::IntAsFloat => {
                let v = self.int()?;
                b.float(v as f32)
            }
            RNode::IntAsDouble => {
                let v = self.int()?;
                b.double(v as f64)
            }
            RNode::LongAsFloat => {
                let v = self.long()?;
                b.float(v as f32)
            }
            RNode::LongAsDouble => {
                let v = self.long()?;
                b.double(v as f64)
            }
            RNode::FloatAsDouble => {
                let v = self.f32()?;
                b.double(v as f64)
            }
            RNode::Fixed(size) => {
                let v = self.take(*size)?;
                b.fixed(v)
            }
            RNode::Enum(e) => {
                let i = self.long()?;
                let ri = usize::try_from(i).ok().and_then(|i| e.map.get(i).copied());
                match ri {
                    Some(Some(ri)) => b.enum_symbol(ri, &e.symbols[ri as usize]),
                    Some(None) => Err(Error::decode(format!(
                        "enum symbol {i} is unknown to the reader and it has no default"
                    ))),
                    None => Err(Error::decode(format!("enum index {i} out of range"))),
                }
            }
            RNode::Decimal { precision, scale, fixed } => {
                let v = match fixed {
                    Some(size) => self.take(*size)?,
                    None => self.len_prefixed()?,
                };
                b.decimal(v, *precision, *scale)
            }
            RNode::UuidString => {
                let s = self.str()?;
                match super::logical::parse_uuid(s) {
                    Some(u) => b.uuid(&u),
                    None => Err(Error::decode(format!("uuid field holds {s:?}"))),
                }
            }
            RNode::UuidFixed => {
                let v = self.take(16)?;
                let mut u = [0u8; 16];
                u.copy_from_slice(v);
                b.uuid(&u)
            }
            RNode::Temporal { kind, writer_int } => {
                let v = if *writer_int { self.int()? as i64 } else { self.long()? };
                b.temporal(*kind, v)
            }
            RNode::Fail(why) => Err(Error::decode(why.to_string())),
            _ => Err(Error::Internal { reason: "read plan: container reached read_leaf".into() }),
        }
    }

    fn read_array<B: ValueBuilder>(
        &mut self,
        item: u32,
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let plan = self.plan;
        let depth = self.deeper(depth)?;
        let zero = plan.zero_size[item as usize];
        let mut total = 0;
        let mut count = self.block(zero, &mut total)?;
        let mut arr = b.array_start((count as usize).min(self.remaining()).min(1024))?;
        while count != 0 {
            for _ in 0..count {
                let v = self.read(item, b, depth)?;
                b.array_push(&mut arr, v)?;
            }
            count = self.block(zero, &mut total)?;
        }
        b.array_end(arr)
    }

    fn read_map<B: ValueBuilder>(&mut self, val: u32, b: &mut B, depth: u32) -> Result<B::Value> {
        let depth = self.deeper(depth)?;
        let mut total = 0;
        // Every entry has at least its key's length byte, so counts are bounded.
        let mut count = self.block(false, &mut total)?;
        let mut map = b.map_start((count as usize).min(self.remaining()).min(1024))?;
        while count != 0 {
            for _ in 0..count {
                let k = self.str()?;
                let v = self.read(val, b, depth)?;
                b.map_insert(&mut map, k, v)?;
            }
            count = self.block(false, &mut total)?;
        }
        b.map_end(map)
    }

    fn read_record<B: ValueBuilder>(
        &mut self,
        rec: &RRecord,
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let depth = self.deeper(depth)?;
        let info = RecordInfo { name: &rec.name, field_count: rec.field_count, id: rec.node };
        let mut out = b.record_start(&info)?;
        for f in &rec.fields {
            match f {
                RField::Read { index, name, r } => {
                    let v = self.read(*r, b, depth)?;
                    b.record_field(&mut out, *index as usize, name, v)?;
                }
                RField::Skip(r) => {
                    self.read(*r, &mut Skip, depth)?;
                }
            }
        }
        for d in &rec.defaults {
            let Some(bytes) = &d.bytes else {
                return Err(Error::decode(format!(
                    "reader field {}.{} is not in the writer schema and has no default",
                    rec.name, d.name
                )));
            };
            let mut sub = Dec { buf: bytes, pos: 0, plan: self.plan, reader: self.reader };
            let v = sub.read(d.r, b, depth)?;
            b.record_field(&mut out, d.index as usize, &d.name, v)?;
        }
        b.record_end(out)
    }

    fn read_writer_union<B: ValueBuilder>(
        &mut self,
        branches: &[u32],
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let i = self.long()?;
        match usize::try_from(i).ok().and_then(|i| branches.get(i)) {
            Some(&br) => {
                let depth = self.deeper(depth)?;
                self.read(br, b, depth)
            }
            None => Err(Error::decode(format!(
                "union index {i} out of range ({} branches)",
                branches.len()
            ))),
        }
    }

    #[inline]
    fn deeper(&self, depth: u32) -> Result<u32> {
        if depth >= MAX_DEPTH {
            return Err(Error::decode(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(depth + 1)
    }
}

/// A builder that builds nothing: skips writer-only fields, and lets a caller decode only to
/// check a payload (the Python binding's `run` decodes with it, dead-lettering what fails, and
/// builds its own values for the handler later).
#[derive(Debug, Clone, Copy, Default)]
pub struct Skip;

impl ValueBuilder for Skip {
    type Value = ();
    type Record = ();
    type Array = ();
    type Map = ();
    fn null(&mut self) -> Result<()> {
        Ok(())
    }
    fn boolean(&mut self, _: bool) -> Result<()> {
        Ok(())
    }
    fn int(&mut self, _: i32) -> Result<()> {
        Ok(())
    }
    fn long(&mut self, _: i64) -> Result<()> {
        Ok(())
    }
    fn float(&mut self, _: f32) -> Result<()> {
        Ok(())
    }
    fn double(&mut self, _: f64) -> Result<()> {
        Ok(())
    }
    fn bytes(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn string(&mut self, _: &str) -> Result<()> {
        Ok(())
    }
    fn fixed(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn enum_symbol(&mut self, _: u32, _: &str) -> Result<()> {
        Ok(())
    }
    fn decimal(&mut self, _: &[u8], _: u32, _: u32) -> Result<()> {
        Ok(())
    }
    fn uuid(&mut self, _: &[u8; 16]) -> Result<()> {
        Ok(())
    }
    fn temporal(&mut self, _: TemporalKind, _: i64) -> Result<()> {
        Ok(())
    }
    fn record_start(&mut self, _: &RecordInfo<'_>) -> Result<()> {
        Ok(())
    }
    fn record_field(&mut self, _: &mut (), _: usize, _: &str, _: ()) -> Result<()> {
        Ok(())
    }
    fn record_end(&mut self, _: ()) -> Result<()> {
        Ok(())
    }
    fn array_start(&mut self, _: usize) -> Result<()> {
        Ok(())
    }
    fn array_push(&mut self, _: &mut (), _: ()) -> Result<()> {
        Ok(())
    }
    fn array_end(&mut self, _: ()) -> Result<()> {
        Ok(())
    }
    fn map_start(&mut self, _: usize) -> Result<()> {
        Ok(())
    }
    fn map_insert(&mut self, _: &mut (), _: &str, _: ()) -> Result<()> {
        Ok(())
    }
    fn map_end(&mut self, _: ()) -> Result<()> {
        Ok(())
    }
}
