//! Verifying a time-stamp token offline: the CMS signature, the ESS binding to the signer's
//! certificate, the certificate path at genTime, and the token against the data and the
//! original request (RFC 3161 §2.4.2, RFC 5816 §2.2.1, RFC 5652 §5.6).

use crate::asn1::{
    Accuracy, GenTime, PkiStatusInfo, PolicyId, TimeStampReq, TimeStampResp, TstInfo,
};
use crate::failure::{FailureInfo, status};
use crate::oid;
use cms::signed_data::{SignedData, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use kokuin_certs::path::{self, PathError, Purpose, extension, subject_of};
use kokuin_cms::ess::SigningCertificateV2;
use kokuin_cms::signed_data::{
    ParsedSignedData, SignedDataError, certificates_of, check_ess, econtent_unchecked, identifies,
    single_attribute,
};
use kokuin_hsm::{DigestAlgorithm, VerifyError};
use spki::AlgorithmIdentifierRef;
use x509_cert::Certificate;
use x509_cert::ext::pkix::PrivateKeyUsagePeriod;

/// Why a token does not verify, or a reply holds none.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not DER of a TimeStampResp or ContentInfo.
    #[error("not a DER time-stamp token: {0}")]
    Malformed(String),
    /// A ContentInfo that is not SignedData over id-ct-TSTInfo.
    #[error("not a time-stamp token: {0}")]
    NotATimeStampToken(String),
    /// Not exactly one SignerInfo.
    #[error("the token has {0} SignerInfos; a time-stamp token has exactly one")]
    SignerCount(usize),
    /// A signed attribute missing or repeated.
    #[error("the signed attribute {0} is missing or repeated")]
    Attribute(&'static str),
    /// The content-type attribute is not id-ct-TSTInfo.
    #[error("the content-type attribute is not id-ct-TSTInfo")]
    ContentTypeAttribute,
    /// The message-digest attribute is not the TSTInfo's digest.
    #[error("the message-digest attribute does not match the TSTInfo")]
    MessageDigest,
    /// No certificate of the signer found.
    #[error("the signer's certificate is neither in the token nor among the given certificates")]
    SignerCertificateMissing,
    /// signing-certificate-v2 names another certificate (RFC 5816 §2.2.1).
    #[error("signing-certificate-v2 does not identify the signer's certificate: {0}")]
    SigningCertificate(String),
    /// The signature does not verify with the TSU's key.
    #[error("the token's signature does not verify: {0}")]
    Signature(VerifyError),
    /// The TSU's certificate path does not validate at genTime.
    #[error("the TSA certificate is not trusted at genTime: {0}")]
    Path(PathError),
    /// genTime is outside the key's privateKeyUsagePeriod.
    #[error("genTime {gen_time} is outside the TSA key's private key usage period ({period})")]
    KeyUsagePeriod {
        /// The token's genTime.
        gen_time: String,
        /// The key's usage period.
        period: String,
    },
    /// A hash algorithm Kokuin does not accept in an imprint.
    #[error("the token's hash algorithm {0} is not accepted")]
    HashAlgorithm(String),
    /// The imprint is not the data's digest.
    #[error("the message imprint does not match the data: the token is for other data")]
    ImprintMismatch,
    /// The imprint is not the request's.
    #[error("the token's message imprint differs from the request's")]
    RequestImprint,
    /// The nonce is not the request's.
    #[error("nonce mismatch: the request had {request}, the token has {token}")]
    Nonce {
        /// The request's nonce.
        request: String,
        /// The token's nonce.
        token: String,
    },
    /// The policy is not the one requested.
    #[error("policy mismatch: the request asked for {request}, the token has {token}")]
    Policy {
        /// The requested policy.
        request: String,
        /// The token's policy.
        token: String,
    },
    /// The token carries certificates, or lacks them, against the request's certReq.
    #[error("certificates field {0}")]
    CertReq(&'static str),
    /// The reply is a refusal.
    #[error("the TSA refused the request: {0}")]
    Refused(String),
}

impl TokenError {
    /// The reason in plain words, for the person who holds the token (Japanese, English):
    /// what it means for them, not which field failed ([`std::fmt::Display`] has that).
    pub fn plain(&self) -> (&'static str, &'static str) {
        match self {
            Self::Malformed(_) | Self::NotATimeStampToken(_) => (
                "このファイルはタイムスタンプではありません。",
                "This file is not a time-stamp token.",
            ),
            Self::SignerCertificateMissing => (
                "タイムスタンプ局の証明書がないため確認できません。証明書を添えてください。",
                "The time-stamp authority's certificate is missing, so the token cannot be checked. Supply it.",
            ),
            Self::Path(PathError::NoIssuer { .. }) => (
                "このタイムスタンプ局を信頼する根拠（ルート証明書）が与えられていないため確認できません。",
                "No trusted root certificate was given for this time-stamp authority, so the token cannot be checked.",
            ),
            Self::Path(PathError::Expired { .. } | PathError::NotYetValid { .. })
            | Self::KeyUsagePeriod { .. } => (
                "タイムスタンプ局の証明書は、この時刻には有効ではありませんでした。",
                "The time-stamp authority's certificate was not valid at the time the token states.",
            ),
            Self::Path(_) | Self::SigningCertificate(_) => (
                "タイムスタンプ局の証明書が信頼できません。",
                "The time-stamp authority's certificate cannot be trusted.",
            ),
            Self::ImprintMismatch => (
                "このタイムスタンプは別の書類に対するものです。書類が変更されたか、取り違えています。",
                "This time-stamp is for another document: the document was changed, or it is the wrong one.",
            ),
            Self::RequestImprint | Self::Nonce { .. } | Self::Policy { .. } | Self::CertReq(_) => (
                "このタイムスタンプは、添えられた要求に対する応答ではありません。",
                "This time-stamp does not answer the request given with it.",
            ),
            Self::Refused(_) => (
                "タイムスタンプ局は発行を拒否しました。",
                "The time-stamp authority refused to issue this token.",
            ),
            Self::HashAlgorithm(_) => (
                "このタイムスタンプの方式（ハッシュ）は受け入れられません。",
                "This time-stamp uses a hash algorithm that is not accepted.",
            ),
            Self::SignerCount(_)
            | Self::Attribute(_)
            | Self::ContentTypeAttribute
            | Self::MessageDigest
            | Self::Signature(_) => (
                "タイムスタンプの署名が正しくありません。作成後に変更されています。",
                "The time-stamp's signature is not valid: it was changed after it was made.",
            ),
        }
    }

    /// Whether the token could not be judged for want of something the verifier was not given
    /// (the TSA's certificate, an anchor or intermediate its chain leads to), as opposed to
    /// being proven wrong: "cannot be verified", not "not valid".
    pub fn cannot_judge(&self) -> bool {
        matches!(
            self,
            Self::SignerCertificateMissing | Self::Path(PathError::NoIssuer { .. })
        )
    }
}

/// A response as received: its status, and the token if one was granted.
#[derive(Debug)]
pub struct ParsedResponse {
    /// The PKIStatusInfo.
    pub status: PkiStatusInfo,
    /// The token (DER ContentInfo), when there is one.
    pub token: Option<Vec<u8>>,
}

impl ParsedResponse {
    /// Parses a DER TimeStampResp.
    pub fn from_der(der: &[u8]) -> Result<Self, TokenError> {
        let r = TimeStampResp::from_der(der).map_err(|e| TokenError::Malformed(e.to_string()))?;
        let token = match r.time_stamp_token {
            Some(t) => Some(
                t.to_der()
                    .map_err(|e| TokenError::Malformed(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            status: r.status,
            token,
        })
    }

    /// "granted", or "rejection (badAlg): text".
    pub fn describe_status(&self) -> String {
        let s = status::name(self.status.status.as_bytes());
        let fails: Vec<&str> = self
            .status
            .fail_info
            .as_ref()
            .map(FailureInfo::from_bit_string)
            .unwrap_or_default()
            .iter()
            .map(|f| f.name())
            .collect();
        let text = self
            .status
            .status_string
            .as_ref()
            .map(|v| v.join("; "))
            .unwrap_or_default();
        let mut out = s.to_string();
        if !fails.is_empty() {
            out.push_str(&format!(" ({})", fails.join(", ")));
        }
        if !text.is_empty() {
            out.push_str(&format!(": {text}"));
        }
        out
    }

    /// Whether the status is granted (or grantedWithMods).
    pub fn granted(&self) -> bool {
        matches!(self.status.status.as_bytes(), [0] | [1])
    }

    /// The token, or why there is none.
    pub fn into_token(self) -> Result<Vec<u8>, TokenError> {
        if !self.granted() {
            return Err(TokenError::Refused(self.describe_status()));
        }
        self.token
            .ok_or_else(|| TokenError::Refused("granted but no token".into()))
    }
}

/// A parsed, not yet verified, time-stamp token.
#[derive(Clone, Debug)]
pub struct TimeStampToken {
    /// The SignedData, decoded.
    pub signed_data: SignedData,
    /// The TSTInfo, decoded.
    pub tst_info: TstInfo,
    tst_info_der: Vec<u8>,
    signer_info: SignerInfo,
    /// The signed attributes exactly as received, re-tagged as SET OF for verification.
    signed_attrs_der: Vec<u8>,
}

/// What the verifier established.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// genTime.
    pub gen_time: GenTime,
    /// serialNumber.
    pub serial: Int,
    /// The TSA policy.
    pub policy: PolicyId,
    /// The imprint's hash algorithm.
    pub hash: DigestAlgorithm,
    /// The declared accuracy.
    pub accuracy: Option<Accuracy>,
    /// The nonce.
    pub nonce: Option<Int>,
    /// The signature algorithm's OID.
    pub signature_algorithm: ObjectIdentifier,
    /// Signer first, trust anchor last.
    pub chain: Vec<Certificate>,
}

/// What to check a token against. Unset fields are not checked.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// The certificates trusted as anchors.
    pub trust_anchors: &'a [Certificate],
    /// Certificates to search besides the token's own (the TSA chain when certReq was false).
    pub extra_certificates: &'a [Certificate],
    /// The digest of the data, computed with [`TimeStampToken::hash_algorithm`].
    pub expected_digest: Option<&'a [u8]>,
    /// The request the token answers: its nonce, policy, imprint and certReq are checked.
    pub request: Option<&'a TimeStampReq>,
}

/// The TSTInfo of a TimeStampToken, read without decoding or checking the rest of the token
/// (see [`econtent_unchecked`]). A load tool compares it with its request; nothing may trust a
/// token on the strength of it.
pub fn tst_info_unchecked(token: &[u8]) -> Result<TstInfo, TokenError> {
    let der = econtent_unchecked(token, &oid::CT_TST_INFO).ok_or_else(|| {
        TokenError::NotATimeStampToken("no id-ct-TSTInfo eContent in a signedData".into())
    })?;
    TstInfo::from_der(der).map_err(|e| TokenError::Malformed(e.to_string()))
}

impl TimeStampToken {
    /// Parses a TimeStampToken (a ContentInfo) or a whole TimeStampResp.
    pub fn from_der(der: &[u8]) -> Result<Self, TokenError> {
        let malformed = |e: der::Error| TokenError::Malformed(e.to_string());
        let p = ParsedSignedData::from_der(der).map_err(|e| match e {
            SignedDataError::NotSignedData(ct) => {
                TokenError::NotATimeStampToken(format!("content type {ct} is not signedData"))
            }
            SignedDataError::SignerCount(n) => TokenError::SignerCount(n),
            SignedDataError::Attribute(a) => TokenError::Attribute(a),
            other => TokenError::Malformed(other.to_string()),
        })?;
        let econtent_type = p.signed_data.encap_content_info.econtent_type;
        if econtent_type != oid::CT_TST_INFO {
            return Err(TokenError::NotATimeStampToken(format!(
                "eContentType {econtent_type} is not id-ct-TSTInfo"
            )));
        }
        let tst_info_der = p
            .econtent
            .ok_or_else(|| TokenError::NotATimeStampToken("no encapsulated TSTInfo".into()))?;
        let tst_info = TstInfo::from_der(&tst_info_der).map_err(malformed)?;
        Ok(Self {
            signed_data: p.signed_data,
            tst_info,
            tst_info_der,
            signer_info: p.signer_info,
            signed_attrs_der: p.signed_attrs_der,
        })
    }

    /// The hash algorithm of the message imprint, to hash the data with.
    pub fn hash_algorithm(&self) -> Result<DigestAlgorithm, TokenError> {
        let ai = AlgorithmIdentifierRef::from(&self.tst_info.message_imprint.hash_algorithm);
        DigestAlgorithm::from_algorithm_identifier(&ai).ok_or_else(|| {
            TokenError::HashAlgorithm(kokuin_hsm::digest::describe_digest_oid(&ai.oid))
        })
    }

    /// The bytes the signature covers: the signed attributes as a DER SET OF (RFC 5652 §5.4),
    /// for an independent verifier to check the signature itself.
    pub fn signed_attributes_der(&self) -> &[u8] {
        &self.signed_attrs_der
    }

    /// The SignerInfo's signature value.
    pub fn signature_value(&self) -> &[u8] {
        self.signer_info.signature.as_bytes()
    }

    /// Certificates carried in the token.
    pub fn certificates(&self) -> Vec<Certificate> {
        certificates_of(&self.signed_data)
    }

    /// Verifies the token (RFC 3161 §2.4.2, RFC 5816): CMS structure, signed attributes,
    /// signing-certificate-v2, signature, the TSU's path and purpose at genTime, its key usage
    /// period, and what `opts` asks (data, request).
    pub fn verify(&self, opts: &VerifyOptions<'_>) -> Result<VerifiedToken, TokenError> {
        let si = &self.signer_info;
        let digest_alg = DigestAlgorithm::from_algorithm_identifier(&(&si.digest_alg).into())
            .ok_or_else(|| TokenError::HashAlgorithm(si.digest_alg.oid.to_string()))?;
        let attrs = si
            .signed_attrs
            .as_ref()
            .ok_or(TokenError::Attribute("signedAttrs"))?;
        let single = |oid: ObjectIdentifier, name: &'static str| {
            single_attribute(si, oid, name).map_err(|_| TokenError::Attribute(name))
        };
        // RFC 5652 §11.1: content-type equals eContentType.
        let ct: ObjectIdentifier = single(oid::CONTENT_TYPE, "content-type")?
            .decode_as()
            .map_err(|_| TokenError::ContentTypeAttribute)?;
        if ct != oid::CT_TST_INFO {
            return Err(TokenError::ContentTypeAttribute);
        }
        // RFC 5652 §11.2: message-digest is the digest of the eContent.
        let md: OctetString = single(oid::MESSAGE_DIGEST, "message-digest")?
            .decode_as()
            .map_err(|_| TokenError::MessageDigest)?;
        if md.as_bytes() != digest_alg.digest(&self.tst_info_der) {
            return Err(TokenError::MessageDigest);
        }
        let mut pool = self.certificates();
        pool.extend(opts.extra_certificates.iter().cloned());
        let signer = pool
            .iter()
            .find(|c| identifies(&si.sid, c))
            .cloned()
            .ok_or(TokenError::SignerCertificateMissing)?;
        // RFC 5816 §2.2.1 / RFC 5035: the signed attributes bind the signer's certificate.
        let scv2: SigningCertificateV2 =
            single(oid::SIGNING_CERTIFICATE_V2, "signing-certificate-v2")
                .map_err(|_| {
                    if attrs.iter().any(|a| a.oid == oid::SIGNING_CERTIFICATE) {
                        TokenError::SigningCertificate(
                            "only signing-certificate (ESSCertID with SHA-1) is present; \
                         RFC 5816 requires signing-certificate-v2"
                                .into(),
                        )
                    } else {
                        TokenError::Attribute("signing-certificate-v2")
                    }
                })?
                .decode_as::<SigningCertificateV2>()
                .map_err(|e| TokenError::SigningCertificate(e.to_string()))?;
        check_ess(&scv2, &signer).map_err(TokenError::SigningCertificate)?;
        kokuin_hsm::verify_signature(
            signer.tbs_certificate().subject_public_key_info(),
            &si.signature_algorithm,
            Some(digest_alg),
            &self.signed_attrs_der,
            si.signature.as_bytes(),
        )
        .map_err(TokenError::Signature)?;
        let gen_time = self.tst_info.gen_time;
        let at = gen_time.to_system_time();
        let chain = path::validate_path(
            &signer,
            &pool,
            opts.trust_anchors,
            at,
            Purpose::TimeStamping,
        )
        .map_err(TokenError::Path)?;
        let pkup: Option<PrivateKeyUsagePeriod> = extension(&signer).map_err(TokenError::Path)?;
        if let Some(p) = pkup {
            let before = p.not_before.is_some_and(|nb| at < nb.to_system_time());
            let after = p.not_after.is_some_and(|na| at > na.to_system_time());
            if before || after {
                return Err(TokenError::KeyUsagePeriod {
                    gen_time: gen_time.to_rfc3339(),
                    period: format!(
                        "{} to {}",
                        p.not_before
                            .map(|t| t.to_date_time().to_string())
                            .unwrap_or("-".into()),
                        p.not_after
                            .map(|t| t.to_date_time().to_string())
                            .unwrap_or("-".into())
                    ),
                });
            }
        }
        let hash = self.hash_algorithm()?;
        if let Some(d) = opts.expected_digest
            && self.tst_info.message_imprint.hashed_message.as_bytes() != d
        {
            return Err(TokenError::ImprintMismatch);
        }
        if let Some(req) = opts.request {
            self.check_against_request(req)?;
        }
        Ok(VerifiedToken {
            gen_time,
            serial: self.tst_info.serial_number.clone(),
            policy: self.tst_info.policy.clone(),
            hash,
            accuracy: self.tst_info.accuracy,
            nonce: self.tst_info.nonce.clone(),
            signature_algorithm: si.signature_algorithm.oid,
            chain,
        })
    }

    /// RFC 3161 §2.4.2: the token answers this request.
    fn check_against_request(&self, req: &TimeStampReq) -> Result<(), TokenError> {
        let t = &self.tst_info;
        if t.message_imprint.hashed_message != req.message_imprint.hashed_message
            || t.message_imprint.hash_algorithm.oid != req.message_imprint.hash_algorithm.oid
        {
            return Err(TokenError::RequestImprint);
        }
        let show = |n: &Option<Int>| {
            n.as_ref()
                .map(|n| hex::encode(n.as_bytes()))
                .unwrap_or_else(|| "none".into())
        };
        if t.nonce != req.nonce {
            return Err(TokenError::Nonce {
                request: show(&req.nonce),
                token: show(&t.nonce),
            });
        }
        if let Some(p) = &req.req_policy
            && *p != t.policy
        {
            return Err(TokenError::Policy {
                request: p.to_string(),
                token: t.policy.to_string(),
            });
        }
        let has_certs = self.signed_data.certificates.is_some();
        match (req.cert_req.unwrap_or(false), has_certs) {
            (true, false) => Err(TokenError::CertReq(
                "is absent although the request set certReq (RFC 3161 §2.4.1)",
            )),
            (false, true) => Err(TokenError::CertReq(
                "is present although the request did not set certReq (RFC 3161 §2.4.1)",
            )),
            _ => Ok(()),
        }
    }
}

/// A signer subject for display.
pub fn signer_subject(v: &VerifiedToken) -> String {
    v.chain.first().map(subject_of).unwrap_or_default()
}
