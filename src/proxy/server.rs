//! The accept loop: plain or TLS, HTTP/1.1 with keep-alive and HTTP/2, one task per connection,
//! CONNECT to the interceptor and every other request to the handler, graceful shutdown of
//! connections and intercepted tunnels alike.

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::drain::Drain;
use super::{handler, intercept, State};
use crate::cognito::errors::TLS_REQUIRED;

/// How long in-flight exchanges may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A client that does not finish its TLS handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// Serve until `shutdown` completes, then stop accepting and let in-flight exchanges finish.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let drain = Arc::new(Drain::new());
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1().keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Some(ticket) = drain.ticket() else { break };
                let (state, tunnels) = (state.clone(), drain.clone());
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let (state, tunnels) = (state.clone(), tunnels.clone());
                    async move {
                        Ok::<_, Infallible>(if req.method() == hyper::Method::CONNECT {
                            intercept::connect(state, &tunnels, req)
                        } else {
                            handler::handle(state, req).await
                        })
                    }
                });
                let (http, tls) = (http.clone(), tls.clone());
                tokio::spawn(async move {
                    let served = match tls {
                        None => ticket.watch(http.serve_connection_with_upgrades(TokioIo::new(stream), service)).await,
                        Some(acceptor) => match handshake(acceptor, stream).await {
                            Some(tls) => ticket.watch(http.serve_connection(TokioIo::new(tls), service)).await,
                            None => return,
                        },
                    };
                    if let Err(e) = served {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, drain.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight exchanges did not finish within {DRAIN_TIMEOUT:?}");
    }
}

/// The TLS handshake; a client speaking plain HTTP to the TLS port gets a Cognito-shaped answer
/// saying so (not a hang, not a reset).
async fn handshake(
    acceptor: TlsAcceptor,
    mut stream: TcpStream,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return None;
    }
    if first[0] != TLS_HANDSHAKE {
        let error = super::respond::cognito_error(
            400,
            TLS_REQUIRED,
            "cognito-vcr: this listener speaks TLS; use an https:// endpoint URL",
        );
        let mut answer = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: {}\r\n",
            error.body.len()
        );
        for (name, value) in &error.headers {
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
        answer.push_str("\r\n");
        let answer = [answer.as_bytes(), &error.body].concat();
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!("TLS handshake failed: {e}");
            None
        }
        Err(_) => None,
    }
}
