//! The accept loop: plain or TLS, HTTP/1.1 with keep-alive and HTTP/2, one task per connection,
//! CONNECT to the interceptor and every other request to the handler, graceful shutdown of
//! connections and intercepted tunnels alike.

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    let mut http = http::builder(&limits);
    // The header deadline of the listener's connections is kept per connection
    // (`with_header_deadline`), not by hyper's timer, which is armed and dropped with every
    // request: a timer-wheel insert and removal, an allocation and a clock read per exchange.
    http.http1().header_read_timeout(None);
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
                // What the connection's requests tell its header deadline (below).
                let activity = Arc::new(Activity::default());
                let seen = activity.clone();
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let busy = seen.begin(req.version());
                    // A CONNECT is answered at once (its tunnel is a task of its own).
                    let handled = match req.method() == hyper::Method::CONNECT {
                        true => Err(intercept::connect(state.clone(), &tunnels, &tunnel_slots, req)),
                        false => {
                            let (parts, body) = req.into_parts();
                            Ok(handler::handle(state.clone(), parts, body))
                        }
                    };
                    async move {
                        let _busy = busy;
                        match handled {
                            Err(tunnel) => Ok(tunnel),
                            // An error (an injected `close`) makes hyper close the connection.
                            Ok(handled) => handled.await,
                        }
                    }
                });
                let (http, tls) = (http.clone(), tls.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let timeout = limits.header_timeout;
                    let served = match tls {
                        None => {
                            let conn = ticket.watch(http.serve_connection_with_upgrades(TokioIo::new(stream), service));
                            with_header_deadline(conn, &activity, timeout).await
                        }
                        Some(acceptor) => match handshake(acceptor, stream, limits.handshake_timeout).await {
                            Some(tls) => {
                                let conn = ticket.watch(http.serve_connection(TokioIo::new(tls), service));
                                with_header_deadline(conn, &activity, timeout).await
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

/// What a connection's requests tell its header deadline: how many have begun, how many are
/// being answered, whether they came over HTTP/2. Three atomic steps per request.
#[derive(Default)]
struct Activity {
    begun: AtomicU64,
    answering: AtomicU64,
    http2: AtomicBool,
}

/// A request being answered; its end is counted when dropped (answered, or abandoned).
struct Busy(Arc<Activity>);

impl Activity {
    fn begin(self: &Arc<Self>, version: hyper::Version) -> Busy {
        if version == hyper::Version::HTTP_2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.begun.fetch_add(1, Ordering::Relaxed);
        self.answering.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The header deadline is checked this many times per `--header-timeout`: a connection is closed
/// between one and 1 + 1/CHECKS timeouts after it began to wait for a request's headers.
const CHECKS: u32 = 4;

/// Serve `conn`, closing it once it has waited `timeout` for a request's headers: for its first
/// request (hyper's own timer starts only once the bytes say HTTP/1, so a connection that sends
/// nothing, or stops in the HTTP/2 preface, would hold its slot for ever), then, over HTTP/1.1,
/// for each next one (a slow or idle client). The connection's one timer fires every
/// `timeout / CHECKS` and is looked at only when it has fired, so an exchange arms no timer,
/// reads no clock and polls nothing but this one flag. The wait counts from the moment the
/// handler has its answer, so a client that leaves an answer unread that long is closed too
/// (hyper's timer started once the answer was written). Over HTTP/2 the connection is left to
/// HTTP/2's pings once a request has come.
async fn with_header_deadline<F, T, E>(
    conn: F,
    activity: &Activity,
    timeout: Duration,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    T: Default,
{
    tokio::pin!(conn);
    let period = timeout / CHECKS;
    let mut check = Some(Box::pin(tokio::time::sleep(period)));
    let mut polled = false;
    // Requests begun at the last check, and the checks since which none has begun and none
    // was being answered.
    let (mut begun, mut waiting) = (0, 0);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(served) = conn.as_mut().poll(cx) {
            return Poll::Ready(served);
        }
        let Some(sleep) = &mut check else {
            return Poll::Pending;
        };
        // The timer registered this task's waker when it was last polled: until it has fired,
        // there is nothing to look at.
        if polled && !sleep.is_elapsed() {
            return Poll::Pending;
        }
        polled = true;
        while sleep.as_mut().poll(cx).is_ready() {
            if activity.http2.load(Ordering::Relaxed) {
                check = None;
                return Poll::Pending;
            }
            let now = activity.begun.load(Ordering::Relaxed);
            if now != begun || activity.answering.load(Ordering::Relaxed) > 0 {
                (begun, waiting) = (now, 0);
            } else {
                waiting += 1;
                // Waiting since before `waiting` checks ago: at least `timeout`.
                if waiting > CHECKS {
                    tracing::debug!("no request headers within {timeout:?}: connection closed");
                    return Poll::Ready(Ok(T::default()));
                }
            }
            sleep.as_mut().reset(tokio::time::Instant::now() + period);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that never ends by itself.
    fn open() -> std::future::Pending<Result<(), ()>> {
        std::future::pending()
    }

    const TIMEOUT: Duration = Duration::from_millis(40);
    const HANG_GUARD: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn a_connection_waiting_for_its_first_request_is_closed() {
        let activity = Activity::default();
        let closed = with_header_deadline(open(), &activity, TIMEOUT);
        assert_eq!(tokio::time::timeout(HANG_GUARD, closed).await, Ok(Ok(())));
    }

    #[tokio::test]
    async fn a_request_being_answered_keeps_its_connection_then_idle_closes_it() {
        let activity = Arc::new(Activity::default());
        let busy = activity.begin(hyper::Version::HTTP_11);
        let conn = with_header_deadline(open(), &activity, TIMEOUT);
        tokio::pin!(conn);
        // Many timeouts long, the answer still on its way: the connection stays.
        assert!(tokio::time::timeout(TIMEOUT * 10, &mut conn).await.is_err());
        // Answered: the connection waits for the next request's headers, and is closed.
        drop(busy);
        assert_eq!(tokio::time::timeout(HANG_GUARD, conn).await, Ok(Ok(())));
    }

    #[tokio::test]
    async fn an_http2_connection_is_left_to_its_pings_once_a_request_came() {
        let activity = Arc::new(Activity::default());
        drop(activity.begin(hyper::Version::HTTP_2));
        let conn = with_header_deadline(open(), &activity, TIMEOUT);
        assert!(tokio::time::timeout(TIMEOUT * 10, conn).await.is_err());
    }
}
