//! Shared helpers of the client_* tests: a Config for the local stack built from the same
//! env-driven addresses as tests/common (never hard-coded ports).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[path = "../common/mod.rs"]
pub mod common;

pub use common::unique;

pub fn bootstrap(name: &str) -> String {
    common::clusters()
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.bootstrap)
        .expect("known cluster")
}

/// kpipe.yaml for the local stack: `orders.*` -> online, everything else -> business.
/// `extra` is appended (more sections); `registry` replaces the registry URL.
pub fn yaml(registry: Option<&str>, extra: &str) -> String {
    let mut y = String::from("clusters:\n");
    for c in common::clusters() {
        y.push_str(&format!("  {}: {{ bootstrap: \"{}\" }}\n", c.name, c.bootstrap));
    }
    let url = registry.map(str::to_string).unwrap_or_else(common::registry_url);
    y.push_str(&format!("registry: {{ url: \"{url}\", retry: {{ deadline_ms: 3000 }} }}\n"));
    y.push_str("routes:\n  - { topic: \"orders.*\", cluster: online }\n  - { topic: \"*\", cluster: business }\n");
    y.push_str(extra);
    y
}

pub fn config(extra: &str) -> kpipe::config::Config {
    kpipe::config::Config::from_yaml(&yaml(None, extra)).expect("test config")
}

pub async fn create_topic(cluster: &str, topic: &str, partitions: i32, rf: i32) {
    kpipe::ClusterAdmin::new(&bootstrap(cluster))
        .unwrap()
        .ensure_topic(topic, partitions, rf)
        .await
        .unwrap_or_else(|e| panic!("creating {topic} on {cluster}: {e}"));
}

/// Deletes a subject this test registered (soft, then permanently), so test runs do not pile
/// up subjects in the shared registry.
pub async fn drop_subject(subject: &str) {
    let reg = kpipe::RegistryClient::new(&common::registry_url()).unwrap();
    let _ = reg.delete_subject(subject, false).await;
    let _ = reg.delete_subject(subject, true).await;
}

/// A TCP forwarder to `upstream` that can be cut off: `stop()` closes the listener and every
/// connection, so a client pointed at it sees the service go away.
pub struct CutProxy {
    pub addr: String,
    stopped: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl CutProxy {
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stopped = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (s2, c2, up) = (stopped.clone(), conns.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(inbound) = inbound else { continue };
                let Ok(outbound) = TcpStream::connect(&up) else { continue };
                c2.lock()
                    .unwrap()
                    .extend([inbound.try_clone().unwrap(), outbound.try_clone().unwrap()]);
                for (mut a, mut b) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = a.read(&mut buf) {
                            if n == 0 || b.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = b.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        CutProxy { addr, stopped, conns }
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wake the accept loop
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}
