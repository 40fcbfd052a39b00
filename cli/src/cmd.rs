//! The commands. Each returns the exit status, or a kpipe error (exit 3).

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use kpipe::avro::{self, CompiledSchema, JsonBuilder};
use kpipe::codec::AvroCodec;
use kpipe::compat::{self, Level, Violation};
use kpipe::config::Config;
use kpipe::offsets::{self, Offsets, ResetTo, StartAt};
use kpipe::{Error, RegistryClient, Result};
use serde_json::{json, Value};

use crate::out::{self, opt, table, EXIT_FAILED, EXIT_OK};
use crate::{AvroCmd, Cli, Command, Decode, Framing, GroupsCmd, OffsetsCmd, SchemaCmd, StrategyArg, TopicsCmd};

pub async fn run(cli: Cli) -> Result<i32> {
    let ctx = Ctx { config_path: cli.config.clone(), json: cli.json };
    match cli.command {
        Command::Topics(c) => topics(&ctx, c).await,
        Command::Consume(a) => consume(&ctx, a).await,
        Command::Produce(a) => produce(&ctx, a).await,
        Command::Schema(c) => schema(&ctx, c).await,
        Command::Groups(c) => groups(&ctx, c).await,
        Command::Avro(c) => avro_cmd(&ctx, c),
        Command::Offsets(c) => offsets_cmd(&ctx, c).await,
    }
}

struct Ctx {
    config_path: std::path::PathBuf,
    json: bool,
}

impl Ctx {
    fn config(&self) -> Result<Config> {
        Config::from_file(&self.config_path)
    }

    /// The cluster named, else the one routed for `topic`, else the only one configured.
    fn cluster(&self, cfg: &Config, named: Option<&str>, topic: Option<&str>) -> Result<Offsets> {
        let name = match (named, topic) {
            (Some(n), _) => n.to_string(),
            (None, Some(t)) => cfg.router()?.cluster_for(t)?.to_string(),
            (None, None) if cfg.clusters.len() == 1 => cfg.clusters.keys().next().cloned().unwrap_or_default(),
            (None, None) => {
                return Err(Error::ConfigInvalid {
                    path: "--cluster".into(),
                    reason: format!(
                        "several clusters are configured ({}); name one with --cluster",
                        cfg.clusters.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                })
            }
        };
        Offsets::from_config(cfg, &name)
    }

    fn registry(&self, cfg: &Config) -> Result<RegistryClient> {
        let r = cfg
            .registry
            .as_ref()
            .ok_or_else(|| Error::ConfigInvalid { path: "registry".into(), reason: "no registry configured".into() })?;
        RegistryClient::from_config(r)
    }
}

/// The non-blank lines of stdin with their 1-based numbers, each parsed as JSON: a line that
/// is not JSON is an `input.invalid` for that line (the caller reports it and goes on); a read
/// error ends the input.
fn json_lines(stdin: &std::io::Stdin) -> impl Iterator<Item = Result<(usize, Result<Value>)>> + '_ {
    // Raw bytes, not `lines()`: a line that is not UTF-8 is one bad line (reported with its
    // number like a JSON error), not the end of the input.
    stdin.lock().split(b'\n').enumerate().filter_map(|(i, line)| match line {
        Err(e) => Some(Err(Error::InputInvalid { what: "stdin".into(), reason: e.to_string() })),
        Ok(bytes) => {
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
            match std::str::from_utf8(bytes) {
                Err(e) => Some(Ok((
                    i + 1,
                    Err(Error::InputInvalid { what: "line".into(), reason: format!("not valid UTF-8 ({e})") }),
                ))),
                Ok(l) if l.trim().is_empty() => None,
                Ok(l) => Some(Ok((
                    i + 1,
                    serde_json::from_str(l).map_err(|e| Error::InputInvalid { what: "JSON line".into(), reason: e.to_string() }),
                ))),
            }
        }
    })
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::InputInvalid { what: format!("file {}", path.display()), reason: e.to_string() })
}

fn read_schema(path: &Path) -> Result<(String, CompiledSchema)> {
    let text = read_file(path)?;
    let compiled = CompiledSchema::parse(&text).map_err(|e| match e {
        Error::SchemaInvalid { reason } => Error::SchemaInvalid { reason: format!("{}: {reason}", path.display()) },
        e => e,
    })?;
    Ok((text, compiled))
}

fn parse_partition_offset(s: &str) -> Result<(i32, i64)> {
    let bad = || Error::InputInvalid {
        what: format!("offset spec {s:?}"),
        reason: "expected PARTITION:OFFSET like 0:42".into(),
    };
    let (p, o) = s.split_once(':').ok_or_else(bad)?;
    Ok((p.trim().parse().map_err(|_| bad())?, o.trim().parse().map_err(|_| bad())?))
}

// ---- topics ---------------------------------------------------------------------------------------

async fn topics(ctx: &Ctx, c: TopicsCmd) -> Result<i32> {
    let cfg = ctx.config()?;
    match c {
        TopicsCmd::List { cluster, internal } => {
            // Without --cluster, every configured cluster, with a CLUSTER column.
            let names: Vec<String> = match &cluster {
                Some(c) => vec![c.clone()],
                None => cfg.clusters.keys().cloned().collect(),
            };
            let several = names.len() > 1;
            let mut rows = Vec::new();
            let mut items = Vec::new();
            for name in &names {
                let o = ctx.cluster(&cfg, Some(name), None)?;
                for topic in o.topic_names().await? {
                    if topic.starts_with("__") && !internal {
                        continue;
                    }
                    let parts = match o.partitions(&topic).await {
                        Ok(p) => p,
                        Err(Error::TopicNotFound { .. }) => continue, // deleted meanwhile
                        Err(e) => return Err(e),
                    };
                    let rf = parts.first().map_or(0, |p| p.replicas.len());
                    let messages: i64 = parts.iter().map(|p| p.messages).sum();
                    let mut row = vec![topic.clone(), parts.len().to_string(), rf.to_string(), messages.to_string()];
                    if several {
                        row.insert(0, name.clone());
                    }
                    rows.push(row);
                    items.push(json!({"cluster": name, "topic": topic, "partitions": parts.len(), "replication_factor": rf, "messages": messages}));
                }
            }
            if ctx.json {
                if several {
                    out::json(&json!({"topics": items}));
                } else {
                    out::json(&json!({"cluster": names[0], "topics": items}));
                }
            } else if several {
                table(&["CLUSTER", "TOPIC", "PARTITIONS", "RF", "MESSAGES"], &rows);
            } else {
                table(&["TOPIC", "PARTITIONS", "RF", "MESSAGES"], &rows);
            }
            Ok(EXIT_OK)
        }
        TopicsCmd::Describe { topic, cluster, all_configs } => {
            let o = ctx.cluster(&cfg, cluster.as_deref(), Some(&topic))?;
            let parts = o.partitions(&topic).await?;
            let configs = o.topic_configs(&topic, all_configs).await?;
            let total: i64 = parts.iter().map(|p| p.messages).sum();
            if ctx.json {
                out::json(&json!({
                    "cluster": o.cluster(), "topic": topic, "messages": total,
                    "partitions": parts, "configs": configs,
                }));
            } else {
                println!("topic {topic} on {} ({} partitions, {total} messages)", o.cluster(), parts.len());
                let join = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
                let rows: Vec<Vec<String>> = parts
                    .iter()
                    .map(|p| {
                        vec![
                            p.partition.to_string(),
                            p.leader.to_string(),
                            join(&p.replicas),
                            join(&p.isr),
                            p.earliest.to_string(),
                            p.latest.to_string(),
                            p.messages.to_string(),
                        ]
                    })
                    .collect();
                table(&["PARTITION", "LEADER", "REPLICAS", "ISR", "EARLIEST", "LATEST", "MESSAGES"], &rows);
                if !configs.is_empty() {
                    println!();
                    let rows: Vec<Vec<String>> = configs.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                    table(&["CONFIG", "VALUE"], &rows);
                }
            }
            Ok(EXIT_OK)
        }
    }
}

// ---- consume ----------------------------------------------------------------------------------------

async fn consume(ctx: &Ctx, a: crate::ConsumeArgs) -> Result<i32> {
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
        let key = decode_bytes(r.key.as_deref(), a.key_decode, codec.as_ref(), None, &mut errors).await;
        let value =
            decode_bytes(r.value.as_deref(), a.decode, codec.as_ref(), reader_schema.as_ref(), &mut errors).await;
        let headers: serde_json::Map<String, Value> = r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_deref().map_or(Value::Null, |b| Value::String(text_or_hex(b)))))
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

fn text_or_hex(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => format!("hex:{}", hex(b)),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

async fn decode_bytes(
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

async fn decode_avro(codec: &AvroCodec, b: &[u8], reader: Option<&CompiledSchema>) -> Result<Value> {
    match reader {
        Some(r) => {
            let (id, body) = avro::split_header(b)?;
            let w = codec.compiled(id).await?;
            avro::decode_framed_body(&w, Some(r), body, &mut JsonBuilder)
        }
        None => codec.decode(b, None, &mut JsonBuilder).await,
    }
}

// ---- produce ------------------------------------------------------------------------------------------

async fn produce(ctx: &Ctx, a: crate::ProduceArgs) -> Result<i32> {
    let schema_text = a.schema.as_deref().map(read_file).transpose()?;
    let cfg = ctx.config()?;
    let cluster = match &a.cluster {
        Some(c) => c.clone(),
        None => cfg.router()?.cluster_for(&a.topic)?.to_string(),
    };
    let cc = cfg.clusters.get(&cluster).ok_or_else(|| Error::ConfigInvalid {
        path: format!("clusters.{cluster}"),
        reason: "no such cluster".into(),
    })?;
    let codec = AvroCodec::new(ctx.registry(&cfg)?, cfg.schemas.clone());
    // Resolve the writer first so a bad schema or policy fails before reading stdin.
    let fixed = match (&schema_text, &a.subject) {
        (Some(text), _) => codec.writer(&a.topic, false, Some(text)).await?,
        (None, Some(subject)) => {
            let latest = codec.registry().latest(subject).await?;
            kpipe::codec::WriterSchema {
                subject: subject.as_str().into(),
                id: latest.id,
                schema: codec.compiled(latest.id).await?,
            }
        }
        (None, None) => unreachable_usage()?,
    };
    let producer = Arc::new(kpipe::ClusterProducer::new(&cluster, &cc.bootstrap, &cc.rdkafka_properties())?);
    let stdin = std::io::stdin();
    let (mut ok, mut failed) = (0usize, 0usize);
    // Up to WINDOW sends in flight, each enqueued in input order before the next line is read.
    const WINDOW: usize = 1000;
    let mut window: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
    let report = |lineno: usize, d: &kpipe::Delivery| {
        if ctx.json {
            out::json(
                &json!({"line": lineno, "cluster": &*d.cluster, "topic": &*d.topic, "partition": d.partition, "offset": d.offset, "schema_id": fixed.id}),
            );
        }
    };
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
        let mut buf = Vec::new();
        if let Err(e) = avro::encode_framed(fixed.id, &fixed.schema, &&value, &mut buf) {
            failed += 1;
            out::report_line(lineno, &e, ctx.json);
            continue;
        }
        let (p, topic, key) = (producer.clone(), a.topic.clone(), a.key.clone());
        let mut f = InFlight {
            lineno,
            fut: Box::pin(async move { p.send(&topic, key.as_deref().map(str::as_bytes), Some(&buf), &[]).await }),
            done: None,
        };
        f.poll_once().await;
        window.push_back(f);
        if window.len() >= WINDOW {
            if let Some(f) = window.pop_front() {
                let lineno = f.lineno;
                match f.finish().await {
                    Ok(d) => {
                        report(lineno, &d);
                        ok += 1;
                    }
                    Err(e) => {
                        failed += 1;
                        out::report_line(lineno, &e, ctx.json);
                    }
                }
            }
        }
    }
    // A failed send is one bad line, like a bad value: the rest still go, the summary counts it.
    while let Some(f) = window.pop_front() {
        let lineno = f.lineno;
        match f.finish().await {
            Ok(d) => {
                report(lineno, &d);
                ok += 1;
            }
            Err(e) => {
                failed += 1;
                out::report_line(lineno, &e, ctx.json);
            }
        }
    }
    if !ctx.json {
        let failed_note = if failed > 0 { format!(", {failed} lines failed") } else { String::new() };
        eprintln!(
            "produced {ok} records to {} on {cluster} (schema id {}, subject {}){failed_note}",
            a.topic, fixed.id, fixed.subject
        );
    }
    Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
}

/// One record's send: polled once when made (which enqueues it), awaited later.
struct InFlight {
    lineno: usize,
    fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<kpipe::Delivery>>>>,
    done: Option<Result<kpipe::Delivery>>,
}

impl InFlight {
    async fn poll_once(&mut self) {
        std::future::poll_fn(|cx| {
            if self.done.is_none() {
                if let std::task::Poll::Ready(r) = self.fut.as_mut().poll(cx) {
                    self.done = Some(r);
                }
            }
            std::task::Poll::Ready(())
        })
        .await
    }

    async fn finish(self) -> Result<kpipe::Delivery> {
        match self.done {
            Some(r) => r,
            None => self.fut.await,
        }
    }
}

fn unreachable_usage<T>() -> Result<T> {
    Err(Error::InputInvalid { what: "arguments".into(), reason: "pass --schema FILE or --subject NAME".into() })
}

// ---- schema ---------------------------------------------------------------------------------------------

/// The subject's versions to compare with at `level` (latest, or all for transitive levels).
async fn previous_from_registry(reg: &RegistryClient, subject: &str, level: Level) -> Result<Vec<(i32, String)>> {
    let versions = reg.versions(subject).await?;
    let wanted: Vec<i32> =
        if level.is_transitive() { versions } else { versions.into_iter().max().into_iter().collect() };
    let mut out = Vec::new();
    for v in wanted {
        out.push((v, reg.subject_version(subject, v).await?.schema));
    }
    Ok(out)
}

fn print_violations(ctx: &Ctx, level: Level, against: &str, violations: &[Violation]) -> i32 {
    if ctx.json {
        out::json(&json!({
            "compatible": violations.is_empty(), "level": level.to_string(), "against": against,
            "violations": violations,
        }));
    } else if violations.is_empty() {
        println!("compatible: {level} against {against}");
    } else {
        println!("NOT compatible: {level} against {against}: {} violation(s)", violations.len());
        for v in violations {
            println!("  {}: {} [{}]", v.path, v.message, v.kind);
        }
    }
    if violations.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// `base` plus the `--allow` names.
fn allow_list(mut base: compat::PolicyAllow, names: &[String]) -> Result<compat::PolicyAllow> {
    for n in names {
        base.allow(n).map_err(|e| match e {
            Error::ConfigInvalid { reason, .. } => Error::InputInvalid { what: "--allow".into(), reason },
            e => e,
        })?;
    }
    Ok(base)
}

async fn schema(ctx: &Ctx, c: SchemaCmd) -> Result<i32> {
    match c {
        SchemaCmd::Compat { old, new, level, allow } => {
            let allow = allow_list(compat::PolicyAllow::default(), &allow)?;
            let (new_text, _) = read_schema(&new)?;
            let olds: Vec<String> = old.iter().map(|p| read_schema(p).map(|x| x.0)).collect::<Result<_>>()?;
            let refs: Vec<&str> = olds.iter().map(String::as_str).collect();
            let v = compat::check_str_allowing(level, allow, &new_text, &refs)?;
            let against = old.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
            Ok(print_violations(ctx, level, &against, &v))
        }
        SchemaCmd::Check { schema, subject, against, level, allow } => {
            let (new_text, _) = read_schema(&schema)?;
            let cfg = if level.is_none() || against.is_empty() { Some(ctx.config()?) } else { None };
            let level = level.or(cfg.as_ref().map(|c| c.schemas.policy)).unwrap_or(Level::AddWithDefaultOnly);
            let allow = allow_list(cfg.as_ref().map(|c| c.schemas.policy_allow).unwrap_or_default(), &allow)?;
            let (label, olds): (String, Vec<String>) = if !against.is_empty() {
                let olds = against.iter().map(|p| read_schema(p).map(|x| x.0)).collect::<Result<_>>()?;
                (against.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "), olds)
            } else {
                let cfg = cfg.as_ref().ok_or_else(|| Error::Internal { reason: "config not loaded".into() })?;
                let subject = subject.clone().unwrap_or_default();
                let reg = ctx.registry(cfg)?;
                let prev = match previous_from_registry(&reg, &subject, level).await {
                    Ok(p) => p,
                    Err(Error::RegistryNotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                };
                let versions: Vec<String> = prev.iter().map(|(v, _)| v.to_string()).collect();
                let label = if prev.is_empty() {
                    format!("subject {subject} (no versions yet)")
                } else {
                    format!("subject {subject} version {}", versions.join(","))
                };
                (label, prev.into_iter().map(|x| x.1).collect())
            };
            let refs: Vec<&str> = olds.iter().map(String::as_str).collect();
            let v = compat::check_str_allowing(level, allow, &new_text, &refs)?;
            Ok(print_violations(ctx, level, &label, &v))
        }
        SchemaCmd::Register { subject, schema } => {
            let (text, compiled) = read_schema(&schema)?;
            let cfg = ctx.config()?;
            let reg = ctx.registry(&cfg)?;
            let level = cfg.schemas.policy;
            let prev = match previous_from_registry(&reg, &subject, level).await {
                Ok(p) => p,
                Err(Error::RegistryNotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            let prev_schemas: Vec<_> = prev.iter().map(|(_, t)| avro::parse_schema(t)).collect::<Result<_>>()?;
            let v = compat::check_allowing(level, cfg.schemas.policy_allow, compiled.schema(), &prev_schemas);
            if !v.is_empty() {
                let code = print_violations(ctx, level, &format!("subject {subject}"), &v);
                eprintln!("not registered: the schema violates {level}");
                return Ok(code);
            }
            let id = reg.register(&subject, &text).await?;
            let sv = reg.lookup(&subject, &text).await?;
            if ctx.json {
                out::json(&json!({"subject": subject, "id": id, "version": sv.version}));
            } else {
                println!("registered {subject} version {} id {id}", sv.version);
            }
            Ok(EXIT_OK)
        }
        SchemaCmd::Get { subject, version, id } => {
            let cfg = ctx.config()?;
            let reg = ctx.registry(&cfg)?;
            let (meta, text) = match (id, subject) {
                (Some(id), _) => (json!({"id": id}), reg.schema_by_id(id).await?),
                (None, Some(s)) => {
                    let sv = match version {
                        Some(v) => reg.subject_version(&s, v).await?,
                        None => reg.latest(&s).await?,
                    };
                    (json!({"subject": sv.subject, "version": sv.version, "id": sv.id}), sv.schema)
                }
                (None, None) => unreachable_usage()?,
            };
            let schema: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
            if ctx.json {
                let mut m = meta;
                m["schema"] = schema;
                out::json(&m);
            } else {
                println!("# {meta}");
                println!("{}", serde_json::to_string_pretty(&schema).unwrap_or(text));
            }
            Ok(EXIT_OK)
        }
        SchemaCmd::Diff { subject, old, new } => {
            let (new_text, _) = read_schema(&new)?;
            let (label, old_text) = match (old, subject) {
                (Some(p), _) => (p.display().to_string(), read_schema(&p)?.0),
                (None, Some(s)) => {
                    let cfg = ctx.config()?;
                    let sv = ctx.registry(&cfg)?.latest(&s).await?;
                    (format!("{s} version {}", sv.version), sv.schema)
                }
                (None, None) => unreachable_usage()?,
            };
            let pretty = |t: &str| {
                serde_json::from_str::<Value>(t)
                    .ok()
                    .and_then(|v| serde_json::to_string_pretty(&v).ok())
                    .unwrap_or_else(|| t.to_string())
            };
            let (a, b) = (pretty(&old_text), pretty(&new_text));
            let a: Vec<&str> = a.lines().collect();
            let b: Vec<&str> = b.lines().collect();
            let d = line_diff(&a, &b);
            // the config's benign changes when there is a config (a diff of two files needs none)
            let allow = ctx.config().map(|c| c.schemas.policy_allow).unwrap_or_default();
            let v = compat::check_str_allowing(Level::AddWithDefaultOnly, allow, &new_text, &[&old_text])?;
            if ctx.json {
                let changes: Vec<Value> = d
                    .iter()
                    .filter(|(op, _)| *op != ' ')
                    .map(|(op, l)| json!({"op": op.to_string(), "line": l}))
                    .collect();
                out::json(
                    &json!({"old": label, "new": new.display().to_string(), "changes": changes, "policy_violations": v}),
                );
            } else {
                println!("--- {label}\n+++ {}", new.display());
                for (op, l) in &d {
                    println!("{op}{l}");
                }
                if v.is_empty() {
                    println!("# add-with-default-only: ok");
                } else {
                    for x in &v {
                        println!("# add-with-default-only violation: {x}");
                    }
                }
            }
            Ok(EXIT_OK)
        }
    }
}

/// A longest-common-subsequence line diff: (' ' | '-' | '+', line).
fn line_diff<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| ('-', *l)));
    out.extend(b[j..].iter().map(|l| ('+', *l)));
    out
}

// ---- groups ----------------------------------------------------------------------------------------------

async fn groups(ctx: &Ctx, c: GroupsCmd) -> Result<i32> {
    let cfg = ctx.config()?;
    match c {
        GroupsCmd::List { cluster } => {
            let o = ctx.cluster(&cfg, cluster.as_deref(), None)?;
            let list = o.group_names().await?;
            if ctx.json {
                let items: Vec<Value> = list.iter().map(|(g, s)| json!({"group": g, "state": s})).collect();
                out::json(&json!({"cluster": o.cluster(), "groups": items}));
            } else {
                let rows: Vec<Vec<String>> = list.into_iter().map(|(g, s)| vec![g, s]).collect();
                table(&["GROUP", "STATE"], &rows);
            }
            Ok(EXIT_OK)
        }
        GroupsCmd::Describe { group, cluster, topics } => {
            let o =
                ctx.cluster(&cfg, cluster.as_deref(), topics.as_ref().and_then(|t| t.first()).map(String::as_str))?;
            let state = o.group_state(&group).await?;
            let lag = o.lag(&group, topics.as_deref()).await?;
            let total: i64 = lag.iter().map(|l| l.lag).sum();
            if ctx.json {
                out::json(&json!({"cluster": o.cluster(), "group": group, "state": state.state,
                    "members": state.members, "partitions": lag, "total_lag": total}));
            } else {
                println!(
                    "group {group} on {}: {} ({} members, total lag {total})",
                    o.cluster(),
                    state.state,
                    state.members.len()
                );
                if !state.members.is_empty() {
                    let rows: Vec<Vec<String>> = state
                        .members
                        .iter()
                        .map(|m| {
                            let a = m
                                .assignment
                                .iter()
                                .map(|(t, ps)| {
                                    format!("{t}[{}]", ps.iter().map(i32::to_string).collect::<Vec<_>>().join(","))
                                })
                                .collect::<Vec<_>>()
                                .join(" ");
                            vec![m.id.clone(), m.client_id.clone(), m.host.clone(), a]
                        })
                        .collect();
                    table(&["MEMBER", "CLIENT", "HOST", "ASSIGNMENT"], &rows);
                    println!();
                }
                let rows: Vec<Vec<String>> = lag
                    .iter()
                    .map(|l| {
                        vec![
                            l.topic.clone(),
                            l.partition.to_string(),
                            opt(l.committed),
                            l.earliest.to_string(),
                            l.latest.to_string(),
                            l.lag.to_string(),
                        ]
                    })
                    .collect();
                table(&["TOPIC", "PARTITION", "COMMITTED", "EARLIEST", "LATEST", "LAG"], &rows);
            }
            Ok(EXIT_OK)
        }
    }
}

// ---- avro (offline) ----------------------------------------------------------------------------------------

fn avro_cmd(ctx: &Ctx, c: AvroCmd) -> Result<i32> {
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
            let projection = reader.as_ref().map(|r| avro::Projection::new(&writer, r)).transpose()?;
            let mut raw = Vec::new();
            let mut lock = stdin.lock();
            let mut lineno = 0;
            loop {
                raw.clear();
                let n = lock
                    .read_until(b'\n', &mut raw)
                    .map_err(|e| Error::InputInvalid { what: "stdin".into(), reason: e.to_string() })?;
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
                let bytes = std::str::from_utf8(&raw).ok().and_then(|s| unhex(s.trim())).unwrap_or_else(|| raw.clone());
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
                    avro::split_header(&bytes).and_then(|(_, body)| dec(&avro::framed_body(&writer, body)))
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

// ---- offsets -------------------------------------------------------------------------------------------------

fn changes_out(ctx: &Ctx, what: &str, group: &str, cluster: &str, changes: &[offsets::OffsetChange], dry_run: bool) {
    if ctx.json {
        out::json(&json!({"action": what, "group": group, "cluster": cluster, "dry_run": dry_run, "changes": changes}));
    } else {
        let rows: Vec<Vec<String>> = changes
            .iter()
            .map(|c| vec![c.topic.clone(), c.partition.to_string(), opt(c.before), c.after.to_string()])
            .collect();
        table(&["TOPIC", "PARTITION", "BEFORE", "AFTER"], &rows);
        if dry_run {
            println!("dry run: nothing committed for group {group} on {cluster}");
        } else {
            println!("{what}: committed {} offsets for group {group} on {cluster}", changes.len());
        }
    }
}

async fn offsets_cmd(ctx: &Ctx, c: OffsetsCmd) -> Result<i32> {
    let cfg = ctx.config()?;
    match c {
        OffsetsCmd::Export { group, cluster, topics, output } => {
            let first = topics.as_ref().and_then(|t| t.first()).map(String::as_str);
            let o = ctx.cluster(&cfg, cluster.as_deref(), first)?;
            let doc = o.export(&group, topics.as_deref()).await?;
            let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Internal { reason: e.to_string() })?;
            match output {
                Some(p) => {
                    std::fs::write(&p, text + "\n").map_err(|e| Error::InputInvalid {
                        what: format!("file {}", p.display()),
                        reason: e.to_string(),
                    })?;
                    eprintln!(
                        "exported {} offsets of group {group} on {} to {}",
                        doc.offsets.len(),
                        o.cluster(),
                        p.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(EXIT_OK)
        }
        OffsetsCmd::Import { file, cluster, group, force } => {
            let doc: offsets::OffsetsExport = serde_json::from_str(&read_file(&file)?).map_err(|e| {
                Error::InputInvalid { what: format!("offsets file {}", file.display()), reason: e.to_string() }
            })?;
            let o = Offsets::from_config(&cfg, cluster.as_deref().unwrap_or(&doc.cluster))?;
            let changes = o.import(&doc, group.as_deref(), force).await?;
            let g = group.as_deref().unwrap_or(&doc.group);
            if changes.is_empty() && !doc.offsets.is_empty() {
                // A rollback of a group that had no offsets on this cluster: it was deleted.
                if ctx.json {
                    out::json(
                        &json!({"action": "import", "group": g, "cluster": o.cluster(), "deleted_group": true, "changes": []}),
                    );
                } else {
                    println!("the group had no offsets before: deleted group {g} on {}", o.cluster());
                }
                return Ok(EXIT_OK);
            }
            changes_out(ctx, "import", g, o.cluster(), &changes, false);
            Ok(EXIT_OK)
        }
        OffsetsCmd::Reset {
            group,
            topics,
            cluster,
            to_earliest,
            to_latest,
            to_datetime,
            to_offset,
            dry_run,
            force,
        } => {
            let to = if to_earliest {
                ResetTo::Earliest
            } else if to_latest {
                ResetTo::Latest
            } else if let Some(t) = to_datetime {
                ResetTo::Time(offsets::parse_time(&t)?)
            } else if let Some(list) = to_offset {
                if topics.len() != 1 {
                    return Err(Error::InputInvalid {
                        what: "--to-offset".into(),
                        reason: "explicit offsets need exactly one topic in --topics".into(),
                    });
                }
                ResetTo::Explicit(list.iter().map(|s| parse_partition_offset(s)).collect::<Result<_>>()?)
            } else {
                return Err(Error::InputInvalid {
                    what: "arguments".into(),
                    reason: "pass one of --to-earliest, --to-latest, --to-datetime, --to-offset".into(),
                });
            };
            let o = ctx.cluster(&cfg, cluster.as_deref(), topics.first().map(String::as_str))?;
            let changes = o.reset(&group, &topics, &to, force, dry_run).await?;
            changes_out(ctx, "reset", &group, o.cluster(), &changes, dry_run);
            Ok(EXIT_OK)
        }
        OffsetsCmd::Migrate { from, to, group, topics, dry_run, strategy, source_alias, force, rollback_file } => {
            let source = Offsets::from_config(&cfg, &from)?;
            let target = Offsets::from_config(&cfg, &to)?;
            let req = offsets::MigrateRequest {
                group: group.clone(),
                topics,
                strategy: match strategy {
                    StrategyArg::Timestamp => offsets::Strategy::Timestamp,
                    StrategyArg::Checkpoint => offsets::Strategy::Checkpoint,
                },
                source_alias,
            };
            let bar = if ctx.json {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} planning {pos}/{len} partitions {wide_bar} {elapsed}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            };
            let plan = offsets::plan_migration(&source, &target, &req, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })
            .await;
            bar.finish_and_clear();
            let plan = plan?;
            if !ctx.json {
                print_plan(&plan);
            }
            if dry_run {
                if ctx.json {
                    out::json(&json!({"dry_run": true, "plan": plan}));
                } else {
                    println!("dry run: nothing committed");
                }
                return Ok(EXIT_OK);
            }
            offsets::check_migration(&target, &plan, force).await?;
            let path = rollback_file.unwrap_or_else(|| {
                format!("kpipe-rollback-{group}-{to}-{}.json", chrono::Utc::now().timestamp_millis()).into()
            });
            let rollback = plan.rollback();
            let text =
                serde_json::to_string_pretty(&rollback).map_err(|e| Error::Internal { reason: e.to_string() })?;
            std::fs::write(&path, text + "\n").map_err(|e| Error::InputInvalid {
                what: format!("rollback file {}", path.display()),
                reason: e.to_string(),
            })?;
            let (_, changes) = offsets::apply_migration(&target, &plan, force).await?;
            if ctx.json {
                out::json(&json!({"dry_run": false, "plan": plan, "rollback_file": path, "committed": changes}));
            } else {
                println!(
                    "migrated group {group} from {from} to {to}: committed {} offsets; rollback: kpipe offsets import --file {}",
                    changes.len(),
                    path.display()
                );
            }
            Ok(EXIT_OK)
        }
    }
}

fn print_plan(plan: &offsets::MigrationPlan) {
    println!(
        "migrate group {} from {} to {} (strategy {}, {} member(s) on {})",
        plan.group,
        plan.source,
        plan.target,
        serde_json::to_value(plan.strategy).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        plan.target_members,
        plan.target
    );
    let rows: Vec<Vec<String>> = plan
        .partitions
        .iter()
        .map(|e| {
            vec![
                e.topic.clone(),
                e.partition.to_string(),
                opt(e.source_offset),
                e.timestamp.map_or_else(|| "-".into(), offsets::format_time),
                opt(e.target_offset),
                opt(e.target_previous),
                opt(e.replayed),
                e.status.clone(),
                e.note.clone(),
            ]
        })
        .collect();
    table(&["TOPIC", "PART", "SOURCE", "TIMESTAMP", "TARGET", "TARGET_BEFORE", "REPLAYED", "STATUS", "NOTE"], &rows);
    for p in &plan.problems {
        println!("problem: {}", p.message);
    }
    if plan.target_members > 0 {
        println!("warning: group {} has {} active member(s) on {}", plan.group, plan.target_members, plan.target);
    }
}
