//! Certificates issued through x509-cert's builder by every kind of Kokuin signer: a P-256,
//! an ML-DSA-65 and a composite ML-DSA-65 + ECDSA P-256 root each issue a TSU certificate,
//! and the path validator (which verifies with kokuin-hsm's verifiers, not the builder's
//! code) accepts each chain and refuses one whose signature was changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::{Decode, Encode};
use kokuin_certs::dev::name;
use kokuin_certs::path::{Purpose, validate_path};
use kokuin_certs::profile::{CertKind, CertRequest, issue};
use kokuin_hsm::{CompositeId, KeyType, MlDsaLevel, Signer, SoftwareSigner};
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;

const YEAR: Duration = Duration::from_secs(365 * 86_400);

fn root(key: &dyn Signer) -> Certificate {
    let now = SystemTime::now();
    let req = CertRequest {
        subject: name("CN=Test Root,O=Kokuin Test,C=JP").unwrap(),
        public_key: key.public_key().clone(),
        not_before: now - Duration::from_secs(60),
        not_after: now + YEAR,
        kind: CertKind::Ca { path_len: None },
    };
    issue(&req, None, key).unwrap()
}

fn tsu(root: &Certificate, root_key: &dyn Signer) -> Certificate {
    let key = SoftwareSigner::generate(KeyType::P256, "tsu").unwrap();
    let now = SystemTime::now();
    let req = CertRequest {
        subject: name("CN=Test TSU,O=Kokuin Test,C=JP").unwrap(),
        public_key: key.public_key().clone(),
        not_before: now - Duration::from_secs(60),
        not_after: now + YEAR,
        kind: CertKind::TimeStamping {
            key_usage_until: now + YEAR / 2,
        },
    };
    issue(&req, Some(root), root_key).unwrap()
}

#[test]
fn every_signer_kind_issues_certificates_that_validate() {
    let composite = CompositeId::from_name("mldsa65-ecdsa-p256-sha512").unwrap();
    for kind in [
        KeyType::P256,
        KeyType::MlDsa(MlDsaLevel::L65),
        KeyType::Composite(composite),
    ] {
        let key = SoftwareSigner::generate(kind, "root").unwrap();
        let root = root(&key);
        // The certificate says what signed it.
        assert_eq!(
            root.signature_algorithm().oid,
            key.algorithm().algorithm_identifier().unwrap().oid,
            "{kind:?}"
        );
        let leaf = tsu(&root, &key);
        let at = SystemTime::now();
        let chain = validate_path(
            &leaf,
            &[],
            std::slice::from_ref(&root),
            at,
            Purpose::TimeStamping,
        )
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(chain.len(), 2);
        // Round trip through DER: what the builder assembled is one certificate.
        let der = leaf.to_der().unwrap();
        assert_eq!(Certificate::from_der(&der).unwrap(), leaf);
        // A flipped bit in the signature is refused.
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 5] ^= 1;
        let bad = Certificate::from_der(&bad).unwrap();
        assert!(
            validate_path(&bad, &[], &[root], at, Purpose::TimeStamping).is_err(),
            "{kind:?}: a changed signature validated"
        );
    }
}

/// `verify_issued_by` remembers signatures it verified; what it remembers is the exact
/// certificate and key, so a changed certificate, or the same one under another key, is
/// checked afresh and refused.
#[test]
fn remembered_signatures_are_exactly_the_ones_verified() {
    use kokuin_certs::path::verify_issued_by;
    let key = SoftwareSigner::generate(KeyType::P256, "root").unwrap();
    let root = root(&key);
    let leaf = tsu(&root, &key);
    verify_issued_by(&leaf, &root).unwrap();
    verify_issued_by(&leaf, &root).unwrap();
    let mut bad = leaf.to_der().unwrap();
    let n = bad.len();
    bad[n - 5] ^= 1;
    let bad = Certificate::from_der(&bad).unwrap();
    assert!(verify_issued_by(&bad, &root).is_err());
    let other = SoftwareSigner::generate(KeyType::P256, "other").unwrap();
    let other_root = self::root(&other);
    assert!(verify_issued_by(&leaf, &other_root).is_err());
}

/// #31.3: decoys cost bounded work. Many certificates that name the real issuer but were
/// not its key (what an unauthenticated caller of the verification page can send): the
/// search gives up after `MAX_FAILED_CANDIDATES` failed signatures, with a reason that says
/// so, and the real issuer among the decoys is still found when it comes early enough.
#[test]
fn decoy_issuers_are_given_up_on_after_a_few_failed_signatures() {
    use kokuin_certs::path::{MAX_FAILED_CANDIDATES, PathError};
    let key = SoftwareSigner::generate(KeyType::P256, "root").unwrap();
    let real = root(&key);
    let leaf = tsu(&real, &key);
    // Same name and key identifier as the real issuer (patched into the DER: a decoy's own
    // signature is never checked), other keys: each a candidate whose check fails.
    let ski = |c: &Certificate| {
        let (_, s) = c
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .unwrap()
            .unwrap();
        s.0.as_bytes().to_vec()
    };
    let real_ski = ski(&real);
    let decoys: Vec<Certificate> = (0..50)
        .map(|_| {
            let d = root(&SoftwareSigner::generate(KeyType::P256, "decoy").unwrap());
            let (mut der, own) = (d.to_der().unwrap(), ski(&d));
            let at = der.windows(own.len()).position(|w| w == own).unwrap();
            der[at..at + own.len()].copy_from_slice(&real_ski);
            Certificate::from_der(&der).unwrap()
        })
        .collect();
    let at = SystemTime::now();
    let anchors = std::slice::from_ref(&real);
    let mut intermediates = decoys.clone();
    // The anchor is tried first: the decoys cost nothing.
    validate_path(&leaf, &intermediates, anchors, at, Purpose::TimeStamping).unwrap();
    // With the issuer only reachable past the decoys, the search stops.
    let other_anchor = root(&SoftwareSigner::generate(KeyType::P256, "x").unwrap());
    intermediates.push(real.clone());
    // Twice: the second time the same decoys are refused from memory, with the same answer.
    for _ in 0..2 {
        let e = validate_path(
            &leaf,
            &intermediates,
            std::slice::from_ref(&other_anchor),
            at,
            Purpose::TimeStamping,
        )
        .unwrap_err();
        assert!(matches!(e, PathError::TooManyCandidates), "{e}");
        assert!(
            e.to_string().contains(&MAX_FAILED_CANDIDATES.to_string()),
            "{e}"
        );
    }
}
