//! Occurrence counters: how many times each request was seen in this run (not Cognito's
//! `Session`).

use crate::keying::key::{KeyMap, RequestKey};
use std::sync::Mutex;

/// The occurrence counters of one run, per request key.
#[derive(Default)]
pub struct Occurrences {
    occurrences: Mutex<KeyMap<u32>>,
}

impl Occurrences {
    /// The occurrence number of this request in the run: 1 the first time, then 2, 3...
    pub fn next_occurrence(&self, key: &RequestKey) -> u32 {
        let mut map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        // Look up before inserting so a repeated request does not clone its key.
        if let Some(n) = map.get_mut(key) {
            *n += 1;
            return *n;
        }
        map.insert(key.clone(), 1);
        1
    }

    /// Give back an occurrence number that was not used (an answer that was not recorded), so
    /// the client's retry records in its place. Only the latest number can be given back.
    pub fn release_occurrence(&self, key: &RequestKey, occurrence: u32) {
        let mut map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(key) {
            if *n == occurrence {
                *n -= 1;
            }
        }
    }

    /// Each distinct request seen, with how many times it was seen.
    pub fn requests_seen(&self) -> Vec<(RequestKey, u32)> {
        let map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, n)| (k.clone(), *n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_count_per_request() {
        let s = Occurrences::default();
        let a = RequestKey::new("ListUsers", &serde_json::json!({"a": 1}));
        let b = RequestKey::new("ListUsers", &serde_json::json!({"a": 2}));
        assert_eq!(s.next_occurrence(&a), 1);
        assert_eq!(s.next_occurrence(&b), 1);
        assert_eq!(s.next_occurrence(&a), 2);
        assert_eq!(s.requests_seen().len(), 2);
        s.release_occurrence(&a, 2);
        assert_eq!(s.next_occurrence(&a), 2);
        s.release_occurrence(&a, 1); // not the latest: ignored
        assert_eq!(s.next_occurrence(&a), 3);
    }
}
