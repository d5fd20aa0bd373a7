//! Replay's memo of request keys by the request's exact bytes: a client repeating a request
//! byte for byte (what a test suite does) skips parsing, normalizing and hashing its body.
//!
//! Only sound where the key is a pure function of the operation and the body bytes: in replay
//! mode, where no token or placeholder is learned from the upstream during the run.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::RwLock;

use crate::keying::key::RequestKey;
use crate::keying::scope::Scope;

/// Bodies larger than this are not kept (keys of large requests are computed every time).
const MAX_BODY: usize = 2048;
/// At most this many keys are kept; when full the memo starts over (a client sending a new
/// body every time, e.g. a fresh SRP_A per sign-in, must not grow it without bound).
const MAX_ENTRIES: usize = 4096;

/// Request keys by body bytes, then scope and operation.
#[derive(Default)]
pub struct KeyMemo {
    map: RwLock<Keys>,
}

#[derive(Default)]
struct Keys {
    /// Seeded per process (bodies are the client's to choose), and cheap over a whole body.
    by_body: HashMap<Bytes, Vec<RequestKey>, foldhash::fast::RandomState>,
    /// Keys held, over all bodies (one body may be sent under many operations).
    count: usize,
}

impl KeyMemo {
    /// The key computed earlier for this scope, operation and these exact body bytes.
    pub fn get(&self, scope: &Scope, operation: &str, body: &[u8]) -> Option<RequestKey> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.by_body
            .get(body)?
            .iter()
            .find(|k| &*k.operation == operation && k.scope == *scope)
            .cloned()
    }

    /// Remember the key of a request (its operation is the key's).
    pub fn insert(&self, body: &Bytes, key: &RequestKey) {
        if body.len() > MAX_BODY {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.count >= MAX_ENTRIES {
            *map = Keys::default();
        }
        let Keys { by_body, count } = &mut *map;
        let keys = match by_body.get_mut(&body[..]) {
            Some(keys) => keys,
            // A copy, not a slice of the request's buffer: the memo must not pin hyper's buffers.
            None => by_body.entry(Bytes::copy_from_slice(body)).or_default(),
        };
        if !keys
            .iter()
            .any(|k| k.operation == key.operation && k.scope == key.scope)
        {
            keys.push(key.clone());
            *count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_found_by_exact_bytes_scope_and_operation() {
        let memo = KeyMemo::default();
        let (default, t1) = (Scope::default(), Scope::named("t1").unwrap());
        let body = Bytes::from_static(br#"{"UserPoolId":"p"}"#);
        let users = RequestKey::new("ListUsers", &json!({"UserPoolId": "p"}));
        assert!(memo.get(&default, "ListUsers", &body).is_none());
        memo.insert(&body, &users);
        assert_eq!(memo.get(&default, "ListUsers", &body), Some(users.clone()));
        assert!(memo.get(&default, "ListGroups", &body).is_none());
        assert!(memo.get(&t1, "ListUsers", &body).is_none());
        assert!(memo
            .get(&default, "ListUsers", br#"{ "UserPoolId":"p"}"#)
            .is_none());
        let scoped = users.in_scope(t1.clone());
        memo.insert(&body, &scoped);
        assert_eq!(memo.get(&t1, "ListUsers", &body), Some(scoped));
    }

    #[test]
    fn the_memo_is_bounded() {
        let memo = KeyMemo::default();
        let key = RequestKey::new("ListUsers", &json!({}));
        for i in 0..MAX_ENTRIES + 10 {
            memo.insert(&Bytes::from(format!("{{\"n\":{i}}}")), &key);
        }
        assert!(memo.map.read().unwrap().by_body.len() <= MAX_ENTRIES);
        // One body under many operations counts each key.
        let body = Bytes::from_static(b"{}");
        for i in 0..MAX_ENTRIES + 10 {
            memo.insert(&body, &RequestKey::new(&format!("Op{i}"), &json!({})));
        }
        let map = memo.map.read().unwrap();
        assert!(map.count <= MAX_ENTRIES);
        assert_eq!(map.count, map.by_body.values().map(Vec::len).sum::<usize>());
        drop(map);
        memo.insert(&Bytes::from(vec![b' '; MAX_BODY + 1]), &key);
        assert!(memo
            .get(&Scope::default(), "ListUsers", &vec![b' '; MAX_BODY + 1])
            .is_none());
    }
}
