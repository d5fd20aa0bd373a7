//! What replay reads: the cassette in memory, keyed as the sled store keys it.
//!
//! Only writers (record, auto, export) need the sled store, and sled lets one process have it.
//! Replay reads the committed cassette instead, so any number of replay processes (test
//! workers, CI jobs sharing a checkout) use one cassette at once, beside a writer too.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use super::encoding::{encode_key, key_prefix, occurrence_of};
use crate::cassette;
use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;

/// Recorded answers by stored key (the sled store's layout), read from a cassette.
#[derive(Debug, Default)]
pub struct Memory {
    answers: BTreeMap<Vec<u8>, Response>,
}

impl Memory {
    /// Read `cassette` and key its interactions under `rules`.
    pub fn load(path: &Path, rules: &Rules) -> Result<Memory> {
        let text = cassette::read(path)?.ok_or_else(|| Error::MissingCassette(path.into()))?;
        let mut answers = BTreeMap::new();
        cassette::for_each_keyed(path, &text, &mut |i, raw, _| {
            let ruled;
            let key = match rules.key_body(&i.operation, &i.request) {
                Cow::Borrowed(_) => raw,
                Cow::Owned(body) => {
                    ruled = RequestKey::new(&i.operation, &body).in_scope(i.scope.clone());
                    &ruled
                }
            };
            answers.insert(encode_key(key, i.occurrence), i.response);
            Ok(())
        })?;
        Ok(Memory { answers })
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
