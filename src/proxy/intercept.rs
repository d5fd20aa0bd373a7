//! HTTPS_PROXY interception: the listener as an HTTP CONNECT proxy. `cognito-idp.<region>.
//! amazonaws.com:443` (and `cognito-identity.<region>.amazonaws.com:443`, and a user pool's
//! domain `<prefix>.auth.<region>.amazoncognito.com:443`) is intercepted (TLS terminated with a leaf minted by the tool's CA, then
//! recorded or replayed like any call, and forwarded with the client's own signature); hosts
//! the user allows are tunnelled untouched; anything else is refused. Never an open relay.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::drain::{Drain, Ticket};
use super::respond::{cognito_error, to_http, HttpResponse};
use super::{handler, InterceptedHost, State};
use crate::tls::{LocalCa, TlsError};

/// Leaf configurations kept at once (one per regional host).
const MAX_LEAVES: usize = 64;

/// The interception settings of a run.
pub struct Interceptor {
    ca: LocalCa,
    /// `host:port` tunnelled without interception.
    allow: Vec<String>,
    /// Leaves by host, with when they were minted.
    leaves: Mutex<HashMap<String, (Instant, Arc<rustls::ServerConfig>)>>,
}

/// An intercepted host's leaf is minted again after this (leaves are valid for a month).
const LEAF_RENEW_AFTER: Duration = Duration::from_secs(15 * 24 * 3600);
/// How long connecting to an `--allow-host` target may take.
const TUNNEL_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Interceptor {
    pub fn new(ca: LocalCa, allow: Vec<String>) -> Interceptor {
        Interceptor {
            ca,
            allow,
            leaves: Mutex::default(),
        }
    }

    /// A TLS configuration for `host`, minted once per host (and again when it gets old).
    fn leaf(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        if let Some((minted, c)) = self
            .leaves
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
        {
            if minted.elapsed() < LEAF_RENEW_AFTER {
                return Ok(c.clone());
            }
        }
        let (cert, key) = self.ca.mint(&[host])?;
        let config = crate::tls::server_config_from_pem(cert.as_bytes(), key.as_bytes())?;
        let mut leaves = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        // Regions are few; many distinct hosts means someone probing: start over, bounded.
        if leaves.len() >= MAX_LEAVES {
            leaves.clear();
        }
        leaves.insert(host.to_owned(), (Instant::now(), config.clone()));
        Ok(config)
    }
}

/// `cognito-idp.<region>.amazonaws.com:443`, `cognito-identity.<region>.amazonaws.com:443` or
/// a user pool's domain `<prefix>.auth.<region>.amazoncognito.com:443` → the host, for the
/// regions the local CA may vouch for (its name constraints list them: a leaf for another would
/// not verify).
pub fn cognito_host(authority: &str) -> Option<&str> {
    let host = authority.strip_suffix(":443")?;
    let region = match host.strip_suffix(".amazoncognito.com") {
        Some(domain) => {
            let (prefix, region) = domain.split_once(".auth.")?;
            let label = !prefix.is_empty()
                && prefix.len() <= 63
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            label.then_some(region)?
        }
        None => host
            .strip_prefix("cognito-idp.")
            .or_else(|| host.strip_prefix("cognito-identity."))?
            .strip_suffix(".amazonaws.com")?,
    };
    crate::tls::REGIONS.contains(&region).then_some(host)
}

/// Answer a CONNECT: intercept, tunnel or refuse. An intercepted tunnel takes its place in
/// `tunnels`, so a graceful stop lets its in-flight exchange finish, as on any connection.
///
/// A tunnel outlives the connection that asked for it, so it takes a connection slot of its own
/// (`slots`, the `--max-connections` cap): none free, a 503.
pub(crate) fn connect(
    state: Arc<State>,
    tunnels: &Drain,
    slots: &Arc<Semaphore>,
    req: hyper::Request<Incoming>,
) -> HttpResponse {
    let Some(interceptor) = state.interceptor.as_ref() else {
        return refuse(
            405,
            "cognito-vcr: this listener is not a CONNECT proxy (start it with --intercept)",
        );
    };
    let authority = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let tunnel = cognito_host(&authority).is_some() || interceptor.allow.contains(&authority);
    let slot = match tunnel {
        true => match slots.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => return refuse(503, "cognito-vcr: too many connections (--max-connections)"),
        },
        false => None,
    };
    if let Some(host) = cognito_host(&authority) {
        let config = match interceptor.leaf(host) {
            Ok(c) => c,
            Err(e) => {
                return refuse(
                    502,
                    &format!("cognito-vcr: cannot mint a certificate for {host}: {e}"),
                )
            }
        };
        let Some(ticket) = tunnels.ticket() else {
            return refuse(503, "cognito-vcr: the proxy is stopping");
        };
        let host = host.to_owned();
        tokio::spawn(async move {
            let _slot = slot;
            match hyper::upgrade::on(req).await {
                Ok(upgraded) => serve_intercepted(state, config, host, upgraded, ticket).await,
                Err(e) => tracing::debug!("CONNECT upgrade failed: {e}"),
            }
        });
        return ok();
    }
    if interceptor.allow.contains(&authority) {
        tokio::spawn(async move {
            let _slot = slot;
            let connecting =
                tokio::time::timeout(TUNNEL_CONNECT_TIMEOUT, TcpStream::connect(&authority));
            let (Ok(upgraded), Ok(Ok(mut target))) =
                (hyper::upgrade::on(req).await, connecting.await)
            else {
                return;
            };
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
        });
        return ok();
    }
    tracing::warn!(%authority, "CONNECT refused");
    refuse(
        403,
        &format!("cognito-vcr: CONNECT to {authority} refused: only cognito-idp.<region>.amazonaws.com:443, cognito-identity.<region>.amazonaws.com:443 and user pool domains <prefix>.auth.<region>.amazoncognito.com:443 are intercepted (--allow-host {authority} tunnels it)"),
    )
}

async fn serve_intercepted(
    state: Arc<State>,
    config: Arc<rustls::ServerConfig>,
    host: String,
    upgraded: hyper::upgrade::Upgraded,
    ticket: Ticket,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let limits = state.limits;
    let handshake = acceptor.accept(TokioIo::new(upgraded));
    let tls = match tokio::time::timeout(limits.handshake_timeout, handshake).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%host, "intercepted TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%host, "intercepted TLS handshake timed out");
            return;
        }
    };
    let service = service_fn(move |mut req: hyper::Request<Incoming>| {
        let state = state.clone();
        req.extensions_mut().insert(InterceptedHost(host.clone()));
        let (parts, body) = req.into_parts();
        handler::handle(state, parts, body)
    });
    let http = super::http::builder(&limits);
    let _ = ticket
        .watch(http.serve_connection(TokioIo::new(tls), service))
        .await;
}

fn ok() -> HttpResponse {
    hyper::Response::new(Full::new(Bytes::new()))
}

fn refuse(status: u16, message: &str) -> HttpResponse {
    to_http(&cognito_error(
        status,
        crate::cognito::errors::CONNECT_REFUSED,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cognito_on_443_is_intercepted() {
        assert_eq!(
            cognito_host("cognito-idp.us-east-1.amazonaws.com:443"),
            Some("cognito-idp.us-east-1.amazonaws.com")
        );
        assert_eq!(
            cognito_host("cognito-identity.eu-west-1.amazonaws.com:443"),
            Some("cognito-identity.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            cognito_host("my-app-7.auth.eu-west-1.amazoncognito.com:443"),
            Some("my-app-7.auth.eu-west-1.amazoncognito.com")
        );
        for other in [
            "cognito-identity.us-east-1.amazonaws.com:80",
            "cognito-identity.amazonaws.com:443",
            "cognito-sync.us-east-1.amazonaws.com:443",
            "cognito-idp.us-east-1.amazonaws.com:80",
            "s3.us-east-1.amazonaws.com:443",
            "cognito-idp.evil.com/.amazonaws.com:443",
            "cognito-idp..amazonaws.com:443",
            "example.com:443",
            "my-app.auth.eu-west-1.amazoncognito.com:80",
            ".auth.eu-west-1.amazoncognito.com:443",
            "a.b.auth.eu-west-1.amazoncognito.com:443",
            "my-app.auth.nowhere-1.amazoncognito.com:443",
            "my-app.auth.eu-west-1.amazoncognito.com.evil.com:443",
            "My-App.auth.eu-west-1.amazoncognito.com:443",
        ] {
            assert_eq!(cognito_host(other), None, "{other}");
        }
    }
}
