//! The PROXY protocol, version 2 (haproxy.org's proxy-protocol.txt §2.2), from the proxies the
//! operator names (`server.proxy_protocol_from`): behind HAProxy every connection comes from
//! HAProxy, so without it rate limits and refusal records would all name the proxy, and one
//! client's flood would throttle every other.
//!
//! From a listed proxy the header is mandatory, read before TLS and within the header
//! deadline; the `LOCAL` command (HAProxy's health checks) keeps the proxy's own address.
//! From anyone else no header is read: its bytes are HTTP or TLS like any other, so a client
//! cannot claim an address. The parsing is the `ppp` crate's; reading exactly the header's
//! bytes off the socket (16, then the length it declares, bounded) is done here.

use std::net::SocketAddr;
use tokio::io::AsyncReadExt;

/// The v2 signature (§2.2): the first 12 bytes of every v2 header.
const SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// The most address and TLV bytes read after the fixed 16: addresses take at most 216 (two
/// UNIX paths), and HAProxy's TLVs (ALPN, authority, SSL details) fit the rest.
const MAX_PAYLOAD: usize = 1024;

/// Why a connection from a listed proxy is dropped.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// The connection failed or closed before a whole header arrived.
    #[error("no complete PROXY v2 header: {0}")]
    Read(#[from] std::io::Error),
    /// The bytes are not a v2 header (a v1 text header, HTTP sent straight to the node).
    #[error("not a PROXY protocol v2 header")]
    NotV2,
    /// A declared length over [`MAX_PAYLOAD`].
    #[error("a PROXY v2 header of {0} bytes; at most {MAX_PAYLOAD} are read")]
    TooLong(usize),
    /// The header does not parse.
    #[error("a malformed PROXY v2 header: {0}")]
    Malformed(String),
}

/// Reads the PROXY v2 header a listed proxy sends first, and returns the client's address:
/// the header's source for `PROXY` over TCP, the proxy's own (`peer`) for `LOCAL` and for
/// an unspecified address family. The stream is left at the first byte after the header.
pub async fn read_header<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
) -> Result<SocketAddr, ProxyHeaderError> {
    let mut fixed = [0u8; 16];
    stream.read_exact(&mut fixed).await?;
    let len = declared_len(&fixed)?;
    let mut whole = Vec::with_capacity(16 + len);
    whole.extend_from_slice(&fixed);
    whole.resize(16 + len, 0);
    stream.read_exact(&mut whole[16..]).await?;
    client(&whole, peer)
}

/// A header whole at the start of `bytes` (for callers that hold the bytes: the fuzz
/// target): the client's address and the header's length.
pub fn parse(bytes: &[u8], peer: SocketAddr) -> Result<(SocketAddr, usize), ProxyHeaderError> {
    let fixed: &[u8; 16] = bytes
        .get(..16)
        .and_then(|f| f.try_into().ok())
        .ok_or(ProxyHeaderError::NotV2)?;
    let end = 16 + declared_len(fixed)?;
    let whole = bytes.get(..end).ok_or(ProxyHeaderError::NotV2)?;
    Ok((client(whole, peer)?, end))
}

/// The length the fixed part declares for what follows it: the signature checked, bounded.
fn declared_len(fixed: &[u8; 16]) -> Result<usize, ProxyHeaderError> {
    if fixed[..12] != SIGNATURE {
        return Err(ProxyHeaderError::NotV2);
    }
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    if len > MAX_PAYLOAD {
        return Err(ProxyHeaderError::TooLong(len));
    }
    Ok(len)
}

/// The client a whole header names (`ppp` parses it).
fn client(whole: &[u8], peer: SocketAddr) -> Result<SocketAddr, ProxyHeaderError> {
    let header =
        ppp::v2::Header::try_from(whole).map_err(|e| ProxyHeaderError::Malformed(e.to_string()))?;
    Ok(match (header.command, header.addresses) {
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv4(a)) => {
            SocketAddr::from((a.source_address, a.source_port))
        }
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv6(a)) => {
            SocketAddr::from((a.source_address, a.source_port))
        }
        // LOCAL (a health check), or an address this server has no use for.
        _ => peer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(command: ppp::v2::Command, addresses: ppp::v2::Addresses) -> Vec<u8> {
        let version_command = ppp::v2::Version::Two as u8 | command as u8;
        let protocol = match addresses {
            ppp::v2::Addresses::Unspecified => ppp::v2::Protocol::Unspecified,
            _ => ppp::v2::Protocol::Stream,
        };
        ppp::v2::Builder::with_addresses(version_command, protocol, addresses)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn the_client_address_from_proxy_the_proxys_own_from_local() {
        let peer: SocketAddr = "127.0.0.2:40000".parse().unwrap();
        let client: SocketAddr = "192.0.2.7:51234".parse().unwrap();
        let node: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let mut bytes = header(ppp::v2::Command::Proxy, (client, node).into());
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let mut r = bytes.as_slice();
        assert_eq!(read_header(&mut r, peer).await.unwrap(), client);
        assert_eq!(r, b"GET / HTTP/1.1\r\n", "the request follows untouched");
        let local = header(ppp::v2::Command::Local, ppp::v2::Addresses::Unspecified);
        assert_eq!(
            read_header(&mut local.as_slice(), peer).await.unwrap(),
            peer
        );
    }

    #[tokio::test]
    async fn anything_else_is_refused() {
        let peer: SocketAddr = "127.0.0.2:40000".parse().unwrap();
        for bad in [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            b"PROXY TCP4 192.0.2.7 127.0.0.1 51234 8080\r\n".to_vec(),
            SIGNATURE.to_vec(),
            [SIGNATURE.as_slice(), &[0x21, 0x11, 0xff, 0xff]].concat(),
            [SIGNATURE.as_slice(), &[0x21, 0x11, 0x00, 0x02, 1, 2]].concat(),
        ] {
            assert!(read_header(&mut bad.as_slice(), peer).await.is_err());
        }
    }
}
