//! An officer's key file: PKCS #8 encrypted under a passphrase, readable by its owner only;
//! the right passphrase opens it to the same key, a wrong one does not, and OpenSSL reads it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_hsm::{KeyType, Signer, SoftwareSigner};
use std::os::unix::fs::PermissionsExt;

#[test]
fn an_encrypted_key_opens_with_its_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("officer.key");
    let key = SoftwareSigner::generate(KeyType::P256, "officer").unwrap();
    key.write_encrypted_pkcs8_pem(&path, b"correct horse")
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{text}"
    );
    let back = SoftwareSigner::load_encrypted(&path, b"correct horse", "officer").unwrap();
    assert_eq!(back.public_key(), key.public_key());
    let e = SoftwareSigner::load_encrypted(&path, b"wrong", "officer")
        .err()
        .unwrap();
    assert!(e.to_string().contains("passphrase"), "{e}");
    // An independent implementation opens it with the passphrase.
    let o = std::process::Command::new("openssl")
        .args([
            "pkey",
            "-in",
            path.to_str().unwrap(),
            "-passin",
            "pass:correct horse",
            "-noout",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
