//! `kokuin audit checkpoint | prove | verify-proof | consistency`: evidence an auditor checks
//! piece by piece, without the whole log: signed tree checkpoints, an inclusion proof per
//! token (C2SP tlog-proof), consistency proofs between checkpoints.

use crate::cmd_error::CmdError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kokuin_audit::cosignature::WitnessKey;
use kokuin_audit::merkle::{Hash, consistency_proof, inclusion_proof, root, verify_consistency};
use kokuin_audit::note::{MAX_NOTE_BYTES, TreeCheckpoint};
use kokuin_audit::tlog_proof::TlogProof;
use kokuin_audit::tree_files::TreeFiles;
use kokuin_audit::{Record, kind, segment};
use kokuin_audit_keys::TrustedCheckpointCerts;
use std::path::{Path, PathBuf};

fn read_text(path: &Path) -> Result<String, CmdError> {
    let bytes = kokuin_certs::file::read_bounded(path, (MAX_NOTE_BYTES + (1 << 20)) as u64)
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| CmdError::usage(format!("{}: not text", path.display())))
}

fn trusted(trust: &[PathBuf]) -> Result<TrustedCheckpointCerts, CmdError> {
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    Ok(TrustedCheckpointCerts(certs))
}

/// The newest signed tree checkpoint of the log in `dir`, as written beside the segments.
fn latest_note(dir: &Path) -> Result<String, CmdError> {
    read_text(&dir.join(segment::TREE_CHECKPOINT_FILE))
}

/// The checkpoint a proof for record `seq` is made against: the newest one witnesses
/// cosigned (`checkpoint.cosigned`) if it covers the record, else the newest one (a witness
/// that is down must not stop proofs).
fn proof_note(dir: &Path, seq: u64) -> Result<String, CmdError> {
    let latest = latest_note(dir)?;
    let origin = TreeCheckpoint::parse(text_of(&latest)).map(|cp| cp.origin);
    let cosigned = dir.join(kokuin_audit::cosignature::COSIGNED_FILE);
    if cosigned.exists() {
        let note = read_text(&cosigned)?;
        // Of the current tree epoch only (`kokuin_audit::loss`).
        if TreeCheckpoint::parse(text_of(&note)).is_ok_and(|cp| {
            origin.as_ref().is_ok_and(|o| *o == cp.origin)
                && cp.start <= seq
                && seq - cp.start < cp.size
        }) {
            return Ok(note);
        }
    }
    Ok(latest)
}

/// `kokuin audit checkpoint DIR`: prints the newest signed tree checkpoint.
pub fn checkpoint(dir: &Path) -> Result<(), CmdError> {
    let note = latest_note(dir)?;
    TreeCheckpoint::parse(text_of(&note))
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    out!("{}", note.trim_end_matches('\n'));
    Ok(())
}

fn tree_of(dir: &Path) -> Result<TreeFiles, CmdError> {
    TreeFiles::open_read_only(dir)
        .map_err(|e| CmdError::usage(format!("{}: the log's tree: {e}", dir.display())))
}

fn text_of(note: &str) -> &str {
    note.rfind("\n\n").map_or(note, |i| &note[..=i])
}

/// `kokuin audit prove DIR --serial HEX -o F`: the inclusion proof of a token's record in the
/// newest signed checkpoint.
pub fn prove(dir: &Path, serial: &str, out: &Path) -> Result<(), CmdError> {
    let (_, record_line) = crate::audit_lookup::token_records(dir, serial, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| CmdError::negative(format!("no token with serial {serial}")))?;
    let seq = Record::parse_line(&record_line)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?
        .seq;
    let note = proof_note(dir, seq)?;
    let cp = TreeCheckpoint::parse(text_of(&note))
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    // After an accepted loss the tree begins again at the log.loss record (loss.rs).
    let Some(index) = seq.checked_sub(cp.start) else {
        return Err(CmdError::usage(format!(
            "record {seq} was written before the loss accepted at record {}: the current tree \
             begins after it; a proof made before the loss still verifies",
            cp.start
        )));
    };
    if index >= cp.size {
        return Err(CmdError::negative(format!(
            "record {index} is not in the newest signed checkpoint ({} records) yet; one \
             follows within a second while the service runs",
            cp.size
        )));
    }
    let tree = tree_of(dir)?;
    let here = root(&tree, cp.size).map_err(|e| CmdError::usage(e.to_string()))?;
    if here != cp.root {
        return Err(CmdError::negative(format!(
            "{}: the tree does not have the checkpoint's root at size {}: damaged",
            dir.display(),
            cp.size
        )));
    }
    let path =
        inclusion_proof(&tree, index, cp.size).map_err(|e| CmdError::usage(e.to_string()))?;
    let proof = TlogProof {
        record_line,
        index,
        path,
        checkpoint: note,
    };
    std::fs::write(out, proof.to_text())
        .map_err(|e| CmdError::usage(format!("cannot write {}: {e}", out.display())))?;
    out!(
        "record {index} in the tree of {} records ({}): {}",
        cp.size,
        cp.origin,
        out.display()
    );
    Ok(())
}

/// Two checkpoints of different origins are of different trees: after an accepted loss the
/// log begins a new tree epoch (`<origin>/from-<seq>`), which cannot extend the earlier one.
fn same_tree(old: &TreeCheckpoint, new: &TreeCheckpoint, old_path: &Path) -> Result<(), CmdError> {
    if old.origin == new.origin {
        return Ok(());
    }
    let why = if new.start > old.start {
        format!(
            "the log began a new tree at record {} after an accepted loss (its log.loss \
             record), so a checkpoint of the earlier tree cannot be extended; compare with a \
             checkpoint of the new tree",
            new.start
        )
    } else {
        "they are checkpoints of different logs".to_string()
    };
    Err(CmdError::usage(format!(
        "{} is a checkpoint of {}, not of {}: {why}",
        old_path.display(),
        old.origin,
        new.origin
    )))
}

/// The base64 lines of a consistency proof.
fn read_hashes(path: &Path) -> Result<Vec<Hash>, CmdError> {
    read_text(path)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            STANDARD
                .decode(l)
                .ok()
                .and_then(|h| Hash::try_from(h).ok())
                .ok_or_else(|| {
                    CmdError::usage(format!("{}: a line is not a base64 hash", path.display()))
                })
        })
        .collect()
}

/// `kokuin audit verify-proof F --trust AUDIT.pem [--token T.tsr] [--since OLD --consistency P]`.
pub fn verify_proof(a: &VerifyProofArgs) -> Result<(), CmdError> {
    let verifier = trusted(&a.trust)?;
    let proof = TlogProof::parse(&read_text(&a.proof)?)
        .map_err(|e| CmdError::usage(format!("{}: {e}", a.proof.display())))?;
    let (cp, record) = proof
        .verify(&verifier)
        .map_err(|e| CmdError::negative(format!("INVALID proof: {e}")))?;
    if let Some(t) = &a.token {
        check_token(&record, t)?;
    }
    if !a.witness.is_empty() {
        let keys = a
            .witness
            .iter()
            .map(|v| WitnessKey::parse_vkey(v).map_err(|e| CmdError::usage(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let cosigned = kokuin_audit::cosignature::verify(&proof.checkpoint, &keys)
            .map_err(|e| CmdError::negative(format!("INVALID: {e}")))?;
        let needed = a.witnesses_needed.unwrap_or(keys.len());
        if cosigned.len() < needed {
            return Err(CmdError::negative(format!(
                "INVALID: {} of the {} trusted witnesses cosigned the checkpoint; {needed} needed",
                cosigned.len(),
                keys.len()
            )));
        }
        for (name, t) in &cosigned {
            out!("cosigned by {name} at {t}");
        }
    }
    if let Some(old) = &a.since {
        let old_cp = kokuin_audit::note::verify(&read_text(old)?, &verifier)
            .map_err(|e| CmdError::negative(format!("{}: {e}", old.display())))?;
        same_tree(&old_cp, &cp, old)?;
        let path = match &a.consistency {
            Some(p) => read_hashes(p)?,
            None if old_cp.size == cp.size || old_cp.size == 0 => Vec::new(),
            None => {
                return Err(CmdError::usage(
                    "--since needs --consistency (kokuin audit consistency LOG OLD NEW)",
                ));
            }
        };
        verify_consistency(old_cp.size, cp.size, &path, &old_cp.root, &cp.root).map_err(|e| {
            CmdError::negative(format!(
                "INVALID: the log is not the one checkpointed at size {}: {e}",
                old_cp.size
            ))
        })?;
        out!("consistent with the checkpoint of {} records", old_cp.size);
    }
    out!(
        "VALID: record {} ({}) is in {} at size {}",
        proof.index,
        record.kind,
        cp.origin,
        cp.size
    );
    Ok(())
}

/// The record must be the token's: serial, genTime and imprint.
fn check_token(record: &Record, token: &Path) -> Result<(), CmdError> {
    let bytes = crate::input::read_file(token)?;
    let der = match kokuin_tsa::ParsedResponse::from_der(&bytes) {
        Ok(r) => r.into_token().map_err(|e| CmdError::usage(e.to_string()))?,
        Err(_) => bytes,
    };
    let t = kokuin_tsa::TimeStampToken::from_der(&der)
        .map_err(|e| CmdError::usage(format!("{}: {e}", token.display())))?;
    let field = |k: &str| record.fields.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let serial = hex::encode(t.tst_info.serial_number.as_bytes());
    let imprint = hex::encode(t.tst_info.message_imprint.hashed_message.as_bytes());
    let gen_time = t.tst_info.gen_time.to_system_time();
    let recorded = humantime::parse_rfc3339(field("gen_time")).ok();
    let mismatch = if record.kind != kind::TOKEN_ISSUED {
        Some(format!("the record is a {}, not a token", record.kind))
    } else if field("serial").trim_start_matches('0') != serial.trim_start_matches('0') {
        Some(format!(
            "serial {} is not the token's {serial}",
            field("serial")
        ))
    } else if field("imprint") != imprint {
        Some("the imprint is not the token's".to_string())
    } else if recorded != Some(gen_time) {
        Some(format!("genTime {} is not the token's", field("gen_time")))
    } else {
        None
    };
    match mismatch {
        Some(m) => Err(CmdError::negative(format!("INVALID: {m}"))),
        None => {
            out!("the record is the token's (serial {serial})");
            Ok(())
        }
    }
}

/// `kokuin audit consistency LOG OLD NEW`: the proof that the tree of NEW extends OLD's.
pub fn consistency(dir: &Path, old: &Path, new: &Path) -> Result<(), CmdError> {
    let parse = |p: &Path| -> Result<TreeCheckpoint, CmdError> {
        TreeCheckpoint::parse(text_of(&read_text(p)?))
            .map_err(|e| CmdError::usage(format!("{}: {e}", p.display())))
    };
    let (o, n) = (parse(old)?, parse(new)?);
    same_tree(&o, &n, old)?;
    let tree = tree_of(dir)?;
    for cp in [&o, &n] {
        if cp.size > tree.size() {
            return Err(CmdError::negative(format!(
                "{}: the log has {} records, the checkpoint {}",
                dir.display(),
                tree.size(),
                cp.size
            )));
        }
        let here = root(&tree, cp.size).map_err(|e| CmdError::usage(e.to_string()))?;
        if here != cp.root {
            return Err(CmdError::negative(format!(
                "{}: at size {} this log's root is not the checkpoint's: rewritten",
                dir.display(),
                cp.size
            )));
        }
    }
    let proof =
        consistency_proof(&tree, o.size, n.size).map_err(|e| CmdError::negative(e.to_string()))?;
    for h in proof {
        out!("{}", STANDARD.encode(h));
    }
    Ok(())
}

/// What `kokuin audit verify-proof` is asked.
#[derive(clap::Args)]
pub struct VerifyProofArgs {
    /// The proof (.tlog-proof).
    pub proof: PathBuf,
    /// Certificate(s) of the audit key (repeatable).
    #[arg(long, required = true)]
    pub trust: Vec<PathBuf>,
    /// The token (.tsr or bare) the record must be the record of.
    #[arg(long)]
    pub token: Option<PathBuf>,
    /// A checkpoint kept from an earlier visit: the log must only have grown since.
    #[arg(long, requires = "consistency")]
    pub since: Option<PathBuf>,
    /// The consistency proof from --since to the proof's checkpoint
    /// (`kokuin audit consistency`).
    #[arg(long)]
    pub consistency: Option<PathBuf>,
    /// A witness whose cosignature counts (its verifier key, `name+hexid+base64key`;
    /// repeatable).
    #[arg(long)]
    pub witness: Vec<String>,
    /// How many of the --witness keys must have cosigned (default: all of them).
    #[arg(long, requires = "witness")]
    pub witnesses_needed: Option<usize>,
}
