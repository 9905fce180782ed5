//! One more signature, as an incremental update: the signature dictionary with placeholders
//! for `/ByteRange` and `/Contents`, an invisible widget on the first page (ISO 32000-1
//! §12.7.4.5: a signature field), the AcroForm's `/Fields` and `/SigFlags` — then the
//! placeholders found in the bytes written and filled once the CMS is made.

use crate::error::PadesError;
use kokuin_hsm::DigestAlgorithm;
use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, StringFormat, dictionary};
use std::time::SystemTime;

/// Which signature the field holds.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A seal (`/Type /Sig`, `/SubFilter /ETSI.CAdES.detached`).
    Seal {
        /// `/Name`: who signs (the seal certificate's organisation).
        name: String,
        /// `/M`: the claimed signing time (PAdES puts it here, not in the CMS).
        time: SystemTime,
    },
    /// A document time-stamp (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`, EN 319
    /// 142-1): a time-stamp token over the byte ranges, for B-LTA.
    DocTimeStamp,
}

/// The field to add and the room for what goes in it.
#[derive(Clone, Debug)]
pub struct Options {
    /// A seal or a document time-stamp.
    pub kind: Kind,
    /// Octets reserved for the CMS or token (its hex string is twice as long).
    pub room: usize,
    /// A certification signature (DocMDP, §12.8.2.2) with P=2: form filling, later
    /// signatures and time-stamps allowed, anything else reported by verifiers. Only as the
    /// document's first signature.
    pub certify: bool,
    /// A visible seal: where and what it shows; `None`: invisible.
    pub appearance: Option<crate::stamp::Appearance>,
}

/// A PDF with room for one signature, and where that room is.
pub struct Prepared {
    pdf: Vec<u8>,
    /// Offsets of the `<` and just after the `>` of `/Contents`.
    contents: (usize, usize),
    room: usize,
}

/// A placeholder integer of fixed width (10 digits) for each `/ByteRange` number.
const PLACE: i64 = 9_999_999_999;

fn malformed(e: lopdf::Error) -> PadesError {
    PadesError::Parse(e.to_string())
}

/// A PDF text string (ISO 32000-1 §7.9.2.2): PDFDocEncoding's ASCII subset as is, anything
/// else UTF-16BE with its byte order mark (a Japanese organisation name).
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        return Object::string_literal(s);
    }
    let mut b = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(b, StringFormat::Hexadecimal)
}

/// `D:YYYYMMDDHHmmSSZ` (ISO 32000-1 §7.9.4), UTC.
fn pdf_date(t: SystemTime) -> String {
    let rfc = humantime::format_rfc3339_seconds(t).to_string();
    let digits: String = rfc.chars().filter(char::is_ascii_digit).collect();
    format!("D:{digits}Z")
}

/// Appends `item` to the array at `holder[key]`, inline or behind a reference (which is then
/// rewritten in the update), creating it when absent.
fn push_to_array(
    doc: &mut IncrementalDocument,
    holder: ObjectId,
    key: &[u8],
    item: Object,
    what: &'static str,
) -> Result<(), PadesError> {
    let current = doc
        .new_document
        .get_dictionary(holder)
        .map_err(|_| PadesError::Structure(what))?
        .get(key)
        .ok()
        .cloned();
    match current {
        Some(Object::Reference(id)) => {
            doc.opt_clone_object_to_new_document(id)
                .map_err(malformed)?;
            doc.new_document
                .get_object_mut(id)
                .ok()
                .and_then(|o| o.as_array_mut().ok())
                .ok_or(PadesError::Structure(what))?
                .push(item);
        }
        Some(Object::Array(mut a)) => {
            a.push(item);
            dict_mut(doc, holder, what)?.set(key, Object::Array(a));
        }
        None => dict_mut(doc, holder, what)?.set(key, Object::Array(vec![item])),
        Some(_) => return Err(PadesError::Structure(what)),
    }
    Ok(())
}

fn dict_mut<'a>(
    doc: &'a mut IncrementalDocument,
    id: ObjectId,
    what: &'static str,
) -> Result<&'a mut Dictionary, PadesError> {
    doc.new_document
        .get_dictionary_mut(id)
        .map_err(|_| PadesError::Structure(what))
}

/// Prepares `pdf` for one more signature.
pub fn prepare(pdf: &[u8], opts: &Options) -> Result<Prepared, PadesError> {
    let mut doc: IncrementalDocument = pdf.try_into().map_err(malformed)?;
    let prev = doc.get_prev_documents();
    // lopdf opens a file encrypted under an empty user password by decrypting it and taking
    // /Encrypt out of the trailer: `was_encrypted` is what still says so (found by the corpus
    // in tests/pades_corpus.rs, which a plain update would have left unreadable).
    if prev.is_encrypted() || prev.was_encrypted() || prev.trailer.has(b"Encrypt") {
        return Err(PadesError::Encrypted);
    }
    // An update's xref chains to the last one by /Prev: a PDF whose table lopdf had to
    // rebuild by scanning has none to chain to, and the sealed file would lose every older
    // object. Such a PDF is damaged; it is refused rather than sealed broken.
    if prev.xref_start == 0 || prev.xref_recovery.is_some() {
        return Err(PadesError::Damaged);
    }
    let root = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PadesError::Structure("trailer's /Root"))?;
    let catalog = prev
        .get_dictionary(root)
        .map_err(|_| PadesError::Structure("catalog"))?;
    if let Some(lock) = crate::locks::forbidding_lock(prev) {
        return Err(PadesError::Locked(lock));
    }
    if opts.appearance.is_some()
        && let Some(lock) = crate::locks::restricting_visible(prev)
    {
        return Err(PadesError::Stamp(lock));
    }
    if opts.certify && crate::locks::is_signed(prev) {
        return Err(PadesError::AlreadySigned);
    }
    let acroform = catalog.get(b"AcroForm").ok().cloned();
    let page_index = opts.appearance.as_ref().map_or(0, |a| a.page);
    let page = prev
        .page_iter()
        .nth(page_index)
        .ok_or_else(|| match prev.page_iter().count() {
            0 => PadesError::NoPage,
            pages => PadesError::NoSuchPage {
                page: page_index + 1,
                pages,
            },
        })?;
    let rect = match &opts.appearance {
        Some(a) => Some(crate::stamp::rect(prev, page, a)?),
        None => None,
    };
    let fields_before = prev
        .objects
        .values()
        .filter(|o| {
            o.as_dict()
                .ok()
                .and_then(|d| d.get(b"FT").ok())
                .and_then(|f| f.as_name().ok())
                == Some(b"Sig".as_slice())
        })
        .count();

    let mut sig_dict = dictionary! {
        "Filter" => "Adobe.PPKLite",
        "ByteRange" => vec![0.into(), PLACE.into(), PLACE.into(), PLACE.into()],
        // Written as a literal of ASCII zeros — one write, where lopdf formats a hex string a
        // byte at a time (a fifth of a seal's CPU, measured) — and turned into the hex
        // string of the same length by `locate`: `(00…0)` and `<00…0>` are both 2·room + 2
        // bytes.
        "Contents" => Object::String(vec![b'0'; 2 * opts.room], StringFormat::Literal),
    };
    let field_name = match &opts.kind {
        Kind::Seal { name, time } => {
            sig_dict.set("Type", "Sig");
            sig_dict.set("SubFilter", "ETSI.CAdES.detached");
            sig_dict.set("M", Object::string_literal(pdf_date(*time)));
            sig_dict.set("Name", text_string(name));
            if opts.certify {
                sig_dict.set(
                    "Reference",
                    vec![Object::Dictionary(dictionary! {
                        "Type" => "SigRef",
                        "TransformMethod" => "DocMDP",
                        "TransformParams" => dictionary! {
                            "Type" => "TransformParams", "P" => 2, "V" => "1.2",
                        },
                    })],
                );
            }
            format!("Kokuin seal {}", fields_before + 1)
        }
        Kind::DocTimeStamp => {
            sig_dict.set("Type", "DocTimeStamp");
            sig_dict.set("SubFilter", "ETSI.RFC3161");
            format!("Kokuin time-stamp {}", fields_before + 1)
        }
    };
    let sig = doc.new_document.add_object(sig_dict);
    // Invisible: §12.7.4.5 with a zero rectangle; visible: the rectangle and its appearance.
    // Print and Locked flags, as signers use.
    let mut widget = dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
        "F" => 132,
        "T" => Object::string_literal(field_name),
        "V" => sig,
        "P" => page,
    };
    if let (Some(a), Some([x1, y1, x2, y2])) = (&opts.appearance, rect) {
        let shown = crate::stamp::appearance(&mut doc.new_document, a, (x2 - x1, y2 - y1))?;
        let real = |v: f64| Object::Real(v as f32);
        widget.set("Rect", vec![real(x1), real(y1), real(x2), real(y2)]);
        widget.set("AP", dictionary! { "N" => shown });
    }
    let widget = doc.new_document.add_object(widget);
    doc.opt_clone_object_to_new_document(page)
        .map_err(malformed)?;
    push_to_array(&mut doc, page, b"Annots", widget.into(), "page's /Annots")?;
    doc.opt_clone_object_to_new_document(root)
        .map_err(malformed)?;
    if opts.certify {
        dict_mut(&mut doc, root, "catalog")?.set("Perms", dictionary! { "DocMDP" => sig });
    }
    let form = match acroform {
        Some(Object::Reference(id)) => {
            doc.opt_clone_object_to_new_document(id)
                .map_err(malformed)?;
            id
        }
        Some(Object::Dictionary(d)) => {
            // Moved out of the catalog into its own object, so one code path edits it.
            let id = doc.new_document.add_object(d);
            dict_mut(&mut doc, root, "catalog")?.set("AcroForm", id);
            id
        }
        None => {
            let id = doc.new_document.add_object(Dictionary::new());
            dict_mut(&mut doc, root, "catalog")?.set("AcroForm", id);
            id
        }
        Some(_) => return Err(PadesError::Structure("catalog's /AcroForm")),
    };
    push_to_array(
        &mut doc,
        form,
        b"Fields",
        widget.into(),
        "AcroForm's /Fields",
    )?;
    // SignaturesExist | AppendOnly (ISO 32000-1 §12.7.2, Table 219).
    dict_mut(&mut doc, form, "AcroForm")?.set("SigFlags", 3);

    let mut out = Vec::with_capacity(pdf.len() + 2 * opts.room + 4096);
    doc.save_to(&mut out)
        .map_err(|e| PadesError::Write(e.to_string()))?;
    // What is handed on must read back as it will be read: through the new table and its
    // /Prev chain, without a rebuild. An input whose own table only seemed readable (entries
    // that do not match their objects) fails here instead of leaving sealed but broken.
    match lopdf::Document::load_mem(&out) {
        Ok(d) if d.xref_recovery.is_none() && d.page_iter().next().is_some() => {}
        _ => return Err(PadesError::Damaged),
    }
    locate(out, pdf.len(), opts.room)
}

/// Finds the placeholders in what the update wrote (after `start`) and fills `/ByteRange`.
fn locate(mut pdf: Vec<u8>, start: usize, room: usize) -> Result<Prepared, PadesError> {
    let missing = || PadesError::Write("the signature's placeholders are not in the update".into());
    if pdf.len() < start {
        return Err(missing());
    }
    let zeros = 2 * room;
    let open = (start..pdf.len().saturating_sub(zeros + 1))
        .find(|&i| {
            pdf[i] == b'('
                && pdf[i + 1 + zeros] == b')'
                && pdf[i + 1..i + 1 + zeros].iter().all(|&b| b == b'0')
        })
        .ok_or_else(missing)?;
    let close = open + zeros + 2;
    pdf[open] = b'<';
    pdf[close - 1] = b'>';
    let marker = format!("{PLACE} {PLACE} {PLACE}");
    let at = pdf[start..]
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .map(|p| p + start)
        .ok_or_else(missing)?;
    let lb = pdf[..at]
        .iter()
        .rposition(|&b| b == b'[')
        .ok_or_else(missing)?;
    let rb = at
        + marker.len()
        + pdf[at + marker.len()..]
            .iter()
            .position(|&b| b == b']')
            .ok_or_else(missing)?;
    let filled = format!("[0 {open} {close} {}", pdf.len() - close);
    let width = rb - lb;
    if filled.len() > width {
        return Err(missing());
    }
    let padded = format!("{filled:<width$}");
    pdf[lb..rb].copy_from_slice(padded.as_bytes());
    Ok(Prepared {
        pdf,
        contents: (open, close),
        room,
    })
}

impl Prepared {
    /// The digest of what the signature covers: everything but `/Contents`'s hex string.
    pub fn digest(&self, alg: DigestAlgorithm) -> Vec<u8> {
        let mut h = alg.hasher();
        h.update(&self.pdf[..self.contents.0]);
        h.update(&self.pdf[self.contents.1..]);
        h.finalize()
    }

    /// The finished PDF, the CMS in `/Contents`.
    pub fn embed(mut self, cms: &[u8]) -> Result<Vec<u8>, PadesError> {
        if cms.len() > self.room {
            return Err(PadesError::TooLarge {
                got: cms.len(),
                room: self.room,
            });
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let at = self.contents.0 + 1;
        for (i, b) in cms.iter().enumerate() {
            self.pdf[at + 2 * i] = HEX[usize::from(b >> 4)];
            self.pdf[at + 2 * i + 1] = HEX[usize::from(b & 15)];
        }
        Ok(self.pdf)
    }
}
