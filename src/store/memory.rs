//! What replay reads: the cassette in memory, keyed as the sled store keys it.
//!
//! Only writers (record, auto, export) need the sled store, and sled lets one process have it.
//! Replay reads the committed cassette instead, so any number of replay processes (test
//! workers, CI jobs sharing a checkout) use one cassette at once, beside a writer too.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::encoding::{encode_key, key_prefix, occurrence_of};
use crate::cassette;
use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;
use crate::keying::scope::Scope;

/// Recorded answers by stored key (the sled store's layout), read from a cassette.
#[derive(Debug, Default)]
pub struct Memory {
    answers: BTreeMap<Vec<u8>, Response>,
    /// The distinct recorded requests of each scope and operation, to say why a request missed.
    requests: HashMap<(Scope, Box<str>), Vec<Recorded>>,
}

/// A distinct recorded request: its stored body (canonical JSON) and key digest.
#[derive(Debug)]
pub struct Recorded {
    pub body: Box<str>,
    pub digest: [u8; 32],
}

impl Memory {
    /// Read `cassette` and key its interactions under `rules`.
    pub fn load(path: &Path, rules: &Rules) -> Result<Memory> {
        let text = cassette::read(path)?.ok_or_else(|| Error::MissingCassette(path.into()))?;
        let mut answers = BTreeMap::new();
        let mut requests: HashMap<(Scope, Box<str>), Vec<Recorded>> = HashMap::new();
        cassette::for_each_keyed(path, &text, &mut |i, raw, canonical| {
            let ruled;
            let key = match rules.key_body(&i.operation, &i.request) {
                Cow::Borrowed(_) => raw,
                Cow::Owned(body) => {
                    ruled = RequestKey::new(&i.operation, &body).in_scope(i.scope.clone());
                    &ruled
                }
            };
            let distinct = requests
                .entry((i.scope.clone(), i.operation.as_str().into()))
                .or_default();
            // Occurrences of a request are next to each other in a cassette's order.
            if distinct.last().is_none_or(|r| r.digest != key.digest) {
                distinct.push(Recorded {
                    body: String::from_utf8_lossy(canonical).into(),
                    digest: key.digest,
                });
            }
            answers.insert(encode_key(key, i.occurrence), i.response);
            Ok(())
        })?;
        Ok(Memory { answers, requests })
    }

    /// The distinct recorded requests of `operation` in `scope`.
    pub fn requests(&self, scope: &Scope, operation: &str) -> &[Recorded] {
        // A miss is rare: the key tuple is built only then.
        self.requests
            .get(&(scope.clone(), operation.into()))
            .map_or(&[], Vec::as_slice)
    }

    /// The scopes that recorded `operation`, with how many of its requests have `digest`.
    pub fn scopes_of(&self, operation: &str, digest: &[u8; 32]) -> Vec<(Scope, usize)> {
        let mut scopes: Vec<(Scope, usize)> = self
            .requests
            .iter()
            .filter(|((_, op), _)| &**op == operation)
            .map(|((scope, _), recorded)| {
                let same = recorded.iter().filter(|r| &r.digest == digest).count();
                (scope.clone(), same)
            })
            .collect();
        scopes.sort();
        scopes
    }

    /// The response recorded for this occurrence of the request, if any.
    pub fn get(&self, key: &RequestKey, occurrence: u32) -> Option<Response> {
        self.answers.get(&encode_key(key, occurrence)).cloned()
    }

    /// Every recorded occurrence of the request, in order.
    pub fn all(&self, key: &RequestKey) -> Vec<(u32, Response)> {
        let prefix = key_prefix(key);
        self.answers
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix) && k.len() == prefix.len() + 4)
            .map(|(k, r)| (occurrence_of(k), r.clone()))
            .collect()
    }

    /// How many occurrences of the request are recorded.
    pub fn occurrences(&self, key: &RequestKey) -> usize {
        self.all(key).len()
    }

    /// Number of recorded interactions.
    pub fn len(&self) -> usize {
        self.answers.len()
    }
}
