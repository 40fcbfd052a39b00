//! `kpipe groups`: consumer groups, their members and lag.

use super::*;

pub(super) async fn groups(ctx: &Ctx, c: GroupsCmd) -> Result<i32> {
    let cfg = ctx.config()?;
    match c {
        GroupsCmd::List { cluster } => {
            let o = ctx.cluster(&cfg, cluster.as_deref(), None)?;
            let list = o.group_names().await?;
            if ctx.json {
                let items: Vec<Value> =
                    list.iter().map(|(g, s)| json!({"group": g, "state": s})).collect();
                out::json(&json!({"cluster": o.cluster(), "groups": items}));
            } else {
                let rows: Vec<Vec<String>> = list.into_iter().map(|(g, s)| vec![g, s]).collect();
                table(&["GROUP", "STATE"], &rows);
            }
            Ok(EXIT_OK)
        }
        GroupsCmd::Describe { group, cluster, topics } => {
            let o = ctx.cluster(
                &cfg,
                cluster.as_deref(),
                topics.as_ref().and_then(|t| t.first()).map(String::as_str),
            )?;
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
                                    format!(
                                        "{t}[{}]",
                                        ps.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                                    )
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
