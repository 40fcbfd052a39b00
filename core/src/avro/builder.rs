//! The interface between the decoder and native values: a [`ValueBuilder`] builds a binding's
//! values while the decoder walks a payload; [`Skip`] builds nothing.

use super::plan::{CompiledSchema, Node, NodeId, TemporalKind};
use super::source::ValueSource;
use crate::error::Result;

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
    pub(crate) schema: &'a CompiledSchema,
    pub(crate) union: NodeId,
    pub(crate) index: usize,
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

    /// An Avro `null`.
    fn null(&mut self) -> Result<Self::Value>;
    /// An Avro `boolean`.
    fn boolean(&mut self, v: bool) -> Result<Self::Value>;
    /// An Avro `int`.
    fn int(&mut self, v: i32) -> Result<Self::Value>;
    /// An Avro `long`, also a writer `int` read as a reader `long`.
    fn long(&mut self, v: i64) -> Result<Self::Value>;
    /// An Avro `float`, also a writer `int` or `long` read as a reader `float`.
    fn float(&mut self, v: f32) -> Result<Self::Value>;
    /// An Avro `double`, also a writer `int`, `long` or `float` read as a reader `double`.
    fn double(&mut self, v: f64) -> Result<Self::Value>;
    /// An Avro `bytes`, also a writer `string` read as a reader `bytes`.
    fn bytes(&mut self, v: &[u8]) -> Result<Self::Value>;
    /// An Avro `string` (valid UTF-8), also a writer `bytes` read as a reader `string`.
    fn string(&mut self, v: &str) -> Result<Self::Value>;
    /// An Avro `fixed`: exactly the schema's size in bytes.
    fn fixed(&mut self, v: &[u8]) -> Result<Self::Value>;
    /// An enum symbol: `index` is its position in the reader's symbols.
    fn enum_symbol(&mut self, index: u32, symbol: &str) -> Result<Self::Value>;
    /// A decimal: `unscaled` is big-endian two's complement (see [`super::decimal_text`]).
    fn decimal(&mut self, unscaled: &[u8], precision: u32, scale: u32) -> Result<Self::Value>;
    /// A `uuid` logical value (from a `string` or a `fixed(16)`), as its 16 bytes.
    fn uuid(&mut self, v: &[u8; 16]) -> Result<Self::Value>;
    /// A date/time logical value as its Avro number (days, millis, micros, nanos per `kind`).
    fn temporal(&mut self, kind: TemporalKind, v: i64) -> Result<Self::Value>;
    /// Starts a record; its fields follow through [`ValueBuilder::record_field`].
    fn record_start(&mut self, info: &RecordInfo<'_>) -> Result<Self::Record>;
    /// A field, in writer order, then reader-only fields (defaults); `index` is the reader's.
    fn record_field(
        &mut self,
        rec: &mut Self::Record,
        index: usize,
        name: &str,
        v: Self::Value,
    ) -> Result<()>;
    /// Finishes a record once all its fields are set.
    fn record_end(&mut self, rec: Self::Record) -> Result<Self::Value>;
    /// `size_hint` is bounded by the input length; never trust it for more.
    fn array_start(&mut self, size_hint: usize) -> Result<Self::Array>;
    /// Appends an item to an array, in order.
    fn array_push(&mut self, arr: &mut Self::Array, v: Self::Value) -> Result<()>;
    /// Finishes an array.
    fn array_end(&mut self, arr: Self::Array) -> Result<Self::Value>;
    /// Starts a map; `size_hint` is bounded by the input length; never trust it for more.
    fn map_start(&mut self, size_hint: usize) -> Result<Self::Map>;
    /// Inserts an entry into a map, in payload order.
    fn map_insert(&mut self, map: &mut Self::Map, key: &str, v: Self::Value) -> Result<()>;
    /// Finishes a map.
    fn map_end(&mut self, map: Self::Map) -> Result<Self::Value>;
    /// Called with the value of a union branch; the default returns it unwrapped.
    fn union_value(&mut self, branch: &UnionBranch<'_>, v: Self::Value) -> Result<Self::Value> {
        let _ = branch;
        Ok(v)
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
