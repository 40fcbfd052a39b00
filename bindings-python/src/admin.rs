//! `client.admin`: the core's offsets tools (kpipe::offsets). Results are plain dicts/lists.

use kpipe::offsets::{self, MigrateRequest, Offsets, OffsetsExport, ResetTo};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{json_to_py, py_to_json, str_of};
use crate::error::{self, IntoPy};
use crate::producer::millis_of;
use crate::runtime::wait;

fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let j = serde_json::to_value(v).map_err(|e| PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &j)
}

/// Offsets tools of a client (`client.admin`). Each call works on one cluster: `cluster=`, or
/// the cluster the (first) topic routes to.
///
/// >>> client.admin.offsets_for_time("orders.eu", datetime(2026, 1, 1, tzinfo=timezone.utc))
/// {0: 1200, 1: 1187, ...}
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Admin {
    pub(crate) client: kpipe::Client,
}

/// A migration plan from `Admin.migrate_plan`; apply it with `Admin.migrate_apply`.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct MigrationPlan {
    plan: offsets::MigrationPlan,
}

#[pymethods]
impl MigrationPlan {
    /// The plan as a dict (group, source, target, strategy, target_members, problems,
    /// partitions with source_offset, timestamp, target_offset, status, note, ...).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.plan)
    }
    /// (topic, partition, offset) the plan commits on the target.
    fn commits(&self) -> Vec<(String, i32, i64)> {
        self.plan.commits()
    }
    fn __repr__(&self) -> String {
        format!(
            "<kpipe.MigrationPlan group={:?} {} -> {}: {} partitions, {} problems>",
            self.plan.group,
            self.plan.source,
            self.plan.target,
            self.plan.partitions.len(),
            self.plan.problems.len()
        )
    }
}

impl Admin {
    fn offsets(
        &self,
        py: Python<'_>,
        cluster: Option<&str>,
        topics: &[String],
    ) -> PyResult<Offsets> {
        self.client.ensure_open().py_err()?;
        let name = match (cluster, topics.first()) {
            (Some(c), _) => c.to_string(),
            (None, Some(t)) => self.client.cluster_for(t).py_err()?.to_string(),
            (None, None) => {
                return Err(error::to_py(kpipe::Error::ConfigInvalid {
                    path: "cluster".into(),
                    reason: "pass cluster= (no topic to route by)".into(),
                }))
            }
        };
        let cfg = self.client.config().clone();
        py.detach(move || Offsets::from_config(&cfg, &name)).py_err()
    }
}

fn topics_of(t: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<String>>> {
    match t {
        None => Ok(None),
        Some(t) if t.is_none() => Ok(None),
        Some(t) => match str_of(t) {
            Some(s) => Ok(Some(vec![s.to_string()])),
            None => Ok(Some(t.extract()?)),
        },
    }
}

#[pymethods]
impl Admin {
    /// Per partition, the earliest offset whose timestamp is >= `when` (datetime or int ms);
    /// the end offset when no record is that new. Returns {partition: offset}.
    #[pyo3(signature = (topic, when, cluster=None))]
    fn offsets_for_time(
        &self,
        py: Python<'_>,
        topic: &str,
        when: &Bound<'_, PyAny>,
        cluster: Option<&str>,
    ) -> PyResult<std::collections::BTreeMap<i32, i64>> {
        let ms = millis_of(when)?;
        let o = self.offsets(py, cluster, &[topic.to_string()])?;
        let t = topic.to_string();
        let r = wait(py, async move { o.offsets_for_time(&t, ms).await })?.py_err()?;
        Ok(r.into_iter().collect())
    }

    /// The group's committed offsets as a dict {cluster, group, exported_at, offsets: [{topic,
    /// partition, offset}]} (the CLI's `offsets export` JSON).
    #[pyo3(signature = (group, topics=None, cluster=None))]
    fn export<'py>(
        &self,
        py: Python<'py>,
        group: &str,
        topics: Option<&Bound<'py, PyAny>>,
        cluster: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let topics = topics_of(topics)?;
        let o = self.offsets(py, cluster, topics.as_deref().unwrap_or(&[]))?;
        let g = group.to_string();
        let r = wait(py, async move { o.export(&g, topics.as_deref()).await })?.py_err()?;
        to_py(py, &r)
    }

    /// Commits an exported document's offsets (to `group`, default the document's) on the
    /// document's cluster (or `cluster`). Refuses while the group has members unless `force`.
    /// Returns [{topic, partition, before, after}].
    #[pyo3(name = "import_", signature = (doc, group=None, force=false, cluster=None))]
    fn import_offsets<'py>(
        &self,
        py: Python<'py>,
        doc: &Bound<'py, PyAny>,
        group: Option<&str>,
        force: bool,
        cluster: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let json = match str_of(doc) {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                error::to_py(kpipe::Error::InputInvalid {
                    what: "offsets document".into(),
                    reason: e.to_string(),
                })
            })?,
            None => py_to_json(doc)?,
        };
        let doc: OffsetsExport = serde_json::from_value(json).map_err(|e| {
            error::to_py(kpipe::Error::InputInvalid {
                what: "offsets document".into(),
                reason: e.to_string(),
            })
        })?;
        let cluster = cluster.unwrap_or(&doc.cluster).to_string();
        let o = self.offsets(py, Some(&cluster), &[])?;
        let g = group.map(str::to_string);
        let r = wait(py, async move { o.import(&doc, g.as_deref(), force).await })?.py_err()?;
        to_py(py, &r)
    }

    /// Moves the group's offsets of `topics` to `to`: "earliest", "latest", a datetime / int
    /// ms (first record at or after it), or {partition: offset}. `dry_run` only reports.
    /// Returns [{topic, partition, before, after}].
    #[pyo3(signature = (group, topics, to, force=false, dry_run=false, cluster=None))]
    #[allow(clippy::too_many_arguments)]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        group: &str,
        topics: &Bound<'py, PyAny>,
        to: &Bound<'py, PyAny>,
        force: bool,
        dry_run: bool,
        cluster: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let topics = topics_of(Some(topics))?.unwrap_or_default();
        let to = match str_of(to) {
            Some(text) => kpipe::options::parse::<ResetTo>("to", text).py_err()?,
            None => match to.extract::<std::collections::BTreeMap<i32, i64>>() {
                Ok(m) => ResetTo::Explicit(m.into_iter().collect()),
                Err(_) => ResetTo::Time(millis_of(to)?),
            },
        };
        let o = self.offsets(py, cluster, &topics)?;
        let g = group.to_string();
        let r =
            wait(py, async move { o.reset(&g, &topics, &to, force, dry_run).await })?.py_err()?;
        to_py(py, &r)
    }

    /// Plans moving `group` from cluster `source` to cluster `target` (DESIGN.md: by the
    /// timestamp of the next unconsumed record; or "checkpoint" for MirrorMaker 2). Changes
    /// nothing.
    #[pyo3(signature = (group, source, target, topics=None, strategy="timestamp", source_alias=None))]
    #[allow(clippy::too_many_arguments)]
    fn migrate_plan(
        &self,
        py: Python<'_>,
        group: &str,
        source: &str,
        target: &str,
        topics: Option<&Bound<'_, PyAny>>,
        strategy: &str,
        source_alias: Option<String>,
    ) -> PyResult<MigrationPlan> {
        let req = MigrateRequest::new(group, topics_of(topics)?, Some(strategy), source_alias)
            .py_err()?;
        let s = self.offsets(py, Some(source), &[])?;
        let t = self.offsets(py, Some(target), &[])?;
        let plan = wait(py, async move { offsets::plan_migration(&s, &t, &req, |_, _| {}).await })?
            .py_err()?;
        Ok(MigrationPlan { plan })
    }

    /// Applies a plan (refuses while the group has members on the target, or topics differ,
    /// unless `force`). Returns {"rollback": <export dict of the target's previous offsets>,
    /// "changes": [...]}.
    #[pyo3(signature = (plan, force=false))]
    fn migrate_apply<'py>(
        &self,
        py: Python<'py>,
        plan: &Bound<'py, MigrationPlan>,
        force: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = plan.get().plan.clone();
        let t = self.offsets(py, Some(&p.target), &[])?;
        let (rollback, changes) =
            wait(py, async move { offsets::apply_migration(&t, &p, force).await })?.py_err()?;
        let d = pyo3::types::PyDict::new(py);
        d.set_item("rollback", to_py(py, &rollback)?)?;
        d.set_item("changes", to_py(py, &changes)?)?;
        Ok(d.into_any())
    }
}
