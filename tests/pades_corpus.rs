//! PAdES over a corpus of PDFs from different producers (tests/interop/pdf_corpus.py:
//! reportlab, pikepdf/qpdf, Ghostscript, cairo, pyHanko, a file written by hand — forms,
//! Japanese fonts, object streams, linearized, PDF 2.0, an embedded XML invoice, files already
//! signed or certified by pyHanko), each sealed through the API at every level: the input a
//! byte-for-byte prefix of the output; `qpdf --check` clean; pdfsig (the roots in its NSS
//! database) finds every signature valid and its signer trusted; pyHanko finds every signature intact, valid and trusted (the earlier pyHanko ones
//! too), the seal's time-stamp from B-T, its validation data in the DSS from B-LT and the
//! document time-stamp valid at B-LTA; `kokuin verify --batch` agrees. What the corpus marks
//! as refused is refused with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{Server, client_agent_in, kokuin, run, tempdir, text};
use std::path::{Path, PathBuf};

const LEVELS: [&str; 4] = ["B-B", "B-T", "B-LT", "B-LTA"];

struct Entry {
    name: String,
    producer: String,
    refused_for: Option<String>,
    /// Only invisible seals: a visible one is refused with these words.
    visible_refused: Option<String>,
}

fn corpus(dir: &Path) -> Vec<Entry> {
    let m = kokuin_testkit::pdf::corpus(dir);
    m.as_array()
        .unwrap()
        .iter()
        .map(|e| Entry {
            name: e["name"].as_str().unwrap().into(),
            producer: e["producer"].as_str().unwrap().into(),
            refused_for: (e["expect"] == "refuse").then(|| e["reason"].as_str().unwrap().into()),
            visible_refused: e["visible_refused"].as_str().map(String::from),
        })
        .collect()
}

/// POST the PDF to the seal API; the status and body.
fn seal(agent: &ureq::Agent, base: &str, pdf: &[u8], query: &str) -> (u16, Vec<u8>) {
    let url = format!("{base}/eseal/v1/seal?key=dev-seal&format=pades&{query}");
    kokuin_testkit::pdf::post_pdf(agent, &url, pdf)
}

/// The first page rendered by poppler (36 dpi, grey): what a reader shows.
fn render(pdf: &Path) -> Vec<u8> {
    let o = run(
        "pdftoppm",
        &[
            "-r",
            "36",
            "-f",
            "1",
            "-l",
            "1",
            "-gray",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "pdftoppm {}: {}",
        pdf.display(),
        text(&o)
    );
    o.stdout
}

/// An NSS database (poppler's certificate store) trusting `roots` as CAs.
fn nss_trusting(dir: &Path, roots: &[&Path]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let db = format!("sql:{}", dir.display());
    let o = run("certutil", &["-N", "-d", &db, "--empty-password"]);
    assert!(o.status.success(), "certutil -N: {}", text(&o));
    for (i, r) in roots.iter().enumerate() {
        let nick = format!("root-{i}");
        let o = run(
            "certutil",
            &[
                "-A",
                "-d",
                &db,
                "-n",
                &nick,
                "-t",
                "C,C,C",
                "-i",
                r.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "certutil -A: {}", text(&o));
    }
    db
}

/// What pdfsig (with `nss` as its certificate store) finds: signed fields, signatures it
/// calls valid, signers it calls trusted.
fn pdfsig(pdf: &Path, nss: &str) -> (usize, usize, usize, String) {
    let o = run("pdfsig", &["-nssdir", nss, pdf.to_str().unwrap()]);
    let t = text(&o);
    let signed = t.matches("Signature #").count() - t.matches("is not signed").count();
    let valid = t
        .matches("Signature Validation: Signature is Valid.")
        .count();
    let trusted = t
        .matches("Certificate Validation: Certificate is Trusted.")
        .count();
    (signed, valid, trusted, t)
}

#[test]
fn a_corpus_of_pdfs_from_different_producers_is_sealed_at_every_level() {
    let d = tempdir();
    let state = d.path().join("state");
    let srv = Server::dev(&state);
    let base = srv.https.trim_end_matches("/tsa").to_string();
    let agent = client_agent_in(&state);
    let input_dir = d.path().join("corpus");
    let entries = corpus(&input_dir);
    let to_seal = entries.iter().filter(|e| e.refused_for.is_none()).count();
    assert!(to_seal >= 30, "at least 30 PDFs to seal: {to_seal}");
    let producers: std::collections::BTreeSet<&str> =
        entries.iter().map(|e| e.producer.as_str()).collect();
    assert!(producers.len() >= 6, "{producers:?}");

    let other_root = input_dir.join("other-root.pem");
    let nss = nss_trusting(&d.path().join("nss"), &[&srv.root(), &other_root]);
    let out_dir = d.path().join("sealed");
    std::fs::create_dir_all(&out_dir).unwrap();
    // Each sealed file, with how many signatures it held before and whether a document
    // time-stamp closes it.
    let mut sealed: Vec<(PathBuf, usize, &str)> = Vec::new();
    let (mut shown, mut hidden) = (0, 0);
    for (n, e) in entries.iter().enumerate() {
        let input = std::fs::read(input_dir.join(&e.name)).unwrap();
        if let Some(reason) = &e.refused_for {
            let (status, body) = seal(&agent, &base, &input, "level=B-T");
            let body = String::from_utf8_lossy(&body);
            assert_eq!(status, 422, "{}: {body}", e.name);
            assert!(body.contains(reason.as_str()), "{}: {body}", e.name);
            continue;
        }
        let before = pdfsig(&input_dir.join(&e.name), &nss).0;
        for (l, level) in LEVELS.into_iter().enumerate() {
            // Visible and invisible in turn: every PDF gets both, and so does every level.
            let mut visible = (n + l) % 2 == 0;
            if let (true, Some(why)) = (visible, &e.visible_refused) {
                let (status, body) = seal(
                    &agent,
                    &base,
                    &input,
                    &format!("level={level}&visible=true"),
                );
                let body = String::from_utf8_lossy(&body);
                assert_eq!(status, 422, "{}: {body}", e.name);
                assert!(body.contains(why.as_str()), "{}: {body}", e.name);
                visible = false;
            }
            let query = format!("level={level}&visible={visible}");
            let (status, body) = seal(&agent, &base, &input, &query);
            assert_eq!(
                status,
                200,
                "{} at {level}: {}",
                e.name,
                String::from_utf8_lossy(&body)
            );
            assert!(
                body.starts_with(&input),
                "{} at {level}: an incremental update",
                e.name
            );
            let out = out_dir.join(format!("{}.{level}.pdf", e.name.trim_end_matches(".pdf")));
            std::fs::write(&out, &body).unwrap();
            // What the first page shows: the stamp, or exactly what it showed before.
            let same = render(&input_dir.join(&e.name)) == render(&out);
            assert_eq!(same, !visible, "{} at {level}, visible={visible}", e.name);
            if visible {
                shown += 1;
            } else {
                hidden += 1;
            }
            sealed.push((out, before, level));
        }
    }

    assert!(
        shown >= 60 && hidden >= 60,
        "{shown} visible, {hidden} invisible"
    );
    // One to look at: the stamp on the Japanese invoice.
    let o = run(
        "pdftoppm",
        &[
            "-r",
            "100",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
            out_dir.join("rl-japanese-ttf.B-T.pdf").to_str().unwrap(),
            kokuin_testkit::screenshot_dir()
                .join("pades-visible-seal")
                .to_str()
                .unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let roots = format!("{},{}", srv.root().display(), other_root.display());
    let paths: Vec<&Path> = sealed.iter().map(|(p, _, _)| p.as_path()).collect();
    let all = kokuin_testkit::pdf::pyhanko(&roots, &paths);

    for (pdf, before, level) in &sealed {
        let what = pdf.file_name().unwrap().to_string_lossy();
        let o = run("qpdf", &["--check", pdf.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what}: qpdf --check: {}",
            text(&o)
        );
        let doc_ts = usize::from(*level == "B-LTA");
        let (signed, valid, trusted, t) = pdfsig(pdf, &nss);
        assert_eq!(signed, before + 1 + doc_ts, "{what}: pdfsig: {t}");
        // poppler cannot validate document time-stamps; every other signature is valid and
        // its signer trusted.
        assert_eq!(valid, before + 1, "{what}: pdfsig: {t}");
        assert_eq!(trusted, before + 1, "{what}: pdfsig: {t}");

        let p = &all[pdf.to_str().unwrap()];
        let sigs = p["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), before + 1, "{what}: {p}");
        for s in sigs {
            assert_eq!(s["bottom_line"], true, "{what}: every signature holds: {p}");
        }
        let seal = sigs.last().unwrap();
        assert_eq!(seal["signer_is_sealer"], true, "{what}: {p}");
        assert_eq!(seal["subfilter"], "/ETSI.CAdES.detached", "{what}: {p}");
        assert_eq!(seal["signing_time_attribute"], false, "{what}: {p}");
        assert_eq!(seal["timestamp"], *level != "B-B", "{what}: {p}");
        if matches!(*level, "B-LT" | "B-LTA") {
            // The DSS (and the document time-stamp) come in revisions of their own, which
            // pyHanko classes as validation-data updates.
            assert_eq!(seal["coverage"], "ENTIRE_REVISION", "{what}: {p}");
            assert_eq!(seal["modification_level"], "LTA_UPDATES", "{what}: {p}");
            assert_eq!(
                seal["from_dss"], true,
                "{what}: B-LT from the DSS alone: {p}"
            );
        } else {
            assert_eq!(seal["coverage"], "ENTIRE_FILE", "{what}: {p}");
        }
        let ts = p["document_timestamps"].as_array().unwrap();
        assert_eq!(ts.len(), doc_ts, "{what}: {p}");
        for t in ts {
            assert_eq!(t["valid"], true, "{what}: {p}");
            assert_eq!(t["coverage"], "ENTIRE_FILE", "{what}: {p}");
        }
    }

    // kokuin verify --batch: every sealed file of the corpus valid under the two roots.
    let o = kokuin(&[
        "verify",
        "--batch",
        out_dir.to_str().unwrap(),
        "--trust",
        srv.root().to_str().unwrap(),
        "--trust",
        other_root.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{} valid", sealed.len())),
        "{}",
        text(&o)
    );
    tampering_is_found(d.path(), &out_dir, &srv.root(), &roots);
    srv.stop();
}

/// The hex string of the last `/Contents` in `pdf`: where the seal's CMS is.
fn contents_at(pdf: &[u8]) -> (usize, usize) {
    let mut found = None;
    for (i, _) in pdf
        .windows(9)
        .enumerate()
        .filter(|(_, w)| *w == b"/Contents")
    {
        let mut at = i + 9;
        while pdf[at].is_ascii_whitespace() {
            at += 1;
        }
        if pdf[at] == b'<' {
            let len = pdf[at + 1..].iter().position(|&b| b == b'>').unwrap();
            found = Some((at + 1, at + 1 + len));
        }
    }
    found.unwrap()
}

/// A changed byte in the signed range, a byte appended after the seal, a signature swapped in
/// from another sealed file and a later revision that turns the page: `kokuin verify` says
/// NOT VALID (exit 1) and which, and pyHanko does not pass the file either.
fn tampering_is_found(work: &Path, sealed: &Path, root: &Path, roots: &str) {
    let bb = std::fs::read(sealed.join("rl-invoice.B-B.pdf")).unwrap();
    let other = std::fs::read(sealed.join("gs-pdfwrite.B-B.pdf")).unwrap();
    let dir = work.join("tampered");
    std::fs::create_dir_all(&dir).unwrap();

    let mut changed = bb.clone();
    assert_eq!(&changed[..5], b"%PDF-");
    changed[7] ^= 1; // the header's version digit: inside the first signed range
    let mut appended = bb.clone();
    appended.push(b'X');
    let (a0, a1) = contents_at(&bb);
    let (b0, b1) = contents_at(&other);
    assert_eq!(a1 - a0, b1 - b0, "the same room for every seal");
    let mut swapped = bb.clone();
    swapped[a0..a1].copy_from_slice(&other[b0..b1]);
    let mut turned: lopdf::IncrementalDocument = bb.as_slice().try_into().unwrap();
    let page = turned.get_prev_documents().page_iter().next().unwrap();
    turned.opt_clone_object_to_new_document(page).unwrap();
    turned
        .new_document
        .get_dictionary_mut(page)
        .unwrap()
        .set("Rotate", 180);
    let mut turned_bytes = Vec::new();
    turned.save_to(&mut turned_bytes).unwrap();
    assert!(turned_bytes.starts_with(&bb));

    let mut files = Vec::new();
    for (name, bytes, says) in [
        ("changed.pdf", &changed, "NOT VALID seal \"Kokuin seal 1\""),
        (
            "appended.pdf",
            &appended,
            "1 bytes were added after the last signature",
        ),
        ("swapped.pdf", &swapped, "NOT VALID seal \"Kokuin seal 1\""),
        (
            "turned.pdf",
            &turned_bytes,
            "was changed after the last signature",
        ),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, bytes).unwrap();
        let o = kokuin(&[
            "verify",
            f.to_str().unwrap(),
            "--trust",
            root.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(text(&o).contains(says), "{name}: {says}: {}", text(&o));
        files.push(f.display().to_string());
    }
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let all = kokuin_testkit::pdf::pyhanko(roots, &paths);
    for f in &files {
        let s = &all[f.as_str()]["signatures"][0];
        // pyHanko: the signature broken, or the file not wholly covered by it with nothing
        // but validation data after.
        let passes = s["bottom_line"] == true
            && (s["coverage"] == "ENTIRE_FILE" || s["modification_level"] == "LTA_UPDATES");
        assert!(!passes, "{f}: pyHanko passes it: {s}");
    }
}
