//! The Document Security Store (ETSI EN 319 142-1, ISO 32000-2): the
//! certificates and CRLs a verifier needs years later, in the catalog's `/DSS`, added as an
//! incremental update. What a DSS already holds stays; what is added is each value once.

use crate::error::PadesError;
use lopdf::{Dictionary, IncrementalDocument, Object, Stream, dictionary};

/// `pdf` with `certificates` and `crls` (DER each) in its DSS.
pub fn add_dss(
    pdf: &[u8],
    certificates: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<Vec<u8>, PadesError> {
    let mut doc: IncrementalDocument = pdf
        .try_into()
        .map_err(|e: lopdf::Error| PadesError::Parse(e.to_string()))?;
    let prev = doc.get_prev_documents();
    let root = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PadesError::Structure("trailer's /Root"))?;
    // The DSS as it is, read through references, and the bytes of each value it holds.
    let deref = |o: &Object| prev.dereference(o).ok().map(|(_, o)| o.clone());
    let old: Dictionary = prev
        .get_dictionary(root)
        .map_err(|_| PadesError::Structure("catalog"))?
        .get(b"DSS")
        .ok()
        .and_then(deref)
        .and_then(|o| o.as_dict().ok().cloned())
        .unwrap_or_default();
    let held = |key: &[u8]| -> (Vec<Object>, Vec<Vec<u8>>) {
        let items = old
            .get(key)
            .ok()
            .and_then(deref)
            .and_then(|o| o.as_array().ok().cloned())
            .unwrap_or_default();
        let bytes = items
            .iter()
            .filter_map(deref)
            .filter_map(|o| o.as_stream().ok().and_then(|s| s.get_plain_content().ok()))
            .collect();
        (items, bytes)
    };
    let (mut cert_refs, cert_bytes) = held(b"Certs");
    let (mut crl_refs, crl_bytes) = held(b"CRLs");
    let mut dss = old.clone();
    for (values, refs, have) in [
        (certificates, &mut cert_refs, cert_bytes),
        (crls, &mut crl_refs, crl_bytes),
    ] {
        let mut seen = have;
        for v in values {
            if seen.contains(v) {
                continue;
            }
            seen.push(v.clone());
            let id = doc
                .new_document
                .add_object(Stream::new(dictionary! {}, v.clone()));
            refs.push(id.into());
        }
    }
    dss.set("Type", "DSS");
    dss.set("Certs", Object::Array(cert_refs));
    dss.set("CRLs", Object::Array(crl_refs));
    let dss_id = doc.new_document.add_object(dss);
    doc.opt_clone_object_to_new_document(root)
        .map_err(|e| PadesError::Parse(e.to_string()))?;
    doc.new_document
        .get_dictionary_mut(root)
        .map_err(|_| PadesError::Structure("catalog"))?
        .set("DSS", dss_id);
    let mut out = Vec::with_capacity(pdf.len() + 16 * 1024);
    doc.save_to(&mut out)
        .map_err(|e| PadesError::Write(e.to_string()))?;
    Ok(out)
}
