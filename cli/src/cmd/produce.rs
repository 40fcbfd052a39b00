//! `kpipe produce`: JSON lines to Avro records.

use super::*;

pub(super) async fn produce(ctx: &Ctx, a: crate::ProduceArgs) -> Result<i32> {
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
    let producer =
        Arc::new(kpipe::ClusterProducer::new(&cluster, &cc.bootstrap, &cc.rdkafka_properties())?);
    let stdin = std::io::stdin();
    let (mut ok, mut failed) = (0usize, 0usize);
    // Up to WINDOW sends in flight, each enqueued in input order before the next line is read.
    const WINDOW: usize = 1000;
    let mut window: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
    // A settled send: reported with its line number; true when it was delivered. A failed
    // send is one bad line, like a bad value: the rest still go, the summary counts it.
    let settle = |lineno: usize, r: Result<kpipe::Delivery>| match r {
        Ok(d) => {
            if ctx.json {
                out::json(
                    &json!({"line": lineno, "cluster": &*d.cluster, "topic": &*d.topic, "partition": d.partition, "offset": d.offset, "schema_id": fixed.id}),
                );
            }
            true
        }
        Err(e) => {
            out::report_line(lineno, &e, ctx.json);
            false
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
            fut: Box::pin(async move {
                p.send(&topic, key.as_deref().map(str::as_bytes), Some(&buf), &[]).await
            }),
            done: None,
        };
        f.poll_once().await;
        window.push_back(f);
        if window.len() >= WINDOW {
            if let Some(f) = window.pop_front() {
                let lineno = f.lineno;
                if settle(lineno, f.finish().await) {
                    ok += 1
                } else {
                    failed += 1
                }
            }
        }
    }
    while let Some(f) = window.pop_front() {
        let lineno = f.lineno;
        if settle(lineno, f.finish().await) {
            ok += 1
        } else {
            failed += 1
        }
    }
    if !ctx.json {
        let failed_note =
            if failed > 0 { format!(", {failed} lines failed") } else { String::new() };
        eprintln!(
            "produced {ok} records to {} on {cluster} (schema id {}, subject {}){failed_note}",
            a.topic, fixed.id, fixed.subject
        );
    }
    Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
}

/// One record's send: polled once when made (which enqueues it), awaited later.
pub(super) struct InFlight {
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

pub(super) fn unreachable_usage<T>() -> Result<T> {
    Err(Error::InputInvalid {
        what: "arguments".into(),
        reason: "pass --schema FILE or --subject NAME".into(),
    })
}
