//! GeneralizedTime with fractional seconds, as TSTInfo.genTime needs (RFC 3161 §2.4.2).
//!
//! `der`'s GeneralizedTime follows RFC 5280, which forbids fractions; RFC 3161 §2.4.2 allows
//! them and requires the DER form: `YYYYMMDDhhmmss[.s...]Z`, no trailing zeros in the fraction,
//! no fraction at all when it is zero.

use der::{
    DateTime, DecodeValue, EncodeValue, ErrorKind, FixedTag, Header, Length, Reader, Tag, Writer,
};
use std::time::{Duration, SystemTime};

/// A point in time with nanosecond resolution, encoded with the digits it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GenTime {
    since_epoch: Duration,
}

impl GenTime {
    /// Truncates to whole milliseconds: the precision Kokuin issues with.
    pub fn from_system_time_millis(t: SystemTime) -> Result<Self, der::Error> {
        let d = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| der::Error::from(ErrorKind::DateTime))?;
        let ms = d.as_millis();
        let ms = u64::try_from(ms).map_err(|_| der::Error::from(ErrorKind::DateTime))?;
        Ok(Self {
            since_epoch: Duration::from_millis(ms),
        })
    }

    pub fn from_unix_duration(d: Duration) -> Self {
        Self { since_epoch: d }
    }

    pub fn unix_duration(&self) -> Duration {
        self.since_epoch
    }

    pub fn to_system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.since_epoch
    }

    /// `2026-11-23T07:12:15.123Z` style, for humans and JSON.
    pub fn to_rfc3339(&self) -> String {
        self.format(["-", "-", "T", ":", ":"])
            .unwrap_or_else(|_| format!("{:?}", self.since_epoch))
    }

    /// The DER content: `YYYYMMDDhhmmss[.f]Z`.
    fn digits(&self) -> Result<String, der::Error> {
        self.format([""; 5])
    }

    /// Date and time with `sep` between the six fields, the fraction, and `Z`.
    fn format(&self, sep: [&str; 5]) -> Result<String, der::Error> {
        let dt = DateTime::from_unix_duration(Duration::from_secs(self.since_epoch.as_secs()))?;
        Ok(format!(
            "{:04}{}{:02}{}{:02}{}{:02}{}{:02}{}{:02}{}Z",
            dt.year(),
            sep[0],
            dt.month(),
            sep[1],
            dt.day(),
            sep[2],
            dt.hour(),
            sep[3],
            dt.minutes(),
            sep[4],
            dt.seconds(),
            fraction(self.since_epoch.subsec_nanos())
        ))
    }
}

/// ".123" for 123 ms, ".5" for 500 ms, "" for 0: DER drops trailing zeros.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        return String::new();
    }
    let s = format!("{nanos:09}");
    format!(".{}", s.trim_end_matches('0'))
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.digits()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.digits()?.as_bytes())
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length())?;
        // 14 digits + 'Z', plus at most '.' and 9 fraction digits.
        if !(15..=25).contains(&len) {
            return Err(reader.error(Tag::GeneralizedTime.value_error()));
        }
        let mut buf = [0u8; 25];
        let bytes = &mut buf[..len];
        reader.read_into(bytes)?;
        parse(bytes).ok_or_else(|| reader.error(Tag::GeneralizedTime.value_error()))
    }
}

fn parse(b: &[u8]) -> Option<GenTime> {
    let (body, z) = b.split_at(b.len() - 1);
    if z != b"Z" || body.len() < 14 {
        return None;
    }
    let (main, frac) = body.split_at(14);
    if !main.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> u32 {
        main[r]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let year = u16::try_from(n(0..4)).ok()?;
    let dt = DateTime::new(
        year,
        u8::try_from(n(4..6)).ok()?,
        u8::try_from(n(6..8)).ok()?,
        u8::try_from(n(8..10)).ok()?,
        u8::try_from(n(10..12)).ok()?,
        u8::try_from(n(12..14)).ok()?,
    )
    .ok()?;
    let mut nanos = 0u32;
    if !frac.is_empty() {
        let digits = frac.strip_prefix(b".")?;
        // DER: at least one digit, no trailing zero, at most nanosecond precision here.
        if digits.is_empty()
            || digits.len() > 9
            || digits.last() == Some(&b'0')
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        for i in 0..9 {
            let d = digits.get(i).map_or(0, |d| u32::from(d - b'0'));
            nanos = nanos * 10 + d;
        }
    }
    Some(GenTime {
        since_epoch: dt.unix_duration() + Duration::from_nanos(u64::from(nanos)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    fn enc(ms: u64) -> String {
        let t = GenTime::from_unix_duration(Duration::from_millis(ms));
        let der = t.to_der().unwrap();
        assert_eq!(GenTime::from_der(&der).unwrap(), t);
        String::from_utf8(der[2..].to_vec()).unwrap()
    }

    #[test]
    fn millisecond_precision_without_trailing_zeros() {
        // 2026-11-23T07:12:15Z
        let base = 1_795_417_935_000;
        assert_eq!(enc(base), "20261123071215Z");
        assert_eq!(enc(base + 500), "20261123071215.5Z");
        assert_eq!(enc(base + 120), "20261123071215.12Z");
        assert_eq!(enc(base + 7), "20261123071215.007Z");
    }

    #[test]
    fn rejects_non_der_forms() {
        for bad in [
            &b"\x18\x11202611230712150.Z"[..],
            b"\x18\x1220261123071215.50Z",
            b"\x18\x0d261123071215Z",
            b"\x18\x1320261123071215+0900",
        ] {
            assert!(GenTime::from_der(bad).is_err(), "{bad:?}");
        }
    }
}
