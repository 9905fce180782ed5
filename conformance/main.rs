//! Kokuin's conformance suite, in the manner of rustls' BoGo runner: a real `kokuin serve`
//! driven by independent implementations, each case a row of a matrix (implementation ×
//! feature × result) written to `conformance/MATRIX.md`, and a corpus of hostile requests
//! (`negative.rs`) written to `conformance/NEGATIVE.md`.
//!
//! `conformance/expected-pass.txt` lists the rows that passed before: any of them failing now
//! fails the run, and so does a missing list. A row passing that is not listed is reported so
//! that it can be added. A normal run writes its matrices under the target directory;
//! `KOKUIN_CONFORMANCE_UPDATE=1` rewrites the tracked `MATRIX.md`, `NEGATIVE.md` and the
//! list from the run. Nothing is skipped: a missing tool is a failing row.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit as common;
mod der_twist;
mod implementations;
mod negative;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

/// One case's outcome: what was checked, and the evidence (or the failure).
pub struct Row {
    pub implementation: &'static str,
    pub feature: String,
    pub result: Result<String, String>,
}

#[derive(Default)]
pub struct Matrix {
    rows: Vec<Row>,
}

impl Matrix {
    /// Runs `case`, catching a panic as the row's failure so that one broken tool does not
    /// hide the other rows.
    pub fn case(
        &mut self,
        implementation: &'static str,
        feature: impl Into<String>,
        case: impl FnOnce() -> Result<String, String>,
    ) {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(case)).unwrap_or_else(|p| {
                Err(p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()))
            });
        let feature = feature.into();
        eprintln!(
            "[{}] {implementation} | {feature}",
            if result.is_ok() { "pass" } else { "FAIL" }
        );
        self.rows.push(Row {
            implementation,
            feature,
            result,
        });
    }

    fn key(r: &Row) -> String {
        format!("{} | {}", r.implementation, r.feature)
    }

    fn markdown(&self) -> String {
        let mut md = String::from(
            "# Conformance matrix\n\n\
             Written by `cargo test --test conformance` (part of `./scripts/test-all`): a dev\n\
             `kokuin serve` checked by independent implementations. Do not edit by hand.\n\n\
             | implementation | feature | result | evidence |\n|---|---|---|---|\n",
        );
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| (r.implementation, r.feature.clone()));
        for r in rows {
            let (res, ev) = match &r.result {
                Ok(e) => ("pass", e.as_str()),
                Err(e) => ("**FAIL**", e.as_str()),
            };
            let ev: String = ev.replace(['\n', '|'], " ").chars().take(160).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {res} | {ev} |",
                r.implementation, r.feature
            );
        }
        md
    }
}

fn expected_path() -> PathBuf {
    Path::new(DIR).join("conformance/expected-pass.txt")
}

/// Where a run writes its matrices: the tracked copies in `conformance/` only when asked to
/// update them, so that a normal run leaves the checkout as it found it.
fn report_dir(update: bool) -> PathBuf {
    if update {
        Path::new(DIR).join("conformance")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance")
    }
}

#[test]
fn conformance() {
    let dir = common::tempdir();
    let mut m = Matrix::default();
    implementations::run_all(&mut m, dir.path());
    let negative = negative::run_all(dir.path());

    let update = std::env::var_os("KOKUIN_CONFORMANCE_UPDATE").is_some();
    let reports = report_dir(update);
    std::fs::create_dir_all(&reports).unwrap();
    let matrix = reports.join("MATRIX.md");
    std::fs::write(&matrix, m.markdown()).unwrap();
    std::fs::write(reports.join("NEGATIVE.md"), negative::markdown(&negative)).unwrap();

    let passed: BTreeSet<String> = m
        .rows
        .iter()
        .filter(|r| r.result.is_ok())
        .map(Matrix::key)
        .collect();
    if update {
        let list: Vec<&str> = passed.iter().map(String::as_str).collect();
        std::fs::write(expected_path(), list.join("\n") + "\n").unwrap();
    }
    // No expectations is not "nothing expected": a missing list fails the run.
    let expected: BTreeSet<String> = std::fs::read_to_string(expected_path())
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path().display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let regressed: Vec<&String> = expected.difference(&passed).collect();
    let new: Vec<&String> = passed.difference(&expected).collect();
    if !new.is_empty() {
        eprintln!("passing rows not yet in expected-pass.txt: {new:#?}");
    }
    let failed_negative: Vec<String> = negative
        .iter()
        .filter(|c| !c.ok())
        .map(|c| format!("{}: expected {}, got {}", c.name, c.expected, c.got))
        .collect();
    assert!(
        regressed.is_empty(),
        "rows that passed before fail now (see {}): {regressed:#?}",
        matrix.display()
    );
    assert!(
        negative.len() >= 200,
        "the negative corpus has {} cases",
        negative.len()
    );
    assert!(
        failed_negative.is_empty(),
        "hostile requests answered wrongly: {failed_negative:#?}"
    );
}
