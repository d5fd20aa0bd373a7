//! Responses to the client: recorded answers, forwarded answers, and errors in Cognito's shape.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};

use super::upstream::{Forwarded, UpstreamError};
use crate::cassette::timing;
use crate::cognito::errors;
use crate::cognito::wire::{BadRequest, Response, JSON_CONTENT_TYPE, LATENCY_HEADER};

pub type HttpResponse = hyper::Response<Full<Bytes>>;

/// A Cognito-shaped error: `{"__type": kind, "message": message}` with `x-amzn-errortype`.
pub fn cognito_error(status: u16, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": kind, "message": message });
    Response {
        status,
        headers: vec![
            ("content-type".into(), JSON_CONTENT_TYPE.into()),
            ("x-amzn-errortype".into(), kind.into()),
        ],
        body: Bytes::from(serde_json::to_vec(&body).expect("JSON of strings")),
    }
}

/// The error for a request refused before keying.
pub fn rejected(bad: &BadRequest) -> Response {
    match bad {
        BadRequest::UnknownOperation(m) => cognito_error(400, errors::UNKNOWN_OPERATION, m),
        BadRequest::Serialization(m) => cognito_error(400, errors::SERIALIZATION, m),
        BadRequest::Scope(m) => cognito_error(400, errors::INVALID_SCOPE, m),
        BadRequest::Forbidden(m) => cognito_error(403, errors::FORBIDDEN, m),
        BadRequest::Timeout { after } => cognito_error(
            408,
            errors::REQUEST_TIMEOUT,
            &format!(
                "cognito-vcr: the request body did not arrive within {after:?} (--body-timeout)"
            ),
        ),
        BadRequest::Busy { budget } => cognito_error(
            503,
            errors::BUSY,
            &format!(
                "cognito-vcr: {budget} bytes of request bodies are already held (--body-budget); try again"
            ),
        ),
        BadRequest::TooManyHeaders { limit } => cognito_error(
            431,
            errors::TOO_MANY_HEADERS,
            &format!("cognito-vcr: a request may have at most {limit} headers"),
        ),
        BadRequest::TooLarge { limit } => cognito_error(
            413,
            errors::TOO_LARGE,
            &format!("request body is larger than the limit of {limit} bytes (--max-body)"),
        ),
    }
}

/// A request refused before keying: logged, and answered with the error for it.
pub fn refused(bad: &BadRequest) -> HttpResponse {
    tracing::warn!(error = ?bad, "request rejected");
    to_http(&rejected(bad))
}

/// A failure of the proxy itself: logged, and answered as Cognito's internal error.
pub fn failed(message: &str) -> HttpResponse {
    tracing::error!("{message}");
    to_http(&cognito_error(
        500,
        errors::INTERNAL,
        &format!("cognito-vcr: {message}"),
    ))
}

/// The error for an upstream that could not be reached or did not answer in time.
pub fn upstream_failed(e: &UpstreamError) -> Response {
    let (status, kind) = match e {
        UpstreamError::Timeout { .. } => (504, errors::UPSTREAM_UNAVAILABLE),
        // Configuration problems: not retried by the SDKs.
        UpstreamError::NoRegion => (400, errors::NO_REGION),
        UpstreamError::NoOAuthDomain => (400, errors::NO_OAUTH_DOMAIN),
        UpstreamError::Sign(_) => (400, errors::SIGNING),
        _ => (502, errors::UPSTREAM_UNAVAILABLE),
    };
    cognito_error(
        status,
        kind,
        &format!("cognito-vcr: {}", crate::error::chain(e)),
    )
}

/// A recorded (or proxy-made) response as an HTTP response.
pub fn to_http(r: &Response) -> HttpResponse {
    let (status, headers) = head(r);
    with_head(status, headers, r.body.clone(), timing::of(r))
}

/// An HTTP response of these parts; a recorded answer's latency class rides beside it as a
/// [`RecordedLatency`], never as a header.
pub fn with_head(
    status: hyper::StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
    latency: Option<u32>,
) -> HttpResponse {
    let mut out = hyper::Response::new(Full::new(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    if let Some(ms) = latency {
        out.extensions_mut().insert(RecordedLatency(ms));
    }
    out
}

/// How long the upstream took to give the recorded answer a response carries (its latency
/// class, ms), for `--latency` (see `replay/timing.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedLatency(pub u32);

/// Status and headers of a recorded response as a client gets them: a content type always, the
/// recording's latency class never.
pub fn head(r: &Response) -> (hyper::StatusCode, hyper::HeaderMap) {
    let status = hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::OK);
    let mut headers = hyper::HeaderMap::with_capacity(r.headers.len() + 1);
    for (name, value) in &r.headers {
        if name.eq_ignore_ascii_case(LATENCY_HEADER) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    }
    (status, headers)
}

/// The upstream's answer as the client gets it: unchanged but for hop-by-hop headers.
pub fn forwarded(f: Forwarded) -> HttpResponse {
    let mut out = hyper::Response::new(Full::new(f.body));
    *out.status_mut() = f.status;
    *out.headers_mut() = f.headers;
    out
}
