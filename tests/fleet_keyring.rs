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

/// #32: the keyring row updated with SQL to put another key back in force, without a quorum
/// record: neither node follows it, each records the refusal, and both stay ready.
#[test]
fn a_keyring_row_updated_with_sql_without_a_quorum_is_not_followed() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let nodes: Vec<Server> = (1..=2).map(|i| node(&state, &pg, i, free_port())).collect();
    // A rotation made as a ceremony (dev officers approving): followed by both.
    let config = state.join("kokuin-fleet.toml");
    let o = kokuin_testkit::fleet::kokuin_db(
        &pg,
        &["keys", "rotate", "--config", config.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let signer = |n: &Server, i: u32| {
        let r = tsa_post(&agent(None), &n.http, &tsq(i));
        let t = kokuin_tsa::ParsedResponse::from_der(&r.body)
            .unwrap()
            .into_token()
            .unwrap();
        der::Encode::to_der(
            &kokuin_tsa::TimeStampToken::from_der(&t)
                .unwrap()
                .certificates()[0],
        )
        .unwrap()
    };
    let old = {
        let pem = std::fs::read(state.join("pki/tsu.pem")).unwrap();
        der::Encode::to_der(&kokuin_certs::pem::parse_certificates(&pem).unwrap()[0]).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes.iter().any(|n| signer(n, 1) == old) {
        assert!(
            Instant::now() < deadline,
            "the nodes never followed the ceremony"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The old key put back in force by SQL.
    let mut ring: toml::Table = pg.psql("SELECT text FROM kokuin_keyring").parse().unwrap();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    for k in ring["keys"].as_array_mut().unwrap() {
        if k["name"].as_str() == Some("dev-tsu-1") {
            k.as_table_mut()
                .unwrap()
                .insert("activate_at".into(), toml::Value::String(now.clone()));
        }
    }
    pg.psql(&format!(
        "UPDATE kokuin_keyring SET text = '{}', version = version + 1",
        toml::to_string(&ring).unwrap().replace('\'', "''")
    ));
    let refused = |id: u16| {
        pg.psql(&format!(
            "SELECT count(*) FROM kokuin_audit_records \
             WHERE node_id = {id} AND line::json->>'type' = 'keyring.refused'"
        ))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused(1) == "0" || refused(2) == "0" {
        assert!(
            Instant::now() < deadline,
            "a node did not record the refusal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (i, n) in nodes.iter().enumerate() {
        assert_ne!(
            signer(n, 10 + i as u32),
            old,
            "node {} followed the SQL",
            i + 1
        );
        let r = get(&agent(None), &format!("{}/readyz", n.base()));
        assert_eq!(r.status, 200, "node {} not ready", i + 1);
    }
    for n in nodes {
        n.stop();
    }
}
