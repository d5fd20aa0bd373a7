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
    // Through an intercepted tunnel the client reaches the recorded addresses through this
    // proxy already: the document stays as it came.
    let intercepted = parts.extensions.get::<InterceptedHost>().is_some();
    let discovery =
        endpoint == Endpoint::Discovery && response.status().is_success() && !intercepted;
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
    let scheme = if tls { "https" } else { "http" };
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parts(path: &str, host: &str) -> Parts {
        let req = hyper::Request::get(path)
            .header(HOST, host)
            .body(())
            .unwrap();
        req.into_parts().0
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut out = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
        *out.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        for (name, value) in headers {
            out.headers_mut().insert(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        out
    }

    async fn body_of(response: HttpResponse) -> Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    const DOC: &str = r#"{"issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A",
        "jwks_uri": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A/.well-known/jwks.json",
        "token_endpoint": "https://d.auth.us-east-1.amazoncognito.com/oauth2/token"}"#;

    #[tokio::test]
    async fn discovery_names_the_proxy_as_the_client_reached_it() {
        let path = "/scope/t1/us-east-1_A/.well-known/openid-configuration";
        let asked = parts(path, "127.0.0.1:4000");
        let out = finish(
            &asked,
            Endpoint::Discovery,
            Outcome::Hit,
            true,
            answer(200, &[], DOC),
        )
        .await;
        let doc = body_of(out).await;
        assert_eq!(
            doc["token_endpoint"],
            "https://127.0.0.1:4000/scope/t1/oauth2/token"
        );
        assert_eq!(
            doc["jwks_uri"],
            "https://127.0.0.1:4000/scope/t1/us-east-1_A/.well-known/jwks.json"
        );
        assert_eq!(
            doc["issuer"],
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A"
        );
        // Through an intercepted tunnel: as it came.
        let mut tunnelled = parts(path, "cognito-idp.us-east-1.amazonaws.com");
        tunnelled.extensions.insert(InterceptedHost(
            "cognito-idp.us-east-1.amazonaws.com".into(),
        ));
        let out = finish(
            &tunnelled,
            Endpoint::Discovery,
            Outcome::Hit,
            false,
            answer(200, &[], DOC),
        )
        .await;
        assert_eq!(
            body_of(out).await,
            serde_json::from_str::<Value>(DOC).unwrap()
        );
    }

    #[tokio::test]
    async fn the_redirect_carries_the_requests_state_and_errors_the_oauth_shape() {
        let asked = parts("/oauth2/authorize?client_id=c&state=abc%20d", "localhost");
        let location = "http://localhost:3000/cb?code=p&state=cognito-vcr-state";
        let out = finish(
            &asked,
            Endpoint::Authorize,
            Outcome::Hit,
            false,
            answer(302, &[("location", location)], ""),
        )
        .await;
        assert_eq!(
            out.headers()[LOCATION],
            "http://localhost:3000/cb?code=p&state=abc+d"
        );
        let miss = json!({"__type": "CognitoVcrReplayMissException", "message": "no such call"});
        let out = finish(
            &asked,
            Endpoint::Token,
            Outcome::Miss,
            false,
            answer(
                400,
                &[("x-amzn-errortype", "CognitoVcrReplayMissException")],
                &miss.to_string(),
            ),
        )
        .await;
        assert_eq!(out.status(), 400);
        assert!(out.headers().get("x-amzn-errortype").is_none());
        assert_eq!(
            body_of(out).await,
            json!({"error": "invalid_request", "error_description": "no such call"})
        );
        // A recorded refusal is the upstream's own: untouched.
        let recorded = json!({"error": "invalid_client"}).to_string();
        let out = finish(
            &asked,
            Endpoint::Token,
            Outcome::Hit,
            false,
            answer(400, &[], &recorded),
        )
        .await;
        assert_eq!(body_of(out).await, json!({"error": "invalid_client"}));
    }
}
