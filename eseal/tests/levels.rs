//! Seals from B-B to B-LTA on the dev PKI in memory, verified at the right times, and the
//! ways verification must fail.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_certs::crl::issue_crl;
use kokuin_certs::dev::{DevPki, issue_eseal, seal_subject};
use kokuin_cms::signed_data::Detached;
use kokuin_eseal::extend::{add_archive_timestamp, add_signature_timestamp, add_validation_data};
use kokuin_eseal::verify::verify_seal;
use kokuin_eseal::{AssuranceLevel, BaselineLevel, SealContent, SealKey, SealVerifyOptions};
use kokuin_hsm::{DigestAlgorithm, KeyType, Signer, SoftwareSigner};
use kokuin_tsa::TimeStampAuthority;
use kokuin_tsa::token::TokenSigner;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const DOC: &[u8] = b"<Invoice><ID>INV-2026-0001</ID><Total>11000</Total></Invoice>";
const YEAR: Duration = Duration::from_secs(365 * 86_400);

struct Setup {
    pki: DevPki,
    tsa: TimeStampAuthority,
    key: SealKey,
}

fn copy(k: &SoftwareSigner) -> SoftwareSigner {
    let pem = k.to_pkcs8_pem().unwrap();
    let der = der::pem::decode_vec(pem.as_bytes()).unwrap().1;
    SoftwareSigner::from_pkcs8_der(&der, None, k.label()).unwrap()
}

fn setup() -> Setup {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let signer = TokenSigner::new(Arc::new(copy(&pki.tsu_key)), pki.tsu.clone(), &[]).unwrap();
    let tsa = TimeStampAuthority::unchecked("2.25.1", signer).unwrap();
    let key = SealKey::new(Arc::new(copy(&pki.seal_key)), pki.seal.clone(), &[]).unwrap();
    Setup { pki, tsa, key }
}

fn opts<'a>(s: &'a Setup, detached: Option<Detached<'a>>, at: SystemTime) -> SealVerifyOptions<'a> {
    SealVerifyOptions {
        trust_anchors: std::slice::from_ref(&s.pki.root),
        extra_certificates: &[],
        detached,
        at,
        level_policies: &[],
        form: kokuin_eseal::SealForm::Cades,
    }
}

fn to_lta(s: &Setup, seal: &[u8], digest: Option<&[u8]>) -> Vec<Vec<u8>> {
    let now = SystemTime::now();
    let t = add_signature_timestamp(seal, &s.tsa).unwrap();
    let crl = issue_crl(&s.pki.root, &s.pki.root_key, &[], now, now + YEAR, 1).unwrap();
    let lt = add_validation_data(&t, &[s.pki.root.clone(), s.pki.tsu.clone()], &[crl]).unwrap();
    let lta = add_archive_timestamp(&lt, digest, &s.tsa).unwrap();
    vec![seal.to_vec(), t, lt, lta]
}

/// A detached B-B seal over DOC with the setup's key, and its B-T, B-LT and B-LTA extensions.
fn detached_seals(s: &Setup) -> Vec<Vec<u8>> {
    let digest = DigestAlgorithm::Sha256.digest(DOC);
    let b = s
        .key
        .seal(SealContent::Detached { digest: &digest }, SystemTime::now())
        .unwrap();
    to_lta(s, &b, None)
}

/// `raise` takes a seal to B-LTA in one parse and one encoding: the same level as the steps
/// one by one, the TSA's certificate found in the seal's own time-stamp and handed to the
/// caller for B-LT, and every byte of the B-B seal's SignerInfo kept.
#[test]
fn raise_reaches_lta_in_one_pass() {
    let s = setup();
    let digest = DigestAlgorithm::Sha256.digest(DOC);
    let b = s
        .key
        .seal(SealContent::Detached { digest: &digest }, SystemTime::now())
        .unwrap();
    let now = SystemTime::now();
    let crl = issue_crl(&s.pki.root, &s.pki.root_key, &[], now, now + YEAR, 1).unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let lta = kokuin_eseal::extend::raise(
        &b,
        BaselineLevel::Lta,
        Some(&digest),
        &s.tsa,
        Box::new(|tsa_certs: &[x509_cert::Certificate]| {
            seen.borrow_mut().extend_from_slice(tsa_certs);
            let mut certs = vec![s.pki.root.clone()];
            certs.extend_from_slice(tsa_certs);
            Ok((certs, vec![crl]))
        }),
    )
    .unwrap();
    assert!(
        seen.borrow().contains(&s.pki.tsu),
        "the TSU certificate was not offered"
    );
    let r = verify_seal(&lta, &opts(&s, Some(Detached::Data(DOC)), now)).unwrap();
    assert_eq!(r.level, BaselineLevel::Lta, "{:?}", r.limits);
    let before = kokuin_eseal::raw::RawSignedData::parse(&b).unwrap();
    let after = kokuin_eseal::raw::RawSignedData::parse(&lta).unwrap();
    assert_eq!(before.signer.signed_attrs, after.signer.signed_attrs);
    assert_eq!(before.signer.signature, after.signer.signature);
    // Raising a seal to the level it has adds nothing but what is missing.
    let again = kokuin_eseal::extend::raise(
        &lta,
        BaselineLevel::T,
        None,
        &s.tsa,
        Box::new(|_: &[x509_cert::Certificate]| unreachable!("B-T needs no validation data")),
    )
    .unwrap();
    assert_eq!(again, lta);
}

#[test]
fn each_level_is_reached_and_keeps_the_earlier_bytes() {
    let s = setup();
    let seals = detached_seals(&s);
    let digest = DigestAlgorithm::Sha256.digest(DOC);
    let now = SystemTime::now();
    for (seal, want) in seals.iter().zip(BaselineLevel::ALL) {
        let r = verify_seal(seal, &opts(&s, Some(Detached::Data(DOC)), now)).unwrap();
        assert_eq!(r.level, want, "{:?}", r.limits);
        assert_eq!(r.assurance, Some(AssuranceLevel::One));
        let subject = r.subject.unwrap();
        assert_eq!(subject.corporate_number(), Some("7123456789012"));
        assert!(!r.enveloping);
        // The same seal verified with the document's digest instead of the document.
        let r2 = verify_seal(
            seal,
            &opts(
                &s,
                Some(Detached::Digest(DigestAlgorithm::Sha256, &digest)),
                now,
            ),
        )
        .unwrap();
        assert_eq!(r2.level, want);
    }
    // Every extension keeps the SignerInfo's signed part and the earlier certificates.
    for pair in seals.windows(2) {
        let (a, b) = (
            kokuin_eseal::raw::RawSignedData::parse(&pair[0]).unwrap(),
            kokuin_eseal::raw::RawSignedData::parse(&pair[1]).unwrap(),
        );
        assert_eq!(a.signer.signed_attrs, b.signer.signed_attrs);
        assert_eq!(a.signer.signature, b.signer.signature);
        assert!(b.certificates.starts_with(&a.certificates));
        assert!(
            b.signer
                .unsigned_attrs
                .starts_with(&a.signer.unsigned_attrs)
        );
    }
}

#[test]
fn enveloping_seals_carry_the_document() {
    let s = setup();
    let b = s
        .key
        .seal(SealContent::Enveloping(DOC), SystemTime::now())
        .unwrap();
    let seals = to_lta(&s, &b, None);
    let r = verify_seal(&seals[3], &opts(&s, None, SystemTime::now())).unwrap();
    assert_eq!(r.level, BaselineLevel::Lta);
    assert!(r.enveloping);
}

/// Sealed where the document lies: the same seal as from a copy but for the signature
/// value (ECDSA is randomised), it verifies and extends to B-LTA, and with no headroom it
/// falls back to a copy.
#[test]
fn a_seal_made_in_place_is_the_seal_made_from_a_copy() {
    let s = setup();
    let t = SystemTime::now();
    let copied = s.key.seal(SealContent::Enveloping(DOC), t).unwrap();
    for headroom in [256, 0] {
        let mut buf = vec![0u8; headroom];
        buf.extend_from_slice(DOC);
        let (buf, start) = s.key.seal_in_place(buf, headroom, t).unwrap();
        let sealed = &buf[start..];
        let parse = kokuin_eseal::raw::RawSignedData::parse;
        let (a, b) = (parse(sealed).unwrap(), parse(&copied).unwrap());
        assert_eq!(a.encap_content_info, b.encap_content_info);
        assert_eq!(a.certificates, b.certificates);
        assert_eq!(a.signer.signed_attrs, b.signer.signed_attrs);
        let seals = to_lta(&s, sealed, None);
        let r = verify_seal(&seals[3], &opts(&s, None, SystemTime::now())).unwrap();
        assert_eq!(r.level, BaselineLevel::Lta);
    }
}

#[test]
fn lta_outlives_the_signer_certificate() {
    let s = setup();
    let now = SystemTime::now();
    // A signer certificate that expires in a minute.
    let short_key = SoftwareSigner::generate(KeyType::P256, "short").unwrap();
    let short = issue_eseal(
        &s.pki.root,
        &s.pki.root_key,
        &short_key,
        &seal_subject("Short-lived"),
        kokuin_certs::oid::LEVEL_1_POLICY,
        (now - Duration::from_secs(60), now + Duration::from_secs(60)),
        None,
    )
    .unwrap();
    let key = SealKey::new(Arc::new(short_key), short, &[]).unwrap();
    let b = key.seal(SealContent::Enveloping(DOC), now).unwrap();
    let seals = to_lta(&s, &b, None);
    let later = now + YEAR;
    // B-B checks the signer at the verification time: expired.
    let e = verify_seal(&seals[0], &opts(&s, None, later)).unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    // With time-stamps the signer is checked when the seal was stamped.
    let r = verify_seal(&seals[3], &opts(&s, None, later)).unwrap();
    assert_eq!(r.level, BaselineLevel::Lta);
    // Past the TSA certificate (4 years) a B-T seal no longer verifies…
    let much_later = now + 5 * YEAR;
    assert!(verify_seal(&seals[1], &opts(&s, None, much_later)).is_err());
}

#[test]
fn tampering_is_caught() {
    let s = setup();
    let seals = detached_seals(&s);
    let now = SystemTime::now();
    // Other data.
    assert!(verify_seal(&seals[0], &opts(&s, Some(Detached::Data(b"other")), now)).is_err());
    // No data for a detached seal.
    assert!(verify_seal(&seals[0], &opts(&s, None, now)).is_err());
    // A CRL removed after the archive time-stamp covered it.
    let mut raw = kokuin_eseal::raw::RawSignedData::parse(&seals[3]).unwrap();
    raw.crls.clear();
    let e = verify_seal(&raw.encode(), &opts(&s, Some(Detached::Data(DOC)), now)).unwrap_err();
    assert!(e.to_string().contains("no longer in the seal"), "{e}");
    // A flipped bit in the signature time-stamp.
    let mut raw = kokuin_eseal::raw::RawSignedData::parse(&seals[1]).unwrap();
    let last = raw.signer.unsigned_attrs[0].len() - 3;
    raw.signer.unsigned_attrs[0][last] ^= 1;
    assert!(verify_seal(&raw.encode(), &opts(&s, Some(Detached::Data(DOC)), now)).is_err());
    // An archive time-stamp over another document's digest is refused before it is made.
    let wrong = DigestAlgorithm::Sha256.digest(b"other");
    assert!(add_archive_timestamp(&seals[2], Some(&wrong), &s.tsa).is_err());
    // An untrusted root.
    let other = DevPki::generate(now).unwrap();
    let o = SealVerifyOptions {
        trust_anchors: std::slice::from_ref(&other.root),
        ..opts(&s, Some(Detached::Data(DOC)), now)
    };
    assert!(verify_seal(&seals[0], &o).is_err());
}

#[test]
fn revoked_signer_is_refused() {
    let s = setup();
    let now = SystemTime::now();
    let b = s.key.seal(SealContent::Enveloping(DOC), now).unwrap();
    let t = add_signature_timestamp(&b, &s.tsa).unwrap();
    let serial = s.pki.seal.tbs_certificate().serial_number().clone();
    let crl = issue_crl(
        &s.pki.root,
        &s.pki.root_key,
        &[(serial, now - Duration::from_secs(3600))],
        now,
        now + YEAR,
        2,
    )
    .unwrap();
    let lt = add_validation_data(&t, std::slice::from_ref(&s.pki.root), &[crl]).unwrap();
    let e = verify_seal(&lt, &opts(&s, None, now)).unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
}

#[test]
fn post_quantum_seals_reach_lta() {
    let s = setup();
    let now = SystemTime::now();
    for key_type in [
        KeyType::MlDsa(kokuin_hsm::MlDsaLevel::L65),
        KeyType::from_name("mldsa65-ecdsa-p256-sha512").unwrap(),
    ] {
        let k = SoftwareSigner::generate(key_type, "pq").unwrap();
        let cert = issue_eseal(
            &s.pki.root,
            &s.pki.root_key,
            &k,
            &seal_subject("PQ Seal"),
            kokuin_certs::oid::LEVEL_1_POLICY,
            (now - Duration::from_secs(60), now + YEAR),
            None,
        )
        .unwrap();
        let key = SealKey::new(Arc::new(k), cert, &[]).unwrap();
        // RFC 9882 / the composite CMS draft: SHA-512 for these keys.
        assert_eq!(key.digest_algorithm(), DigestAlgorithm::Sha512);
        let b = key.seal(SealContent::Enveloping(DOC), now).unwrap();
        if matches!(key_type, KeyType::MlDsa(_)) {
            python_cryptography_verifies(&s, &b);
        }
        let seals = to_lta(&s, &b, None);
        let r = verify_seal(&seals[3], &opts(&s, None, now)).unwrap();
        assert_eq!(r.level, BaselineLevel::Lta, "{key_type:?}: {:?}", r.limits);
        assert!(
            kokuin_hsm::algorithm::describe(&r.signature_algorithm)
                .unwrap()
                .1,
            "{key_type:?} is quantum-safe"
        );
    }
}

/// Python `cryptography` (OpenSSL's ML-DSA) checks the seal's signature over its signed
/// attributes: an implementation independent of Kokuin's.
fn python_cryptography_verifies(s: &Setup, seal: &[u8]) {
    let p = kokuin_cms::signed_data::ParsedSignedData::from_der(seal).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signer = &p.certificates()[0];
    let pem = |c: &x509_cert::Certificate| {
        kokuin_certs::pem::to_pem_chain(std::slice::from_ref(c)).unwrap()
    };
    std::fs::write(dir.path().join("signer.pem"), pem(signer)).unwrap();
    std::fs::write(dir.path().join("issuer.pem"), pem(&s.pki.root)).unwrap();
    std::fs::write(dir.path().join("signed"), &p.signed_attrs_der).unwrap();
    std::fs::write(dir.path().join("sig"), p.signer_info.signature.as_bytes()).unwrap();
    let python = std::env::var("KOKUIN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/interop/mldsa_verify.py"
    );
    let run = |sig: &str| {
        std::process::Command::new(&python)
            .arg(script)
            .args(["signer.pem", "issuer.pem", "signed", sig])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let o = run("sig");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut bad = p.signer_info.signature.as_bytes().to_vec();
    bad[10] ^= 1;
    std::fs::write(dir.path().join("bad"), bad).unwrap();
    assert!(!run("bad").status.success());
}
