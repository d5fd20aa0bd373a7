//! What a client is told when the recording has no answer: a token the cassette never handed
//! out is an invalid parameter; anything else a replay miss saying what was asked and why
//! nothing matched. Logged, and kept with its scope's tally.

use super::explain::{self, Missed};
use crate::cognito::errors::{self, INVALID_PARAMETER};
use crate::cognito::pagination::request_token;
use crate::cognito::wire::Response;
use crate::keying::canonical::short_body;
use crate::keying::scope::Scope;
use crate::proxy::respond;
use crate::proxy::{off_workers, State};
use crate::rewrite::page_tokens::is_synthetic;
use crate::store::ReplayIndex;

/// The answer to a replay miss.
pub fn miss(state: &State, index: &ReplayIndex, missed: &Missed<'_>) -> Response {
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
pub fn answer_miss(state: &State, scope: &Scope, kind: &str, message: &str) -> Response {
    tracing::warn!("{message}");
    state.tallies.missed(scope, message);
    respond::cognito_error(400, kind, message)
}
