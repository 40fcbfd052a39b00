//! Schema compatibility (NONE, BACKWARD, FORWARD, FULL and their TRANSITIVE forms) and the house
//! policy `add-with-default-only`. Every check returns all violations, each with its path.
//!
//! BACKWARD and friends follow the Avro specification's schema resolution rules (records by
//! field name and the reader's aliases, defaults for missing reader fields, the numeric and
//! string/bytes promotions, enum defaults, unions branch by branch), with Confluent's meaning
//! of the levels. The house policy is a structural comparison: the new schema must be the
//! previous one plus record fields that all have defaults. docs/compat.md has the rules, the
//! path notation and the violation kinds.
//!
//! ```
//! use kpipe::compat::{check_str, Level};
//! let v1 = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;
//! let v2 = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},
//!             {"name":"city","type":"string"}]}"#;
//! let violations = check_str(Level::AddWithDefaultOnly, v2, &[v1]).unwrap();
//! assert_eq!(violations[0].to_string(), "Order.city: field added without a default");
//! ```

mod names;
mod policy;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use apache_avro::Schema;

use crate::error::{Error, Result};

/// A compatibility level: Confluent's seven plus the house policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// No check.
    None,
    /// A reader using the new schema reads data written with the latest previous one.
    Backward,
    /// [`Level::Backward`] against every previous version.
    BackwardTransitive,
    /// A reader using the latest previous schema reads data written with the new one.
    Forward,
    /// [`Level::Forward`] against every previous version.
    ForwardTransitive,
    /// Both [`Level::Backward`] and [`Level::Forward`] against the latest previous version.
    Full,
    /// Both directions against every previous version.
    FullTransitive,
    /// The house policy: the new schema is the latest previous one plus added record fields
    /// that all have defaults; nothing else changes, at any depth.
    AddWithDefaultOnly,
}

impl Level {
    /// Every level, in documentation order.
    pub const ALL: [Level; 8] = [
        Level::None,
        Level::Backward,
        Level::BackwardTransitive,
        Level::Forward,
        Level::ForwardTransitive,
        Level::Full,
        Level::FullTransitive,
        Level::AddWithDefaultOnly,
    ];

    /// The name as written in the registry's `compatibility` config, or None for the house
    /// policy, which the registry does not know.
    pub fn registry_name(self) -> Option<&'static str> {
        match self {
            Level::AddWithDefaultOnly => None,
            other => Some(other.name()),
        }
    }

    /// True for the levels checked against every previous version.
    pub fn is_transitive(self) -> bool {
        matches!(self, Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive)
    }

    fn name(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
            Level::AddWithDefaultOnly => "add-with-default-only",
        }
    }
}

/// The registry's spelling (`BACKWARD_TRANSITIVE`), and `add-with-default-only` for the house
/// policy as the config file writes it.
impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

// Parsing (`FromStr`, `Deserialize`) lives with every other option parser in crate::options.

/// What kind of change a violation is. The snake_case string ([`ViolationKind::as_str`], also
/// its serde form) is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ViolationKind {
    /// A new field has no default, so old data cannot fill it.
    FieldAddedWithoutDefault,
    /// A field is gone (FORWARD: and the old schema has no default for it).
    FieldRemoved,
    /// House policy: a field was renamed (matched through an alias).
    FieldRenamed,
    /// House policy: existing fields changed order.
    FieldReordered,
    /// House policy: a field's or enum's default changed or was removed.
    DefaultChanged,
    /// A type the reader cannot resolve (house policy: any type change).
    TypeChanged,
    /// House policy: a logical type was added, removed or changed.
    LogicalTypeChanged,
    /// A decimal's scale changed, or its precision is too small for the writer (house policy:
    /// any change).
    DecimalChanged,
    /// A record, enum or fixed has a new name and no alias for the old one.
    NameChanged,
    /// House policy: a named type moved to another namespace.
    NamespaceChanged,
    /// FORWARD: old readers do not know a new symbol and have no default; house policy: any
    /// new symbol.
    EnumSymbolAdded,
    /// The reader lacks a symbol the writer may use and has no default.
    EnumSymbolRemoved,
    /// House policy: the same symbols in another order.
    EnumSymbolsReordered,
    /// A fixed has another size.
    FixedSizeChanged,
    /// FORWARD: old readers cannot read the new branch; house policy: any new branch.
    UnionBranchAdded,
    /// BACKWARD: new readers cannot read data written with the removed branch.
    UnionBranchRemoved,
    /// House policy: the same branches in another order.
    UnionBranchesReordered,
    /// House policy: an existing field without a default got one (allowed by
    /// `default-on-existing`).
    DefaultAdded,
    /// House policy: a field's sort `order` changed (allowed by `order`).
    FieldOrderChanged,
    /// House policy: aliases of an existing type or field changed (allowed by `aliases`).
    AliasesChanged,
    /// House policy: a custom property changed (allowed by `custom-properties`).
    PropertyChanged,
    /// The check gave up after 500 000 comparisons; other violations may be missing.
    TooComplex,
}

impl ViolationKind {
    /// Every kind, in documentation order.
    pub const ALL: [ViolationKind; 22] = [
        ViolationKind::FieldAddedWithoutDefault,
        ViolationKind::FieldRemoved,
        ViolationKind::FieldRenamed,
        ViolationKind::FieldReordered,
        ViolationKind::DefaultChanged,
        ViolationKind::TypeChanged,
        ViolationKind::LogicalTypeChanged,
        ViolationKind::DecimalChanged,
        ViolationKind::NameChanged,
        ViolationKind::NamespaceChanged,
        ViolationKind::EnumSymbolAdded,
        ViolationKind::EnumSymbolRemoved,
        ViolationKind::EnumSymbolsReordered,
        ViolationKind::FixedSizeChanged,
        ViolationKind::UnionBranchAdded,
        ViolationKind::UnionBranchRemoved,
        ViolationKind::UnionBranchesReordered,
        ViolationKind::DefaultAdded,
        ViolationKind::FieldOrderChanged,
        ViolationKind::AliasesChanged,
        ViolationKind::PropertyChanged,
        ViolationKind::TooComplex,
    ];

    /// The stable snake_case name (`type_changed`), also the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::FieldAddedWithoutDefault => "field_added_without_default",
            ViolationKind::FieldRemoved => "field_removed",
            ViolationKind::FieldRenamed => "field_renamed",
            ViolationKind::FieldReordered => "field_reordered",
            ViolationKind::DefaultChanged => "default_changed",
            ViolationKind::TypeChanged => "type_changed",
            ViolationKind::LogicalTypeChanged => "logical_type_changed",
            ViolationKind::DecimalChanged => "decimal_changed",
            ViolationKind::NameChanged => "name_changed",
            ViolationKind::NamespaceChanged => "namespace_changed",
            ViolationKind::EnumSymbolAdded => "enum_symbol_added",
            ViolationKind::EnumSymbolRemoved => "enum_symbol_removed",
            ViolationKind::EnumSymbolsReordered => "enum_symbols_reordered",
            ViolationKind::FixedSizeChanged => "fixed_size_changed",
            ViolationKind::UnionBranchAdded => "union_branch_added",
            ViolationKind::UnionBranchRemoved => "union_branch_removed",
            ViolationKind::UnionBranchesReordered => "union_branches_reordered",
            ViolationKind::DefaultAdded => "default_added",
            ViolationKind::FieldOrderChanged => "field_order_changed",
            ViolationKind::AliasesChanged => "aliases_changed",
            ViolationKind::PropertyChanged => "property_changed",
            ViolationKind::TooComplex => "too_complex",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason the new schema fails a level.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where: `Order.items[].price`, `Order.attributes{}`, `Order.vehicle_vin<union>`; see
    /// docs/compat.md.
    pub path: String,
    /// What kind of change it is.
    pub kind: ViolationKind,
    /// Plain words, phrased from the previous schema to the new one ("type changed from int
    /// to string").
    pub message: String,
}

/// `path: message`, the form [`Error::SchemaPolicyViolation`] lists.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The benign changes the house policy may be told to let through (kpipe.yaml
/// `schemas.policy_allow`); by default it allows none of them. Other levels ignore it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyAllow {
    /// `aliases`: aliases added, removed or changed on existing records, fields, enums, fixed.
    pub aliases: bool,
    /// `order`: an existing field's sort `order` changed.
    pub order: bool,
    /// `custom-properties`: custom attributes of existing types and fields changed.
    pub custom_properties: bool,
    /// `default-on-existing`: a default added to an existing field that had none.
    pub default_on_existing: bool,
}

impl PolicyAllow {
    /// The names `schemas.policy_allow` takes, in documentation order.
    pub const NAMES: [&'static str; 4] =
        ["aliases", "order", "custom-properties", "default-on-existing"];

    /// Allows the named change (one of [`PolicyAllow::NAMES`]; `_` and `-` alike).
    pub fn allow(&mut self, name: &str) -> Result<()> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "aliases" => self.aliases = true,
            "order" => self.order = true,
            "custom-properties" => self.custom_properties = true,
            "default-on-existing" => self.default_on_existing = true,
            _ => {
                return Err(Error::ConfigInvalid {
                    path: "schemas.policy_allow".into(),
                    reason: format!(
                        "unknown policy_allow entry {name:?} (expected one of {})",
                        Self::NAMES.join(", ")
                    ),
                })
            }
        }
        Ok(())
    }

    fn allows(self, kind: ViolationKind) -> bool {
        match kind {
            ViolationKind::AliasesChanged => self.aliases,
            ViolationKind::FieldOrderChanged => self.order,
            ViolationKind::PropertyChanged => self.custom_properties,
            ViolationKind::DefaultAdded => self.default_on_existing,
            _ => false,
        }
    }
}

impl<'de> serde::Deserialize<'de> for PolicyAllow {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        let mut allow = PolicyAllow::default();
        for n in &names {
            allow.allow(n).map_err(|e| match e {
                Error::ConfigInvalid { reason, .. } => serde::de::Error::custom(reason),
                e => serde::de::Error::custom(e),
            })?;
        }
        Ok(allow)
    }
}

/// Every violation of `level` by `new`, given the subject's `previous` schemas, oldest first.
/// Non-transitive levels and the house policy look at the last (latest) one only; no previous
/// schema means nothing to violate. Violations are in discovery order, duplicates removed.
/// The house policy is strict (no benign change allowed): see [`check_allowing`].
pub fn check(level: Level, new: &Schema, previous: &[Schema]) -> Vec<Violation> {
    check_allowing(level, PolicyAllow::default(), new, previous)
}

/// [`check`], with the house policy letting the `allow`ed benign changes through.
pub fn check_allowing(
    level: Level,
    allow: PolicyAllow,
    new: &Schema,
    previous: &[Schema],
) -> Vec<Violation> {
    let mut v = check_all(level, new, previous);
    if level == Level::AddWithDefaultOnly {
        v.retain(|v| !allow.allows(v.kind));
    }
    v
}

fn check_all(level: Level, new: &Schema, previous: &[Schema]) -> Vec<Violation> {
    let Some(latest) = previous.last() else {
        return Vec::new();
    };
    let backward = |old: &Schema| resolve::check(new, old, true);
    let forward = |old: &Schema| resolve::check(old, new, false);
    let full = |old: &Schema| {
        let mut v = backward(old);
        v.extend(forward(old));
        v
    };
    match level {
        Level::None => Vec::new(),
        Level::AddWithDefaultOnly => policy::check(latest, new),
        Level::Backward => dedup(backward(latest)),
        Level::Forward => dedup(forward(latest)),
        Level::Full => dedup(full(latest)),
        Level::BackwardTransitive => transitive(previous, backward),
        Level::ForwardTransitive => transitive(previous, forward),
        Level::FullTransitive => transitive(previous, full),
    }
}

fn dedup(violations: Vec<Violation>) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::with_capacity(violations.len());
    for v in violations {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Checks against each previous schema; a violation met against some but not all of them says
/// which ("(against previous versions 1, 2 of 3)", counted from the oldest).
fn transitive(previous: &[Schema], one: impl Fn(&Schema) -> Vec<Violation>) -> Vec<Violation> {
    let mut order: Vec<Violation> = Vec::new();
    let mut versions: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, old) in previous.iter().enumerate() {
        for v in one(old) {
            let idx = match order.iter().position(|x| *x == v) {
                Some(idx) => idx,
                None => {
                    order.push(v);
                    order.len() - 1
                }
            };
            let list = versions.entry(idx).or_default();
            if list.last() != Some(&(i + 1)) {
                list.push(i + 1);
            }
        }
    }
    let n = previous.len();
    for (idx, v) in order.iter_mut().enumerate() {
        let list = versions.get(&idx).map(Vec::as_slice).unwrap_or_default();
        if n > 1 && list.len() < n {
            let nums: Vec<String> = list.iter().map(usize::to_string).collect();
            let noun = if list.len() == 1 { "version" } else { "versions" };
            v.message =
                format!("{} (against previous {noun} {} of {n})", v.message, nums.join(", "));
        }
    }
    order
}

/// [`check`] over schema texts. A text that is not valid Avro is [`Error::SchemaInvalid`]
/// naming which one.
pub fn check_str(level: Level, new: &str, previous: &[&str]) -> Result<Vec<Violation>> {
    check_str_allowing(level, PolicyAllow::default(), new, previous)
}

/// [`check_allowing`] over schema texts.
pub fn check_str_allowing(
    level: Level,
    allow: PolicyAllow,
    new: &str,
    previous: &[&str],
) -> Result<Vec<Violation>> {
    let (new, previous) = parse_all(new, previous)?;
    Ok(check_allowing(level, allow, &new, &previous))
}

fn parse_all(new: &str, previous: &[&str]) -> Result<(Schema, Vec<Schema>)> {
    let parse = |text: &str, which: String| {
        crate::avro::parse_schema(text).map_err(|e| match e {
            Error::SchemaInvalid { reason, subject } => {
                Error::SchemaInvalid { reason: format!("{which}: {reason}"), subject }
            }
            e => e,
        })
    };
    let new = parse(new, "new schema".into())?;
    let previous = previous
        .iter()
        .enumerate()
        .map(|(i, text)| parse(text, format!("previous schema {} of {}", i + 1, previous.len())))
        .collect::<Result<Vec<_>>>()?;
    Ok((new, previous))
}

/// [`check`] as a gate: Ok when nothing is violated. The house policy fails with
/// [`Error::SchemaPolicyViolation`] (one `path: message` entry per violation), the other
/// levels with [`Error::SchemaIncompatible`]; [`enforce_for_subject`] names the subject.
pub fn enforce(level: Level, new: &Schema, previous: &[Schema]) -> Result<()> {
    enforce_for_subject("(client-side check)", level, new, previous)
}

/// [`enforce`] with the subject the schema is meant for, for the error message.
pub fn enforce_for_subject(
    subject: &str,
    level: Level,
    new: &Schema,
    previous: &[Schema],
) -> Result<()> {
    enforce_for_subject_allowing(subject, level, PolicyAllow::default(), new, previous)
}

/// [`enforce_for_subject`] with the house policy letting the `allow`ed benign changes through.
pub fn enforce_for_subject_allowing(
    subject: &str,
    level: Level,
    allow: PolicyAllow,
    new: &Schema,
    previous: &[Schema],
) -> Result<()> {
    let violations = check_allowing(level, allow, new, previous);
    if violations.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = violations.iter().map(Violation::to_string).collect();
    Err(match level {
        Level::AddWithDefaultOnly => {
            Error::SchemaPolicyViolation { policy: level.to_string(), violations: lines }
        }
        _ => Error::SchemaIncompatible {
            subject: subject.to_string(),
            reason: format!("{level}: {}", lines.join("; ")),
        },
    })
}

/// [`enforce`] over schema texts.
pub fn enforce_str(level: Level, new: &str, previous: &[&str]) -> Result<()> {
    let (new, previous) = parse_all(new, previous)?;
    enforce(level, &new, &previous)
}

/// How many comparisons one check may make before it gives up with a `too_complex`
/// violation: far above any real schema, low enough that no input can keep it busy.
const MAX_STEPS: u64 = 500_000;

/// A record pair on the stack (compared by address) and the lowest stack index whose
/// in-progress result it assumed.
type Key = (usize, usize);

/// Termination and sharing for both checkers. Recursive schemas: a record pair met again while
/// it is being compared is assumed fine (its violations are reported where it was first met).
/// Shared record types: a pair compared before replays its violations under the new path,
/// unless that result leaned on such an assumption. A step budget bounds everything else.
#[derive(Default)]
struct Guard {
    stack: Vec<(Key, usize)>,
    memo: HashMap<Key, Vec<(String, ViolationKind, String)>>,
    steps: u64,
    exhausted: bool,
}

impl Guard {
    /// Counts one comparison; true once the budget is spent.
    fn tick(&mut self) -> bool {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.exhausted = true;
        }
        self.exhausted
    }

    /// True when the caller should compare the pair now (then it must call [`Guard::leave`]).
    fn enter(&mut self, key: Key, path: &str, out: &mut Vec<Violation>) -> bool {
        if let Some(pos) = self.stack.iter().position(|(k, _)| *k == key) {
            for frame in &mut self.stack[pos + 1..] {
                frame.1 = frame.1.min(pos);
            }
            return false;
        }
        if let Some(found) = self.memo.get(&key) {
            self.steps += found.len() as u64;
            out.extend(found.iter().map(|(suffix, kind, message)| Violation {
                path: format!("{path}{suffix}"),
                kind: *kind,
                message: message.clone(),
            }));
            return false;
        }
        self.stack.push((key, usize::MAX));
        true
    }

    fn leave(&mut self, path: &str, local: Vec<Violation>, out: &mut Vec<Violation>) {
        if let Some((key, assumed)) = self.stack.pop() {
            if assumed >= self.stack.len() && !self.exhausted {
                let relative = local
                    .iter()
                    .map(|v| {
                        (
                            v.path.strip_prefix(path).unwrap_or(&v.path).to_string(),
                            v.kind,
                            v.message.clone(),
                        )
                    })
                    .collect();
                self.memo.insert(key, relative);
            }
        }
        out.extend(local);
    }

    fn finish(&self, root: &str, out: &mut Vec<Violation>) {
        if self.exhausted {
            out.push(Violation {
                path: root.to_string(),
                kind: ViolationKind::TooComplex,
                message: format!(
                    "schema too complex to check completely (more than {MAX_STEPS} comparisons); other violations may be missing"
                ),
            });
        }
    }
}
