//! The Roughtime servers a node asks (`[clock.roughtime] servers`) or an auditor trusts (an
//! RFC 10049 §8.3 server list, JSON).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roughenough_protocol::tags::PublicKey;
use std::io::Read;
use std::path::Path;

/// The largest server list read: lists name tens of servers, a few KiB.
pub const MAX_LIST_BYTES: u64 = 1 << 20;

/// One server: a name for people, where to ask, and the long-term key its replies must be
/// signed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedServer {
    /// As the list names it.
    pub name: String,
    /// `host:port` (UDP).
    pub address: String,
    /// The long-term Ed25519 key, base64 as lists give it.
    pub public_key: String,
    key: [u8; 32],
}

/// A server entry or list that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The public key is not base64 of 32 bytes.
    #[error("Roughtime server {name}: the public key is not base64 of a 32-byte Ed25519 key")]
    BadKey {
        /// The server's name.
        name: String,
    },
    /// The list could not be read.
    #[error("the Roughtime server list cannot be read: {0}")]
    Read(String),
    /// The list is not an RFC 10049 server list.
    #[error("not an RFC 10049 Roughtime server list: {0}")]
    Format(String),
}

impl TrustedServer {
    /// A server from its three fields; the key is checked here, once.
    pub fn new(name: &str, address: &str, public_key: &str) -> Result<Self, ServerError> {
        let bad = || ServerError::BadKey {
            name: name.to_string(),
        };
        let bytes = STANDARD.decode(public_key.trim()).map_err(|_| bad())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self {
            name: name.to_string(),
            address: address.to_string(),
            public_key: STANDARD.encode(key),
            key,
        })
    }

    /// The key as the protocol crates take it.
    pub fn key(&self) -> PublicKey {
        PublicKey::from(&self.key[..])
    }

    /// The raw key.
    pub fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// The servers of an RFC 10049 server list (ed25519 keys, UDP addresses; a server with
/// neither a UDP address nor an ed25519 key is refused, not skipped, so that an auditor's list
/// means what it says).
pub fn parse_list(json: &str) -> Result<Vec<TrustedServer>, ServerError> {
    let list = roughenough_client::server_list::ServerList::from_json(json)
        .map_err(|e| ServerError::Format(e.to_string()))?;
    list.servers()
        .iter()
        .map(|s| {
            if !s.public_key_type().eq_ignore_ascii_case("ed25519") {
                return Err(ServerError::Format(format!(
                    "{}: public key type {} (only ed25519 is defined)",
                    s.name(),
                    s.public_key_type()
                )));
            }
            let address = s
                .first_udp_address()
                .ok_or_else(|| ServerError::Format(format!("{}: no UDP address", s.name())))?;
            // Validated by from_json, so port() holds.
            let host = address.host();
            let address = if host.contains(':') {
                format!("[{host}]:{}", address.port())
            } else {
                format!("{host}:{}", address.port())
            };
            TrustedServer::new(s.name(), &address, s.public_key())
        })
        .collect()
}

/// Reads a server list from a regular file, bounded.
pub fn read_list(path: &Path) -> Result<Vec<TrustedServer>, ServerError> {
    let meta = std::fs::metadata(path).map_err(|e| ServerError::Read(e.kind().to_string()))?;
    if !meta.is_file() {
        return Err(ServerError::Read("not a regular file".into()));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_LIST_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| ServerError::Read(e.kind().to_string()))?;
    if text.len() as u64 > MAX_LIST_BYTES {
        return Err(ServerError::Read(format!(
            "longer than {MAX_LIST_BYTES} bytes"
        )));
    }
    parse_list(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_rfc_10049_list_and_refuses_what_it_cannot_use() {
        let list = r#"{"servers":[{"name":"int08h","version":1,"publicKeyType":"ed25519",
            "publicKey":"AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=",
            "addresses":[{"protocol":"udp","address":"roughtime.int08h.com:2002"}]}]}"#;
        let s = parse_list(list).unwrap();
        assert_eq!(s[0].name, "int08h");
        assert_eq!(s[0].address, "roughtime.int08h.com:2002");
        assert_eq!(s[0].key_bytes()[0], 1);
        let short = list.replace("AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=", "AAAA");
        assert!(matches!(
            parse_list(&short),
            Err(ServerError::BadKey { .. })
        ));
        let tcp = list.replace("\"udp\"", "\"tcp\"");
        assert!(matches!(parse_list(&tcp), Err(ServerError::Format(_))));
        assert!(parse_list("{").is_err());
    }
}
