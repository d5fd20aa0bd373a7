//! The upstream client: forwards a call to the real Cognito (or a compatible server) unchanged.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HOST};
use hyper::{Method, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

use crate::error::Error;
use crate::exchange::{keep_response_header, Response};

/// How long one upstream call may take before the client gets a 504-style error.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, never recorded.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// Why a call could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream {url} is unreachable: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("upstream {url} did not answer within {0:?}", UPSTREAM_TIMEOUT)]
    Timeout { url: String },
    #[error("upstream {url} answer could not be read: {cause}")]
    Body { url: String, cause: String },
}

/// A configured upstream with a keep-alive connection pool.
pub struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `scheme://authority[/path]`, without a trailing slash.
    base: String,
    authority: String,
}

/// The upstream's answer, with every end-to-end header (what the client gets).
pub struct Forwarded {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Forwarded {
    /// The part of the answer that is recorded: status, the headers clients read, the body.
    pub fn to_recorded(&self) -> Response {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(name, _)| keep_response_header(name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        headers.sort();
        Response {
            status: self.status.as_u16(),
            headers,
            body: self.body.clone(),
        }
    }
}

impl Upstream {
    pub fn new(url: &str) -> Result<Upstream, Error> {
        let bad = |reason: &str| Error::Upstream {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https upstreams are not supported yet; use an http:// endpoint such as moto, LocalStack or cognito-local",
                ))
            }
            _ => return Err(bad("the URL must start with http://")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad("the URL has no host"))?
            .to_string();
        let path = uri.path().trim_end_matches('/');
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Upstream {
            client,
            base: format!("http://{authority}{path}"),
            authority,
        })
    }

    /// Send the call upstream with the client's headers (less hop-by-hop ones and `Host`).
    pub async fn forward(
        &self,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Forwarded, UpstreamError> {
        let url = format!("{}{}", self.base, path_and_query);
        let mut req = hyper::Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = url.parse().map_err(|e| UpstreamError::Unreachable {
            url: url.clone(),
            cause: format!("{e}"),
        })?;
        let out = req.headers_mut();
        for (name, value) in headers {
            if !is_hop_by_hop(name) && name != HOST && name != hyper::header::CONTENT_LENGTH {
                out.append(name.clone(), value.clone());
            }
        }
        if let Ok(host) = self.authority.parse() {
            out.insert(HOST, host);
        }
        let call = async {
            let response =
                self.client
                    .request(req)
                    .await
                    .map_err(|e| UpstreamError::Unreachable {
                        url: url.clone(),
                        cause: error_chain(&e),
                    })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| UpstreamError::Body {
                    url: url.clone(),
                    cause: error_chain(&e),
                })?
                .to_bytes();
            let mut headers = parts.headers;
            let hop: Vec<HeaderName> = headers
                .keys()
                .filter(|n| is_hop_by_hop(n))
                .cloned()
                .collect();
            for name in hop {
                headers.remove(name);
            }
            headers.remove(hyper::header::CONTENT_LENGTH);
            Ok(Forwarded {
                status: parts.status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(UPSTREAM_TIMEOUT, call).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout { url }),
        }
    }
}

/// An error and its causes on one line (`a: b: c`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Make one Cognito call to `endpoint` (a plain client for the demo and for tests):
/// returns the status and the body.
pub async fn call(
    endpoint: &str,
    operation: &str,
    body: &serde_json::Value,
) -> Result<(u16, Bytes), UpstreamError> {
    let upstream = Upstream::new(endpoint).map_err(|e| UpstreamError::Unreachable {
        url: endpoint.to_owned(),
        cause: e.to_string(),
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-target",
        format!("{}{operation}", crate::exchange::TARGET_PREFIX)
            .parse()
            .map_err(|_| UpstreamError::Unreachable {
                url: endpoint.to_owned(),
                cause: format!("bad operation name {operation:?}"),
            })?,
    );
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(crate::exchange::JSON_CONTENT_TYPE),
    );
    let body = Bytes::from(serde_json::to_vec(body).expect("JSON value"));
    let answer = upstream.forward("/", &headers, body).await?;
    Ok((answer.status.as_u16(), answer.body))
}
