//! When a Roughtime reply agrees with the local clock.
//!
//! The server signed its midpoint at some moment between our send and our receipt, and its
//! true time was within RADI of MIDP. With `sent` the local time the request left and `rtt`
//! the measured round trip, a local clock within `accuracy` of the truth reads, at send,
//! within [MIDP − RADI − accuracy − RTT, MIDP + RADI + accuracy]. Outside that, the two
//! cannot both be right.

/// Whether the local time at send (µs since the epoch) lies in the window of a reply.
pub fn agrees(sent_us: i64, rtt_us: u64, midpoint_s: u64, radius_s: u32, accuracy_us: u64) -> bool {
    let (lo, hi) = window(rtt_us, midpoint_s, radius_s, accuracy_us);
    (lo..=hi).contains(&i128::from(sent_us))
}

/// The window, µs since the epoch (i128: a hostile midpoint of u64::MAX must not overflow).
pub fn window(rtt_us: u64, midpoint_s: u64, radius_s: u32, accuracy_us: u64) -> (i128, i128) {
    let midpoint = i128::from(midpoint_s) * 1_000_000;
    let radius = i128::from(radius_s) * 1_000_000;
    let accuracy = i128::from(accuracy_us);
    (
        midpoint - radius - accuracy - i128::from(rtt_us),
        midpoint + radius + accuracy,
    )
}

/// The server's time minus ours, µs, taking the server to have signed half way through the
/// round trip (saturating: it is shown, never decided on).
pub fn offset_us(sent_us: i64, rtt_us: u64, midpoint_s: u64) -> i64 {
    let local = i128::from(sent_us) + i128::from(rtt_us / 2);
    let d = i128::from(midpoint_s) * 1_000_000 - local;
    i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;
    const S: i64 = 1_800_000_000_000_000;

    #[test]
    fn the_window_is_the_issues_formula() {
        // Exactly on the midpoint, and at each edge.
        assert!(agrees(S, 1_000, T, 1, 1_000_000));
        let (lo, hi) = window(1_000, T, 1, 1_000_000);
        assert_eq!(lo, i128::from(S) - 1_000_000 - 1_000_000 - 1_000);
        assert_eq!(hi, i128::from(S) + 2_000_000);
        assert!(agrees(S + 2_000_000, 1_000, T, 1, 1_000_000));
        assert!(!agrees(S + 2_000_001, 1_000, T, 1, 1_000_000));
        assert!(agrees(S - 2_001_000, 1_000, T, 1, 1_000_000));
        assert!(!agrees(S - 2_001_001, 1_000, T, 1, 1_000_000));
        // A server an hour ahead.
        assert!(!agrees(S, 1_000, T + 3600, 1, 1_000_000));
        assert_eq!(offset_us(S, 1_000, T + 3600), 3_600_000_000 - 500);
        // Hostile values do not overflow.
        assert!(!agrees(S, u64::MAX, u64::MAX, u32::MAX, u64::MAX));
        assert_eq!(offset_us(i64::MIN, 0, u64::MAX), i64::MAX);
    }
}
