//! A seal image in the visible stamp (an organisation's 角印, configured per key): a PNG
//! decoded (the `png` crate) and embedded as an RGB image XObject with its alpha channel as a
//! soft mask (ISO 32000-1 §8.9.5, §11.6.5.2), so that it sits on the stamp as drawn.

use crate::error::PadesError;
use lopdf::{Document, ObjectId, Stream, dictionary};
use std::io::Write;

/// The largest image accepted, in pixels per side: a seal image is a few hundred.
const MAX_SIDE: u32 = 1024;

/// A decoded seal image.
pub struct StampImage {
    width: u32,
    height: u32,
    /// 8-bit RGB, row by row.
    rgb: Vec<u8>,
    /// 8-bit alpha, when the PNG has transparency.
    alpha: Option<Vec<u8>>,
}

impl std::fmt::Debug for StampImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StampImage({}×{})", self.width, self.height)
    }
}

fn bad(why: impl std::fmt::Display) -> PadesError {
    PadesError::Stamp(format!("the seal image: {why}"))
}

impl StampImage {
    /// Decodes a PNG of at most 1024 × 1024 pixels, any colour type, to RGB and alpha.
    pub fn from_png(data: &[u8]) -> Result<Self, PadesError> {
        let mut decoder = png::Decoder::new_with_limits(
            std::io::Cursor::new(data),
            png::Limits {
                bytes: 4 * (MAX_SIDE as usize) * (MAX_SIDE as usize),
            },
        );
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(bad)?;
        let (width, height) = (reader.info().width, reader.info().height);
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(bad(format!(
                "{width} × {height} pixels (at most {MAX_SIDE} a side)"
            )));
        }
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| bad("too large to decode"))?;
        let mut buf = vec![0; size];
        let frame = reader.next_frame(&mut buf).map_err(bad)?;
        let pixels = &buf[..frame.buffer_size()];
        let n = (width as usize) * (height as usize);
        let (rgb, alpha) = match frame.color_type {
            png::ColorType::Rgb => (pixels.to_vec(), None),
            png::ColorType::Rgba => {
                let rgb = pixels
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect();
                let a: Vec<u8> = pixels.chunks_exact(4).map(|p| p[3]).collect();
                (rgb, Some(a))
            }
            png::ColorType::Grayscale => (pixels.iter().flat_map(|&g| [g, g, g]).collect(), None),
            png::ColorType::GrayscaleAlpha => {
                let rgb = pixels
                    .chunks_exact(2)
                    .flat_map(|p| [p[0], p[0], p[0]])
                    .collect();
                let a: Vec<u8> = pixels.chunks_exact(2).map(|p| p[1]).collect();
                (rgb, Some(a))
            }
            png::ColorType::Indexed => return Err(bad("an indexed image was not expanded")),
        };
        if rgb.len() != 3 * n || alpha.as_ref().is_some_and(|a| a.len() != n) {
            return Err(bad("its pixels do not match its size"));
        }
        Ok(Self {
            width,
            height,
            rgb,
            alpha,
        })
    }

    /// Width over height.
    pub fn aspect(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height)
    }

    /// Adds the image (and its soft mask) to `doc`.
    pub(crate) fn embed(&self, doc: &mut Document) -> Result<ObjectId, PadesError> {
        let image = |colour: &str, data: &[u8]| -> Result<Stream, PadesError> {
            Ok(Stream::new(
                dictionary! {
                    "Type" => "XObject",
                    "Subtype" => "Image",
                    "Width" => i64::from(self.width),
                    "Height" => i64::from(self.height),
                    "ColorSpace" => colour,
                    "BitsPerComponent" => 8,
                    "Filter" => "FlateDecode",
                },
                deflate(data)?,
            ))
        };
        let mut rgb = image("DeviceRGB", &self.rgb)?;
        if let Some(a) = &self.alpha {
            let mask = doc.add_object(image("DeviceGray", a)?);
            rgb.dict.set("SMask", mask);
        }
        Ok(doc.add_object(rgb))
    }
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, PadesError> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).map_err(bad)?;
    z.finish().map_err(bad)
}
