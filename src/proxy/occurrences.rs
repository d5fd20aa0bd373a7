//! Occurrence counters: how many times each request was seen in this run (not Cognito's
//! `Session`).

use crate::keying::key::{KeyMap, RequestKey};
use std::sync::Mutex;

use crate::keying::scope::Scope;

/// The occurrence counters of one run, per request key.
#[derive(Default)]
pub struct Occurrences {
    occurrences: Mutex<KeyMap<Counter>>,
}

#[derive(Default)]
struct Counter {
    /// The last occurrence number handed out (0 after a reset).
    current: u32,
    /// The highest one handed out in the run, resets included.
    most: u32,
    /// How many times the scope was reset: an occurrence taken before a reset is not given
    /// back after it (it would be a number handed out again since).
    epoch: u64,
}

impl Occurrences {
    /// The occurrence number of this request in the run: 1 the first time, then 2, 3...
    pub fn next_occurrence(&self, key: &RequestKey) -> u32 {
        self.next_occurrence_in_epoch(key).0
    }

    /// [`Occurrences::next_occurrence`], with the counter's epoch (to give it back with).
    pub fn next_occurrence_in_epoch(&self, key: &RequestKey) -> (u32, u64) {
        let mut map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        // Look up before inserting so a repeated request does not clone its key.
        let counter = match map.get_mut(key) {
            Some(counter) => counter,
            None => map.entry(key.clone()).or_default(),
        };
        counter.current += 1;
        counter.most = counter.most.max(counter.current);
        (counter.current, counter.epoch)
    }

    /// Give back an occurrence number that was not used (an answer that was not recorded), so
    /// the client's retry records in its place. Only the latest number can be given back.
    pub fn release_occurrence(&self, key: &RequestKey, occurrence: u32, epoch: u64) {
        let mut map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = map.get_mut(key) {
            if counter.current == occurrence && counter.epoch == epoch {
                if counter.most == counter.current {
                    counter.most -= 1;
                }
                counter.current -= 1;
            }
        }
    }

    /// Start a scope over: the next call of each of its requests is occurrence 1 again.
    pub fn reset(&self, scope: &Scope) {
        let mut map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        for (key, counter) in map.iter_mut() {
            if key.scope == *scope {
                counter.current = 0;
                counter.epoch += 1;
            }
        }
    }

    /// Each distinct request seen, with the highest occurrence it reached.
    pub fn requests_seen(&self) -> Vec<(RequestKey, u32)> {
        let map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, c)| (k.clone(), c.most)).collect()
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
        s.release_occurrence(&a, 2, 0);
        assert_eq!(s.next_occurrence(&a), 2);
        s.release_occurrence(&a, 1, 0); // not the latest: ignored
        assert_eq!(s.next_occurrence(&a), 3);
        // A scope starts over; the others keep counting, and what was reached is remembered.
        let scoped = b.clone().in_scope(Scope::named("t").unwrap());
        assert_eq!(s.next_occurrence(&scoped), 1);
        s.reset(&Scope::default());
        assert_eq!(s.next_occurrence(&a), 1);
        assert_eq!(s.next_occurrence(&scoped), 2);
        // Taken before a reset, given back after it: ignored (that number was handed out again).
        let (taken, epoch) = s.next_occurrence_in_epoch(&a);
        assert_eq!(taken, 2);
        s.reset(&Scope::default());
        assert_eq!(s.next_occurrence(&a), 1);
        assert_eq!(s.next_occurrence(&a), 2);
        s.release_occurrence(&a, taken, epoch);
        assert_eq!(s.next_occurrence(&a), 3);
        let mut seen = s.requests_seen();
        seen.sort_by_key(|(k, _)| (k.scope.clone(), k.digest));
        assert!(seen.contains(&(a.clone(), 3)) && seen.contains(&(scoped, 2)));
    }
}
