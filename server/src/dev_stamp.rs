//! The dev seal key's seal image: a vermilion square seal (角印) with a double border and four
//! fields, drawn here as a PNG so that visible dev seals show an image as a production key's
//! configured `stamp_image` does. It is a drawing, not anyone's seal.

/// The PNG, 240 × 240, transparent outside the strokes.
pub fn png() -> Result<Vec<u8>, String> {
    const N: i32 = 240;
    let mut px = Vec::with_capacity((N * N * 4) as usize);
    for y in 0..N {
        for x in 0..N {
            // Distance to the nearest edge: the borders are bands of it.
            let edge = x.min(y).min(N - 1 - x).min(N - 1 - y);
            let border = (6..22).contains(&edge) || (30..36).contains(&edge);
            let inside = edge >= 36;
            let cross = inside && ((x - N / 2).abs() < 3 || (y - N / 2).abs() < 3);
            px.extend_from_slice(if border || cross {
                &[190, 34, 30, 235]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, N as u32, N as u32);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&px).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}
