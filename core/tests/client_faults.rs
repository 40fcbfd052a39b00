//! Fault tests against the local stack: a broker killed mid-produce (idempotence), consumers
//! killed mid-stream (at-least-once), and a registry outage. Each stays well under a minute.

mod client_support;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support as s;
use kpipe::{Client, ClusterConsumer, ConsumerOptions, Data, Outgoing, Serde, TopicSerde};
use serde_json::json;

type J<'a> = &'a serde_json::Value;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_produce_survives_a_broker_kill() {
    const N: usize = 200_000;
    let client = Client::from_config(s::config("")).unwrap();
    let topic = s::unique("orders.kpipe-it-idem");
    s::create_topic("online", &topic, 3, 3).await;
    client.set_topic_serde(&topic, TopicSerde { key: Serde::String, value: Serde::String });
    let _guard = StackUp;
    let queued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    // The killer: kill -9 online-2 once 50k records are queued, bring it back at 120k.
    let killer = {
        let queued = queued.clone();
        std::thread::spawn(move || {
            while queued.load(Ordering::SeqCst) < 50_000 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let pid = std::fs::read_to_string(repo().join("dev/.state/pids/online-2.pid")).unwrap();
            let at = queued.load(Ordering::SeqCst);
            let st = Command::new("kill").args(["-9", pid.trim()]).status().unwrap();
            assert!(st.success(), "kill -9 {pid}");
            eprintln!("killed online-2 (pid {}) with {at} records queued", pid.trim());
            while queued.load(Ordering::SeqCst) < 120_000 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let st = Command::new(repo().join("dev/stack")).arg("up").status().unwrap();
            eprintln!("online-2 back after {:?} ({st})", started.elapsed());
            at
        })
    };

    let keys: Vec<String> = (0..32).map(|k| format!("k{k}")).collect();
    let values: Vec<String> = (0..N).map(|n| n.to_string()).collect();
    let mut failures = Vec::new();
    let mut delivered = 0usize;
    for chunk in (0..N).collect::<Vec<_>>().chunks(10_000) {
        let recs = chunk.iter().map(|&n| {
            Outgoing::<J, J>::new(topic.as_str(), Data::Str(&keys[n % 32]), Data::Str(&values[n]))
        });
        let results = client.send_many(recs).await.unwrap();
        queued.fetch_add(chunk.len(), Ordering::SeqCst);
        for (n, r) in chunk.iter().zip(results) {
            match r {
                Ok(_) => delivered += 1,
                Err(e) => failures.push((*n, e.code())),
            }
        }
        // the killer thresholds are in queued records; keep time for the restart to happen
        // while records are still flowing
        if queued.load(Ordering::SeqCst) == 120_000 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let killed_at = tokio::task::spawn_blocking(move || killer.join().unwrap()).await.unwrap();
    assert!(killed_at < N);
    assert!(
        failures.is_empty(),
        "{} records failed, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(delivered, N);
    eprintln!("produced {N} records in {:?}", started.elapsed());

    let c = ClusterConsumer::new(&s::bootstrap("online"), &s::unique("kpipe-it"), &[]).unwrap();
    c.assign_from_beginning(&topic, Duration::from_secs(10)).unwrap();
    let mut seen = vec![0u8; N];
    let mut last_per_key: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut count = 0usize;
    while count < N {
        let Some(r) = c.recv(Duration::from_secs(30)).await.unwrap() else { break };
        let n: usize = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap().parse().unwrap();
        seen[n] += 1;
        count += 1;
        let last = last_per_key.entry(r.key.clone().unwrap()).or_insert(-1);
        assert!(n as i64 > *last, "per-key order broken at {n}");
        *last = n as i64;
    }
    // nothing more after N
    assert!(
        c.recv(Duration::from_secs(2)).await.unwrap().is_none(),
        "more than {N} records: duplicates"
    );
    let missing = seen.iter().filter(|c| **c == 0).count();
    let dups = seen.iter().filter(|c| **c > 1).count();
    assert_eq!((missing, dups), (0, 0), "every number exactly once");
    eprintln!("idempotence test done in {:?}", started.elapsed());
}

// ---- at-least-once across consumer kills --------------------------------------------------------

const PARTS: i32 = 3;

/// Not a test: the consumer the at-least-once test starts and kills (selected by env vars).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of at_least_once_across_consumer_kills"]
async fn child_consumer_role() {
    let (Ok(topic), Ok(group), Ok(log), Ok(run)) = (
        std::env::var("KPIPE_IT_CHILD_TOPIC"),
        std::env::var("KPIPE_IT_CHILD_GROUP"),
        std::env::var("KPIPE_IT_CHILD_LOG"),
        std::env::var("KPIPE_IT_CHILD_RUN"),
    ) else {
        return;
    };
    let client = Client::from_config(s::config("consumer: { commit_interval_ms: 100 }\n")).unwrap();
    let mut opts = ConsumerOptions::new(&group, &[topic.as_str()]);
    // static membership: a restarted member takes over at once instead of waiting for the
    // killed one's session to expire
    opts.properties = vec![
        ("group.instance.id".into(), format!("{group}-member")),
        ("session.timeout.ms".into(), "6000".into()),
    ];
    let consumer = client.consumer(opts).unwrap();
    let file = Arc::new(Mutex::new(
        std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap(),
    ));
    consumer
        .run(move |rec| {
            let file = file.clone();
            let line = format!("{run} {} {}\n", rec.message.partition, rec.message.offset);
            async move {
                // one write(2) per record: it survives SIGKILL
                file.lock().unwrap().write_all(line.as_bytes()).unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(())
            }
        })
        .await
        .unwrap();
}

fn read_log(path: &PathBuf) -> Vec<(usize, i32, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_across_consumer_kills() {
    const N: usize = 4000;
    let started = Instant::now();
    let client = Client::from_config(s::config("")).unwrap();
    let topic = s::unique("kpipe.it.alo");
    let group = s::unique("kpipe-it-alo");
    s::create_topic("business", &topic, PARTS, 1).await;
    let values: Vec<String> = (0..N).map(|n| n.to_string()).collect();
    let recs =
        values.iter().map(|v| Outgoing::<J, J>::new(topic.as_str(), Data::Str(v), Data::Str(v)));
    let mut ends = [0i64; PARTS as usize];
    for r in client.send_many(recs).await.unwrap() {
        let d = r.unwrap();
        ends[d.partition as usize] = ends[d.partition as usize].max(d.offset + 1);
    }
    let log = std::env::temp_dir().join(format!("{group}.log"));
    let probe = ClusterConsumer::new(&s::bootstrap("business"), &group, &[]).unwrap();
    let kill_after = [300usize, 500, 250, 450];
    let mut committed_before = Vec::new();
    for run in 0..=kill_after.len() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        committed_before
            .push(probe.committed_offsets(&topic, PARTS, Duration::from_secs(10)).unwrap());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_consumer_role",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KPIPE_IT_CHILD_TOPIC", &topic)
            .env("KPIPE_IT_CHILD_GROUP", &group)
            .env("KPIPE_IT_CHILD_LOG", &log)
            .env("KPIPE_IT_CHILD_RUN", run.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = read_log(&log);
            let this_run = lines.iter().filter(|l| l.0 == run).count();
            let done = if run < kill_after.len() {
                this_run >= kill_after[run]
            } else {
                let mut covered = [0i64; PARTS as usize];
                for (_, p, o) in &lines {
                    covered[*p as usize] = covered[*p as usize].max(o + 1);
                }
                covered == ends
            };
            if done || Instant::now() > deadline {
                break;
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("child exited early: {st}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL: no close, no final commit
        child.wait().unwrap();
    }

    let lines = read_log(&log);
    std::fs::remove_file(&log).ok();
    // every record handled at least once
    let mut handled: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (_, p, o) in &lines {
        *handled.entry((*p, *o)).or_default() += 1;
    }
    for p in 0..PARTS {
        for o in 0..ends[p as usize] {
            assert!(handled.contains_key(&(p, o)), "record {p}/{o} never handled");
        }
    }
    // each run resumed exactly at the last commit: re-handled records are only those after it
    let mut rehandled = 0;
    for (run, committed) in committed_before.iter().enumerate() {
        for p in 0..PARTS {
            let offs: Vec<i64> =
                lines.iter().filter(|l| l.0 == run && l.1 == p).map(|l| l.2).collect();
            let Some(first) = offs.first() else { continue };
            let resume = committed[p as usize].max(0);
            assert_eq!(
                *first, resume,
                "run {run} partition {p} started at {first}, last commit {resume}"
            );
            assert!(
                offs.windows(2).all(|w| w[1] == w[0] + 1),
                "run {run} partition {p} skipped a record"
            );
            let handled_before: i64 =
                lines.iter().filter(|l| l.0 < run && l.1 == p).map(|l| l.2 + 1).max().unwrap_or(0);
            rehandled += (handled_before - resume).max(0);
        }
    }
    let total_kills_mid_stream = committed_before.len() - 1;
    eprintln!(
        "at-least-once: {} handlings of {N} records over {} runs ({total_kills_mid_stream} kills), {rehandled} re-handled after the last commit, {:?}",
        lines.len(),
        committed_before.len(),
        started.elapsed()
    );
    assert!(
        committed_before.iter().skip(1).any(|c| c.iter().any(|o| *o > 0)),
        "commits happened between kills"
    );
}

// ---- registry outage --------------------------------------------------------------------------

const V1: &str = r#"{"type":"record","name":"Reg","namespace":"kpipe.it","fields":[{"name":"n","type":"long"}]}"#;
const V2: &str = r#"{"type":"record","name":"Reg","namespace":"kpipe.it","fields":[{"name":"n","type":"long"},
  {"name":"note","type":"string","default":""}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_outage_keeps_cached_schemas_flowing() {
    // The shared registry stays up; this client reaches it through a proxy that is cut.
    let real = s::common::registry_url();
    let rest = real.strip_prefix("http://").expect("http registry url");
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let proxy = s::CutProxy::start(hostport);
    let url = format!("http://{}/{path}", proxy.addr);
    let client =
        Client::from_config(kpipe::config::Config::from_yaml(&s::yaml(Some(&url), "")).unwrap())
            .unwrap();
    let topic = s::unique("kpipe.it.regdown");
    s::create_topic("business", &topic, 1, 1).await;
    client.set_topic_serde(&topic, TopicSerde { key: Serde::String, value: Serde::avro(V1) });
    let v = json!({"n": 1});
    client.send::<J, J>(&topic, Data::Null, Data::Value(&v), &[], None).await.unwrap();

    proxy.stop();
    let t = Instant::now();
    for n in 2..50 {
        let v = json!({"n": n});
        client
            .send::<J, J>(&topic, Data::Null, Data::Value(&v), &[], None)
            .await
            .expect("cached schema keeps sending");
    }
    assert!(t.elapsed() < Duration::from_secs(5), "no registry round trips for a cached schema");

    let v2 = json!({"n": 50, "note": "new"});
    let new_schema = TopicSerde { key: Serde::String, value: Serde::avro(V2) };
    let t = Instant::now();
    let e = client
        .send_record(Outgoing {
            serde: Some(&new_schema),
            ..Outgoing::<J, J>::new(&topic, Data::Null, Data::Value(&v2))
        })
        .await
        .unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.code(), "registry.unavailable", "{e}");
    assert!(e.is_retriable());
    assert!(
        !e.to_string().contains(&proxy.addr) || !e.to_string().contains('@'),
        "no credentials in errors"
    );
    assert!(took < Duration::from_secs(15), "gave up after the 3 s retry deadline, took {took:?}");
    eprintln!("new schema failed after {took:?}: {e}");

    // records written with the cached schema decode with the same client's cached id
    let mut opts = ConsumerOptions::new(s::unique("kpipe-it-regdown"), &[topic.as_str()]);
    opts.start = kpipe::StartAt::Earliest;
    let c = client.consumer(opts).unwrap();
    for n in 1..50 {
        let m = c.recv(Duration::from_secs(20)).await.unwrap().expect("record");
        let v = c.decode_value(&m, &mut kpipe::avro::JsonBuilder).await.unwrap().unwrap();
        assert_eq!(v, json!({ "n": n }));
    }
    c.close().unwrap();
    s::drop_subject(&format!("{topic}-value")).await;
}
