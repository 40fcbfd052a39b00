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
use crate::{
    AvroCmd, Cli, Command, Decode, Framing, GroupsCmd, MirrorArgs, OffsetsCmd, SchemaCmd, TopicsCmd,
};

mod avro_cmd;
mod consume;
mod groups;
mod mirror_cmd;
mod offsets_cmd;
mod produce;
mod schema;
mod topics;

use avro_cmd::*;
use consume::*;
use groups::*;
use mirror_cmd::*;
use offsets_cmd::*;
use produce::*;
use schema::*;
use topics::*;

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
        Command::Mirror(a) => mirror(&ctx, a).await,
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
            (None, None) if cfg.clusters.len() == 1 => {
                cfg.clusters.keys().next().cloned().unwrap_or_default()
            }
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
        let r = cfg.registry.as_ref().ok_or_else(|| Error::ConfigInvalid {
            path: "registry".into(),
            reason: "no registry configured".into(),
        })?;
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
                    Err(Error::InputInvalid {
                        what: "line".into(),
                        reason: format!("not valid UTF-8 ({e})"),
                    }),
                ))),
                Ok(l) if l.trim().is_empty() => None,
                Ok(l) => Some(Ok((
                    i + 1,
                    serde_json::from_str(l).map_err(|e| Error::InputInvalid {
                        what: "JSON line".into(),
                        reason: e.to_string(),
                    }),
                ))),
            }
        }
    })
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::InputInvalid {
        what: format!("file {}", path.display()),
        reason: e.to_string(),
    })
}

fn read_schema(path: &Path) -> Result<(String, CompiledSchema)> {
    let text = read_file(path)?;
    let compiled = CompiledSchema::parse(&text).map_err(|e| match e {
        Error::SchemaInvalid { reason, subject } => {
            Error::SchemaInvalid { reason: format!("{}: {reason}", path.display()), subject }
        }
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
