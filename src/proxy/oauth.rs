//! The proxy's side of a user pool's OAuth2/OIDC endpoints: what a client of this proxy gets
//! on top of the answer: the authorization redirect with its own `state`, the discovery
//! document naming this proxy, and the proxy's own errors in OAuth's shape.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST, LOCATION};
use hyper::http::request::Parts;

use super::respond::HttpResponse;
use super::scopes::inner_path;
use super::summary::Outcome;
use super::InterceptedHost;
use crate::cognito::oauth::{self, Endpoint};

/// The answer to a call to `endpoint`, as a client of this proxy gets it. `tls`: the proxy's
/// listener speaks HTTPS.
pub async fn finish(
    parts: &Parts,
    endpoint: Endpoint,
    outcome: Outcome,
    tls: bool,
    response: HttpResponse,
) -> HttpResponse {
    let made_here = matches!(outcome, Outcome::Miss | Outcome::Rejected | Outcome::Failed);
    let redirect = endpoint == Endpoint::Authorize && response.status().is_redirection();
    let discovery = endpoint == Endpoint::Discovery && response.status().is_success();
    if !(made_here || redirect || discovery) {
        return response;
    }
    let (mut head, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if made_here {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        let error = oauth::error(head.status.as_u16(), &message);
        head.headers.remove("x-amzn-errortype");
        head.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(oauth::JSON_CONTENT_TYPE),
        );
        return hyper::Response::from_parts(head, Full::new(error.body));
    }
    if redirect {
        let query = parts.uri.query().unwrap_or("");
        let request = oauth::query_members(query);
        let location = head.headers.get(LOCATION).and_then(|v| v.to_str().ok());
        if let Some(new) = location.and_then(|l| oauth::redirect_for(l, &request)) {
            if let Ok(value) = HeaderValue::from_str(&new) {
                head.headers.insert(LOCATION, value);
            }
        }
        return hyper::Response::from_parts(head, Full::new(body));
    }
    let body = match oauth::discovery_for(&body, &base_url(parts, tls)) {
        Some(document) => Bytes::from(document),
        None => body,
    };
    hyper::Response::from_parts(head, Full::new(body))
}

/// This proxy's URL as the client named it, with the request's scope (`http://127.0.0.1:PORT`,
/// `http://127.0.0.1:PORT/scope/NAME`): where a discovery document sends its client next.
fn base_url(parts: &Parts, tls: bool) -> String {
    let intercepted = parts.extensions.get::<InterceptedHost>().is_some();
    let scheme = if tls || intercepted { "https" } else { "http" };
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let path = parts.uri.path();
    let prefix = &path[..path.len() - inner_path(path).len()];
    format!("{scheme}://{host}{prefix}")
}
