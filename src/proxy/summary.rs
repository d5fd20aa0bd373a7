//! What happened to each exchange, and the run's summary printed on shutdown.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::keying::scope::Scope;

/// The most miss messages a scope keeps for its summary (the count goes on).
pub const MAX_MISS_MESSAGES: usize = 100;
/// The most named scopes a run tallies at once (each holds its counts and miss messages): a
/// call in another scope past it is refused (a client inventing a scope per request must not
/// grow the proxy without bound; a reset gives a scope's place back).
pub const MAX_SCOPES: usize = 50_000;

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
    /// A fault rule of the config file fired (counted when it fires, delays included).
    Injected,
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
            Outcome::Injected => "injected",
        }
    }
}

/// How many exchanges of a run ended in each [`Outcome`].
#[derive(Default)]
pub struct Counts {
    hit: AtomicU64,
    miss: AtomicU64,
    recorded: AtomicU64,
    forwarded: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    injected: AtomicU64,
}

impl Counts {
    pub fn count(&self, outcome: Outcome) {
        self.of(outcome).fetch_add(1, Ordering::Relaxed);
    }

    pub fn counted(&self, outcome: Outcome) -> u64 {
        self.of(outcome).load(Ordering::Relaxed)
    }

    /// A counter per variant, by an exhaustive match: a new outcome needs a counter of its own.
    fn of(&self, outcome: Outcome) -> &AtomicU64 {
        match outcome {
            Outcome::Hit => &self.hit,
            Outcome::Miss => &self.miss,
            Outcome::Recorded => &self.recorded,
            Outcome::Forwarded => &self.forwarded,
            Outcome::Rejected => &self.rejected,
            Outcome::Failed => &self.failed,
            Outcome::Injected => &self.injected,
        }
    }
}

/// What happened in each named scope since it was last reset: what a test runner asks after a
/// test (`GET /scope/NAME/summary`), to fail the test that missed with the reason. Counted on
/// every scoped exchange: a read lock and atomic adds once the scope is known.
#[derive(Default)]
pub struct ScopeTallies {
    scopes: RwLock<HashMap<Scope, Arc<ScopeCounts>>>,
}

#[derive(Default)]
struct ScopeCounts {
    counts: Counts,
    /// The first [`MAX_MISS_MESSAGES`] miss messages, as the client got them.
    messages: Mutex<Vec<String>>,
}

/// One scope's outcomes since its last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub hits: u64,
    pub misses: u64,
    pub recorded: u64,
    pub forwarded: u64,
    pub rejected: u64,
    pub failed: u64,
    pub injected: u64,
    /// The first [`MAX_MISS_MESSAGES`] miss messages, as the client got them.
    pub miss_messages: Vec<String>,
}

impl ScopeTallies {
    /// `f` on the counters of a named scope (made on its first exchange since a reset), under
    /// the map's guard: no reference count taken and dropped per exchange.
    fn with_counts<R>(&self, scope: &Scope, f: impl FnOnce(&ScopeCounts) -> R) -> R {
        if let Some(counts) = self
            .scopes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(scope)
        {
            return f(counts);
        }
        let mut scopes = self.scopes.write().unwrap_or_else(|e| e.into_inner());
        f(scopes.entry(scope.clone()).or_default())
    }

    /// Count an exchange of `scope` (named scopes only; the run's counts cover the default one).
    pub fn count(&self, scope: &Scope, outcome: Outcome) {
        if scope.is_default() {
            return;
        }
        self.with_counts(scope, |c| c.counts.count(outcome));
    }

    /// Keep why a request of `scope` missed (counted by [`ScopeTallies::count`]).
    pub fn missed(&self, scope: &Scope, message: &str) {
        if scope.is_default() {
            return;
        }
        self.with_counts(scope, |c| {
            let mut messages = c.messages.lock().unwrap_or_else(|e| e.into_inner());
            if messages.len() < MAX_MISS_MESSAGES {
                messages.push(message.to_owned());
            }
        });
    }

    /// The scope's outcomes since its last reset.
    pub fn of(&self, scope: &Scope) -> Tally {
        let found = self
            .scopes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(scope)
            .cloned();
        let Some(s) = found else {
            return Tally::default();
        };
        let c = &s.counts;
        let miss_messages = s.messages.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Tally {
            hits: c.counted(Outcome::Hit),
            misses: c.counted(Outcome::Miss),
            recorded: c.counted(Outcome::Recorded),
            forwarded: c.counted(Outcome::Forwarded),
            rejected: c.counted(Outcome::Rejected),
            failed: c.counted(Outcome::Failed),
            injected: c.counted(Outcome::Injected),
            miss_messages,
        }
    }

    /// Whether a call in `scope` may be tallied: the default scope, a scope tallied already, or
    /// room for one more under [`MAX_SCOPES`].
    pub fn admits(&self, scope: &Scope) -> bool {
        if scope.is_default() {
            return true;
        }
        let scopes = self.scopes.read().unwrap_or_else(|e| e.into_inner());
        scopes.len() < MAX_SCOPES || scopes.contains_key(scope)
    }

    /// Start the scope's tally over.
    pub fn reset(&self, scope: &Scope) {
        let mut scopes = self.scopes.write().unwrap_or_else(|e| e.into_inner());
        scopes.remove(scope);
    }
}

impl Tally {
    /// As `GET /scope/NAME/summary` answers it.
    pub fn to_json(&self, scope: &Scope) -> serde_json::Value {
        serde_json::json!({
            "scope": scope.name(),
            "hits": self.hits,
            "misses": self.misses,
            "recorded": self.recorded,
            "forwarded": self.forwarded,
            "rejected": self.rejected,
            "failed": self.failed,
            "injected": self.injected,
            "miss_messages": self.miss_messages,
        })
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
    /// Faults injected by the config file's rules (delays included).
    pub injected: u64,
    /// Recorded interactions this run never served (replay and auto only).
    pub unused: Option<u64>,
    /// Interactions written to the cassette on shutdown, if it was written.
    pub exported: Option<usize>,
    /// The run was strict: misses or unused interactions are failures.
    pub strict: bool,
}

impl Summary {
    /// As `GET /summary` answers it (`exported` is known only after the stop).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mode": self.mode,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "misses": self.misses,
            "forwarded": self.forwarded,
            "rejected": self.rejected,
            "failed": self.failed,
            "injected": self.injected,
            "unused": self.unused,
            "exported": self.exported,
            "strict": self.strict,
        })
    }

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
        if self.injected > 0 {
            write!(f, ", {} faults injected", self.injected)?;
        }
        // Only a strict run means to replay the whole cassette: after a subset of the tests, one
        // test or one of several workers, what it left unreplayed says nothing.
        if let Some(unused) = self.unused.filter(|_| self.strict) {
            write!(f, ", {unused} recorded interactions never replayed")?;
            if unused > 0 {
                write!(
                    f,
                    " (a strict run fails on them: the tests no longer make those calls, or this run was not the whole suite; re-record the cassette to drop them)"
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
    fn past_the_most_scopes_a_new_one_is_not_admitted_until_one_is_reset() {
        let tallies = ScopeTallies::default();
        let scope = |i: usize| Scope::named(&format!("s{i}")).unwrap();
        for i in 0..MAX_SCOPES {
            tallies.count(&scope(i), Outcome::Miss);
        }
        assert!(!tallies.admits(&scope(MAX_SCOPES)));
        assert!(tallies.admits(&scope(7)), "a scope already tallied");
        assert!(tallies.admits(&Scope::default()));
        tallies.reset(&scope(7));
        assert!(tallies.admits(&scope(MAX_SCOPES)));
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

    #[test]
    fn what_was_never_replayed_is_said_by_a_strict_run_only_and_advises_no_flag() {
        let mut s = Summary {
            mode: "replay",
            unused: Some(3),
            ..Default::default()
        };
        assert!(!s.to_string().contains("never replayed"), "{s}");
        assert_eq!(s.to_json()["unused"], 3, "still in the JSON summary");
        s.strict = true;
        let line = s.to_string();
        assert!(
            line.contains(", 3 recorded interactions never replayed"),
            "{line}"
        );
        assert!(!line.contains("--strict"), "{line}");
        s.unused = Some(0);
        assert!(s
            .to_string()
            .ends_with(", 0 recorded interactions never replayed"));
    }

    #[test]
    fn injected_faults_are_said_when_there_are_some() {
        let mut s = Summary {
            mode: "replay",
            replayed: 3,
            ..Default::default()
        };
        assert!(!s.to_string().contains("injected"), "{s}");
        s.injected = 2;
        assert!(s.to_string().contains(", 2 faults injected"), "{s}");
        assert_eq!(s.to_json()["injected"], 2);
        let tallies = ScopeTallies::default();
        let t = Scope::named("t").unwrap();
        tallies.count(&t, Outcome::Injected);
        assert_eq!(tallies.of(&t).injected, 1);
        assert_eq!(tallies.of(&t).to_json(&t)["injected"], 1);
    }
}
