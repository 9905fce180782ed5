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

    /// The time `d` after the Unix epoch.
    pub fn from_unix_duration(d: Duration) -> Self {
        Self { since_epoch: d }
    }

    /// The time since the Unix epoch.
    pub fn unix_duration(&self) -> Duration {
        self.since_epoch
    }

    /// As a `SystemTime`.
    pub fn to_system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.since_epoch
    }

    /// `2026-11-23T07:12:15.123Z` style, for humans and JSON.
    pub fn to_rfc3339(&self) -> String {
        let mut buf = Digits::default();
        match self.format(Some(&["-", "-", "T", ":", ":"]), &mut buf) {
            Ok(()) => buf.as_str().to_string(),
            Err(_) => format!("{:?}", self.since_epoch),
        }
    }

    /// Date and time with `sep` between the six fields (none for DER), the fraction, and `Z`.
    /// Written into a stack buffer: a token's DER encoder asks for genTime's length and
    /// content several times, and `format!` here was 2.7% of a token's CPU.
    fn format(&self, sep: Option<&[&str; 5]>, out: &mut Digits) -> Result<(), der::Error> {
        let dt = DateTime::from_unix_duration(Duration::from_secs(self.since_epoch.as_secs()))?;
        let fields = [
            (u32::from(dt.year()), 4),
            (u32::from(dt.month()), 2),
            (u32::from(dt.day()), 2),
            (u32::from(dt.hour()), 2),
            (u32::from(dt.minutes()), 2),
            (u32::from(dt.seconds()), 2),
        ];
        for (i, (v, width)) in fields.into_iter().enumerate() {
            if i > 0
                && let Some(sep) = sep
            {
                out.push_str(sep[i - 1]);
            }
            out.push_number(v, width);
        }
        // ".123" for 123 ms, ".5" for 500 ms, nothing for 0: DER drops trailing zeros.
        let mut nanos = self.since_epoch.subsec_nanos();
        if nanos != 0 {
            let mut width = 9;
            while nanos.is_multiple_of(10) {
                nanos /= 10;
                width -= 1;
            }
            out.push_str(".");
            out.push_number(nanos, width);
        }
        out.push_str("Z");
        Ok(())
    }

    /// The DER content: `YYYYMMDDhhmmss[.f]Z`.
    fn digits(&self) -> Result<Digits, der::Error> {
        let mut buf = Digits::default();
        self.format(None, &mut buf)?;
        Ok(buf)
    }
}

/// Room for `YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ` (30 octets) and a year past 9999 (which `der`'s
/// DateTime refuses anyway).
struct Digits {
    buf: [u8; 40],
    len: usize,
}

impl Default for Digits {
    fn default() -> Self {
        Self {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl Digits {
    fn push_str(&mut self, s: &str) {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    /// `v` in decimal, zero-padded to `width` digits.
    fn push_number(&mut self, v: u32, width: usize) {
        let mut tmp = [b'0'; 10];
        let mut v = v;
        let mut n = 0;
        while v > 0 || n < width {
            tmp[9 - n] = b'0' + (v % 10) as u8;
            v /= 10;
            n += 1;
            if n == 10 {
                break;
            }
        }
        for &d in &tmp[10 - n..] {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = d;
                self.len += 1;
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.digits()?.as_bytes().len())
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
        let t = GenTime::from_unix_duration(Duration::new(1_795_417_935, 1));
        assert_eq!(t.to_rfc3339(), "2026-11-23T07:12:15.000000001Z");
        let t = GenTime::from_unix_duration(Duration::from_millis(base + 120));
        assert_eq!(t.to_rfc3339(), "2026-11-23T07:12:15.12Z");
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
