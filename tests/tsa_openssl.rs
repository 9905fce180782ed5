//! Stock OpenSSL as the client: `openssl ts -query` → POST over HTTP and HTTPS →
//! `openssl ts -verify`, for every hash, with and without certReq and nonce. `kokuin verify`
//! must agree on every token.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;

#[test]
fn openssl_ts_round_trips_over_http_and_https() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let work = dir.path();
    let data = work.join("data.bin");
    std::fs::write(&data, b"e-invoice 2026-11-23 #000042\n").unwrap();
    let plain = agent(None);
    let tls = agent(Some(&srv.root()));
    let root = srv.root();
    let tsu = srv.tsu();
    let mut n = 0;
    for hash in ["-sha256", "-sha384", "-sha512"] {
        for cert in [true, false] {
            for nonce in [true, false] {
                for (url, ag) in [(&srv.http, &plain), (&srv.https, &tls)] {
                    n += 1;
                    let q = work.join(format!("{n}.tsq"));
                    let r = work.join(format!("{n}.tsr"));
                    let mut args = vec!["ts", "-query", "-data", data.to_str().unwrap(), hash];
                    if cert {
                        args.push("-cert");
                    }
                    if !nonce {
                        args.push("-no_nonce");
                    }
                    args.extend(["-out", q.to_str().unwrap()]);
                    let o = run("openssl", &args);
                    assert!(o.status.success(), "{}", text(&o));
                    let reply = tsa_post(ag, url, &std::fs::read(&q).unwrap());
                    assert_eq!(reply.status, 200);
                    assert_eq!(reply.content_type, "application/timestamp-reply");
                    std::fs::write(&r, &reply.body).unwrap();
                    let case = format!("{hash} cert={cert} nonce={nonce} {url}");

                    let untrusted = (!cert).then_some(tsu.as_path());
                    let (ok, out) = openssl_ts_verify(Against::Data(&data), &r, &root, untrusted);
                    assert!(ok, "{case}: {out}");
                    // Against the request too: nonce, imprint, policy, certReq.
                    let (ok, out) = openssl_ts_verify(Against::Request(&q), &r, &root, untrusted);
                    assert!(ok, "{case}: {out}");

                    let mut k = vec![
                        "verify",
                        r.to_str().unwrap(),
                        "--data",
                        data.to_str().unwrap(),
                        "--trust",
                        root.to_str().unwrap(),
                        "--request",
                        q.to_str().unwrap(),
                    ];
                    if !cert {
                        k.extend(["--untrusted", tsu.to_str().unwrap()]);
                    }
                    let o = kokuin(&k);
                    assert!(o.status.success(), "{case}: kokuin verify: {}", text(&o));

                    let o = run(
                        "openssl",
                        &["ts", "-reply", "-in", r.to_str().unwrap(), "-text"],
                    );
                    let t = text(&o);
                    assert!(t.contains("Status: Granted."), "{case}: {t}");
                    assert!(t.contains(&format!("Policy OID: {DEV_POLICY}")), "{t}");
                    assert!(t.contains("Accuracy: 0x01 seconds"), "{t}");
                    assert!(t.contains("Ordering: no"), "{t}");
                    assert_eq!(t.contains("Nonce: 0x"), nonce, "{t}");
                }
            }
        }
    }
    assert_eq!(n, 24);
    let status = srv.stop();
    assert!(status.success(), "server exit after SIGTERM: {status}");
}
