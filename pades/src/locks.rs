//! What forbids one more signature (ISO 32000-1 §12.8.2, ISO 32000-2 §12.7.5.5): a
//! certification signature whose DocMDP transform says `/P 1`, or a signature whose FieldMDP
//! lock says `/P 1` (PDF 2.0). A seal added anyway would make the earlier signature report the
//! document as changed against its signer's will — so it is refused, naming the lock.

use lopdf::{Document, Object};

/// The signature dictionaries of every signed field, and the catalog's certification
/// signature (`/Perms /DocMDP`) however it is reached.
fn signatures(doc: &Document) -> Vec<(String, lopdf::Dictionary)> {
    let deref = |o: &Object| doc.dereference(o).ok().map(|(_, o)| o.clone());
    let certification = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Perms").ok().cloned())
        .and_then(|p| deref(&p))
        .and_then(|p| {
            p.as_dict()
                .ok()
                .and_then(|d| d.get(b"DocMDP").ok().cloned())
        })
        .and_then(|s| deref(&s))
        .and_then(|s| s.as_dict().ok().cloned())
        .map(|s| ("certification".to_string(), s));
    certification
        .into_iter()
        .chain(
            doc.objects
                .values()
                .filter_map(|o| o.as_dict().ok())
                .filter(|f| f.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig".as_slice()))
                .filter_map(|f| {
                    let name = f
                        .get(b"T")
                        .and_then(|t| t.as_str())
                        .map(|t| String::from_utf8_lossy(t).into_owned())
                        .unwrap_or_default();
                    match f.get(b"V").ok().and_then(deref) {
                        Some(Object::Dictionary(sig)) => Some((name, sig)),
                        _ => None,
                    }
                }),
        )
        .collect()
}

/// Whether the document is signed already (a certification signature must be the first).
pub fn is_signed(doc: &Document) -> bool {
    !signatures(doc).is_empty()
}

/// One transform a signature declares (§12.8.2): the signed field's name, `DocMDP` or
/// `FieldMDP`, and its `/P` if given.
struct Transform {
    field: String,
    method: Vec<u8>,
    p: Option<i64>,
}

/// Every transform of every signature in `doc`.
fn transforms(doc: &Document) -> Vec<Transform> {
    let deref = |o: &Object| doc.dereference(o).ok().map(|(_, o)| o.clone());
    let mut out = Vec::new();
    for (field, sig) in signatures(doc) {
        let Some(Object::Array(refs)) = sig.get(b"Reference").ok().and_then(deref) else {
            continue;
        };
        for r in refs.iter().filter_map(deref) {
            let Ok(d) = r.as_dict() else { continue };
            let method = d
                .get(b"TransformMethod")
                .and_then(Object::as_name)
                .unwrap_or_default()
                .to_vec();
            let p = d
                .get(b"TransformParams")
                .ok()
                .and_then(deref)
                .and_then(|t| t.as_dict().ok().and_then(|t| t.get(b"P").ok().cloned()))
                .and_then(|p| p.as_i64().ok());
            out.push(Transform {
                field: field.clone(),
                method,
                p,
            });
        }
    }
    out
}

/// The signature whose DocMDP or FieldMDP transform restricts changes, in words: a new
/// *visible* field after it is a change verifiers report (pyHanko, Acrobat: a certified
/// document may be signed, its forms filled — not given new fields on its pages), so a
/// visible seal is refused there; an invisible one is not a change a reader sees.
pub fn restricting_visible(doc: &Document) -> Option<String> {
    transforms(doc)
        .into_iter()
        .find(|t| matches!(t.method.as_slice(), b"DocMDP" | b"FieldMDP"))
        .map(|t| {
            format!(
                "the signature \"{}\" ({}) lets later signers sign, not add a visible field \
                 to a page; seal it invisibly",
                t.field,
                String::from_utf8_lossy(&t.method)
            )
        })
}

/// The lock that forbids a new signature, in words; `None`: none does.
pub fn forbidding_lock(doc: &Document) -> Option<String> {
    // DocMDP's P defaults to 2 (§12.8.2.2); FieldMDP locks only with an explicit P.
    transforms(doc)
        .into_iter()
        .find_map(|t| match (t.method.as_slice(), t.p) {
            (b"DocMDP", Some(1)) => Some(format!(
                "the certification signature \"{}\" allows no change (DocMDP P=1)",
                t.field
            )),
            (b"FieldMDP", Some(1)) => Some(format!(
                "the signature \"{}\" locks the document (FieldMDP P=1)",
                t.field
            )),
            _ => None,
        })
}
