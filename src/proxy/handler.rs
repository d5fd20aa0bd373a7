//! One exchange, start to end: read and key the request, then replay, forward or record by mode.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use std::sync::Arc;
use std::time::Instant;

use super::respond::{self, HttpResponse};
use super::State;
use crate::cassette::Interaction;
use crate::config::Mode;
use crate::exchange::{BadRequest, Request, Response};
use crate::key::{short_body, RequestKey};
use crate::session::Outcome;

/// Handle one HTTP request. Never fails: every problem becomes a Cognito-shaped error.
pub async fn handle(state: Arc<State>, req: hyper::Request<Incoming>) -> HttpResponse {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let parsed = match read_body(&parts, body, state.max_body).await {
        Ok(raw) => {
            let target = parts
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok());
            Request::parse(target, raw)
        }
        Err(bad) => Err(bad),
    };
    let (operation, outcome, response) = match parsed {
        Err(bad) => {
            tracing::warn!(error = ?bad, "request rejected");
            (
                String::from("-"),
                Outcome::Rejected,
                respond::to_http(&respond::rejected(&bad)),
            )
        }
        Ok(request) => {
            let operation = request.operation.clone();
            let (outcome, response) = exchange(&state, &parts, request).await;
            (operation, outcome, response)
        }
    };
    state.session.count(outcome);
    tracing::info!(
        operation = %operation,
        outcome = %outcome.as_str(),
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "exchange"
    );
    response
}

async fn read_body(parts: &Parts, body: Incoming, limit: usize) -> Result<Bytes, BadRequest> {
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BadRequest::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BadRequest::TooLarge { limit }),
        Err(e) => Err(BadRequest::Serialization(format!(
            "could not read the request body: {e}"
        ))),
    }
}

async fn exchange(state: &State, parts: &Parts, request: Request) -> (Outcome, HttpResponse) {
    tracing::trace!(operation = %request.operation, body = %String::from_utf8_lossy(&request.raw), "request");
    let Some(store) = state.store.as_ref() else {
        // Passthrough: no keys, no store.
        return forward(state, parts, request, None).await;
    };
    let key = RequestKey::new(&request.operation, &request.body);
    let occurrence = state.session.next_occurrence(&key);
    let recorded = match state.mode {
        Mode::Replay => state.lookup(&key, occurrence),
        Mode::Auto => store.get(&key, occurrence),
        Mode::Record | Mode::Passthrough => Ok(None),
    };
    match recorded {
        Ok(Some(response)) => (Outcome::Hit, respond::to_http(&response)),
        Ok(None) if state.mode == Mode::Replay => {
            let message = miss_message(state, &request, occurrence);
            tracing::warn!("{message}");
            let error = respond::cognito_error(400, respond::REPLAY_MISS, &message);
            (Outcome::Miss, respond::to_http(&error))
        }
        Ok(None) => forward(state, parts, request, Some((key, occurrence))).await,
        Err(e) => failed(&e.to_string()),
    }
}

/// Forward upstream; with `record_as`, store the answer under that key and occurrence first.
async fn forward(
    state: &State,
    parts: &Parts,
    request: Request,
    record_as: Option<(RequestKey, u32)>,
) -> (Outcome, HttpResponse) {
    let upstream = state
        .upstream
        .as_ref()
        .expect("forwarding modes always have an upstream");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = match upstream
        .forward(path, &parts.headers, request.raw.clone())
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(operation = %request.operation, "{e}");
            if let Some((key, occurrence)) = &record_as {
                state.session.release_occurrence(key, *occurrence);
            }
            let error = respond::upstream_failed(&e);
            return (Outcome::Failed, respond::to_http(&error));
        }
    };
    let Some((key, occurrence)) = record_as else {
        return (Outcome::Forwarded, respond::forwarded(answer));
    };
    let response: Response = answer.to_recorded();
    if !response.is_recordable() && !state.record_server_errors {
        // A 5xx or throttling answer is passed on but not kept; the client's retry takes its place.
        state.session.release_occurrence(&key, occurrence);
        return (Outcome::Forwarded, respond::forwarded(answer));
    }
    let interaction = Interaction {
        operation: request.operation,
        occurrence,
        request: request.body,
        response,
    };
    let store = state.store.as_ref().expect("recording modes have a store");
    // Durable before the client sees the answer: a crash never loses what a client received.
    if let Err(e) = store.record(&interaction).await {
        return failed(&format!("could not record the exchange: {e}"));
    }
    (Outcome::Recorded, respond::forwarded(answer))
}

fn failed(message: &str) -> (Outcome, HttpResponse) {
    tracing::error!("{message}");
    let error = respond::cognito_error(500, respond::INTERNAL, &format!("cognito-vcr: {message}"));
    (Outcome::Failed, respond::to_http(&error))
}

fn miss_message(state: &State, request: &Request, occurrence: u32) -> String {
    let key = RequestKey::new(&request.operation, &request.body);
    let recorded = state.store.as_ref().map_or(0, |s| s.occurrences(&key));
    let why = if recorded == 0 {
        "this request was never recorded".to_owned()
    } else {
        format!("only {recorded} occurrence(s) are recorded and --strict is on")
    };
    format!(
        "cognito-vcr replay miss: {} occurrence {} is not in cassette {} ({why}); body {}. Record it with --mode record or --mode auto.",
        request.operation,
        occurrence,
        state.cassette.display(),
        short_body(&request.body, 200)
    )
}
