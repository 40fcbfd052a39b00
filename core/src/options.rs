//! The parsers of every option a user gives as text, once for every binding and the CLI:
//! serializer kind, start position, commit mode, ack mode, migration strategy, reset target,
//! compatibility level and subject strategy.
//!
//! Each is `FromStr` on the core type (and serde `Deserialize` where kpipe.yaml uses it).
//! Values are spelled exactly as listed (surrounding spaces ignored); compatibility levels also
//! in any case and with `-` and `_` alike (`BACKWARD_TRANSITIVE`, `backward-transitive`), as
//! the registry and the config file spell them differently.
//! A bad value is one error everywhere: code `config.invalid`, the option's name as its path
//! and a message listing the accepted values, e.g.
//! `commit: unknown commit mode "later" (expected one of: after-handle, manual, auto)`.
//! Bindings call [`parse`] with the option's name as the user wrote it (the keyword argument,
//! JSON field or CLI flag without dashes), so the same mistake reads the same in every language.

use std::fmt;
use std::str::FromStr;

use crate::compat::Level;
use crate::config::CommitMode;
use crate::consumer::StartAt;
use crate::error::{Error, Result};
use crate::offsets::{ResetTo, Strategy};

/// An option value given as text; implemented by every option type of this module.
pub trait TextOption: Sized {
    /// What the value is, in messages (`commit mode`).
    const WHAT: &'static str;
    /// The accepted spellings, as messages list them.
    const ACCEPTED: &'static [&'static str];
    /// Accepted besides the names, in words (for options that also take a number or a time).
    const ALSO: Option<&'static str> = None;
    /// The value for `text`, already trimmed; None when it is not one of the accepted values.
    fn from_text(text: &str) -> Option<Self>;
}

/// A text that is none of an option's accepted values. [`OptionError::at`] makes it the
/// `config.invalid` error naming the option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// What the value is (`serializer`).
    pub what: &'static str,
    /// The text given.
    pub input: String,
    /// The accepted spellings.
    pub accepted: &'static [&'static str],
    /// Accepted besides the names, in words.
    pub also: Option<&'static str>,
}

impl OptionError {
    /// The kpipe error for this mistake in the option named `field`.
    pub fn at(self, field: &str) -> Error {
        Error::ConfigInvalid { path: field.to_string(), reason: self.to_string() }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of: {}",
            self.what,
            self.input,
            self.accepted.join(", ")
        )?;
        if let Some(also) = self.also {
            write!(f, "; or {also}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for OptionError {}

/// Parses `text` as a `T` given for the option named `field`.
pub fn parse<T: TextOption>(field: &str, text: &str) -> Result<T> {
    parse_text(text).map_err(|e| e.at(field))
}

/// Parses `text` as a `T`, without naming the option (what `FromStr` does).
pub fn parse_text<T: TextOption>(text: &str) -> std::result::Result<T, OptionError> {
    T::from_text(text.trim()).ok_or_else(|| OptionError {
        what: T::WHAT,
        input: text.to_string(),
        accepted: T::ACCEPTED,
        also: T::ALSO,
    })
}

fn exact(text: &str, name: &str) -> bool {
    text == name
}

/// Case-insensitive, `-` and `_` alike.
fn lenient(text: &str, name: &str) -> bool {
    text.len() == name.len()
        && text.bytes().zip(name.bytes()).all(|(a, b)| {
            let norm = |c: u8| if c == b'_' { b'-' } else { c.to_ascii_lowercase() };
            norm(a) == norm(b)
        })
}

/// Implements [`TextOption`], `FromStr` and (with `serde`) `Deserialize` for a type from its
/// table of spellings; the first spelling of each row is the one messages list.
macro_rules! text_option {
    ($ty:ty, $what:literal, [$($name:literal $(| $alias:literal)* => $val:expr),+ $(,)?] $(, also = $also:literal)? $(, serde = $serde:ident)? $(, matching = $same:ident)?) => {
        impl TextOption for $ty {
            const WHAT: &'static str = $what;
            const ACCEPTED: &'static [&'static str] = &[$($name),+];
            $(const ALSO: Option<&'static str> = Some($also);)?
            fn from_text(text: &str) -> Option<Self> {
                #[allow(unused_variables)]
                let same = exact;
                $(let same = $same;)?
                $(if same(text, $name) $(|| same(text, $alias))* {
                    return Some($val);
                })+
                None
            }
        }

        impl FromStr for $ty {
            type Err = OptionError;
            fn from_str(s: &str) -> std::result::Result<Self, OptionError> {
                parse_text(s)
            }
        }

        $(text_option!(@serde $serde $ty);)?
    };
    (@serde yes $ty:ty) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The kind of a serializer (`bytes`, `string`, `json`, `avro`); [`SerdeKind::with_schema`]
/// makes the [`Serde`](crate::Serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerdeKind {
    /// Raw bytes.
    Bytes,
    /// UTF-8 text.
    String,
    /// JSON text.
    Json,
    /// Confluent-framed Avro.
    Avro,
}

impl SerdeKind {
    /// The serializer of this kind; `schema` is the Avro writer schema (ignored by the others).
    pub fn with_schema(self, schema: Option<std::sync::Arc<str>>) -> crate::Serde {
        match self {
            SerdeKind::Bytes => crate::Serde::Bytes,
            SerdeKind::String => crate::Serde::String,
            SerdeKind::Json => crate::Serde::Json,
            SerdeKind::Avro => {
                crate::Serde::Avro { schema, reader: crate::serdes::AvroReader::Schema }
            }
        }
    }
}

/// A serializer from its options as a user gives them, for every binding and kpipe.yaml: the
/// kind `kind` (option `kind_field`), the Avro `schema` text and the `reader` (option
/// `reader_field`: `schema`, `writer` or `latest`; None: `schema`). A reader for a kind other
/// than `avro` is `config.invalid` naming `reader_field`.
pub fn serde(
    kind_field: &str,
    kind: &str,
    schema: Option<std::sync::Arc<str>>,
    reader_field: &str,
    reader: Option<&str>,
) -> Result<crate::Serde> {
    let kind: SerdeKind = parse(kind_field, kind)?;
    let mut serde = kind.with_schema(schema);
    if let Some(text) = reader {
        let chosen: crate::serdes::AvroReader = parse(reader_field, text)?;
        match &mut serde {
            crate::Serde::Avro { reader, .. } => *reader = chosen,
            _ => {
                return Err(Error::ConfigInvalid {
                    path: reader_field.to_string(),
                    reason: format!(
                        "a reader schema is only for avro (here {kind_field}: {})",
                        kind.name()
                    ),
                })
            }
        }
    }
    Ok(serde)
}

impl SerdeKind {
    /// The kind as kpipe.yaml spells it.
    pub fn name(self) -> &'static str {
        match self {
            SerdeKind::Bytes => "bytes",
            SerdeKind::String => "string",
            SerdeKind::Json => "json",
            SerdeKind::Avro => "avro",
        }
    }
}

text_option!(crate::serdes::AvroReader, "reader schema", [
    "schema" => crate::serdes::AvroReader::Schema,
    "writer" => crate::serdes::AvroReader::Writer,
    "latest" => crate::serdes::AvroReader::Latest,
], serde = yes);

text_option!(SerdeKind, "serializer", [
    "bytes" => SerdeKind::Bytes,
    "string" => SerdeKind::String,
    "json" => SerdeKind::Json,
    "avro" => SerdeKind::Avro,
], serde = yes);

text_option!(StartAt, "start position", [
    "committed" => StartAt::Committed,
    "earliest" => StartAt::Earliest,
    "latest" => StartAt::Latest,
], also = "an offset or a timestamp");

text_option!(CommitMode, "commit mode", [
    "after-handle" => CommitMode::AfterHandle,
    "manual" => CommitMode::Manual,
    "auto" => CommitMode::Auto,
], serde = yes);

/// How records handed out by a consumer's poll are acknowledged (docs/client.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// The previous record is acknowledged when the next one is asked for (poll, iteration);
    /// `run` acknowledges after the handler returns. The default.
    #[default]
    Implicit,
    /// Nothing is acknowledged until the caller acks the record (to hand records to other
    /// threads). `run` still acknowledges after the handler returns.
    Explicit,
}

text_option!(AckMode, "ack mode", [
    "implicit" => AckMode::Implicit,
    "explicit" => AckMode::Explicit,
], serde = yes);

text_option!(Strategy, "migration strategy", [
    "timestamp" => Strategy::Timestamp,
    "checkpoint" => Strategy::Checkpoint,
], serde = yes);

text_option!(Level, "compatibility level", [
    "NONE" => Level::None,
    "BACKWARD" => Level::Backward,
    "BACKWARD_TRANSITIVE" => Level::BackwardTransitive,
    "FORWARD" => Level::Forward,
    "FORWARD_TRANSITIVE" => Level::ForwardTransitive,
    "FULL" => Level::Full,
    "FULL_TRANSITIVE" => Level::FullTransitive,
    "add-with-default-only" => Level::AddWithDefaultOnly,
], serde = yes, matching = lenient);

text_option!(crate::avro::SubjectStrategy, "subject strategy", [
    "topic" | "TopicNameStrategy" => crate::avro::SubjectStrategy::Topic,
    "record" | "RecordNameStrategy" => crate::avro::SubjectStrategy::Record,
    "topic-record" | "TopicRecordNameStrategy" => crate::avro::SubjectStrategy::TopicRecord,
], serde = yes);

/// `earliest`, `latest` or a time (RFC 3339, or epoch milliseconds).
impl TextOption for ResetTo {
    const WHAT: &'static str = "reset target";
    const ACCEPTED: &'static [&'static str] = &["earliest", "latest"];
    const ALSO: Option<&'static str> = Some("a datetime or offsets per partition");
    fn from_text(text: &str) -> Option<Self> {
        if text == "earliest" {
            Some(ResetTo::Earliest)
        } else if text == "latest" {
            Some(ResetTo::Latest)
        } else {
            crate::offsets::parse_time(text).ok().map(ResetTo::Time)
        }
    }
}

impl FromStr for ResetTo {
    type Err = OptionError;
    fn from_str(s: &str) -> std::result::Result<Self, OptionError> {
        parse_text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::SubjectStrategy;

    #[test]
    fn every_option_parses_its_names_and_lists_them_when_wrong() {
        assert_eq!(parse::<SerdeKind>("value", "avro").unwrap(), SerdeKind::Avro);
        assert_eq!(parse::<CommitMode>("commit", "after-handle").unwrap(), CommitMode::AfterHandle);
        assert!(parse::<CommitMode>("commit", "AFTER_HANDLE").is_err());
        assert_eq!(parse::<StartAt>("start", " latest ").unwrap(), StartAt::Latest);
        assert_eq!(parse::<AckMode>("ack", "explicit").unwrap(), AckMode::Explicit);
        assert_eq!(parse::<Strategy>("strategy", "checkpoint").unwrap(), Strategy::Checkpoint);
        assert_eq!(
            parse::<Level>("level", "backward-transitive").unwrap(),
            Level::BackwardTransitive
        );
        assert_eq!(
            parse::<SubjectStrategy>("s", "TopicRecordNameStrategy").unwrap(),
            SubjectStrategy::TopicRecord
        );
        assert_eq!(parse::<ResetTo>("to", "earliest").unwrap(), ResetTo::Earliest);
        assert!(matches!(
            parse::<ResetTo>("to", "2026-01-01T00:00:00Z").unwrap(),
            ResetTo::Time(_)
        ));

        let e = parse::<CommitMode>("commit", "later").unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert_eq!(
            e.to_string(),
            r#"commit: unknown commit mode "later" (expected one of: after-handle, manual, auto)"#
        );
        let e = parse::<StartAt>("start", "beginning").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"start: unknown start position "beginning" (expected one of: committed, earliest, latest; or an offset or a timestamp)"#
        );
        for msg in [
            parse::<SerdeKind>("f", "xml").unwrap_err().to_string(),
            parse::<AckMode>("f", "x").unwrap_err().to_string(),
            parse::<Strategy>("f", "x").unwrap_err().to_string(),
            parse::<Level>("f", "x").unwrap_err().to_string(),
            parse::<SubjectStrategy>("f", "x").unwrap_err().to_string(),
            parse::<ResetTo>("f", "x").unwrap_err().to_string(),
        ] {
            assert!(msg.starts_with("f: unknown ") && msg.contains("(expected one of: "), "{msg}");
        }
    }

    /// The same cases every binding and the CLI check (tests/conformance/options.json).
    #[test]
    fn conformance_cases() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/conformance/options.json")).unwrap();
        for c in cases["cases"].as_array().unwrap() {
            let (option, field, value) = (
                c["option"].as_str().unwrap(),
                c["field"].as_str().unwrap(),
                c["value"].as_str().unwrap(),
            );
            let err = match option {
                "serializer" => parse::<SerdeKind>(field, value).err(),
                "start" => parse::<StartAt>(field, value).err(),
                "commit" => parse::<CommitMode>(field, value).err(),
                "ack" => parse::<AckMode>(field, value).err(),
                "strategy" => parse::<Strategy>(field, value).err(),
                "reset" => parse::<ResetTo>(field, value).err(),
                "level" => parse::<Level>(field, value).err(),
                "subject_strategy" => parse::<SubjectStrategy>(field, value).err(),
                "reader" => parse::<crate::serdes::AvroReader>(field, value).err(),
                other => panic!("unknown option {other}"),
            }
            .unwrap_or_else(|| panic!("{value:?} parsed as {option}"));
            assert_eq!(err.code(), c["code"].as_str().unwrap());
            assert_eq!(err.to_string(), c["message"].as_str().unwrap());
        }
    }
}
