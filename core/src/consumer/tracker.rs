//! Commit tracking: the pending offsets of each partition and the committable prefix.

use super::*;

/// FxHash (rustc-hash): the tracker's maps are keyed by this consumer's own topic names and
/// partition numbers, looked up twice per record; SipHash's DoS resistance buys nothing there.
pub(super) type FxMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

#[derive(Default, Debug)]
pub(super) struct PartState {
    /// (offset, handled?), ascending by offset (records arrive in offset order, so a receive
    /// is a push at the back and an in-order ack a pop at the front).
    pub(super) pending: VecDeque<(i64, bool)>,
    /// One past the longest handled prefix.
    pub(super) committable: Option<i64>,
    /// Last offset a commit succeeded with.
    pub(super) committed: Option<i64>,
}

/// A topic's shared name and its partitions' states.
pub(super) type TopicParts = (Arc<str>, FxMap<i32, PartState>);

#[derive(Default, Debug)]
pub(super) struct Tracker {
    /// topic -> partition -> state (looked up by `&str`: no allocation per record). The key is
    /// also the shared topic name of the records handed out.
    pub(super) parts: FxMap<Arc<str>, TopicParts>,
}

impl Tracker {
    /// Registers a record as pending; returns the shared name of its topic.
    pub(super) fn received(&mut self, topic: &str, partition: i32, offset: i64) -> Arc<str> {
        if !self.parts.contains_key(topic) {
            let k: Arc<str> = Arc::from(topic);
            self.parts.insert(k.clone(), (k, FxMap::default()));
        }
        let Some((name, t)) = self.parts.get_mut(topic) else { return Arc::from(topic) };
        let name = name.clone();
        let pending = &mut t.entry(partition).or_default().pending;
        match pending.back() {
            Some(&(last, _)) if last >= offset => {
                match pending.binary_search_by_key(&offset, |e| e.0) {
                    // seen again (pending again, as a re-insert did before)
                    Ok(i) => pending[i].1 = false,
                    Err(i) => pending.insert(i, (offset, false)),
                }
            }
            _ => pending.push_back((offset, false)),
        }
        name
    }

    pub(super) fn done(&mut self, topic: &str, partition: i32, offset: i64) {
        let Some(part) = self.parts.get_mut(topic).and_then(|t| t.1.get_mut(&partition)) else {
            return;
        };
        if let Ok(i) = part.pending.binary_search_by_key(&offset, |e| e.0) {
            part.pending[i].1 = true;
        }
        while let Some(&(o, d)) = part.pending.front() {
            if !d {
                break;
            }
            part.pending.pop_front();
            part.committable = Some(o + 1);
        }
    }

    /// Committable offsets not yet committed (optionally only of `only`).
    pub(super) fn to_commit(&self, only: Option<&HashSet<(String, i32)>>) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for (t, (_, parts)) in &self.parts {
            for (p, s) in parts {
                if only.is_some_and(|o| !o.contains(&(t.to_string(), *p))) {
                    continue;
                }
                if let Some(c) = s.committable {
                    if s.committed != Some(c) {
                        let _ = tpl.add_partition_offset(t, *p, Offset::Offset(c));
                    }
                }
            }
        }
        tpl
    }

    pub(super) fn committed(&mut self, tpl: &TopicPartitionList) {
        for e in tpl.elements() {
            let s = self.parts.get_mut(e.topic()).and_then(|t| t.1.get_mut(&e.partition()));
            if let (Some(s), Offset::Offset(o)) = (s, e.offset()) {
                s.committed = Some(o);
            }
        }
    }

    /// Forgets the pending records of a partition from `offset` on (they will be received
    /// again); earlier ones stay pending.
    pub(super) fn forget_from(&mut self, topic: &str, partition: i32, offset: i64) {
        if let Some(part) = self.parts.get_mut(topic).and_then(|t| t.1.get_mut(&partition)) {
            part.pending.retain(|(o, _)| *o < offset);
        }
    }

    pub(super) fn forget(&mut self, topic: &str, partition: i32) {
        if let Some(t) = self.parts.get_mut(topic) {
            t.1.remove(&partition);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committable(t: &Tracker, topic: &str, p: i32) -> Option<i64> {
        t.parts.get(topic).and_then(|m| m.1.get(&p)).and_then(|s| s.committable)
    }

    #[test]
    fn tracker_commits_only_the_handled_prefix() {
        let mut t = Tracker::default();
        let a = t.received("t", 0, 10);
        let b = t.received("t", 0, 11);
        assert!(Arc::ptr_eq(&a, &b));
        t.received("t", 0, 12);
        t.received("t", 1, 5);
        t.done("t", 0, 11);
        assert_eq!(committable(&t, "t", 0), None);
        t.done("t", 0, 10);
        assert_eq!(committable(&t, "t", 0), Some(12));
        t.done("t", 0, 12);
        assert_eq!(committable(&t, "t", 0), Some(13));
        assert_eq!(committable(&t, "t", 1), None);
        // out of order arrival and a record seen again
        t.received("t", 1, 3);
        t.received("t", 1, 4);
        t.received("t", 1, 4);
        t.done("t", 1, 5);
        t.done("t", 1, 3);
        assert_eq!(committable(&t, "t", 1), Some(4));
        t.done("t", 1, 4);
        assert_eq!(committable(&t, "t", 1), Some(6));
        // acks of unknown records are ignored
        t.done("t", 1, 99);
        t.done("u", 0, 1);
        assert_eq!(committable(&t, "t", 1), Some(6));
        let tpl = t.to_commit(None);
        assert_eq!(tpl.count(), 2);
        t.forget("t", 0);
        assert_eq!(t.to_commit(None).count(), 1);
    }
}
