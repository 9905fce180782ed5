//! #30.3: the keyring row in the fleet's database names no resource of a node. The probe's
//! case, with real PostgreSQL: one UPDATE naming a PKCS #11 module (a library whose
//! constructor leaves a mark) as a node's active key. No node loads it; each refuses the row,
//! says so once (`keyring.refused`) and keeps signing with the keys in force; the row a node
//! writes holds labels and certificates, never a path, module or PIN source.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::fleet::node;
use kokuin_testkit::postgres::Postgres;
use kokuin_testkit::*;
use std::time::{Duration, Instant};

#[test]
fn a_keyring_row_naming_a_module_is_refused_and_the_module_never_loaded() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let port = free_port();
    let n = node(&state, &pg, 1, port);
    // The row as a node seeded it: key entries by label or (dev) software file, each with its
    // certificate's PEM; no module, token or PIN anywhere.
    let row = pg.psql("SELECT text FROM kokuin_keyring");
    assert!(row.contains("-----BEGIN CERTIFICATE-----"), "{row}");
    for absent in ["module", "pin_file", "pin_env", "backend", "pki/"] {
        assert!(!row.contains(absent), "{absent} in the row: {row}");
    }
    // A library that leaves a mark when loaded.
    let mark = dir.path().join("loaded");
    let src = dir.path().join("evil.c");
    std::fs::write(
        &src,
        format!(
            "#include <fcntl.h>\n__attribute__((constructor)) static void f(void) \
             {{ creat(\"{}\", 0600); }}\n",
            mark.display()
        ),
    )
    .unwrap();
    let lib = dir.path().join("evil.so");
    let o = run(
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-o",
            lib.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let evil = format!(
        "[[keys]]\nname = \"evil\"\nstate = \"active\"\n\n[keys.key]\nbackend = \"pkcs11\"\n\
         module = \"{}\"\ntoken = \"t\"\nkey = \"k\"\npin_env = \"X\"\ncertificate = \"pki/tsu.pem\"\n",
        lib.display()
    );
    pg.psql(&format!(
        "UPDATE kokuin_keyring SET text = '{}', version = version + 1",
        evil.replace('\'', "''")
    ));
    let refused = || {
        pg.psql(
            "SELECT count(*) FROM kokuin_audit_records \
             WHERE node_id = 1 AND line::json->>'type' = 'keyring.refused'",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while refused() == "0" {
        assert!(
            Instant::now() < deadline,
            "no keyring.refused: {}",
            n.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Said once, however long the row stays.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(refused(), "1");
    assert!(
        !mark.exists(),
        "the module named by the database was loaded"
    );
    // The keys in force still sign.
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    request_token(&n.http, &data, &dir.path().join("t.tsr"));
    n.stop();
    assert!(!mark.exists());
}
