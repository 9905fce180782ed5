//! The visible stamp's font: a TrueType or OpenType font (a freely licensed Japanese one, e.g.
//! IPAex Gothic) embedded as a subset of the glyphs the stamp shows — a Type 0 font over a
//! CIDFontType2 with Identity-H encoding and a ToUnicode CMap, so that a reader can copy and
//! search the stamp's text (ISO 32000-1 §9.7.4, §9.7.6, §9.10.3).
//!
//! Glyph lookup and metrics are ttf-parser's and the subset is subsetter's (typst's); the PDF
//! objects around them are written here, as no PDF crate Kokuin uses writes CID fonts.

use crate::error::PadesError;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};
use std::collections::BTreeMap;
use std::io::Write;

/// The most distinct glyphs one stamp may use: several lines of text, far below any font's
/// size; it bounds the subset's work.
const MAX_GLYPHS: usize = 400;

/// A font file checked to be usable for stamps: it parses and maps the characters every
/// stamp shows.
pub struct StampFont {
    data: Vec<u8>,
    /// Its PostScript name, as the PDF's `/BaseFont` (after the subset tag).
    name: String,
}

impl std::fmt::Debug for StampFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StampFont({}, {} bytes)", self.name, self.data.len())
    }
}

fn bad(why: impl std::fmt::Display) -> PadesError {
    PadesError::Stamp(format!("the stamp font: {why}"))
}

impl StampFont {
    /// Checks `data` as a stamp font: a single TrueType/OpenType face that has glyphs for
    /// the stamp's fixed words, in Japanese and English, and digits.
    pub fn new(data: Vec<u8>) -> Result<Self, PadesError> {
        let face = ttf_parser::Face::parse(&data, 0).map_err(bad)?;
        for c in "電子シール法人番号日時 e-seal Corporate No. Time 0123456789:-JST".chars()
        {
            if c != ' ' && face.glyph_index(c).is_none() {
                return Err(bad(format!("it has no glyph for {c:?}")));
            }
        }
        // The first PostScript name record ttf-parser can read (Unicode-encoded ones).
        let name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .filter_map(|n| n.to_string())
            .find(|n| !n.is_empty() && n.is_ascii())
            .unwrap_or_else(|| "KokuinStamp".into())
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "");
        Ok(Self { data, name })
    }

    fn face(&self) -> Result<ttf_parser::Face<'_>, PadesError> {
        ttf_parser::Face::parse(&self.data, 0).map_err(bad)
    }

    /// The width of `text` at size 1 (in text space units), for laying out the stamp.
    pub fn width(&self, text: &str) -> f64 {
        let Ok(face) = self.face() else { return 0.0 };
        let em = f64::from(face.units_per_em().max(1));
        text.chars()
            .map(|c| {
                let g = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                f64::from(face.glyph_hor_advance(g).unwrap_or(0)) / em
            })
            .sum()
    }

    /// Ascent and descent at size 1.
    pub fn vertical(&self) -> (f64, f64) {
        let Ok(face) = self.face() else {
            return (0.88, -0.12);
        };
        let em = f64::from(face.units_per_em().max(1));
        (
            f64::from(face.ascender()) / em,
            f64::from(face.descender()) / em,
        )
    }
}

/// The font as used by one stamp: each line encoded as the subset's glyph ids.
pub(crate) struct Embedded {
    /// The Type 0 font's object.
    pub font: ObjectId,
    /// Each line of text as a hex string of two-byte CIDs.
    pub encoded: Vec<Vec<u8>>,
}

/// Adds the subset font for `lines` to `doc`, and the lines encoded for it.
pub(crate) fn embed(
    font: &StampFont,
    doc: &mut Document,
    lines: &[String],
) -> Result<Embedded, PadesError> {
    let face = font.face()?;
    let em = f64::from(face.units_per_em().max(1));
    let mut remapper = subsetter::GlyphRemapper::new();
    // CID → (old glyph, the text it shows).
    let mut used: BTreeMap<u16, (u16, char)> = BTreeMap::new();
    let mut encoded = Vec::new();
    for line in lines {
        let mut bytes = Vec::new();
        for c in line.chars() {
            let old = face
                .glyph_index(c)
                .or_else(|| face.glyph_index('?'))
                .map_or(0, |g| g.0);
            let cid = remapper.remap(old);
            used.entry(cid).or_insert((old, c));
            bytes.extend_from_slice(&cid.to_be_bytes());
        }
        encoded.push(bytes);
    }
    if used.len() > MAX_GLYPHS {
        return Err(bad(format!(
            "the stamp's text needs {} glyphs (at most {MAX_GLYPHS})",
            used.len()
        )));
    }
    let subset = subsetter::subset(&font.data, 0, &remapper).map_err(|e| bad(format!("{e:?}")))?;
    let tag = subset_tag(&used);
    let base = format!("{tag}+{}", font.name);

    let mut zip = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zip.write_all(&subset).map_err(|e| bad(e.to_string()))?;
    let packed = zip.finish().map_err(|e| bad(e.to_string()))?;
    let file = doc.add_object(Stream::new(
        dictionary! { "Length1" => subset.len() as i64, "Filter" => "FlateDecode" },
        packed,
    ));
    let scale = |v: i16| (f64::from(v) * 1000.0 / em).round() as i64;
    let bbox = face.global_bounding_box();
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => Object::Name(base.clone().into_bytes()),
        "Flags" => 4,
        "FontBBox" => vec![
            scale(bbox.x_min).into(), scale(bbox.y_min).into(),
            scale(bbox.x_max).into(), scale(bbox.y_max).into(),
        ],
        "ItalicAngle" => 0,
        "Ascent" => scale(face.ascender()),
        "Descent" => scale(face.descender()),
        "CapHeight" => scale(face.capital_height().unwrap_or(face.ascender())),
        "StemV" => 80,
        "FontFile2" => file,
    });
    let mut widths = Vec::new();
    for (cid, (old, _)) in &used {
        let w = face
            .glyph_hor_advance(ttf_parser::GlyphId(*old))
            .unwrap_or(0);
        widths.push(Object::Integer(i64::from(*cid)));
        widths.push(Object::Array(vec![Object::Integer(
            (f64::from(w) * 1000.0 / em).round() as i64,
        )]));
    }
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => Object::Name(base.clone().into_bytes()),
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "DW" => 1000,
        "W" => widths,
        "CIDToGIDMap" => "Identity",
    });
    let to_unicode = doc.add_object(Stream::new(Dictionary::new(), to_unicode_cmap(&used)));
    let font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => Object::Name(base.into_bytes()),
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    });
    Ok(Embedded { font, encoded })
}

/// Six capital letters naming this subset (§9.6.4), from the glyphs in it.
fn subset_tag(used: &BTreeMap<u16, (u16, char)>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (cid, (old, _)) in used {
        for b in cid.to_be_bytes().into_iter().chain(old.to_be_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
        .collect()
}

/// The ToUnicode CMap (§9.10.3, Adobe technical note 5411): each CID to the text it shows.
fn to_unicode_cmap(used: &BTreeMap<u16, (u16, char)>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = used.iter().filter(|(cid, _)| **cid != 0).collect();
    // At most 100 mappings per block (the CMap format's limit).
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, (_, c)) in chunk {
            let mut units = [0u16; 2];
            let utf16: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            s.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}
