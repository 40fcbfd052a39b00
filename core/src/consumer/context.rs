//! The librdkafka context of a group consumer: statistics, and the rebalance callbacks that flush commits on revoke and position new partitions per `StartAt`.

use super::*;

#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) stats: StatsContext,
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) start: StartAt,
    pub(super) track: bool,
    /// Partitions this consumer already positioned per `start`.
    pub(super) started: Arc<Mutex<HashSet<(String, i32)>>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClientContext for Ctx {
    fn stats(&self, statistics: Statistics) {
        self.stats.stats(statistics)
    }
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        self.stats.log(level, fac, msg)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.stats.error(error, reason)
    }
}

impl Ctx {
    /// Commits what was handled in the revoked partitions, synchronously, then forgets them.
    pub(super) fn flush_revoked(&self, base: &BaseConsumer<Self>, revoked: &TopicPartitionList) {
        if !self.track {
            return;
        }
        let set: HashSet<(String, i32)> =
            revoked.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
        let tpl = lock(&self.tracker).to_commit(Some(&set));
        if tpl.count() > 0 {
            match base.commit(&tpl, RdCommit::Sync) {
                Ok(()) => tracing::info!(
                    cluster = self.stats.cluster(),
                    partitions = tpl.count(),
                    "commit on revoke"
                ),
                Err(e) => {
                    tracing::warn!(cluster = self.stats.cluster(), error = %e, "commit on revoke failed")
                }
            }
        }
        let mut t = lock(&self.tracker);
        for (topic, p) in &set {
            t.forget(topic, *p);
        }
    }

    /// Sets start offsets for partitions not seen before, per `start`.
    pub(super) fn position_new(&self, base: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        if self.start == StartAt::Committed {
            return;
        }
        let mut started = lock(&self.started);
        let fresh: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .filter(|k| !started.contains(k))
            .collect();
        if fresh.is_empty() {
            return;
        }
        let mut by_time = HashMap::new();
        if let StartAt::Timestamp(ts) = self.start {
            let mut q = TopicPartitionList::new();
            for (t, p) in &fresh {
                let _ = q.add_partition_offset(t, *p, Offset::Offset(ts));
            }
            match base.offsets_for_times(q, Duration::from_secs(10)) {
                Ok(r) => {
                    for e in r.elements() {
                        by_time.insert((e.topic().to_string(), e.partition()), e.offset());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "offsets for timestamp failed; starting at the end")
                }
            }
        }
        for (t, p) in fresh {
            let off = match self.start {
                StartAt::Committed => continue,
                StartAt::Earliest => Offset::Beginning,
                StartAt::Latest => Offset::End,
                StartAt::Offset(o) => Offset::Offset(o),
                StartAt::Timestamp(_) => match by_time.get(&(t.clone(), p)) {
                    Some(Offset::Offset(o)) if *o >= 0 => Offset::Offset(*o),
                    _ => Offset::End,
                },
            };
            let _ = tpl.set_partition_offset(&t, p, off);
            started.insert((t, p));
        }
    }
}

impl ConsumerContext for Ctx {
    fn rebalance(
        &self,
        base: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(base.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.position_new(base, tpl);
                tracing::info!(
                    cluster = self.stats.cluster(),
                    partitions = tpl.count(),
                    "partitions assigned"
                );
                if cooperative {
                    base.incremental_assign(tpl)
                } else {
                    base.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.pre_rebalance(base, &Rebalance::Revoke(tpl));
                tracing::info!(
                    cluster = self.stats.cluster(),
                    partitions = tpl.count(),
                    "partitions revoked"
                );
                if cooperative {
                    base.incremental_unassign(tpl)
                } else {
                    base.unassign()
                }
            }
            other => {
                tracing::warn!(cluster = self.stats.cluster(), error = ?other, "rebalance error");
                base.unassign()
            }
        };
        if let Err(e) = result {
            tracing::warn!(cluster = self.stats.cluster(), error = %e, "applying the rebalance failed");
        }
    }

    fn pre_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.flush_revoked(base, tpl);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => {
                tracing::debug!(
                    cluster = self.stats.cluster(),
                    partitions = offsets.count(),
                    "committed"
                );
                lock(&self.tracker).committed(offsets);
            }
            Err(e) => tracing::warn!(cluster = self.stats.cluster(), error = %e, "commit failed"),
        }
    }
}
