//! Optional on-disk cache, so a process can start and keep serving known schemas while the
//! registry is down (RELIABILITY row 8). Small JSON files, each written atomically (temp file in
//! the same directory, fsync, rename), so a crash never leaves a half-written entry:
//!
//! - `<dir>/v1/ids/<id>.json`: `{"id": 5, "schema": "..."}`
//! - `<dir>/v1/subjects/<fingerprint>.json`: `{"subject": "...", "key": "...", "id": 5, "version": 1}`
//!
//! The fingerprint is a 128-bit FNV-1a hash of subject and schema key; an entry is used only if
//! its stored subject and key equal the ones asked for, so a hash collision is just a miss.
//! Disk errors never fail a call: they are logged and the entry is skipped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct DiskCache {
    ids: PathBuf,
    subjects: PathBuf,
    tmp_counter: AtomicU64,
}

#[derive(Serialize, Deserialize)]
struct IdEntry {
    id: u32,
    schema: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    references: Vec<super::SchemaReference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubjectEntry {
    pub subject: String,
    pub key: String,
    pub id: u32,
    /// Known when the entry came from a lookup; `None` when it came from a registration.
    #[serde(default)]
    pub version: Option<i32>,
}

impl DiskCache {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let root = dir.join("v1");
        let ids = root.join("ids");
        let subjects = root.join("subjects");
        for d in [&ids, &subjects] {
            fs::create_dir_all(d).map_err(|e| Error::ConfigInvalid {
                path: "registry.cache_dir".into(),
                reason: format!("cannot create {}: {e}", d.display()),
            })?;
        }
        Ok(DiskCache { ids, subjects, tmp_counter: AtomicU64::new(0) })
    }

    pub(crate) fn schema(&self, id: u32) -> Option<super::RegisteredSchema> {
        let entry: IdEntry = self.read(&self.ids.join(format!("{id}.json")))?;
        (entry.id == id).then(|| super::RegisteredSchema {
            schema: entry.schema.into(),
            references: entry.references.into(),
        })
    }

    pub(crate) fn put_schema(&self, id: u32, schema: &super::RegisteredSchema) {
        self.write(
            &self.ids.join(format!("{id}.json")),
            &IdEntry {
                id,
                schema: schema.schema.to_string(),
                references: schema.references.to_vec(),
            },
        );
    }

    pub(crate) fn subject(&self, subject: &str, key: &str) -> Option<SubjectEntry> {
        let entry: SubjectEntry = self.read(&self.subject_path(subject, key))?;
        (entry.subject == subject && entry.key == key).then_some(entry)
    }

    /// Records `(subject, key) -> id`; keeps a known version unless the new entry has one.
    pub(crate) fn put_subject(&self, subject: &str, key: &str, id: u32, version: Option<i32>) {
        let existing = self.subject(subject, key);
        if let Some(old) = &existing {
            if old.id == id && (version.is_none() || old.version == version) {
                return;
            }
        }
        let version =
            version.or_else(|| existing.filter(|old| old.id == id).and_then(|old| old.version));
        let entry =
            SubjectEntry { subject: subject.to_string(), key: key.to_string(), id, version };
        self.write(&self.subject_path(subject, key), &entry);
    }

    fn subject_path(&self, subject: &str, key: &str) -> PathBuf {
        self.subjects.join(format!("{}.json", fingerprint(subject, key)))
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, path: &Path) -> Option<T> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "registry disk cache: cannot read entry");
                return None;
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "registry disk cache: ignoring a corrupt entry");
                None
            }
        }
    }

    fn write<T: Serialize>(&self, path: &Path, value: &T) {
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), error = %e, "registry disk cache: cannot write entry");
        }
    }
}

/// 128-bit FNV-1a of `subject \0 key`, as 32 hex digits (two 64-bit lanes, different seeds).
fn fingerprint(subject: &str, key: &str) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for byte in subject.bytes().chain(std::iter::once(0)).chain(key.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(PRIME);
        b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(PRIME);
    }
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        std::env::temp_dir().join(format!("kpipe-disk-{tag}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn round_trips_and_leaves_no_temp_files() {
        let dir = temp_dir("rt");
        let cache = DiskCache::open(&dir).unwrap();
        assert_eq!(cache.schema(5), None);
        let reference =
            super::super::SchemaReference { name: "a.A".into(), subject: "a".into(), version: 2 };
        let long = super::super::RegisteredSchema {
            schema: "\"long\"".into(),
            references: vec![reference].into(),
        };
        cache.put_schema(5, &long);
        assert_eq!(cache.schema(5), Some(long));

        assert_eq!(cache.subject("s", "k"), None);
        cache.put_subject("s", "k", 5, Some(2));
        cache.put_subject("s", "k", 5, None); // a registration keeps the known version
        assert_eq!(cache.subject("s", "k").unwrap().version, Some(2));
        assert_eq!(cache.subject("s", "other"), None);
        assert_eq!(cache.subject("t", "k"), None);

        let names: Vec<String> = fs::read_dir(dir.join("v1/subjects"))
            .unwrap()
            .chain(fs::read_dir(dir.join("v1/ids")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.ends_with(".json")), "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_or_mismatched_entry_is_a_miss() {
        let dir = temp_dir("bad");
        let cache = DiskCache::open(&dir).unwrap();
        fs::write(dir.join("v1/ids/9.json"), b"{not json").unwrap();
        assert_eq!(cache.schema(9), None);
        fs::write(dir.join("v1/ids/6.json"), br#"{"id":6,"schema":"x"}"#).unwrap();
        assert_eq!(
            cache.schema(6).map(|s| s.references.len()),
            Some(0),
            "written before references"
        );
        fs::write(dir.join("v1/ids/8.json"), br#"{"id":7,"schema":"x"}"#).unwrap();
        assert_eq!(cache.schema(8), None);
        fs::write(cache.subject_path("s", "k"), br#"{"subject":"s","key":"other","id":1}"#)
            .unwrap();
        assert_eq!(cache.subject("s", "k"), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprints_separate_subject_and_key() {
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_eq!(fingerprint("a", "b").len(), 32);
    }
}
