//! Answering from the recording: the hot path (a request repeated byte for byte), the lookup of
//! one occurrence with re-paging as its fallback, placeholder JWTs signed on the way out, and the
//! answer kept ready to send again.

use serde_json::Value;
use std::sync::Arc;

use super::cache::Cached;
use super::explain::Missed;
use super::lookup::{lookup, Found};
use super::miss::miss;
use crate::cognito::wire::{operation_of, Response};
use crate::config::TokenTimes;
use crate::keying::key::RequestKey;
use crate::keying::scope::Scope;
use crate::proxy::occurrences::TakenOccurrence;
use crate::proxy::respond::{self, HttpResponse};
use crate::proxy::summary::Outcome;
use crate::proxy::{off_workers, Run, State};
use crate::store::ReplayIndex;

/// What replay knows of a request from its bytes alone, before parsing it.
pub enum Remembered {
    /// Seen before, and this occurrence's answer is cached: the whole exchange (the response
    /// to be made in a header map the caller chooses).
    Hit(Arc<str>, Arc<Cached>),
    /// To be answered the long way: with the key and the occurrence already taken when the
    /// request was seen before (its answer is not cached yet), `None` otherwise.
    Keyed(Option<TakenOccurrence>),
}

/// The replay hot path: a request repeated byte for byte is answered from its remembered key and
/// the answer cache, without parsing or hashing its body.
pub fn remembered(state: &State, scope: &Scope, target: Option<&str>, raw: &[u8]) -> Remembered {
    // At trace level every request goes the long way, so that each is logged with its body.
    if !matches!(state.run, Run::Replay { .. }) || tracing::enabled!(tracing::Level::TRACE) {
        return Remembered::Keyed(None);
    }
    let Some(key) = target
        .and_then(|t| operation_of(Some(t)).ok())
        .and_then(|operation| state.keys.get(scope, operation, raw))
    else {
        return Remembered::Keyed(None);
    };
    let (occurrence, epoch) = state.occurrences.next_occurrence_in_epoch(&key);
    match state.answers.cached(&key, occurrence) {
        Some(hit) => Remembered::Hit(key.operation, hit),
        None => Remembered::Keyed(Some((key, occurrence, epoch))),
    }
}

/// Replay's answer to `occurrence` of `key` (whose stored request body is `stored`): the
/// recorded one, else the listing re-paged to the page size asked for, else a miss that says
/// why.
pub fn from_recording(
    state: &State,
    recorded: &ReplayIndex,
    key: &RequestKey,
    occurrence: u32,
    stored: &Value,
) -> (Outcome, HttpResponse) {
    let found = lookup(
        recorded,
        &state.pipeline,
        key,
        occurrence,
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
    match found {
        Some(found) => served(state, key, occurrence, found),
        None => {
            let missed = Missed {
                key,
                body: stored,
                occurrence,
                recorded: recorded.occurrences(key),
                strict: state.strict,
            };
            let error = miss(state, recorded, &missed);
            if missed.recorded == 0 {
                state.occurrences.forget(key);
            }
            (Outcome::Miss, respond::to_http(&error))
        }
    }
}

/// A recorded answer (of the cassette in replay, of the store in auto mode) sent, with its
/// placeholder JWTs signed, and kept ready to send again.
pub fn served(
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
