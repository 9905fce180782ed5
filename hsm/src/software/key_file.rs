//! Private key files: created 0600 and never overwritten, refused when others can read them.

use crate::error::KeyError;
use der::pem::LineEnding;
use std::path::Path;
use zeroize::Zeroizing;

#[cfg(unix)]
pub(super) fn pem_private_key(der: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    der::pem::encode_string("PRIVATE KEY", LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Generate(e.to_string()))
}

pub(super) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
pub(super) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
pub(super) fn check_private_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn check_private_permissions(_: &Path) -> Result<(), KeyError> {
    Ok(())
}

/// The PEM label of an encrypted PKCS #8 key (RFC 5958 §3).
const ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";

/// PKCS #8 PEM `plain` encrypted under `passphrase` (RFC 8018 PBES2: scrypt and AES-256-CBC,
/// what `openssl pkcs8 -topk8 -v2 aes-256-cbc` reads), as PEM.
pub(super) fn encrypt_pem(plain: &str, passphrase: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    let gen_err = |e: String| KeyError::Generate(e);
    let (_, doc) = pkcs8::SecretDocument::from_pem(plain).map_err(|e| gen_err(e.to_string()))?;
    let info =
        pkcs8::PrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| gen_err(e.to_string()))?;
    let enc = info
        .encrypt(passphrase)
        .map_err(|e| gen_err(e.to_string()))?;
    enc.to_pem(ENCRYPTED, LineEnding::LF)
        .map_err(|e| gen_err(e.to_string()))
}

/// The PKCS #8 DER inside an encrypted PEM key file at `path` (refused when others can read
/// it or the passphrase is wrong).
pub(super) fn decrypt_file(
    path: &Path,
    passphrase: &[u8],
) -> Result<pkcs8::SecretDocument, KeyError> {
    let p = path.display().to_string();
    let parse = |reason: &str| KeyError::Parse {
        path: p.clone(),
        reason: reason.to_string(),
    };
    check_private_permissions(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: p.clone(),
            source,
        })?,
    );
    let (kind, doc) =
        pkcs8::SecretDocument::from_pem(&text).map_err(|_| parse("not a PEM private key"))?;
    if kind != ENCRYPTED {
        return Err(parse("not an encrypted PKCS #8 key"));
    }
    let enc = pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
        .map_err(|_| parse("not an encrypted PKCS #8 key"))?;
    enc.decrypt(passphrase)
        .map_err(|_| parse("the passphrase does not open it"))
}
