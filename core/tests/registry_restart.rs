//! The stack's registry keeps its schemas like a production one: after a kill -9 and
//! `dev/stack up` a registered schema has the same id, and a new one gets a fresh id (never one
//! handed out before). Its own test binary: the registry is away for a few seconds.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kpipe::RegistryClient;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Brings the stack back up when dropped, whatever happened to the test.
struct StackUp;

impl Drop for StackUp {
    fn drop(&mut self) {
        let st = Command::new(repo().join("dev/stack")).arg("up").status();
        eprintln!("dev/stack up: {st:?}");
    }
}

fn schema(name: &str) -> String {
    format!(r#"{{"type":"record","name":"{name}","fields":[{{"name":"n","type":"long"}}]}}"#)
}

#[tokio::test]
async fn a_schema_survives_a_registry_kill() {
    let reg = RegistryClient::new(&common::registry_url()).unwrap();
    let subject = common::unique("kpipe-it-registry-restart");
    let before = schema(&format!("Before{}", std::process::id()));
    let id = reg.register(&subject, &before).await.unwrap();

    let _guard = StackUp;
    let pid = std::fs::read_to_string(repo().join("dev/.state/pids/registry.pid")).unwrap();
    let st = Command::new("kill").args(["-9", pid.trim()]).status().unwrap();
    assert!(st.success(), "kill -9 {pid}");
    std::thread::sleep(Duration::from_millis(500));
    let st = Command::new(repo().join("dev/stack")).arg("up").status().unwrap();
    assert!(st.success(), "dev/stack up");

    // a fresh client: nothing cached
    let reg = RegistryClient::new(&common::registry_url()).unwrap();
    assert_eq!(reg.lookup(&subject, &before).await.unwrap().id, id, "same id after the restart");
    let text = reg.schema_by_id(id).await.unwrap();
    assert!(text.contains("Before"), "{text}");
    let after = schema(&format!("After{}", std::process::id()));
    let subject2 = common::unique("kpipe-it-registry-restart");
    let id2 = reg.register(&subject2, &after).await.unwrap();
    assert!(id2 > id, "ids are not handed out again ({id2} after {id})");
    for s in [&subject, &subject2] {
        let _ = reg.delete_subject(s, false).await;
        let _ = reg.delete_subject(s, true).await;
    }
}
