//! The time-stamp authority: request in, TimeStampResp out (RFC 3161 §2.4).
//!
//! Issuing is two steps so that a token's audit record can be made durable while it is
//! signed: [`TimeStampAuthority::prepare`] checks the request, takes genTime from the trusted
//! clock and a serial, and builds the TSTInfo (cheap, no signature);
//! [`TimeStampAuthority::finish`] signs it (CPU- or HSM-bound: the server runs it on the key's
//! session pool or its signing threads, never on the reactor). [`TimeStampAuthority::respond`]
//! does both, for callers without an audit log. Every outcome is a DER TimeStampResp: a token
//! (status granted) or a rejection with its PKIFailureInfo and statusString. It fails closed:
//! no genTime the clock cannot vouch for, no signature outside the key's usage window.

use crate::asn1::PolicyId;
use crate::asn1::{Accuracy, GenTime, TstInfo};
use crate::clock::TrustedClock;
use crate::error::SetupError;
use crate::failure::{FailureInfo, Rejection};
use crate::request::{CheckedRequest, check_request, parse_request};
use crate::serial::SerialGenerator;
use crate::token::TokenSigner;
use der::Encode;
use der::asn1::Int;
use kokuin_certs::path::extension;
use kokuin_cms::der_writer::tlv;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use x509_cert::ext::pkix::PrivateKeyUsagePeriod;
use x509_cert::ext::pkix::name::GeneralName;

/// A policy the TSA serves (EN 319 421 §5.2: an identified TSA policy per token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Its OID (TSTInfo.policy, reqPolicy).
    pub oid: PolicyId,
    /// Its name, for people.
    pub name: String,
}

/// How tokens are made, beyond the key.
#[derive(Clone, Debug)]
pub struct AuthorityConfig {
    /// Served policies; the first is the default for requests without reqPolicy.
    pub policies: Vec<Policy>,
    /// Declared accuracy, written in every token (EN 319 422 §5.2).
    pub accuracy: Accuracy,
    /// Whether to write the `tsa` field (the TSU certificate's subject).
    pub include_tsa_name: bool,
}

/// The signing key in force, with the window in which it may sign.
pub struct ActiveKey {
    signer: TokenSigner,
    not_before: SystemTime,
    not_after: SystemTime,
    tsa_name: GeneralName,
    /// What the audit log calls the key (its keyring entry); empty: the signer's label.
    name: String,
}

impl ActiveKey {
    /// The usage window is the certificate's validity narrowed by its privateKeyUsagePeriod
    /// (EN 319 421: no token after the key's usage period ends).
    pub fn new(signer: TokenSigner) -> Result<Self, SetupError> {
        let cert = signer.certificate().clone();
        let v = cert.tbs_certificate().validity();
        let mut not_before = v.not_before.to_system_time();
        let mut not_after = v.not_after.to_system_time();
        let pkup: Option<PrivateKeyUsagePeriod> = extension(&cert)?;
        if let Some(p) = pkup {
            if let Some(nb) = p.not_before {
                not_before = not_before.max(nb.to_system_time());
            }
            if let Some(na) = p.not_after {
                not_after = not_after.min(na.to_system_time());
            }
        }
        Ok(Self {
            tsa_name: GeneralName::DirectoryName(cert.tbs_certificate().subject().clone()),
            name: String::new(),
            signer,
            not_before,
            not_after,
        })
    }

    /// The key and certificate that sign.
    pub fn token_signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// Names the key as the operator knows it (its keyring entry), for the audit log's
    /// token records.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// What the audit log calls the key: its keyring entry, or the signer's label.
    pub fn name(&self) -> &str {
        if self.name.is_empty() {
            self.signer.signer().label()
        } else {
            &self.name
        }
    }

    /// The TSU certificate.
    pub fn certificate(&self) -> &x509_cert::Certificate {
        self.signer.certificate()
    }

    /// When the key may sign: from, until.
    pub fn usage_window(&self) -> (SystemTime, SystemTime) {
        (self.not_before, self.not_after)
    }
}

/// What happened to one request, for logs, metrics and the audit log.
#[derive(Debug)]
pub enum Outcome {
    /// A token was issued.
    Granted(Box<Issued>),
    /// The request was refused.
    Rejected(Rejection),
}

/// A token that was issued.
#[derive(Debug)]
pub struct Issued {
    /// Its serial number.
    pub serial: Int,
    /// Its genTime.
    pub gen_time: SystemTime,
    /// Its policy.
    pub policy: PolicyId,
    /// The request it answers.
    pub request: CheckedRequest,
    /// The label of the key that signs it.
    pub key_label: String,
}

/// The time-stamp authority: policies, clock, serials and each policy's key in force.
pub struct TimeStampAuthority {
    config: AuthorityConfig,
    policy_oids: Vec<PolicyId>,
    clock: TrustedClock,
    serials: SerialGenerator,
    /// The key in force for each policy, in the order of `config.policies`: a classical, an
    /// ML-DSA and a composite policy are served side by side, each by its own key.
    keys: Vec<RwLock<Option<Arc<ActiveKey>>>>,
}

impl TimeStampAuthority {
    /// An authority whose policies all start with no key in force but `key` for the first
    /// (default) one; [`Self::set_policy_key`] puts the others' keys in force.
    pub fn new(
        config: AuthorityConfig,
        clock: TrustedClock,
        serials: SerialGenerator,
        key: Option<ActiveKey>,
    ) -> Self {
        let mut keys: Vec<_> = config.policies.iter().map(|_| RwLock::new(None)).collect();
        if let Some(first) = keys.first_mut() {
            *first = RwLock::new(key.map(Arc::new));
        }
        Self {
            policy_oids: config.policies.iter().map(|p| p.oid.clone()).collect(),
            config,
            clock,
            serials,
            keys,
        }
    }

    /// An authority on the system clock *without* any synchronisation check, with one policy,
    /// an accuracy of 1 s, the TSA name in tokens and serials for node 1: for tests,
    /// benchmarks and fuzzing, never for a service (which builds its clock from the
    /// configuration and refuses an unsynchronised one).
    pub fn unchecked(policy: &str, signer: crate::token::TokenSigner) -> Result<Self, SetupError> {
        let oid = policy.parse()?;
        Ok(Self::new(
            AuthorityConfig {
                policies: vec![Policy {
                    oid,
                    name: "unchecked".into(),
                }],
                accuracy: Accuracy {
                    seconds: Some(1),
                    millis: None,
                    micros: None,
                },
                include_tsa_name: true,
            },
            TrustedClock::new(
                Box::new(crate::clock::UncheckedSystemClock),
                std::time::Duration::from_secs(1),
                false,
            ),
            SerialGenerator::with_epoch(1, 1),
            Some(ActiveKey::new(signer)?),
        ))
    }

    /// How tokens are made.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// The default policy's key in force.
    pub fn active_key(&self) -> Option<Arc<ActiveKey>> {
        self.policy_key(0)
    }

    /// The key in force for the policy at `index` in [`AuthorityConfig::policies`].
    pub fn policy_key(&self, index: usize) -> Option<Arc<ActiveKey>> {
        self.keys
            .get(index)
            .and_then(|k| k.read().ok().and_then(|k| k.clone()))
    }

    /// Replaces the signing key of the policy at `index`; requests already signing finish
    /// with the old one.
    pub fn set_policy_key(&self, index: usize, key: Option<Arc<ActiveKey>>) {
        if let Some(Ok(mut k)) = self.keys.get(index).map(|k| k.write()) {
            *k = key;
        }
    }

    /// The trusted clock genTime comes from.
    pub fn clock(&self) -> &TrustedClock {
        &self.clock
    }

    /// Handles one DER TimeStampReq; returns the DER TimeStampResp and what happened.
    pub fn respond(&self, request_der: &[u8]) -> (Vec<u8>, Outcome) {
        match self.prepare(request_der).and_then(|p| self.finish(p)) {
            Ok((der, issued)) => (der, Outcome::Granted(Box::new(issued))),
            Err(r) => (r.to_response_der(), Outcome::Rejected(r)),
        }
    }

    /// Everything before the signature: checks, genTime, serial, the TSTInfo. Cheap (no
    /// signature); the returned [`Issued`] is what the audit record needs, so a server can
    /// make that record durable while [`Self::finish`] signs.
    pub fn prepare(&self, request_der: &[u8]) -> Result<Prepared, Rejection> {
        let req = parse_request(request_der)?;
        let checked = check_request(&req, &self.policy_oids)?;
        self.prepare_checked(checked)
    }

    /// [`Self::prepare`] for the service's own time-stamps (a seal's signature and archive
    /// time-stamps): an imprint under the default policy, no nonce, the TSU certificate
    /// included. The request a client would send is checked as §2.4.1 checks it, without
    /// being encoded and parsed back.
    pub fn prepare_imprint(
        &self,
        digest: kokuin_hsm::DigestAlgorithm,
        hashed_message: &[u8],
    ) -> Result<Prepared, Rejection> {
        let req = crate::request::build_request(digest, hashed_message, None, None, true)
            .map_err(internal)?;
        let checked = check_request(&req, &self.policy_oids)?;
        self.prepare_checked(checked)
    }

    fn prepare_checked(&self, checked: CheckedRequest) -> Result<Prepared, Rejection> {
        let key = self.policy_key(checked.policy_index).ok_or_else(|| {
            Rejection::new(
                FailureInfo::SystemFailure,
                format!("no signing key is active for policy {}", checked.policy),
            )
        })?;
        let now = self
            .clock
            .now()
            .map_err(|e| Rejection::new(FailureInfo::TimeNotAvailable, e.to_string()))?;
        if now < key.not_before || now > key.not_after {
            return Err(Rejection::new(
                FailureInfo::SystemFailure,
                "the signing key is outside its usage period",
            ));
        }
        let gen_time = GenTime::from_system_time_millis(now)
            .map_err(|e| Rejection::new(FailureInfo::TimeNotAvailable, e.to_string()))?;
        let serial = self.serials.next().map_err(internal)?;
        let tst = TstInfo {
            version: Int::new(&[1]).map_err(internal)?,
            policy: checked.policy.clone(),
            message_imprint: checked.message_imprint.clone(),
            serial_number: serial.clone(),
            gen_time,
            accuracy: Some(self.config.accuracy),
            ordering: None,
            nonce: checked.nonce.clone(),
            tsa: self.config.include_tsa_name.then(|| key.tsa_name.clone()),
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(internal)?;
        Ok(Prepared {
            tst_der,
            issued: Issued {
                serial,
                gen_time: now,
                policy: checked.policy.clone(),
                key_label: key.name().to_string(),
                request: checked,
            },
            key,
        })
    }

    /// Signs a prepared token: the DER TimeStampResp (status granted) and what was issued.
    pub fn finish(&self, p: Prepared) -> Result<(Vec<u8>, Issued), Rejection> {
        let token = p
            .key
            .signer
            .sign(&p.tst_der, p.issued.request.cert_req)
            .map_err(|e| Rejection::new(FailureInfo::SystemFailure, e.to_string()))?;
        // TimeStampResp { status { granted(0) }, timeStampToken }
        let response = tlv(0x30, &[&[0x30, 0x03, 0x02, 0x01, 0x00], &token]);
        Ok((response, p.issued))
    }
}

/// A token ready to be signed (see [`TimeStampAuthority::prepare`]).
pub struct Prepared {
    key: Arc<ActiveKey>,
    tst_der: Vec<u8>,
    /// What will be issued: the audit record's content.
    pub issued: Issued,
}

impl Prepared {
    /// Whether [`TimeStampAuthority::finish`] is cheap enough to run on an async reactor
    /// (see [`kokuin_hsm::Signer::signs_quickly`]).
    pub fn signs_quickly(&self) -> bool {
        self.key.signer.signer().signs_quickly()
    }

    /// Whether the signature is computed by this process's CPU (not by a token).
    pub fn signs_in_software(&self) -> bool {
        self.key.signer.signer().backend() == kokuin_hsm::KeyBackend::Software
    }
}

fn internal(e: der::Error) -> Rejection {
    Rejection::new(FailureInfo::SystemFailure, format!("encoding: {e}"))
}
