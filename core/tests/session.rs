//! The poll session every binding wraps, against the local stack: batches, the implicit and
//! explicit acknowledgement modes, seeks, and a run after polls.

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use client_support as s;
use kpipe::session::{AckMode, PollSession, POLL_BATCH};
use kpipe::{Client, ConsumerOptions, Data};

type J<'a> = &'a serde_json::Value;

async fn topic_with(client: &Client, n: usize) -> String {
    let topic = s::unique("kpipe.it.session");
    s::create_topic("business", &topic, 1, 1).await;
    for i in 0..n {
        client
            .send::<J, J>(&topic, Data::Null, Data::Str(&i.to_string()), &[], None)
            .await
            .unwrap();
    }
    topic
}

fn session(client: &Client, group: &str, topic: &str, ack: AckMode) -> PollSession {
    let mut o = ConsumerOptions::new(group, &[topic]);
    o.commit = Some(kpipe::config::CommitMode::Manual);
    PollSession::new(Arc::new(client.consumer(o).unwrap()), ack)
}

/// What the group has committed for partition 0 (-1: nothing).
fn committed(s: &PollSession) -> i64 {
    s.consumer().commit().unwrap();
    s.consumer().committed(Duration::from_secs(10)).unwrap().first().map_or(-1, |c| c.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_acks_the_previous_record_when_the_next_is_asked_for() {
    let client = Client::from_config(s::config("")).unwrap();
    let topic = topic_with(&client, 5).await;
    let group = s::unique("kpipe-it-session");
    let sess = session(&client, &group, &topic, AckMode::Implicit);
    let first = sess.next(Duration::from_secs(30)).await.unwrap().expect("record");
    assert_eq!(first.offset, 0);
    assert_eq!(committed(&sess), -1, "the record handed out is not acknowledged yet");
    let second = sess.next(Duration::from_secs(30)).await.unwrap().expect("record");
    assert_eq!(second.offset, 1);
    assert_eq!(committed(&sess), 1, "asking for the next acknowledged the first");
    // close counts the last record handed out as handled; fetched ones are not
    sess.close().unwrap();
    let again = session(&client, &group, &topic, AckMode::Implicit);
    assert_eq!(again.next(Duration::from_secs(30)).await.unwrap().unwrap().offset, 2);
    again.forget_last();
    again.close().unwrap();
    let third = session(&client, &group, &topic, AckMode::Implicit);
    assert_eq!(
        third.next(Duration::from_secs(30)).await.unwrap().unwrap().offset,
        2,
        "a forgotten record comes again"
    );
    third.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_acks_only_what_the_caller_acks() {
    let client = Client::from_config(s::config("")).unwrap();
    let topic = topic_with(&client, 5).await;
    let group = s::unique("kpipe-it-session");
    let sess = session(&client, &group, &topic, AckMode::Explicit);
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(sess.next(Duration::from_secs(30)).await.unwrap().expect("record"));
    }
    assert_eq!(committed(&sess), -1, "nothing acknowledged by asking");
    sess.consumer().ack(&got[0]).unwrap();
    sess.consumer().ack(&got[2]).unwrap();
    assert_eq!(committed(&sess), 1, "the acknowledged prefix only");
    sess.close().unwrap();
    let again = session(&client, &group, &topic, AckMode::Explicit);
    assert_eq!(
        again.next(Duration::from_secs(30)).await.unwrap().unwrap().offset,
        1,
        "close acknowledges nothing"
    );
    again.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lent_batches_ack_as_records_are_handed_out_and_seeks_drop_the_rest() {
    let client = Client::from_config(s::config("")).unwrap();
    let n = POLL_BATCH + 20;
    let topic = topic_with(&client, n).await;
    let group = s::unique("kpipe-it-session");
    let sess = session(&client, &group, &topic, AckMode::Implicit);
    let mut lent = Vec::new();
    while lent.is_empty() {
        lent = sess.next_batch(Duration::from_secs(30), usize::MAX).await.unwrap();
    }
    assert!(lent.len() <= POLL_BATCH, "one batch at most");
    assert_eq!(lent[0].offset, 0);
    sess.handed(&lent[0].topic, 0, lent[0].offset).unwrap();
    if lent.len() > 1 {
        sess.handed(&lent[1].topic, 0, lent[1].offset).unwrap();
        assert_eq!(committed(&sess), 1, "handing out the second acknowledged the first");
    }
    // the binding drops what it holds; the session moves back to the first not handed out
    sess.seek(&topic, 0, 2, Duration::from_secs(10)).unwrap();
    let next = sess.next(Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(next.offset, 2);
    sess.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_after_polls_handles_what_was_fetched_and_not_handed_out() {
    let client = Client::from_config(s::config("")).unwrap();
    let topic = topic_with(&client, 6).await;
    let group = s::unique("kpipe-it-session");
    let sess = Arc::new(session(&client, &group, &topic, AckMode::Implicit));
    assert_eq!(sess.next(Duration::from_secs(30)).await.unwrap().unwrap().offset, 0);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s2, seen2) = (sess.clone(), seen.clone());
    sess.run_with(kpipe::avro::Skip, move |r| {
        let mut v = seen2.lock().unwrap();
        v.push(r.message.offset);
        if v.len() == 5 {
            s2.consumer().stop();
        }
        async { Ok(()) }
    })
    .await
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![1, 2, 3, 4, 5],
        "the run starts after the record poll handed out"
    );
    assert_eq!(
        committed(&sess),
        6,
        "run acknowledges after each handler, the poll's record on asking"
    );
    sess.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_run_after_polls_keeps_the_unacknowledged_record_pending() {
    let client = Client::from_config(s::config("")).unwrap();
    let topic = topic_with(&client, 6).await;
    let group = s::unique("kpipe-it-session");
    let sess = Arc::new(session(&client, &group, &topic, AckMode::Explicit));
    assert_eq!(sess.next(Duration::from_secs(30)).await.unwrap().unwrap().offset, 0);
    let s2 = sess.clone();
    let mut left = 2;
    sess.run_with(kpipe::avro::Skip, move |_| {
        left -= 1;
        if left == 0 {
            s2.consumer().stop();
        }
        async { Ok(()) }
    })
    .await
    .unwrap();
    assert_eq!(committed(&sess), -1, "record 0 was handed out and never acknowledged");
    sess.close().unwrap();
}
