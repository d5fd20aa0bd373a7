//! One exchange, start to end: read and key the request, then replay, forward or record by mode.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::faults::{self, Closed};
use super::http::MAX_HEADERS;
use super::replay::explain::{self, Missed};
use super::replay::lookup::{lookup, recorded_answer, Found};
use super::respond::{self, HttpResponse};
use super::scopes::{self, Routed};
use super::upstream::{Outgoing, Upstream};
use super::{InterceptedHost, Run, State};
use crate::cassette::Interaction;
use crate::cognito::errors::{self, INVALID_PARAMETER};
use crate::cognito::operations::is_read_only;
use crate::cognito::pagination::request_token;
use crate::cognito::wire::{BadRequest, Request, Response};
use crate::config::TokenTimes;
use crate::keying::canonical::{canonical, short_body};
use crate::keying::key::RequestKey;
use crate::keying::scope::Scope;
use crate::proxy::occurrences::Occurrences;
use crate::proxy::summary::Outcome;
use crate::rewrite::page_tokens::{self as tokens, is_synthetic};
use crate::rewrite::redact::MAX_SECRETS_PER_REQUEST;
use crate::store::{ReplayIndex, Store};
use serde_json::Value;
use std::borrow::Cow;

/// Handle one Cognito call (anything but CONNECT). Every problem becomes a Cognito-shaped error;
/// the one `Err` is an injected fault's `close`, on which hyper closes the connection.
pub async fn handle(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
) -> Result<HttpResponse, Closed> {
    // The clock is read only for the log line (off below info level, as under load).
    let started = tracing::enabled!(tracing::Level::INFO).then(Instant::now);
    let (parts, body) = req.into_parts();
    let intercepted = parts.extensions.get::<InterceptedHost>().is_some();
    let refused = match intercepted {
        // Inside a tunnel the client names the real Cognito host, on purpose.
        true => None,
        false => state.hosts.refusal(&parts),
    };
    let scope = match scopes::route(&state.scope_names, &parts.method, parts.uri.path()) {
        _ if refused.is_some() => Err(BadRequest::Forbidden(refused.unwrap_or_default())),
        Ok(Routed::Call(scope)) if !scope.is_default() && intercepted => {
            // The client signed that path for the real host: it cannot be forwarded as `/`.
            Err(BadRequest::Scope(format!(
                "cognito-vcr: scope {scope} through HTTPS_PROXY interception: a scope is chosen by the proxy's own endpoint URL (http://ADDR/scope/NAME)"
            )))
        }
        Ok(Routed::Call(scope)) => Ok(scope),
        Ok(Routed::Reset(scope)) => return Ok(reset(&state, &scope)),
        Ok(Routed::Jwks) => return Ok(jwks(&state)),
        Ok(Routed::ScopeSummary(scope)) => {
            return Ok(json_answer(&state.tallies.of(&scope).to_json(&scope)))
        }
        Ok(Routed::RunSummary) => {
            let mut summary = state.summary().to_json();
            summary["cassette"] = Value::from(state.cassette.display().to_string());
            return Ok(json_answer(&summary));
        }
        Err(message) => Err(BadRequest::Scope(message)),
    };
    let target = parts.headers.get("x-amz-target").map(|v| v.to_str());
    let read = match (scope, &target) {
        (Err(bad), _) => Err(bad),
        _ if parts.headers.len() > MAX_HEADERS => {
            Err(BadRequest::TooManyHeaders { limit: MAX_HEADERS })
        }
        (_, Some(Err(_))) => Err(BadRequest::UnknownOperation(
            "X-Amz-Target is not ASCII; expected AWSCognitoIdentityProviderService.<Operation>"
                .to_owned(),
        )),
        (Ok(scope), _) => read_body(&parts, body, state.max_body, state.limits.body_timeout)
            .await
            .map(|raw| (scope, raw)),
    };
    let target = target.and_then(Result::ok);
    let (operation, outcome, response) = match read {
        Err(bad) => rejected(&bad),
        Ok((scope, raw)) => {
            // Before keying and the replay hot path: a faulted call takes no occurrence. Without
            // fault rules, this check is the whole cost (boxed, the fault's wait does not grow
            // every exchange's future).
            let injected = match &state.faults {
                None => None,
                Some(rules) => {
                    Box::pin(faults::inject(&state, rules, &scope, target, &raw)).await?
                }
            };
            if let Some((operation, response)) = injected {
                // Counted when it fired.
                log_exchange(started, &operation, Outcome::Injected, &response);
                return Ok(response);
            }
            let (operation, outcome, response) = match remembered(&state, &scope, target, &raw) {
                Remembered::Hit(operation, response) => (operation, Outcome::Hit, response),
                Remembered::Keyed(keyed) => match Request::parse(target, raw) {
                    Err(bad) => rejected(&bad),
                    Ok(request) => {
                        let operation = request.operation.clone();
                        let (outcome, response) =
                            exchange(&state, &parts, scope.clone(), request, keyed).await;
                        (operation, outcome, response)
                    }
                },
            };
            state.tallies.count(&scope, outcome);
            (operation, outcome, response)
        }
    };
    state.counts.count(outcome);
    log_exchange(started, &operation, outcome, &response);
    Ok(response)
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

/// The control call: start a scope over, and say so.
fn reset(state: &State, scope: &Scope) -> HttpResponse {
    state.reset(scope);
    tracing::info!(%scope, "scope reset");
    json_answer(&serde_json::json!({ "scope": scope.name(), "reset": true }))
}

/// The JWKS of the key that signs the tokens replay hands out (for every pool).
fn jwks(state: &State) -> HttpResponse {
    let error = match state.signer.as_ref().map(|s| off_workers(|| s.jwks().cloned())) {
        Some(Ok(jwks)) => return json_answer(&jwks),
        Some(Err(e)) => respond::cognito_error(500, errors::INTERNAL, &format!("cognito-vcr: {e}")),
        None => respond::cognito_error(
            404,
            errors::NO_JWKS,
            "cognito-vcr: a JWKS is served in replay and auto modes, whose tokens the proxy signs; in record and passthrough modes the tokens are the real Cognito's: verify them with its JWKS",
        ),
    };
    respond::to_http(&error)
}

/// A control call's answer: 200 with a JSON body.
fn json_answer(body: &Value) -> HttpResponse {
    let mut out = hyper::Response::new(http_body_util::Full::new(Bytes::from(body.to_string())));
    out.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    out
}

fn rejected(bad: &BadRequest) -> (Arc<str>, Outcome, HttpResponse) {
    tracing::warn!(error = ?bad, "request rejected");
    (
        Arc::from("-"),
        Outcome::Rejected,
        respond::to_http(&respond::rejected(bad)),
    )
}

/// What replay knows of a request from its bytes alone, before parsing it.
enum Remembered {
    /// Seen before, and this occurrence's answer is cached: the whole exchange.
    Hit(Arc<str>, HttpResponse),
    /// To be answered the long way: with the key and the occurrence (and its counter's epoch)
    /// already taken when the request was seen before (its answer is not cached yet), `None`
    /// otherwise.
    Keyed(Option<(RequestKey, u32, u64)>),
}

/// The replay hot path: a request repeated byte for byte is answered from its remembered key and
/// the answer cache, without parsing or hashing its body.
fn remembered(state: &State, scope: &Scope, target: Option<&str>, raw: &[u8]) -> Remembered {
    // At trace level every request goes the long way, so that each is logged with its body.
    if !matches!(state.run, Run::Replay { .. }) || tracing::enabled!(tracing::Level::TRACE) {
        return Remembered::Keyed(None);
    }
    let Some(key) = target
        .and_then(|t| t.strip_prefix(crate::cognito::wire::TARGET_PREFIX))
        .and_then(|operation| state.keys.get(scope, operation, raw))
    else {
        return Remembered::Keyed(None);
    };
    let (occurrence, epoch) = state.occurrences.next_occurrence_in_epoch(&key);
    match state.answers.get(&key, occurrence) {
        Some(hit) => Remembered::Hit(key.operation, hit),
        None => Remembered::Keyed(Some((key, occurrence, epoch))),
    }
}

async fn read_body(
    parts: &Parts,
    body: Incoming,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, BadRequest> {
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BadRequest::TooLarge { limit });
    }
    // A small body has usually arrived with its headers: collected at the first poll, without
    // arming a timer; only a body still on its way gets one.
    let mut collect = std::pin::pin!(Limited::new(body, limit).collect());
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(collect.as_mut().poll(cx))).await;
    let collected = match first {
        std::task::Poll::Ready(collected) => collected,
        std::task::Poll::Pending => match tokio::time::timeout(timeout, collect).await {
            Ok(collected) => collected,
            Err(_) => return Err(BadRequest::Timeout { after: timeout }),
        },
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BadRequest::TooLarge { limit }),
        Err(e) => Err(BadRequest::Serialization(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// Where a forwarded answer is to be recorded.
struct Recording<'s> {
    store: &'s Store,
    key: RequestKey,
    occurrence: u32,
    /// The occurrence counter's epoch when it was taken.
    epoch: u64,
    /// The request body as stored: secrets hashed, handed-out values as placeholders.
    body: Value,
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
    /// The whole exchange: the answer cache had it, or the scope could not be started.
    Done(Outcome, HttpResponse),
}

/// Key a request in `scope` and take its occurrence (unless [`remembered`] took them already).
fn key_request<'r>(
    state: &State,
    scope: Scope,
    request: &'r Request,
    taken: Option<(RequestKey, u32, u64)>,
) -> Keying<'r> {
    let secrets = state.pipeline.secret_count(&request.body);
    if secrets > MAX_SECRETS_PER_REQUEST {
        let bad = BadRequest::Serialization(format!(
            "cognito-vcr: {} carries {secrets} secret values; at most {MAX_SECRETS_PER_REQUEST} are hashed per request",
            request.operation
        ));
        let (_, outcome, response) = rejected(&bad);
        return Keying::Done(outcome, response);
    }
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
    if let Run::Replay { .. } = state.run {
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

/// `taken`: the request's key and occurrence when [`remembered`] already took them.
async fn exchange(
    state: &State,
    parts: &Parts,
    scope: Scope,
    request: Request,
    taken: Option<(RequestKey, u32, u64)>,
) -> (Outcome, HttpResponse) {
    // Towards the upstream a scope's path is `/`.
    let path = match scope.is_default() {
        true => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        false => "/",
    };
    let (store, upstream) = match &state.run {
        Run::Passthrough { upstream } => {
            // No keys, no store.
            if tracing::enabled!(tracing::Level::TRACE) {
                let body = state.pipeline.redacted(&request.body);
                tracing::trace!(operation = %request.operation, %body, "request");
            }
            return forward(state, upstream, parts, path, &request, None).await;
        }
        Run::Replay { recorded } => {
            let keyed = match key_request(state, scope, &request, taken) {
                Keying::Keyed(keyed) => keyed,
                Keying::Done(outcome, response) => return (outcome, response),
            };
            let Keyed {
                stored,
                key,
                occurrence,
                ..
            } = &keyed;
            let found = lookup(
                recorded,
                &state.pipeline,
                key,
                *occurrence,
                stored,
                state.strict,
            );
            let repaged = match (&found, &state.repager) {
                (None, Some(repager)) => {
                    repager.serve(recorded, &state.pipeline, key, &state.occurrences, stored)
                }
                _ => None,
            };
            if let Some(repaged) = repaged {
                tracing::info!(
                    operation = %key.operation,
                    scope = %key.scope,
                    recorded_items = repaged.recorded_items,
                    page_size = repaged.page_size,
                    "re-paged a recorded listing"
                );
                return (Outcome::Hit, respond::to_http(&repaged.response));
            }
            return match found {
                Some(found) => served(state, key, *occurrence, found),
                None => {
                    let missed = Missed {
                        key,
                        body: stored,
                        occurrence: *occurrence,
                        recorded: recorded.occurrences(key),
                        strict: state.strict,
                    };
                    let error = miss(state, recorded, &missed);
                    (Outcome::Miss, respond::to_http(&error))
                }
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
            Err(e) => return failed(&crate::error::chain(&e)),
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
    forward(state, upstream, parts, path, &request, Some(recording)).await
}

/// Run blocking work where the runtime allows it without stalling other tasks: on a multi-thread
/// runtime the worker hands its other tasks over first; elsewhere (a test's current-thread
/// runtime) it simply runs.
fn off_workers<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// A recorded answer, kept ready to send again.
fn served(
    state: &State,
    key: &RequestKey,
    occurrence: u32,
    found: Found,
) -> (Outcome, HttpResponse) {
    let (last, response) = match found {
        Found::Exact(response) => (None, response),
        Found::PastEnd { last, response } => (Some(last), response),
    };
    // Placeholder JWTs go out signed, so that clients can verify them with the JWKS.
    let (response, keep) = match state.signer.as_ref() {
        None => (response, true),
        Some(signer) => match off_workers(|| signer.sign_answer(&response.body)) {
            Ok(None) => (response, true),
            Ok(Some(body)) => (
                Response {
                    body: body.into(),
                    ..response
                },
                // Tokens issued "now" are signed anew each time.
                signer.times() == TokenTimes::Recorded,
            ),
            Err(e) => {
                tracing::warn!("{e}: the tokens go out unsigned");
                (response, true)
            }
        },
    };
    let response = match (keep, last) {
        (false, _) => respond::to_http(&response),
        (true, None) => state.answers.insert(key, occurrence, &response),
        (true, Some(last)) => state.answers.insert_past_end(key, last, &response),
    };
    (Outcome::Hit, response)
}

/// Forward upstream; with `record_as`, store the answer under that key and occurrence first.
async fn forward(
    state: &State,
    upstream: &Upstream,
    parts: &Parts,
    path: &str,
    request: &Request,
    record_as: Option<Recording<'_>>,
) -> (Outcome, HttpResponse) {
    // The occurrence goes back unless the answer is recorded, also when the client gives up
    // and this exchange is dropped half way: the client's retry takes its place.
    let mut taken = record_as
        .as_ref()
        .map(|r| Taken::new(&state.occurrences, r.key.clone(), r.occurrence, r.epoch));
    // Recording: a synthetic token goes upstream as the real one it stands for.
    let outgoing = match &record_as {
        None => tokens::Outgoing::AsIs,
        Some(_) => state.pipeline.outgoing(&request.operation, &request.body),
    };
    let body = match outgoing {
        tokens::Outgoing::AsIs => request.raw.clone(),
        tokens::Outgoing::Rewritten(body) => Bytes::from(canonical(&body)),
        tokens::Outgoing::Unknown(token) => {
            if let Some(taken) = taken.take() {
                taken.release();
            }
            let message = format!(
                "cognito-vcr: {} pagination token {token} was not handed out by this run (real tokens are kept in memory only, so a chain cannot continue across a restart); re-record the chain from its first page",
                request.operation
            );
            let scope = record_as.as_ref().map(|r| r.key.scope.clone());
            let error = answer_miss(
                state,
                &scope.unwrap_or_default(),
                INVALID_PARAMETER,
                &message,
            );
            return (Outcome::Miss, respond::to_http(&error));
        }
    };
    let intercepted = parts.extensions.get::<InterceptedHost>();
    let call = Outgoing {
        intercepted_host: intercepted.map(|h| h.0.as_str()),
        operation: &request.operation,
        path_and_query: path,
        headers: &parts.headers,
        json: &request.body,
        body,
    };
    if let Some(taken) = &mut taken {
        taken.sent = true;
    }
    let answer = match upstream.forward(call).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(operation = %request.operation, "{}", crate::error::chain(&e));
            if let Some(taken) = taken.take() {
                taken.release();
            }
            let error = respond::upstream_failed(&e);
            return (Outcome::Failed, respond::to_http(&error));
        }
    };
    let Some(Recording {
        store,
        key,
        occurrence,
        body: stored_request,
        ..
    }) = record_as
    else {
        return (Outcome::Forwarded, respond::forwarded(answer));
    };
    let mut response: Response = answer.to_recorded();
    if !response.is_recordable() && !state.record_server_errors {
        // A 5xx or throttling answer is passed on but not kept; the client's retry takes its place.
        if let Some(taken) = taken.take() {
            taken.release();
        }
        return (Outcome::Forwarded, respond::forwarded(answer));
    }
    // The client gets the real answer; the stored copy holds a synthetic pagination token,
    // placeholders and hashes instead.
    // Hashing what the answer holds is slow on purpose: not on an async worker's time.
    off_workers(|| {
        let sent = &request.body;
        state
            .pipeline
            .answer(&key, occurrence, &stored_request, sent, &mut response)
    });
    let interaction = Interaction {
        scope: key.scope.clone(),
        operation: request.operation.to_string(),
        occurrence,
        request: stored_request,
        response,
    };
    // Record mode: the scope's first recording in this run replaces what the scope held (not its
    // first call: an upstream that is down must not empty a scope).
    if let Run::Record { .. } = state.run {
        if let Err(e) = state.start_scope(store, &key.scope) {
            if let Some(taken) = taken.take() {
                taken.release();
            }
            let cause = crate::error::chain(&e);
            return failed(&format!("could not start scope {}: {cause}", key.scope));
        }
    }
    // Durable before the client sees the answer: a crash never loses what a client received.
    if let Err(e) = store.record(&key, &interaction).await {
        if let Some(taken) = taken.take() {
            taken.release();
        }
        let cause = crate::error::chain(&e);
        return failed(&format!("could not record the exchange: {cause}"));
    }
    if let Some(taken) = taken.take() {
        taken.keep();
    }
    (Outcome::Recorded, respond::forwarded(answer))
}

/// An occurrence taken for a recording: given back on [`Taken::release`], or when dropped
/// before [`Taken::keep`] (the client gave up and hyper dropped the exchange), which is logged.
struct Taken<'s> {
    occurrences: &'s Occurrences,
    key: RequestKey,
    occurrence: u32,
    epoch: u64,
    /// The call went upstream: a mutation may have been applied there.
    sent: bool,
    done: bool,
}

impl<'s> Taken<'s> {
    fn new(occurrences: &'s Occurrences, key: RequestKey, occurrence: u32, epoch: u64) -> Self {
        Taken {
            occurrences,
            key,
            occurrence,
            epoch,
            sent: false,
            done: false,
        }
    }

    fn keep(mut self) {
        self.done = true;
    }

    fn release(mut self) {
        self.occurrences
            .release_occurrence(&self.key, self.occurrence, self.epoch);
        self.done = true;
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.occurrences
            .release_occurrence(&self.key, self.occurrence, self.epoch);
        let operation = &self.key.operation;
        if self.sent && !is_read_only(operation) {
            tracing::warn!(%operation, occurrence = self.occurrence, "the client gave up before its answer: not recorded, but the call reached the upstream and may have changed it");
        } else {
            tracing::info!(%operation, occurrence = self.occurrence, "the client gave up before its answer: not recorded");
        }
    }
}

/// A failure of the proxy itself: logged, and answered as Cognito's internal error.
fn failed(message: &str) -> (Outcome, HttpResponse) {
    tracing::error!("{message}");
    let error = respond::cognito_error(500, errors::INTERNAL, &format!("cognito-vcr: {message}"));
    (Outcome::Failed, respond::to_http(&error))
}

/// The answer to a replay miss: a token the cassette does not know is an invalid parameter,
/// anything else a replay miss; both say what was asked, and the log says the same.
fn miss(state: &State, index: &ReplayIndex, missed: &Missed<'_>) -> Response {
    let Missed {
        key,
        body,
        occurrence,
        recorded,
        ..
    } = *missed;
    let operation = &*key.operation;
    let cassette = state.cassette.display();
    let (kind, message) = match request_token(operation, body) {
        Some(token) if !is_synthetic(token) => (
            INVALID_PARAMETER,
            format!(
                "cognito-vcr: {operation} pagination token {token} was not handed out by cassette {cassette}: in replay, tokens come from the cassette's own answers"
            ),
        ),
        Some(token) if recorded == 0 => (
            INVALID_PARAMETER,
            format!(
                "cognito-vcr: {operation} pagination token {token} (occurrence {occurrence}) is not recorded in cassette {cassette}; re-record the chain from its first page"
            ),
        ),
        Some(token) => (
            errors::REPLAY_MISS,
            format!(
                "cognito-vcr replay miss: {operation} page with token {token}: occurrence {occurrence} is not in cassette {cassette} ({})",
                off_workers(|| explain::why(index, state.pipeline.rules(), missed))
            ),
        ),
        None => {
            // Up to thousands of recorded requests compared: not on an async worker's time.
            let why = off_workers(|| explain::why(index, state.pipeline.rules(), missed));
            (
                errors::REPLAY_MISS,
                format!(
                    "cognito-vcr replay miss: {operation} occurrence {occurrence}{} is not in cassette {cassette} ({why}); body {}. Record it with --mode record or --mode auto.",
                    key.scope.label(),
                    short_body(body, 200)
                ),
            )
        }
    };
    answer_miss(state, &key.scope, kind, &message)
}

/// A miss answered as `kind`: logged, kept with its scope's tally, and told to the client.
fn answer_miss(state: &State, scope: &Scope, kind: &str, message: &str) -> Response {
    tracing::warn!("{message}");
    state.tallies.missed(scope, message);
    respond::cognito_error(400, kind, message)
}
