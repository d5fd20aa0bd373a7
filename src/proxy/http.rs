//! The HTTP server settings of a run, shared by the listener and the intercepted tunnels:
//! HTTP/1.1 with keep-alive and HTTP/2, their timeouts, and how many request headers are taken.

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::time::Duration;

use crate::config::Limits;

/// HTTP/2: a ping after this much silence, and the connection closed if it is not answered
/// within `H2_PING_TIMEOUT` (a peer that vanished).
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2 streams a connection may have open at once, and the flow-control windows: how much a
/// client may send on a stream, and on a connection, before the proxy reads it.
const H2_MAX_STREAMS: u32 = 100;
const H2_STREAM_WINDOW: u32 = 64 * 1024;
const H2_CONNECTION_WINDOW: u32 = 256 * 1024;
/// Request headers accepted (AWS SDKs send about ten): hyper's own limit for HTTP/1.1, past
/// which it answers a bare 431 and closes. (Raising hyper's limit to answer 101 and more in
/// Cognito's shape made hyper allocate and fill header arrays of that size for every request:
/// 6% of replay's CPU.) The handler holds HTTP/2 requests to the same number.
pub const MAX_HEADERS: usize = 100;

/// The HTTP server settings of a run: keep-alive, the header-read timeout (which hyper also
/// applies to an idle HTTP/1.1 connection waiting for its next request), HTTP/2 pings.
pub fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    http.http2()
        .timer(TokioTimer::new())
        // Cognito's requests are a few KB: a small window keeps what a client can make this
        // proxy buffer ahead of reading small (the body budget bounds what is read).
        .max_concurrent_streams(H2_MAX_STREAMS)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    http
}
