//! PROXY protocol v2 headers, as a node reads them from a listed proxy
//! (`kokuin_server::http::proxy_protocol`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let peer = std::net::SocketAddr::from(([127, 0, 0, 2], 40000));
    if let Ok((_, len)) = kokuin_server::http::proxy_protocol::parse(data, peer) {
        assert!(len <= data.len());
    }
});
