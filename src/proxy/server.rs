//! The accept loop: plain or TLS, HTTP/1.1 with keep-alive and HTTP/2, one task per connection,
//! CONNECT to the interceptor and every other request to the handler, graceful shutdown of
//! connections and intercepted tunnels alike.

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::drain::Drain;
use super::{handler, http, intercept, State};
use crate::cognito::errors::TLS_REQUIRED;

/// How long in-flight exchanges may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;
/// Serve until `shutdown` completes, then stop accepting and let in-flight exchanges finish.
/// At most `limits.max_connections` connections are open at once: more wait to be accepted.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let drain = Arc::new(Drain::new());
    let limits = state.limits;
    let http = http::builder(&limits);
    let slots = Arc::new(Semaphore::new(connection_cap(limits.max_connections)));
    tokio::pin!(shutdown);
    loop {
        // A free slot first: past the cap, connections wait in the listen queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
                let (state, tunnels, tunnel_slots) = (state.clone(), drain.clone(), slots.clone());
                // Set by the first request: a connection that sends none is closed (below).
                let requested = Arc::new(AtomicBool::new(false));
                let seen = requested.clone();
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    seen.store(true, Ordering::Relaxed);
                    let (state, tunnels, tunnel_slots) = (state.clone(), tunnels.clone(), tunnel_slots.clone());
                    async move {
                        if req.method() == hyper::Method::CONNECT {
                            Ok(intercept::connect(state, &tunnels, &tunnel_slots, req))
                        } else {
                            // An error (an injected `close`) makes hyper close the connection.
                            handler::handle(state, req).await
                        }
                    }
                });
                let (http, tls) = (http.clone(), tls.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let first = limits.header_timeout;
                    let served = match tls {
                        None => {
                            let conn = ticket.watch(http.serve_connection_with_upgrades(TokioIo::new(stream), service));
                            until_first_request(conn, &requested, first).await
                        }
                        Some(acceptor) => match handshake(acceptor, stream, limits.handshake_timeout).await {
                            Some(tls) => {
                                let conn = ticket.watch(http.serve_connection(TokioIo::new(tls), service));
                                until_first_request(conn, &requested, first).await
                            }
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

/// Files kept for what is not a client connection: the store, the index, logs, an upstream
/// connection per exchange.
const FILES_KEPT: u64 = 64;

/// `--max-connections`, or fewer where the process may not open that many files (past its
/// open-files limit, accepted connections would starve the exchanges themselves).
fn connection_cap(wanted: usize) -> usize {
    let Some(soft) = crate::files::raise_open_files_limit() else {
        return wanted;
    };
    let possible = usize::try_from(soft.saturating_sub(FILES_KEPT) / 2)
        .unwrap_or(usize::MAX)
        .max(1);
    if wanted > possible {
        tracing::warn!(
            max_connections = wanted,
            open_files_limit = soft,
            "--max-connections lowered to {possible}: this process may open {soft} files, and each connection may need two"
        );
        return possible;
    }
    wanted
}

/// Serve `conn`, but close it if no request has begun within `timeout`: hyper's header-read
/// timer starts only once the bytes say HTTP/1 (a connection that sends nothing, or stops in the
/// HTTP/2 preface, would otherwise hold its slot for ever).
async fn until_first_request<F, T, E>(
    conn: F,
    requested: &AtomicBool,
    timeout: Duration,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    T: Default,
{
    tokio::pin!(conn);
    // Dropped once a request has begun (hyper's own timers take over from there): not polled
    // with every exchange of a keep-alive connection.
    let mut deadline = Some(Box::pin(tokio::time::sleep(timeout)));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(served) = conn.as_mut().poll(cx) {
            return Poll::Ready(served);
        }
        if let Some(sleep) = &mut deadline {
            if requested.load(Ordering::Relaxed) {
                deadline = None;
            } else if sleep.as_mut().poll(cx).is_ready() {
                tracing::debug!("no request within {timeout:?}: connection closed");
                return Poll::Ready(Ok(T::default()));
            }
        }
        Poll::Pending
    })
    .await
}

/// The TLS handshake; a client speaking plain HTTP to the TLS port gets a Cognito-shaped answer
/// saying so (not a hang, not a reset).
async fn handshake(
    acceptor: TlsAcceptor,
    mut stream: TcpStream,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(timeout, stream.peek(&mut first)).await;
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
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!("TLS handshake failed: {e}");
            None
        }
        Err(_) => None,
    }
}
