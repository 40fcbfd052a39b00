//! Dead letters: a record the handler could not process (after its retries) or that could not
//! be decoded is written, unchanged (same key bytes, value bytes, headers), to the DLQ topic
//! with these headers added:
//!
//! | header | value |
//! |---|---|
//! | `kpipe.error.code` | the error's code (`handler.failed`, `serde.decode`, ...) |
//! | `kpipe.error.message` | the error's message |
//! | `kpipe.source.topic` | source topic |
//! | `kpipe.source.partition` | source partition, decimal |
//! | `kpipe.source.offset` | source offset, decimal |
//! | `kpipe.source.timestamp` | source timestamp, ms since the epoch, decimal (empty if none) |
//! | `kpipe.attempts` | handler attempts made, decimal (0: the record could not be decoded) |
//!
//! The DLQ topic is routed like any other topic, so it may live on another cluster.

use crate::client::Client;
use crate::consumer::Message;
use crate::error::{Error, Result};
use crate::producer::Delivery;

/// Header holding the error's code (`handler.failed`, `serde.decode`, ...).
pub const ERROR_CODE: &str = "kpipe.error.code";
/// Header holding the error's message.
pub const ERROR_MESSAGE: &str = "kpipe.error.message";
/// Header holding the source topic.
pub const SOURCE_TOPIC: &str = "kpipe.source.topic";
/// Header holding the source partition, decimal.
pub const SOURCE_PARTITION: &str = "kpipe.source.partition";
/// Header holding the source offset, decimal.
pub const SOURCE_OFFSET: &str = "kpipe.source.offset";
/// Header holding the source timestamp in ms since the epoch, decimal (empty if none).
pub const SOURCE_TIMESTAMP: &str = "kpipe.source.timestamp";
/// Header holding the handler attempts made, decimal (0: the record could not be decoded).
pub const ATTEMPTS: &str = "kpipe.attempts";

/// The DLQ topic for `topic` read by consumer group `group` from the `consumer.dlq` template
/// (`{topic}`, `{group}`); None when the DLQ is disabled.
pub fn topic_for(template: &str, topic: &str, group: &str) -> Option<String> {
    (!template.is_empty()).then(|| template.replace("{topic}", topic).replace("{group}", group))
}

/// The headers of the dead letter: the original ones, then the kpipe.* ones.
/// A null original header value stays null.
pub fn headers(msg: &Message, err: &Error, attempts: u32) -> Vec<(String, Option<Vec<u8>>)> {
    let mut h = msg.headers.clone();
    let mut add = |name: &str, value: Vec<u8>| h.push((name.into(), Some(value)));
    add(ERROR_CODE, err.code().as_bytes().to_vec());
    add(ERROR_MESSAGE, err.to_string().into_bytes());
    add(SOURCE_TOPIC, msg.topic.as_bytes().to_vec());
    add(SOURCE_PARTITION, msg.partition.to_string().into_bytes());
    add(SOURCE_OFFSET, msg.offset.to_string().into_bytes());
    add(SOURCE_TIMESTAMP, msg.timestamp_ms.map(|t| t.to_string()).unwrap_or_default().into_bytes());
    add(ATTEMPTS, attempts.to_string().into_bytes());
    h
}

/// Writes the dead letter of `msg` (read by consumer group `group`) and waits for its
/// acknowledgement.
pub async fn send(
    client: &Client,
    template: &str,
    group: &str,
    msg: &Message,
    err: &Error,
    attempts: u32,
) -> Result<Delivery> {
    let Some(topic) = topic_for(template, &msg.topic, group) else {
        return Err(Error::ConfigInvalid {
            path: "consumer.dlq".into(),
            reason: format!(
                "no DLQ configured for a failed record of {} ({}): {err}",
                msg.topic,
                err.code()
            ),
        });
    };
    let hs = headers(msg, err, attempts);
    let refs: Vec<crate::client::Header<'_>> =
        hs.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
    let span = tracing::info_span!("dlq", source = %msg.topic, dlq = %topic);
    tracing::Instrument::instrument(
        client.send_raw(&topic, msg.key.as_deref(), msg.value.as_deref(), &refs, msg.timestamp_ms),
        span,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_and_headers() {
        assert_eq!(topic_for("{topic}.dlq", "orders", "billing").as_deref(), Some("orders.dlq"));
        assert_eq!(
            topic_for("{topic}.{group}.dlq", "orders", "billing").as_deref(),
            Some("orders.billing.dlq")
        );
        assert_eq!(topic_for("", "orders", "billing"), None);
        let m = Message {
            topic: "t".into(),
            partition: 2,
            offset: 41,
            timestamp_ms: Some(1700),
            key: None,
            value: None,
            headers: vec![("trace".into(), Some(b"x".to_vec())), ("none".into(), None)],
        };
        let h = headers(&m, &Error::handler("boom"), 3);
        assert_eq!(h[0], ("trace".to_string(), Some(b"x".to_vec())));
        assert_eq!(h[1], ("none".to_string(), None), "a null header value stays null");
        let get = |k: &str| {
            h.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| String::from_utf8(v.clone().unwrap()).unwrap())
                .unwrap()
        };
        assert_eq!(get(ERROR_CODE), "handler.failed");
        assert_eq!(get(ERROR_MESSAGE), "handler failed: boom");
        assert_eq!(get(SOURCE_PARTITION), "2");
        assert_eq!(get(SOURCE_OFFSET), "41");
        assert_eq!(get(SOURCE_TIMESTAMP), "1700");
        assert_eq!(get(ATTEMPTS), "3");
    }
}
