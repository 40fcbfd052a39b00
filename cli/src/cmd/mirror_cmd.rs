//! `kpipe mirror`: the core's mirror (kpipe::mirror) with a table or a JSON report.

use super::*;

pub(super) async fn mirror(ctx: &Ctx, a: MirrorArgs) -> Result<i32> {
    let client = kpipe::Client::from_config(ctx.config()?)?;
    let topics: Vec<&str> = a.topics.iter().map(String::as_str).collect();
    let mut opts = kpipe::mirror::MirrorOptions::new(&a.from, &a.to, &topics, &a.group);
    opts.idle = (a.idle_ms > 0).then(|| std::time::Duration::from_millis(a.idle_ms));
    opts.max = a.max;
    let report = kpipe::mirror::mirror(&client, &opts).await;
    let closed = client.close();
    let report = report?;
    closed?;
    if ctx.json {
        let mut v =
            serde_json::to_value(&report).map_err(|e| Error::Internal { reason: e.to_string() })?;
        v["from"] = json!(a.from);
        v["to"] = json!(a.to);
        v["group"] = json!(a.group);
        out::json(&v);
    } else {
        for t in &report.created {
            println!("created {t} on {}", a.to);
        }
        let rows: Vec<Vec<String>> = report
            .partitions
            .iter()
            .map(|p| {
                vec![
                    p.topic.clone(),
                    p.partition.to_string(),
                    p.records.to_string(),
                    p.first_offset.to_string(),
                    p.last_offset.to_string(),
                ]
            })
            .collect();
        table(&["TOPIC", "PARTITION", "RECORDS", "FIRST", "LAST"], &rows);
        println!(
            "{} records mirrored from {} to {} (group {})",
            report.records, a.from, a.to, a.group
        );
    }
    Ok(EXIT_OK)
}
