//! Answers already served, kept ready to send again: after the first hit, replay skips the store
//! lookup, the value decoding and the header parsing (the replay hot path).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::sync::RwLock;

use super::respond::{head, HttpResponse};
use crate::exchange::Response;
use crate::key::RequestKey;

/// One answer, as hyper sends it.
#[derive(Clone)]
pub struct Cached {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Cached {
    pub fn new(response: &Response) -> Cached {
        let (status, headers) = head(response);
        Cached {
            status,
            headers,
            body: response.body.clone(),
        }
    }

    pub fn to_http(&self) -> HttpResponse {
        let mut out = hyper::Response::new(Full::new(self.body.clone()));
        *out.status_mut() = self.status;
        *out.headers_mut() = self.headers.clone();
        out
    }
}

/// Served answers by request key and occurrence. The store does not change under a replay (and
/// in auto mode only at occurrences that were misses), so entries never go stale.
#[derive(Default)]
pub struct AnswerCache {
    map: RwLock<HashMap<RequestKey, HashMap<u32, Cached>>>,
}

impl AnswerCache {
    pub fn get(&self, key: &RequestKey, occurrence: u32) -> Option<HttpResponse> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(key)?.get(&occurrence).map(Cached::to_http)
    }

    /// Keep `response` for this key and occurrence; returns it ready to send.
    pub fn insert(&self, key: &RequestKey, occurrence: u32, response: &Response) -> HttpResponse {
        let cached = Cached::new(response);
        let out = cached.to_http();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.entry(key.clone())
            .or_default()
            .insert(occurrence, cached);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cached_answer_is_the_recorded_one() {
        let cache = AnswerCache::default();
        let key = RequestKey::new("ListUsers", &serde_json::json!({}));
        assert!(cache.get(&key, 1).is_none());
        let response = Response {
            status: 400,
            headers: vec![("x-amzn-errortype".into(), "UserNotFoundException".into())],
            body: Bytes::from_static(br#"{"__type":"UserNotFoundException"}"#),
        };
        cache.insert(&key, 1, &response);
        let again = cache.get(&key, 1).unwrap();
        assert_eq!(again.status(), 400);
        assert_eq!(again.headers()["x-amzn-errortype"], "UserNotFoundException");
        assert_eq!(
            again.headers()["content-type"],
            "application/x-amz-json-1.1"
        );
        let body = http_body_util::BodyExt::collect(again.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, response.body);
        assert!(cache.get(&key, 2).is_none());
    }
}
