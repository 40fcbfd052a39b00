//! `kpipe topics`: list and describe topics (read-only).

use super::*;

pub(super) async fn topics(ctx: &Ctx, c: TopicsCmd) -> Result<i32> {
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
                    let mut row = vec![
                        topic.clone(),
                        parts.len().to_string(),
                        rf.to_string(),
                        messages.to_string(),
                    ];
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
                println!(
                    "topic {topic} on {} ({} partitions, {total} messages)",
                    o.cluster(),
                    parts.len()
                );
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
                table(
                    &["PARTITION", "LEADER", "REPLICAS", "ISR", "EARLIEST", "LATEST", "MESSAGES"],
                    &rows,
                );
                if !configs.is_empty() {
                    println!();
                    let rows: Vec<Vec<String>> =
                        configs.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                    table(&["CONFIG", "VALUE"], &rows);
                }
            }
            Ok(EXIT_OK)
        }
    }
}
