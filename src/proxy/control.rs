//! The calls to the proxy itself: start a scope over, the summaries of a scope and of the run,
//! the JWKS of the tokens replay signs. Answered at once: no keying, no upstream.

use bytes::Bytes;
use serde_json::Value;

use super::respond::{self, HttpResponse};
use super::scopes::Control;
use super::{off_workers, State};
use crate::cognito::errors;
use crate::keying::scope::Scope;

/// The answer to a control call.
pub fn answer(state: &State, call: Control) -> HttpResponse {
    match call {
        Control::Reset(scope) => reset(state, &scope),
        Control::Jwks => jwks(state),
        Control::ScopeSummary(scope) => json_answer(&state.tallies.of(&scope).to_json(&scope)),
        Control::RunSummary => {
            let mut summary = state.summary().to_json();
            summary["cassette"] = Value::from(state.cassette.display().to_string());
            json_answer(&summary)
        }
    }
}

/// Start a scope over, and say so.
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
