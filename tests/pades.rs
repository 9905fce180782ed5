//! PAdES: `kokuin seal invoice.pdf --format pades` against a dev server; the sealed PDF checked
//! by the tools recipients' software stands on — pyHanko (every signature: intact, valid,
//! trusted under the dev root, the whole file covered, the signature time-stamp at B-T, no
//! signing-time attribute), poppler's pdfsig (NSS) and `qpdf --check` — and the input a
//! byte-for-byte prefix of the output (an incremental update). A second seal keeps the first
//! valid; what cannot be sealed is refused with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{Server, kokuin, run, tempdir, text};
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use std::path::Path;

/// A one-page invoice, written by lopdf (the PDF library Kokuin seals with, used here only to
/// make the input).
fn invoice() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new("Tj", vec![Object::string_literal("Invoice 2026-0042")]),
            Operation::new("ET", vec![]),
        ],
    };
    let contents = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => contents,
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn seal(srv: &Server, input: &Path, out: &Path, level: &str) -> std::process::Output {
    seal_with(srv, input, out, level, &[])
}

fn seal_with(
    srv: &Server,
    input: &Path,
    out: &Path,
    level: &str,
    extra: &[&str],
) -> std::process::Output {
    let https = srv.https.trim_end_matches("/tsa").to_string();
    let pki = |f: &str| srv.dir.join("pki").join(f).to_str().unwrap().to_string();
    let (cert, key, ca) = (pki("client.pem"), pki("client.key"), pki("root.pem"));
    let mut args = vec![
        "seal",
        input.to_str().unwrap(),
        "--format",
        "pades",
        "--url",
        &https,
        "--key",
        "dev-seal",
        "--level",
        level,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
        "--ca",
        &ca,
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    kokuin(&args)
}

fn pyhanko(pdf: &Path, root: &Path) -> serde_json::Value {
    let all = kokuin_testkit::pdf::pyhanko(root.to_str().unwrap(), &[pdf]);
    all[pdf.to_str().unwrap()].clone()
}

/// qpdf finds the structure sound; pdfsig validates every seal and lists every document
/// time-stamp (poppler 22 cannot validate those: "Unable to validate this type of
/// signature" — pyHanko does, below).
fn independent_tools_accept(pdf: &Path, seals: usize, doc_timestamps: usize) {
    let o = run("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "qpdf --check: {}", text(&o));
    let o = run("pdfsig", &[pdf.to_str().unwrap()]);
    let t = text(&o);
    let valid = t
        .matches("Signature Validation: Signature is Valid.")
        .count();
    assert_eq!(valid, seals, "pdfsig: {t}");
    assert_eq!(
        t.matches("ETSI.CAdES.detached").count(),
        seals,
        "pdfsig: {t}"
    );
    // poppler names its type "unknown"; the field is there, signed by the TSU.
    assert_eq!(
        t.matches("Kokuin time-stamp").count(),
        doc_timestamps,
        "pdfsig: {t}"
    );
}

#[test]
fn a_pdf_is_sealed_in_itself_and_pyhanko_pdfsig_and_qpdf_accept_it() {
    let d = tempdir();
    let state = d.path().join("state");
    let srv = Server::dev(&state);
    let root = srv.root();
    let input = d.path().join("invoice.pdf");
    let original = invoice();
    std::fs::write(&input, &original).unwrap();

    // B-B: the seal, and nothing of the input changed.
    let bb = d.path().join("invoice-bb.pdf");
    let o = seal(&srv, &input, &bb, "B-B");
    assert!(o.status.success(), "{}", text(&o));
    let sealed = std::fs::read(&bb).unwrap();
    assert!(sealed.starts_with(&original), "an incremental update");
    independent_tools_accept(&bb, 1, 0);
    let p = pyhanko(&bb, &root);
    let v = p["signatures"].as_array().unwrap();
    assert_eq!(v.len(), 1, "{p}");
    let s = &v[0];
    assert_eq!(s["subfilter"], "/ETSI.CAdES.detached", "{s}");
    assert_eq!(s["bottom_line"], true, "{s}");
    assert_eq!(s["coverage"], "ENTIRE_FILE", "{s}");
    assert_eq!(
        s["signing_time_attribute"], false,
        "PAdES: the time is /M: {s}"
    );
    assert_eq!(
        s["timestamp"], false,
        "B-B has no signature time-stamp: {s}"
    );
    assert_eq!(s["signer_is_sealer"], true, "{s}");

    // B-T on the sealed PDF: a second signature with its time-stamp; the first stays valid.
    let bt = d.path().join("invoice-bt.pdf");
    let o = seal(&srv, &bb, &bt, "B-T");
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&bt).unwrap().starts_with(&sealed));
    independent_tools_accept(&bt, 2, 0);
    let p = pyhanko(&bt, &root);
    let v = p["signatures"].as_array().unwrap();
    assert_eq!(v.len(), 2, "{p}");
    assert_eq!(v[0]["bottom_line"], true, "{v:?}");
    assert_eq!(v[0]["coverage"], "ENTIRE_REVISION", "{v:?}");
    assert_eq!(v[1]["bottom_line"], true, "{v:?}");
    assert_eq!(v[1]["coverage"], "ENTIRE_FILE", "{v:?}");
    assert_eq!(v[1]["timestamp"], true, "B-T: {v:?}");
    assert_ne!(v[0]["field"], v[1]["field"], "each seal its own field");

    assert!(
        v[1]["from_dss"].is_string(),
        "B-T carries no validation data: {p}"
    );

    // B-LTA on the original: the DSS makes it B-LT from the PDF alone (no fetching), the
    // document time-stamp B-LTA.
    let lta = d.path().join("invoice-lta.pdf");
    let o = seal(&srv, &input, &lta, "B-LTA");
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&lta).unwrap().starts_with(&original));
    independent_tools_accept(&lta, 1, 1);
    let p = pyhanko(&lta, &root);
    let s = &p["signatures"][0];
    assert_eq!(s["bottom_line"], true, "{p}");
    assert_eq!(s["timestamp"], true, "{p}");
    assert_eq!(s["from_dss"], true, "{p}");
    let t = &p["document_timestamps"];
    assert_eq!(t.as_array().unwrap().len(), 1, "{p}");
    assert_eq!(t[0]["subfilter"], "/ETSI.RFC3161", "{p}");
    assert_eq!(t[0]["valid"], true, "{p}");
    assert_eq!(t[0]["coverage"], "ENTIRE_FILE", "{p}");
    // B-LT alone: validation data without the document time-stamp.
    let lt = d.path().join("invoice-lt.pdf");
    let o = seal(&srv, &input, &lt, "B-LT");
    assert!(o.status.success(), "{}", text(&o));
    let p = pyhanko(&lt, &root);
    assert_eq!(p["signatures"][0]["from_dss"], true, "{p}");
    assert_eq!(
        p["document_timestamps"].as_array().unwrap().len(),
        0,
        "B-LT: {p}"
    );

    // kokuin verify, offline: each seal and the document time-stamp, the level reached.
    let verify = |pdf: &Path| {
        kokuin(&[
            "verify",
            pdf.to_str().unwrap(),
            "--trust",
            root.to_str().unwrap(),
        ])
    };
    let o = verify(&lta);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("VALID seal \"Kokuin seal 1\""), "{t}");
    assert!(
        t.contains("PAdES B-LTA; sealed by Kokuin Development"),
        "{t}"
    );
    assert!(
        t.contains("VALID document time-stamp \"Kokuin time-stamp 2\""),
        "{t}"
    );
    assert!(
        t.contains("bytes were added after it"),
        "the seal's revision came first: {t}"
    );
    let o = verify(&bt);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(text(&o).matches("VALID seal").count(), 2, "{}", text(&o));
    assert!(text(&o).contains("PAdES B-T"), "{}", text(&o));
    // A word of the invoice changed: the seal no longer holds (exit 1).
    let mut forged = std::fs::read(&bb).unwrap();
    let at = forged
        .windows(4)
        .position(|w| w == b"0042")
        .expect("the invoice number in the content stream");
    forged[at + 3] = b'3';
    let forged_path = d.path().join("forged.pdf");
    std::fs::write(&forged_path, &forged).unwrap();
    let o = verify(&forged_path);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("NOT VALID seal"), "{}", text(&o));
    // Bytes appended after the last seal: content no seal vouches for, so not valid as sealed.
    let mut appended = std::fs::read(&bb).unwrap();
    appended.extend_from_slice(b"\n% added later\n");
    let appended_path = d.path().join("appended.pdf");
    std::fs::write(&appended_path, &appended).unwrap();
    let o = verify(&appended_path);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("were added after the last signature and are not validation data"),
        "{}",
        text(&o)
    );
    // verify --batch over the directory: the sealed PDFs verified as PDFs, the forged one
    // named.
    let batch = d.path().join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    for f in [&bb, &lta, &forged_path] {
        std::fs::copy(f, batch.join(f.file_name().unwrap())).unwrap();
    }
    let o = kokuin(&[
        "verify",
        "--batch",
        batch.to_str().unwrap(),
        "--trust",
        root.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("forged.pdf"), "{}", text(&o));
    assert!(text(&o).contains("2 valid"), "{}", text(&o));
    // Without the root: cannot be verified (exit 2), not "not valid".
    let o = kokuin(&["verify", bb.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // Certification (DocMDP P=2) as the first signature; a B-T approval seal may follow it
    // and both stay valid; certifying a signed PDF is refused.
    let certified = d.path().join("invoice-certified.pdf");
    let o = seal_with(&srv, &input, &certified, "B-T", &["--certify"]);
    assert!(o.status.success(), "{}", text(&o));
    let p = pyhanko(&certified, &root);
    assert_eq!(p["signatures"][0]["docmdp"], "FILL_FORMS", "{p}");
    assert_eq!(p["signatures"][0]["bottom_line"], true, "{p}");
    let approved = d.path().join("invoice-certified-approved.pdf");
    let o = seal(&srv, &certified, &approved, "B-T");
    assert!(o.status.success(), "{}", text(&o));
    independent_tools_accept(&approved, 2, 0);
    let p = pyhanko(&approved, &root);
    assert_eq!(p["signatures"][0]["bottom_line"], true, "{p}");
    assert_eq!(
        p["signatures"][0]["docmdp_ok"], true,
        "P=2 allows the seal: {p}"
    );
    assert_eq!(p["signatures"][1]["bottom_line"], true, "{p}");
    let o = seal_with(
        &srv,
        &certified,
        &d.path().join("z.pdf"),
        "B-T",
        &["--certify"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("must be the first"), "{}", text(&o));

    // A visible seal through the command line, on the page asked for.
    let shown = d.path().join("invoice-visible.pdf");
    let o = seal_with(&srv, &input, &shown, "B-T", &["--visible", "--page", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    independent_tools_accept(&shown, 1, 0);
    let o = run("pdffonts", &[shown.to_str().unwrap()]);
    assert!(
        text(&o).contains("CID TrueType      Identity-H       yes yes yes"),
        "the stamp's font subset embedded with a ToUnicode map: {}",
        text(&o)
    );
    let o = run("pdfimages", &["-list", shown.to_str().unwrap()]);
    assert!(
        text(&o).contains(" image ") && text(&o).contains(" smask "),
        "the key's seal image with its transparency: {}",
        text(&o)
    );
    let o = seal_with(
        &srv,
        &input,
        &d.path().join("y.pdf"),
        "B-T",
        &["--visible", "--page", "2"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("the PDF has 1 page(s)"), "{}", text(&o));

    // The audit log says which format.
    let lines = kokuin_testkit::audit_lines(&state);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"seal.issued\"") && l.contains("\"format\":\"pades\"")),
        "seal.issued with format pades"
    );

    // What cannot be sealed is refused, saying why.
    let not_pdf = d.path().join("invoice.txt");
    std::fs::write(&not_pdf, b"not a PDF").unwrap();
    let o = seal(&srv, &not_pdf, &d.path().join("x.pdf"), "B-T");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("this PDF cannot be sealed"),
        "{}",
        text(&o)
    );
    srv.stop();
}
