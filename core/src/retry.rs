//! Handler retries of the consumer's `run` loop: exponential backoff from
//! `consumer.backoff_ms`, doubling per attempt, capped at 30 s.

use std::time::Duration;

/// Backoff before attempt `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)`,
/// at most 30 s.
pub fn backoff(base_ms: u64, attempt: u32) -> Duration {
    let factor = 1u64.checked_shl(attempt.saturating_sub(1).min(20)).unwrap_or(u64::MAX);
    Duration::from_millis(base_ms.saturating_mul(factor).min(30_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        assert_eq!(backoff(200, 1), Duration::from_millis(200));
        assert_eq!(backoff(200, 2), Duration::from_millis(400));
        assert_eq!(backoff(200, 3), Duration::from_millis(800));
        assert_eq!(backoff(200, 40), Duration::from_secs(30));
        assert_eq!(backoff(0, 5), Duration::ZERO);
    }
}
