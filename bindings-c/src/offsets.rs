//! Offsets operations (core `offsets`): each takes a JSON request and returns a JSON result in
//! a `kpipe_buf`. Clusters are named as in kpipe.yaml.

use std::future::Future;

use kpipe::offsets::{self, MigrateRequest, Offsets, OffsetsExport, ResetTo};
use kpipe::Result;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{client_ref, kpipe_client};
use crate::convert::{self, kpipe_buf};
use crate::error::{guard, kpipe_error};
use crate::{KPIPE_ERROR, KPIPE_OK};

fn call<Req, Out, Fut>(
    client: *const kpipe_client,
    req: *const u8,
    req_len: usize,
    what: &str,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
    f: impl FnOnce(kpipe::Client, Req) -> Fut,
) -> i32
where
    Req: DeserializeOwned,
    Out: Serialize,
    Fut: Future<Output = Result<Out>>,
{
    guard(err, KPIPE_ERROR, || {
        let c = client_ref(client)?.clone();
        let req: Req = convert::json_arg(req, req_len, what)?;
        let result = kpipe::runtime::block_on(f(c, req))??;
        convert::put_json(out, &result)?;
        Ok(KPIPE_OK)
    })
}

fn offsets_of(c: &kpipe::Client, cluster: &str) -> Result<Offsets> {
    Offsets::from_config(c.config(), cluster)
}

/// A time as RFC 3339 text or epoch milliseconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum Time {
    Ms(i64),
    Text(String),
}

impl Time {
    fn ms(&self) -> Result<i64> {
        match self {
            Time::Ms(ms) => Ok(*ms),
            Time::Text(t) => offsets::parse_time(t),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForTime {
    cluster: String,
    topic: String,
    time: Time,
}

/// Per partition of a topic, the earliest offset whose timestamp is >= a time (the end offset
/// when none). Request `{"cluster", "topic", "time": "2026-01-01T10:00:00Z" | ms}`; result
/// `[{"partition": 0, "offset": 42}, ...]`.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `request_json` points to `request_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_offsets_for_time(
    client: *const kpipe_client,
    request_json: *const u8,
    request_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    call(
        client,
        request_json,
        request_len,
        "offsets_for_time request",
        out,
        err,
        |c, r: ForTime| async move {
            let o = offsets_of(&c, &r.cluster)?;
            let list = o.offsets_for_time(&r.topic, r.time.ms()?).await?;
            Ok(list
                .into_iter()
                .map(|(p, off)| json!({"partition": p, "offset": off}))
                .collect::<Vec<Value>>())
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Export {
    cluster: String,
    group: String,
    topics: Option<Vec<String>>,
}

/// A group's committed offsets. Request `{"cluster", "group", "topics": [..] (optional)}`;
/// result: the export document (`{"cluster", "group", "exported_at", "offsets": [{"topic",
/// "partition", "offset"}]}`, as `kpipe offsets export` writes).
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `request_json` points to `request_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_offsets_export(
    client: *const kpipe_client,
    request_json: *const u8,
    request_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    call(
        client,
        request_json,
        request_len,
        "offsets_export request",
        out,
        err,
        |c, r: Export| async move {
            offsets_of(&c, &r.cluster)?.export(&r.group, r.topics.as_deref()).await
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Import {
    cluster: String,
    export: OffsetsExport,
    group: Option<String>,
    #[serde(default)]
    force: bool,
}

/// Commits an export document's offsets. Request `{"cluster", "export": {...}, "group"
/// (optional: the document's), "force": false}`; result: the changes `[{"topic", "partition",
/// "before", "after"}]`. Refuses (`offsets.group_active`) while the group has members unless
/// forced.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `request_json` points to `request_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_offsets_import(
    client: *const kpipe_client,
    request_json: *const u8,
    request_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    call(
        client,
        request_json,
        request_len,
        "offsets_import request",
        out,
        err,
        |c, r: Import| async move {
            offsets_of(&c, &r.cluster)?.import(&r.export, r.group.as_deref(), r.force).await
        },
    )
}

#[derive(Deserialize)]
#[serde(untagged)]
enum To {
    /// `earliest`, `latest` or a datetime, parsed by the core.
    Name(String),
    Time {
        time: Time,
    },
    Offsets {
        offsets: Vec<(i32, i64)>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    cluster: String,
    group: String,
    topics: Vec<String>,
    to: To,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    dry_run: bool,
}

/// Resets a group on topics. Request `{"cluster", "group", "topics": [..], "to": "earliest" |
/// "latest" | {"time": RFC 3339 | ms} | {"offsets": [[partition, offset], ..]}, "force",
/// "dry_run"}`; result: the changes (planned ones with `dry_run`).
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `request_json` points to `request_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_offsets_reset(
    client: *const kpipe_client,
    request_json: *const u8,
    request_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    call(
        client,
        request_json,
        request_len,
        "offsets_reset request",
        out,
        err,
        |c, r: Reset| async move {
            let to = match r.to {
                To::Name(name) => kpipe::options::parse::<ResetTo>("to", &name)?,
                To::Time { time } => ResetTo::Time(time.ms()?),
                To::Offsets { offsets } => ResetTo::Explicit(offsets),
            };
            offsets_of(&c, &r.cluster)?.reset(&r.group, &r.topics, &to, r.force, r.dry_run).await
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Migrate {
    source: String,
    target: String,
    group: String,
    topics: Option<Vec<String>>,
    strategy: Option<String>,
    source_alias: Option<String>,
    #[serde(default)]
    apply: bool,
    #[serde(default)]
    force: bool,
}

/// Plans (and with `"apply": true` applies) moving a group between clusters (DESIGN.md,
/// "Offsets and cluster migration"). Request `{"source", "target", "group", "topics"
/// (optional), "strategy": "timestamp" | "checkpoint", "source_alias" (optional), "apply",
/// "force"}`; result `{"plan": {...}, "rollback": {export document} | null, "changes": [..] |
/// null}`. Apply refuses with `offsets.group_active` / `offsets.partition_mismatch` unless
/// forced; keep the rollback document to undo.
///
/// # Safety
///
/// - `client` is null or a live `kpipe_client` from kpipe (not freed yet).
/// - `request_json` points to `request_len` readable bytes (UTF-8 JSON), valid for the whole call.
/// - `out` is null or valid for writing one `kpipe_buf`.
/// - `err` is null or valid for writing one `kpipe_error *`.
#[no_mangle]
pub unsafe extern "C" fn kpipe_offsets_migrate(
    client: *const kpipe_client,
    request_json: *const u8,
    request_len: usize,
    out: *mut kpipe_buf,
    err: *mut *mut kpipe_error,
) -> i32 {
    call(
        client,
        request_json,
        request_len,
        "offsets_migrate request",
        out,
        err,
        |c, r: Migrate| async move {
            let req =
                MigrateRequest::new(r.group, r.topics, r.strategy.as_deref(), r.source_alias)?;
            let (source, target) = (offsets_of(&c, &r.source)?, offsets_of(&c, &r.target)?);
            let plan = offsets::plan_migration(&source, &target, &req, |_, _| {}).await?;
            if !r.apply {
                return Ok(json!({"plan": plan, "rollback": null, "changes": null}));
            }
            let (rollback, changes) = offsets::apply_migration(&target, &plan, r.force).await?;
            Ok(json!({"plan": plan, "rollback": rollback, "changes": changes}))
        },
    )
}
