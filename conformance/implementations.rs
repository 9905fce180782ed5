//! The positive rows: each independent implementation exercised against a live dev server,
//! and for each, one refusal that proves the check is real (a row passes when the tool
//! refuses what it must).

use crate::Matrix;
use crate::common::*;
use std::path::Path;
use std::process::Output;

const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");

fn ok(o: &Output, needle: &str) -> Result<String, String> {
    let t = text(o);
    if o.status.success() && t.contains(needle) {
        Ok(t.lines()
            .find(|l| l.contains(needle))
            .unwrap_or(needle)
            .trim()
            .to_string())
    } else {
        Err(t)
    }
}

/// The tool ran and said no. A tool that could not run (a missing module) refuses nothing:
/// that row must not pass. (Tracebacks are no sign: pyHanko logs one when it refuses a path.)
fn refused(o: &Output, what: &str) -> Result<String, String> {
    let t = text(o);
    if o.status.success() {
        Err(format!("accepted {what}: {t}"))
    } else if ["ModuleNotFoundError", "ImportError", "command not found"]
        .iter()
        .any(|n| t.contains(n))
    {
        Err(format!("did not run: {t}"))
    } else {
        Ok(format!("refused {what}"))
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// `curl` as the HTTP client: independent of Kokuin's own.
fn curl_post(url: &str, tsq: &Path, tsr: &Path, ca: Option<&Path>) -> Result<(), String> {
    let mut args = vec![
        "-sSf",
        "-H",
        "Content-Type: application/timestamp-query",
        "--data-binary",
    ];
    let at = format!("@{}", s(tsq));
    args.push(&at);
    args.extend([url, "-o", s(tsr)]);
    if let Some(ca) = ca {
        args.extend(["--cacert", s(ca)]);
    }
    let o = run("curl", &args);
    o.status.success().then_some(()).ok_or_else(|| text(&o))
}

pub fn run_all(m: &mut Matrix, work: &Path) {
    let srv = Server::dev(&work.join("state"));
    let data = work.join("invoice.xml");
    std::fs::write(&data, b"<invoice>conformance</invoice>\n").unwrap();
    let other = work.join("other.xml");
    std::fs::write(&other, b"<invoice>another</invoice>\n").unwrap();

    openssl_ts(m, &srv, work, &data, &other);
    rfc3161_client(m, &srv, work, &data, &other);
    seals(m, &srv, work, &data, &other);
    pyhanko_pdf(m, &srv, work);
    jarsigner(m, &srv, work);
    post_quantum(m, &srv, work, &data);
}

fn openssl_ts(m: &mut Matrix, srv: &Server, work: &Path, data: &Path, other: &Path) {
    let root = srv.root();
    for (hash, https) in [
        ("sha256", false),
        ("sha384", false),
        ("sha512", false),
        ("sha256", true),
    ] {
        let scheme = if https { "HTTPS" } else { "HTTP" };
        m.case(
            "OpenSSL ts",
            format!("query → reply → verify, {hash}, certReq, nonce, {scheme}"),
            || {
                let tsq = work.join(format!("{hash}-{scheme}.tsq"));
                let tsr = work.join(format!("{hash}-{scheme}.tsr"));
                let o = run(
                    "openssl",
                    &[
                        "ts",
                        "-query",
                        "-data",
                        s(data),
                        &format!("-{hash}"),
                        "-cert",
                        "-out",
                        s(&tsq),
                    ],
                );
                if !o.status.success() {
                    return Err(text(&o));
                }
                let (url, ca) = if https {
                    (srv.https.as_str(), Some(root.as_path()))
                } else {
                    (srv.http.as_str(), None)
                };
                curl_post(url, &tsq, &tsr, ca)?;
                let o = run("openssl", &["ts", "-reply", "-in", s(&tsr), "-text"]);
                ok(&o, "Status: Granted.")?;
                let (v1, out1) = openssl_ts_verify(Against::Data(data), &tsr, &root, None);
                let (v2, out2) = openssl_ts_verify(Against::Request(&tsq), &tsr, &root, None);
                if v1 && v2 {
                    Ok("Verification: OK (-data and -queryfile)".into())
                } else {
                    Err(format!("{out1}\n{out2}"))
                }
            },
        );
    }
    m.case(
        "OpenSSL ts",
        "verify refuses a token for other data",
        || {
            let tsr = work.join("sha256-HTTP.tsr");
            let (v, out) = openssl_ts_verify(Against::Data(other), &tsr, &root, None);
            if v {
                Err(out)
            } else {
                Ok("refused other data".into())
            }
        },
    );
}

fn rfc3161_client(m: &mut Matrix, srv: &Server, work: &Path, data: &Path, other: &Path) {
    let root = srv.root();
    let (tsq, tsr) = (work.join("sha256-HTTP.tsq"), work.join("sha256-HTTP.tsr"));
    m.case(
        "rfc3161-client",
        "strict verification against request and data",
        || {
            ok(&rfc3161_client_verify(&tsr, &tsq, data, &root, None), "")
                .map(|_| "verified".to_string())
        },
    );
    m.case("rfc3161-client", "refuses a token for other data", || {
        refused(
            &rfc3161_client_verify(&tsr, &tsq, other, &root, None),
            "other data",
        )
    });
}

fn seal(
    srv: &Server,
    data: &Path,
    level: &str,
    enveloping: bool,
    out: &Path,
) -> Result<(), String> {
    let dir = &srv.dir;
    let base = srv.https.trim_end_matches("/tsa");
    let mut args = vec![
        "seal",
        s(data),
        "--url",
        base,
        "--key",
        "dev-seal",
        "--level",
        level,
        "--ca",
    ];
    let (root, cert, key) = (
        dir.join("pki/root.pem"),
        dir.join("pki/client.pem"),
        dir.join("pki/client.key"),
    );
    args.extend([
        s(&root),
        "--client-cert",
        s(&cert),
        "--client-key",
        s(&key),
        "-o",
        s(out),
    ]);
    if enveloping {
        args.push("--enveloping");
    }
    let o = kokuin(&args);
    o.status.success().then_some(()).ok_or_else(|| text(&o))
}

fn seals(m: &mut Matrix, srv: &Server, work: &Path, data: &Path, other: &Path) {
    let root = srv.root();
    for (level, enveloping) in [
        ("B-B", false),
        ("B-T", false),
        ("B-T", true),
        ("B-LTA", false),
    ] {
        let form = if enveloping { "enveloping" } else { "detached" };
        let p7s = work.join(format!("{level}-{form}.p7s"));
        m.case(
            "OpenSSL cms",
            format!("verify a CAdES {level} seal, {form}"),
            || {
                seal(srv, data, level, enveloping, &p7s)?;
                match openssl_cms_verify(&p7s, &root, (!enveloping).then_some(data)) {
                    (true, out) if out.contains("Verification successful") => {
                        Ok("CMS Verification successful".into())
                    }
                    (_, out) => Err(out),
                }
            },
        );
    }
    let detached = work.join("B-T-detached.p7s");
    m.case(
        "OpenSSL cms",
        "refuses a seal over other data",
        || match openssl_cms_verify(&detached, &root, Some(other)) {
            (true, out) => Err(format!("accepted other data: {out}")),
            (false, _) => Ok("refused other data".into()),
        },
    );
    let script = format!("{INTEROP}/pyhanko_cms.py");
    m.case(
        "pyHanko",
        "validate a CAdES B-T seal and its signature time-stamp",
        || {
            ok(
                &run(&python(), &[&script, s(&detached), s(&root), s(data)]),
                "PYHANKO-OK",
            )
        },
    );
    m.case("pyHanko", "refuses a CAdES seal over other data", || {
        refused(
            &run(&python(), &[&script, s(&detached), s(&root), s(other)]),
            "other data",
        )
    });
}

fn pyhanko_pdf(m: &mut Matrix, srv: &Server, work: &Path) {
    let script = format!("{INTEROP}/pyhanko_pdf_timestamp.py");
    let root = srv.root();
    m.case(
        "pyHanko",
        "time-stamp a PDF with its HTTP client, validate it",
        || {
            let pdf = work.join("stamped.pdf");
            ok(
                &run(&python(), &[&script, &srv.http, s(&root), s(&pdf)]),
                "PYHANKO-OK",
            )
        },
    );
    m.case(
        "pyHanko",
        "refuses the PDF time-stamp under a foreign root",
        || {
            let foreign = work.join("foreign.pem");
            let key = work.join("foreign.key");
            let o = run(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    s(&key),
                    "-subj",
                    "/CN=foreign",
                    "-days",
                    "2",
                    "-out",
                    s(&foreign),
                ],
            );
            if !o.status.success() {
                return Err(text(&o));
            }
            let pdf = work.join("stamped-foreign.pdf");
            refused(
                &run(&python(), &[&script, &srv.http, s(&foreign), s(&pdf)]),
                "an untrusted TSA",
            )
        },
    );
}

fn jarsigner(m: &mut Matrix, srv: &Server, work: &Path) {
    let dir = work.join("jar");
    let _ = std::fs::create_dir_all(&dir);
    let (jar, ks, trust, signer) = (
        dir.join("app.jar"),
        dir.join("signer.p12"),
        dir.join("trust.p12"),
        dir.join("signer.pem"),
    );
    m.case(
        "jarsigner",
        "jarsigner -tsa time-stamps a jar signature",
        || {
            let class = dir.join("a.txt");
            std::fs::write(&class, b"hello").map_err(|e| e.to_string())?;
            let o = run("jar", &["cf", s(&jar), "-C", s(&dir), "a.txt"]);
            if !o.status.success() {
                return Err(text(&o));
            }
            for args in [
                vec![
                    "-genkeypair",
                    "-keystore",
                    s(&ks),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    "changeit",
                    "-keypass",
                    "changeit",
                    "-alias",
                    "dev",
                    "-keyalg",
                    "EC",
                    "-groupname",
                    "secp256r1",
                    "-dname",
                    "CN=jar developer",
                    "-validity",
                    "30",
                ],
                vec![
                    "-exportcert",
                    "-rfc",
                    "-keystore",
                    s(&ks),
                    "-storepass",
                    "changeit",
                    "-alias",
                    "dev",
                    "-file",
                    s(&signer),
                ],
                vec![
                    "-importcert",
                    "-noprompt",
                    "-keystore",
                    s(&trust),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    "changeit",
                    "-alias",
                    "signer",
                    "-file",
                    s(&signer),
                ],
                vec![
                    "-importcert",
                    "-noprompt",
                    "-keystore",
                    s(&trust),
                    "-storepass",
                    "changeit",
                    "-alias",
                    "kokuin-root",
                    "-file",
                    s(&srv.root()),
                ],
            ] {
                let o = run("keytool", &args);
                if !o.status.success() {
                    return Err(text(&o));
                }
            }
            let o = run(
                "jarsigner",
                &[
                    "-keystore",
                    s(&ks),
                    "-storepass",
                    "changeit",
                    "-tsa",
                    &srv.http,
                    s(&jar),
                    "dev",
                ],
            );
            ok(&o, "jar signed")
        },
    );
    m.case(
        "jarsigner",
        "jarsigner -verify shows the time-stamp, its TSA chain trusted",
        || {
            let o = run(
                "jarsigner",
                &[
                    "-verify",
                    "-verbose",
                    "-certs",
                    "-keystore",
                    s(&trust),
                    "-storepass",
                    "changeit",
                    s(&jar),
                ],
            );
            let t = text(&o);
            let tsa_section = t
                .split(">>> TSA")
                .nth(1)
                .unwrap_or("")
                .split("\n\n")
                .next()
                .unwrap_or("");
            if tsa_section.contains("Invalid certificate chain") {
                return Err(format!("the TSA chain is not trusted: {t}"));
            }
            ok(&o, "jar verified.")?;
            // Without the date, so that the matrix changes only when a result does.
            ok(&o, "Timestamped by \"CN=Kokuin Dev TSU")
                .map(|l| l.split(" on ").next().unwrap_or_default().to_string())
        },
    );
}

/// The dev server's ML-DSA-65 and composite policies, picked by OpenSSL's `-tspolicy`: Python
/// `cryptography` verifies the signatures inside the tokens — pure ML-DSA over the signed
/// attributes (RFC 9882), and both halves of the composite (tests/interop/composite_verify.py
/// follows the draft's text, not Kokuin's code).
fn post_quantum(m: &mut Matrix, srv: &Server, work: &Path, data: &Path) {
    let root = srv.root();
    for (name, stem, policy, script, with_issuer) in [
        (
            "ML-DSA-65",
            "mldsa",
            DEV_MLDSA_POLICY,
            "mldsa_verify.py",
            true,
        ),
        (
            "composite ML-DSA-65 + ECDSA P-256",
            "composite",
            DEV_COMPOSITE_POLICY,
            "composite_verify.py",
            false,
        ),
    ] {
        let files = (|| -> Result<_, String> {
            let (tsq, tsr) = (
                work.join(format!("{stem}.tsq")),
                work.join(format!("{stem}.tsr")),
            );
            let o = run(
                "openssl",
                &[
                    "ts",
                    "-query",
                    "-data",
                    s(data),
                    "-sha256",
                    "-cert",
                    "-tspolicy",
                    policy,
                    "-out",
                    s(&tsq),
                ],
            );
            o.status.success().then_some(()).ok_or_else(|| text(&o))?;
            curl_post(&srv.http, &tsq, &tsr, None)?;
            let bytes = std::fs::read(&tsr).map_err(|e| e.to_string())?;
            let der = kokuin_tsa::ParsedResponse::from_der(&bytes)
                .and_then(|p| p.into_token())
                .map_err(|e| e.to_string())?;
            let t = kokuin_tsa::TimeStampToken::from_der(&der).map_err(|e| e.to_string())?;
            if t.tst_info.policy.to_string() != policy {
                return Err(format!("token of policy {}", t.tst_info.policy));
            }
            let cert = work.join(format!("{stem}-signer.pem"));
            let (signed, sig, bad) = (
                work.join(format!("{stem}-signed.der")),
                work.join(format!("{stem}.sig")),
                work.join(format!("{stem}-bad.sig")),
            );
            let pem = kokuin_certs::pem::to_pem_chain(&t.certificates()[..1])
                .map_err(|e| e.to_string())?;
            let w = |p: &Path, b: &[u8]| std::fs::write(p, b).map_err(|e| e.to_string());
            w(&cert, pem.as_bytes())?;
            w(&signed, t.signed_attributes_der())?;
            w(&sig, t.signature_value())?;
            let mut b = t.signature_value().to_vec();
            b[100] ^= 1;
            w(&bad, &b)?;
            Ok((cert, signed, sig, bad))
        })();
        let script = format!("{INTEROP}/{script}");
        let args = |sig: &Path| -> Result<Vec<String>, String> {
            let (cert, signed, ..) = files.as_ref().map_err(Clone::clone)?;
            let mut a = vec![script.clone(), s(cert).to_string()];
            if with_issuer {
                a.push(s(&root).to_string());
            }
            a.extend([s(signed).to_string(), s(sig).to_string()]);
            Ok(a)
        };
        let py = |a: Vec<String>| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            run(&python(), &a)
        };
        m.case(
            "cryptography",
            format!("{name} signature in a token verifies"),
            || {
                let (_, _, sig, _) = files.as_ref().map_err(Clone::clone)?;
                ok(&py(args(sig)?), "").map(|_| format!("verified by cryptography ({name})"))
            },
        );
        m.case(
            "cryptography",
            format!("refuses a flipped {name} signature"),
            || {
                let (_, _, _, bad) = files.as_ref().map_err(Clone::clone)?;
                refused(&py(args(bad)?), "a flipped bit")
            },
        );
    }
}
