//! What an auditor is handed: tlog-proof files, signed notes and tree checkpoints
//! (`kokuin audit verify-proof`, `--since`), parsed and, where they parse, their inclusion
//! paths checked.
#![no_main]

use kokuin_audit::merkle::{leaf_hash, verify_inclusion};
use kokuin_audit::note::{SignedNote, TreeCheckpoint};
use kokuin_audit::tlog_proof::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = TreeCheckpoint::parse(text);
    let _ = SignedNote::parse(text);
    if let Ok(p) = TlogProof::parse(text)
        && let Ok(note) = SignedNote::parse(&p.checkpoint)
        && let Ok(cp) = TreeCheckpoint::parse(note.text)
    {
        let _ = verify_inclusion(
            &leaf_hash(p.record_line.as_bytes()),
            p.index,
            cp.size,
            &p.path,
            &cp.root,
        );
    }
});
