//! Occurrence counters: how many times each request was seen in this run (not Cognito's
//! `Session`).
//!
//! On every exchange: a shared (read) lock to find the request's counter, then atomic
//! operations on it. No exclusive lock is held on the hot path, so a worker that is preempted
//! never makes another wait a scheduler slice for it (what put replay's p99 at ~4 ms); the
//! write lock is taken only for a request seen for the first time.

use crate::keying::key::{KeyMap, RequestKey};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::keying::scope::Scope;

/// An occurrence of a request, taken: its key, the occurrence, and its counter's epoch then
/// (to give it back with).
pub type TakenOccurrence = (RequestKey, u32, u64);

/// The occurrence counters of one run, per request key.
#[derive(Default)]
pub struct Occurrences {
    occurrences: RwLock<KeyMap<Arc<Counter>>>,
}

/// One request's counter. `state` packs the scope-reset epoch (high 32 bits) with the last
/// occurrence number handed out (low 32 bits, 0 after a reset), so that taking, giving back
/// and resetting are each one atomic step.
#[derive(Default)]
struct Counter {
    state: AtomicU64,
    /// The highest occurrence handed out in the run, resets included.
    most: AtomicU32,
}

fn unpack(state: u64) -> (u32, u64) {
    (state as u32, state >> 32)
}

impl Counter {
    fn take(&self) -> (u32, u64) {
        let (current, epoch) = unpack(self.state.fetch_add(1, Ordering::AcqRel) + 1);
        self.most.fetch_max(current, Ordering::AcqRel);
        (current, epoch)
    }
}

impl Occurrences {
    /// The occurrence number of this request in the run: 1 the first time, then 2, 3...
    pub fn next_occurrence(&self, key: &RequestKey) -> u32 {
        self.next_occurrence_in_epoch(key).0
    }

    /// [`Occurrences::next_occurrence`], with the counter's epoch (to give it back with).
    pub fn next_occurrence_in_epoch(&self, key: &RequestKey) -> (u32, u64) {
        if let Some(counter) = self.read().get(key) {
            return counter.take();
        }
        let counter = self.write().entry(key.clone()).or_default().clone();
        counter.take()
    }

    /// Give back an occurrence number that was not used (an answer that was not recorded), so
    /// the client's retry records in its place. Only the latest number can be given back, and
    /// not after a reset of its scope (that number was handed out again since).
    pub fn release_occurrence(&self, key: &RequestKey, occurrence: u32, epoch: u64) {
        let Some(counter) = self.read().get(key).cloned() else {
            return;
        };
        let taken = (epoch << 32) | u64::from(occurrence);
        if occurrence > 0
            && counter
                .state
                .compare_exchange(taken, taken - 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // The highest reached goes back too if this was it.
            let _ = counter.most.compare_exchange(
                occurrence,
                occurrence - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Drop the counter of a request replay has no answer for at all (never recorded): a client
    /// sending a new body every time must not grow the counters without bound.
    pub fn forget(&self, key: &RequestKey) {
        self.occurrences
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Start a scope over: the next call of each of its requests is occurrence 1 again.
    pub fn reset(&self, scope: &Scope) {
        for (key, counter) in self.read().iter() {
            if key.scope == *scope {
                let _ = counter
                    .state
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                        Some(((state >> 32) + 1) << 32)
                    });
            }
        }
    }

    /// Each distinct request seen, with the highest occurrence it reached.
    pub fn requests_seen(&self) -> Vec<(RequestKey, u32)> {
        self.read()
            .iter()
            .map(|(k, c)| (k.clone(), c.most.load(Ordering::Acquire)))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeyMap<Arc<Counter>>> {
        self.occurrences.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeyMap<Arc<Counter>>> {
        self.occurrences.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_request_starts_again_and_holds_no_counter() {
        let occurrences = Occurrences::default();
        let key = RequestKey::new("AdminGetUser", &serde_json::json!({"Username": "nobody"}));
        assert_eq!(occurrences.next_occurrence(&key), 1);
        assert_eq!(occurrences.next_occurrence(&key), 2);
        occurrences.forget(&key);
        assert!(occurrences.requests_seen().is_empty());
        assert_eq!(occurrences.next_occurrence(&key), 1);
    }

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
