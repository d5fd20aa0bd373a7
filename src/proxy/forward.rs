//! Forwarding a call upstream, and in record and auto modes recording its answer: the stored
//! copy rewritten (tokens, placeholders, hashes), durable in the store before the client gets
//! the real answer, and the occurrence the call took given back on every way that records
//! nothing.

use bytes::Bytes;
use hyper::http::request::Parts;
use serde_json::Value;

use super::occurrences::Occurrences;
use super::replay::miss::answer_miss;
use super::respond::{self, HttpResponse};
use super::summary::Outcome;
use super::upstream::{Forwarded, Upstream, UpstreamCall};
use super::{off_workers, InterceptedHost, Run, State};
use crate::cognito::errors::INVALID_PARAMETER;
use crate::cognito::operations::is_read_only;
use crate::cognito::wire::Request;
use crate::keying::canonical::canonical;
use crate::keying::key::RequestKey;
use crate::rewrite::page_tokens::OutgoingBody;
use crate::store::Store;

/// Where a forwarded answer is to be recorded.
pub struct Recording<'s> {
    pub store: &'s Store,
    pub key: RequestKey,
    pub occurrence: u32,
    /// The occurrence counter's epoch when it was taken.
    pub epoch: u64,
    /// The request body as stored: secrets hashed, handed-out values as placeholders.
    pub body: Value,
}

/// An exchange's answer.
type Answered = (Outcome, HttpResponse);

/// Forward the call as the client sent it; store nothing.
pub async fn passthrough(
    upstream: &Upstream,
    parts: &Parts,
    path: &str,
    request: &Request,
) -> Answered {
    match send(upstream, parts, path, request, request.raw.clone()).await {
        Ok(answer) => (Outcome::Forwarded, respond::forwarded(answer)),
        Err(failed) => failed,
    }
}

/// Forward the call and record its answer under `recording`'s key and occurrence. The
/// occurrence goes back unless the answer is recorded, also when the client gives up and this
/// exchange is dropped half way: the client's retry takes its place.
pub async fn record(
    state: &State,
    upstream: &Upstream,
    parts: &Parts,
    path: &str,
    request: &Request,
    recording: Recording<'_>,
) -> Answered {
    let mut taken = Taken::new(
        &state.occurrences,
        recording.key.clone(),
        recording.occurrence,
        recording.epoch,
    );
    match forward_and_store(state, upstream, parts, path, request, recording, &mut taken).await {
        Ok(answered) => {
            taken.keep();
            answered
        }
        Err(answered) => {
            taken.release();
            answered
        }
    }
}

/// The recording itself: `Err` when nothing was recorded (the occurrence goes back).
async fn forward_and_store(
    state: &State,
    upstream: &Upstream,
    parts: &Parts,
    path: &str,
    request: &Request,
    recording: Recording<'_>,
    taken: &mut Taken<'_>,
) -> Result<Answered, Answered> {
    // A synthetic token goes upstream as the real one it stands for.
    let body = match state.pipeline.outgoing(&request.operation, &request.body) {
        OutgoingBody::AsIs => request.raw.clone(),
        OutgoingBody::Rewritten(body) => Bytes::from(canonical(&body)),
        OutgoingBody::Unknown(token) => {
            let message = format!(
                "cognito-vcr: {} pagination token {token} was not handed out by this run (real tokens are kept in memory only, so a chain cannot continue across a restart); re-record the chain from its first page",
                request.operation
            );
            let scope = &recording.key.scope;
            let error = answer_miss(state, scope, INVALID_PARAMETER, &message);
            return Err((Outcome::Miss, respond::to_http(&error)));
        }
    };
    taken.sent = true;
    let sent_at = std::time::Instant::now();
    let answer = send(upstream, parts, path, request, body).await?;
    let took = sent_at.elapsed();
    let Recording {
        store,
        key,
        occurrence,
        body: stored_request,
        ..
    } = recording;
    let mut response = answer.to_recorded();
    if state.record_latency && crate::cassette::timing::worth_keeping(took) {
        crate::cassette::timing::set(&mut response, took);
    }
    // The client gets the real answer; the stored copy holds a synthetic pagination token,
    // placeholders and hashes instead. A 5xx or throttling answer is passed on but not kept;
    // the client's retry takes its place.
    // Hashing what the answer holds is slow on purpose: not on an async worker's time.
    let recorded = off_workers(|| {
        state.pipeline.recorded(
            &key,
            occurrence,
            stored_request,
            &request.body,
            response,
            state.record_server_errors,
        )
    });
    let Some(interaction) = recorded else {
        return Err((Outcome::Forwarded, respond::forwarded(answer)));
    };
    // Record mode: the scope's first recording in this run replaces what the scope held (not its
    // first call: an upstream that is down must not empty a scope).
    if let Run::Record { .. } = state.run {
        if let Err(e) = state.start_scope(store, &key.scope) {
            let cause = crate::error::chain(&e);
            let message = format!("could not start scope {}: {cause}", key.scope);
            return Err((Outcome::Failed, respond::failed(&message)));
        }
    }
    // Durable before the client sees the answer: a crash never loses what a client received.
    if let Err(e) = store.record(&key, &interaction).await {
        let cause = crate::error::chain(&e);
        let message = format!("could not record the exchange: {cause}");
        return Err((Outcome::Failed, respond::failed(&message)));
    }
    Ok((Outcome::Recorded, respond::forwarded(answer)))
}

/// Send the call upstream with `body`; a failure is logged and answered in Cognito's shape.
async fn send(
    upstream: &Upstream,
    parts: &Parts,
    path: &str,
    request: &Request,
    body: Bytes,
) -> Result<Forwarded, Answered> {
    let intercepted = parts.extensions.get::<InterceptedHost>();
    let call = UpstreamCall {
        intercepted_host: intercepted.map(|h| h.0.as_str()),
        method: &parts.method,
        operation: &request.operation,
        path_and_query: path,
        headers: &parts.headers,
        json: &request.body,
        body,
    };
    upstream.forward(call).await.map_err(|e| {
        tracing::warn!(operation = %request.operation, "{}", crate::error::chain(&e));
        let error = respond::upstream_failed(&e);
        (Outcome::Failed, respond::to_http(&error))
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::scope::Scope;

    /// A mutation in scope `t1`: the kind of call whose occurrence a recording takes.
    fn create_carol() -> RequestKey {
        let body = serde_json::json!({"UserPoolId": "us-east-1_A", "Username": "carol"});
        RequestKey::new("AdminCreateUser", &body).in_scope(Scope::named("t1").unwrap())
    }

    /// The next occurrence of `key`, taken for a recording.
    fn take<'s>(occurrences: &'s Occurrences, key: &RequestKey) -> Taken<'s> {
        let (occurrence, epoch) = occurrences.next_occurrence_in_epoch(key);
        Taken::new(occurrences, key.clone(), occurrence, epoch)
    }

    #[test]
    fn a_recorded_answer_keeps_its_occurrence() {
        let occurrences = Occurrences::default();
        let key = create_carol();
        let taken = take(&occurrences, &key);
        assert_eq!(taken.occurrence, 1);
        taken.keep();
        assert_eq!(occurrences.next_occurrence(&key), 2);
        assert_eq!(occurrences.requests_seen(), vec![(key, 2)]);
    }

    #[test]
    fn an_answer_not_recorded_gives_its_occurrence_back() {
        let occurrences = Occurrences::default();
        let key = create_carol();
        take(&occurrences, &key).keep();
        let taken = take(&occurrences, &key);
        assert_eq!(taken.occurrence, 2);
        taken.release();
        // The client's retry records in its place.
        assert_eq!(occurrences.requests_seen(), vec![(key.clone(), 1)]);
        assert_eq!(occurrences.next_occurrence(&key), 2);
    }

    #[test]
    fn an_exchange_dropped_half_way_gives_its_occurrence_back() {
        let occurrences = Occurrences::default();
        let key = create_carol();
        for sent in [false, true] {
            let mut taken = take(&occurrences, &key);
            assert_eq!(taken.occurrence, 1);
            // Before or after the call went upstream: the client gave up, hyper dropped it.
            taken.sent = sent;
            drop(taken);
            assert_eq!(occurrences.requests_seen(), vec![(key.clone(), 0)]);
        }
        assert_eq!(occurrences.next_occurrence(&key), 1);
    }

    #[test]
    fn an_occurrence_taken_before_a_reset_is_not_given_back_after_it() {
        let occurrences = Occurrences::default();
        let key = create_carol();
        let before = take(&occurrences, &key);
        assert_eq!(before.occurrence, 1);
        occurrences.reset(&key.scope);
        // The test started over: its first call is occurrence 1 again, and keeps it.
        take(&occurrences, &key).keep();
        drop(before);
        assert_eq!(occurrences.next_occurrence(&key), 2);
    }
}
