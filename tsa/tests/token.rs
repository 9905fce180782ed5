//! Tokens built by the authority, verified by the verifier, and every way verification must
//! fail. Runs on the dev PKI in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::{Decode, Encode};
use kokuin_certs::dev::{DevPki, issue_tsu};
use kokuin_hsm::{DigestAlgorithm, KeyType, SoftwareSigner};
use kokuin_tsa::asn1::TimeStampReq;
use kokuin_tsa::request::build_request;
use kokuin_tsa::token::TokenSigner;
use kokuin_tsa::{
    FailureInfo, Outcome, ParsedResponse, TimeStampAuthority, TimeStampToken, TokenError,
    VerifyOptions, tst_info_unchecked,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const POLICY: &str = "2.25.1";

fn authority(pki: &DevPki, tsu: x509_cert::Certificate, key: SoftwareSigner) -> TimeStampAuthority {
    let signer = TokenSigner::new(Arc::new(key), tsu, &[]).unwrap();
    let _ = pki;
    TimeStampAuthority::unchecked(POLICY, signer).unwrap()
}

fn dev_authority() -> (DevPki, TimeStampAuthority) {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let key = SoftwareSigner::from_pkcs8_der(
        &der::pem::decode_vec(pki.tsu_key.to_pkcs8_pem().unwrap().as_bytes())
            .unwrap()
            .1,
        None,
        "tsu",
    )
    .unwrap();
    let a = authority(&pki, pki.tsu.clone(), key);
    (pki, a)
}

fn request(data: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> TimeStampReq {
    build_request(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(data),
        None,
        nonce,
        cert_req,
    )
    .unwrap()
}

fn token(a: &TimeStampAuthority, req: &TimeStampReq) -> TimeStampToken {
    let (resp, outcome) = a.respond(&req.to_der().unwrap());
    assert!(matches!(outcome, Outcome::Granted(_)), "{outcome:?}");
    let t = ParsedResponse::from_der(&resp)
        .unwrap()
        .into_token()
        .unwrap();
    TimeStampToken::from_der(&t).unwrap()
}

#[test]
fn token_verifies_against_data_request_and_anchor() {
    let (pki, a) = dev_authority();
    let req = request(b"hello", Some(&[0x81, 2, 3, 4, 5, 6, 7, 8]), true);
    let t = token(&a, &req);
    let d = DigestAlgorithm::Sha256.digest(b"hello");
    let anchors = [pki.root.clone()];
    let v = t
        .verify(&VerifyOptions {
            trust_anchors: &anchors,
            expected_digest: Some(&d),
            request: Some(&req),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(v.policy.to_string(), POLICY);
    assert_eq!(v.chain.len(), 2);
    assert_eq!(t.tst_info.nonce, req.nonce);
    assert!(t.tst_info.ordering.is_none());
    assert!(t.tst_info.accuracy.is_some());
    // The token is a well-formed CMS structure for the `cms` crate too.
    let ci = cms::content_info::ContentInfo::from_der(&t_der(&a, &req)).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.signer_infos.0.len(), 1);
}

fn t_der(a: &TimeStampAuthority, req: &TimeStampReq) -> Vec<u8> {
    let (resp, _) = a.respond(&req.to_der().unwrap());
    ParsedResponse::from_der(&resp)
        .unwrap()
        .into_token()
        .unwrap()
}

/// The service's own time-stamps (a seal's) come from an imprint, not a request's DER: the
/// same token a client's request with certReq and no nonce gets, and the same §2.4.1 checks.
#[test]
fn a_token_from_an_imprint_is_a_certreq_token_without_nonce() {
    let (pki, a) = dev_authority();
    let d = DigestAlgorithm::Sha384.digest(b"seal value");
    let p = a.prepare_imprint(DigestAlgorithm::Sha384, &d).unwrap();
    assert!(p.issued.request.cert_req && p.issued.request.nonce.is_none());
    let (resp, _) = a.finish(p).unwrap();
    let t = ParsedResponse::from_der(&resp)
        .unwrap()
        .into_token()
        .unwrap();
    let t = TimeStampToken::from_der(&t).unwrap();
    let anchors = [pki.root.clone()];
    let v = t
        .verify(&VerifyOptions {
            trust_anchors: &anchors,
            expected_digest: Some(&d),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(v.policy.to_string(), POLICY);
    assert!(t.tst_info.nonce.is_none());
    let short = a
        .prepare_imprint(DigestAlgorithm::Sha256, &d)
        .err()
        .unwrap();
    assert_eq!(short.info, FailureInfo::BadDataFormat);
}

#[test]
fn verification_fails_where_it_must() {
    let (pki, a) = dev_authority();
    let req = request(b"hello", Some(&[1, 2, 3, 4, 5, 6, 7, 8]), true);
    let t = token(&a, &req);
    let anchors = [pki.root.clone()];
    let ok = VerifyOptions {
        trust_anchors: &anchors,
        ..Default::default()
    };
    // One changed byte in the data.
    let other = DigestAlgorithm::Sha256.digest(b"hellp");
    assert_eq!(
        t.verify(&VerifyOptions {
            expected_digest: Some(&other),
            ..ok
        })
        .unwrap_err(),
        TokenError::ImprintMismatch
    );
    // A foreign trust anchor.
    let foreign = [DevPki::generate(SystemTime::now()).unwrap().root];
    assert!(matches!(
        t.verify(&VerifyOptions {
            trust_anchors: &foreign,
            ..ok
        }),
        Err(TokenError::Path(_))
    ));
    // A nonce mismatch against the request.
    let other_req = request(b"hello", Some(&[9, 9, 9, 9, 9, 9, 9, 9]), true);
    assert!(matches!(
        t.verify(&VerifyOptions {
            request: Some(&other_req),
            ..ok
        }),
        Err(TokenError::Nonce { .. })
    ));
    // certReq false but certificates present.
    let no_cert_req = request(b"hello", Some(&[1, 2, 3, 4, 5, 6, 7, 8]), false);
    assert!(matches!(
        t.verify(&VerifyOptions {
            request: Some(&no_cert_req),
            ..ok
        }),
        Err(TokenError::CertReq(_))
    ));
    // A flipped bit anywhere in the signed content is caught.
    let mut bad = t_der(&a, &req);
    let n = bad.len();
    bad[n - 3] ^= 1;
    let r = TimeStampToken::from_der(&bad).and_then(|t| t.verify(&ok));
    assert!(r.is_err());
}

#[test]
fn token_without_certificate_needs_the_chain_given() {
    let (pki, a) = dev_authority();
    let req = request(b"x", None, false);
    let t = token(&a, &req);
    assert!(t.signed_data.certificates.is_none());
    let anchors = [pki.root.clone()];
    assert_eq!(
        t.verify(&VerifyOptions {
            trust_anchors: &anchors,
            ..Default::default()
        })
        .unwrap_err(),
        TokenError::SignerCertificateMissing
    );
    let extra = [pki.tsu.clone()];
    t.verify(&VerifyOptions {
        trust_anchors: &anchors,
        extra_certificates: &extra,
        request: Some(&req),
        ..Default::default()
    })
    .unwrap();
}

#[test]
fn tsu_certificate_expired_at_gen_time_is_refused() {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let now = SystemTime::now();
    // A TSU certificate whose validity ended an hour ago; the authority below is forced to
    // sign with it anyway to produce the token an auditor must reject.
    let key = SoftwareSigner::generate(KeyType::P256, "old").unwrap();
    let expired = issue_tsu(
        &pki.root,
        &pki.root_key,
        &key,
        "Expired TSU",
        now - Duration::from_secs(7200),
        now - Duration::from_secs(3600),
        now - Duration::from_secs(3600),
    )
    .unwrap();
    let signer = TokenSigner::new(Arc::new(key), expired, &[]).unwrap();
    let tst = kokuin_tsa::asn1::TstInfo {
        version: der::asn1::Int::new(&[1]).unwrap(),
        policy: POLICY.parse().unwrap(),
        message_imprint: request(b"d", None, true).message_imprint,
        serial_number: der::asn1::Int::new(&[5]).unwrap(),
        gen_time: kokuin_tsa::asn1::GenTime::from_system_time_millis(now).unwrap(),
        accuracy: None,
        ordering: None,
        nonce: None,
        tsa: None,
        extensions: None,
    };
    let der = signer.sign(&tst.to_der().unwrap(), true).unwrap();
    let t = TimeStampToken::from_der(&der).unwrap();
    let anchors = [pki.root];
    let err = t
        .verify(&VerifyOptions {
            trust_anchors: &anchors,
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::Path(kokuin_certs::PathError::Expired { .. })
        ),
        "{err}"
    );
}

#[test]
fn authority_refuses_outside_the_key_usage_period() {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let now = SystemTime::now();
    let key = SoftwareSigner::generate(KeyType::P256, "k").unwrap();
    // Certificate still valid, private key usage period over.
    let cert = issue_tsu(
        &pki.root,
        &pki.root_key,
        &key,
        "Retired TSU",
        now - Duration::from_secs(7200),
        now + Duration::from_secs(3600),
        now - Duration::from_secs(60),
    )
    .unwrap();
    let a = authority(&pki, cert, key);
    let (resp, outcome) = a.respond(&request(b"d", None, false).to_der().unwrap());
    let Outcome::Rejected(r) = outcome else {
        panic!("signed outside the usage period")
    };
    assert_eq!(r.info, FailureInfo::SystemFailure);
    assert!(!ParsedResponse::from_der(&resp).unwrap().granted());
}

#[test]
fn request_rules_map_to_failure_info() {
    let (_pki, a) = dev_authority();
    let refuse = |der: Vec<u8>| match a.respond(&der).1 {
        Outcome::Rejected(r) => r.info,
        Outcome::Granted(_) => panic!("granted"),
    };
    let mut r = request(b"d", None, false);
    r.req_policy = Some("2.25.999".parse().unwrap());
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::UnacceptedPolicy);
    let mut r = request(b"d", None, false);
    r.message_imprint.hashed_message = der::asn1::OctetString::new(vec![0u8; 31]).unwrap();
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::BadDataFormat);
    let mut r = request(b"d", None, false);
    r.message_imprint.hash_algorithm.oid = kokuin_hsm::digest::oid::SHA1;
    r.message_imprint.hashed_message = der::asn1::OctetString::new(vec![0u8; 20]).unwrap();
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::BadAlg);
    let mut r = request(b"d", None, false);
    r.version = der::asn1::Int::new(&[2]).unwrap();
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::BadRequest);
    let r = request(b"d", Some(&[0x11; 65]), false);
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::BadRequest);
    let r = request(b"d", Some(&[0xff; 65]), false);
    assert_eq!(refuse(r.to_der().unwrap()), FailureInfo::BadRequest);
    // 512 bits with the top one set: 65 octets of DER, 64 of value (found by tsa/tests/property.rs).
    let r = request(b"d", Some(&[0xff; 64]), false);
    assert_eq!(r.nonce.as_ref().unwrap().as_bytes().len(), 65);
    assert!(matches!(
        a.respond(&r.to_der().unwrap()).1,
        Outcome::Granted(_)
    ));
    let mut der = request(b"d", None, false).to_der().unwrap();
    der.push(0);
    assert_eq!(refuse(der), FailureInfo::BadDataFormat);
    // certReq DEFAULT FALSE encoded as FALSE: BER, not DER, but what BouncyCastle clients
    // send; read as the default (tsa/src/request.rs): granted, without certificates.
    let mut r = request(b"d", None, false);
    r.cert_req = Some(false);
    assert!(token(&a, &r).certificates().is_empty());
}

/// The load tool's cheap read of a reply: the same TSTInfo as the full parse, and an error,
/// never a panic or a wrong TSTInfo, for a cut or relabelled token.
#[test]
fn unchecked_tst_info_is_the_tokens_own() {
    let (_, a) = dev_authority();
    for cert_req in [false, true] {
        let req = request(b"load", Some(&[9; 8]), cert_req);
        let der = t_der(&a, &req);
        let full = TimeStampToken::from_der(&der).unwrap().tst_info;
        let cheap = tst_info_unchecked(&der).unwrap();
        assert_eq!(cheap.to_der().unwrap(), full.to_der().unwrap());
        for n in 0..der.len() {
            assert!(tst_info_unchecked(&der[..n]).is_err(), "cut at {n}");
        }
    }
    let der = t_der(&a, &request(b"load", None, false));
    for oid in [kokuin_tsa::oid::SIGNED_DATA, kokuin_tsa::oid::CT_TST_INFO] {
        let tlv = oid.to_der().unwrap();
        let at = der.windows(tlv.len()).position(|w| w == tlv).unwrap();
        let mut other = der.clone();
        other[at + tlv.len() - 1] ^= 1;
        assert!(
            matches!(
                tst_info_unchecked(&other),
                Err(TokenError::NotATimeStampToken(_))
            ),
            "{oid}"
        );
    }
}
