//! `POST /verify/v1` with `pdf`: a sealed PDF judged from what the page found in it, in the
//! browser — each signature's byte ranges, its `/Contents` (the CMS or token) and the digests
//! of those ranges (WebCrypto) — so that no byte of the document leaves the recipient's
//! machine. Each signature is verified as `kokuin verify INVOICE.pdf` verifies it (PAdES or
//! the older `adbe.pkcs7.detached`, a document time-stamp as a token over its ranges).
//!
//! What the page cannot show the server, it does not claim: bytes after the last signature
//! (a later revision) are content no signature vouches for and that the server has not seen,
//! so such a PDF is "cannot be verified here" — `kokuin verify` on the file judges them —
//! never "valid".

use kokuin_eseal::SealForm;
use kokuin_eseal::verdict::{DocumentDigests, EvidenceOptions, Verdict, verify_evidence};
use kokuin_hsm::DigestAlgorithm;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::SystemTime;
use x509_cert::Certificate;

/// The most signatures one request may carry (as `kokuin_pades::MAX_SIGNATURES`).
const MAX_SIGNATURES: usize = 64;

/// What the page found in a PDF.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfRequest {
    /// The file's length in bytes (a JSON number: `827.0` is a whole number too).
    size: serde_json::Number,
    /// Each signature, in the order the page found them.
    signatures: Vec<PdfSignature>,
}

/// One signature as the page read it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PdfSignature {
    /// `Sig` or `DocTimeStamp` (its dictionary's `/Type`).
    #[serde(rename = "type")]
    kind: String,
    /// Its `/SubFilter`, without the slash.
    sub_filter: String,
    /// `/ByteRange`: `[0, b, c, d]`.
    ranges: [serde_json::Number; 4],
    /// `/Contents`, base64 (DER, padding removed).
    contents: String,
    /// The digests of the two ranges, by algorithm name, hex.
    digests: BTreeMap<String, String>,
}

/// The verdict on the PDF, or why the request cannot be judged (400).
pub fn judge(
    anchors: &[Certificate],
    pdf: &PdfRequest,
    decode: impl Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Value, String> {
    if pdf.signatures.is_empty() {
        return Err("pdf.signatures: the PDF holds no signature to verify".into());
    }
    if pdf.signatures.len() > MAX_SIGNATURES {
        return Err(format!("pdf.signatures: at most {MAX_SIGNATURES}"));
    }
    let size = whole(&pdf.size).ok_or("pdf.size: a whole number of bytes")?;
    let mut last_end = 0;
    let mut judged = Vec::new();
    let mut shown: Option<Value> = None;
    let (mut invalid, mut cannot) = (None, None);
    for (i, s) in pdf.signatures.iter().enumerate() {
        let n = i + 1;
        let bad_ranges = || {
            format!("pdf.signatures[{i}].ranges: [0, b, c, d] with b < c and c + d within the file")
        };
        let mut r = [0u64; 4];
        for (to, n) in r.iter_mut().zip(&s.ranges) {
            *to = whole(n).ok_or_else(bad_ranges)?;
        }
        let [a, b, c, d] = r;
        let end = c.checked_add(d).filter(|e| *e <= size);
        let Some(end) = end.filter(|_| a == 0 && b < c) else {
            return Err(bad_ranges());
        };
        last_end = last_end.max(end);
        let evidence =
            decode(&s.contents).map_err(|e| format!("pdf.signatures[{i}].contents: {e}"))?;
        let mut digests = Vec::new();
        for (name, h) in &s.digests {
            let alg = DigestAlgorithm::from_name(name)
                .ok_or_else(|| format!("pdf.signatures[{i}].digests: unknown algorithm"))?;
            let d = hex::decode(h).map_err(|_| {
                format!(
                    "pdf.signatures[{i}].digests.{}: not hexadecimal",
                    alg.name()
                )
            })?;
            digests.push((alg, d));
        }
        let pairs: Vec<(DigestAlgorithm, &[u8])> =
            digests.iter().map(|(a, d)| (*a, d.as_slice())).collect();
        let form = match (s.kind.as_str(), s.sub_filter.as_str()) {
            ("Sig", "ETSI.CAdES.detached") => Some(SealForm::Pades),
            ("Sig", "adbe.pkcs7.detached") => Some(SealForm::PdfSignature),
            ("DocTimeStamp", "ETSI.RFC3161") => Some(SealForm::Pades),
            _ => None,
        };
        let verdict = match form {
            None => Verdict::bad_input(format!(
                "a /{} signature with /SubFilter /{} is not verified here",
                s.kind, s.sub_filter
            )),
            Some(form) => verify_evidence(
                &evidence,
                &EvidenceOptions {
                    trust_anchors: anchors,
                    extra_certificates: &[],
                    document: DocumentDigests { digests: &pairs },
                    at: SystemTime::now(),
                    form,
                },
            )
            .unwrap_or_else(|e| Verdict::bad_input(e.to_string()).in_words(e.plain())),
        };
        let mut v: Value = serde_json::from_str(&verdict.to_json()).unwrap_or(json!({}));
        v["type"] = json!(s.kind);
        v["sub_filter"] = json!(s.sub_filter);
        v["bytes_after"] = json!(size - end);
        if verdict.valid {
            if s.kind == "Sig" {
                shown = Some(v.clone());
            }
        } else if verdict.bad_input == Some(true) {
            cannot.get_or_insert((n, verdict));
        } else {
            invalid.get_or_insert((n, verdict));
        }
        judged.push(v);
    }
    let after = size - last_end;
    let mut out = match (&invalid, &cannot, shown) {
        (None, None, Some(v)) if after == 0 => v,
        (None, None, shown) => {
            let mut v = shown.unwrap_or(json!({}));
            v["valid"] = json!(false);
            v["bad_input"] = json!(true);
            v["reason_ja"] = json!(format!(
                "最後の署名の後に {after} バイトが追加されています。その内容はこのページでは確認できません（kokuin verify でファイルを確認してください）。"
            ));
            v["reason_en"] = json!(format!(
                "{after} bytes were added after the last signature; this page cannot check what they change (verify the file with kokuin verify)."
            ));
            v["error"] = json!(format!(
                "{after} bytes after the last signature, not seen by the server"
            ));
            v
        }
        _ => {
            let none = Verdict::default();
            let (n, verdict) = invalid
                .as_ref()
                .or(cannot.as_ref())
                .map_or((0, &none), |(n, v)| (*n, v));
            json!({
                "valid": false,
                "bad_input": invalid.is_none(),
                "reason_ja": format!("署名 {n}: {}", verdict.reason_ja.clone().unwrap_or_default()),
                "reason_en": format!("Signature {n}: {}", verdict.reason_en.clone().unwrap_or_default()),
                "error": format!("signature {n}: {}", verdict.error.clone().unwrap_or_default()),
            })
        }
    };
    out["kind"] = json!("pdf");
    out["signatures"] = Value::Array(judged);
    out["bytes_after_last_signature"] = json!(after);
    Ok(out)
}

/// A JSON number that is a whole, non-negative count of bytes (`827` or `827.0`).
fn whole(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9_007_199_254_740_992.0)
            .map(|f| f as u64)
    })
}
