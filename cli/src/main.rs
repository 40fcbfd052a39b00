//! `kpipe`: the platform tool. Reads kpipe.yaml (`--config`, env overrides `KPIPE_...`).
//! docs/cli.md documents every command, the output shapes and the exit statuses.

mod cmd;
mod out;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kpipe: topics, consume, produce, schemas, groups and offsets on the clusters of kpipe.yaml.
#[derive(Parser, Debug)]
#[command(name = "kpipe", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = "kpipe.yaml", env = "KPIPE_CONFIG")]
    pub config: PathBuf,
    /// Machine-readable output: JSON (one object, or JSON lines for streams).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Topics (read-only).
    #[command(subcommand)]
    Topics(TopicsCmd),
    /// Read a topic without a group, printing JSON lines.
    Consume(ConsumeArgs),
    /// Produce JSON lines from stdin, Avro-encoded via the registry.
    Produce(ProduceArgs),
    /// Schemas in the registry and offline compatibility checks.
    #[command(subcommand)]
    Schema(SchemaCmd),
    /// Consumer groups.
    #[command(subcommand)]
    Groups(GroupsCmd),
    /// Offline Avro tools (no broker, no registry).
    #[command(subcommand)]
    Avro(AvroCmd),
    /// Committed offsets: export, import, reset, migrate between clusters.
    #[command(subcommand)]
    Offsets(OffsetsCmd),
    /// Copy topics from one cluster to another record for record (same partitions, keys,
    /// values, headers, timestamps), committing progress in a source group.
    Mirror(MirrorArgs),
}

#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// The source cluster.
    #[arg(long)]
    pub from: String,
    /// The target cluster.
    #[arg(long)]
    pub to: String,
    /// Topics to copy (created on the target with the source's partition count when missing).
    #[arg(long, num_args = 1.., required = true)]
    pub topics: Vec<String>,
    /// The source consumer group that records how far the mirror got.
    #[arg(long)]
    pub group: String,
    /// Stop after this many ms without a new record; 0 runs until interrupted.
    #[arg(long, default_value_t = 2000)]
    pub idle_ms: u64,
    /// Stop after this many records.
    #[arg(long)]
    pub max: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum TopicsCmd {
    /// Every topic with its partition count and replication factor.
    List {
        #[arg(long)]
        cluster: Option<String>,
        /// Also list internal topics (`__...`).
        #[arg(long)]
        internal: bool,
    },
    /// Partitions (leader, replicas, ISR, earliest/latest offsets, counts) and configs.
    Describe {
        topic: String,
        #[arg(long)]
        cluster: Option<String>,
        /// Every config, defaults included.
        #[arg(long)]
        all_configs: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Decode {
    /// Avro with the registry if the bytes are Confluent-framed, else JSON, else string, else hex.
    Auto,
    Avro,
    Json,
    String,
    Hex,
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub topic: String,
    #[arg(long)]
    pub cluster: Option<String>,
    /// Start at the first record at or after this time (RFC 3339).
    #[arg(long, conflicts_with_all = ["from_offset", "earliest"])]
    pub from_time: Option<String>,
    /// Start at PARTITION:OFFSET (that partition only).
    #[arg(long, conflicts_with = "earliest")]
    pub from_offset: Option<String>,
    /// Start at the earliest offset of every partition (the default).
    #[arg(long)]
    pub earliest: bool,
    /// Stop after N records.
    #[arg(long)]
    pub max: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    pub decode: Decode,
    #[arg(long, value_enum, default_value = "auto")]
    pub key_decode: Decode,
    /// Project Avro values to this reader schema.
    #[arg(long)]
    pub reader: Option<PathBuf>,
    /// Stop when no record arrives for this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub idle_ms: u64,
}

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    /// The writer schema (registered under the topic's subject per the config's policy).
    #[arg(long, required_unless_present = "subject", conflicts_with = "subject")]
    pub schema: Option<PathBuf>,
    /// Write with this subject's latest registered schema.
    #[arg(long)]
    pub subject: Option<String>,
    /// A string key for every record.
    #[arg(long)]
    pub key: Option<String>,
    /// Override the routed cluster.
    #[arg(long)]
    pub cluster: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SchemaCmd {
    /// Register a schema under a subject (after the client-side policy check).
    Register {
        #[arg(long)]
        subject: String,
        #[arg(long)]
        schema: PathBuf,
        /// A named type the schema uses from another subject: NAME=SUBJECT:VERSION
        /// (`com.acme.Address=address-value:1`). Repeat for each.
        #[arg(long = "reference", value_name = "NAME=SUBJECT:VERSION")]
        references: Vec<String>,
    },
    /// Check a schema against the subject's latest (or a file) with the policy or a level.
    /// Exit 1 when it violates it: a CI gate.
    Check {
        #[arg(long)]
        schema: PathBuf,
        #[arg(long, required_unless_present = "against")]
        subject: Option<String>,
        /// Compare with this file instead of the registry.
        #[arg(long)]
        against: Vec<PathBuf>,
        /// Default: the config's `schemas.policy`. NONE, BACKWARD, BACKWARD_TRANSITIVE,
        /// FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or add-with-default-only.
        #[arg(long)]
        level: Option<String>,
        /// A benign change the house policy lets through, added to the config's
        /// `schemas.policy_allow`: aliases, order, custom-properties, default-on-existing.
        #[arg(long)]
        allow: Vec<String>,
        /// A named type the schema uses from another subject: NAME=SUBJECT:VERSION. Repeat
        /// for each.
        #[arg(long = "reference", value_name = "NAME=SUBJECT:VERSION")]
        references: Vec<String>,
    },
    /// A line diff of two schemas (pretty-printed) and the house policy's verdict.
    Diff {
        /// The old schema: the subject's latest registered one...
        #[arg(long, required_unless_present = "old")]
        subject: Option<String>,
        /// ...or a file.
        #[arg(long)]
        old: Option<PathBuf>,
        #[arg(long)]
        new: PathBuf,
    },
    /// Print a registered schema by subject (and version) or by id.
    Get {
        #[arg(long, required_unless_present = "id")]
        subject: Option<String>,
        /// Default: latest.
        #[arg(long)]
        version: Option<i32>,
        #[arg(long)]
        id: Option<u32>,
    },
    /// Offline: compare two files at a level; exit 0 compatible, 1 not.
    Compat {
        #[arg(long)]
        old: Vec<PathBuf>,
        #[arg(long)]
        new: PathBuf,
        /// NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,
        /// FULL_TRANSITIVE or add-with-default-only.
        #[arg(long, default_value = "add-with-default-only")]
        level: String,
        /// A benign change the house policy lets through (it allows none by default):
        /// aliases, order, custom-properties, default-on-existing.
        #[arg(long)]
        allow: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupsCmd {
    /// Every consumer group with its state.
    List {
        #[arg(long)]
        cluster: Option<String>,
    },
    /// State, members and lag per partition.
    Describe {
        group: String,
        #[arg(long)]
        cluster: Option<String>,
        /// Only these topics (default: every topic with a commit).
        #[arg(long, num_args = 1..)]
        topics: Option<Vec<String>>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AvroCmd {
    /// JSON lines in, hex lines out (with the 5-byte header when --id is given).
    Encode {
        #[arg(long)]
        schema: PathBuf,
        #[arg(long)]
        id: Option<u32>,
    },
    /// Hex (or raw) lines in, JSON lines out; a bad line is reported and the rest go on.
    Decode {
        #[arg(long)]
        schema: PathBuf,
        #[arg(long)]
        reader: Option<PathBuf>,
        /// How each line is framed: `confluent` (0x00 + 4-byte id + body; anything shorter is
        /// an error), `bare` (the Avro body alone), `auto` (framed when byte 0 is 0x00 and there
        /// are at least 5 bytes, else bare; a frame that fails is an error, never re-read bare).
        #[arg(long, value_enum, default_value = "auto")]
        framing: Framing,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Framing {
    Confluent,
    Bare,
    Auto,
}

#[derive(Subcommand, Debug)]
pub enum OffsetsCmd {
    /// Write a group's committed offsets as JSON.
    Export {
        #[arg(long)]
        group: String,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long, num_args = 1..)]
        topics: Option<Vec<String>>,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Commit offsets from an export (or rollback) file.
    Import {
        #[arg(long)]
        file: PathBuf,
        /// Default: the file's cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Default: the file's group.
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        force: bool,
    },
    /// Move a group to earliest, latest, a datetime or explicit offsets.
    Reset {
        #[arg(long)]
        group: String,
        #[arg(long, num_args = 1.., required = true)]
        topics: Vec<String>,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long, group = "to")]
        to_earliest: bool,
        #[arg(long, group = "to")]
        to_latest: bool,
        /// RFC 3339.
        #[arg(long, group = "to")]
        to_datetime: Option<String>,
        /// PARTITION:OFFSET, repeatable (one topic only).
        #[arg(long, group = "to", num_args = 1..)]
        to_offset: Option<Vec<String>>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        force: bool,
    },
    /// Translate a group's offsets from one cluster to another.
    Migrate {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        group: String,
        #[arg(long, num_args = 1..)]
        topics: Option<Vec<String>>,
        #[arg(long)]
        dry_run: bool,
        /// timestamp or checkpoint (MirrorMaker 2).
        #[arg(long, default_value = "timestamp")]
        strategy: String,
        /// MirrorMaker 2 alias of the source cluster (default: --from).
        #[arg(long)]
        source_alias: Option<String>,
        #[arg(long)]
        force: bool,
        /// Default: kpipe-rollback-<group>-<to>-<epoch ms>.json
        #[arg(long)]
        rollback_file: Option<PathBuf>,
    },
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let json = cli.json;
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            out::report(&kpipe::Error::Internal { reason: e.to_string() }, json);
            std::process::exit(out::EXIT_ERROR);
        }
    };
    let code = match rt.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            out::report(&e, json);
            out::EXIT_ERROR
        }
    };
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
