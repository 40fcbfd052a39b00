//! Addresses of the local stack (dev/stack), overridable like dev/stack's own ports.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

pub struct Cluster {
    pub name: &'static str,
    pub bootstrap: String,
    pub replication: i32,
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

pub fn clusters() -> Vec<Cluster> {
    vec![
        Cluster {
            name: "business",
            bootstrap: env_or("KPIPE_BUSINESS_BOOTSTRAP", "127.0.0.1:19092"),
            replication: 1,
        },
        Cluster {
            name: "online",
            bootstrap: env_or(
                "KPIPE_ONLINE_BOOTSTRAP",
                "127.0.0.1:29092,127.0.0.1:29192,127.0.0.1:29292",
            ),
            replication: 3,
        },
        Cluster {
            name: "offline",
            bootstrap: env_or("KPIPE_OFFLINE_BOOTSTRAP", "127.0.0.1:30092"),
            replication: 1,
        },
    ]
}

pub fn registry_url() -> String {
    env_or("KPIPE_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7")
}

/// A name no earlier run used, so tests never see each other's records.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
