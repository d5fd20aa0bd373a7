//! One exchange, the story in a page: route the request (a control call, or a Cognito call in
//! a scope), read it, inject a configured fault, answer it (from the replay hot path, or by
//! mode in `exchange.rs`), then count and log the outcome.

use hyper::body::Incoming;
use hyper::http::request::Parts;
use std::sync::Arc;
use std::time::Instant;

use super::faults::{self, Closed};
use super::read::{self, Call};
use super::replay::answer::{remembered, Remembered};
use super::respond::{self, HttpResponse};
use super::scopes::{self, Routed};
use super::summary::Outcome;
use super::{control, exchange, InterceptedHost, State};
use crate::cognito::wire::{BadRequest, Request};

/// Handle one request (anything but CONNECT). Every problem becomes a Cognito-shaped error;
/// the one `Err` is an injected fault's `close`, on which hyper closes the connection.
pub async fn handle(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
) -> Result<HttpResponse, Closed> {
    // The clock is read only for the log line (off below info level, as under load).
    let started = tracing::enabled!(tracing::Level::INFO).then(Instant::now);
    let (parts, body) = req.into_parts();
    let scope = match route(&state, &parts) {
        Ok(Routed::Control(call)) => return Ok(control::answer(&state, call)),
        Ok(Routed::Call(scope)) => Ok(scope),
        Err(bad) => Err(bad),
    };
    let (max_body, body_timeout) = (state.max_body, state.limits.body_timeout);
    let (operation, outcome, response) =
        match read::call(&parts, body, scope, max_body, body_timeout).await {
            Err(bad) => rejected(&bad),
            Ok(call) => {
                // Before keying and the replay hot path: a faulted call takes no occurrence.
                // Without fault rules, this check is the whole cost (boxed, the fault's wait
                // does not grow every exchange's future).
                let injected = match &state.faults {
                    None => None,
                    Some(rules) => {
                        let (scope, target, raw) = (&call.scope, call.target, &call.raw);
                        Box::pin(faults::inject(&state, rules, scope, target, raw)).await?
                    }
                };
                if let Some((operation, response)) = injected {
                    // Counted when it fired.
                    log_exchange(started, &operation, Outcome::Injected, &response);
                    return Ok(response);
                }
                let scope = call.scope.clone();
                let answered = answer(&state, &parts, call).await;
                state.tallies.count(&scope, answered.1);
                answered
            }
        };
    state.counts.count(outcome);
    log_exchange(started, &operation, outcome, &response);
    Ok(response)
}

/// What the request is for: a control call, or a Cognito call in a scope; refused when a host
/// or web page may not drive the proxy, or when the path names no valid scope.
fn route(state: &State, parts: &Parts) -> Result<Routed, BadRequest> {
    let intercepted = parts.extensions.get::<InterceptedHost>().is_some();
    // Inside a tunnel the client names the real Cognito host, on purpose.
    if !intercepted {
        if let Some(refusal) = state.hosts.refusal(parts) {
            return Err(BadRequest::Forbidden(refusal));
        }
    }
    match scopes::route(&state.scope_names, &parts.method, parts.uri.path()) {
        Ok(Routed::Call(scope)) if !scope.is_default() && intercepted => {
            // The client signed that path for the real host: it cannot be forwarded as `/`.
            Err(BadRequest::Scope(format!(
                "cognito-vcr: scope {scope} through HTTPS_PROXY interception: a scope is chosen by the proxy's own endpoint URL (http://ADDR/scope/NAME)"
            )))
        }
        Ok(routed) => Ok(routed),
        Err(message) => Err(BadRequest::Scope(message)),
    }
}

/// A call answered: at once when replay remembers these very bytes, else parsed and exchanged
/// by mode.
async fn answer(state: &State, parts: &Parts, call: Call<'_>) -> (Arc<str>, Outcome, HttpResponse) {
    let Call { scope, target, raw } = call;
    match remembered(state, &scope, target, &raw) {
        Remembered::Hit(operation, response) => (operation, Outcome::Hit, response),
        Remembered::Keyed(taken) => match Request::parse(target, raw) {
            Err(bad) => rejected(&bad),
            Ok(request) => {
                let operation = request.operation.clone();
                let (outcome, response) =
                    exchange::exchange(state, parts, scope, request, taken).await;
                (operation, outcome, response)
            }
        },
    }
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
