//! Offsets against the local stack: time-based reads, export/import/reset, and migrating a
//! group between clusters (business -> offline) with a dual-writing producer standing in for
//! MirrorMaker 2 (same partitions, same timestamps). MM2 checkpoints are written by hand in
//! MirrorMaker 2's binary format (MM2 itself is not run here).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kpipe::offsets::{self, Checkpoint, MigrateRequest, Offsets, ResetTo, StartAt, Strategy};
use kpipe::ClusterAdmin;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

fn bootstrap(name: &str) -> String {
    common::clusters().into_iter().find(|c| c.name == name).unwrap().bootstrap
}

fn offsets(name: &str) -> Offsets {
    Offsets::new(name, &bootstrap(name), &[]).unwrap()
}

fn producer(name: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap(name))
        .set("acks", "all")
        .create()
        .unwrap()
}

async fn topic(name: &str, cluster: &str, partitions: i32) {
    ClusterAdmin::new(&bootstrap(cluster))
        .unwrap()
        .ensure_topic(name, partitions, 1)
        .await
        .unwrap();
    // Metadata reaches every client shortly after creation.
    let o = offsets(cluster);
    for _ in 0..50 {
        if o.partition_count(name).await.ok() == Some(partitions) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("topic {name} not visible on {cluster}");
}

async fn send(p: &FutureProducer, topic: &str, partition: i32, ts: i64, value: &str) {
    let rec: FutureRecord<'_, str, str> =
        FutureRecord::to(topic).partition(partition).timestamp(ts).payload(value);
    p.send(rec, Duration::from_secs(30)).await.map_err(|(e, _)| e).unwrap();
}

fn group_consumer(cluster: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap(cluster))
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn time_based_read_returns_exactly_records_at_or_after() {
    let t = common::unique("kpipe.it.offsets.time");
    topic(&t, "business", 3).await;
    let p = producer("business");
    let base = now_ms() - 3_600_000;
    // 30 records, timestamps base + i*1000, spread over 3 partitions.
    for i in 0..30i64 {
        send(&p, &t, (i % 3) as i32, base + i * 1000, &i.to_string()).await;
    }
    let o = offsets("business");
    let cut = base + 17_000; // records 17..29
    let per_partition = o.offsets_for_time(&t, cut).await.unwrap();
    assert_eq!(per_partition.len(), 3);
    let mut r = o.reader(&t, StartAt::Time(cut)).await.unwrap();
    r.set_idle_timeout(Duration::from_secs(5));
    let mut got = BTreeSet::new();
    while let Some(rec) = r.next().await.unwrap() {
        assert!(rec.timestamp.unwrap() >= cut);
        got.insert(String::from_utf8(rec.value.unwrap()).unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(got, (17..30).collect::<BTreeSet<_>>());
    // A time past the end gives the end offsets.
    let end = o.offsets_for_time(&t, base + 1_000_000).await.unwrap();
    for (part, off) in end {
        assert_eq!(off, o.watermarks(&t, part).await.unwrap().1);
    }
    // From an explicit offset: one partition only.
    let mut r = o.reader(&t, StartAt::Offset { partition: 1, offset: 8 }).await.unwrap();
    r.set_idle_timeout(Duration::from_secs(5));
    let mut n = 0;
    while let Some(rec) = r.next().await.unwrap() {
        assert_eq!(rec.partition, 1);
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(
        o.reader(&t, StartAt::Offset { partition: 7, offset: 0 }).await.err().unwrap().code(),
        "offsets.out_of_range"
    );
    assert_eq!(o.partitions("no-such-topic-kpipe").await.unwrap_err().code(), "topic.not_found");
}

#[tokio::test]
async fn export_import_reset() {
    let t = common::unique("kpipe.it.offsets.reset");
    let g = common::unique("kpipe-it-reset");
    topic(&t, "business", 2).await;
    let p = producer("business");
    let base = now_ms() - 100_000;
    for i in 0..10i64 {
        send(&p, &t, (i % 2) as i32, base + i * 1000, &i.to_string()).await;
    }
    let o = offsets("business");
    let topics = vec![t.clone()];
    let ch = o.reset(&g, &topics, &ResetTo::Latest, false, true).await.unwrap();
    assert_eq!(ch.len(), 2);
    assert!(o.export(&g, Some(&topics)).await.unwrap().offsets.is_empty(), "dry run committed");
    o.reset(&g, &topics, &ResetTo::Explicit(vec![(0, 2), (1, 3)]), false, false).await.unwrap();
    let doc = o.export(&g, Some(&topics)).await.unwrap();
    let got: Vec<(i32, Option<i64>)> =
        doc.offsets.iter().map(|x| (x.partition, x.offset)).collect();
    assert_eq!(got, vec![(0, Some(2)), (1, Some(3))]);
    let lag = o.lag(&g, Some(&topics)).await.unwrap();
    assert_eq!(lag.iter().map(|l| l.lag).sum::<i64>(), 5);
    // Datetime: record 6 (partition 0, its offset 3) and 7 (partition 1, offset 3).
    o.reset(&g, &topics, &ResetTo::Time(base + 6000), false, false).await.unwrap();
    let got: Vec<Option<i64>> =
        o.committed(&g, Some(&topics)).await.unwrap().iter().map(|x| x.offset).collect();
    assert_eq!(got, vec![Some(3), Some(3)]);
    // Import restores the export.
    o.import(&doc, None, false).await.unwrap();
    let got: Vec<Option<i64>> =
        o.committed(&g, Some(&topics)).await.unwrap().iter().map(|x| x.offset).collect();
    assert_eq!(got, vec![Some(2), Some(3)]);
    let e =
        o.reset(&g, &topics, &ResetTo::Explicit(vec![(0, 99)]), false, false).await.unwrap_err();
    assert_eq!(e.code(), "offsets.out_of_range");
    // The JSON form round-trips.
    let text = serde_json::to_string(&doc).unwrap();
    assert_eq!(serde_json::from_str::<offsets::OffsetsExport>(&text).unwrap(), doc);
}

/// Writes `n` numbered records identically to business and offline (partition n % 6, two
/// records per partition per timestamp), with `prefix` older records per partition on offline
/// only so offsets differ between the clusters.
async fn dual_write(t: &str, n: i64, prefix: i64, base: i64) {
    topic(t, "business", 6).await;
    topic(t, "offline", 6).await;
    let (pb, po) = (producer("business"), producer("offline"));
    for part in 0..6 {
        for k in 0..prefix {
            send(&po, t, part, base - 1_000_000 + k, &format!("old-{k}")).await;
        }
    }
    for i in 0..n {
        let ts = base + (i / 12) * 1000;
        send(&pb, t, (i % 6) as i32, ts, &i.to_string()).await;
        send(&po, t, (i % 6) as i32, ts, &i.to_string()).await;
    }
}

fn ts_of(i: i64, base: i64) -> i64 {
    base + (i / 12) * 1000
}

#[tokio::test]
async fn migrate_end_to_end_no_gap_replays_only_boundary_ties() {
    let t = common::unique("kpipe.it.migrate");
    let g = common::unique("kpipe-it-migrate");
    let base = now_ms() - 600_000;
    let n = 120;
    dual_write(&t, n, 5, base).await;

    // Part 1: the group reads part of the records on business, in partition order, and commits.
    let c = group_consumer("business", &g);
    let mut tpl = TopicPartitionList::new();
    for part in 0..6 {
        tpl.add_partition_offset(&t, part, Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    // Partition p: consume 3 + p records (ends inside a timestamp pair for odd counts).
    let want: BTreeMap<i32, usize> = (0..6).map(|p| (p, 3 + p as usize)).collect();
    let mut consumed: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while consumed.values().map(Vec::len).sum::<usize>() < want.values().sum::<usize>() {
        assert!(std::time::Instant::now() < deadline, "timed out reading business");
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let v = consumed.entry(m.partition()).or_default();
            if v.len() < want[&m.partition()] {
                v.push(std::str::from_utf8(m.payload().unwrap()).unwrap().parse().unwrap());
                next.insert(m.partition(), m.offset() + 1);
            }
        }
    }
    let mut commit = TopicPartitionList::new();
    for (p, o) in &next {
        commit.add_partition_offset(&t, *p, Offset::Offset(*o)).unwrap();
    }
    c.commit(&commit, CommitMode::Sync).unwrap();
    drop(c);

    let (src, tgt) = (offsets("business"), offsets("offline"));
    let req = MigrateRequest {
        group: g.clone(),
        topics: Some(vec![t.clone()]),
        strategy: Strategy::Timestamp,
        source_alias: None,
    };
    let mut calls = 0;
    let plan = offsets::plan_migration(&src, &tgt, &req, |_, _| calls += 1).await.unwrap();
    assert_eq!(calls, 6);
    assert!(plan.problems.is_empty());
    for e in &plan.partitions {
        let c = next[&e.partition];
        assert_eq!(e.source_offset, Some(c));
        // The next unconsumed record in partition p is number p + 6*c.
        let first_unconsumed = e.partition as i64 + 6 * c;
        assert_eq!(e.timestamp, Some(ts_of(first_unconsumed, base)), "{e:?}");
        // Replays only the consumed record that shares the boundary timestamp (odd counts).
        let expected_replayed = if c % 2 == 1 { 1 } else { 0 };
        assert_eq!(e.replayed, Some(expected_replayed), "{e:?}");
        assert_eq!(e.target_offset, Some(5 + c - expected_replayed), "{e:?}");
        assert_eq!(e.status, "ok");
    }
    // Dry run (planning) changed nothing on the target.
    assert!(tgt
        .committed(&g, Some(std::slice::from_ref(&t)))
        .await
        .unwrap()
        .iter()
        .all(|x| x.offset.is_none()));

    let (rollback, changes) = offsets::apply_migration(&tgt, &plan, false).await.unwrap();
    assert_eq!(changes.len(), 6);
    assert!(rollback.offsets.iter().all(|x| x.offset.is_none()));

    // Part 2: a real group consumer resumes on offline from the committed offsets.
    let c2 = group_consumer("offline", &g);
    c2.subscribe(&[&t]).unwrap();
    let total_rest: usize =
        plan.partitions.iter().map(|e| (5 + n / 6 - e.target_offset.unwrap()) as usize).sum();
    let mut resumed: Vec<(i32, i64)> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while resumed.len() < total_rest {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out resuming on offline: {}",
            resumed.len()
        );
        if let Some(m) = c2.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let v = std::str::from_utf8(m.payload().unwrap()).unwrap();
            assert!(!v.starts_with("old-"), "resumed before the migrated position");
            resumed.push((m.partition(), v.parse().unwrap()));
        }
    }
    drop(c2);
    let first: BTreeSet<i64> = consumed.values().flatten().copied().collect();
    let second: BTreeSet<i64> = resumed.iter().map(|x| x.1).collect();
    let all: BTreeSet<i64> = first.union(&second).copied().collect();
    assert_eq!(all, (0..n).collect::<BTreeSet<_>>(), "a number is missing");
    for dup in first.intersection(&second) {
        let part = (dup % 6) as i32;
        let boundary =
            plan.partitions.iter().find(|e| e.partition == part).unwrap().timestamp.unwrap();
        assert_eq!(
            ts_of(*dup, base),
            boundary,
            "replayed {dup} does not share the boundary timestamp"
        );
    }
    assert_eq!(first.intersection(&second).count(), 3, "partitions 0, 2, 4 replay one record each");

    // Rollback restores the previous offsets: the group had none on offline, so it goes away.
    tgt.import(&rollback, None, false).await.unwrap();
    assert!(tgt
        .committed(&g, Some(std::slice::from_ref(&t)))
        .await
        .unwrap()
        .iter()
        .all(|x| x.offset.is_none()));
}

#[tokio::test]
async fn migrate_refuses_while_active_reports_mismatch_and_rolls_back() {
    let t = common::unique("kpipe.it.migrate2");
    let g = common::unique("kpipe-it-migrate2");
    let base = now_ms() - 600_000;
    dual_write(&t, 24, 0, base).await;
    let src = offsets("business");
    let tgt = offsets("offline");
    let topics = vec![t.clone()];
    src.reset(&g, &topics, &ResetTo::Explicit((0..6).map(|p| (p, 2)).collect()), false, false)
        .await
        .unwrap();
    // The group had offsets on the target before: the rollback brings them back.
    tgt.reset(&g, &topics, &ResetTo::Explicit((0..6).map(|p| (p, 1)).collect()), false, false)
        .await
        .unwrap();
    let req = MigrateRequest {
        group: g.clone(),
        topics: Some(topics.clone()),
        strategy: Strategy::Timestamp,
        source_alias: None,
    };
    let plan = offsets::plan_migration(&src, &tgt, &req, |_, _| {}).await.unwrap();
    assert!(plan
        .partitions
        .iter()
        .all(|e| e.target_previous == Some(1) && e.target_offset == Some(2)));

    // A member on the target: refused.
    let member = group_consumer("offline", &g);
    member.subscribe(&[&t]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tgt.group_state(&g).await.unwrap().members.is_empty() {
        assert!(std::time::Instant::now() < deadline, "member never joined");
        member.poll(Duration::from_millis(200));
    }
    let err = offsets::apply_migration(&tgt, &plan, false).await.unwrap_err();
    assert_eq!(err.code(), "offsets.group_active");
    assert_eq!(
        tgt.reset(&g, &topics, &ResetTo::Earliest, false, false).await.unwrap_err().code(),
        "offsets.group_active"
    );
    drop(member);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !tgt.group_state(&g).await.unwrap().members.is_empty() {
        assert!(std::time::Instant::now() < deadline, "member never left");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (rollback, _) = offsets::apply_migration(&tgt, &plan, false).await.unwrap();
    let now: Vec<Option<i64>> =
        tgt.committed(&g, Some(&topics)).await.unwrap().iter().map(|x| x.offset).collect();
    assert_eq!(now, vec![Some(2); 6]);
    tgt.import(&rollback, None, false).await.unwrap();
    let now: Vec<Option<i64>> =
        tgt.committed(&g, Some(&topics)).await.unwrap().iter().map(|x| x.offset).collect();
    assert_eq!(now, vec![Some(1); 6], "rollback restores the previous offsets");

    // Partition-count mismatch: 6 on business, 3 on offline.
    let t2 = common::unique("kpipe.it.mismatch");
    topic(&t2, "business", 6).await;
    topic(&t2, "offline", 3).await;
    let p = producer("business");
    for part in 0..6 {
        send(&p, &t2, part, base, "x").await;
    }
    src.reset(&g, std::slice::from_ref(&t2), &ResetTo::Latest, false, false).await.unwrap();
    let req = MigrateRequest {
        group: g.clone(),
        topics: Some(vec![t2.clone()]),
        strategy: Strategy::Timestamp,
        source_alias: None,
    };
    let plan = offsets::plan_migration(&src, &tgt, &req, |_, _| {}).await.unwrap();
    assert_eq!(plan.problems.len(), 1);
    assert_eq!((plan.problems[0].source_partitions, plan.problems[0].target_partitions), (6, 3));
    assert_eq!(plan.partitions.iter().filter(|e| e.status == "partition_missing").count(), 3);
    let err = offsets::apply_migration(&tgt, &plan, false).await.unwrap_err();
    assert_eq!(err.code(), "offsets.partition_mismatch");
    assert!(err.to_string().contains("6 partitions"), "{err}");
    // The caught-up partitions on business replay their last timestamp.
    assert!(plan.partitions.iter().filter(|e| e.partition < 3).all(|e| e.status == "caught_up"));
}

#[tokio::test]
async fn checkpoint_strategy_reads_mm2_checkpoints() {
    let t = common::unique("kpipe.it.ckpt");
    let g = common::unique("kpipe-it-ckpt");
    let base = now_ms() - 600_000;
    dual_write(&t, 24, 3, base).await;
    let src = offsets("business");
    let tgt = offsets("offline");
    src.reset(
        &g,
        std::slice::from_ref(&t),
        &ResetTo::Explicit((0..6).map(|p| (p, 2)).collect()),
        false,
        false,
    )
    .await
    .unwrap();
    // MirrorMaker 2's checkpoint topic for source alias "business", written by hand.
    let cp_topic = "business.checkpoints.internal";
    topic(cp_topic, "offline", 1).await;
    let p = producer("offline");
    for part in 0..6 {
        // Partition 5's checkpoint is ahead of the commit (stale): timestamp fallback.
        let up = if part == 5 { 3 } else { 2 };
        let cp = Checkpoint {
            group: g.clone(),
            topic: t.clone(),
            partition: part,
            upstream_offset: up,
            downstream_offset: up + 3,
            metadata: String::new(),
        };
        let (k, v) = cp.encode();
        let rec: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(cp_topic).key(k.as_slice()).payload(v.as_slice());
        p.send(rec, Duration::from_secs(30)).await.map_err(|(e, _)| e).unwrap();
    }
    let req = MigrateRequest {
        group: g.clone(),
        topics: Some(vec![t.clone()]),
        strategy: Strategy::Checkpoint,
        source_alias: None,
    };
    let plan = offsets::plan_migration(&src, &tgt, &req, |_, _| {}).await.unwrap();
    for e in &plan.partitions {
        if e.partition == 5 {
            assert_eq!(e.status, "checkpoint_stale", "{e:?}");
            assert_eq!(e.target_offset, Some(5));
        } else {
            assert_eq!(
                (e.status.as_str(), e.target_offset, e.replayed),
                ("checkpoint", Some(5), Some(0)),
                "{e:?}"
            );
        }
    }
    let req = MigrateRequest { group: common::unique("kpipe-it-nockpt"), ..req };
    let e = offsets::plan_migration(&src, &tgt, &req, |_, _| {}).await.unwrap_err();
    assert_eq!(e.code(), "offsets.no_checkpoint");
}

/// Moves the log start offset, as retention does when data expires.
async fn expire(cluster: &str, topic: &str, partition: i32, before: i64) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap(cluster)).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(before)).unwrap();
    admin.delete_records(&tpl, &AdminOptions::new()).await.unwrap();
}

#[tokio::test]
async fn migrate_reports_expired_data() {
    let t = common::unique("kpipe.it.expired");
    let g = common::unique("kpipe-it-expired");
    let base = now_ms() - 600_000;
    dual_write(&t, 48, 0, base).await; // 8 records per partition
    let (src, tgt) = (offsets("business"), offsets("offline"));
    src.reset(
        &g,
        std::slice::from_ref(&t),
        &ResetTo::Explicit((0..6).map(|p| (p, 1)).collect()),
        false,
        false,
    )
    .await
    .unwrap();
    expire("business", &t, 0, 3).await; // the group's next records 1, 2 are gone on the source
    expire("offline", &t, 1, 4).await; // the boundary's copies are gone on the target
    let req = MigrateRequest {
        group: g.clone(),
        topics: Some(vec![t.clone()]),
        strategy: Strategy::Timestamp,
        source_alias: None,
    };
    let plan = offsets::plan_migration(&src, &tgt, &req, |_, _| {}).await.unwrap();
    let p0 = &plan.partitions[0];
    assert_eq!(p0.status, "source_expired", "{p0:?}");
    assert_eq!((p0.timestamp, p0.target_offset), (Some(base + 1000), Some(2)), "{p0:?}");
    assert!(p0.note.contains("1..3 expired on business"), "{p0:?}");
    let p1 = &plan.partitions[1];
    assert_eq!(p1.status, "target_expired", "{p1:?}");
    assert_eq!(p1.target_offset, Some(4), "{p1:?}");
    assert!(
        plan.partitions[2..].iter().all(|e| e.status == "ok" && e.target_offset == Some(0)),
        "{plan:?}"
    );
}
