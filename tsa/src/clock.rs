//! The trusted clock: where genTime comes from, and the refusal when it cannot be vouched for.
//!
//! A [`ClockSource`] reports the time and how far off it may be; [`TrustedClock`] turns that
//! into a genTime or a refusal (timeNotAvailable), and never lets genTime go backwards on a
//! node: after a step back it refuses until the clock has passed the last genTime issued.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What a clock source can say about now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    pub now: SystemTime,
    /// Whether the source is synchronised to its reference (for the kernel: !STA_UNSYNC).
    pub synchronised: bool,
    /// Upper bound of the error against the reference, if the source knows one.
    pub max_error: Option<Duration>,
    /// A leap second is being inserted or deleted now.
    pub in_leap_second: bool,
}

pub trait ClockSource: Send + Sync {
    fn read(&self) -> Result<ClockReading, String>;
}

/// The system clock with no knowledge of its synchronisation; for dev mode and tests.
pub struct UncheckedSystemClock;

impl ClockSource for UncheckedSystemClock {
    fn read(&self) -> Result<ClockReading, String> {
        Ok(ClockReading {
            now: SystemTime::now(),
            synchronised: true,
            max_error: None,
            in_leap_second: false,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the clock source cannot be read: {0}")]
    Unreadable(String),
    #[error("the clock is not synchronised")]
    Unsynchronised,
    #[error("the clock error bound {bound:?} exceeds the declared accuracy {accuracy:?}")]
    ErrorTooLarge { bound: Duration, accuracy: Duration },
    #[error("a leap second is in progress")]
    LeapSecond,
    #[error("the clock stepped back; refusing until it passes the last genTime issued")]
    SteppedBack,
}

/// Hands out genTimes only while the source vouches for them within `accuracy`.
pub struct TrustedClock {
    source: Box<dyn ClockSource>,
    accuracy: Duration,
    /// Whether an unknown error bound is acceptable (a source that reports none).
    require_bound: bool,
    /// The last genTime handed out, in ms. Reading the source and advancing this happen
    /// under one lock: two requests reading the clock in one order and recording in the
    /// other must not look like a step back.
    last_issued_ms: Mutex<u64>,
}

impl TrustedClock {
    pub fn new(source: Box<dyn ClockSource>, accuracy: Duration, require_bound: bool) -> Self {
        Self {
            source,
            accuracy,
            require_bound,
            last_issued_ms: Mutex::new(0),
        }
    }

    /// A genTime, truncated to the millisecond, or the reason there is none.
    pub fn now(&self) -> Result<SystemTime, ClockError> {
        let mut last = self
            .last_issued_ms
            .lock()
            .map_err(|_| ClockError::Unreadable("clock state poisoned".into()))?;
        let r = self.source.read().map_err(ClockError::Unreadable)?;
        if !r.synchronised {
            return Err(ClockError::Unsynchronised);
        }
        if r.in_leap_second {
            return Err(ClockError::LeapSecond);
        }
        match r.max_error {
            Some(bound) if bound > self.accuracy => {
                return Err(ClockError::ErrorTooLarge {
                    bound,
                    accuracy: self.accuracy,
                });
            }
            None if self.require_bound => {
                return Err(ClockError::ErrorTooLarge {
                    bound: Duration::MAX,
                    accuracy: self.accuracy,
                });
            }
            _ => {}
        }
        let ms = r
            .now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| ClockError::SteppedBack)?
            .as_millis();
        let ms = u64::try_from(ms).map_err(|_| ClockError::Unreadable("time overflow".into()))?;
        if ms < *last {
            return Err(ClockError::SteppedBack);
        }
        *last = ms;
        Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Fake(Mutex<ClockReading>);
    impl ClockSource for std::sync::Arc<Fake> {
        fn read(&self) -> Result<ClockReading, String> {
            Ok(*self.0.lock().unwrap())
        }
    }

    #[test]
    fn refuses_what_it_cannot_vouch_for() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let fake = std::sync::Arc::new(Fake(Mutex::new(ClockReading {
            now: t0,
            synchronised: true,
            max_error: Some(Duration::from_millis(20)),
            in_leap_second: false,
        })));
        let clock = TrustedClock::new(Box::new(fake.clone()), Duration::from_secs(1), true);
        assert_eq!(clock.now(), Ok(t0));
        fake.0.lock().unwrap().synchronised = false;
        assert_eq!(clock.now(), Err(ClockError::Unsynchronised));
        fake.0.lock().unwrap().synchronised = true;
        fake.0.lock().unwrap().max_error = Some(Duration::from_secs(16));
        assert!(matches!(clock.now(), Err(ClockError::ErrorTooLarge { .. })));
        fake.0.lock().unwrap().max_error = Some(Duration::from_millis(20));
        fake.0.lock().unwrap().now = t0 - Duration::from_secs(2);
        assert_eq!(clock.now(), Err(ClockError::SteppedBack));
        fake.0.lock().unwrap().now = t0 + Duration::from_millis(1);
        assert_eq!(clock.now(), Ok(t0 + Duration::from_millis(1)));
    }

    #[test]
    fn concurrent_readers_never_see_a_step_back() {
        let clock = TrustedClock::new(
            Box::new(UncheckedSystemClock),
            Duration::from_secs(1),
            false,
        );
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..20_000 {
                        assert!(clock.now().is_ok());
                    }
                });
            }
        });
    }
}
