//! `kokuin verify --batch`: a directory of tokens and seals beside their documents verified
//! on every core, one JSON line per item in the report, exit 0 only when every one is valid.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use serde_json::Value;

#[test]
fn a_directory_of_evidence_is_verified_item_by_item() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    let srv = Server::dev(&state);
    let batch = w.join("batch");
    std::fs::create_dir_all(batch.join("2026/12")).unwrap();
    for i in 0..12 {
        // Some in a subdirectory: directories are walked.
        let sub = if i % 3 == 0 {
            batch.join("2026/12")
        } else {
            batch.clone()
        };
        let doc = sub.join(format!("invoice-{i}.xml"));
        std::fs::write(&doc, format!("<Invoice><ID>{i}</ID></Invoice>\n")).unwrap();
        request_token(&srv.http, &doc, &sub.join(format!("invoice-{i}.xml.tsr")));
    }
    // A detached seal beside its document.
    let pki = state.join("pki");
    let sealed = batch.join("invoice-1.xml");
    let o = kokuin(&[
        "seal",
        sealed.to_str().unwrap(),
        "--url",
        srv.https.trim_end_matches("/tsa"),
        "--key",
        "dev-seal",
        "--client-cert",
        pki.join("client.pem").to_str().unwrap(),
        "--client-key",
        pki.join("client.key").to_str().unwrap(),
        "--ca",
        pki.join("root.pem").to_str().unwrap(),
        "-o",
        batch.join("invoice-1.xml.p7s").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // A document changed after it was time-stamped, a file that is no token, and a token
    // without its document.
    std::fs::write(
        batch.join("invoice-4.xml"),
        "<Invoice><ID>4</ID><Paid/></Invoice>\n",
    )
    .unwrap();
    std::fs::write(batch.join("junk.tsr"), b"\x30\x03\x02\x01\x00 not a token").unwrap();
    std::fs::copy(
        batch.join("invoice-2.xml.tsr"),
        batch.join("orphan.xml.tsr"),
    )
    .unwrap();

    let report = w.join("report.jsonl");
    let root = srv.root();
    let run = || {
        kokuin(&[
            "verify",
            "--batch",
            batch.to_str().unwrap(),
            "--trust",
            root.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
    };
    let o = run();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("15 verified: 12 valid, 1 invalid, 2 could not be read"),
        "{}",
        text(&o)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 15);
    let of = |name: &str| {
        lines
            .iter()
            .find(|l| l["file"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    assert_eq!(of("invoice-4.xml.tsr")["result"], "invalid");
    assert!(
        of("invoice-4.xml.tsr")["reason"]
            .as_str()
            .unwrap()
            .contains("imprint")
    );
    assert_eq!(of("junk.tsr")["result"], "bad-input");
    assert_eq!(of("orphan.xml.tsr")["result"], "bad-input");
    let seal = of("invoice-1.xml.p7s");
    assert_eq!(
        (seal["result"].as_str(), seal["kind"].as_str()),
        (Some("valid"), Some("seal"))
    );
    assert!(
        seal["document"]
            .as_str()
            .unwrap()
            .ends_with("invoice-1.xml")
    );
    let token = of("invoice-3.xml.tsr");
    assert_eq!(token["result"], "valid");
    assert!(token["serial"].as_str().is_some_and(|s| !s.is_empty()));

    // Without the three bad items, everything is valid: exit 0.
    for f in ["invoice-4.xml.tsr", "junk.tsr", "orphan.xml.tsr"] {
        std::fs::remove_file(batch.join(f)).unwrap();
    }
    let o = run();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("12 verified: 12 valid"), "{}", text(&o));
}

/// The acceptance: 10,000 tokens, 3 of them damaged in three ways, and the batch
/// reports exactly those 3. Documents are the 4-octet big-endian numbers `tsq(i)` stamps.
#[test]
fn ten_thousand_tokens_with_three_damaged_report_exactly_those_three() {
    const N: u32 = 10_000;
    let dir = tempdir();
    let w = dir.path();
    let srv = Server::dev(&w.join("state"));
    let batch = w.join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    std::thread::scope(|s| {
        for part in 0..4u32 {
            let (batch, url) = (&batch, &srv.http);
            s.spawn(move || {
                let ag = agent(None);
                for i in (part..N).step_by(4) {
                    let r = tsa_post(&ag, url, &tsq(i));
                    assert!(granted(&r), "token {i}");
                    std::fs::write(batch.join(format!("d{i}.bin.tsr")), &r.body).unwrap();
                    std::fs::write(batch.join(format!("d{i}.bin")), i.to_be_bytes()).unwrap();
                }
            });
        }
    });
    // A document changed, a token's signature changed, a token cut short.
    std::fs::write(batch.join("d17.bin"), 9999u32.to_le_bytes()).unwrap();
    let p = batch.join("d4242.bin.tsr");
    let mut t = std::fs::read(&p).unwrap();
    let n = t.len();
    t[n - 10] ^= 0x01;
    std::fs::write(&p, t).unwrap();
    let p = batch.join("d9001.bin.tsr");
    let t = std::fs::read(&p).unwrap();
    std::fs::write(&p, &t[..t.len() / 2]).unwrap();

    let report = w.join("report.jsonl");
    let o = kokuin(&[
        "verify",
        "--batch",
        batch.to_str().unwrap(),
        "--trust",
        srv.root().to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let bad: Vec<(String, String)> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["result"] != "valid")
        .map(|l| {
            let f = l["file"].as_str().unwrap();
            let name = f.rsplit('/').next().unwrap().to_string();
            (name, l["result"].as_str().unwrap().to_string())
        })
        .collect();
    let mut names: Vec<&str> = bad.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["d17.bin.tsr", "d4242.bin.tsr", "d9001.bin.tsr"],
        "{bad:?}"
    );
    assert!(
        text(&o).contains(&format!("{N} verified: {} valid", N - 3)),
        "{}",
        text(&o)
    );
    // The failing files are named on the terminal too, not only in the report.
    for name in ["d17.bin.tsr", "d4242.bin.tsr", "d9001.bin.tsr"] {
        assert!(
            text(&o).lines().any(
                |l| (l.contains("INVALID") || l.contains("CANNOT BE VERIFIED")) && l.contains(name)
            ),
            "{name}: {}",
            text(&o)
        );
    }
}
