//! The upstream client: forwards a call to the real Cognito (or a compatible server) unchanged.

pub mod route;
pub mod sign;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, AUTHORIZATION, HOST};
use hyper::{Method, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::Path;
use std::time::Duration;

use crate::cognito::wire::Response;
use crate::error::Error;
use crate::error::SignError;
use crate::proxy::upstream::sign::Signer;

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
    #[error("upstream {url} is unreachable")]
    Unreachable {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("upstream {url} did not answer within {after:?} (--upstream-timeout)")]
    Timeout { url: String, after: Duration },
    #[error("upstream {url} answer could not be read")]
    Body {
        url: String,
        #[source]
        source: hyper::Error,
    },
    #[error("cannot tell which AWS region this call is for: sign the request for a region, give a UserPoolId or IdentityPoolId, or set --region / AWS_REGION")]
    NoRegion,
    #[error(transparent)]
    Sign(SignError),
    #[error("cognito-vcr: recording the user pool's OAuth2 endpoints from AWS needs its domain: --oauth-domain https://<prefix>.auth.<region>.amazoncognito.com (or the pool's custom domain)")]
    NoOAuthDomain,
}

/// Where calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One URL (moto, LocalStack, cognito-local, a private endpoint): `scheme://authority[/path]`.
    Fixed { base: String, authority: String },
    /// The real Cognito: `https://cognito-idp.<region>.amazonaws.com` (user pools) or
    /// `https://cognito-identity.<region>.amazonaws.com` (identity pools), the region per call.
    Aws { default_region: Option<String> },
}

impl Target {
    /// `aws` (or nothing) means the real Cognito; anything else must be an http(s) URL.
    pub fn parse(url: Option<&str>, default_region: Option<String>) -> Result<Target, Error> {
        let url = match url {
            None | Some("aws") => return Ok(Target::Aws { default_region }),
            Some(u) => u,
        };
        let bad = |reason: &str| Error::Upstream {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s,
            _ => {
                return Err(bad(
                    "the URL must start with http:// or https:// (or be `aws`)",
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad("the URL has no host"))?
            .to_string();
        let path = uri.path().trim_end_matches('/');
        Ok(Target::Fixed {
            base: format!("{scheme}://{authority}{path}"),
            authority,
        })
    }

    pub fn is_aws(&self) -> bool {
        matches!(self, Target::Aws { .. })
    }
}

/// A configured upstream with a keep-alive connection pool (HTTP and verified HTTPS).
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    target: Target,
    /// Re-signs signed operations for the upstream host (always towards AWS; on request
    /// towards other upstreams).
    signer: Option<Signer>,
    /// Where intercepted calls go instead of their real host (a private endpoint, a test stub).
    intercept_upstream: Option<String>,
    /// Recording from AWS: the user pool's domain, where its `/oauth2/*` endpoints are.
    oauth_domain: Option<String>,
    /// One call, from sending to the last byte of the answer.
    timeout: Duration,
}

/// One call to forward: what the client sent, as the proxy received it.
pub struct UpstreamCall<'a> {
    /// Arrived through an intercepted CONNECT tunnel to this host: goes there (or to the
    /// intercept upstream) with its `Host` and the client's own signature untouched.
    pub intercepted_host: Option<&'a str>,
    pub method: &'a Method,
    pub operation: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    /// The parsed body (for the region of a call towards AWS).
    pub json: &'a serde_json::Value,
    pub body: Bytes,
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
        let headers = self
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        Response::recorded(self.status.as_u16(), headers, self.body.clone())
    }
}

impl Upstream {
    /// Whether calls go to the real Cognito (not a local upstream such as moto).
    pub fn is_aws(&self) -> bool {
        self.target.is_aws()
    }

    /// A client for `target`; `extra_ca` adds trust roots (a private endpoint's CA).
    pub fn new(
        target: Target,
        extra_ca: Option<&Path>,
        signer: Option<Signer>,
    ) -> Result<Upstream, Error> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        http.enforce_http(false);
        let tls = crate::tls::client_config(extra_ca).map_err(|e| Error::Upstream {
            url: format!("{target:?}"),
            reason: e.to_string(),
        })?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Upstream {
            client,
            target,
            signer,
            intercept_upstream: None,
            oauth_domain: None,
            timeout: crate::config::Limits::default().upstream_timeout,
        })
    }

    /// How long one call may take before the client gets a 504.
    pub fn with_timeout(mut self, timeout: Duration) -> Upstream {
        self.timeout = timeout;
        self
    }

    /// Where the user pool's OAuth2 endpoints (`/oauth2/*`) are when recording from AWS: its
    /// domain (`https://<prefix>.auth.<region>.amazoncognito.com`, or a custom domain).
    pub fn with_oauth_domain(mut self, url: Option<String>) -> Upstream {
        self.oauth_domain = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    /// Send intercepted calls to `url` instead of the host the client asked for.
    pub fn with_intercept_upstream(mut self, url: Option<String>) -> Upstream {
        self.intercept_upstream = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    /// A plain client for one URL, no re-signing.
    pub fn fixed(url: &str) -> Result<Upstream, Error> {
        Upstream::new(Target::parse(Some(url), None)?, None, None)
    }

    /// Where this call goes, and the region it is signed for.
    fn route(&self, call: &UpstreamCall) -> Result<(String, String, String), UpstreamError> {
        let authorization = call
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(host) = call.intercepted_host {
            let base = self
                .intercept_upstream
                .clone()
                .unwrap_or_else(|| format!("https://{host}"));
            return Ok((base, host.to_owned(), String::new()));
        }
        match &self.target {
            Target::Fixed { base, authority } => {
                let region = crate::proxy::upstream::route::region(authorization, call.json, None)
                    .unwrap_or_else(|| "us-east-1".into());
                Ok((base.clone(), authority.clone(), region))
            }
            Target::Aws { .. } if on_domain(call.operation) => {
                let base = self
                    .oauth_domain
                    .clone()
                    .ok_or(UpstreamError::NoOAuthDomain)?;
                let authority = base.split_once("://").map_or(&*base, |(_, a)| a).to_owned();
                Ok((base, authority, String::new()))
            }
            Target::Aws { default_region } => {
                let region = crate::proxy::upstream::route::region(
                    authorization,
                    call.json,
                    default_region.as_deref(),
                )
                .ok_or(UpstreamError::NoRegion)?;
                let service = crate::cognito::wire::Service::of(call.operation);
                let base = crate::proxy::upstream::route::aws_endpoint(service, &region);
                let authority = base.trim_start_matches("https://").to_owned();
                Ok((base, authority, region))
            }
        }
    }

    /// Send the call upstream with the client's headers (less hop-by-hop ones and `Host`).
    pub async fn forward(&self, call: UpstreamCall<'_>) -> Result<Forwarded, UpstreamError> {
        let (base, authority, region) = self.route(&call)?;
        let target = format!("{base}{}", call.path_and_query);
        // What errors and logs name: never the query (an OAuth2 call's may hold a token).
        let url = target.split('?').next().unwrap_or(&target).to_owned();
        let body = call.body.clone();
        let service = crate::cognito::wire::Service::of(call.operation);
        // The OAuth2 endpoints are not AWS APIs: they keep the client's method, and its own
        // `Authorization` (a client's Basic credential, a bearer token) goes as it came.
        let oauth = service == crate::cognito::wire::Service::OAuth2;
        let mut req = hyper::Request::new(Full::new(call.body));
        *req.method_mut() = match oauth {
            true => call.method.clone(),
            false => Method::POST,
        };
        *req.uri_mut() = target.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            UpstreamError::Unreachable {
                url: url.clone(),
                source: e.into(),
            }
        })?;
        let out = req.headers_mut();
        for (name, value) in call.headers {
            if !is_hop_by_hop(name) && name != HOST && name != hyper::header::CONTENT_LENGTH {
                out.append(name.clone(), value.clone());
            }
        }
        if let Ok(host) = authority.parse() {
            out.insert(HOST, host);
        }
        if oauth {
            // An answer is recorded and rewritten as text: never compressed.
            out.insert(
                hyper::header::ACCEPT_ENCODING,
                hyper::header::HeaderValue::from_static("identity"),
            );
        }
        if let (Some(signer), None, false) = (&self.signer, call.intercepted_host, oauth) {
            if crate::cognito::operations::is_unsigned(call.operation) {
                crate::proxy::upstream::sign::strip_client_signature(req.headers_mut());
            } else {
                signer
                    .sign(&mut req, &body, service, &region)
                    .await
                    .map_err(UpstreamError::Sign)?;
            }
        }
        let call = async {
            let response =
                self.client
                    .request(req)
                    .await
                    .map_err(|e| UpstreamError::Unreachable {
                        url: url.clone(),
                        source: e.into(),
                    })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| UpstreamError::Body {
                    url: url.clone(),
                    source: e,
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
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout {
                url,
                after: self.timeout,
            }),
        }
    }
}

/// An operation of the user pool's domain (`/oauth2/*`), not of its issuer's `.well-known`.
fn on_domain(operation: &str) -> bool {
    crate::cognito::oauth::Endpoint::of_operation(operation).is_some_and(|e| e.on_domain())
}

/// Make one Cognito call to `endpoint` (a plain client for the demo and for tests):
/// returns the status and the body.
pub async fn call(
    endpoint: &str,
    operation: &str,
    body: &serde_json::Value,
) -> Result<(u16, Bytes), UpstreamError> {
    let upstream = Upstream::fixed(endpoint).map_err(|e| UpstreamError::Unreachable {
        url: endpoint.to_owned(),
        source: e.into(),
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-target",
        crate::cognito::wire::target_of(operation)
            .parse()
            .map_err(|_| UpstreamError::Unreachable {
                url: endpoint.to_owned(),
                source: format!("bad operation name {operation:?}").into(),
            })?,
    );
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(crate::cognito::wire::JSON_CONTENT_TYPE),
    );
    let body = Bytes::from(serde_json::to_vec(body).expect("JSON value"));
    let answer = upstream
        .forward(UpstreamCall {
            method: &Method::POST,
            intercepted_host: None,
            operation,
            path_and_query: "/",
            headers: &headers,
            json: &serde_json::Value::Null,
            body,
        })
        .await?;
    Ok((answer.status.as_u16(), answer.body))
}
