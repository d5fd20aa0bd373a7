//! Answers already served, kept ready to send again: after the first hit, replay skips the store
//! lookup, the value decoding and the header parsing (the replay hot path).

use bytes::Bytes;
use hyper::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::cognito::wire::Response;
use crate::keying::key::{KeyMap, RequestKey};
use crate::proxy::respond::{head, with_head, HttpResponse};

/// Request headers an AWS SDK sends (about ten), with room to spare.
const REQUEST_HEADERS: usize = 12;

/// One answer, as hyper sends it.
#[derive(Clone)]
pub struct Cached {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// The recorded latency class, if any (see `respond::RecordedLatency`).
    latency: Option<u32>,
}

impl Cached {
    /// `response` ready to send; its recorded latency class kept when `latency` (only a run
    /// that waits for it reads it: without, no extension is allocated with every answer).
    pub fn new(response: &Response, latency: bool) -> Cached {
        let (status, headers) = head(response);
        Cached {
            status,
            headers,
            body: response.body.clone(),
            latency: latency
                .then(|| crate::cassette::timing::of(response))
                .flatten(),
        }
    }

    pub fn to_http(&self) -> HttpResponse {
        // Not a clone, which would fit only this answer's few headers: hyper keeps an answer's
        // emptied header map for the connection's next request, and a map too small for that
        // request's headers is allocated anew (two allocations and frees more per exchange).
        self.to_http_in(HeaderMap::with_capacity(
            REQUEST_HEADERS.max(self.headers.len()),
        ))
    }

    /// The answer in `headers`, a map emptied first: the request's own, on the hot path, which
    /// fits the connection's requests already (no allocation for the answer's map, and hyper
    /// keeps it to read the next request into).
    pub fn to_http_in(&self, mut headers: HeaderMap) -> HttpResponse {
        headers.clear();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        with_head(self.status, headers, self.body.clone(), self.latency)
    }
}

/// Served answers by request key and occurrence. The store does not change under a replay (and
/// in auto mode only at occurrences that were misses), so entries never go stale.
#[derive(Default)]
pub struct AnswerCache {
    map: RwLock<KeyMap<Answers>>,
    /// The run waits for recorded latency (`--latency`): answers keep their class.
    latency: bool,
}

/// The cached answers of one request.
#[derive(Default)]
struct Answers {
    by_occurrence: HashMap<u32, Arc<Cached>, foldhash::fast::RandomState>,
    /// The answer to every occurrence after the last recorded one (replay repeats the last
    /// answer): kept once, so a client polling past the end costs one map read, not a store
    /// lookup and a new entry per request.
    past_end: Option<PastEnd>,
}

struct PastEnd {
    /// The last recorded occurrence: occurrences after it get `answer`.
    last: u32,
    answer: Arc<Cached>,
}

impl AnswerCache {
    /// A cache for a run that waits for recorded latency (`latency`) or not.
    pub fn new(latency: bool) -> AnswerCache {
        AnswerCache {
            latency,
            ..AnswerCache::default()
        }
    }

    pub fn get(&self, key: &RequestKey, occurrence: u32) -> Option<HttpResponse> {
        self.cached(key, occurrence).map(|cached| cached.to_http())
    }

    /// The answer kept for this occurrence, to be made a response by the caller (in a header
    /// map of its own, see [`Cached::to_http_in`]).
    pub fn cached(&self, key: &RequestKey, occurrence: u32) -> Option<Arc<Cached>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let answers = map.get(key)?;
        if let Some(exact) = answers.by_occurrence.get(&occurrence) {
            return Some(exact.clone());
        }
        match &answers.past_end {
            Some(p) if occurrence > p.last => Some(p.answer.clone()),
            _ => None,
        }
    }

    /// Keep `response` for this key and occurrence; returns it ready to send.
    pub fn insert(&self, key: &RequestKey, occurrence: u32, response: &Response) -> HttpResponse {
        self.keep(key, response, |answers, cached| {
            answers.by_occurrence.insert(occurrence, cached);
        })
    }

    /// Keep `response`, the answer of the last recorded occurrence `last`, for every occurrence
    /// after it (replay mode only, where the recording does not grow); returns it ready to send.
    pub fn insert_past_end(
        &self,
        key: &RequestKey,
        last: u32,
        response: &Response,
    ) -> HttpResponse {
        self.keep(key, response, |answers, answer| {
            answers.past_end = Some(PastEnd { last, answer });
        })
    }

    fn keep(
        &self,
        key: &RequestKey,
        response: &Response,
        put: impl FnOnce(&mut Answers, Arc<Cached>),
    ) -> HttpResponse {
        let cached = Arc::new(Cached::new(response, self.latency));
        let out = cached.to_http();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        put(map.entry(key.clone()).or_default(), cached);
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

    #[test]
    fn an_answer_made_in_the_requests_header_map_has_only_its_own_headers() {
        let cache = AnswerCache::default();
        let key = RequestKey::new("ListUsers", &serde_json::json!({}));
        let response = Response {
            status: 200,
            headers: vec![("x-amzn-requestid".into(), "r-1".into())],
            body: Bytes::from_static(b"{}"),
        };
        cache.insert(&key, 1, &response);
        // The request's map, as hyper parsed it: its headers must not leak into the answer.
        let mut request = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:4000"),
            (
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListUsers",
            ),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIA/..."),
            ("x-amzn-requestid", "from-the-client"),
        ] {
            request.append(
                hyper::header::HeaderName::from_static(name),
                hyper::header::HeaderValue::from_static(value),
            );
        }
        let answer = cache.cached(&key, 1).unwrap().to_http_in(request);
        let mut names: Vec<_> = answer.headers().keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-type", "x-amzn-requestid"]);
        assert_eq!(
            answer.headers().get_all("x-amzn-requestid").iter().count(),
            1
        );
        assert_eq!(answer.headers()["x-amzn-requestid"], "r-1");
        let other = cache.get(&key, 1).unwrap();
        assert_eq!(
            (answer.status(), answer.headers()),
            (other.status(), other.headers()),
            "the same answer either way"
        );
    }

    #[tokio::test]
    async fn past_the_end_answers_are_kept_once_for_later_occurrences() {
        let cache = AnswerCache::default();
        let key = RequestKey::new("ListUsers", &serde_json::json!({}));
        let answer = |body: &'static str| Response {
            status: 200,
            headers: vec![],
            body: Bytes::from_static(body.as_bytes()),
        };
        cache.insert(&key, 1, &answer("first"));
        cache.insert_past_end(&key, 3, &answer("third"));
        let body = |r: HttpResponse| async {
            http_body_util::BodyExt::collect(r.into_body())
                .await
                .unwrap()
                .to_bytes()
        };
        assert_eq!(body(cache.get(&key, 1).unwrap()).await, "first");
        // Occurrences up to the last recorded one are not answered from the past-end entry.
        assert!(cache.get(&key, 2).is_none());
        assert!(cache.get(&key, 3).is_none());
        assert_eq!(body(cache.get(&key, 4).unwrap()).await, "third");
        assert_eq!(body(cache.get(&key, 1000).unwrap()).await, "third");
        assert_eq!(cache.map.read().unwrap()[&key].by_occurrence.len(), 1);
    }

    #[test]
    fn an_answers_latency_class_rides_only_where_the_run_waits_for_it() {
        use crate::proxy::respond::RecordedLatency;
        let key = RequestKey::new("ListUsers", &serde_json::json!({}));
        let timed = Response {
            status: 200,
            headers: vec![(crate::cognito::wire::LATENCY_HEADER.into(), "200".into())],
            body: Bytes::from_static(b"{}"),
        };
        for (waits, expected) in [(false, None), (true, Some(RecordedLatency(200)))] {
            let cache = AnswerCache::new(waits);
            cache.insert(&key, 1, &timed);
            let again = cache.get(&key, 1).unwrap();
            assert_eq!(
                again.extensions().get::<RecordedLatency>(),
                expected.as_ref()
            );
            assert!(again
                .headers()
                .get(crate::cognito::wire::LATENCY_HEADER)
                .is_none());
        }
    }
}
