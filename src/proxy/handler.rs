//! One exchange, the story in a page: route the request (a control call, or a Cognito call in
//! a scope), read it, inject a configured fault, answer it (from the replay hot path, or by
//! mode in `exchange.rs`), then count and log the outcome.

use hyper::body::Incoming;
use hyper::http::request::Parts;
use std::sync::Arc;
use std::time::Instant;

use super::faults::{self, Closed};
use super::heads::Heads;
use super::oauth;
use super::occurrences::TakenOccurrence;
use super::read::{self, Call};
use super::replay::answer::{remembered, Remembered};
use super::replay::timing;
use super::respond::{self, HttpResponse};
use super::scopes::{self, Control, Routed};
use super::summary::{Outcome, MAX_SCOPES};
use super::{control, exchange, origin, InterceptedHost, State};
use crate::cognito::oauth::{request as oauth_request, Endpoint};
use crate::cognito::wire::{BadRequest, Request};
use crate::config::Latency;
use crate::keying::scope::Scope;
use hyper::header::AUTHORIZATION;

/// Handle one request (anything but CONNECT). Every problem becomes a Cognito-shaped error (on
/// the OAuth2/OIDC paths, one in OAuth's shape);
/// the one `Err` is an injected fault's `close`, on which hyper closes the connection.
/// The request comes as its head and body (not as a `Request`, which the future would hold
/// beside its parts).
pub async fn handle(
    state: Arc<State>,
    mut parts: Parts,
    body: Incoming,
) -> Result<HttpResponse, Closed> {
    // The clock is read only for a log line that will be written: a replay hit's is at debug,
    // so at info (the default) the clock is read when the exchange turns out not to be one,
    // and that line's latency counts from when the request was read.
    let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
    let heads = Heads::of(&parts.headers);
    let scope = match route(&state, &parts, &heads) {
        // Where the tokens are the real ones, so is their JWKS: forwarded.
        Ok(Routed::Control(Control::Jwks)) if !state.serves_own_jwks() => Ok(Scope::default()),
        Ok(Routed::Control(call)) => return Ok(control::answer(&state, call)),
        Ok(Routed::Call(scope)) => Ok(scope),
        Err(bad) => Err(bad),
    };
    // A user pool's OAuth2/OIDC endpoint, or else a call of the JSON API.
    let endpoint = Endpoint::of(&parts.method, scopes::inner_path(parts.uri.path()));
    let (max_body, body_timeout) = (state.max_body, state.limits.body_timeout);
    let read = read::call(
        &parts,
        heads,
        body,
        scope,
        max_body,
        body_timeout,
        &state.body_budget,
    );
    let read = read.await;
    // The replay hot path, inline: a call repeated byte for byte whose answer is cached, with
    // no fault rule, no OAuth2 post-processing and no recorded latency to wait for. Everything
    // else goes the long way, boxed: its future (faults, the upstream call, the store, OAuth2)
    // is kilobytes, and hyper moves every exchange's future into place.
    let looked = match (&read, endpoint, &state.faults, state.latency) {
        (Ok(call), None, None, Latency::None) => {
            let remembered = remembered(&state, &call.scope, call.target, &call.raw);
            if let Remembered::Hit(..) = remembered {
                state.tallies.count(&call.scope, Outcome::Hit);
            }
            Some(remembered)
        }
        _ => None,
    };
    let looked = match looked {
        Some(Remembered::Hit(operation, cached)) => {
            // The answer goes out in the request's own header map, which hyper then keeps for
            // the connection's next request: no map allocated and freed per exchange.
            drop(read);
            let response = cached.to_http_in(std::mem::take(&mut parts.headers));
            state.counts.count(Outcome::Hit);
            log_exchange(started, &operation, Outcome::Hit, &response);
            return Ok(response);
        }
        Some(Remembered::Keyed(taken)) => Some(taken),
        None => None,
    };
    let started = started.or_else(|| tracing::enabled!(tracing::Level::INFO).then(Instant::now));
    Box::pin(the_long_way(
        &state, &parts, endpoint, read, looked, started,
    ))
    .await
}

/// Every exchange but a cached replay hit: a fault, a refusal, an OAuth2/OIDC endpoint, a miss,
/// a recording, a forwarded call. `looked`: what the hot path already learned from the body's
/// bytes (an occurrence it took), `None` when it did not look.
async fn the_long_way(
    state: &State,
    parts: &Parts,
    endpoint: Option<Endpoint>,
    read: Result<Call<'_>, BadRequest>,
    looked: Option<Option<TakenOccurrence>>,
    started: Option<Instant>,
) -> Result<HttpResponse, Closed> {
    let (operation, outcome, mut response) = match read {
        Err(bad) => rejected(&bad),
        Ok(call) => {
            // Before keying and the replay hot path: a faulted call takes no occurrence.
            let injected = match &state.faults {
                None => None,
                Some(rules) => {
                    let (scope, target, raw) = (&call.scope, call.target, &call.raw);
                    faults::inject(state, rules, scope, target, raw).await?
                }
            };
            if let Some((operation, response)) = injected {
                // Counted when it fired.
                log_exchange(started, &operation, Outcome::Injected, &response);
                return Ok(response);
            }
            let scope = call.scope.clone();
            let answered = answer(state, parts, endpoint, call, looked).await;
            state.tallies.count(&scope, answered.1);
            answered
        }
    };
    if let Some(endpoint) = endpoint {
        response = oauth::finish(parts, endpoint, outcome, state.tls, response).await;
    }
    state.counts.count(outcome);
    log_exchange(started, &operation, outcome, &response);
    Ok(response)
}

/// What the request is for: a control call, or a Cognito call in a scope; refused when a host
/// or web page may not drive the proxy, or when the path names no valid scope.
fn route(state: &State, parts: &Parts, heads: &Heads) -> Result<Routed, BadRequest> {
    let intercepted = parts.extensions.get::<InterceptedHost>().is_some();
    // Inside a tunnel the client names the real Cognito host, on purpose: only a web page's
    // request is refused there.
    let refused = match intercepted {
        true => origin::web_page(heads),
        false => state.hosts.refusal(parts, heads),
    };
    if let Some(refusal) = refused {
        return Err(BadRequest::Forbidden(refusal));
    }
    match scopes::route(&state.scope_names, &parts.method, parts.uri.path()) {
        Ok(Routed::Call(scope)) if !scope.is_default() && intercepted => {
            // The client signed that path for the real host: it cannot be forwarded as `/`.
            Err(BadRequest::Scope(format!(
                "cognito-vcr: scope {scope} through HTTPS_PROXY interception: a scope is chosen by the proxy's own endpoint URL (http://ADDR/scope/NAME)"
            )))
        }
        Ok(Routed::Call(scope)) if !state.tallies.admits(&scope) => {
            Err(BadRequest::Scope(format!(
                "cognito-vcr: scope {scope}: this run already keeps {MAX_SCOPES} scopes (their counts and miss messages); reset scopes that are done (POST /scope/NAME/reset) or start the proxy again"
            )))
        }
        Ok(routed) => Ok(routed),
        Err(message) => Err(BadRequest::Scope(message)),
    }
}

/// A call answered: at once when replay remembers these very bytes, else parsed and exchanged
/// by mode. A call to an OAuth2/OIDC `endpoint` is read from its path, query and form.
/// `looked`: what the hot path learned from the bytes already (then they are not looked up
/// again, which would take a second occurrence).
async fn answer(
    state: &State,
    parts: &Parts,
    endpoint: Option<Endpoint>,
    call: Call<'_>,
    looked: Option<Option<TakenOccurrence>>,
) -> (Arc<str>, Outcome, HttpResponse) {
    // The body's share of the budget is held until the exchange is answered.
    let Call {
        scope,
        target,
        raw,
        budget,
    } = call;
    let (parsed, taken) = match endpoint {
        Some(endpoint) => {
            let authorization = parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let path = scopes::inner_path(parts.uri.path());
            let query = parts.uri.query();
            (
                oauth_request(endpoint, path, query, authorization, raw),
                None,
            )
        }
        None => match looked.map_or_else(
            || remembered(state, &scope, target, &raw),
            Remembered::Keyed,
        ) {
            Remembered::Hit(operation, cached) => {
                drop(budget);
                let response = cached.to_http();
                return waited(state, (operation, Outcome::Hit, response)).await;
            }
            Remembered::Keyed(taken) => (Request::parse(target, raw), taken),
        },
    };
    let answered = match parsed {
        Err(bad) => rejected(&bad),
        Ok(request) => {
            let operation = request.operation.clone();
            let (outcome, response) = exchange::exchange(state, parts, scope, request, taken).await;
            (operation, outcome, response)
        }
    };
    // The body's share of the budget goes back before any recorded latency is waited for.
    drop(budget);
    waited(state, answered).await
}

/// An answer after its recorded latency: only a replayed answer waits, only when `--latency`
/// asks.
async fn waited(
    state: &State,
    answered: (Arc<str>, Outcome, HttpResponse),
) -> (Arc<str>, Outcome, HttpResponse) {
    let (operation, outcome, response) = answered;
    if outcome == Outcome::Hit && state.latency != Latency::None {
        timing::wait(state.latency, &response).await;
    }
    (operation, outcome, response)
}

fn rejected(bad: &BadRequest) -> (Arc<str>, Outcome, HttpResponse) {
    (Arc::from("-"), Outcome::Rejected, respond::refused(bad))
}

/// One line per exchange (`started`: when info lines are on): at info for what is worth a look
/// (a miss, a recording, a refusal, a failure, a forwarded call, an injected fault), at debug for
/// a replay hit, the one outcome a run has by the thousand.
fn log_exchange(
    started: Option<Instant>,
    operation: &str,
    outcome: Outcome,
    response: &HttpResponse,
) {
    let Some(started) = started else {
        return;
    };
    // A hit's line is at debug: no second clock read for a line nobody writes (the replay hot
    // path).
    if outcome == Outcome::Hit && !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let status = response.status().as_u16();
    let latency_us = started.elapsed().as_micros() as u64;
    let outcome_name = outcome.as_str();
    match outcome {
        Outcome::Hit => {
            tracing::debug!(
                operation,
                outcome = outcome_name,
                status,
                latency_us,
                "exchange"
            )
        }
        _ => tracing::info!(
            operation,
            outcome = outcome_name,
            status,
            latency_us,
            "exchange"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::errors;
    use crate::proxy::tests::replay_state;

    /// The route of a request, its headers found as the handler finds them.
    fn routed(state: &State, parts: &Parts) -> Result<Routed, BadRequest> {
        route(state, parts, &Heads::of(&parts.headers))
    }

    const COGNITO: &str = "cognito-idp.us-east-1.amazonaws.com";

    /// A request's head: `method path` naming `host`, with these headers more.
    fn request(method: &str, path: &str, host: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).unwrap().into_parts().0
    }

    /// The same request, arrived inside an intercepted HTTPS_PROXY tunnel to the real Cognito.
    fn intercepted(mut parts: Parts) -> Parts {
        parts.extensions.insert(InterceptedHost(COGNITO.to_owned()));
        parts
    }

    #[test]
    fn a_named_scope_through_interception_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let parts = intercepted(request("POST", "/scope/t1", COGNITO, &[]));
        let bad = routed(&state, &parts).unwrap_err();
        let BadRequest::Scope(message) = &bad else {
            panic!("expected a scope refusal, got {bad:?}");
        };
        assert!(
            message.contains("scope t1 through HTTPS_PROXY interception"),
            "{message}"
        );
        // What the client reads.
        let (operation, outcome, response) = rejected(&bad);
        assert_eq!((&*operation, outcome), ("-", Outcome::Rejected));
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            errors::INVALID_SCOPE
        );
        // The same path on the proxy's own endpoint chooses the scope.
        let own = request("POST", "/scope/t1", "127.0.0.1:4000", &[]);
        assert_eq!(
            routed(&state, &own),
            Ok(Routed::Call(Scope::named("t1").unwrap()))
        );
    }

    #[test]
    fn inside_a_tunnel_the_real_cognito_host_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let tunnelled = intercepted(request("POST", "/", COGNITO, &[]));
        assert_eq!(
            routed(&state, &tunnelled),
            Ok(Routed::Call(Scope::default()))
        );
        // Outside a tunnel, that host is not this proxy's.
        let direct = request("POST", "/", COGNITO, &[]);
        assert!(matches!(
            routed(&state, &direct),
            Err(BadRequest::Forbidden(message)) if message.contains(COGNITO)
        ));
    }

    #[test]
    fn inside_a_tunnel_a_web_page_is_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        for path in ["/", "/reset", "/summary"] {
            let page = intercepted(request(
                "POST",
                path,
                COGNITO,
                &[("origin", "https://evil.example")],
            ));
            assert!(
                matches!(routed(&state, &page), Err(BadRequest::Forbidden(m)) if m.contains("Origin")),
                "{path}"
            );
        }
    }

    #[test]
    fn a_refused_host_wins_over_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        // A path that names no scope, from a host that is not this proxy's.
        let foreign = request("POST", "/scope/t1/other", "evil.example", &[]);
        assert!(matches!(
            routed(&state, &foreign),
            Err(BadRequest::Forbidden(_))
        ));
        // A web page may not start a scope over either.
        let page = request(
            "POST",
            "/scope/t1/reset",
            "127.0.0.1",
            &[("origin", "http://evil.example")],
        );
        assert!(matches!(
            routed(&state, &page),
            Err(BadRequest::Forbidden(message)) if message.contains("Origin")
        ));
        // From the proxy's own host, the path is read.
        let own = request("POST", "/scope/t1/other", "127.0.0.1", &[]);
        assert!(matches!(
            routed(&state, &own),
            Err(BadRequest::Scope(message)) if message.contains("/scope/t1/other")
        ));
        let reset = request("POST", "/scope/t1/reset", "localhost", &[]);
        assert_eq!(
            routed(&state, &reset),
            Ok(Routed::Control(Control::Reset(Scope::named("t1").unwrap())))
        );
    }
}
