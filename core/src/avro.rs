//! Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary body) and
//! Avro encode/decode.
//!
//! This first version encodes through apache-avro's generic `Value`; the compiled encoding plan
//! of DESIGN.md ("Avro and the registry") replaces it behind the same functions.

use apache_avro::{types::Value, Schema};

use crate::error::{Error, Result};

/// The first byte of every Confluent-framed payload.
pub const MAGIC: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// Splits a Confluent-framed payload into its schema id and Avro body.
pub fn split_header(payload: &[u8]) -> Result<(u32, &[u8])> {
    if payload.len() < HEADER_LEN {
        return Err(Error::SerdeBadMagic {
            reason: format!("{} bytes is shorter than the 5-byte header", payload.len()),
        });
    }
    if payload[0] != MAGIC {
        return Err(Error::SerdeBadMagic { reason: format!("first byte is {:#04x}, not 0x00", payload[0]) });
    }
    let id = u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
    Ok((id, &payload[HEADER_LEN..]))
}

/// Parses an Avro schema, mapping failures to `schema.invalid`.
pub fn parse_schema(text: &str) -> Result<Schema> {
    Schema::parse_str(text).map_err(|e| Error::SchemaInvalid { reason: e.to_string() })
}

/// Encodes `value` with `schema` and frames it with `schema_id`.
pub fn encode(schema_id: u32, schema: &Schema, value: Value) -> Result<Vec<u8>> {
    let resolved = value.resolve(schema).map_err(|e| Error::SerdeEncode {
        path: "$".into(),
        expected: schema_name(schema),
        got: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(64);
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    let body = apache_avro::to_avro_datum(schema, resolved).map_err(|e| Error::SerdeEncode {
        path: "$".into(),
        expected: schema_name(schema),
        got: e.to_string(),
    })?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a framed payload whose body was written with `schema`; the whole body must be used.
pub fn decode(payload: &[u8], schema: &Schema) -> Result<(u32, Value)> {
    let (id, mut body) = split_header(payload)?;
    let value = apache_avro::from_avro_datum(schema, &mut body, None).map_err(Error::decode)?;
    if !body.is_empty() {
        return Err(Error::decode(format!("{} trailing bytes after the record", body.len())));
    }
    Ok((id, value))
}

fn schema_name(schema: &Schema) -> String {
    match schema.name() {
        Some(n) => n.fullname(None),
        None => format!("{:?}", apache_avro::schema::SchemaKind::from(schema)).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"long"},{"name":"s","type":"string"}]}"#;

    #[test]
    fn frames_and_unframes() {
        let schema = parse_schema(SCHEMA).unwrap();
        let v = Value::Record(vec![("a".into(), Value::Long(3)), ("s".into(), Value::String("x".into()))]);
        let bytes = encode(258, &schema, v.clone()).unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 1, 2]);
        assert_eq!(&bytes[5..], &[6, 2, b'x']);
        assert_eq!(decode(&bytes, &schema).unwrap(), (258, v));
    }

    #[test]
    fn rejects_bad_headers_and_trailing_bytes() {
        let schema = parse_schema(SCHEMA).unwrap();
        assert_eq!(split_header(&[0, 0, 0]).unwrap_err().code(), "serde.bad_magic");
        assert_eq!(split_header(&[1, 0, 0, 0, 1, 6]).unwrap_err().code(), "serde.bad_magic");
        assert_eq!(decode(&[0, 0, 0, 0, 1, 6, 2, b'x', 9], &schema).unwrap_err().code(), "serde.decode");
        assert_eq!(decode(&[0, 0, 0, 0, 1, 6], &schema).unwrap_err().code(), "serde.decode");
    }
}
