//! What both checkers share: a name index per schema (so `Schema::Ref` resolves), the
//! underlying Avro type of every schema (logical types judged on what they annotate), and the
//! short type descriptions used in messages and paths.

use std::collections::HashMap;

use apache_avro::schema::{Alias, EnumSchema, FixedSchema, Name, RecordSchema};
use apache_avro::Schema;

/// One schema with its named types indexed by full name (and by the full names of their
/// aliases, as the parser registers them), so references resolve without cloning.
pub(super) struct Side<'a> {
    names: HashMap<&'a Name, &'a Schema>,
    aliases: HashMap<Name, &'a Schema>,
}

impl<'a> Side<'a> {
    pub(super) fn new(root: &'a Schema) -> Self {
        let mut side = Side { names: HashMap::new(), aliases: HashMap::new() };
        side.collect(root);
        side
    }

    fn collect(&mut self, schema: &'a Schema) {
        match schema {
            Schema::Record(r) => {
                if self.names.insert(&r.name, schema).is_some() {
                    return; // defined twice: the parser refuses this; never loop on it
                }
                self.collect_aliases(&r.name, r.aliases.as_deref(), schema);
                for f in &r.fields {
                    self.collect(&f.schema);
                }
            }
            Schema::Enum(e) => {
                self.names.insert(&e.name, schema);
                self.collect_aliases(&e.name, e.aliases.as_deref(), schema);
            }
            Schema::Fixed(f) => {
                self.names.insert(&f.name, schema);
                self.collect_aliases(&f.name, f.aliases.as_deref(), schema);
            }
            Schema::Array(a) => self.collect(&a.items),
            Schema::Map(m) => self.collect(&m.types),
            Schema::Union(u) => {
                for v in u.variants() {
                    self.collect(v);
                }
            }
            Schema::Decimal(d) => self.collect(&d.inner),
            _ => {}
        }
    }

    fn collect_aliases(&mut self, name: &Name, aliases: Option<&[Alias]>, schema: &'a Schema) {
        for a in aliases.unwrap_or_default() {
            self.aliases.entry(a.fully_qualified_name(&name.namespace)).or_insert(schema);
        }
    }

    /// The definition a reference points to; anything else unchanged. An unresolvable
    /// reference (the parser drops the name of a `fixed` it turns into `uuid` or `duration`)
    /// comes back as itself and is compared by name only.
    pub(super) fn deref(&self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self
                .names
                .get(name)
                .or_else(|| self.aliases.get(name))
                .copied()
                .filter(|s| !matches!(s, Schema::Ref { .. }))
                .unwrap_or(schema),
            _ => schema,
        }
    }

    /// The Avro type a schema is encoded as: logical types give their underlying type.
    pub(super) fn base(&self, schema: &'a Schema) -> Base<'a> {
        match self.deref(schema) {
            Schema::Null => Base::Null,
            Schema::Boolean => Base::Boolean,
            Schema::Int | Schema::Date | Schema::TimeMillis => Base::Int,
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => Base::Long,
            Schema::Float => Base::Float,
            Schema::Double => Base::Double,
            Schema::Bytes | Schema::BigDecimal => Base::Bytes,
            // apache-avro also turns a fixed(16) with logicalType uuid into `Uuid`, dropping the
            // fixed; such a uuid is judged as a string (documented in docs/compat.md).
            Schema::String | Schema::Uuid => Base::String,
            Schema::Array(a) => Base::Array(&a.items),
            Schema::Map(m) => Base::Map(&m.types),
            Schema::Union(u) => Base::Union(u.variants()),
            Schema::Record(r) => Base::Record(r),
            Schema::Enum(e) => Base::Enum(e),
            Schema::Fixed(f) => Base::Fixed(Some(f), f.size),
            Schema::Duration => Base::Fixed(None, 12),
            Schema::Decimal(d) => match self.deref(&d.inner) {
                // never a decimal in a decimal; guard against it anyway (no recursion)
                Schema::Fixed(f) => Base::Fixed(Some(f), f.size),
                _ => Base::Bytes,
            },
            Schema::Ref { name } => Base::Opaque(name),
        }
    }

    /// A short description for messages: `int`, `decimal(12,2)`, `array<record Item>`,
    /// `[null, string]`.
    pub(super) fn describe(&self, schema: &'a Schema) -> String {
        self.describe_depth(schema, 0)
    }

    fn describe_depth(&self, schema: &'a Schema, depth: usize) -> String {
        if depth > 8 {
            return "...".into();
        }
        match self.deref(schema) {
            Schema::Array(a) => format!("array<{}>", self.describe_depth(&a.items, depth + 1)),
            Schema::Map(m) => format!("map<{}>", self.describe_depth(&m.types, depth + 1)),
            Schema::Union(u) => {
                let parts: Vec<String> =
                    u.variants().iter().map(|v| self.describe_depth(v, depth + 1)).collect();
                format!("[{}]", parts.join(", "))
            }
            Schema::Record(r) => format!("record {}", r.name.name),
            Schema::Enum(e) => format!("enum {}", e.name.name),
            Schema::Fixed(f) => format!("fixed {}({})", f.name.name, f.size),
            Schema::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
            Schema::Ref { name } => name.name.clone(),
            other => simple_label(other).to_string(),
        }
    }

    /// The label of a union branch in a path (`<string>`, `<Address>`, `<array>`) and its
    /// identity when the house policy pairs the branches of two unions.
    pub(super) fn label(&self, schema: &'a Schema) -> String {
        match self.deref(schema) {
            Schema::Record(r) => r.name.name.clone(),
            Schema::Enum(e) => e.name.name.clone(),
            Schema::Fixed(f) => f.name.name.clone(),
            Schema::Ref { name } => name.name.clone(),
            other => simple_label(other).to_string(),
        }
    }

    /// Identity of a union branch for the house policy: full name for named types, the
    /// (logical) type otherwise.
    pub(super) fn identity(&self, schema: &'a Schema) -> String {
        match self.deref(schema) {
            Schema::Record(r) => r.name.to_string(),
            Schema::Enum(e) => e.name.to_string(),
            Schema::Fixed(f) => f.name.to_string(),
            Schema::Ref { name } => name.to_string(),
            other => simple_label(other).to_string(),
        }
    }
}

/// The type name of a schema without its parameters (`decimal`, `array`, `timestamp-millis`).
pub(super) fn simple_label(schema: &Schema) -> &'static str {
    match schema {
        Schema::Null => "null",
        Schema::Boolean => "boolean",
        Schema::Int => "int",
        Schema::Long => "long",
        Schema::Float => "float",
        Schema::Double => "double",
        Schema::Bytes => "bytes",
        Schema::String => "string",
        Schema::Array(_) => "array",
        Schema::Map(_) => "map",
        Schema::Union(_) => "union",
        Schema::Record(_) => "record",
        Schema::Enum(_) => "enum",
        Schema::Fixed(_) => "fixed",
        Schema::Decimal(_) => "decimal",
        Schema::BigDecimal => "big-decimal",
        Schema::Uuid => "uuid",
        Schema::Date => "date",
        Schema::TimeMillis => "time-millis",
        Schema::TimeMicros => "time-micros",
        Schema::TimestampMillis => "timestamp-millis",
        Schema::TimestampMicros => "timestamp-micros",
        Schema::TimestampNanos => "timestamp-nanos",
        Schema::LocalTimestampMillis => "local-timestamp-millis",
        Schema::LocalTimestampMicros => "local-timestamp-micros",
        Schema::LocalTimestampNanos => "local-timestamp-nanos",
        Schema::Duration => "duration",
        Schema::Ref { .. } => "reference",
    }
}

/// A schema as Avro's resolution rules see it.
pub(super) enum Base<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a [Schema]),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    /// A fixed (None: the parser dropped its name, as for `duration`) and its size.
    Fixed(Option<&'a FixedSchema>, usize),
    /// A reference that does not resolve within the schema; compared by name.
    Opaque(&'a Name),
}

impl Base<'_> {
    /// Same kind of type, ignoring names and parameters (used to pick the union branch to
    /// explain when none is compatible).
    pub(super) fn same_kind(&self, other: &Base<'_>) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The unqualified name of a named type.
    pub(super) fn short_name(&self) -> Option<&str> {
        match self {
            Base::Record(r) => Some(&r.name.name),
            Base::Enum(e) => Some(&e.name.name),
            Base::Fixed(Some(f), _) => Some(&f.name.name),
            Base::Opaque(n) => Some(&n.name),
            _ => None,
        }
    }
}

/// The root of every path: the name of a named root type, nothing for a union (its branches
/// follow as `<Branch>`), else the type (`array`, `map`, `string`).
pub(super) fn root_path<'a>(side: &Side<'a>, schema: &'a Schema) -> String {
    match side.deref(schema) {
        Schema::Record(r) => r.name.name.clone(),
        Schema::Enum(e) => e.name.name.clone(),
        Schema::Fixed(f) => f.name.name.clone(),
        Schema::Ref { name } => name.name.clone(),
        Schema::Union(_) => String::new(),
        other => simple_label(other).to_string(),
    }
}
