//! Subject name strategies (Confluent's `TopicNameStrategy`, `RecordNameStrategy`,
//! `TopicRecordNameStrategy`). Whether to auto-register or use the latest version is decided
//! by the registry side; this only names the subject.

use crate::error::{Error, Result};

/// How the registry subject of a key or value schema is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectStrategy {
    /// `{topic}-key` / `{topic}-value` (the default everywhere).
    #[default]
    Topic,
    /// The record's full name (`com.example.Order`), for keys and values alike.
    Record,
    /// `{topic}-{record full name}`.
    TopicRecord,
}

impl SubjectStrategy {
    /// Parses the config spelling: `topic`, `record`, `topic-record` (also Confluent's class
    /// short names `TopicNameStrategy`, `RecordNameStrategy`, `TopicRecordNameStrategy`); see
    /// crate::options.
    pub fn parse(s: &str) -> Result<Self> {
        crate::options::parse("schemas.subject_strategy", s)
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectStrategy::Topic => "topic",
            SubjectStrategy::Record => "record",
            SubjectStrategy::TopicRecord => "topic-record",
        }
    }

    /// The subject for `topic`'s key (`is_key`) or value schema whose root full name is
    /// `record_name` (None for non-named root schemas, which only the topic strategy accepts).
    pub fn subject(self, topic: &str, is_key: bool, record_name: Option<&str>) -> Result<String> {
        let need_name = || {
            record_name.ok_or_else(|| {
                Error::schema_invalid(format!(
                    "subject strategy {} needs a named (record) schema",
                    self.as_str()
                ))
            })
        };
        Ok(match self {
            SubjectStrategy::Topic => format!("{topic}-{}", if is_key { "key" } else { "value" }),
            SubjectStrategy::Record => need_name()?.to_string(),
            SubjectStrategy::TopicRecord => format!("{topic}-{}", need_name()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_name_subjects() {
        let n = Some("com.example.pipeline.Order");
        assert_eq!(SubjectStrategy::Topic.subject("orders", false, n).unwrap(), "orders-value");
        assert_eq!(SubjectStrategy::Topic.subject("orders", true, None).unwrap(), "orders-key");
        assert_eq!(
            SubjectStrategy::Record.subject("orders", false, n).unwrap(),
            "com.example.pipeline.Order"
        );
        assert_eq!(
            SubjectStrategy::TopicRecord.subject("orders", true, n).unwrap(),
            "orders-com.example.pipeline.Order"
        );
        assert_eq!(
            SubjectStrategy::Record.subject("orders", true, None).unwrap_err().code(),
            "schema.invalid"
        );
        assert_eq!(SubjectStrategy::parse("topic-record").unwrap(), SubjectStrategy::TopicRecord);
        assert_eq!(SubjectStrategy::parse("nope").unwrap_err().code(), "config.invalid");
    }
}
