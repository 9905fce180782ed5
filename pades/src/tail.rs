//! What was added to a PDF after its last signature. A revision that only adds validation data
//! — the Document Security Store (EN 319 142-1 §5.4.2, ISO 32000-2 §12.8.4.3) and the catalog's
//! `/DSS` entry pointing at it — is what B-LT adds and changes nothing a reader sees; anything
//! else after the last signature (a changed page, an annotation, a byte past `%%EOF`) is
//! content no signature vouches for, and a verifier must not pass the file as sealed.
//!
//! Written here: lopdf reads both revisions; comparing their objects is this module's.

use lopdf::{Document, Object, ObjectId};
use std::collections::HashSet;

/// The most objects followed from the DSS: far more than a chain's certificates and CRLs.
const MAX_DSS_OBJECTS: usize = 10_000;

/// What lies after the last signature's revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The last signature covers the whole file.
    Nothing,
    /// Revisions that add validation data only.
    ValidationData,
    /// Something else: what, in words.
    Other(String),
}

/// Classifies `pdf[end..]`, where `end` is where the last signature's revision ends.
pub fn after_signatures(pdf: &[u8], end: usize) -> Tail {
    let Some(tail) = pdf.get(end..) else {
        return Tail::Other("the signature's byte range ends past the file".into());
    };
    if tail.is_empty() {
        return Tail::Nothing;
    }
    // An update ends with %%EOF and at most one end-of-line (§7.5.5); a byte after that is in
    // no revision at all.
    let Some(eof) = tail.windows(5).rposition(|w| w == b"%%EOF") else {
        return Tail::Other(format!("{} bytes that are not a revision", tail.len()));
    };
    let rest = &tail[eof + 5..];
    if !matches!(rest, b"" | b"\n" | b"\r\n" | b"\r") {
        return Tail::Other(format!(
            "{} bytes after the file's last %%EOF, in no revision",
            rest.len()
        ));
    }
    let (Ok(before), Ok(now)) = (Document::load_mem(&pdf[..end]), Document::load_mem(pdf)) else {
        return Tail::Other("the revisions after the signature cannot be read".into());
    };
    compare(&before, &now)
}

fn compare(before: &Document, now: &Document) -> Tail {
    let root = |d: &Document| d.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let (Some(root_before), Some(root_now)) = (root(before), root(now)) else {
        return Tail::Other("a revision has no catalog".into());
    };
    if root_before != root_now {
        return Tail::Other("a later revision replaced the document catalog".into());
    }
    let (Some(dss_now), Some(dss_before)) =
        (dss_objects(now, root_now), dss_objects(before, root_before))
    else {
        return Tail::Other("the validation data is larger than a verifier reads".into());
    };
    for id in before.objects.keys() {
        if !now.objects.contains_key(id) {
            return Tail::Other(format!("object {} {} was deleted", id.0, id.1));
        }
    }
    // A new object the signed revision already pointed at (a dangling reference) would
    // change what the signed objects mean.
    let referenced = references(before);
    for (id, obj) in &now.objects {
        let old = before.objects.get(id);
        if old == Some(obj) || is_xref_stream(obj) {
            continue;
        }
        let allowed = match old {
            // New: validation data nothing signed refers to.
            None => dss_now.contains(id) && !referenced.contains(id),
            // Changed: validation data before and after (a DSS extended), or the catalog
            // changed in its /DSS alone.
            Some(old) => {
                (dss_before.contains(id) && dss_now.contains(id))
                    || (*id == root_now && catalog_without_dss(obj) == catalog_without_dss(old))
            }
        };
        if allowed {
            continue;
        }
        return Tail::Other(format!(
            "object {} {} was {} after the last signature, and it is not validation data",
            id.0,
            id.1,
            if before.objects.contains_key(id) {
                "changed"
            } else {
                "added"
            }
        ));
    }
    Tail::ValidationData
}

/// Every object id `doc`'s objects refer to.
fn references(doc: &Document) -> HashSet<ObjectId> {
    let mut out = HashSet::new();
    let mut todo: Vec<&Object> = doc.objects.values().collect();
    todo.extend(doc.trailer.iter().map(|(_, v)| v));
    while let Some(o) = todo.pop() {
        match o {
            Object::Reference(id) => {
                out.insert(*id);
            }
            Object::Array(a) => todo.extend(a),
            Object::Dictionary(d) => todo.extend(d.iter().map(|(_, v)| v)),
            Object::Stream(s) => todo.extend(s.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    out
}

fn is_xref_stream(o: &Object) -> bool {
    matches!(o, Object::Stream(s) if s.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"XRef"))
}

fn catalog_without_dss(o: &Object) -> Option<lopdf::Dictionary> {
    let mut d = o.as_dict().ok()?.clone();
    d.remove(b"DSS");
    Some(d)
}

/// Every object reachable from the catalog's `/DSS`, or `None` past the bound.
fn dss_objects(doc: &Document, root: ObjectId) -> Option<HashSet<ObjectId>> {
    let mut seen = HashSet::new();
    let mut todo: Vec<Object> = doc
        .get_dictionary(root)
        .ok()
        .and_then(|c| c.get(b"DSS").ok().cloned())
        .into_iter()
        .collect();
    while let Some(o) = todo.pop() {
        match o {
            Object::Reference(id) if seen.insert(id) => {
                if seen.len() > MAX_DSS_OBJECTS {
                    return None;
                }
                if let Ok(o) = doc.get_object(id) {
                    todo.push(o.clone());
                }
            }
            Object::Array(a) => todo.extend(a),
            Object::Dictionary(d) => todo.extend(d.into_iter().map(|(_, v)| v)),
            Object::Stream(s) => todo.extend(s.dict.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    Some(seen)
}
