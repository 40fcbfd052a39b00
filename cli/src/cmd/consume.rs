//! `kpipe consume`: records from an offset or a time, decoded to JSON lines.

use super::*;

pub(super) async fn consume(ctx: &Ctx, a: crate::ConsumeArgs) -> Result<i32> {
    let start = match (&a.from_time, &a.from_offset) {
        (Some(t), _) => StartAt::Time(offsets::parse_time(t)?),
        (None, Some(po)) => {
            let (partition, offset) = parse_partition_offset(po)?;
            StartAt::Offset { partition, offset }
        }
        _ => StartAt::Earliest,
    };
    let reader_schema = a.reader.as_deref().map(read_schema).transpose()?.map(|x| x.1);
    let cfg = ctx.config()?;
    let o = ctx.cluster(&cfg, a.cluster.as_deref(), Some(&a.topic))?;
    let needs_registry = matches!(a.decode, Decode::Avro) || matches!(a.key_decode, Decode::Avro);
    let codec = match ctx.registry(&cfg) {
        Ok(r) => Some(AvroCodec::new(r, cfg.schemas.clone())),
        Err(e) if needs_registry => return Err(e),
        Err(_) => None,
    };
    let mut reader = o.reader(&a.topic, start).await?;
    reader.set_idle_timeout(std::time::Duration::from_millis(a.idle_ms));
    let mut n = 0usize;
    let mut failed = 0usize;
    let stdout = std::io::stdout();
    while a.max.is_none_or(|m| n < m) {
        let Some(r) = reader.next().await? else { break };
        n += 1;
        let mut errors = Vec::new();
        let key =
            decode_bytes(r.key.as_deref(), a.key_decode, codec.as_ref(), None, &mut errors).await;
        let value = decode_bytes(
            r.value.as_deref(),
            a.decode,
            codec.as_ref(),
            reader_schema.as_ref(),
            &mut errors,
        )
        .await;
        let headers: serde_json::Map<String, Value> = r
            .headers
            .iter()
            .map(|(k, v)| {
                (k.clone(), v.as_deref().map_or(Value::Null, |b| Value::String(text_or_hex(b))))
            })
            .collect();
        let mut line = json!({
            "topic": r.topic, "partition": r.partition, "offset": r.offset,
            "timestamp": r.timestamp, "time": r.timestamp.map(offsets::format_time),
            "key": key, "value": value, "headers": headers,
        });
        if !errors.is_empty() {
            failed += 1;
            line["error"] = json!({"code": errors[0].code(), "message": errors[0].to_string()});
        }
        let mut lock = stdout.lock();
        if writeln!(lock, "{line}").is_err() {
            break; // stdout closed (e.g. piped into head)
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {n} records could not be decoded (see their \"error\" field)");
        return Ok(EXIT_FAILED);
    }
    Ok(EXIT_OK)
}

pub(super) fn text_or_hex(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => format!("hex:{}", hex(b)),
    }
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

pub(super) async fn decode_bytes(
    bytes: Option<&[u8]>,
    how: Decode,
    codec: Option<&AvroCodec>,
    reader: Option<&CompiledSchema>,
    errors: &mut Vec<Error>,
) -> Value {
    let Some(b) = bytes else { return Value::Null };
    match how {
        Decode::Avro => match codec {
            Some(c) => decode_avro(c, b, reader).await.unwrap_or_else(|e| {
                errors.push(e);
                Value::Null
            }),
            None => Value::Null,
        },
        Decode::Json => serde_json::from_slice(b).unwrap_or_else(|e| {
            errors.push(Error::SerdeDecode { reason: format!("not JSON: {e}") });
            Value::Null
        }),
        Decode::String => Value::String(String::from_utf8_lossy(b).into_owned()),
        Decode::Hex => Value::String(hex(b)),
        Decode::Auto => {
            if let (Some(c), true) = (codec, b.len() >= avro::HEADER_LEN && b[0] == avro::MAGIC) {
                if let Ok(v) = decode_avro(c, b, reader).await {
                    return v;
                }
            }
            if let Ok(v) = serde_json::from_slice::<Value>(b) {
                return v;
            }
            match std::str::from_utf8(b) {
                Ok(s) => Value::String(s.to_string()),
                Err(_) => Value::String(format!("hex:{}", hex(b))),
            }
        }
    }
}

pub(super) async fn decode_avro(
    codec: &AvroCodec,
    b: &[u8],
    reader: Option<&CompiledSchema>,
) -> Result<Value> {
    match reader {
        Some(r) => {
            let (id, body) = avro::split_header(b)?;
            let w = codec.compiled(id).await?;
            avro::decode_framed_body(&w, Some(r), body, &mut JsonBuilder)
        }
        None => codec.decode(b, None, &mut JsonBuilder).await,
    }
}
