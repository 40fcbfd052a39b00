//! `kpipe schema`: register, check against a policy or level, diff, get, compat.

use super::*;

/// The subject's versions to compare with at `level` (latest, or all for transitive levels),
/// each compiled with its references.
pub(super) async fn previous_from_registry(
    reg: &RegistryClient,
    subject: &str,
    level: Level,
) -> Result<Vec<(i32, CompiledSchema)>> {
    kpipe::codec::previous_versions(reg, subject, level).await
}

/// The `--reference` texts, parsed by the core.
fn references_of(texts: &[String]) -> Result<Vec<kpipe::registry::SchemaReference>> {
    texts.iter().map(|t| t.parse()).collect()
}

/// The schema file compiled with its references (fetched from the registry).
async fn read_schema_with_references(
    ctx: &Ctx,
    path: &std::path::Path,
    references: &[kpipe::registry::SchemaReference],
) -> Result<(String, CompiledSchema)> {
    if references.is_empty() {
        return read_schema(path);
    }
    let text = read_file(path)?;
    let cfg = ctx.config()?;
    let reg = ctx.registry(&cfg)?;
    let from = path.display().to_string();
    let compiled = kpipe::codec::compile_with_references(&reg, &text, references, &from).await?;
    Ok((text, compiled))
}

pub(super) fn print_violations(
    ctx: &Ctx,
    level: Level,
    against: &str,
    violations: &[Violation],
) -> i32 {
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
            Error::ConfigInvalid { reason, .. } => {
                Error::InputInvalid { what: "--allow".into(), reason }
            }
            e => e,
        })?;
    }
    Ok(base)
}

pub(super) async fn schema(ctx: &Ctx, c: SchemaCmd) -> Result<i32> {
    match c {
        SchemaCmd::Compat { old, new, level, allow } => {
            let level: Level = kpipe::options::parse("level", &level)?;
            let allow = allow_list(compat::PolicyAllow::default(), &allow)?;
            let (new_text, _) = read_schema(&new)?;
            let olds: Vec<String> =
                old.iter().map(|p| read_schema(p).map(|x| x.0)).collect::<Result<_>>()?;
            let refs: Vec<&str> = olds.iter().map(String::as_str).collect();
            let v = compat::check_str_allowing(level, allow, &new_text, &refs)?;
            let against =
                old.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
            Ok(print_violations(ctx, level, &against, &v))
        }
        SchemaCmd::Check { schema, subject, against, level, allow, references } => {
            let level: Option<Level> =
                level.map(|l| kpipe::options::parse("level", &l)).transpose()?;
            let references = references_of(&references)?;
            let (_, new) = read_schema_with_references(ctx, &schema, &references).await?;
            let cfg =
                if level.is_none() || against.is_empty() { Some(ctx.config()?) } else { None };
            let level = level
                .or(cfg.as_ref().map(|c| c.schemas.policy))
                .unwrap_or(Level::AddWithDefaultOnly);
            let allow = allow_list(
                cfg.as_ref().map(|c| c.schemas.policy_allow).unwrap_or_default(),
                &allow,
            )?;
            let (label, olds): (String, Vec<CompiledSchema>) = if !against.is_empty() {
                let olds =
                    against.iter().map(|p| read_schema(p).map(|x| x.1)).collect::<Result<_>>()?;
                (
                    against.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                    olds,
                )
            } else {
                let cfg = cfg
                    .as_ref()
                    .ok_or_else(|| Error::Internal { reason: "config not loaded".into() })?;
                let subject = subject.clone().unwrap_or_default();
                let reg = ctx.registry(cfg)?;
                let prev = previous_from_registry(&reg, &subject, level).await?;
                let versions: Vec<String> = prev.iter().map(|(v, _)| v.to_string()).collect();
                let label = if prev.is_empty() {
                    format!("subject {subject} (no versions yet)")
                } else {
                    format!("subject {subject} version {}", versions.join(","))
                };
                (label, prev.into_iter().map(|x| x.1).collect())
            };
            let olds: Vec<_> = olds.iter().map(|s| s.schema().clone()).collect();
            let v = compat::check_allowing(level, allow, new.schema(), &olds);
            Ok(print_violations(ctx, level, &label, &v))
        }
        SchemaCmd::Register { subject, schema, references } => {
            let references = references_of(&references)?;
            let (text, compiled) = read_schema_with_references(ctx, &schema, &references).await?;
            let cfg = ctx.config()?;
            let reg = ctx.registry(&cfg)?;
            let level = cfg.schemas.policy;
            let prev = previous_from_registry(&reg, &subject, level).await?;
            let prev_schemas: Vec<_> = prev.iter().map(|(_, s)| s.schema().clone()).collect();
            let v = compat::check_allowing(
                level,
                cfg.schemas.policy_allow,
                compiled.schema(),
                &prev_schemas,
            );
            if !v.is_empty() {
                let code = print_violations(ctx, level, &format!("subject {subject}"), &v);
                eprintln!("not registered: the schema violates {level}");
                return Ok(code);
            }
            let request =
                kpipe::registry::SchemaRequest { schema: text, schema_type: None, references };
            let id = reg.register_schema(&subject, &request).await?;
            let sv = reg.lookup_schema(&subject, &request).await?;
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
            let v = compat::check_str_allowing(
                Level::AddWithDefaultOnly,
                allow,
                &new_text,
                &[&old_text],
            )?;
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
pub(super) fn line_diff<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] =
                if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
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
