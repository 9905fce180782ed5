//! One verdict for any piece of evidence, a time-stamp token or an e-seal, as the JSON that
//! `kokuin verify --json` prints and `POST /verify/v1` answers: the command line and the
//! verification page say the same thing because they call this, not two copies of it. The
//! verdict is a type ([`Verdict`]), so that its fields are the same wherever it is made.

use crate::verify::{SealReport, StampInfo, is_seal, verify_seal};
use crate::{SealVerifyOptions, verify::SealVerifyError};
use kokuin_certs::path::{display_time, subject_of};
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifiedToken, VerifyOptions};
use serde::Serialize;
use std::time::SystemTime;
use x509_cert::Certificate;

/// The document a token or detached seal is checked against, already hashed: by whoever
/// holds it, so that the document itself need not travel (the page hashes it in the browser).
#[derive(Clone, Copy, Debug, Default)]
pub struct DocumentDigests<'a> {
    /// Digests of the document, each with its algorithm; the one the evidence uses is taken.
    pub digests: &'a [(DigestAlgorithm, &'a [u8])],
}

impl DocumentDigests<'_> {
    fn get(&self, alg: DigestAlgorithm) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| *d)
    }

    fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

/// Why no verdict of valid or invalid can be given: the input is not evidence at all, or it
/// lacks what the check needs. A verifier says so (`kokuin verify` exits 2), never "valid".
#[derive(Debug, thiserror::Error)]
pub enum BadInput {
    /// Neither a time-stamp token (or response) nor a CMS e-seal.
    #[error("neither a time-stamp token nor an e-seal: {0}")]
    NotEvidence(String),
    /// A token, or a detached seal, without the document's digest in its algorithm.
    #[error("the document's {0} digest is needed")]
    DigestNeeded(DigestAlgorithm),
    /// A digest of the wrong length for its algorithm.
    #[error("the {0} digest has {1} octets, not {2}")]
    DigestLength(DigestAlgorithm, usize, usize),
    /// Something the check needs that the verifier does not have: the signer's certificate,
    /// or a trust anchor its chain leads to (the evidence is not proven wrong).
    #[error("cannot be verified: {0}")]
    Missing(String),
}

/// What kind of evidence a verdict is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EvidenceKind {
    /// An RFC 3161 time-stamp token.
    #[serde(rename = "time-stamp token")]
    Token,
    /// A CMS / CAdES e-seal.
    #[serde(rename = "e-seal")]
    Seal,
}

/// The verdict (`kokuin verify --json`, `POST /verify/v1`, the verification page): `valid`,
/// then what was checked (valid) or why not (`error`; `bad_input` when it could not be judged
/// at all, as opposed to proven wrong).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    /// Whether the evidence verified.
    pub valid: bool,
    /// What it is, when that is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<EvidenceKind>,
    /// Why it is not valid, or why it could not be judged: the technical detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same in plain Japanese, for the person who holds the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_ja: Option<String>,
    /// The same in plain English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_en: Option<String>,
    /// `true` when the input could not be judged (exit 2, "cannot be verified"); `false`
    /// where a command says explicitly that it was judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_input: Option<bool>,
    /// The signer: its algorithm and chain (valid verdicts).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerDetails>,
    /// A valid token's fields.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenDetails>,
    /// A valid seal's fields.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealDetails>,
}

/// Who signed, with what, on which chain.
#[derive(Clone, Debug, Serialize)]
pub struct SignerDetails {
    /// The signature algorithm's OID.
    pub signature_algorithm: String,
    /// Its name.
    pub signature_algorithm_name: String,
    /// Whether it is a post-quantum algorithm.
    pub quantum_safe: bool,
    /// The chain's subjects, from the signer up.
    pub chain: Vec<String>,
    /// The signer certificate's validity.
    pub certificate_validity: Option<Validity>,
}

/// A certificate's validity period, as displayed times.
#[derive(Clone, Debug, Serialize)]
pub struct Validity {
    /// notBefore.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
}

/// A token's accuracy (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AccuracyDetails {
    /// Seconds.
    pub seconds: Option<u32>,
    /// Milliseconds.
    pub millis: Option<u16>,
    /// Microseconds.
    pub micros: Option<u16>,
}

/// A verified token's fields (RFC 3161 §2.4.2 TSTInfo).
#[derive(Clone, Debug, Serialize)]
pub struct TokenDetails {
    /// genTime, RFC 3339.
    pub gen_time: String,
    /// serialNumber, hex.
    pub serial: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The imprint's hash algorithm.
    pub hash: String,
    /// The nonce, hex, if the request had one.
    pub nonce: Option<String>,
    /// The declared accuracy, if any.
    pub accuracy: Option<AccuracyDetails>,
}

/// A time-stamp inside a seal.
#[derive(Clone, Debug, Serialize)]
pub struct StampDetails {
    /// Its genTime, displayed.
    pub gen_time: String,
    /// Its TSA.
    pub tsa: String,
    /// Its serial, hex.
    pub serial: String,
}

/// A verified seal's fields.
#[derive(Clone, Debug, Serialize)]
pub struct SealDetails {
    /// The CAdES baseline level reached.
    pub level: String,
    /// What it does not prove (e.g. no archive time-stamp).
    pub limits: Vec<String>,
    /// The Japanese e-seal assurance level of its certificate policy, if one.
    pub assurance_level: Option<u8>,
    /// The sealing organisation.
    pub organization: Option<String>,
    /// Its organizationIdentifier.
    pub organization_identifier: Option<String>,
    /// The corporate number within it, if one.
    pub corporate_number: Option<String>,
    /// The seal certificate's common name.
    pub seal_name: Option<String>,
    /// Whether the seal carries the document.
    pub enveloping: bool,
    /// The claimed signing time, displayed.
    pub signing_time: Option<String>,
    /// Signature time-stamps.
    pub signature_timestamps: Vec<StampDetails>,
    /// Archive time-stamps.
    pub archive_timestamps: Vec<StampDetails>,
    /// When the signer's chain was checked.
    pub signer_checked_at: String,
    /// The digest algorithm.
    pub digest_algorithm: String,
}

impl Verdict {
    /// Evidence that did not verify: why in plain words (Japanese, English), and the detail.
    pub fn invalid(kind: EvidenceKind, plain: (&str, &str), detail: &str) -> Self {
        Self {
            kind: Some(kind),
            error: Some(format!("INVALID: {detail}")),
            ..Self::default()
        }
        .in_words(plain)
    }

    /// Input that cannot be judged, and why.
    pub fn bad_input(reason: impl Into<String>) -> Self {
        Self {
            error: Some(reason.into()),
            bad_input: Some(true),
            ..Self::default()
        }
    }

    /// The same verdict with its reason in plain words (Japanese, English).
    pub fn in_words(mut self, (ja, en): (&str, &str)) -> Self {
        self.reason_ja = Some(ja.to_string());
        self.reason_en = Some(en.to_string());
        self
    }

    /// No verdict for now (the verifier is busy), and why: not a judgement of the input.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            error: Some(reason.into()),
            ..Self::default()
        }
    }

    /// The verdict as one line of JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers, booleans and lists of them only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"valid\":false}"))
    }
}

impl BadInput {
    /// The reason in plain words (Japanese, English), with what to supply.
    pub fn plain(&self) -> (&'static str, &'static str) {
        match self {
            Self::NotEvidence(_) => (
                "このファイルは e シールでもタイムスタンプでもありません。",
                "This file is neither an e-seal nor a time-stamp token.",
            ),
            Self::DigestNeeded(_) => (
                "確認には書類が必要です。書類も選んでください。",
                "The document is needed to check this: choose the document too.",
            ),
            Self::DigestLength(..) => (
                "書類のハッシュ値の長さが正しくありません。",
                "The document's digest has the wrong length.",
            ),
            Self::Missing(_) => (
                "確認に必要な証明書（署名者の証明書、または信頼するルート証明書）がありません。",
                "A certificate needed to check this is missing: the signer's, or a trusted root for it.",
            ),
        }
    }
}

/// Reads a TimeStampResp (.tsr) or a bare token (ContentInfo).
pub fn read_token(der: &[u8]) -> Result<TimeStampToken, kokuin_tsa::TokenError> {
    match ParsedResponse::from_der(der) {
        Ok(r) => TimeStampToken::from_der(&r.into_token()?),
        Err(_) => TimeStampToken::from_der(der),
    }
}

/// What to verify evidence against.
#[derive(Clone, Copy, Debug)]
pub struct EvidenceOptions<'a> {
    /// Trust anchors.
    pub trust_anchors: &'a [Certificate],
    /// Certificates to build chains with besides those the evidence carries.
    pub extra_certificates: &'a [Certificate],
    /// The document, hashed.
    pub document: DocumentDigests<'a>,
    /// Seals: "now", when the last proof must still hold.
    pub at: SystemTime,
    /// Seals: the rules they are held to (a PDF's signatures: PAdES, or the older kind).
    pub form: crate::SealForm,
}

/// Verifies a token or a seal and gives its verdict: `Ok` with `"valid": true` or `false`
/// (and the reason), or `Err` when the input cannot be judged.
pub fn verify_evidence(der: &[u8], opts: &EvidenceOptions<'_>) -> Result<Verdict, BadInput> {
    if is_seal(der) {
        return verify_seal_evidence(der, opts);
    }
    let token = read_token(der).map_err(|e| BadInput::NotEvidence(e.to_string()))?;
    let hash = match token.hash_algorithm() {
        Ok(h) => h,
        Err(e) => {
            return Ok(Verdict::invalid(
                EvidenceKind::Token,
                e.plain(),
                &e.to_string(),
            ));
        }
    };
    let digest = opts
        .document
        .get(hash)
        .ok_or(BadInput::DigestNeeded(hash))?;
    check_length(hash, digest)?;
    Ok(
        match token.verify(&VerifyOptions {
            trust_anchors: opts.trust_anchors,
            extra_certificates: opts.extra_certificates,
            expected_digest: Some(digest),
            request: None,
        }) {
            Ok(v) => token_verdict(&v),
            Err(e) if e.cannot_judge() => return Err(BadInput::Missing(e.to_string())),
            Err(e) => Verdict::invalid(EvidenceKind::Token, e.plain(), &e.to_string()),
        },
    )
}

fn verify_seal_evidence(der: &[u8], opts: &EvidenceOptions<'_>) -> Result<Verdict, BadInput> {
    let alg = match ParsedSignedData::from_der(der).and_then(|p| p.digest_algorithm()) {
        Ok(a) => a,
        Err(e) => {
            let e = SealVerifyError::SignedData(e);
            return Ok(Verdict::invalid(
                EvidenceKind::Seal,
                e.plain(),
                &e.to_string(),
            ));
        }
    };
    let digest = opts.document.get(alg);
    if let Some(d) = digest {
        check_length(alg, d)?;
    }
    let result = verify_seal(
        der,
        &SealVerifyOptions {
            trust_anchors: opts.trust_anchors,
            extra_certificates: opts.extra_certificates,
            detached: digest.map(|d| Detached::Digest(alg, d)),
            at: opts.at,
            level_policies: &[],
            form: opts.form,
        },
    );
    match result {
        Ok(r) => Ok(seal_verdict(&r)),
        // A detached seal judged without its document would be a guess.
        Err(SealVerifyError::DataDigest(a)) if opts.document.is_empty() => {
            Err(BadInput::DigestNeeded(a))
        }
        Err(e) if e.cannot_judge() => Err(BadInput::Missing(e.to_string())),
        Err(e) => Ok(Verdict::invalid(
            EvidenceKind::Seal,
            e.plain(),
            &e.to_string(),
        )),
    }
}

fn check_length(alg: DigestAlgorithm, d: &[u8]) -> Result<(), BadInput> {
    if d.len() == alg.output_len() {
        Ok(())
    } else {
        Err(BadInput::DigestLength(alg, d.len(), alg.output_len()))
    }
}

/// The signature algorithm's name and whether it is quantum-safe.
pub fn algorithm_name(oid: &const_oid::ObjectIdentifier) -> (String, bool) {
    kokuin_hsm::algorithm::describe(oid).unwrap_or_else(|| (oid.to_string(), false))
}

fn validity(c: &Certificate) -> Validity {
    let v = &c.tbs_certificate().validity();
    Validity {
        not_before: display_time(v.not_before.to_system_time()),
        not_after: display_time(v.not_after.to_system_time()),
    }
}

fn signer(alg: &const_oid::ObjectIdentifier, chain: &[Certificate]) -> SignerDetails {
    let (name, pq) = algorithm_name(alg);
    SignerDetails {
        signature_algorithm: alg.to_string(),
        signature_algorithm_name: name,
        quantum_safe: pq,
        chain: chain.iter().map(subject_of).collect(),
        certificate_validity: chain.first().map(validity),
    }
}

/// A verified token's verdict.
pub fn token_verdict(v: &VerifiedToken) -> Verdict {
    Verdict {
        valid: true,
        kind: Some(EvidenceKind::Token),
        signer: Some(signer(&v.signature_algorithm, &v.chain)),
        token: Some(TokenDetails {
            gen_time: v.gen_time.to_rfc3339(),
            serial: hex::encode(v.serial.as_bytes()),
            policy: v.policy.to_string(),
            hash: v.hash.name().to_string(),
            nonce: v.nonce.as_ref().map(|n| hex::encode(n.as_bytes())),
            accuracy: v.accuracy.map(|a| AccuracyDetails {
                seconds: a.seconds,
                millis: a.millis,
                micros: a.micros,
            }),
        }),
        ..Verdict::default()
    }
}

/// A verified seal's verdict.
pub fn seal_verdict(r: &SealReport) -> Verdict {
    let stamps = |v: &[StampInfo]| {
        v.iter()
            .map(|s| StampDetails {
                gen_time: display_time(s.gen_time),
                tsa: s.tsa.clone(),
                serial: s.serial.clone(),
            })
            .collect()
    };
    let subject = r.subject.as_ref().ok();
    Verdict {
        valid: true,
        kind: Some(EvidenceKind::Seal),
        signer: Some(signer(&r.signature_algorithm, &r.chain)),
        seal: Some(SealDetails {
            level: r.level.name().to_string(),
            limits: r.limits.clone(),
            assurance_level: r.assurance.map(|l| l.number()),
            organization: subject.map(|s| s.organization.clone()),
            organization_identifier: subject.map(|s| s.organization_identifier.clone()),
            corporate_number: subject.and_then(|s| s.corporate_number().map(str::to_string)),
            seal_name: subject.map(|s| s.common_name.clone()),
            enveloping: r.enveloping,
            signing_time: r.signing_time.map(display_time),
            signature_timestamps: stamps(&r.signature_timestamps),
            archive_timestamps: stamps(&r.archive_timestamps),
            signer_checked_at: display_time(r.signer_checked_at),
            digest_algorithm: r.digest_algorithm.name().to_string(),
        }),
        ..Verdict::default()
    }
}
