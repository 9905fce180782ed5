//! A one-page PDF written byte by byte (ISO 32000-1 §7.5: header, objects, cross-reference
//! table, trailer): an invoice for the tests to seal, its text readable in the file.

/// A PDF whose one page shows `text` (ASCII, no parentheses or backslashes) in Helvetica,
/// its content stream uncompressed so a test can find and change a letter of it.
pub fn pdf_with_text(text: &str) -> Vec<u8> {
    assert!(text.is_ascii() && !text.contains(['(', ')', '\\']));
    let content = format!("BT /F1 20 Tf 72 720 Td ({text}) Tj ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The corpus of PDFs from different producers (`tests/interop/pdf_corpus.py`) written into
/// `dir`: its manifest (each file's name, producer and what sealing it must do).
pub fn corpus(dir: &std::path::Path) -> serde_json::Value {
    let o = crate::run(
        &crate::python(),
        &[
            &format!("{}/tests/interop/pdf_corpus.py", crate::REPO),
            dir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "pdf_corpus.py: {}", crate::text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// What pyHanko says of every signature and document time-stamp of each PDF
/// (`tests/interop/pades_validate.py`), trusting `roots` (comma-separated PEM files): JSON
/// keyed by each PDF's path.
pub fn pyhanko(roots: &str, pdfs: &[&std::path::Path]) -> serde_json::Value {
    let script = format!("{}/tests/interop/pades_validate.py", crate::REPO);
    let mut args = vec![script.as_str(), roots];
    args.extend(pdfs.iter().map(|p| p.to_str().unwrap()));
    let o = crate::run(&crate::python(), &args);
    assert!(o.status.success(), "pyHanko: {}", crate::text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// POSTs `pdf` (`application/pdf`) to `url`: the status and the body, whatever the status.
pub fn post_pdf(agent: &ureq::Agent, url: &str, pdf: &[u8]) -> (u16, Vec<u8>) {
    let mut r = agent
        .post(url)
        .header("Content-Type", "application/pdf")
        .config()
        .http_status_as_error(false)
        .build()
        .send(pdf)
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_vec().unwrap())
}
