//! The trusted clock: where genTime comes from, and the refusal when it cannot be vouched for.
//!
//! A [`ClockSource`] reports the time and how far off it may be; [`TrustedClock`] turns that
//! into a genTime or a refusal (timeNotAvailable), and never lets genTime go backwards on a
//! node: after a step back it refuses until the clock has passed the last genTime issued.

pub mod kernel;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What a clock source can say about now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    /// The time read.
    pub now: SystemTime,
    /// Whether the source is synchronised to its reference (for the kernel: !STA_UNSYNC).
    pub synchronised: bool,
    /// Upper bound of the error against the reference, if the source knows one.
    pub max_error: Option<Duration>,
    /// A leap second is being inserted or deleted now.
    pub in_leap_second: bool,
}

/// A clock and what it knows of its own error.
pub trait ClockSource: Send + Sync {
    /// The time now and the source's state.
    fn read(&self) -> Result<ClockReading, SourceError>;
}

/// Why a clock source could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The kernel refused to report its state (adjtimex(2)'s errno).
    #[error("adjtimex: {0}")]
    Kernel(String),
    /// This platform has no kernel clock state to read.
    #[error("the kernel clock state is read on Linux only")]
    Unsupported,
    /// A thread panicked while holding the source's state.
    #[error("clock state poisoned")]
    Poisoned,
}

/// Another source's view of the local clock (Roughtime, in the server): while it contradicts
/// the clock, no genTime is issued, whatever the kernel says. The kernel's word rests on
/// unauthenticated NTP; a second opinion is what lets a lie or a gross error be refused.
pub trait SecondOpinion: Send + Sync {
    /// `Err(reason)` (a sentence naming the source) while it cannot vouch for `now`. Called
    /// for every genTime: it must only read a verdict reached elsewhere, never do I/O.
    fn judge(&self, now: SystemTime) -> Result<(), String>;
}

/// The system clock with no knowledge of its synchronisation; for tests.
pub struct UncheckedSystemClock;

impl ClockSource for UncheckedSystemClock {
    fn read(&self) -> Result<ClockReading, SourceError> {
        Ok(ClockReading {
            now: SystemTime::now(),
            synchronised: true,
            max_error: None,
            in_leap_second: false,
        })
    }
}

/// Why the trusted clock cannot vouch for the time now: every one refuses with
/// timeNotAvailable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The source could not be read.
    #[error("the clock source cannot be read: {0}")]
    Unreadable(SourceError),
    /// The source is not synchronised to its reference.
    #[error("the clock is not synchronised")]
    Unsynchronised,
    /// The source's error bound is larger than the accuracy the tokens declare.
    #[error("the clock error bound {bound:?} exceeds the declared accuracy {accuracy:?}")]
    ErrorTooLarge {
        /// The source's bound.
        bound: Duration,
        /// The declared accuracy.
        accuracy: Duration,
    },
    /// The source knows no error bound, and synchronisation is required.
    #[error("the clock source reports no error bound")]
    NoBound,
    /// A leap second is being inserted or deleted.
    #[error("a leap second is in progress")]
    LeapSecond,
    /// The clock went back behind a genTime already issued.
    #[error("the clock stepped back; refusing until it passes the last genTime issued")]
    SteppedBack,
    /// The second opinion contradicts the clock, or has none (its reason).
    #[error("{0}")]
    Disputed(String),
}

impl ClockError {
    /// A stable name for the kind of refusal: state changes are changes of this name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable",
            Self::Unsynchronised => "unsynchronised",
            Self::ErrorTooLarge { .. } => "error_bound_exceeded",
            Self::NoBound => "no_error_bound",
            Self::LeapSecond => "leap_second",
            Self::SteppedBack => "stepped_back",
            Self::Disputed(_) => "disputed",
        }
    }
}

/// Whether the clock vouches for genTime now, and why not.
pub type ClockStatus = Result<(), ClockError>;

/// The name of a status, for logs, metrics and audit records.
pub fn status_name(s: &ClockStatus) -> &'static str {
    match s {
        Ok(()) => "ok",
        Err(e) => e.kind(),
    }
}

/// Called with (old, new) when the clock's status changes kind.
pub type Observer = Box<dyn Fn(&ClockStatus, &ClockStatus) + Send + Sync>;

struct Inner {
    /// The last genTime handed out, in ms.
    last_issued_ms: u64,
    status: ClockStatus,
    last_reading: Option<ClockReading>,
}

/// Hands out genTimes only while the source vouches for them within `accuracy`.
pub struct TrustedClock {
    source: Box<dyn ClockSource>,
    accuracy: Duration,
    /// Whether synchronisation and the error bound are enforced. Only dev mode turns this
    /// off, and says so at start.
    require_sync: bool,
    /// Reading the source and advancing the last genTime happen under one lock: two
    /// requests reading the clock in one order and recording in the other must not look like
    /// a step back.
    inner: Mutex<Inner>,
    observer: Option<Observer>,
    second_opinion: Option<std::sync::Arc<dyn SecondOpinion>>,
}

impl TrustedClock {
    /// A clock over `source` that vouches for genTime within `accuracy`, refusing an
    /// unsynchronised source when `require_sync`.
    pub fn new(source: Box<dyn ClockSource>, accuracy: Duration, require_sync: bool) -> Self {
        Self {
            source,
            accuracy,
            require_sync,
            inner: Mutex::new(Inner {
                last_issued_ms: 0,
                status: Ok(()),
                last_reading: None,
            }),
            observer: None,
            second_opinion: None,
        }
    }

    /// Refuses genTime while `opinion` disputes the clock (in dev mode too: it is configured
    /// on purpose).
    pub fn with_second_opinion(mut self, opinion: std::sync::Arc<dyn SecondOpinion>) -> Self {
        self.second_opinion = Some(opinion);
        self
    }

    /// Reports every change of status (e.g. to the audit log).
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The accuracy tokens declare.
    pub fn accuracy(&self) -> Duration {
        self.accuracy
    }

    /// Whether an unsynchronised source is refused (always, outside dev mode).
    pub fn require_sync(&self) -> bool {
        self.require_sync
    }

    /// A genTime, truncated to the millisecond, or the reason there is none.
    pub fn now(&self) -> Result<SystemTime, ClockError> {
        self.evaluate(true)
    }

    /// Whether a genTime could be issued now, without issuing one (readiness, metrics),
    /// and the last reading of the source.
    pub fn status(&self) -> (ClockStatus, Option<ClockReading>) {
        let s = self.evaluate(false).map(|_| ());
        let r = self.inner.lock().ok().and_then(|i| i.last_reading);
        (s, r)
    }

    fn evaluate(&self, issue: bool) -> Result<SystemTime, ClockError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| ClockError::Unreadable(SourceError::Poisoned))?;
        let reading = self.source.read();
        if let Ok(r) = &reading {
            inner.last_reading = Some(*r);
        }
        let result = reading
            .map_err(ClockError::Unreadable)
            .and_then(|r| self.judge(&r, inner.last_issued_ms));
        if issue && let Ok(t) = &result {
            inner.last_issued_ms = millis(*t).unwrap_or(inner.last_issued_ms);
        }
        let new: ClockStatus = result.as_ref().map(|_| ()).map_err(Clone::clone);
        let old = std::mem::replace(&mut inner.status, new.clone());
        drop(inner);
        if status_name(&old) != status_name(&new)
            && let Some(o) = &self.observer
        {
            o(&old, &new);
        }
        result
    }

    fn judge(&self, r: &ClockReading, last_issued_ms: u64) -> Result<SystemTime, ClockError> {
        if self.require_sync {
            if !r.synchronised {
                return Err(ClockError::Unsynchronised);
            }
            match r.max_error {
                Some(bound) if bound > self.accuracy => {
                    return Err(ClockError::ErrorTooLarge {
                        bound,
                        accuracy: self.accuracy,
                    });
                }
                None => return Err(ClockError::NoBound),
                _ => {}
            }
        }
        if r.in_leap_second {
            return Err(ClockError::LeapSecond);
        }
        if let Some(o) = &self.second_opinion {
            o.judge(r.now).map_err(ClockError::Disputed)?;
        }
        let ms = millis(r.now).ok_or(ClockError::SteppedBack)?;
        if ms < last_issued_ms {
            return Err(ClockError::SteppedBack);
        }
        Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }
}

fn millis(t: SystemTime) -> Option<u64> {
    u64::try_from(t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Fake(Mutex<ClockReading>);
    impl ClockSource for std::sync::Arc<Fake> {
        fn read(&self) -> Result<ClockReading, SourceError> {
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

    struct Opinion(Mutex<Result<(), String>>);
    impl SecondOpinion for Opinion {
        fn judge(&self, _now: SystemTime) -> Result<(), String> {
            self.0.lock().unwrap().clone()
        }
    }

    #[test]
    fn a_disputing_second_opinion_refuses_even_where_sync_is_not_required() {
        let opinion = std::sync::Arc::new(Opinion(Mutex::new(Err("roughtime: none agree".into()))));
        let clock = TrustedClock::new(
            Box::new(UncheckedSystemClock),
            Duration::from_secs(1),
            false,
        )
        .with_second_opinion(opinion.clone());
        assert_eq!(
            clock.now(),
            Err(ClockError::Disputed("roughtime: none agree".into()))
        );
        assert_eq!(status_name(&clock.status().0), "disputed");
        *opinion.0.lock().unwrap() = Ok(());
        assert!(clock.now().is_ok());
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

    #[test]
    fn transitions_are_observed_once_each_and_status_does_not_issue() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let fake = std::sync::Arc::new(Fake(Mutex::new(ClockReading {
            now: t0,
            synchronised: true,
            max_error: Some(Duration::from_millis(20)),
            in_leap_second: false,
        })));
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let clock = TrustedClock::new(Box::new(fake.clone()), Duration::from_secs(1), true)
            .with_observer(Box::new(move |old, new| {
                s2.lock()
                    .unwrap()
                    .push(format!("{}->{}", status_name(old), status_name(new)));
            }));
        assert!(clock.now().is_ok());
        fake.0.lock().unwrap().in_leap_second = true;
        assert_eq!(clock.now(), Err(ClockError::LeapSecond));
        assert_eq!(clock.now(), Err(ClockError::LeapSecond));
        fake.0.lock().unwrap().in_leap_second = false;
        // status() reads without issuing: a later now() at the same instant still works.
        assert_eq!(clock.status().0, Ok(()));
        assert!(clock.now().is_ok());
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["ok->leap_second", "leap_second->ok"]
        );
    }

    #[test]
    fn relaxed_clock_issues_unsynchronised_but_never_backwards() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let fake = std::sync::Arc::new(Fake(Mutex::new(ClockReading {
            now: t0,
            synchronised: false,
            max_error: Some(Duration::from_secs(16)),
            in_leap_second: false,
        })));
        let clock = TrustedClock::new(Box::new(fake.clone()), Duration::from_secs(1), false);
        assert_eq!(clock.now(), Ok(t0));
        fake.0.lock().unwrap().now = t0 - Duration::from_millis(5);
        assert_eq!(clock.now(), Err(ClockError::SteppedBack));
        let strict = TrustedClock::new(Box::new(fake), Duration::from_secs(1), true);
        assert_eq!(strict.now(), Err(ClockError::Unsynchronised));
    }
}
