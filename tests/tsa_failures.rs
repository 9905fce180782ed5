//! Every PKIFailureInfo the server can emit, each reply read by `openssl ts -reply -text`;
//! and malformed or hostile requests, each with its precise answer, the server serving on.
//! (addInfoNotAvailable is never emitted: no request field Kokuin accepts asks for more.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use der::asn1::{Int, OctetString};
use kokuin_certs::dev::issue_tsu;
use kokuin_certs::pem::{load_certificates, to_pem_chain};
use kokuin_hsm::{DigestAlgorithm, SoftwareSigner};
use kokuin_testkit as common;
use kokuin_tsa::asn1::TimeStampReq;
use kokuin_tsa::request::build_request;
use kokuin_tsa::{FailureInfo, ParsedResponse};
use std::path::Path;
use std::time::{Duration, SystemTime};
use x509_cert::ext::Extension;

fn valid_request() -> TimeStampReq {
    build_request(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(b"invoice"),
        None,
        Some(&[1, 2, 3, 4, 5, 6, 7, 8]),
        true,
    )
    .unwrap()
}

/// openssl's wording for each failure bit (crypto/ts/ts_rsp_print.c).
fn openssl_text(f: FailureInfo) -> &'static str {
    match f {
        FailureInfo::BadAlg => "unrecognized or unsupported algorithm identifier",
        FailureInfo::BadRequest => "transaction not permitted or supported",
        FailureInfo::BadDataFormat => "the data submitted has the wrong format",
        FailureInfo::TimeNotAvailable => "the TSA's time source is not available",
        FailureInfo::UnacceptedPolicy => "the requested TSA policy is not supported by the TSA",
        FailureInfo::UnacceptedExtension => "the requested extension is not supported by the TSA",
        FailureInfo::AddInfoNotAvailable => "the additional information requested",
        FailureInfo::SystemFailure => "the request cannot be handled due to system failure",
    }
}

/// POSTs `tsq`, expects HTTP 200 and a rejection with `want`, checks openssl reads it so.
fn expect_failure(url: &str, tsq: &[u8], want: FailureInfo, work: &Path, name: &str) {
    let reply = tsa_post(&agent(None), url, tsq);
    assert_eq!(reply.status, 200, "{name}: HTTP status");
    assert_eq!(reply.content_type, "application/timestamp-reply", "{name}");
    let parsed = ParsedResponse::from_der(&reply.body).expect("a TimeStampResp");
    assert!(!parsed.granted(), "{name}: granted");
    let bits = FailureInfo::from_bit_string(parsed.status.fail_info.as_ref().expect("failInfo"));
    assert_eq!(bits, vec![want], "{name}: {}", parsed.describe_status());
    assert!(
        parsed.status.status_string.is_some(),
        "{name}: no statusString"
    );
    let f = work.join(format!("{name}.tsr"));
    std::fs::write(&f, &reply.body).unwrap();
    let o = run(
        "openssl",
        &["ts", "-reply", "-in", f.to_str().unwrap(), "-text"],
    );
    let t = text(&o);
    assert!(t.contains("Status: Rejected."), "{name}: {t}");
    assert!(t.contains(openssl_text(want)), "{name}: {t}");
}

fn with_extension(critical: bool) -> Vec<u8> {
    let mut r = valid_request();
    r.extensions = Some(vec![Extension {
        extn_id: "1.3.6.1.4.1.99999.1".parse().unwrap(),
        critical,
        extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
    }]);
    r.to_der().unwrap()
}

/// The indefinite-length (BER) form of a DER TLV with a short-form length.
fn to_indefinite(der: &[u8]) -> Vec<u8> {
    let (tag, len) = (der[0], der[1] as usize);
    assert!(len < 0x80 && der.len() == len + 2);
    let mut v = vec![tag, 0x80];
    v.extend_from_slice(&der[2..]);
    v.extend_from_slice(&[0, 0]);
    v
}

#[test]
fn every_failure_info_the_server_emits() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let work = dir.path();
    let srv = Server::dev(&state);
    let url = srv.http.clone();

    // badAlg: SHA-1 from a stock client.
    let data = work.join("d.txt");
    std::fs::write(&data, b"x").unwrap();
    let q = work.join("sha1.tsq");
    let o = run(
        "openssl",
        &[
            "ts",
            "-query",
            "-data",
            data.to_str().unwrap(),
            "-sha1",
            "-out",
            q.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    expect_failure(
        &url,
        &std::fs::read(&q).unwrap(),
        FailureInfo::BadAlg,
        work,
        "badAlg",
    );
    // unacceptedPolicy: a policy this TSA does not serve, from a stock client.
    let q = work.join("policy.tsq");
    let o = run(
        "openssl",
        &[
            "ts",
            "-query",
            "-data",
            data.to_str().unwrap(),
            "-tspolicy",
            "1.2.3.4",
            "-out",
            q.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    expect_failure(
        &url,
        &std::fs::read(&q).unwrap(),
        FailureInfo::UnacceptedPolicy,
        work,
        "unacceptedPolicy",
    );
    // badRequest: a version this TSA does not speak.
    let mut r = valid_request();
    r.version = Int::new(&[2]).unwrap();
    expect_failure(
        &url,
        &r.to_der().unwrap(),
        FailureInfo::BadRequest,
        work,
        "badRequest",
    );
    // badDataFormat: not a TimeStampReq at all.
    expect_failure(
        &url,
        b"hello, TSA",
        FailureInfo::BadDataFormat,
        work,
        "badDataFormat",
    );
    // unacceptedExtension.
    expect_failure(
        &url,
        &with_extension(false),
        FailureInfo::UnacceptedExtension,
        work,
        "unacceptedExtension",
    );
    drop(srv);

    // timeNotAvailable: the same keys in a production configuration whose accuracy the
    // clock cannot meet. The server starts, but refuses to issue (fail closed).
    let srv = Server::with_config(&unmeetable_production_config(&state));
    expect_failure(
        &srv.http,
        &valid_request().to_der().unwrap(),
        FailureInfo::TimeNotAvailable,
        work,
        "timeNotAvailable",
    );
    drop(srv);

    // systemFailure: the TSU key's private key usage period has ended; the certificate is
    // still valid, but no token may carry the key any more (EN 319 421).
    let now = SystemTime::now();
    let root_key = SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
    let root = load_certificates(&state.join("pki/root.pem"))
        .unwrap()
        .remove(0);
    let tsu_key = SoftwareSigner::load(&state.join("keys/tsu.key"), None, true).unwrap();
    let retired = issue_tsu(
        &root,
        &root_key,
        &tsu_key,
        "Retired TSU",
        now - Duration::from_secs(86_400),
        now + Duration::from_secs(86_400),
        now - Duration::from_secs(60),
    )
    .unwrap();
    std::fs::write(
        state.join("pki/retired.pem"),
        to_pem_chain(&[retired]).unwrap(),
    )
    .unwrap();
    let retired_cfg = outside_dual_control(&state, "retired", |ring| {
        ring.replace("pki/tsu.pem", "pki/retired.pem")
    });
    let srv = Server::with_config(&retired_cfg);
    expect_failure(
        &srv.http,
        &valid_request().to_der().unwrap(),
        FailureInfo::SystemFailure,
        work,
        "systemFailure",
    );
}

#[test]
fn malformed_requests_get_precise_answers_and_the_server_keeps_serving() {
    let dir = tempdir();
    let work = dir.path();
    let mut srv = Server::dev(&work.join("state"));
    let url = srv.http.clone();
    let good = valid_request().to_der().unwrap();

    let truncated = good[..good.len() - 5].to_vec();
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    let ber = to_indefinite(&good);
    let mut long_form = vec![0x30, 0x81, good[1]];
    long_form.extend_from_slice(&good[2..]);

    let huge_nonce = build_request(
        DigestAlgorithm::Sha256,
        &[7u8; 32],
        None,
        Some(&[0x5a; 4096]),
        false,
    )
    .unwrap()
    .to_der()
    .unwrap();
    let mut unknown_hash = valid_request();
    unknown_hash.message_imprint.hash_algorithm.oid = "1.2.3.4.5".parse().unwrap();
    let mut short_imprint = valid_request();
    short_imprint.message_imprint.hashed_message = OctetString::new(vec![1u8; 20]).unwrap();
    let mut hash_params = valid_request();
    hash_params.message_imprint.hash_algorithm.parameters =
        Some(der::Any::new(der::Tag::OctetString, vec![1u8]).unwrap());

    let cases: Vec<(&str, Vec<u8>, FailureInfo)> = vec![
        ("truncated", truncated, FailureInfo::BadDataFormat),
        ("trailing-garbage", trailing, FailureInfo::BadDataFormat),
        ("ber-indefinite-length", ber, FailureInfo::BadDataFormat),
        (
            "ber-long-form-length",
            long_form,
            FailureInfo::BadDataFormat,
        ),
        ("empty", Vec::new(), FailureInfo::BadDataFormat),
        ("nonce-4KiB", huge_nonce, FailureInfo::BadRequest),
        (
            "unknown-hash-oid",
            unknown_hash.to_der().unwrap(),
            FailureInfo::BadAlg,
        ),
        (
            "hash-with-parameters",
            hash_params.to_der().unwrap(),
            FailureInfo::BadAlg,
        ),
        (
            "wrong-imprint-length",
            short_imprint.to_der().unwrap(),
            FailureInfo::BadDataFormat,
        ),
        (
            "critical-extension",
            with_extension(true),
            FailureInfo::UnacceptedExtension,
        ),
        (
            "non-critical-extension",
            with_extension(false),
            FailureInfo::UnacceptedExtension,
        ),
    ];
    for (name, body, want) in cases {
        expect_failure(&url, &body, want, work, name);
    }

    let ag = agent(None);
    let r = post(&ag, &url, "text/plain", &good);
    assert_eq!(r.status, 415, "wrong content type");
    let r = post(&ag, &url, "application/ocsp-request", &good);
    assert_eq!(r.status, 415);
    let r = tsa_post(&ag, &url, &vec![0x30; 1024 * 1024]);
    assert_eq!(r.status, 413, "1 MiB body");
    assert_eq!(get(&ag, &url).status, 405);
    assert_eq!(get(&ag, &format!("{}/nothing", srv.base())).status, 404);

    // Still serving, correctly.
    assert!(srv.is_running(), "server died: {}", srv.stderr());
    assert_eq!(get(&ag, &format!("{}/healthz", srv.base())).status, 200);
    let certs = get(&ag, &format!("{}/tsa/certs", srv.base()));
    assert_eq!(certs.status, 200);
    assert!(String::from_utf8_lossy(&certs.body).contains("BEGIN CERTIFICATE"));
    let r = tsa_post(&ag, &url, &good);
    assert!(ParsedResponse::from_der(&r.body).unwrap().granted());
    assert!(!srv.stderr().contains("panicked"), "{}", srv.stderr());
}
