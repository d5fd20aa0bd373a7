//! What TLS alone costs to send one answer, in-process: rustls (ring, TLS 1.3,
//! AES-128-GCM, the suite the proxy prefers) copies the page into records, seals and frames
//! them, with no socket and no HTTP. It is the least HTTPS replay can add to plain replay's CPU
//! per request, whatever the proxy does; `benches/hotpath.sh` prints it beside the HTTPS ratios.
//!
//! `cargo bench --bench tls_floor -- BYTES...` prints, per page size, the median of 5 rounds of
//! 20,000 pages: `tls_floor BYTES µs_per_page`.

use rustls::Connection;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![2713, 23171]
    } else {
        sizes
    };
    // The client is only there for the handshake.
    let (mut server, _client) = connected();
    for size in sizes {
        let page = vec![b'x'; size];
        let mut rounds: Vec<f64> = (0..5)
            .map(|_| {
                let pages = 20_000;
                let started = Instant::now();
                for _ in 0..pages {
                    server.writer().write_all(&page).expect("plaintext");
                    // The records are sealed into rustls' buffers; written to nowhere.
                    while server.wants_write() {
                        server.write_tls(&mut std::io::sink()).expect("records");
                    }
                }
                started.elapsed().as_secs_f64() * 1e6 / f64::from(pages)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        println!("tls_floor {size} {:.2}", rounds[rounds.len() / 2]);
    }
}

/// A server and a client connection, handshake done, in memory.
fn connected() -> (Connection, Connection) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let cert = made.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    let provider = Arc::new(provider);
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server = rustls::ServerConnection::new(Arc::new(server_config)).expect("server");
    let name = "localhost".try_into().expect("name");
    let client = rustls::ClientConnection::new(Arc::new(client_config), name).expect("client");
    let (mut server, mut client) = (Connection::from(server), Connection::from(client));
    while client.is_handshaking() || server.is_handshaking() {
        flight(&mut client, &mut server);
        flight(&mut server, &mut client);
    }
    (server, client)
}

/// What `from` has to send, read and processed by `to`.
fn flight(from: &mut Connection, to: &mut Connection) {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).expect("a flight out");
    }
    let mut rest = &wire[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).expect("a flight in");
    }
    to.process_new_packets().expect("the handshake");
}
