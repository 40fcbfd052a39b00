//! Topic -> cluster routing: the first route whose pattern matches the topic wins.
//!
//! Patterns are exact names or globs (`orders.*`, `*.dlq`, `logs.{app,web}`), matched against
//! the whole topic name. `*` matches any run of characters, dots included: topic names have no
//! path separator.

use globset::{GlobBuilder, GlobMatcher};

use crate::error::{Error, Result};

/// One `routes:` entry as written in kpipe.yaml.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `routes[i].topic`: an exact topic name or a glob.
    pub topic: String,
    /// `routes[i].cluster`: the name of a cluster under `clusters:`.
    pub cluster: String,
}

/// Compiles one topic pattern (exact name or glob, see the module doc). `path` is the key
/// named by a `config.invalid` error (`routes[0].topic`, `serializers[1].topic`).
pub fn compile_topic_pattern(pattern: &str, path: impl FnOnce() -> String) -> Result<GlobMatcher> {
    if pattern.is_empty() {
        return Err(Error::ConfigInvalid { path: path(), reason: "empty pattern".into() });
    }
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::ConfigInvalid {
            path: path(),
            reason: format!("malformed glob {pattern:?}: {}", e.kind()),
        })
}

/// An ordered list of (topic pattern, item): the first pattern matching a topic wins. Shared by
/// `routes:` and `serializers:`.
#[derive(Debug, Clone)]
pub struct TopicTable<T> {
    entries: Vec<(GlobMatcher, T)>,
}

impl<T> Default for TopicTable<T> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<T> TopicTable<T> {
    /// Appends an entry; `path` names the pattern's key in errors.
    pub fn push(&mut self, pattern: &str, item: T, path: impl FnOnce() -> String) -> Result<()> {
        self.entries.push((compile_topic_pattern(pattern, path)?, item));
        Ok(())
    }

    /// The item of the first pattern matching `topic`.
    pub fn first_match(&self, topic: &str) -> Option<&T> {
        self.entries.iter().find(|(m, _)| m.is_match(topic)).map(|(_, t)| t)
    }

    /// True when the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Compiled routes, checked against the known cluster names.
#[derive(Debug, Clone)]
pub struct Router {
    routes: TopicTable<String>,
}

impl Router {
    /// Compiles `routes`; every cluster a route names must be in `clusters`.
    pub fn new<'a>(
        routes: &[Route],
        clusters: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<Self> {
        let mut compiled = TopicTable::default();
        for (i, r) in routes.iter().enumerate() {
            if !clusters.clone().into_iter().any(|c| c == r.cluster) {
                let known: Vec<&str> = clusters.clone().into_iter().collect();
                return Err(Error::ConfigInvalid {
                    path: format!("routes[{i}].cluster"),
                    reason: format!(
                        "unknown cluster {:?} (clusters: {})",
                        r.cluster,
                        known.join(", ")
                    ),
                });
            }
            compiled.push(&r.topic, r.cluster.clone(), || format!("routes[{i}].topic"))?;
        }
        Ok(Self { routes: compiled })
    }

    /// The cluster of the first route matching `topic`.
    pub fn cluster_for(&self, topic: &str) -> Result<&str> {
        self.routes
            .first_match(topic)
            .map(String::as_str)
            .ok_or_else(|| Error::RouteNoCluster { topic: topic.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(topic: &str, cluster: &str) -> Route {
        Route { topic: topic.into(), cluster: cluster.into() }
    }

    const CLUSTERS: [&str; 3] = ["business", "online", "offline"];

    #[test]
    fn first_match_wins() {
        let r = Router::new(
            &[route("orders.dlq", "offline"), route("orders.*", "online"), route("*", "business")],
            CLUSTERS,
        )
        .unwrap();
        assert_eq!(r.cluster_for("orders.dlq").unwrap(), "offline");
        assert_eq!(r.cluster_for("orders.created").unwrap(), "online");
        assert_eq!(r.cluster_for("orders.eu.created").unwrap(), "online");
        assert_eq!(r.cluster_for("payments").unwrap(), "business");
        // a glob matches the whole name, not a prefix
        assert_eq!(r.cluster_for("xorders.created").unwrap(), "business");
    }

    #[test]
    fn no_match_is_a_typed_error() {
        let r = Router::new(
            &[route("orders.*", "online"), route("logs.{app,web}", "offline")],
            CLUSTERS,
        )
        .unwrap();
        assert_eq!(r.cluster_for("logs.web").unwrap(), "offline");
        let e = r.cluster_for("payments").unwrap_err();
        assert_eq!(e.code(), "route.no_cluster");
        assert!(e.to_string().contains("payments"));
    }

    #[test]
    fn unknown_cluster_and_malformed_glob_name_the_route() {
        let e =
            Router::new(&[route("*", "business"), route("a", "nowhere")], CLUSTERS).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert!(e.to_string().starts_with("routes[1].cluster:"), "{e}");
        let e = Router::new(&[route("orders.[", "online")], CLUSTERS).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert!(e.to_string().starts_with("routes[0].topic: malformed glob"), "{e}");
    }
}
