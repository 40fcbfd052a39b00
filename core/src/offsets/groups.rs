//! A group's committed offsets, lag, export/import, commits and resets.

use super::*;

impl Offsets {
    /// Every group the cluster knows (name, state), sorted by name.
    pub async fn group_names(&self) -> Result<Vec<(String, String)>> {
        let this = self.clone();
        blocking(move || {
            let list = this.inner.meta.fetch_group_list(None, TIMEOUT)?;
            let mut out: Vec<(String, String)> = list
                .groups()
                .iter()
                .map(|g| (g.name().to_string(), g.state().to_string()))
                .collect();
            out.sort();
            Ok(out)
        })
        .await
    }

    /// The group's state and members (an unknown group is `Dead` with no members).
    pub async fn group_state(&self, group: &str) -> Result<GroupState> {
        let this = self.clone();
        let group = group.to_string();
        blocking(move || {
            let list = this.inner.meta.fetch_group_list(Some(&group), TIMEOUT)?;
            let Some(g) = list.groups().iter().find(|g| g.name() == group) else {
                return Ok(GroupState {
                    group,
                    state: "Dead".into(),
                    protocol_type: String::new(),
                    members: vec![],
                });
            };
            let members = g
                .members()
                .iter()
                .map(|m| GroupMember {
                    id: m.id().to_string(),
                    client_id: m.client_id().to_string(),
                    host: m.client_host().to_string(),
                    assignment: m.assignment().map(decode_assignment).unwrap_or_default(),
                })
                .collect();
            Ok(GroupState {
                group,
                state: g.state().to_string(),
                protocol_type: g.protocol_type().to_string(),
                members,
            })
        })
        .await
    }

    /// `offsets.group_active` when the group has members here.
    pub async fn ensure_inactive(&self, group: &str) -> Result<()> {
        let st = self.group_state(group).await?;
        if st.members.is_empty() {
            Ok(())
        } else {
            Err(Error::OffsetsGroupActive {
                group: group.to_string(),
                cluster: self.inner.cluster.clone(),
            })
        }
    }

    /// The group's committed offsets. `topics`: the topics to look at; `None` = every topic of
    /// the cluster (only partitions with a commit are returned then).
    pub async fn committed(
        &self,
        group: &str,
        topics: Option<&[String]>,
    ) -> Result<Vec<PartitionOffset>> {
        let names: Vec<String> = match topics {
            Some(t) => t.to_vec(),
            None => {
                self.topic_names().await?.into_iter().filter(|t| !t.starts_with("__")).collect()
            }
        };
        let explicit = topics.is_some();
        let this = self.clone();
        let group = group.to_string();
        blocking(move || {
            let md = this.inner.meta.fetch_metadata(None, TIMEOUT)?;
            let mut tpl = TopicPartitionList::new();
            for name in &names {
                match md.topics().iter().find(|t| t.name() == name && !t.partitions().is_empty()) {
                    Some(t) => {
                        for p in t.partitions() {
                            tpl.add_partition(name, p.id());
                        }
                    }
                    None if explicit => {
                        return Err(Error::TopicNotFound {
                            topic: name.clone(),
                            cluster: this.inner.cluster.clone(),
                        })
                    }
                    None => {}
                }
            }
            if tpl.count() == 0 {
                return Ok(Vec::new());
            }
            let c = this.group_consumer(&group)?;
            let res = c.committed_offsets(tpl, TIMEOUT)?;
            let mut out = Vec::new();
            for e in res.elements() {
                let offset = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                };
                if offset.is_some() || explicit {
                    out.push(PartitionOffset {
                        topic: e.topic().to_string(),
                        partition: e.partition(),
                        offset,
                    });
                }
            }
            out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            Ok(out)
        })
        .await
    }

    /// Committed offsets with watermarks and lag.
    pub async fn lag(&self, group: &str, topics: Option<&[String]>) -> Result<Vec<PartitionLag>> {
        let committed = self.committed(group, topics).await?;
        let mut out = Vec::with_capacity(committed.len());
        for c in committed {
            let (lo, hi) = self.watermarks(&c.topic, c.partition).await?;
            let lag = hi - c.offset.unwrap_or(lo).max(lo);
            out.push(PartitionLag {
                topic: c.topic,
                partition: c.partition,
                committed: c.offset,
                earliest: lo,
                latest: hi,
                lag: lag.max(0),
            });
        }
        Ok(out)
    }

    /// The group's committed offsets as an export document.
    pub async fn export(&self, group: &str, topics: Option<&[String]>) -> Result<OffsetsExport> {
        let offsets = self
            .committed(group, topics)
            .await?
            .into_iter()
            .filter(|o| o.offset.is_some())
            .collect();
        Ok(OffsetsExport {
            cluster: self.inner.cluster.clone(),
            group: group.to_string(),
            exported_at: format_time(chrono::Utc::now().timestamp_millis()),
            offsets,
        })
    }

    /// Commits `offsets` for `group` (refusing while it has members unless `force`). Returns
    /// the changes with the previous committed offsets.
    pub async fn commit(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
        force: bool,
    ) -> Result<Vec<OffsetChange>> {
        if !force {
            self.ensure_inactive(group).await?;
        }
        let topics: BTreeSet<String> = offsets.iter().map(|o| o.0.clone()).collect();
        let topics: Vec<String> = topics.into_iter().collect();
        let before: HashMap<(String, i32), Option<i64>> = self
            .committed(group, Some(&topics))
            .await?
            .into_iter()
            .map(|o| ((o.topic, o.partition), o.offset))
            .collect();
        let this = self.clone();
        let group = group.to_string();
        let offsets = offsets.to_vec();
        blocking(move || {
            let mut tpl = TopicPartitionList::new();
            let mut changes = Vec::new();
            for (t, p, o) in &offsets {
                tpl.add_partition_offset(t, *p, Offset::Offset(*o))?;
                changes.push(OffsetChange {
                    topic: t.clone(),
                    partition: *p,
                    before: before.get(&(t.clone(), *p)).copied().flatten(),
                    after: *o,
                });
            }
            if tpl.count() > 0 {
                let c = this.group_consumer(&group)?;
                c.commit(&tpl, CommitMode::Sync).map_err(|e| match e.rdkafka_error_code() {
                    Some(
                        rdkafka::types::RDKafkaErrorCode::UnknownMemberId
                        | rdkafka::types::RDKafkaErrorCode::IllegalGeneration
                        | rdkafka::types::RDKafkaErrorCode::RebalanceInProgress,
                    ) => Error::OffsetsGroupActive {
                        group: group.clone(),
                        cluster: this.inner.cluster.clone(),
                    },
                    _ => e.into(),
                })?;
            }
            Ok(changes)
        })
        .await
    }

    /// Commits an export document's offsets here (as `group`, default the document's).
    /// Entries without an offset (a rollback of partitions that had no commit) are skipped
    /// unless every entry lacks one, in which case the group is deleted (it had no offsets).
    pub async fn import(
        &self,
        doc: &OffsetsExport,
        group: Option<&str>,
        force: bool,
    ) -> Result<Vec<OffsetChange>> {
        let group = group.unwrap_or(&doc.group);
        let list: Vec<(String, i32, i64)> = doc
            .offsets
            .iter()
            .filter_map(|o| o.offset.map(|off| (o.topic.clone(), o.partition, off)))
            .collect();
        if list.is_empty() && !doc.offsets.is_empty() {
            if !force {
                self.ensure_inactive(group).await?;
            }
            self.delete_group(group).await?;
            return Ok(Vec::new());
        }
        self.commit(group, &list, force).await
    }

    /// Deletes the group (all its committed offsets); an unknown group is fine.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let admin = self.admin()?;
        let res = admin
            .delete_groups(&[group], &AdminOptions::new().request_timeout(Some(TIMEOUT)))
            .await?;
        for r in res {
            match r {
                Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::NonEmptyGroup)) => {
                    return Err(Error::OffsetsGroupActive {
                        group: group.into(),
                        cluster: self.inner.cluster.clone(),
                    })
                }
                Err((_, c)) => return Err(rdkafka::error::KafkaError::AdminOp(c).into()),
            }
        }
        Ok(())
    }

    /// The offsets a reset of `topics` to `to` would commit.
    pub async fn reset_plan(
        &self,
        topics: &[String],
        to: &ResetTo,
    ) -> Result<Vec<(String, i32, i64)>> {
        let mut out = Vec::new();
        for topic in topics {
            let parts = self.partitions(topic).await?;
            match to {
                ResetTo::Earliest => {
                    out.extend(parts.iter().map(|p| (topic.clone(), p.partition, p.earliest)))
                }
                ResetTo::Latest => {
                    out.extend(parts.iter().map(|p| (topic.clone(), p.partition, p.latest)))
                }
                ResetTo::Time(ms) => {
                    for (p, o) in self.offsets_for_time(topic, *ms).await? {
                        out.push((topic.clone(), p, o));
                    }
                }
                ResetTo::Explicit(list) => {
                    for (p, o) in list {
                        let Some(info) = parts.iter().find(|x| x.partition == *p) else {
                            return Err(Error::OffsetsOutOfRange {
                                reason: format!(
                                    "{topic} has no partition {p} (it has {})",
                                    parts.len()
                                ),
                            });
                        };
                        if *o < info.earliest || *o > info.latest {
                            return Err(Error::OffsetsOutOfRange {
                                reason: format!(
                                    "offset {o} is outside {topic}[{p}] (earliest {}, latest {})",
                                    info.earliest, info.latest
                                ),
                            });
                        }
                        out.push((topic.clone(), *p, *o));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Resets the group on `topics`; with `dry_run` only reports what it would commit.
    pub async fn reset(
        &self,
        group: &str,
        topics: &[String],
        to: &ResetTo,
        force: bool,
        dry_run: bool,
    ) -> Result<Vec<OffsetChange>> {
        if !force && !dry_run {
            self.ensure_inactive(group).await?;
        }
        let plan = self.reset_plan(topics, to).await?;
        if dry_run {
            let before: HashMap<(String, i32), Option<i64>> = self
                .committed(group, Some(topics))
                .await?
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset))
                .collect();
            return Ok(plan
                .into_iter()
                .map(|(t, p, o)| OffsetChange {
                    before: before.get(&(t.clone(), p)).copied().flatten(),
                    topic: t,
                    partition: p,
                    after: o,
                })
                .collect());
        }
        self.commit(group, &plan, force).await
    }
}
