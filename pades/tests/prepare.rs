//! `prepare` on small hand-made PDFs (the fuzz target's seeds): the input stays the prefix,
//! the byte ranges are the whole file but `/Contents`, a second field can follow, and a PDF
//! whose certification signature forbids changes (DocMDP P=1) or that is not a PDF is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{Kind, Options, PadesError, prepare};
use std::time::SystemTime;

fn seed(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../fuzz/seeds/pades_prepare/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn seal() -> Options {
    Options {
        kind: Kind::Seal {
            name: "株式会社テスト".into(),
            time: SystemTime::UNIX_EPOCH,
        },
        room: 256,
        certify: false,
        appearance: None,
    }
}

/// The four numbers of the last `/ByteRange [...]` in `pdf`.
fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").unwrap();
    let open = at + text[at..].find('[').unwrap();
    let close = open + text[open..].find(']').unwrap();
    let n: Vec<usize> = text[open + 1..close]
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    [n[0], n[1], n[2], n[3]]
}

#[test]
fn the_signature_covers_all_but_its_contents_and_keeps_the_input() {
    let input = seed("invoice.pdf");
    let p = prepare(&input, &seal()).unwrap();
    let digest = p.digest(DigestAlgorithm::Sha256);
    let out = p.embed(&[0xAB; 200]).unwrap();
    assert!(out.starts_with(&input));
    let [a, b, c, d] = byte_range(&out);
    assert_eq!(a, 0);
    assert_eq!(c + d, out.len(), "to the end of the file");
    assert_eq!(&out[b..b + 1], b"<", "the gap starts at /Contents' <");
    assert_eq!(&out[c - 1..c], b">", "and ends after its >");
    assert_eq!(c - b, 2 + 2 * 256);
    assert!(out[b + 1..].starts_with(b"ABAB"), "the CMS in hex");
    let mut h = DigestAlgorithm::Sha256.hasher();
    h.update(&out[a..b]);
    h.update(&out[c..c + d]);
    assert_eq!(
        h.finalize(),
        digest,
        "the digest is of the ranges as they end up"
    );
    // The name is UTF-16BE with its BOM (FEFF), as PDF text strings outside ASCII are.
    let text = String::from_utf8_lossy(&out);
    let name = &text[text.find("/Name").unwrap()..];
    assert!(
        name[..30].to_ascii_uppercase().contains("FEFF"),
        "{}",
        &name[..30]
    );

    // A document time-stamp after it: its own field, its own range to the new end.
    let t = prepare(
        &out,
        &Options {
            kind: Kind::DocTimeStamp,
            room: 64,
            certify: false,
            appearance: None,
        },
    )
    .unwrap()
    .embed(&[1; 64])
    .unwrap();
    assert!(t.starts_with(&out));
    let [_, _, c2, d2] = byte_range(&t);
    assert_eq!(c2 + d2, t.len());
    let text = String::from_utf8_lossy(&t);
    assert!(text.contains("/DocTimeStamp") && text.contains("/ETSI.RFC3161"));
    assert!(text.contains("Kokuin time-stamp 2"));
}

#[test]
fn what_cannot_take_a_seal_is_refused_naming_why() {
    assert!(matches!(
        prepare(&seed("certified-p1.pdf"), &seal()),
        Err(PadesError::Locked(_))
    ));
    assert!(matches!(
        prepare(b"not a PDF", &seal()),
        Err(PadesError::Parse(_))
    ));
    // Found by the fuzz target: a table lopdf rebuilt by scanning has no /Prev to chain an
    // update to; sealed, every older object would have been lost.
    assert!(matches!(
        prepare(&seed("damaged-xref.pdf"), &seal()),
        Err(PadesError::Damaged)
    ));
    let p = prepare(&seed("invoice.pdf"), &seal()).unwrap();
    assert!(matches!(
        p.embed(&[0; 257]),
        Err(PadesError::TooLarge {
            got: 257,
            room: 256
        })
    ));
}
