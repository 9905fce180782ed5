//! How long each key's signatures take lately, and so how long a token's audit record may wait
//! for others to share its sync.
//!
//! A token's record is queued when its signature starts and must be durable before the token
//! leaves. A record that waits a while before its sync lets the records of tokens signed
//! meanwhile share that sync, which costs the writer one `fdatasync` per batch instead of one
//! per token (measured on ML-DSA-65 tokens at 1,000/s: 52 µs of audit CPU per token with
//! 0.5 ms of waiting, 38 µs with 1.2 ms). The wait has to end early enough for the write and
//! sync to finish before the signature does, or every token would be delayed by it; so it is a
//! fraction of the key's own recent signing time, measured here, rather than one constant for
//! RSA-2048 at 0.7 ms and ML-DSA-87 at 3 ms, a software key and a token's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The wait before a key has signed anything: below the fastest slow signature here
/// (RSA-2048 with AWS-LC, 0.7 ms).
const FIRST_SLACK: Duration = Duration::from_micros(500);

/// The share of the signing time a record may wait: leaves the rest for a write and an
/// `fdatasync` (p99 0.3 ms here) before a 0.7 ms signature ends.
const SLACK_SHARE: f64 = 0.6;

/// However slow the key or long the queue, a record waits no longer than this: a sync
/// covering more than a few milliseconds of tokens saves nothing more.
const MAX_SLACK: Duration = Duration::from_millis(5);

/// Weight of the newest signing time in the running mean.
const NEWEST_WEIGHT: f64 = 0.125;

/// Recent signing times per key, which set how long a token's audit record waits for company.
#[derive(Default)]
pub struct SignTimes {
    /// Mean signing time by key label, in nanoseconds.
    by_key: Mutex<HashMap<String, f64>>,
}

impl SignTimes {
    /// How long the audit record of a token signed by `key` may wait for company, when its
    /// signature starts only after `rounds_ahead` other signatures on each signing thread
    /// (see `CpuPool::rounds_ahead`): under load a queued token's signature ends well after
    /// one signing time, and its record can wait for that much more company. Faster keys'
    /// jobs ahead would make this too long, which only delays the token until its record is
    /// durable, as it always must be.
    pub fn slack(&self, key: &str, rounds_ahead: u32) -> Duration {
        let Ok(map) = self.by_key.lock() else {
            return Duration::ZERO;
        };
        match map.get(key) {
            Some(&mean) => {
                let wait = mean * (SLACK_SHARE + f64::from(rounds_ahead));
                Duration::from_nanos(wait.round() as u64).min(MAX_SLACK)
            }
            None => FIRST_SLACK,
        }
    }

    /// Records that `key` took `took` to sign.
    pub fn observe(&self, key: &str, took: Duration) {
        let Ok(mut map) = self.by_key.lock() else {
            return;
        };
        let t = took.as_nanos() as f64;
        match map.get_mut(key) {
            Some(mean) => *mean += NEWEST_WEIGHT * (t - *mean),
            None => {
                map.insert(key.to_string(), t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_follows_the_keys_signing_time() {
        let s = SignTimes::default();
        assert_eq!(s.slack("rsa", 0), FIRST_SLACK);
        s.observe("rsa", Duration::from_micros(700));
        s.observe("ml-dsa", Duration::from_micros(1600));
        assert_eq!(s.slack("rsa", 0), Duration::from_micros(420));
        assert_eq!(s.slack("ml-dsa", 0), Duration::from_micros(960));
        // A whole signature more for each round queued ahead.
        assert_eq!(s.slack("ml-dsa", 1), Duration::from_micros(2560));
        assert_eq!(s.slack("ml-dsa", 2), Duration::from_micros(4160));
        assert_eq!(s.slack("ml-dsa", 3), MAX_SLACK);
        // The mean moves toward new times by an eighth of the difference.
        s.observe("rsa", Duration::from_micros(1500));
        assert_eq!(s.slack("rsa", 0), Duration::from_micros(480));
        s.observe("slow-token", Duration::from_secs(1));
        assert_eq!(s.slack("slow-token", 0), MAX_SLACK);
    }
}
