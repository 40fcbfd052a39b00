//! The trait every binding implements over its own native values so the core can encode them
//! without converting to JSON or to a generic tree first.

use std::borrow::Cow;

use crate::error::Result;

/// What a native value is, as far as the encoder cares.
///
/// `Decimal`, `Uuid`, `Date`, `Time`, `Timestamp` and `LocalTimestamp` let a binding say "this
/// is natively a decimal / date / ..." (Python `Decimal`, `datetime.date`, `uuid.UUID`, ...);
/// the encoder then asks [`ValueSource::as_decimal`], [`ValueSource::as_temporal`] or
/// [`ValueSource::as_bytes`] (16 bytes for a uuid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A null (None, nil, JSON `null`).
    Null,
    /// A boolean.
    Bool,
    /// An integer (may not fit `i64`: then `as_i64` returns None).
    Int,
    /// A floating-point number.
    Float,
    /// Text.
    Str,
    /// A byte string.
    Bytes,
    /// A sequence (list, array, tuple).
    Seq,
    /// A mapping with string keys (dict, object, associative array); also records.
    Map,
    /// A native decimal, read with [`ValueSource::as_decimal`].
    Decimal,
    /// A native uuid, read with [`ValueSource::as_bytes`] (16 bytes).
    Uuid,
    /// A native date, read with [`ValueSource::as_temporal`].
    Date,
    /// A native time of day, read with [`ValueSource::as_temporal`].
    Time,
    /// A native instant (a datetime with a zone), read with [`ValueSource::as_temporal`].
    Timestamp,
    /// A native wall-clock datetime in no zone, read with [`ValueSource::as_temporal`].
    LocalTimestamp,
    /// Anything else (the encoder reports it by `describe`).
    Other,
}

impl Kind {
    /// Lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "boolean",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Str => "string",
            Kind::Bytes => "bytes",
            Kind::Seq => "array",
            Kind::Map => "object",
            Kind::Decimal => "decimal",
            Kind::Uuid => "uuid",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::Timestamp => "timestamp",
            Kind::LocalTimestamp => "local timestamp",
            Kind::Other => "value",
        }
    }
}

/// A native decimal handed over by a binding (see [`ValueSource::as_decimal`]).
#[derive(Debug, Clone)]
pub enum DecimalRef<'a> {
    /// Decimal text: "12.30", "-5", "1.5E+3".
    Text(Cow<'a, str>),
    /// value = (-1)^negative * digits * 10^exponent; `digits` are the numbers 0..=9, most
    /// significant first (Python's `Decimal.as_tuple()`).
    Parts {
        /// True for a negative value.
        negative: bool,
        /// The decimal digits, 0..=9 each, most significant first.
        digits: Cow<'a, [u8]>,
        /// The power of ten the digits are multiplied by.
        exponent: i64,
    },
    /// value = unscaled * 10^-scale.
    Unscaled {
        /// The value without its decimal point.
        unscaled: i128,
        /// The number of digits after the decimal point.
        scale: i64,
    },
    /// Big-endian two's complement unscaled value; `scale` None means "already at the schema's
    /// scale" (apache-avro's `Decimal`).
    TwosComplement {
        /// The unscaled value, big-endian two's complement.
        bytes: Cow<'a, [u8]>,
        /// The number of digits after the decimal point; None for the schema's scale.
        scale: Option<i64>,
    },
}

/// A native date/time handed over by a binding (see [`ValueSource::as_temporal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporal {
    /// Days since 1970-01-01.
    Date(i64),
    /// Nanoseconds after midnight.
    Time(i64),
    /// Nanoseconds since the epoch, UTC.
    Instant(i128),
    /// Nanoseconds since the epoch of a wall-clock time in no zone (a naive datetime).
    Local(i128),
}

/// An explicit union branch choice carried by a value (see [`ValueSource::branch`]).
#[derive(Debug, Clone)]
pub enum Branch<'a> {
    /// By position in the union.
    Index(usize),
    /// By type name (`"string"`, `"long"`, `"array"`) or named type's full (or short) name.
    Name(Cow<'a, str>),
}

/// A borrowed view of one native value. Implement it for a cheap handle type (`&Value`,
/// `Bound<PyAny>`, a napi handle...): child values are returned as `Self`.
///
/// Only [`kind`](Self::kind) is called for every value; the other methods are called when the
/// schema asks for that type, so a binding pays only for the conversions the schema needs.
/// Every method returns `None` when the value is not of that type.
pub trait ValueSource: Sized {
    /// What the value is.
    fn kind(&self) -> Kind;
    /// A boolean.
    fn as_bool(&self) -> Option<bool>;
    /// An integer that fits `i64`.
    fn as_i64(&self) -> Option<i64>;
    /// A number as `f64` (integers too).
    fn as_f64(&self) -> Option<f64>;
    /// Text.
    fn as_str(&self) -> Option<Cow<'_, str>>;
    /// Raw bytes (for bytes/fixed fields; a binding whose text form of bytes is base64, like
    /// natural JSON, decodes it here).
    fn as_bytes(&self) -> Option<Cow<'_, [u8]>>;
    /// Number of items of a sequence or entries of a map.
    fn len(&self) -> Option<usize>;
    /// A record field by name; None when absent (the schema default is then used).
    fn field(&self, name: &str) -> Option<Self>;
    /// Calls `f` for each item of a sequence, in order.
    fn for_each_item(&self, f: &mut dyn FnMut(Self) -> Result<()>) -> Result<()>;
    /// Calls `f` for each entry of a map (key text, value).
    fn for_each_entry(&self, f: &mut dyn FnMut(&str, Self) -> Result<()>) -> Result<()>;
    /// An explicit union branch and the value inside it (natural JSON's `{"long": 5}`,
    /// apache-avro's `Value::Union`). When the name matches no branch the value itself is
    /// resolved by the union rule.
    fn branch(&self) -> Option<(Branch<'_>, Self)> {
        None
    }
    /// A native decimal (asked when `kind()` is `Decimal`).
    fn as_decimal(&self) -> Option<DecimalRef<'_>> {
        None
    }
    /// A native date/time (asked when `kind()` is `Date`/`Time`/`Timestamp`/`LocalTimestamp`).
    fn as_temporal(&self) -> Option<Temporal> {
        None
    }
    /// True when `len() == Some(0)`.
    fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
    /// What a value of kind [`Kind::Other`] is, in the binding's words (`Map`, `stdClass`),
    /// for the encoder's error message; None: "value".
    fn type_name(&self) -> Option<Cow<'_, str>> {
        None
    }
    /// True for a sequence that is just as much a map: a PHP array, where lists and maps are
    /// one type (`['a', 'b']` is `[0 => 'a', 1 => 'b']`). The encoder then takes it where a
    /// map is expected (keys "0", "1", ... from `for_each_entry`), and an empty one where a
    /// record is.
    fn is_map_too(&self) -> bool {
        false
    }
}
