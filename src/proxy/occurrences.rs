//! One run's state: occurrence counters per request and the counts behind the shutdown summary.

use crate::keying::key::{KeyMap, RequestKey};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What happened to one exchange (the `outcome` field of its log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered from the recording.
    Hit,
    /// Not recorded; answered with a replay-miss error.
    Miss,
    /// Forwarded upstream and recorded.
    Recorded,
    /// Forwarded upstream, not recorded (passthrough, or a 5xx/throttling answer).
    Forwarded,
    /// Refused before keying (bad target, bad body, too large).
    Rejected,
    /// The upstream could not be reached or the store failed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Recorded => "recorded",
            Outcome::Forwarded => "forwarded",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

/// Occurrence counters and outcome counts of one run.
#[derive(Default)]
pub struct Session {
    occurrences: Mutex<KeyMap<u32>>,
    counts: [AtomicU64; 6],
}

impl Session {
    /// The occurrence number of this request in the session: 1 the first time, then 2, 3...
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

    pub fn count(&self, outcome: Outcome) {
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn counted(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize].load(Ordering::Relaxed)
    }

    /// Each distinct request seen, with how many times it was seen.
    pub fn requests_seen(&self) -> Vec<(RequestKey, u32)> {
        let map = self.occurrences.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, n)| (k.clone(), *n)).collect()
    }
}

/// What a run did, printed on shutdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub mode: &'static str,
    pub recorded: u64,
    pub replayed: u64,
    pub misses: u64,
    pub forwarded: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Recorded interactions this run never served (replay and auto only).
    pub unused: Option<u64>,
    /// Interactions written to the cassette on shutdown, if it was written.
    pub exported: Option<usize>,
    /// The run was strict: misses or unused interactions are failures.
    pub strict: bool,
}

impl Summary {
    /// In strict mode, a run with misses or unused recordings fails (for CI).
    pub fn is_failure(&self) -> bool {
        self.strict && (self.misses > 0 || self.unused.unwrap_or(0) > 0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cognito-vcr {}: {} recorded, {} replayed, {} misses, {} forwarded",
            self.mode, self.recorded, self.replayed, self.misses, self.forwarded
        )?;
        if self.rejected + self.failed > 0 {
            write!(f, ", {} rejected, {} failed", self.rejected, self.failed)?;
        }
        if let Some(unused) = self.unused {
            write!(f, ", {unused} recorded interactions never replayed")?;
            if unused > 0 {
                write!(
                    f,
                    " (the cassette may be stale: re-record it or run with --strict in CI)"
                )?;
            }
        }
        if let Some(n) = self.exported {
            write!(f, "; cassette written with {n} interactions")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_count_per_request() {
        let s = Session::default();
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

    #[test]
    fn strict_summary_fails_on_misses_or_unused() {
        let mut s = Summary {
            strict: true,
            unused: Some(0),
            ..Default::default()
        };
        assert!(!s.is_failure());
        s.unused = Some(1);
        assert!(s.is_failure());
        s.strict = false;
        assert!(!s.is_failure());
    }
}
