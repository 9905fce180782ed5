//! rfc3161-client (PyPI), a strict verifier (critical EKU, exact nonce, no grantedWithMods),
//! accepts Kokuin's tokens, and rejects one for other data.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;

#[test]
fn rfc3161_client_verifies_tokens() {
    let dir = tempdir();
    let srv = Server::dev(&dir.path().join("state"));
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"receipt 12345\n").unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, b"receipt 12346\n").unwrap();
    let root = srv.root();
    let tsu = srv.tsu();
    for (i, (hash, cert)) in [("sha256", true), ("sha384", true), ("sha512", false)]
        .into_iter()
        .enumerate()
    {
        let out = dir.path().join(format!("t{i}.tsr"));
        let mut args = vec![
            "request",
            data.to_str().unwrap(),
            "--url",
            &srv.https,
            "--hash",
            hash,
            "--ca",
            root.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        if cert {
            args.push("--cert-req");
        }
        let o = kokuin(&args);
        assert!(o.status.success(), "kokuin request: {}", text(&o));
        let tsq = out.with_extension("tsq");
        let untrusted = (!cert).then_some(tsu.as_path());
        let o = rfc3161_client_verify(&out, &tsq, &data, &root, untrusted);
        assert!(o.status.success(), "{hash}: {}", text(&o));
        assert!(text(&o).contains(DEV_POLICY), "{}", text(&o));
        // The same verifier must say no for other data: the check can fail.
        let o = rfc3161_client_verify(&out, &tsq, &other, &root, untrusted);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }
}
