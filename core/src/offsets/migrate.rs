//! Moving a group between clusters: the plan (by timestamp or by checkpoint), its check and its application.

use super::*;

/// How a migration translates offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// By the timestamp of the next unconsumed record (DESIGN.md). The default.
    #[default]
    Timestamp,
    /// By MirrorMaker 2 checkpoints (`<source-alias>.checkpoints.internal` on the target).
    Checkpoint,
}

/// What to migrate.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    /// The consumer group to migrate.
    pub group: String,
    /// `None`: every topic the group has committed offsets for in the source.
    pub topics: Option<Vec<String>>,
    /// How target offsets are found (by timestamp by default).
    pub strategy: Strategy,
    /// The MirrorMaker 2 alias of the source cluster (default: the source cluster's name).
    pub source_alias: Option<String>,
}

impl MigrateRequest {
    /// A request from a binding's arguments: `strategy` is the option text (`"timestamp"`, the
    /// default, or `"checkpoint"`), parsed here so every binding refuses a bad one alike.
    pub fn new(
        group: impl Into<String>,
        topics: Option<Vec<String>>,
        strategy: Option<&str>,
        source_alias: Option<String>,
    ) -> Result<Self> {
        Ok(MigrateRequest {
            group: group.into(),
            topics,
            strategy: strategy
                .map(|s| crate::options::parse("strategy", s))
                .transpose()?
                .unwrap_or_default(),
            source_alias,
        })
    }
}

/// One partition of a migration plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Topic of the partition.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// The group's committed offset in the source (`None`: no commit there).
    pub source_offset: Option<i64>,
    /// Timestamp (ms) of the next unconsumed record in the source.
    pub timestamp: Option<i64>,
    /// The offset to commit in the target (`None`: nothing will be committed).
    pub target_offset: Option<i64>,
    /// The group's current committed offset in the target.
    pub target_previous: Option<i64>,
    /// Records the group will read again (those sharing the boundary timestamp), when known.
    pub replayed: Option<i64>,
    /// `ok`, `caught_up`, `no_commit`, `source_empty`, `source_expired`, `target_expired`,
    /// `target_behind`, `partition_missing`, `checkpoint`, `checkpoint_stale`.
    pub status: String,
    /// Plain words for anything not `ok`.
    pub note: String,
}

/// A topic whose partitions differ between the clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicProblem {
    /// The topic.
    pub topic: String,
    /// Its partition count on the source cluster.
    pub source_partitions: i32,
    /// 0 when the topic does not exist on the target.
    pub target_partitions: i32,
    /// The problem in plain words.
    pub message: String,
}

/// The result of planning a migration; apply it with [`apply_migration`].
/// Serializes to the plan document `kpipe offsets migrate --json` prints, and reads back from
/// it (a binding applies a plan handed back as that document).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationPlan {
    /// The consumer group migrated.
    pub group: String,
    /// Name of the source cluster.
    pub source: String,
    /// Name of the target cluster.
    pub target: String,
    /// How the target offsets were found.
    pub strategy: Strategy,
    /// Members the group has on the target now (apply refuses unless forced).
    pub target_members: usize,
    /// Topics whose partitions differ between the clusters (apply refuses them unless forced).
    pub problems: Vec<TopicProblem>,
    /// One entry per partition of the migrated topics.
    pub partitions: Vec<PlanEntry>,
}

impl MigrationPlan {
    /// The offsets the plan commits.
    pub fn commits(&self) -> Vec<(String, i32, i64)> {
        self.partitions
            .iter()
            .filter_map(|e| e.target_offset.map(|o| (e.topic.clone(), e.partition, o)))
            .collect()
    }

    /// The rollback document: the target's offsets before the migration, for every partition
    /// the plan commits (`offset: null` where the group had none).
    pub fn rollback(&self) -> OffsetsExport {
        OffsetsExport {
            cluster: self.target.clone(),
            group: self.group.clone(),
            exported_at: format_time(chrono::Utc::now().timestamp_millis()),
            offsets: self
                .partitions
                .iter()
                .filter(|e| e.target_offset.is_some())
                .map(|e| PartitionOffset {
                    topic: e.topic.clone(),
                    partition: e.partition,
                    offset: e.target_previous,
                })
                .collect(),
        }
    }
}

/// Plans moving `req.group` from `source` to `target`; changes nothing. `progress(done, total)`
/// is called after each partition.
pub async fn plan_migration(
    source: &Offsets,
    target: &Offsets,
    req: &MigrateRequest,
    mut progress: impl FnMut(usize, usize),
) -> Result<MigrationPlan> {
    let committed = source.committed(&req.group, req.topics.as_deref()).await?;
    let mut by_topic: BTreeMap<String, Vec<PartitionOffset>> = BTreeMap::new();
    for c in committed {
        by_topic.entry(c.topic.clone()).or_default().push(c);
    }
    if let Some(t) = &req.topics {
        for name in t {
            by_topic.entry(name.clone()).or_default();
        }
    }
    let checkpoints = match req.strategy {
        Strategy::Checkpoint => {
            let alias = req.source_alias.clone().unwrap_or_else(|| source.cluster().to_string());
            let cps = target.checkpoints(&alias, &req.group).await?;
            if cps.is_empty() {
                return Err(Error::OffsetsNoCheckpoint {
                    reason: format!(
                        "{alias}.checkpoints.internal on {} has none for group {}",
                        target.cluster(),
                        req.group
                    ),
                });
            }
            Some((alias, cps))
        }
        Strategy::Timestamp => None,
    };
    let target_state = target.group_state(&req.group).await?;
    let total: usize = by_topic.values().map(Vec::len).sum();
    let mut done = 0;
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (topic, parts) in by_topic {
        let src_n = source.partition_count(&topic).await?;
        let tgt_n = match target.partition_count(&topic).await {
            Ok(n) => n,
            Err(Error::TopicNotFound { .. }) => 0,
            Err(e) => return Err(e),
        };
        if src_n != tgt_n {
            problems.push(TopicProblem {
                topic: topic.clone(),
                source_partitions: src_n,
                target_partitions: tgt_n,
                message: if tgt_n == 0 {
                    format!("{topic} does not exist on {}", target.cluster())
                } else {
                    format!(
                        "{topic} has {src_n} partitions on {} but {tgt_n} on {}",
                        source.cluster(),
                        target.cluster()
                    )
                },
            });
        }
        let tgt_prev: HashMap<i32, Option<i64>> = if tgt_n > 0 {
            target
                .committed(&req.group, Some(std::slice::from_ref(&topic)))
                .await?
                .into_iter()
                .map(|o| (o.partition, o.offset))
                .collect()
        } else {
            HashMap::new()
        };
        for po in parts {
            let mut e = PlanEntry {
                topic: topic.clone(),
                partition: po.partition,
                source_offset: po.offset,
                timestamp: None,
                target_offset: None,
                target_previous: tgt_prev.get(&po.partition).copied().flatten(),
                replayed: None,
                status: "ok".into(),
                note: String::new(),
            };
            if po.partition >= tgt_n {
                e.status = "partition_missing".into();
                e.note =
                    format!("partition {} does not exist on {}", po.partition, target.cluster());
            } else if let Some((alias, cps)) = &checkpoints {
                plan_by_checkpoint(source, target, alias, cps, &mut e).await?;
            } else {
                plan_by_timestamp(source, target, &mut e).await?;
            }
            entries.push(e);
            done += 1;
            progress(done, total);
        }
    }
    Ok(MigrationPlan {
        group: req.group.clone(),
        source: source.cluster().to_string(),
        target: target.cluster().to_string(),
        strategy: req.strategy,
        target_members: target_state.members.len(),
        problems,
        partitions: entries,
    })
}

pub(super) async fn plan_by_timestamp(
    source: &Offsets,
    target: &Offsets,
    e: &mut PlanEntry,
) -> Result<()> {
    let Some(c) = e.source_offset else {
        e.status = "no_commit".into();
        e.note =
            format!("the group has no committed offset on {}; nothing to move", source.cluster());
        return Ok(());
    };
    let (s_lo, s_hi) = source.watermarks(&e.topic, e.partition).await?;
    let (t_lo, t_hi) = target.watermarks(&e.topic, e.partition).await?;
    if s_lo == s_hi {
        e.target_offset = Some(t_lo);
        if c < s_lo {
            e.status = "source_expired".into();
            e.note = format!(
                "offsets {c}..{s_lo} expired on {} (the partition is empty now); committing the target's earliest offset",
                source.cluster()
            );
        } else {
            e.status = "source_empty".into();
            e.note = format!(
                "the partition is empty on {}; committing the target's earliest offset",
                source.cluster()
            );
        }
        return Ok(());
    }
    // The boundary: the next unconsumed record, or the last consumed one when caught up.
    let (probe, caught_up) = if c >= s_hi { (s_hi - 1, true) } else { (c.max(s_lo), false) };
    if c < s_lo {
        e.status = "source_expired".into();
        e.note = format!(
            "offsets {c}..{s_lo} expired on {} before the group read them; starting at the earliest record",
            source.cluster()
        );
    }
    let Some((at, ts)) = source.record_at(&e.topic, e.partition, probe).await? else {
        e.status = "source_empty".into();
        e.note =
            "no readable record at the boundary; committing the target's earliest offset".into();
        e.target_offset = Some(t_lo);
        return Ok(());
    };
    if caught_up {
        e.status = "caught_up".into();
        e.note =
            "the group read everything; the last record's timestamp is the boundary (it replays)"
                .into();
    }
    e.timestamp = Some(ts);
    let (_, tgt) = target
        .offsets_for_time_in(&e.topic, &[e.partition], ts)
        .await?
        .into_iter()
        .next()
        .unwrap_or((e.partition, t_hi));
    e.target_offset = Some(tgt);
    // Replayed: the source records from the first one at that timestamp up to the commit.
    let first_src =
        source.offsets_for_time_in(&e.topic, &[e.partition], ts).await?.first().map(|x| x.1);
    let consumed_end = if caught_up { s_hi } else { at };
    if let Some(f) = first_src {
        e.replayed = Some((consumed_end - f).max(0));
    }
    if tgt == t_hi && e.status == "ok" {
        e.status = "target_behind".into();
        e.note =
            format!("{} holds no record this new yet; committing its end offset", target.cluster());
    } else if tgt == t_lo && t_lo > 0 {
        if let Some((_, t_ts)) = target.record_at(&e.topic, e.partition, t_lo).await? {
            if t_ts > ts {
                e.status = "target_expired".into();
                e.note = format!(
                    "records older than {} expired on {}; the group starts at its earliest",
                    format_time(t_ts),
                    target.cluster()
                );
                e.replayed = None;
            }
        }
    }
    Ok(())
}

pub(super) async fn plan_by_checkpoint(
    source: &Offsets,
    target: &Offsets,
    alias: &str,
    cps: &BTreeMap<(String, i32), Checkpoint>,
    e: &mut PlanEntry,
) -> Result<()> {
    let renamed = format!("{alias}.{}", e.topic);
    let cp = cps.get(&(e.topic.clone(), e.partition)).or_else(|| cps.get(&(renamed, e.partition)));
    match (cp, e.source_offset) {
        (Some(cp), Some(c)) if cp.upstream_offset <= c => {
            e.target_offset = Some(cp.downstream_offset);
            e.status = "checkpoint".into();
            e.note = if cp.upstream_offset < c {
                format!(
                    "checkpoint at upstream offset {}; {} records replay",
                    cp.upstream_offset,
                    c - cp.upstream_offset
                )
            } else {
                "checkpoint matches the committed offset".into()
            };
            e.replayed = Some(c - cp.upstream_offset);
        }
        (Some(cp), Some(c)) => {
            // The group moved back after the checkpoint: the checkpoint would skip.
            plan_by_timestamp(source, target, e).await?;
            e.status = "checkpoint_stale".into();
            e.note = format!(
                "checkpoint upstream offset {} is past the committed {c}; translated by timestamp",
                cp.upstream_offset
            );
        }
        (None, Some(_)) => {
            plan_by_timestamp(source, target, e).await?;
            e.note =
                format!("no checkpoint for this partition; translated by timestamp. {}", e.note);
        }
        (_, None) => {
            e.status = "no_commit".into();
            e.note = format!(
                "the group has no committed offset on {}; nothing to move",
                source.cluster()
            );
        }
    }
    let _ = target;
    Ok(())
}

/// Applies a plan: refuses while the group has members on the target (unless `force`) and
/// when topics differ between the clusters (`offsets.partition_mismatch`, unless `force`, in
/// which case only the matching partitions move). Returns the rollback document (write it
/// before anything else fails) and the changes.
pub async fn apply_migration(
    target: &Offsets,
    plan: &MigrationPlan,
    force: bool,
) -> Result<(OffsetsExport, Vec<OffsetChange>)> {
    check_migration(target, plan, force).await?;
    let rollback = plan.rollback();
    let changes = target.commit(&plan.group, &plan.commits(), force).await?;
    Ok((rollback, changes))
}

/// The refusals of [`apply_migration`] without applying anything: `offsets.group_active` while
/// the group has members on the target, `offsets.partition_mismatch` when the plan reports
/// topics that differ. `force` skips both.
pub async fn check_migration(target: &Offsets, plan: &MigrationPlan, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    target.ensure_inactive(&plan.group).await?;
    if !plan.problems.is_empty() {
        let msgs: Vec<&str> = plan.problems.iter().map(|p| p.message.as_str()).collect();
        return Err(Error::OffsetsPartitionMismatch { reason: msgs.join("; ") });
    }
    Ok(())
}
