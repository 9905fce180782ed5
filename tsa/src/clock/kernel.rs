//! The kernel's NTP state (Linux `adjtimex(2)`, read-only): synchronisation, error bounds,
//! leap-second state. The only `unsafe` in the crate: no maintained crate wraps `adjtimex`.

use super::{ClockReading, ClockSource, SourceError};
use std::time::{Duration, SystemTime};

/// What the kernel reports, for `kokuin clock status` and for the trusted clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelTime {
    /// `adjtimex` return value: TIME_OK 0, TIME_INS 1, TIME_DEL 2, TIME_OOP 3, TIME_WAIT 4,
    /// TIME_ERROR 5.
    pub state: i32,
    /// `status` flags (STA_*).
    pub status: i32,
    /// Maximum error, µs.
    pub max_error_us: i64,
    /// Estimated error, µs.
    pub est_error_us: i64,
    /// Current offset, ns if STA_NANO else µs.
    pub offset: i64,
    /// Frequency offset, ppm with 16-bit fraction.
    pub freq: i64,
    /// TAI − UTC, s.
    pub tai: i32,
}

/// `timex.status`: phase-locked loop updates enabled (adjtimex(2)).
pub const STA_PLL: i32 = 0x0001;
/// `timex.status`: a leap second will be inserted at the end of the UTC day.
pub const STA_INS: i32 = 0x0010;
/// `timex.status`: a leap second will be deleted at the end of the UTC day.
pub const STA_DEL: i32 = 0x0020;
/// `timex.status`: the clock is not synchronised.
pub const STA_UNSYNC: i32 = 0x0040;
/// `timex.status`: `offset` is in nanoseconds, not microseconds.
pub const STA_NANO: i32 = 0x2000;
/// Clock state returned by adjtimex: a leap second insertion is announced.
pub const TIME_INS: i32 = 1;
/// Clock state: a leap second deletion is announced.
pub const TIME_DEL: i32 = 2;
/// Clock state: a leap second is being inserted now.
pub const TIME_OOP: i32 = 3;
/// Clock state: the clock is not synchronised.
pub const TIME_ERROR: i32 = 5;

impl KernelTime {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    /// The kernel's clock state now (adjtimex(2) with no modes: read only).
    pub fn read() -> Result<Self, SourceError> {
        // SAFETY: `timex` is plain integers; all-zero is valid and, with `modes == 0`, asks
        // the kernel only to report. `adjtimex` writes into the struct we own and reads
        // nothing else.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        let state = unsafe { libc::adjtimex(&mut tx) };
        if state < 0 {
            return Err(SourceError::Kernel(
                std::io::Error::last_os_error().to_string(),
            ));
        }
        Ok(Self {
            state,
            status: tx.status,
            max_error_us: tx.maxerror,
            est_error_us: tx.esterror,
            offset: tx.offset,
            freq: tx.freq,
            tai: tx.tai,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read() -> Result<Self, SourceError> {
        Err(SourceError::Unsupported)
    }

    /// The kernel says it is synchronised: STA_UNSYNC clear and not TIME_ERROR.
    pub fn synchronised(&self) -> bool {
        self.status & STA_UNSYNC == 0 && self.state != TIME_ERROR
    }

    /// The kernel's maximum error, as a duration.
    pub fn max_error(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.max_error_us).unwrap_or(u64::MAX))
    }

    /// A leap second is in progress, or one is announced and `now` is within a second of
    /// the UTC midnight it happens at: genTime cannot be trusted to be unambiguous.
    pub fn in_leap_second(&self, now: SystemTime) -> bool {
        if self.state == TIME_OOP {
            return true;
        }
        let announced =
            matches!(self.state, TIME_INS | TIME_DEL) || self.status & (STA_INS | STA_DEL) != 0;
        let sod = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() % 86_400)
            .unwrap_or(0);
        announced && (sod >= 86_399 || sod == 0)
    }

    /// The names of the status bits set (`PLL`, `UNSYNC`, …).
    pub fn flags(&self) -> Vec<&'static str> {
        const NAMES: [(i32, &str); 15] = [
            (0x0001, "PLL"),
            (0x0002, "PPSFREQ"),
            (0x0004, "PPSTIME"),
            (0x0008, "FLL"),
            (0x0010, "INS"),
            (0x0020, "DEL"),
            (0x0040, "UNSYNC"),
            (0x0080, "FREQHOLD"),
            (0x0100, "PPSSIGNAL"),
            (0x0200, "PPSJITTER"),
            (0x0400, "PPSWANDER"),
            (0x0800, "PPSERROR"),
            (0x1000, "CLOCKERR"),
            (0x2000, "NANO"),
            (0x4000, "MODE"),
        ];
        NAMES
            .iter()
            .filter(|(bit, _)| self.status & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// The name of the clock state (`TIME_OK`, `TIME_ERROR`, …).
    pub fn state_name(&self) -> &'static str {
        match self.state {
            0 => "TIME_OK",
            1 => "TIME_INS",
            2 => "TIME_DEL",
            3 => "TIME_OOP",
            4 => "TIME_WAIT",
            5 => "TIME_ERROR",
            _ => "unknown",
        }
    }
}

/// How long one reading of the kernel's NTP state serves. `adjtimex` costs a system call and
/// the kernel's entropy mixing (2% of the server's CPU at 13,000 tokens/s when read per token),
/// while the state it reports changes only when the NTP daemon updates it (every few seconds)
/// or once a second in the kernel's own tick.
pub const KERNEL_READ_INTERVAL: Duration = Duration::from_millis(10);

/// How fast the kernel lets its maximum error grow while nothing corrects it: MAXFREQ, 500 ppm
/// (`second_overflow` in kernel/time/ntp.c adds 500 µs a second). A reused reading's bound
/// grows at this rate, so it is never tighter than a fresh one would be.
const MAX_ERROR_GROWTH_PPM: u32 = 500;

/// The system clock, vouched for by the kernel's NTP state (kept by chrony or ntpd). The NTP
/// state is read at most every [`KERNEL_READ_INTERVAL`]; the time itself at every call.
#[derive(Default)]
pub struct KernelClock {
    last: std::sync::Mutex<Option<(std::time::Instant, KernelTime)>>,
}

impl KernelClock {
    /// A source reading the kernel, at most once per [`KERNEL_READ_INTERVAL`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The kernel's state, fresh or read less than [`KERNEL_READ_INTERVAL`] ago, with the
    /// maximum error it may have gained since.
    fn state(&self) -> Result<(KernelTime, Duration), SourceError> {
        self.state_at(std::time::Instant::now(), KernelTime::read)
    }

    fn state_at(
        &self,
        now: std::time::Instant,
        read: impl FnOnce() -> Result<KernelTime, SourceError>,
    ) -> Result<(KernelTime, Duration), SourceError> {
        let mut last = self.last.lock().map_err(|_| SourceError::Poisoned)?;
        if let Some((at, k)) = *last {
            let age = now.saturating_duration_since(at);
            if age < KERNEL_READ_INTERVAL {
                return Ok((k, age * MAX_ERROR_GROWTH_PPM / 1_000_000));
            }
        }
        let k = read()?;
        *last = Some((now, k));
        Ok((k, Duration::ZERO))
    }
}

impl ClockSource for KernelClock {
    fn read(&self) -> Result<ClockReading, SourceError> {
        let (k, drift) = self.state()?;
        let now = SystemTime::now();
        Ok(ClockReading {
            now,
            synchronised: k.synchronised(),
            max_error: Some(k.max_error().saturating_add(drift)),
            in_leap_second: k.in_leap_second(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_the_kernel() {
        let k = KernelTime::read().unwrap();
        assert!(k.max_error_us >= 0);
        assert!((0..=5).contains(&k.state));
    }

    #[test]
    fn a_reused_reading_never_has_a_smaller_bound() {
        let clock = KernelClock::new();
        let t0 = std::time::Instant::now();
        let k = |max_error_us| KernelTime {
            state: 0,
            status: STA_PLL,
            max_error_us,
            est_error_us: 0,
            offset: 0,
            freq: 0,
            tai: 37,
        };
        let (first, grown) = clock.state_at(t0, || Ok(k(1000))).unwrap();
        assert_eq!((first.max_error_us, grown), (1000, Duration::ZERO));
        // Within the interval the kernel is not asked, and the bound grows at 500 ppm.
        let (again, grown) = clock
            .state_at(t0 + Duration::from_millis(8), || {
                panic!("read within the interval")
            })
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(grown, Duration::from_micros(4));
        // After the interval the kernel is read again, and a failure to read is reported.
        let (fresh, grown) = clock
            .state_at(t0 + KERNEL_READ_INTERVAL, || Ok(k(1200)))
            .unwrap();
        assert_eq!((fresh.max_error_us, grown), (1200, Duration::ZERO));
        let later = t0 + 2 * KERNEL_READ_INTERVAL;
        assert!(
            clock
                .state_at(later, || Err(SourceError::Kernel("EPERM".into())))
                .is_err()
        );
    }

    #[test]
    fn leap_seconds_are_recognised() {
        let k = KernelTime {
            state: TIME_INS,
            status: STA_PLL | STA_INS,
            max_error_us: 1000,
            est_error_us: 10,
            offset: 0,
            freq: 0,
            tai: 37,
        };
        let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
        assert!(k.in_leap_second(midnight - Duration::from_millis(500)));
        assert!(!k.in_leap_second(midnight - Duration::from_secs(3600)));
        assert!(
            KernelTime {
                state: TIME_OOP,
                ..k
            }
            .in_leap_second(midnight - Duration::from_secs(3600))
        );
        assert!(
            !KernelTime {
                status: STA_UNSYNC,
                ..k
            }
            .synchronised()
        );
    }
}
