//! A PDF a caller sends to be sealed (`format=pades`): whatever the bytes, `prepare` answers
//! without panicking, and what it prepares keeps the input as its prefix, embeds a CMS in the
//! room it reserved, reads back as a signature covering the whole file, and can be prepared
//! again (a second seal on the first). Any PDF's signatures, and what follows the last, are
//! read without panicking.
#![no_main]

use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{
    Appearance, Kind, Options, StampFont, Tail, after_signatures, prepare, seal_lines, signatures,
};
use std::sync::{Arc, OnceLock};
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

/// The font Debian's fonts-ipafont-gothic installs (the test command installs it), read once.
fn stamp_font() -> Option<Arc<StampFont>> {
    static FONT: OnceLock<Option<Arc<StampFont>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let data = std::fs::read("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf").ok()?;
        StampFont::new(data).ok().map(Arc::new)
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    // What a verifier reads of any PDF: its signatures, and what follows the last one.
    if let Ok(sigs) = signatures(data) {
        if let Some(last) = sigs.iter().map(|s| s.end()).max() {
            let _ = after_signatures(data, last);
        }
    }
    let opts = Options {
        kind: Kind::Seal {
            name: "株式会社 Fuzz".into(),
            time: SystemTime::UNIX_EPOCH,
        },
        room: 64,
        certify: false,
        // Every other input as a visible seal: the page's boxes read through /Parent, the
        // stamp's font subset and appearance written.
        appearance: stamp_font().filter(|_| data.len() % 2 == 1).map(|font| Appearance {
            font,
            page: 0,
            rect: None,
            lines: seal_lines("株式会社 Fuzz", Some("7123456789012"), SystemTime::UNIX_EPOCH),
            image: None,
        }),
    };
    let Ok(p) = prepare(data, &opts) else { return };
    let _ = p.digest(DigestAlgorithm::Sha256);
    let out = p.embed(&[0x30; 64]).expect("the room reserved holds what it was reserved for");
    assert!(out.starts_with(data), "an incremental update keeps the input");
    let sigs = signatures(&out).expect("a prepared PDF's signatures read back");
    let last = sigs.iter().map(|s| s.end()).max().expect("the new signature is there");
    assert_eq!(after_signatures(&out, last), Tail::Nothing, "the seal covers the whole file");
    let again = prepare(
        &out,
        &Options { kind: Kind::DocTimeStamp, room: 64, certify: false, appearance: None },
    );
    assert!(again.is_ok(), "a prepared PDF takes one more signature: {:?}", again.err());
});
