//! librdkafka statistics (`statistics.interval.ms`) as a struct.
//!
//! Every librdkafka handle kpipe creates keeps the latest statistics it emitted; set
//! `statistics.interval.ms` in a cluster's `properties` to turn them on (librdkafka's default
//! is off). [`KafkaStats`] holds the headline counters plus rdkafka's full parsed
//! [`rdkafka::Statistics`].

use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::Statistics;

/// The headline numbers of one statistics emission, and the full tree.
#[derive(Debug, Clone)]
pub struct KafkaStats {
    /// Cluster name from kpipe.yaml.
    pub cluster: String,
    /// `producer` or `consumer`.
    pub client_type: String,
    /// Wall clock of the emission, seconds since the epoch.
    pub time: i64,
    /// Messages waiting in producer queues.
    pub msg_cnt: u64,
    /// Bytes waiting in producer queues.
    pub msg_size: u64,
    /// Messages sent in total.
    pub txmsgs: i64,
    /// Messages received in total.
    pub rxmsgs: i64,
    /// Requests sent to brokers in total.
    pub tx: i64,
    /// Responses received from brokers in total.
    pub rx: i64,
    /// Brokers known.
    pub brokers: usize,
    /// Brokers whose connection is up.
    pub brokers_up: usize,
    /// Sum of consumer lag over every assigned partition (consumers; -1 when unknown).
    pub consumer_lag: i64,
    /// Everything librdkafka reported.
    pub raw: Arc<Statistics>,
}

impl KafkaStats {
    /// The headline numbers of `s`, emitted by a handle of `cluster`.
    pub fn from_statistics(cluster: &str, s: Statistics) -> Self {
        let brokers_up = s.brokers.values().filter(|b| b.state == "UP").count();
        let mut lag = 0i64;
        let mut known = false;
        for t in s.topics.values() {
            for p in t.partitions.values() {
                if p.partition >= 0 && p.consumer_lag >= 0 {
                    lag += p.consumer_lag;
                    known = true;
                }
            }
        }
        KafkaStats {
            cluster: cluster.to_string(),
            client_type: s.client_type.clone(),
            time: s.time,
            msg_cnt: s.msg_cnt,
            msg_size: s.msg_size,
            txmsgs: s.txmsgs,
            rxmsgs: s.rxmsgs,
            tx: s.tx,
            rx: s.rx,
            brokers: s.brokers.len(),
            brokers_up,
            consumer_lag: if known { lag } else { -1 },
            raw: Arc::new(s),
        }
    }
}

/// The librdkafka client context of every kpipe handle: keeps the latest statistics and
/// routes librdkafka's log lines to `tracing` (librdkafka never logs property values).
#[derive(Clone)]
pub struct StatsContext {
    cluster: Arc<str>,
    latest: Arc<Mutex<Option<KafkaStats>>>,
}

impl StatsContext {
    /// A context for a handle of `cluster`, with no statistics yet.
    pub fn new(cluster: &str) -> Self {
        Self { cluster: cluster.into(), latest: Arc::default() }
    }

    /// Name of the cluster the handle talks to.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The latest statistics, if `statistics.interval.ms` is set and one interval passed.
    pub fn latest(&self) -> Option<KafkaStats> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ClientContext for StatsContext {
    fn stats(&self, statistics: Statistics) {
        let s = KafkaStats::from_statistics(&self.cluster, statistics);
        tracing::trace!(cluster = %self.cluster, msg_cnt = s.msg_cnt, txmsgs = s.txmsgs, rxmsgs = s.rxmsgs, "kafka statistics");
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        let cluster = &*self.cluster;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(cluster, fac, "{log_message}")
            }
            L::Warning => tracing::warn!(cluster, fac, "{log_message}"),
            L::Notice | L::Info => tracing::info!(cluster, fac, "{log_message}"),
            L::Debug => tracing::debug!(cluster, fac, "{log_message}"),
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(cluster = %self.cluster, error = %error, "librdkafka: {reason}");
    }
}
