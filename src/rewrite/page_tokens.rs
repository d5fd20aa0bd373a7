//! Pagination tokens as stored (not Cognito's auth tokens): real tokens replaced by stable
//! synthetic ones while recording.
//!
//! Real Cognito tokens are opaque and differ on every call (they embed the request time), so a
//! cassette holding them changes on every re-recording. While recording, each token in an
//! answer is replaced by a synthetic one derived only from the chain's content and position:
//! the operation, the request without its token, the (synthetic) token that led to this page,
//! and this page's items. Two walks of an unchanged listing get the same tokens, so they share
//! their pages; a page asked again hands out the same next token; a walk after the listing
//! changed gets tokens of its own from the first page that differs. The proxy keeps synthetic →
//! real while it runs, and a follow-up request carrying a synthetic token goes upstream with the
//! real one. Request keys are computed over the synthetic token, so replay finds the chain.

use super::answer::Body;
use crate::cognito::pagination::{fields, paginated, request_token};
use crate::keying::canonical::{digest, hex};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Synthetic tokens start with this: recognisably the tool's own.
pub const SYNTHETIC_PREFIX: &str = "cognito-vcr-token-";

pub fn is_synthetic(token: &str) -> bool {
    token.starts_with(SYNTHETIC_PREFIX)
}

/// Where a page stands in its chain: what identifies the token its answer hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosition {
    /// The key digest of the request without its token (keying rules applied).
    pub request: [u8; 32],
    /// The synthetic token that led to this page; `None` for a first page.
    pub token: Option<String>,
}

/// The synthetic token handed out by a page: a function of the operation, the page's place in
/// its chain and the page's items, nothing else.
pub fn synthetic(operation: &str, position: &ChainPosition, items: &Value) -> String {
    let mut h = Sha256::new();
    h.update(b"cognito-vcr chain v2\0");
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(position.request);
    h.update(position.token.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(digest(items));
    format!("{SYNTHETIC_PREFIX}{}", hex(&h.finalize()[..16]))
}

/// The real tokens behind the synthetic ones handed out in this run.
#[derive(Default)]
pub struct TokenMap {
    /// Synthetic → real, and real → synthetic.
    real: Mutex<HashMap<String, String>>,
    synthetic: Mutex<HashMap<String, String>>,
}

/// What to do with a request's token before forwarding it.
#[derive(Debug, PartialEq, Eq)]
pub enum OutgoingBody {
    /// No token, or a token that is not ours: forward the body as the client sent it.
    AsIs,
    /// A synthetic token with a known real one: forward this body instead.
    Rewritten(Value),
    /// A synthetic token this run never handed out (e.g. from before a restart).
    Unknown(String),
}

impl TokenMap {
    /// Map a request's synthetic token back to the real one for the upstream.
    pub fn outgoing(&self, operation: &str, body: &Value) -> OutgoingBody {
        let Some(token) = request_token(operation, body) else {
            return OutgoingBody::AsIs;
        };
        if !is_synthetic(token) {
            return OutgoingBody::AsIs;
        }
        let real = self.real.lock().unwrap_or_else(|e| e.into_inner());
        match real.get(token) {
            None => OutgoingBody::Unknown(token.to_owned()),
            Some(real) => {
                let field = fields(operation)
                    .expect("a request token implies a paginated operation")
                    .request;
                let mut rewritten = body.clone();
                rewritten[field] = Value::String(real.clone());
                OutgoingBody::Rewritten(rewritten)
            }
        }
    }

    /// The request as keyed and stored: a real token this run handed out becomes its synthetic
    /// one. `None` when nothing changes (no token, a synthetic token, a token of elsewhere).
    pub fn stored_request(&self, operation: &str, body: &Value) -> Option<Value> {
        let token = request_token(operation, body)?;
        let synthetic = self
            .synthetic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)?
            .clone();
        let mut stored = body.clone();
        stored[fields(operation)?.request] = Value::String(synthetic);
        Some(stored)
    }

    /// The stored copy of an answer: its real token replaced by the synthetic one, the pair
    /// remembered. The client keeps the real answer, so what it sends back (and signs) is what
    /// the upstream expects. Nothing changes when the answer carries no token.
    pub fn store_answer(&self, operation: &str, position: &ChainPosition, body: &mut Body) {
        let Some(pagination) = paginated(operation) else {
            return;
        };
        let field = pagination.tokens.response;
        // The last page of a chain has no token: seen in the bytes, without parsing the page
        // (unless a `\u` escape could spell the field's name otherwise).
        if let Some(raw) = body.unchanged() {
            if memchr::memmem::find(raw, field.as_bytes()).is_none()
                && !crate::keying::json::may_escape_names(raw)
            {
                return;
            }
        }
        let Some(answer) = body.json() else {
            return;
        };
        let Some(real) = answer.get(field).and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        let items = answer.get(pagination.items).unwrap_or(&Value::Null);
        let synthetic = synthetic(operation, position, items);
        answer[field] = Value::String(synthetic.clone());
        body.set_changed();
        self.synthetic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(real.clone(), synthetic.clone());
        self.real
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(synthetic, real);
    }

    /// [`TokenMap::store_answer`] on bytes: the stored copy, `None` when it is the answer itself.
    #[cfg(test)]
    pub fn stored_answer(
        &self,
        operation: &str,
        position: &ChainPosition,
        body: &[u8],
    ) -> Option<Vec<u8>> {
        let mut body = Body::new(bytes::Bytes::copy_from_slice(body));
        self.store_answer(operation, position, &mut body);
        body.into_stored().map(|b| b.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first_page(request: [u8; 32]) -> ChainPosition {
        ChainPosition {
            request,
            token: None,
        }
    }

    #[test]
    fn synthetic_tokens_depend_only_on_the_chain_and_the_page() {
        let users = json!([{"Username": "a"}]);
        let first = first_page([1; 32]);
        let t = synthetic("ListUsers", &first, &users);
        assert!(is_synthetic(&t) && !t.chars().any(char::is_whitespace));
        // The same page of the same listing: the same token, walk after walk.
        assert_eq!(synthetic("ListUsers", &first, &users), t);
        // Another request, another operation, other items, another place: another token.
        assert_ne!(synthetic("ListUsers", &first_page([2; 32]), &users), t);
        assert_ne!(synthetic("ListGroups", &first, &users), t);
        assert_ne!(
            synthetic("ListUsers", &first, &json!([{"Username": "b"}])),
            t
        );
        let second = ChainPosition {
            request: [1; 32],
            token: Some(t.clone()),
        };
        assert_ne!(synthetic("ListUsers", &second, &users), t);
    }

    #[test]
    fn answers_are_parsed_only_when_they_may_carry_the_token() {
        let map = TokenMap::default();
        let at = first_page([1; 32]);
        assert_eq!(
            map.stored_answer("ListUsers", &at, br#"{"Users":[]}"#),
            None
        );
        // The field's name spelled with an escape is still found.
        let escaped = br#"{"Users":[],"Pagination\u0054oken":"REAL"}"#;
        let stored = map.stored_answer("ListUsers", &at, escaped).unwrap();
        let v: Value = crate::keying::json::parse(&stored).unwrap();
        assert!(is_synthetic(v["PaginationToken"].as_str().unwrap()));
    }

    #[test]
    fn real_tokens_are_stored_as_synthetic_ones_and_go_out_as_themselves() {
        let map = TokenMap::default();
        let at = first_page([1; 32]);
        let answer = br#"{"Users":[{"UserCreateDate":1.5E9}],"PaginationToken":"REAL+/="}"#;
        let stored = map.stored_answer("ListUsers", &at, answer).unwrap();
        let v: Value = crate::keying::json::parse(&stored).unwrap();
        let synthetic = v["PaginationToken"].as_str().unwrap().to_owned();
        assert!(is_synthetic(&synthetic));
        assert!(String::from_utf8(stored).unwrap().contains("1.5E9"));

        // The client sends the real token back: stored and keyed with the synthetic one,
        // forwarded as it came.
        let next = json!({"UserPoolId": "p", "PaginationToken": "REAL+/="});
        let stored_next = map.stored_request("ListUsers", &next).unwrap();
        assert_eq!(stored_next["PaginationToken"], synthetic.as_str());
        assert_eq!(map.outgoing("ListUsers", &next), OutgoingBody::AsIs);
        // A client holding the synthetic one (a page replayed in auto mode) goes out with the real.
        let replayed = json!({"UserPoolId": "p", "PaginationToken": synthetic});
        assert_eq!(
            map.outgoing("ListUsers", &replayed),
            OutgoingBody::Rewritten(json!({"UserPoolId": "p", "PaginationToken": "REAL+/="}))
        );
        assert!(map.stored_request("ListUsers", &replayed).is_none());
        let stale = json!({"UserPoolId": "p", "PaginationToken": format!("{SYNTHETIC_PREFIX}00")});
        assert!(matches!(
            map.outgoing("ListUsers", &stale),
            OutgoingBody::Unknown(_)
        ));
        let foreign = json!({"UserPoolId": "p", "PaginationToken": "someone-elses"});
        assert_eq!(map.outgoing("ListUsers", &foreign), OutgoingBody::AsIs);
        assert!(map.stored_request("ListUsers", &foreign).is_none());
        // Last page: nothing to rewrite.
        assert!(map
            .stored_answer("ListUsers", &at, br#"{"Users":[]}"#)
            .is_none());
    }
}
