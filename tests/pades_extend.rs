//! `POST /eseal/v1/extend?format=pades`: a PDF this service sealed at B-T raised to B-LT and
//! B-LTA (and renewed), as incremental updates — the input a byte-for-byte prefix, the earlier
//! pyHanko signature and the seal still valid to pyHanko and pdfsig, the DSS making the seal
//! B-LT from the PDF alone, the document time-stamps valid, `kokuin verify` saying B-LTA.
//! Refused, with the reason: a B-B seal, a PDF no key of this service sealed, bytes appended
//! after the seal, a changed byte, B-T, a digest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::pdf::post_pdf as post;
use kokuin_testkit::{Server, client_agent_in, kokuin, run, tempdir, text};
use std::path::Path;

fn pyhanko(roots: &str, pdf: &Path) -> serde_json::Value {
    kokuin_testkit::pdf::pyhanko(roots, &[pdf])[pdf.to_str().unwrap()].clone()
}

#[test]
fn a_sealed_pdf_is_extended_to_b_lt_and_b_lta_keeping_every_signature_valid() {
    let d = tempdir();
    let state = d.path().join("state");
    let srv = Server::dev(&state);
    let base = srv.https.trim_end_matches("/tsa").to_string();
    let agent = client_agent_in(&state);
    let corpus = d.path().join("corpus");
    kokuin_testkit::pdf::corpus(&corpus);
    let roots = format!(
        "{},{}",
        srv.root().display(),
        corpus.join("other-root.pem").display()
    );
    let seal = |pdf: &[u8], query: &str| {
        post(
            &agent,
            &format!("{base}/eseal/v1/seal?key=dev-seal&format=pades&{query}"),
            pdf,
        )
    };
    let extend = |pdf: &[u8], query: &str| {
        post(
            &agent,
            &format!("{base}/eseal/v1/extend?format=pades&{query}"),
            pdf,
        )
    };
    let write = |name: &str, b: &[u8]| {
        let p = d.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };

    // Signed by pyHanko first, then sealed at B-T by this service (visibly).
    let signed = std::fs::read(corpus.join("ph-signed.pdf")).unwrap();
    let (status, bt) = seal(&signed, "level=B-T&visible=true");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bt));

    let (status, lt) = extend(&bt, "level=B-LT");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lt));
    assert!(lt.starts_with(&bt), "an incremental update");
    let lt_path = write("lt.pdf", &lt);
    let p = pyhanko(&roots, &lt_path);
    let sigs = p["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{p}");
    assert_eq!(
        sigs[0]["bottom_line"], true,
        "pyHanko's signature stays valid: {p}"
    );
    assert_eq!(sigs[1]["bottom_line"], true, "{p}");
    assert_eq!(sigs[1]["from_dss"], true, "B-LT from the DSS alone: {p}");
    assert_eq!(sigs[1]["modification_level"], "LTA_UPDATES", "{p}");

    let (status, lta) = extend(&lt, "level=B-LTA");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lta));
    assert!(lta.starts_with(&lt));
    // Renewed: one more document time-stamp over the first.
    let (status, renewed) = extend(&lta, "level=B-LTA");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&renewed));
    assert!(renewed.starts_with(&lta));
    let renewed_path = write("renewed.pdf", &renewed);
    let p = pyhanko(&roots, &renewed_path);
    for s in p["signatures"].as_array().unwrap() {
        assert_eq!(s["bottom_line"], true, "{p}");
    }
    let ts = p["document_timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), 2, "{p}");
    assert!(ts.iter().all(|t| t["valid"] == true), "{p}");
    let o = run("qpdf", &["--check", renewed_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run("pdfsig", &[renewed_path.to_str().unwrap()]);
    assert_eq!(
        text(&o)
            .matches("Signature Validation: Signature is Valid.")
            .count(),
        2,
        "{}",
        text(&o)
    );
    let o = kokuin(&[
        "verify",
        renewed_path.to_str().unwrap(),
        "--trust",
        srv.root().to_str().unwrap(),
        "--trust",
        corpus.join("other-root.pem").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PAdES B-LTA"), "{}", text(&o));
    assert_eq!(
        text(&o).matches("VALID document time-stamp").count(),
        2,
        "{}",
        text(&o)
    );

    // Refused, each with its reason.
    let (_, bb) = seal(&signed, "level=B-B");
    let mut appended = bt.clone();
    appended.extend_from_slice(b"\n% later\n");
    let mut changed = bt.clone();
    changed[7] ^= 1;
    let invoice = std::fs::read(corpus.join("rl-invoice.pdf")).unwrap();
    for (what, pdf, query, status, says) in [
        ("a B-B seal", &bb, "level=B-LT", 422, "is B-B"),
        (
            "another signer's PDF",
            &signed,
            "level=B-LT",
            404,
            "no seal key of this service",
        ),
        (
            "an unsigned PDF",
            &invoice,
            "level=B-LTA",
            404,
            "holds no signature",
        ),
        (
            "bytes appended",
            &appended,
            "level=B-LTA",
            422,
            "not validation data",
        ),
        (
            "a changed byte",
            &changed,
            "level=B-LT",
            422,
            "does not verify",
        ),
        ("B-T", &bt, "level=B-T", 400, "B-LT or B-LTA"),
        (
            "a digest",
            &invoice,
            "level=B-LT&digest=00",
            400,
            "no digest",
        ),
    ] {
        let (s, body) = extend(pdf, query);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(s, status, "{what}: {body}");
        assert!(body.contains(says), "{what}: {says}: {body}");
    }

    let lines = kokuin_testkit::audit_lines(&state);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"operation\":\"extend\"") && l.contains("\"format\":\"pades\"")),
        "seal.issued for the PDF's extension"
    );
    srv.stop();
}
