//! MirrorMaker 2 checkpoint records (reading them, their binary codec) and the consumer protocol's member assignment decoder.

use super::*;

impl Offsets {
    /// The latest MirrorMaker 2 checkpoint per (topic, partition) for `group`, read from
    /// `<source_alias>.checkpoints.internal` on this (the target) cluster.
    pub async fn checkpoints(
        &self,
        source_alias: &str,
        group: &str,
    ) -> Result<BTreeMap<(String, i32), Checkpoint>> {
        let topic = format!("{source_alias}.checkpoints.internal");
        let mut reader = match self.reader(&topic, StartAt::Earliest).await {
            Ok(r) => r,
            Err(Error::TopicNotFound { .. }) => {
                return Err(Error::OffsetsNoCheckpoint {
                    reason: format!("topic {topic} does not exist on {}", self.inner.cluster),
                })
            }
            Err(e) => return Err(e),
        };
        let mut out = BTreeMap::new();
        while let Some(r) = reader.next().await? {
            let (Some(k), Some(v)) = (r.key.as_deref(), r.value.as_deref()) else { continue };
            let Ok(cp) = Checkpoint::decode(k, v) else { continue };
            if cp.group == group {
                out.insert((cp.topic.clone(), cp.partition), cp);
            }
        }
        Ok(out)
    }
}

/// One MirrorMaker 2 checkpoint: the group's committed offset upstream and its translation
/// downstream. Binary form (Kafka's `org.apache.kafka.connect.mirror.Checkpoint`): key is the
/// struct (group: STRING, topic: STRING, partition: INT32); value is a version INT16 (0)
/// followed by (upstreamOffset: INT64, offset: INT64, metadata: STRING); STRING is an INT16
/// length and UTF-8 bytes, all integers big-endian. `topic` is the downstream topic name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The consumer group.
    pub group: String,
    /// The downstream (target) topic name.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// The group's committed offset on the source cluster.
    pub upstream_offset: i64,
    /// That offset translated to the target cluster.
    pub downstream_offset: i64,
    /// The commit's metadata string.
    pub metadata: String,
}

impl Checkpoint {
    /// Encodes the key and value as MirrorMaker 2 writes them.
    pub fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let mut k = Vec::new();
        put_str(&mut k, &self.group);
        put_str(&mut k, &self.topic);
        k.extend_from_slice(&self.partition.to_be_bytes());
        let mut v = Vec::new();
        v.extend_from_slice(&0i16.to_be_bytes());
        v.extend_from_slice(&self.upstream_offset.to_be_bytes());
        v.extend_from_slice(&self.downstream_offset.to_be_bytes());
        put_str(&mut v, &self.metadata);
        (k, v)
    }

    /// Decodes a checkpoint record (`serde.decode` when it is not one).
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
        let mut k = Cursor(key);
        let group = k.string()?;
        let topic = k.string()?;
        let partition = k.i32()?;
        let mut v = Cursor(value);
        let version = v.i16()?;
        if version < 0 {
            return Err(Error::decode(format!("checkpoint version {version}")));
        }
        let upstream_offset = v.i64()?;
        let downstream_offset = v.i64()?;
        let metadata = v.string()?;
        Ok(Checkpoint { group, topic, partition, upstream_offset, downstream_offset, metadata })
    }
}

pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len().min(i16::MAX as usize);
    out.extend_from_slice(&(len as i16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len]);
}

pub(super) struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    pub(super) fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            return Err(Error::decode("truncated MirrorMaker 2 record"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub(super) fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    pub(super) fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    pub(super) fn string(&mut self) -> Result<String> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(String::new());
        }
        let b = self.take(n as usize)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| Error::decode("MirrorMaker 2 string is not UTF-8"))
    }
}

/// Decodes a consumer-protocol member assignment (version, [topic, [partition]], user data);
/// anything unreadable gives an empty map.
pub(super) fn decode_assignment(bytes: &[u8]) -> BTreeMap<String, Vec<i32>> {
    let mut c = Cursor(bytes);
    let mut out = BTreeMap::new();
    let mut run = || -> Result<()> {
        c.i16()?;
        let n = c.i32()?;
        for _ in 0..n.max(0) {
            let t = c.string()?;
            let m = c.i32()?;
            let mut ps = Vec::new();
            for _ in 0..m.max(0) {
                ps.push(c.i32()?);
            }
            out.insert(t, ps);
        }
        Ok(())
    };
    let _ = run();
    out
}
