//! `kokuin verify --batch PATH…`: thousands of tokens and seals verified at once, years later,
//! on every core, without holding them all: a walker streams paths to one worker per core
//! through a bounded queue, and each result becomes one JSON line of the report as it comes.
//!
//! Pairing rule: a token or seal is a file ending in `.tsr`, `.tst`, `.p7s` or `.p7m` (or
//! any file named on the command line); its document is the file of the same name without
//! that last extension (`invoice.pdf.tsr` → `invoice.pdf`). A token needs its document; a
//! seal without one is verified as enveloping. A `.pdf` that is no such document is verified
//! itself: every seal and document time-stamp inside it (PAdES).

use crate::cmd_error::CmdError;
use crate::input::hash_file;
use crate::verify_args::VerifyArgs;
use kokuin_certs::pem::load_certificates;
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_eseal::SealVerifyOptions;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifyOptions};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::SystemTime;
use x509_cert::Certificate;

/// Paths handed to a worker at once, and results handed back: one wake-up per chunk, not per
/// item (per item, thread hand-offs took a tenth of the batch's CPU).
const CHUNK: usize = 32;

/// One item's outcome: the file, its document, the verdict.
type Done = (PathBuf, Option<PathBuf>, Verdict);

/// Extensions of tokens and seals when a directory is walked.
const EVIDENCE: [&str; 4] = ["tsr", "tst", "p7s", "p7m"];

/// What one item came to.
enum Verdict {
    Valid(Value),
    Invalid(String),
    BadInput(String),
}

/// What every worker checks against.
struct Trust {
    anchors: Vec<Certificate>,
    extra: Vec<Certificate>,
    at: SystemTime,
}

/// Runs the batch and prints the summary.
pub fn run(a: &VerifyArgs) -> Result<(), CmdError> {
    let load = |paths: &[PathBuf]| -> Result<Vec<Certificate>, CmdError> {
        let mut v = Vec::new();
        for p in paths {
            v.extend(load_certificates(p).map_err(|e| CmdError::usage(e.to_string()))?);
        }
        Ok(v)
    };
    let trust = Trust {
        anchors: load(&a.trust)?,
        extra: load(&a.untrusted)?,
        at: match &a.at {
            Some(t) => humantime::parse_rfc3339(t)
                .map_err(|e| CmdError::usage(format!("--at {t}: {e}")))?,
            None => SystemTime::now(),
        },
    };
    let mut report = match &a.report {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| CmdError::usage(format!("cannot write {}: {e}", p.display())),
        )?)),
        None => None,
    };
    // "N of M": M is what the walk has found so far, and grows until it is done.
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} of {len} verified ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let found = std::sync::atomic::AtomicU64::new(0);
    // The first failures, named on the terminal even without --report.
    let mut failures: Vec<String> = Vec::new();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (paths_tx, paths_rx) = sync_channel::<Vec<PathBuf>>(workers * 4);
    let paths_rx = Mutex::new(paths_rx);
    let (done_tx, done_rx) = sync_channel::<Vec<Done>>(workers * 4);
    let (mut valid, mut invalid, mut bad) = (0u64, 0u64, 0u64);
    let mut write_error = None;
    std::thread::scope(|s| {
        let (roots, found) = (&a.batch, &found);
        s.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut seen = HashSet::new();
            for r in roots {
                walk(r, true, 0, &mut seen, &mut chunk, &paths_tx, found);
            }
            if !chunk.is_empty() {
                let _ = paths_tx.send(chunk);
            }
        });
        for _ in 0..workers {
            let (rx, tx, trust) = (&paths_rx, done_tx.clone(), &trust);
            s.spawn(move || worker(rx, &tx, trust));
        }
        drop(done_tx);
        for (file, document, verdict) in done_rx.into_iter().flatten() {
            let line = match &verdict {
                Verdict::Valid(v) => {
                    valid += 1;
                    let mut v = v.clone();
                    v["result"] = json!("valid");
                    v
                }
                Verdict::Invalid(r) => {
                    invalid += 1;
                    if failures.len() < NAMED_FAILURES {
                        failures.push(format!("INVALID {}: {r}", file.display()));
                    }
                    json!({ "result": "invalid", "reason": r })
                }
                Verdict::BadInput(r) => {
                    bad += 1;
                    if failures.len() < NAMED_FAILURES {
                        failures.push(format!("CANNOT BE VERIFIED {}: {r}", file.display()));
                    }
                    json!({ "result": "bad-input", "reason": r })
                }
            };
            let mut line = line;
            line["file"] = json!(file.display().to_string());
            line["document"] = json!(document.map(|d| d.display().to_string()));
            if let Some(w) = report.as_mut()
                && let Err(e) = writeln!(w, "{line}")
            {
                write_error.get_or_insert(e);
            }
            if let Some(b) = &bar {
                b.set_length(found.load(std::sync::atomic::Ordering::Relaxed));
                b.inc(1);
            }
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(w) = report.as_mut()
        && let Err(e) = w.flush()
    {
        write_error.get_or_insert(e);
    }
    if let (Some(e), Some(p)) = (write_error, &a.report) {
        return Err(CmdError::usage(format!(
            "cannot write {}: {e}",
            p.display()
        )));
    }
    let total = valid + invalid + bad;
    out!("{total} verified: {valid} valid, {invalid} invalid, {bad} could not be read");
    for f in &failures {
        out!("  {f}");
    }
    let unnamed = (invalid + bad).saturating_sub(failures.len() as u64);
    if unnamed > 0 {
        out!(
            "  … and {unnamed} more{}",
            if a.report.is_some() {
                " (the report lists every one)"
            } else {
                " (--report FILE lists every one)"
            }
        );
    }
    match (invalid, bad, total) {
        (_, _, 0) => Err(CmdError::usage("no token or seal found")),
        (0, 0, _) => Ok(()),
        (0, _, _) => Err(CmdError::usage(format!("{bad} items could not be read"))),
        _ => Err(CmdError::negative(format!("{invalid} items are INVALID"))),
    }
}

/// Failures named on the terminal at most; `--report` has them all.
const NAMED_FAILURES: usize = 20;

/// How deep `verify --batch` goes below a directory it is given.
const MAX_DEPTH: usize = 64;

/// Sends every token and seal under `path`, in chunks; a path named on the command line counts
/// whatever its extension. The walk is bounded: links to directories inside the tree are not
/// followed, each directory is read once (by device and inode, so no loop can repeat one),
/// and no deeper than [`MAX_DEPTH`].
fn walk(
    path: &Path,
    named: bool,
    depth: usize,
    seen: &mut HashSet<(u64, u64)>,
    chunk: &mut Vec<PathBuf>,
    out: &SyncSender<Vec<PathBuf>>,
    found: &std::sync::atomic::AtomicU64,
) {
    use std::os::unix::fs::MetadataExt;
    // A name given on the command line is followed; one found in a directory is not.
    let meta = if named {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let Ok(meta) = meta else {
        if named {
            push(path.to_path_buf(), chunk, out, found);
        }
        return;
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH || !seen.insert((meta.dev(), meta.ino())) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            push(path.to_path_buf(), chunk, out, found);
            return;
        };
        for e in entries.flatten() {
            walk(&e.path(), false, depth + 1, seen, chunk, out, found);
        }
    } else if meta.file_type().is_symlink() && std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        // A link to a directory inside the tree: not followed.
    } else if named
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EVIDENCE.contains(&e.to_ascii_lowercase().as_str()))
        || sealed_pdf(path)
    {
        push(path.to_path_buf(), chunk, out, found);
    }
}

/// A `.pdf` is evidence itself (its seals inside it) unless it is the document of a token
/// or seal beside it (`invoice.pdf` with `invoice.pdf.p7s`): then that one is verified.
fn sealed_pdf(path: &Path) -> bool {
    let is_pdf = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    is_pdf
        && !EVIDENCE.iter().any(|e| {
            let mut sidecar = path.as_os_str().to_owned();
            sidecar.push(".");
            sidecar.push(e);
            Path::new(&sidecar).exists()
        })
}

/// One more item: counted (the progress line's total), sent with its chunk.
fn push(
    path: PathBuf,
    chunk: &mut Vec<PathBuf>,
    out: &SyncSender<Vec<PathBuf>>,
    found: &std::sync::atomic::AtomicU64,
) {
    found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    chunk.push(path);
    if chunk.len() == CHUNK {
        let _ = out.send(std::mem::replace(chunk, Vec::with_capacity(CHUNK)));
    }
}

fn worker(rx: &Mutex<Receiver<Vec<PathBuf>>>, tx: &SyncSender<Vec<Done>>, trust: &Trust) {
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(paths) = next else { return };
        let done = paths
            .into_iter()
            .map(|path| {
                let document = Some(path.with_extension("")).filter(|d| d.is_file() && *d != path);
                let verdict = verify_one(&path, document.as_deref(), trust);
                (path, document, verdict)
            })
            .collect();
        if tx.send(done).is_err() {
            return;
        }
    }
}

fn verify_one(path: &Path, document: Option<&Path>, trust: &Trust) -> Verdict {
    let bytes = match crate::input::read_file(path) {
        Ok(b) => b,
        Err(e) => return Verdict::BadInput(e.message),
    };
    if bytes.starts_with(b"%PDF-") {
        return verify_pdf(&bytes, trust);
    }
    // A .tsr is told apart by its first parse; only what is not a TimeStampResp is parsed as
    // CMS to tell a seal from a bare token (each parse costs about a fifth of a verify).
    let token = match ParsedResponse::from_der(&bytes) {
        Ok(r) => r.into_token().and_then(|d| TimeStampToken::from_der(&d)),
        Err(_) if kokuin_eseal::verify::is_seal(&bytes) => {
            return verify_seal(&bytes, document, trust);
        }
        Err(_) => TimeStampToken::from_der(&bytes),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return Verdict::BadInput(format!("not a time-stamp token or seal: {e}")),
    };
    let Some(doc) = document else {
        return Verdict::BadInput(format!(
            "no document {} beside the token",
            path.with_extension("").display()
        ));
    };
    let digest = match token.hash_algorithm() {
        Ok(alg) => match hash_file(doc, alg) {
            Ok(d) => d,
            Err(e) => return Verdict::BadInput(e.message),
        },
        Err(e) => return Verdict::Invalid(e.to_string()),
    };
    match token.verify(&VerifyOptions {
        trust_anchors: &trust.anchors,
        extra_certificates: &trust.extra,
        expected_digest: Some(&digest),
        request: None,
    }) {
        Ok(v) => Verdict::Valid(json!({
            "kind": "token",
            "serial": hex::encode(v.serial.as_bytes()),
            "gen_time": v.gen_time.to_rfc3339(),
            "policy": v.policy.to_string(),
        })),
        // Not proven wrong: the verifier lacks the signer's certificate or its root.
        Err(e) if e.cannot_judge() => Verdict::BadInput(e.to_string()),
        Err(e) => Verdict::Invalid(e.to_string()),
    }
}

/// A PDF: valid when every seal and document time-stamp in it is.
fn verify_pdf(bytes: &[u8], trust: &Trust) -> Verdict {
    use crate::verify_pdf::Outcome;
    let (judged, uncovered, tail) =
        match crate::verify_pdf::judge(bytes, &trust.anchors, &trust.extra, trust.at) {
            Ok(j) => j,
            Err(e) => return Verdict::BadInput(e),
        };
    if let kokuin_pades::Tail::Other(why) = &tail {
        return Verdict::Invalid(format!(
            "{uncovered} bytes after the last signature are not validation data ({why})"
        ));
    }
    for j in &judged {
        match &j.outcome {
            Outcome::Invalid(why) => {
                return Verdict::Invalid(format!("{} {}: {why}", j.kind, j.field));
            }
            Outcome::CannotJudge(why) => {
                return Verdict::BadInput(format!("{} {}: {why}", j.kind, j.field));
            }
            Outcome::Valid(_) => {}
        }
    }
    Verdict::Valid(json!({
        "kind": "pdf",
        "signatures": judged.len(),
        "bytes_after_last_signature": uncovered,
    }))
}

fn verify_seal(bytes: &[u8], document: Option<&Path>, trust: &Trust) -> Verdict {
    let alg = match ParsedSignedData::from_der(bytes).and_then(|p| p.digest_algorithm()) {
        Ok(a) => a,
        Err(e) => return Verdict::Invalid(e.to_string()),
    };
    let digest = match document.map(|d| hash_file(d, alg)).transpose() {
        Ok(d) => d,
        Err(e) => return Verdict::BadInput(e.message),
    };
    let opts = SealVerifyOptions {
        trust_anchors: &trust.anchors,
        extra_certificates: &trust.extra,
        detached: digest.as_deref().map(|d| Detached::Digest(alg, d)),
        at: trust.at,
        level_policies: &[],
        form: kokuin_eseal::SealForm::Cades,
    };
    match kokuin_eseal::verify::verify_seal(bytes, &opts) {
        Ok(r) => Verdict::Valid(json!({
            "kind": "seal",
            "level": r.level.to_string(),
            "organisation": r.subject.as_ref().ok().map(|s| s.organization.clone()),
        })),
        // Not proven wrong: the verifier lacks the signer's certificate or its root.
        Err(e) if e.cannot_judge() => Verdict::BadInput(e.to_string()),
        Err(e) => Verdict::Invalid(e.to_string()),
    }
}
