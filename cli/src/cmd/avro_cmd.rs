//! `kpipe avro`: offline Avro encode and decode of lines.

use super::*;

pub(super) fn avro_cmd(ctx: &Ctx, c: AvroCmd) -> Result<i32> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut failed = 0usize;
    match c {
        AvroCmd::Encode { schema, id } => {
            let (_, compiled) = read_schema(&schema)?;
            let mut buf = Vec::new();
            for item in json_lines(&stdin) {
                let (lineno, value) = item?;
                let value = match value {
                    Ok(v) => v,
                    Err(e) => {
                        failed += 1;
                        out::report_line(lineno, &e, ctx.json);
                        continue;
                    }
                };
                buf.clear();
                let r = match id {
                    Some(id) => avro::encode_framed(id, &compiled, &&value, &mut buf),
                    None => avro::encode(&compiled, &&value, &mut buf),
                };
                match r {
                    Ok(()) => {
                        let _ = writeln!(stdout.lock(), "{}", hex(&buf));
                    }
                    Err(e) => {
                        failed += 1;
                        out::report_line(lineno, &e, ctx.json);
                    }
                }
            }
        }
        AvroCmd::Decode { schema, reader, framing } => {
            let (_, writer) = read_schema(&schema)?;
            let reader = reader.as_deref().map(read_schema).transpose()?.map(|x| x.1);
            let projection =
                reader.as_ref().map(|r| avro::Projection::new(&writer, r)).transpose()?;
            let mut raw = Vec::new();
            let mut lock = stdin.lock();
            let mut lineno = 0;
            loop {
                raw.clear();
                let n = lock.read_until(b'\n', &mut raw).map_err(|e| Error::InputInvalid {
                    what: "stdin".into(),
                    reason: e.to_string(),
                })?;
                if n == 0 {
                    break;
                }
                lineno += 1;
                if raw.last() == Some(&b'\n') {
                    raw.pop();
                    if raw.last() == Some(&b'\r') {
                        raw.pop();
                    }
                }
                if raw.is_empty() {
                    continue;
                }
                let bytes = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| unhex(s.trim()))
                    .unwrap_or_else(|| raw.clone());
                let dec = |body: &[u8]| match &projection {
                    Some(p) => p.decode(body, &mut JsonBuilder),
                    None => avro::decode(&writer, None, body, &mut JsonBuilder),
                };
                // One reading per line: a frame that fails is reported, not re-read as a bare
                // body (which would print a wrong value instead of an error).
                let framed = match framing {
                    Framing::Confluent => true,
                    Framing::Bare => false,
                    Framing::Auto => bytes.len() >= avro::HEADER_LEN && bytes[0] == avro::MAGIC,
                };
                let result = if framed {
                    avro::split_header(&bytes)
                        .and_then(|(_, body)| dec(&avro::framed_body(&writer, body)))
                } else {
                    dec(&bytes)
                };
                match result {
                    Ok(v) => {
                        let _ = writeln!(stdout.lock(), "{v}");
                    }
                    Err(e) => {
                        failed += 1;
                        out::report_line(lineno, &e, ctx.json);
                    }
                }
            }
        }
    }
    if failed > 0 {
        if !ctx.json {
            eprintln!("{failed} line(s) failed");
        }
        return Ok(EXIT_FAILED);
    }
    Ok(EXIT_OK)
}
