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
        // Record and passthrough forward a JWKS request (see the handler): only replay and
        // auto come here, without a signer when their tokens go out unsigned.
        None => respond::cognito_error(
            404,
            errors::NO_JWKS,
            "cognito-vcr: this proxy hands out its tokens unsigned (--unsigned-tokens), so it serves no JWKS; without that flag it signs them and serves the JWKS here",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::key::RequestKey;
    use crate::proxy::summary::Outcome;
    use crate::proxy::tests::{replay_state, DEMO_INTERACTIONS};
    use serde_json::json;

    /// What the client reads: the status, the content type and the JSON body.
    async fn read(response: HttpResponse) -> (u16, String, Value) {
        let status = response.status().as_u16();
        let content_type = response.headers()[hyper::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, content_type, serde_json::from_slice(&body).unwrap())
    }

    fn named(name: &str) -> Scope {
        Scope::named(name).unwrap()
    }

    #[tokio::test]
    async fn a_reset_says_which_scope_started_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let (status, content_type, body) = read(answer(&state, Control::Reset(named("t1")))).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        assert_eq!(body, json!({"scope": "t1", "reset": true}));
        // `POST /reset`: the default scope has no name.
        let (_, _, body) = read(answer(&state, Control::Reset(Scope::default()))).await;
        assert_eq!(body, json!({"scope": null, "reset": true}));
    }

    #[tokio::test]
    async fn a_reset_starts_its_scope_over_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let (t1, t2) = (named("t1"), named("t2"));
        let list = RequestKey::new("ListUsers", &json!({"UserPoolId": "us-east-1_A"}));
        let (in_t1, in_t2) = (list.clone().in_scope(t1.clone()), list.in_scope(t2.clone()));
        for scope in [&t1, &t2] {
            state.tallies.count(scope, Outcome::Miss);
            state
                .tallies
                .missed(scope, "cognito-vcr replay miss: ListUsers");
        }
        assert_eq!(state.occurrences.next_occurrence(&in_t1), 1);
        assert_eq!(state.occurrences.next_occurrence(&in_t2), 1);

        read(answer(&state, Control::Reset(t1.clone()))).await;

        // The retried test replays from its start; the other carries on.
        assert_eq!(state.occurrences.next_occurrence(&in_t1), 1);
        assert_eq!(state.occurrences.next_occurrence(&in_t2), 2);
        let (_, _, t1_summary) = read(answer(&state, Control::ScopeSummary(t1))).await;
        assert_eq!(t1_summary["misses"], 0);
        assert_eq!(t1_summary["miss_messages"], json!([]));
        let (_, _, t2_summary) = read(answer(&state, Control::ScopeSummary(t2))).await;
        assert_eq!(t2_summary["scope"], "t2");
        assert_eq!(t2_summary["misses"], 1);
        assert_eq!(
            t2_summary["miss_messages"],
            json!(["cognito-vcr replay miss: ListUsers"])
        );
    }

    #[tokio::test]
    async fn the_run_summary_names_the_cassette() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let (status, _, body) = read(answer(&state, Control::RunSummary)).await;
        assert_eq!(status, 200);
        assert_eq!(body["mode"], "replay");
        assert_eq!(body["unused"], DEMO_INTERACTIONS);
        let cassette = dir.path().join("demo.json");
        assert_eq!(body["cassette"], cassette.display().to_string());
    }

    #[tokio::test]
    async fn without_a_token_signer_there_is_no_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        assert!(state.signer.is_none());
        let response = answer(&state, Control::Jwks);
        assert_eq!(response.headers()["x-amzn-errortype"], errors::NO_JWKS);
        let (status, _, body) = read(response).await;
        assert_eq!(status, 404);
        assert_eq!(body["__type"], errors::NO_JWKS);
        // A replay without a signer hands its tokens out unsigned: the message says that.
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("--unsigned-tokens"), "{message}");
    }
}
