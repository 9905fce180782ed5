//! The negative corpus: malformed and hostile requests sent to a live server, each with the
//! reply RFC 3161 and the HTTP API promise. Generated from one valid request (so that every
//! TLV of it is truncated, re-lengthed, re-tagged and re-encoded in BER), plus wrong
//! algorithms, policies, extensions, versions, nonces, deep nesting, huge integers, random
//! octets, wrong content types and methods, oversized and slow bodies. The server must keep
//! serving throughout: the last case is a valid request.

use crate::common::*;
use crate::der_twist::{Twist, encode, length_octets, parse, paths};
use der::Encode;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::request::build_request;
use kokuin_tsa::{FailureInfo, ParsedResponse};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// What a case must get back.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// HTTP 200, a TimeStampResp granted.
    Granted,
    /// HTTP 200, a TimeStampResp refused with exactly this failure bit.
    Failure(FailureInfo),
    /// This HTTP status.
    Http(u16),
    /// The server closes the connection without answering (headers never completed).
    Closed,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Granted => write!(f, "granted"),
            Self::Failure(i) => write!(f, "{}", i.name()),
            Self::Http(s) => write!(f, "HTTP {s}"),
            Self::Closed => write!(f, "connection closed"),
        }
    }
}

pub struct Case {
    pub name: String,
    pub expected: Expect,
    pub got: String,
}

impl Case {
    pub fn ok(&self) -> bool {
        self.got == self.expected.to_string()
    }
}

fn request(
    hash: DigestAlgorithm,
    imprint: &[u8],
    nonce: Option<&[u8]>,
) -> kokuin_tsa::asn1::TimeStampReq {
    build_request(hash, imprint, None, nonce, true).expect("request")
}

fn der_of(r: &kokuin_tsa::asn1::TimeStampReq) -> Vec<u8> {
    r.to_der().expect("DER")
}

/// The DER bodies and what each must get, all sent with the right content type.
fn bodies() -> Vec<(String, Vec<u8>, Expect)> {
    use Expect::*;
    use FailureInfo::*;
    let sha256 = DigestAlgorithm::Sha256;
    let good_req = request(
        sha256,
        &sha256.digest(b"invoice"),
        Some(&[1, 2, 3, 4, 5, 6, 7, 8]),
    );
    let good = der_of(&good_req);
    let (tree, _) = parse(&good);
    let mut all = Vec::new();
    let mut v: Vec<(String, Vec<u8>, Expect)> = Vec::new();

    for n in 0..good.len() {
        v.push((
            format!("truncated to {n} octets"),
            good[..n].to_vec(),
            Failure(BadDataFormat),
        ));
    }
    paths(&tree, &mut Vec::new(), &mut all);
    for (p, tag, constructed) in &all {
        let at = format!("{p:?}");
        for d in [-1i64, 1] {
            let b = encode(&tree, &mut Vec::new(), p, Twist::LengthDelta(d));
            v.push((format!("length {d:+} at {at}"), b, Failure(BadDataFormat)));
        }
        let b = encode(&tree, &mut Vec::new(), p, Twist::LongForm);
        v.push((
            format!("BER long-form length at {at}"),
            b,
            Failure(BadDataFormat),
        ));
        if *constructed {
            let b = encode(&tree, &mut Vec::new(), p, Twist::Indefinite);
            v.push((
                format!("BER indefinite length at {at}"),
                b,
                Failure(BadDataFormat),
            ));
        }
        // The constructed bit flipped, and a tag of another type.
        let b = encode(&tree, &mut Vec::new(), p, Twist::Tag(tag ^ 0x20));
        v.push((
            format!("constructed bit flipped at {at}"),
            b,
            Failure(BadDataFormat),
        ));
        let other = match tag {
            0x30 => 0x31,
            0x02 => 0x0a,
            0x04 => 0x03,
            0x06 => 0x0d,
            0x01 => 0x02,
            _ => 0x04,
        };
        let b = encode(&tree, &mut Vec::new(), p, Twist::Tag(other));
        v.push((
            format!("tag {tag:#04x} → {other:#04x} at {at}"),
            b,
            Failure(BadDataFormat),
        ));
    }

    for (name, extra) in [
        ("1 trailing octet", vec![0u8]),
        ("100 trailing octets", vec![0x41; 100]),
        ("a second request after the first", good.clone()),
    ] {
        let mut b = good.clone();
        b.extend(extra);
        v.push((name.into(), b, Failure(BadDataFormat)));
    }

    // BOOLEAN: DER's TRUE is 0xFF; an explicit FALSE is a DEFAULT value DER leaves out.
    let bool_at = good.len() - 3;
    assert_eq!(&good[bool_at..], &[0x01, 0x01, 0xff]);
    let mut b = good.clone();
    b[bool_at + 2] = 0x01;
    v.push((
        "certReq TRUE encoded as 0x01 (BER)".into(),
        b,
        Failure(BadDataFormat),
    ));
    let mut b = good.clone();
    b[bool_at + 2] = 0x00;
    // Not DER, but BouncyCastle writes it: read as the default (tsa/src/request.rs).
    v.push((
        "certReq FALSE encoded (DEFAULT, DER omits it; BouncyCastle writes it)".into(),
        b,
        Granted,
    ));

    // version: only v1 exists.
    for (name, bytes) in [
        ("0", vec![0u8]),
        ("2", vec![2]),
        ("-1", vec![0xff]),
        ("256", vec![1, 0]),
        (
            "a 1,000-octet INTEGER",
            [vec![0x01], vec![0u8; 999]].concat(),
        ),
    ] {
        let mut r = good_req.clone();
        r.version = der::asn1::Int::new(&bytes).expect("int");
        v.push((format!("version {name}"), der_of(&r), Failure(BadRequest)));
    }
    let mut b = good.clone();
    assert_eq!(&b[2..5], &[0x02, 0x01, 0x01]);
    b.splice(3..5, [0x02, 0x00, 0x01]);
    b[1] += 1;
    v.push((
        "version 1 with a leading zero octet (non-minimal)".into(),
        b,
        Failure(BadDataFormat),
    ));

    // nonces: up to 64 octets are echoed.
    for n in [1usize, 8, 16, 32, 64] {
        let mut nonce = vec![0x5a; n];
        nonce[0] = 0x11;
        let r = request(sha256, &sha256.digest(b"x"), Some(&nonce));
        v.push((format!("nonce of {n} octets"), der_of(&r), Granted));
    }
    // 512 bits with the top bit set need a 65th, sign octet in DER; the value is what counts.
    let r = request(sha256, &sha256.digest(b"x"), Some(&[0xa5; 64]));
    v.push((
        "nonce of 64 octets, top bit set".into(),
        der_of(&r),
        Granted,
    ));
    for n in [65usize, 1000, 4096] {
        let r = request(sha256, &sha256.digest(b"x"), Some(&vec![0x5a; n]));
        v.push((
            format!("nonce of {n} octets (huge INTEGER)"),
            der_of(&r),
            Failure(BadRequest),
        ));
    }
    let r = request(sha256, &sha256.digest(b"x"), None);
    v.push(("no nonce".into(), der_of(&r), Granted));

    // Hash algorithms and imprints.
    for d in DigestAlgorithm::ALL {
        let r = request(d, &d.digest(b"x"), None);
        v.push((format!("{d} imprint"), der_of(&r), Granted));
        for len in [0usize, 1, d.output_len() - 1, d.output_len() + 1] {
            let mut r = request(d, &d.digest(b"x"), None);
            r.message_imprint.hashed_message =
                der::asn1::OctetString::new(vec![7u8; len]).expect("octets");
            v.push((
                format!("{d} imprint of {len} octets"),
                der_of(&r),
                Failure(BadDataFormat),
            ));
        }
        let mut r = request(d, &d.digest(b"x"), None);
        r.message_imprint.hash_algorithm.parameters =
            Some(der::Any::new(der::Tag::OctetString, vec![1u8]).expect("any"));
        v.push((
            format!("{d} with OCTET STRING parameters"),
            der_of(&r),
            Failure(BadAlg),
        ));
    }
    for (name, oid) in [
        ("MD5", "1.2.840.113549.2.5"),
        ("SHA-1", "1.3.14.3.2.26"),
        ("SHA-224", "2.16.840.1.101.3.4.2.4"),
        ("SHA-512/256", "2.16.840.1.101.3.4.2.6"),
        ("SHAKE256", "2.16.840.1.101.3.4.2.12"),
        ("rsaEncryption (not a hash)", "1.2.840.113549.1.1.1"),
        ("ML-DSA-65 (not a hash)", "2.16.840.1.101.3.4.3.18"),
        ("an unknown arc", "1.3.6.1.4.1.32473.99.1"),
    ] {
        let mut r = good_req.clone();
        r.message_imprint.hash_algorithm.oid = oid.parse().expect("oid");
        v.push((format!("hash {name}"), der_of(&r), Failure(BadAlg)));
    }

    // Policies: the dev policy is served, nothing else.
    let mut r = good_req.clone();
    r.req_policy = Some(DEV_POLICY.parse().expect("oid"));
    v.push(("reqPolicy: the dev policy".into(), der_of(&r), Granted));
    for p in [
        "1.2.3.4",
        "2.5.29.32.0",
        "1.3.6.1.4.1.32473.4419.1.1",
        "2.25.1",
    ] {
        let mut r = good_req.clone();
        r.req_policy = Some(p.parse().expect("oid"));
        v.push((
            format!("reqPolicy {p} not served"),
            der_of(&r),
            Failure(UnacceptedPolicy),
        ));
    }

    // Extensions: none is supported, duplicated or not, critical or not.
    let ext = |critical| x509_cert::ext::Extension {
        extn_id: "1.3.6.1.4.1.32473.4419.7".parse().expect("oid"),
        critical,
        extn_value: der::asn1::OctetString::new(vec![0x05, 0x00]).expect("octets"),
    };
    for (name, exts) in [
        ("one non-critical extension", vec![ext(false)]),
        ("one critical extension", vec![ext(true)]),
        ("the same extension twice", vec![ext(false), ext(false)]),
        ("ten extensions", vec![ext(false); 10]),
    ] {
        let mut r = good_req.clone();
        r.extensions = Some(exts);
        v.push((name.into(), der_of(&r), Failure(UnacceptedExtension)));
    }

    // Deep nesting, inside MAX_REQUEST_LEN and past it.
    for depth in [10usize, 100, 1000, 20_000] {
        let mut b = Vec::new();
        for _ in 0..depth {
            b = [vec![0x30], length_octets(b.len(), false), b].concat();
        }
        let want = if b.len() > kokuin_tsa::request::MAX_REQUEST_LEN {
            Http(413)
        } else {
            Failure(BadDataFormat)
        };
        v.push((format!("SEQUENCE nested {depth} deep"), b, want));
    }

    // Random octets (a fixed xorshift stream: the corpus is the same every run).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..30usize {
        let len = [1usize, 2, 7, 31, 64, 200, 1500][i % 7] + i;
        let b: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        v.push((
            format!("{len} random octets (#{i})"),
            b,
            Failure(BadDataFormat),
        ));
    }
    v
}

fn classify(r: &Reply) -> String {
    if r.status != 200 {
        return format!("HTTP {}", r.status);
    }
    match ParsedResponse::from_der(&r.body) {
        Ok(p) if p.granted() => "granted".into(),
        Ok(p) => {
            let bits = p
                .status
                .fail_info
                .as_ref()
                .map(FailureInfo::from_bit_string)
                .unwrap_or_default();
            match bits.as_slice() {
                [one] => one.name().to_string(),
                other => format!("failure bits {other:?}"),
            }
        }
        Err(e) => format!("not a TimeStampResp: {e}"),
    }
}

/// A raw exchange over TCP: `head` then `body` (in `pieces`, `pause` apart), then whatever the
/// server answers within `wait`.
fn raw(addr: &str, head: &str, pieces: &[&[u8]], pause: Duration, wait: Duration) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return "cannot connect".into();
    };
    let _ = s.set_read_timeout(Some(wait));
    let _ = s.write_all(head.as_bytes());
    for p in pieces {
        std::thread::sleep(pause);
        if s.write_all(p).is_err() {
            break;
        }
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let t = String::from_utf8_lossy(&resp);
    match t.split_whitespace().nth(1) {
        Some(code) if t.starts_with("HTTP/1.1") => format!("HTTP {code}"),
        _ if resp.is_empty() => "connection closed".into(),
        _ => format!("unexpected: {t}"),
    }
}

pub fn run_all(work: &Path) -> Vec<Case> {
    let srv = Server::dev(&work.join("negative"));
    let url = srv.http.clone();
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let ag = agent(None);
    let mut cases = Vec::new();

    // Slow clients first, in the background: each takes the server's timeouts to answer.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let head = |n: usize| {
                format!(
                    "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\n\
                     Content-Length: {n}\r\n\r\n"
                )
            };
            let long = Duration::from_secs(20);
            let stalled = head(100);
            let trickle: Vec<&[u8]> = vec![&[0x30]; 40];
            vec![
                (
                    "body stalls after 2 of 100 octets",
                    Expect::Http(408),
                    raw(&addr, &stalled, &[&[0x30, 0x62]], Duration::ZERO, long),
                ),
                (
                    "body trickles one octet every 300 ms",
                    Expect::Http(408),
                    raw(&addr, &stalled, &trickle, Duration::from_millis(300), long),
                ),
                (
                    "headers never finish",
                    Expect::Closed,
                    raw(
                        &addr,
                        "POST /tsa HTTP/1.1\r\nHost: x\r\n",
                        &[],
                        Duration::ZERO,
                        long,
                    ),
                ),
            ]
        })
    };

    for (name, body, expected) in bodies() {
        let got = classify(&tsa_post(&ag, &url, &body));
        cases.push(Case {
            name,
            expected,
            got,
        });
    }

    let good = der_of(&request(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(b"invoice"),
        Some(&[9; 8]),
    ));
    for (ct, expected) in [
        ("text/plain", Expect::Http(415)),
        ("application/json", Expect::Http(415)),
        ("application/octet-stream", Expect::Http(415)),
        ("application/timestamp-reply", Expect::Http(415)),
        ("application/ocsp-request", Expect::Http(415)),
        ("", Expect::Http(415)),
        (
            "application/timestamp-query; charset=binary",
            Expect::Granted,
        ),
        ("APPLICATION/TIMESTAMP-QUERY", Expect::Granted),
    ] {
        let got = classify(&post(&ag, &url, ct, &good));
        cases.push(Case {
            name: format!("Content-Type {ct:?}"),
            expected,
            got,
        });
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let head = format!(
            "{method} /tsa HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let got = raw(&addr, &head, &[], Duration::ZERO, Duration::from_secs(5));
        cases.push(Case {
            name: format!("method {method}"),
            expected: Expect::Http(405),
            got,
        });
    }
    let got = format!("HTTP {}", get(&ag, &url).status);
    cases.push(Case {
        name: "method GET".into(),
        expected: Expect::Http(405),
        got,
    });
    let got = classify(&tsa_post(&ag, &format!("{}/tsa/extra", srv.base()), &good));
    cases.push(Case {
        name: "POST to an unknown path".into(),
        expected: Expect::Http(404),
        got,
    });
    for (name, len) in [
        (
            "body of MAX_REQUEST_LEN + 1 octets",
            kokuin_tsa::request::MAX_REQUEST_LEN + 1,
        ),
        ("body of 1 MiB", 1 << 20),
    ] {
        let got = classify(&tsa_post(&ag, &url, &vec![0x30; len]));
        cases.push(Case {
            name: name.into(),
            expected: Expect::Http(413),
            got,
        });
    }
    // Content-Length says more than comes, then the client half-closes: not a valid body.
    let head = "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: 1000\r\n\r\n";
    let got = {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&good);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
        let mut r = Vec::new();
        let _ = s.read_to_end(&mut r);
        let t = String::from_utf8_lossy(&r);
        match t.split_whitespace().nth(1) {
            Some(c) if t.starts_with("HTTP/1.1") => format!("HTTP {c}"),
            _ => "connection closed".into(),
        }
    };
    cases.push(Case {
        name: "Content-Length larger than the body sent".into(),
        expected: Expect::Http(400),
        got,
    });

    for (name, expected, got) in slow.join().unwrap_or_default() {
        cases.push(Case {
            name: name.into(),
            expected,
            got,
        });
    }
    // Still serving.
    let got = classify(&tsa_post(&ag, &url, &good));
    cases.push(Case {
        name: "a valid request after all the above".into(),
        expected: Expect::Granted,
        got,
    });
    cases
}

pub fn markdown(cases: &[Case]) -> String {
    let mut md = format!(
        "# Negative conformance corpus\n\n\
         Written by `cargo test --test conformance`: {} malformed or hostile requests sent to a\n\
         live `kokuin serve --dev`, each with the reply it must get. Do not edit by hand.\n\n\
         | # | request | expected | got | |\n|---|---|---|---|---|\n",
        cases.len()
    );
    for (i, c) in cases.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            c.name.replace('|', "/"),
            c.expected,
            c.got.replace('|', "/"),
            if c.ok() { "ok" } else { "**WRONG**" }
        );
    }
    md
}
