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
    pub topic: String,
    pub cluster: String,
}

/// Compiled routes, checked against the known cluster names.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<(GlobMatcher, String)>,
}

impl Router {
    /// Compiles `routes`; every cluster a route names must be in `clusters`.
    pub fn new<'a>(routes: &[Route], clusters: impl IntoIterator<Item = &'a str> + Clone) -> Result<Self> {
        let mut compiled = Vec::with_capacity(routes.len());
        for (i, r) in routes.iter().enumerate() {
            if !clusters.clone().into_iter().any(|c| c == r.cluster) {
                let known: Vec<&str> = clusters.clone().into_iter().collect();
                return Err(Error::ConfigInvalid {
                    path: format!("routes[{i}].cluster"),
                    reason: format!("unknown cluster {:?} (clusters: {})", r.cluster, known.join(", ")),
                });
            }
            if r.topic.is_empty() {
                return Err(Error::ConfigInvalid {
                    path: format!("routes[{i}].topic"),
                    reason: "empty pattern".into(),
                });
            }
            let glob = GlobBuilder::new(&r.topic)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::ConfigInvalid {
                    path: format!("routes[{i}].topic"),
                    reason: format!("malformed glob {:?}: {}", r.topic, e.kind()),
                })?;
            compiled.push((glob.compile_matcher(), r.cluster.clone()));
        }
        Ok(Self { routes: compiled })
    }

    /// The cluster of the first route matching `topic`.
    pub fn cluster_for(&self, topic: &str) -> Result<&str> {
        self.routes
            .iter()
            .find(|(m, _)| m.is_match(topic))
            .map(|(_, c)| c.as_str())
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
        let r = Router::new(&[route("orders.*", "online"), route("logs.{app,web}", "offline")], CLUSTERS).unwrap();
        assert_eq!(r.cluster_for("logs.web").unwrap(), "offline");
        let e = r.cluster_for("payments").unwrap_err();
        assert_eq!(e.code(), "route.no_cluster");
        assert!(e.to_string().contains("payments"));
    }

    #[test]
    fn unknown_cluster_and_malformed_glob_name_the_route() {
        let e = Router::new(&[route("*", "business"), route("a", "nowhere")], CLUSTERS).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert!(e.to_string().starts_with("routes[1].cluster:"), "{e}");
        let e = Router::new(&[route("orders.[", "online")], CLUSTERS).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert!(e.to_string().starts_with("routes[0].topic: malformed glob"), "{e}");
    }
}
