//! Property: any valid request — any accepted hash, any data, any nonce up to 64 octets or
//! none, certReq or not, the served policy named or not — gets a token that verifies against
//! the data, the request and the anchor, and echoes the request: imprint, hash, nonce and
//! policy, with certificates exactly when certReq asked for them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::Encode;
use kokuin_certs::dev::DevPki;
use kokuin_hsm::{DigestAlgorithm, SoftwareSigner};
use kokuin_tsa::request::build_request;
use kokuin_tsa::token::TokenSigner;
use kokuin_tsa::{Outcome, ParsedResponse, TimeStampAuthority, TimeStampToken, VerifyOptions};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

const POLICY: &str = "1.3.6.1.4.1.32473.4419.2";

fn setup() -> &'static (DevPki, TimeStampAuthority) {
    static S: OnceLock<(DevPki, TimeStampAuthority)> = OnceLock::new();
    S.get_or_init(|| {
        let pki = DevPki::generate(SystemTime::now()).unwrap();
        let pem = pki.tsu_key.to_pkcs8_pem().unwrap();
        let der = der::pem::decode_vec(pem.as_bytes()).unwrap().1;
        let key = SoftwareSigner::from_pkcs8_der(&der, None, "tsu").unwrap();
        let signer = TokenSigner::new(Arc::new(key), pki.tsu.clone(), &[]).unwrap();
        let a = TimeStampAuthority::unchecked(POLICY, signer).unwrap();
        (pki, a)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn valid_requests_get_tokens_that_echo_them(
        hash in prop::sample::select(DigestAlgorithm::ALL.to_vec()),
        data in prop::collection::vec(any::<u8>(), 0..256),
        nonce in prop::option::of(prop::collection::vec(any::<u8>(), 1..=64)),
        cert_req in any::<bool>(),
        name_policy in any::<bool>(),
    ) {
        let (pki, a) = setup();
        let digest = hash.digest(&data);
        let policy = name_policy.then(|| POLICY.parse().unwrap());
        let req = build_request(hash, &digest, policy, nonce.as_deref(), cert_req).unwrap();
        let (resp, outcome) = a.respond(&req.to_der().unwrap());
        prop_assert!(matches!(outcome, Outcome::Granted(_)), "{:?}", outcome);
        let der = ParsedResponse::from_der(&resp).unwrap().into_token().unwrap();
        let t = TimeStampToken::from_der(&der).unwrap();
        let anchors = [pki.root.clone()];
        let extra = [pki.tsu.clone()];
        let v = t.verify(&VerifyOptions {
            trust_anchors: &anchors,
            extra_certificates: if cert_req { &[] } else { &extra },
            expected_digest: Some(&digest),
            request: Some(&req),
        }).unwrap();
        prop_assert_eq!(v.hash, hash);
        prop_assert_eq!(v.policy.to_string(), POLICY);
        prop_assert_eq!(&v.nonce, &req.nonce);
        prop_assert_eq!(t.tst_info.message_imprint.hashed_message.as_bytes(), &digest[..]);
        prop_assert_eq!(!t.certificates().is_empty(), cert_req);
    }
}
