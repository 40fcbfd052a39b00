//! Output helpers: human tables, JSON, error reports with hints.

use std::io::Write;

use kpipe::Error;

/// Exit statuses (docs/cli.md).
pub const EXIT_OK: i32 = 0;
/// A check found violations, or some input lines failed.
pub const EXIT_FAILED: i32 = 1;
/// A kpipe error stopped the command.
pub const EXIT_ERROR: i32 = 3;

/// Prints rows as an aligned table with a header.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<&str>, out: &mut std::io::StdoutLock<'_>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i].saturating_sub(c.chars().count()) + 2));
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(headers.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
}

pub fn json(v: &serde_json::Value) {
    println!("{v}");
}

pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |x| x.to_string())
}

/// A one-line fix for each code.
pub fn hint(code: &str) -> &'static str {
    match code {
        "config.invalid" => {
            "check kpipe.yaml (--config) and KPIPE_* env overrides; see docs/config.md"
        }
        "route.no_cluster" => "add a route for the topic to kpipe.yaml or pass --cluster",
        "registry.unavailable" => "is the registry up? check registry.url in kpipe.yaml",
        "registry.not_found" => {
            "check the subject name (kpipe schema get) or register the schema first"
        }
        "registry.auth" => "check registry credentials (env vars referenced from kpipe.yaml)",
        "registry.rejected" => {
            "read the registry's message; the request was malformed or unsupported"
        }
        "schema.invalid" => "fix the schema file: it is not valid Avro",
        "schema.incompatible" | "schema.policy_violation" => {
            "make the change compatible (add fields with defaults only), see docs/compat.md"
        }
        "serde.encode" => "fix the value at the named path so it fits the schema",
        "serde.decode" => "the bytes do not match the schema; check --schema / --reader",
        "serde.unknown_schema_id" => "point --config at the registry the producer used",
        "serde.bad_magic" => "not Confluent wire format: try --decode json|string|hex",
        "kafka.timeout" | "kafka.retriable" => {
            "is the cluster up? check bootstrap addresses, then retry"
        }
        "kafka.fatal" => "read the message; fix the request or the cluster properties",
        "kafka.auth" => "check the cluster's security properties and ACLs",
        "offsets.group_active" => "stop the group's consumers first, or pass --force",
        "offsets.out_of_range" => {
            "choose an offset between the partition's earliest and latest (kpipe topics describe)"
        }
        "offsets.partition_mismatch" => {
            "mirror the topic with the same partition count, or leave it out with --topics"
        }
        "offsets.no_checkpoint" => {
            "use --strategy timestamp, or check MirrorMaker 2 checkpoints and --source-alias"
        }
        "topic.not_found" => "check the topic name and cluster: kpipe topics list --cluster NAME",
        "input.invalid" => {
            "fix the input as described; datetimes are RFC 3339 like 2026-01-01T10:00:00Z"
        }
        _ => "this is a kpipe bug; please report it with the message",
    }
}

/// Prints `error[<code>]: <message>` and a hint line (or one JSON object with `--json`).
pub fn report(err: &Error, json_mode: bool) {
    let mut e = std::io::stderr().lock();
    if json_mode {
        // the core's details record (code, message, retriable, fatal, field, ...) plus a hint
        let mut details = serde_json::to_value(err.details()).unwrap_or_default();
        if let Some(m) = details.as_object_mut() {
            m.insert("hint".into(), hint(err.code()).into());
        }
        let v = serde_json::json!({ "error": details });
        let _ = writeln!(e, "{v}");
    } else {
        let _ = writeln!(e, "error[{}]: {}", err.code(), err);
        let _ = writeln!(e, "  hint: {}", hint(err.code()));
    }
}

/// A per-line failure that does not stop the command: `line N: error[<code>]: <message>`.
pub fn report_line(line: usize, err: &Error, json_mode: bool) {
    let mut e = std::io::stderr().lock();
    if json_mode {
        let v = serde_json::json!({"line": line, "error": {"code": err.code(), "message": err.to_string()}});
        let _ = writeln!(e, "{v}");
    } else {
        let _ = writeln!(e, "line {line}: error[{}]: {}", err.code(), err);
    }
}
