//! TimeStampReq parsing and the RFC 3161 §2.4.1 checks, then the authority's whole answer:
//! whatever the input, a DER TimeStampResp that parses back, granted or refused. The signer
//! returns a constant: signatures are not what is fuzzed here, and a real one would cut the
//! executions per second by five.
#![no_main]

use kokuin_certs::dev::DevPki;
use kokuin_hsm::{KeyBackend, SignError, SignatureAlgorithm, Signer, SoftwareSigner};
use kokuin_tsa::request::{check_request, parse_request};
use kokuin_tsa::token::TokenSigner;
use kokuin_tsa::{ParsedResponse, TimeStampAuthority};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

struct ConstantSignature(SoftwareSigner);

impl Signer for ConstantSignature {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }
    fn public_key(&self) -> &spki::SubjectPublicKeyInfoOwned {
        self.0.public_key()
    }
    fn backend(&self) -> KeyBackend {
        KeyBackend::Software
    }
    fn label(&self) -> &str {
        "fuzz"
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(vec![0x30, 0x00])
    }
}

fn authority() -> &'static TimeStampAuthority {
    static A: OnceLock<TimeStampAuthority> = OnceLock::new();
    A.get_or_init(|| {
        let pki = DevPki::generate(SystemTime::now()).expect("dev PKI");
        let signer = TokenSigner::new(Arc::new(ConstantSignature(pki.tsu_key)), pki.tsu, &[])
            .expect("token signer");
        TimeStampAuthority::unchecked("1.3.6.1.4.1.32473.4419.9", signer).expect("authority")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = parse_request(data) {
        let _ = check_request(&req, &[]);
    }
    let (resp, _) = authority().respond(data);
    assert!(
        ParsedResponse::from_der(&resp).is_ok(),
        "a reply that does not parse"
    );
});
