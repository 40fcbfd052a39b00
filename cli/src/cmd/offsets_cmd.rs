//! `kpipe offsets`: export, import, reset and migrate a group's offsets.

use super::*;

pub(super) fn changes_out(
    ctx: &Ctx,
    what: &str,
    group: &str,
    cluster: &str,
    changes: &[offsets::OffsetChange],
    dry_run: bool,
) {
    if ctx.json {
        out::json(
            &json!({"action": what, "group": group, "cluster": cluster, "dry_run": dry_run, "changes": changes}),
        );
    } else {
        let rows: Vec<Vec<String>> = changes
            .iter()
            .map(|c| {
                vec![c.topic.clone(), c.partition.to_string(), opt(c.before), c.after.to_string()]
            })
            .collect();
        table(&["TOPIC", "PARTITION", "BEFORE", "AFTER"], &rows);
        if dry_run {
            println!("dry run: nothing committed for group {group} on {cluster}");
        } else {
            println!("{what}: committed {} offsets for group {group} on {cluster}", changes.len());
        }
    }
}

pub(super) async fn offsets_cmd(ctx: &Ctx, c: OffsetsCmd) -> Result<i32> {
    let cfg = ctx.config()?;
    match c {
        OffsetsCmd::Export { group, cluster, topics, output } => {
            let first = topics.as_ref().and_then(|t| t.first()).map(String::as_str);
            let o = ctx.cluster(&cfg, cluster.as_deref(), first)?;
            let doc = o.export(&group, topics.as_deref()).await?;
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::Internal { reason: e.to_string() })?;
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
            let doc: offsets::OffsetsExport =
                serde_json::from_str(&read_file(&file)?).map_err(|e| Error::InputInvalid {
                    what: format!("offsets file {}", file.display()),
                    reason: e.to_string(),
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
                    println!(
                        "the group had no offsets before: deleted group {g} on {}",
                        o.cluster()
                    );
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
                ResetTo::Explicit(
                    list.iter().map(|s| parse_partition_offset(s)).collect::<Result<_>>()?,
                )
            } else {
                return Err(Error::InputInvalid {
                    what: "arguments".into(),
                    reason: "pass one of --to-earliest, --to-latest, --to-datetime, --to-offset"
                        .into(),
                });
            };
            let o = ctx.cluster(&cfg, cluster.as_deref(), topics.first().map(String::as_str))?;
            let changes = o.reset(&group, &topics, &to, force, dry_run).await?;
            changes_out(ctx, "reset", &group, o.cluster(), &changes, dry_run);
            Ok(EXIT_OK)
        }
        OffsetsCmd::Migrate {
            from,
            to,
            group,
            topics,
            dry_run,
            strategy,
            source_alias,
            force,
            rollback_file,
        } => {
            // before anything connects: a bad option is reported as every binding reports it
            let strategy: offsets::Strategy = kpipe::options::parse("strategy", &strategy)?;
            let source = Offsets::from_config(&cfg, &from)?;
            let target = Offsets::from_config(&cfg, &to)?;
            let req =
                offsets::MigrateRequest { group: group.clone(), topics, strategy, source_alias };
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
                format!(
                    "kpipe-rollback-{group}-{to}-{}.json",
                    chrono::Utc::now().timestamp_millis()
                )
                .into()
            });
            let rollback = plan.rollback();
            let text = serde_json::to_string_pretty(&rollback)
                .map_err(|e| Error::Internal { reason: e.to_string() })?;
            std::fs::write(&path, text + "\n").map_err(|e| Error::InputInvalid {
                what: format!("rollback file {}", path.display()),
                reason: e.to_string(),
            })?;
            let (_, changes) = offsets::apply_migration(&target, &plan, force).await?;
            if ctx.json {
                out::json(
                    &json!({"dry_run": false, "plan": plan, "rollback_file": path, "committed": changes}),
                );
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

pub(super) fn print_plan(plan: &offsets::MigrationPlan) {
    println!(
        "migrate group {} from {} to {} (strategy {}, {} member(s) on {})",
        plan.group,
        plan.source,
        plan.target,
        serde_json::to_value(plan.strategy)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
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
    table(
        &[
            "TOPIC",
            "PART",
            "SOURCE",
            "TIMESTAMP",
            "TARGET",
            "TARGET_BEFORE",
            "REPLAYED",
            "STATUS",
            "NOTE",
        ],
        &rows,
    );
    for p in &plan.problems {
        println!("problem: {}", p.message);
    }
    if plan.target_members > 0 {
        println!(
            "warning: group {} has {} active member(s) on {}",
            plan.group, plan.target_members, plan.target
        );
    }
}
