//! The signatures a PDF holds, as a verifier reads them (ISO 32000-1 §12.8.1): each field's
//! signature dictionary, its byte ranges checked against the file — they must start at 0,
//! leave out exactly the `/Contents` hex string, and end inside the file — and what lies
//! after the last byte they cover (a later incremental update).

use crate::error::PadesError;
use kokuin_hsm::DigestAlgorithm;
use lopdf::{Document, Object};

/// The most signature fields read from one PDF: far more than any invoice carries.
pub const MAX_SIGNATURES: usize = 64;

/// A seal or a document time-stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// `/Type /Sig` (or no type).
    Signature,
    /// `/Type /DocTimeStamp`.
    DocTimeStamp,
}

/// One signature field's signature.
#[derive(Clone, Debug)]
pub struct PdfSignature {
    /// The field's `/T`.
    pub field: String,
    /// Seal or document time-stamp.
    pub kind: SignatureKind,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// `/M`, as written.
    pub claimed_time: Option<String>,
    /// The two ranges signed: `[0, b)` and `[c, c + d)`.
    pub ranges: [(usize, usize); 2],
    /// The CMS (or token), DER, without the hex string's zero padding.
    pub contents: Vec<u8>,
}

impl PdfSignature {
    /// The digest of the ranges of `pdf` this signature covers.
    pub fn digest(&self, pdf: &[u8], alg: DigestAlgorithm) -> Vec<u8> {
        let mut h = alg.hasher();
        for (from, to) in self.ranges {
            h.update(&pdf[from..to]);
        }
        h.finalize()
    }

    /// Where what it covers ends: bytes past it were added later.
    pub fn end(&self) -> usize {
        self.ranges[1].1
    }
}

fn text(o: Option<&Object>) -> Option<String> {
    let s = o?.as_str().ok()?;
    Some(match s.strip_prefix(&[0xFE, 0xFF]) {
        Some(u) => String::from_utf16_lossy(
            &u.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        ),
        None => String::from_utf8_lossy(s).into_owned(),
    })
}

/// Every signature of `pdf`, in the order their coverage ends (oldest first).
pub fn signatures(pdf: &[u8]) -> Result<Vec<PdfSignature>, PadesError> {
    let doc = Document::load_mem(pdf).map_err(|e| PadesError::Parse(e.to_string()))?;
    let deref = |o: &Object| doc.dereference(o).ok().map(|(_, o)| o.clone());
    let mut out = Vec::new();
    // Fields wherever they are: the widgets lopdf read, each with its signature value.
    for obj in doc.objects.values() {
        let Ok(field) = obj.as_dict() else { continue };
        if field.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig".as_slice()) {
            continue;
        }
        let Some(Object::Dictionary(sig)) = field.get(b"V").ok().and_then(deref) else {
            continue;
        };
        if out.len() == MAX_SIGNATURES {
            return Err(PadesError::Structure("number of signatures (over 64)"));
        }
        let bad = PadesError::Structure("signature's /ByteRange");
        let range: Vec<i64> = sig
            .get(b"ByteRange")
            .ok()
            .and_then(deref)
            .and_then(|r| r.as_array().ok().cloned())
            .ok_or(PadesError::Structure("signature's /ByteRange"))?
            .iter()
            .map(|v| v.as_i64().unwrap_or(-1))
            .collect();
        let [a, b, c, d] = <[i64; 4]>::try_from(range).map_err(|_| bad)?;
        let u = |v: i64| usize::try_from(v).ok();
        let (Some(a), Some(b), Some(c), Some(d)) = (u(a), u(b), u(c), u(d)) else {
            return Err(PadesError::Structure("signature's /ByteRange"));
        };
        // From the start, around exactly the hex string, ending inside the file.
        let end = c.checked_add(d).filter(|&e| e <= pdf.len());
        let gap_is_contents = b < c
            && pdf.get(b) == Some(&b'<')
            && pdf.get(c - 1) == Some(&b'>')
            && pdf[b + 1..c - 1].iter().all(u8::is_ascii_hexdigit);
        let Some(end) = end.filter(|_| a == 0 && gap_is_contents) else {
            return Err(PadesError::Structure(
                "signature's /ByteRange (it must cover the whole revision but /Contents)",
            ));
        };
        let contents = sig
            .get(b"Contents")
            .ok()
            .and_then(|c| c.as_str().ok())
            // The DER value alone, without the hex string's zero padding.
            .and_then(|c| kokuin_cms::der_writer::read_tlv(c).map(|(tlv, _, _)| tlv))
            .ok_or(PadesError::Structure("signature's /Contents"))?
            .to_vec();
        let kind = match sig.get(b"Type").and_then(Object::as_name).ok() {
            Some(b"DocTimeStamp") => SignatureKind::DocTimeStamp,
            _ => SignatureKind::Signature,
        };
        out.push(PdfSignature {
            field: text(field.get(b"T").ok()).unwrap_or_default(),
            kind,
            sub_filter: sig
                .get(b"SubFilter")
                .and_then(Object::as_name)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default(),
            claimed_time: text(sig.get(b"M").ok()),
            ranges: [(0, b), (c, end)],
            contents,
        });
    }
    out.sort_by_key(PdfSignature::end);
    Ok(out)
}

/// Whether the document's DSS holds certificates and revocation data (B-LT's validation
/// data).
pub fn has_validation_data(pdf: &[u8]) -> bool {
    let Ok(doc) = Document::load_mem(pdf) else {
        return false;
    };
    let deref = |o: &Object| doc.dereference(o).ok().map(|(_, o)| o.clone());
    let dss = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"DSS").ok().cloned())
        .and_then(|d| deref(&d));
    let Some(Object::Dictionary(dss)) = dss else {
        return false;
    };
    let non_empty = |k: &[u8]| {
        dss.get(k)
            .ok()
            .and_then(deref)
            .and_then(|a| a.as_array().ok().map(|a| !a.is_empty()))
            .unwrap_or(false)
    };
    non_empty(b"Certs") && (non_empty(b"CRLs") || non_empty(b"OCSPs"))
}
