//! A visible seal: the signature widget given a rectangle on a page and an appearance (ISO
//! 32000-1 §12.5.5, §12.7.4.5) — a framed stamp with the organisation, its corporate number
//! and the time, in Japanese and English, in the configured font (`stamp_font`).

use crate::error::PadesError;
use crate::stamp_font::{StampFont, embed};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The stamp's size when no rectangle is asked for, in points.
pub const DEFAULT_SIZE: (f64, f64) = (240.0, 84.0);
/// Its distance from the page's lower right corner.
const MARGIN: f64 = 36.0;
/// The seal's red (a hanko's vermilion).
const RED: &str = "0.75 0.13 0.12";

/// Where and what a visible seal shows.
#[derive(Clone, Debug)]
pub struct Appearance {
    /// The font the stamp's text is set in.
    pub font: Arc<StampFont>,
    /// The page, from 0.
    pub page: usize,
    /// `[x1, y1, x2, y2]` in the page's default user space; `None`: the lower right corner.
    pub rect: Option<[f64; 4]>,
    /// The lines: the first as a heading, the rest below it.
    pub lines: Vec<String>,
    /// The seal image drawn at the stamp's left, if the key has one.
    pub image: Option<Arc<crate::stamp_image::StampImage>>,
}

/// The stamp's lines for a seal by `organization` (with its corporate number, if the
/// certificate names one) at `time`, shown in Japan Standard Time.
pub fn seal_lines(
    organization: &str,
    corporate_number: Option<&str>,
    time: SystemTime,
) -> Vec<String> {
    let jst = humantime::format_rfc3339_seconds(time + Duration::from_secs(9 * 3600)).to_string();
    let jst = jst.trim_end_matches('Z').replacen('T', " ", 1);
    let mut lines = vec!["電子シール e-seal".to_string(), organization.to_string()];
    if let Some(n) = corporate_number {
        lines.push(format!("法人番号 Corporate No. {n}"));
    }
    lines.push(format!("日時 Time {jst} JST"));
    lines
}

/// The widget's rectangle on `page` of `doc`.
pub(crate) fn rect(doc: &Document, page: ObjectId, a: &Appearance) -> Result<[f64; 4], PadesError> {
    if let Some(r) = a.rect {
        return Ok(r);
    }
    let [x1, y1, x2, _] = page_box(doc, page)?;
    let (w, h) = DEFAULT_SIZE;
    let right = (x2 - MARGIN).max(x1 + w);
    let bottom = y1 + MARGIN;
    Ok([right - w, bottom, right, bottom + h])
}

/// The page's crop box, or media box, inherited through `/Parent` (§7.7.3.4).
fn page_box(doc: &Document, page: ObjectId) -> Result<[f64; 4], PadesError> {
    let mut at = Some(page);
    let mut media = None;
    for _ in 0..32 {
        let Some(id) = at else { break };
        let d = doc
            .get_dictionary(id)
            .map_err(|_| PadesError::Structure("page"))?;
        for key in [b"CropBox".as_slice(), b"MediaBox"] {
            if media.is_none() {
                media = d
                    .get(key)
                    .ok()
                    .and_then(|o| doc.dereference(o).ok())
                    .and_then(|(_, o)| numbers(o));
            }
        }
        at = d.get(b"Parent").and_then(Object::as_reference).ok();
    }
    media.ok_or(PadesError::Structure("page's /MediaBox"))
}

fn numbers(o: &Object) -> Option<[f64; 4]> {
    let a = o.as_array().ok()?;
    let v: Vec<f64> = a
        .iter()
        .filter_map(|n| {
            n.as_float()
                .ok()
                .map(f64::from)
                .or_else(|| n.as_i64().ok().map(|i| i as f64))
        })
        .collect();
    let [x1, y1, x2, y2] = <[f64; 4]>::try_from(v).ok()?;
    Some([x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
}

/// The appearance stream (a form XObject `width` × `height`) with its font, added to `doc`.
pub(crate) fn appearance(
    doc: &mut Document,
    a: &Appearance,
    (width, height): (f64, f64),
) -> Result<ObjectId, PadesError> {
    let e = embed(&a.font, doc, &a.lines)?;
    let pad = 6.0;
    // The seal image, as tall as the stamp inside its frame, at the left; the text beside it.
    let image = match &a.image {
        Some(img) => {
            let h = height - 2.0 * pad;
            let w = (h * img.aspect()).min(width / 3.0);
            Some((img.embed(doc)?, w, w / img.aspect()))
        }
        None => None,
    };
    let left = pad + image.as_ref().map_or(0.0, |(_, w, _)| w + pad);
    let (ascent, descent) = a.font.vertical();
    let line_height = ascent - descent;
    // Sizes: the heading a little larger; every line shrunk until it fits the width, and all
    // of them until they fit the height.
    let n = a.lines.len().max(1) as f64;
    let mut size = ((height - 2.0 * pad) / (n * line_height * 1.08 + 0.15)).min(11.0);
    for l in &a.lines {
        let w = a.font.width(l);
        if w > 0.0 {
            size = size.min((width - left - pad) / w);
        }
    }
    let mut content = format!(
        "q\n1 1 1 rg 0 0 {width:.2} {height:.2} re f\n{RED} RG 1.4 w 1 1 {:.2} {:.2} re S\n\
         0.5 w 3 3 {:.2} {:.2} re S\n{RED} rg\n",
        width - 2.0,
        height - 2.0,
        width - 6.0,
        height - 6.0
    );
    if let Some((_, w, h)) = &image {
        content.push_str(&format!(
            "q {w:.2} 0 0 {h:.2} {pad:.2} {:.2} cm /Im1 Do Q\n",
            (height - h) / 2.0
        ));
    }
    // The block of lines centred in the box.
    let block = size * (1.1 * line_height + (n - 1.0) * line_height * 1.08);
    let mut y = (height + block) / 2.0 - ascent * size * 1.1;
    for (i, line) in e.encoded.iter().enumerate() {
        let s = if i == 0 { size * 1.1 } else { size };
        let hex: String = line.iter().map(|b| format!("{b:02X}")).collect();
        content.push_str(&format!(
            "BT /F1 {s:.2} Tf {left:.2} {y:.2} Td <{hex}> Tj ET\n"
        ));
        y -= line_height * size * 1.08;
    }
    content.push_str("Q\n");
    Ok(doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), Object::Real(width as f32), Object::Real(height as f32)],
            "Resources" => match &image {
                Some((im, _, _)) => dictionary! {
                    "Font" => dictionary! { "F1" => e.font },
                    "XObject" => dictionary! { "Im1" => *im },
                },
                None => dictionary! { "Font" => dictionary! { "F1" => e.font } },
            },
        },
        content.into_bytes(),
    )))
}
