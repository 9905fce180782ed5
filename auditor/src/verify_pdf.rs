//! `kokuin verify INVOICE.pdf`: every seal and document time-stamp in a PDF, offline. For
//! each: its byte ranges (from the start, around exactly its `/Contents`, inside the file),
//! its CMS or token against the digest of those ranges, the chain at the time that counts,
//! the PAdES level it reaches, and what was added after it. The PDF layer is `kokuin-pades`;
//! the CMS checks are the seal verifier's and the token verifier's, unchanged.

use crate::cmd_error::CmdError;
use crate::verify_args::VerifyArgs;
use kokuin_certs::path::display_time;
use kokuin_certs::pem::load_certificates;
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_eseal::verdict::read_token;
use kokuin_eseal::verify::verify_seal;
use kokuin_eseal::{SealForm, SealVerifyOptions};
use kokuin_pades::{
    PdfSignature, SignatureKind, Tail, after_signatures, has_validation_data, signatures,
};
use kokuin_tsa::VerifyOptions;
use std::time::SystemTime;

/// What one signature came to.
pub(crate) enum Outcome {
    Valid(Vec<String>),
    Invalid(String),
    CannotJudge(String),
}

impl Outcome {
    /// A verifier's error: proven wrong, or missing something to judge with.
    fn failed((ja, en): (&str, &str), detail: &dyn std::fmt::Display, cannot_judge: bool) -> Self {
        let why = format!("{en} / {ja} (detail: {detail})");
        if cannot_judge {
            Self::CannotJudge(why)
        } else {
            Self::Invalid(why)
        }
    }
}

/// One signature of the PDF, judged.
pub(crate) struct Judged {
    pub field: String,
    pub kind: &'static str,
    pub sub_filter: String,
    pub outcome: Outcome,
    /// Bytes of the file after what it covers.
    pub bytes_after: usize,
}

/// Every signature of `pdf` judged, how many bytes at the end no signature covers and what
/// they are; `Err`: the PDF's signatures cannot be read (or there are none).
pub(crate) fn judge(
    pdf: &[u8],
    anchors: &[x509_cert::Certificate],
    extra: &[x509_cert::Certificate],
    at: SystemTime,
) -> Result<(Vec<Judged>, usize, Tail), String> {
    let sigs = signatures(pdf).map_err(|e| format!("the signatures cannot be read: {e}"))?;
    if sigs.is_empty() {
        return Err("the PDF holds no signature".into());
    }
    let dss = has_validation_data(pdf);
    let mut out = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        let later_stamp = sigs[i + 1..]
            .iter()
            .any(|l| l.kind == SignatureKind::DocTimeStamp);
        let (kind, outcome) = match s.kind {
            SignatureKind::Signature => {
                ("seal", seal(pdf, s, anchors, extra, at, dss, later_stamp))
            }
            SignatureKind::DocTimeStamp => {
                ("document time-stamp", doc_timestamp(pdf, s, anchors, extra))
            }
        };
        out.push(Judged {
            field: s.field.clone(),
            kind,
            sub_filter: s.sub_filter.clone(),
            outcome,
            bytes_after: pdf.len() - s.end(),
        });
    }
    let last = sigs.iter().map(PdfSignature::end).max().unwrap_or(0);
    Ok((out, pdf.len() - last, after_signatures(pdf, last)))
}

pub fn run(a: &VerifyArgs, pdf: &[u8]) -> Result<(), CmdError> {
    let path = a.token_path().display().to_string();
    let load = |paths: &[std::path::PathBuf]| -> Result<Vec<_>, CmdError> {
        let mut v = Vec::new();
        for p in paths {
            v.extend(load_certificates(p).map_err(|e| CmdError::usage(e.to_string()))?);
        }
        Ok(v)
    };
    let (anchors, extra) = (load(&a.trust)?, load(&a.untrusted)?);
    let at = match &a.at {
        Some(t) => {
            humantime::parse_rfc3339(t).map_err(|e| CmdError::usage(format!("--at {t}: {e}")))?
        }
        None => SystemTime::now(),
    };
    let (judged, uncovered, tail) = judge(pdf, &anchors, &extra, at).map_err(|e| {
        CmdError::usage(format!(
            "CANNOT BE VERIFIED: {path}: {e}\n  この PDF の署名を検証できません。"
        ))
    })?;
    let mut worst = 0;
    let mut json = Vec::new();
    for j in &judged {
        let coverage = if j.bytes_after == 0 {
            "covers the whole file".to_string()
        } else {
            format!(
                "{} bytes were added after it (later revisions)",
                j.bytes_after
            )
        };
        let (verdict, lines) = match &j.outcome {
            Outcome::Valid(lines) => ("VALID", lines.clone()),
            Outcome::Invalid(why) => {
                worst = worst.max(2);
                ("NOT VALID", vec![why.clone()])
            }
            Outcome::CannotJudge(why) => {
                worst = worst.max(1);
                ("CANNOT BE VERIFIED", vec![why.clone()])
            }
        };
        if a.json {
            json.push(serde_json::json!({
                "field": j.field, "kind": j.kind, "sub_filter": j.sub_filter,
                "verdict": verdict, "detail": lines, "bytes_after": j.bytes_after,
            }));
        } else {
            out!(
                "{verdict} {} \"{}\" ({}): {coverage}",
                j.kind,
                j.field,
                j.sub_filter
            );
            for l in &lines {
                out!("  {l}");
            }
        }
    }
    // After the last signature: validation data a verifier may read, or content no signature
    // vouches for — which makes the file, as it stands, not what was sealed.
    let after = match &tail {
        Tail::Nothing => None,
        Tail::ValidationData => Some(format!(
            "the last {uncovered} bytes add validation data only (the DSS), which no signature \
             covers and which changes nothing shown / 最後の {uncovered} バイトは検証用データ\
             （DSS）の追加のみで、表示される内容は変わりません"
        )),
        Tail::Other(why) => {
            worst = 2;
            Some(format!(
                "NOT VALID: the last {uncovered} bytes were added after the last signature and \
                 are not validation data: no signature vouches for them / 最後の署名の後に \
                 {uncovered} バイトが追加されており、どの署名もその内容を保証しません \
                 (detail: {why})"
            ))
        }
    };
    if a.json {
        out!(
            "{}",
            serde_json::json!({
                "kind": "pdf", "signatures": json, "bytes_after_last_signature": uncovered,
                "after_last_signature": match &tail {
                    Tail::Nothing => "nothing".to_string(),
                    Tail::ValidationData => "validation data".to_string(),
                    Tail::Other(why) => format!("not validation data: {why}"),
                },
            })
        );
    } else if let Some(after) = after {
        out!("{after}");
    }
    match worst {
        0 => Ok(()),
        1 => Err(CmdError::usage(format!(
            "CANNOT BE VERIFIED: a signature of {path} cannot be verified (above)"
        ))),
        _ => Err(CmdError::negative(format!(
            "NOT VALID: {path} is not as sealed: a signature does not hold, or bytes after the last one are not validation data (above)"
        ))),
    }
}

fn seal(
    pdf: &[u8],
    s: &PdfSignature,
    anchors: &[x509_cert::Certificate],
    extra: &[x509_cert::Certificate],
    at: SystemTime,
    dss: bool,
    later_stamp: bool,
) -> Outcome {
    let legacy = match s.sub_filter.as_str() {
        "ETSI.CAdES.detached" => false,
        // Signatures other signers put in the PDF before Kokuin sealed it are often of the
        // older kind (ISO 32000-1 §12.8.3.3), held to no baseline.
        "adbe.pkcs7.detached" => true,
        other => {
            return Outcome::failed(
                (
                    "この種類の署名は確認できません。",
                    "This kind of signature cannot be verified here.",
                ),
                &format!(
                    "/SubFilter /{other}: Kokuin verifies ETSI.CAdES.detached and adbe.pkcs7.detached"
                ),
                true,
            );
        }
    };
    let alg = match ParsedSignedData::from_der(&s.contents).and_then(|p| p.digest_algorithm()) {
        Ok(a) => a,
        Err(e) => return Outcome::Invalid(format!("its CMS does not parse: {e}")),
    };
    let digest = s.digest(pdf, alg);
    let report = verify_seal(
        &s.contents,
        &SealVerifyOptions {
            trust_anchors: anchors,
            extra_certificates: extra,
            detached: Some(Detached::Digest(alg, &digest)),
            at,
            level_policies: &[],
            form: if legacy {
                SealForm::PdfSignature
            } else {
                SealForm::Pades
            },
        },
    );
    match report {
        Ok(r) => {
            let cades = r.level;
            let pades = if cades >= kokuin_eseal::BaselineLevel::T && dss {
                if later_stamp { "B-LTA" } else { "B-LT" }
            } else {
                cades.name()
            };
            let mut lines = vec![if legacy {
                format!(
                    "a PDF signature (adbe.pkcs7.detached), not PAdES; signed by {}",
                    r.chain
                        .first()
                        .map_or_else(String::new, kokuin_certs::path::subject_of)
                )
            } else {
                format!(
                    "PAdES {pades}; sealed by {}",
                    r.subject.as_ref().map_or_else(
                        |e| e.clone(),
                        |s| format!("{} ({})", s.organization, s.common_name)
                    )
                )
            }];
            if let Some(t) = &s.claimed_time {
                lines.push(format!("claimed time (/M): {t}"));
            }
            for t in &r.signature_timestamps {
                lines.push(format!(
                    "signature time-stamp {} by {}",
                    display_time(t.gen_time),
                    t.tsa
                ));
            }
            Outcome::Valid(lines)
        }
        Err(e) => Outcome::failed(e.plain(), &e, e.cannot_judge()),
    }
}

fn doc_timestamp(
    pdf: &[u8],
    s: &PdfSignature,
    anchors: &[x509_cert::Certificate],
    extra: &[x509_cert::Certificate],
) -> Outcome {
    let token = match read_token(&s.contents) {
        Ok(t) => t,
        Err(e) => return Outcome::Invalid(format!("its token does not parse: {e}")),
    };
    let alg = match token.hash_algorithm() {
        Ok(a) => a,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    let digest = s.digest(pdf, alg);
    match token.verify(&VerifyOptions {
        trust_anchors: anchors,
        extra_certificates: extra,
        expected_digest: Some(&digest),
        request: None,
    }) {
        Ok(v) => Outcome::Valid(vec![format!(
            "genTime {} (serial {})",
            v.gen_time.to_rfc3339(),
            hex::encode(v.serial.as_bytes())
        )]),
        Err(e) => Outcome::failed(e.plain(), &e, e.cannot_judge()),
    }
}
