//! A parsed call answered by mode: passthrough forwards it; replay keys it and answers from the
//! recording; auto answers what is recorded and forwards and records the rest; record forwards
//! and records everything. Keying (and taking the call's occurrence) is shared by all but
//! passthrough.

use hyper::http::request::Parts;
use serde_json::Value;
use std::borrow::Cow;

use super::forward::{self, Recording};
use super::occurrences::TakenOccurrence;
use super::replay::answer::{from_recording, served};
use super::replay::lookup::recorded_answer;
use super::replay::miss::answer_miss;
use super::respond::{self, HttpResponse};
use super::scopes;
use super::summary::Outcome;
use super::{off_workers, Run, State};
use crate::cognito::errors;
use crate::cognito::oauth::Endpoint;
use crate::cognito::wire::{Request, Service};
use crate::keying::key::RequestKey;
use crate::keying::scope::Scope;

/// Answer `request` in `scope` by the run's mode. `taken`: its key and occurrence when the
/// replay hot path took them already.
pub async fn exchange(
    state: &State,
    parts: &Parts,
    scope: Scope,
    request: Request,
    taken: Option<TakenOccurrence>,
) -> (Outcome, HttpResponse) {
    let path = upstream_path(parts, &scope, &request.operation);
    let path = path.as_ref();
    let (store, upstream) = match &state.run {
        // A JWKS is forwarded where tokens are the upstream's (it is never recorded: replay and
        // auto serve their own, as a control call).
        Run::Record { upstream, .. } if *request.operation == *Endpoint::Jwks.operation() => {
            return forward::passthrough(upstream, parts, path, &request).await;
        }
        Run::Passthrough { upstream } => {
            // No keys, no store.
            if tracing::enabled!(tracing::Level::TRACE) {
                let body = state.pipeline.redacted(&request.body);
                tracing::trace!(operation = %request.operation, %body, "request");
            }
            return forward::passthrough(upstream, parts, path, &request).await;
        }
        Run::Replay { recorded } => {
            return match key_request(state, scope, &request, taken) {
                Keying::Keyed(k) => {
                    from_recording(state, recorded, &k.key, k.occurrence, &k.stored)
                }
                Keying::Done(outcome, response) => (outcome, response),
            };
        }
        Run::Auto { store, upstream } | Run::Record { store, upstream } => (store, upstream),
    };
    let Keyed {
        stored,
        key,
        occurrence,
        epoch,
    } = match key_request(state, scope, &request, taken) {
        Keying::Keyed(keyed) => keyed,
        Keying::Done(outcome, response) => return (outcome, response),
    };
    if let Run::Auto { .. } = state.run {
        match recorded_answer(store, &key, occurrence) {
            Ok(Some(found)) => return served(state, &key, occurrence, found),
            Ok(None) => {}
            Err(e) => return (Outcome::Failed, respond::failed(&crate::error::chain(&e))),
        }
        // A placeholder the cassette handed out, sent back in a call it does not hold: the
        // upstream never issued it, and its refusal must not be recorded as this call's answer.
        if let Some(field) = state.pipeline.sent_placeholder(&request.body) {
            state
                .occurrences
                .release_occurrence(&key, occurrence, epoch);
            let message = format!(
                "cognito-vcr replay miss: {} sends back as {field} a placeholder the cassette handed out, in a call the cassette does not hold (occurrence {occurrence}{}); it is not forwarded: the upstream never issued it. Record the flow that hands it out (--mode record)",
                request.operation,
                key.scope.label()
            );
            let error = answer_miss(state, &key.scope, errors::REPLAY_MISS, &message);
            return (Outcome::Miss, respond::to_http(&error));
        }
    }
    let recording = Recording {
        store,
        key,
        occurrence,
        epoch,
        body: stored.into_owned(),
    };
    forward::record(state, upstream, parts, path, &request, recording).await
}

/// A request as stored, its key and its occurrence (with its counter's epoch).
struct Keyed<'r> {
    stored: Cow<'r, Value>,
    key: RequestKey,
    occurrence: u32,
    epoch: u64,
}

/// What keying a request came to.
enum Keying<'r> {
    Keyed(Keyed<'r>),
    /// The whole exchange: the answer cache had it, or the request was refused.
    Done(Outcome, HttpResponse),
}

/// The path and query a call goes upstream with: a JSON API call's is `/` in a named scope
/// (the scope is this proxy's own path), the client's otherwise; an OAuth2 call's is its
/// path below the scope, with its query.
fn upstream_path<'p>(parts: &'p Parts, scope: &Scope, operation: &str) -> Cow<'p, str> {
    if Service::of(operation) == Service::OAuth2 {
        let inner = scopes::inner_path(parts.uri.path());
        return match parts.uri.query() {
            Some(query) => Cow::Owned(format!("{inner}?{query}")),
            None => Cow::Borrowed(inner),
        };
    }
    match scope.is_default() {
        true => Cow::Borrowed(parts.uri.path_and_query().map_or("/", |p| p.as_str())),
        false => Cow::Borrowed("/"),
    }
}

/// Key a request in `scope` and take its occurrence (unless the hot path took them already).
fn key_request<'r>(
    state: &State,
    scope: Scope,
    request: &'r Request,
    taken: Option<TakenOccurrence>,
) -> Keying<'r> {
    let secrets = match state
        .pipeline
        .secrets_to_hash(&request.operation, &request.body)
    {
        Ok(secrets) => secrets,
        Err(bad) => return Keying::Done(Outcome::Rejected, respond::refused(&bad)),
    };
    // Hashing a secret is slow on purpose (PBKDF2): not on an async worker's time.
    let stored = match secrets {
        0 => state.pipeline.request(&request.operation, &request.body),
        _ => off_workers(|| state.pipeline.request(&request.operation, &request.body)),
    };
    tracing::trace!(operation = %request.operation, %scope, body = %stored, "request");
    if let Some((key, occurrence, epoch)) = taken {
        return Keying::Keyed(Keyed {
            stored,
            key,
            occurrence,
            epoch,
        });
    }
    let key = state
        .pipeline
        .key(request.operation.clone(), &stored)
        .in_scope(scope);
    // The memo knows a call by its body alone: not an OAuth2 call, told by its path and headers.
    if let (Run::Replay { .. }, false) = (
        &state.run,
        Service::of(&request.operation) == Service::OAuth2,
    ) {
        state.keys.insert(&request.raw, &key);
    }
    let (occurrence, epoch) = state.occurrences.next_occurrence_in_epoch(&key);
    if !matches!(state.run, Run::Record { .. }) {
        if let Some(hit) = state.answers.get(&key, occurrence) {
            return Keying::Done(Outcome::Hit, hit);
        }
    }
    Keying::Keyed(Keyed {
        stored,
        key,
        occurrence,
        epoch,
    })
}
