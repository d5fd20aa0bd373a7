//! Injected faults: the config file's `[[faults]]` rules, validated, and the deterministic
//! schedule that says which calls a rule hits. Pure code; `proxy/faults.rs` applies them.
//!
//! ```toml
//! [[faults]]
//! operation = "ListUsers"        # required; "*" for any operation
//! scope = "test_retry"           # optional: only in this scope
//! match = { Username = "alice" } # optional: request paths and the JSON value each must hold
//! nth = 1                        # exactly one of nth, every, probability (with seed)
//! error = "TooManyRequestsException"  # or close = true; optional status, message
//! delay_ms = 2000                # optional: wait first
//! ```

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::keying::rules::Selector;
use crate::keying::scope::Scope;

/// One `[[faults]]` rule, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Its place in the file, from 1: how messages and logs name it.
    pub index: usize,
    /// `None`: any operation (`"*"`).
    pub operation: Option<String>,
    /// `None`: every scope.
    pub scope: Option<Scope>,
    /// Request paths and the value each must hold.
    pub matches: Vec<(Selector, Value)>,
    pub schedule: Schedule,
    /// Waited before what follows.
    pub delay: Option<Duration>,
    pub then: Then,
}

/// Which of a rule's matching calls (counted from 1) it hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Only the Nth.
    Nth(u64),
    /// Every Kth: K, 2K, 3K...
    Every(u64),
    /// Each with this probability, decided by a hash of (seed, rule, scope, call number).
    Probability { p: f64, seed: u64 },
}

/// `p` is never NaN (validated within 0..1), so equality is an equivalence.
impl Eq for Schedule {}

/// What a hit call gets after the delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// An error in Cognito's shape.
    Error(InjectedError),
    /// No answer: the connection is closed.
    Close,
    /// The normal answer (a delay alone).
    Answer,
}

/// The error a rule answers with, and its overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    /// The `__type`, e.g. `TooManyRequestsException`.
    pub name: String,
    pub status: Option<u16>,
    pub message: Option<String>,
}

/// A rule as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    operation: String,
    scope: Option<String>,
    #[serde(rename = "match", default)]
    matches: BTreeMap<String, Value>,
    nth: Option<u64>,
    every: Option<u64>,
    probability: Option<f64>,
    seed: Option<u64>,
    error: Option<String>,
    status: Option<u16>,
    message: Option<String>,
    delay_ms: Option<u64>,
    close: Option<bool>,
}

/// Validate the `[[faults]]` tables of a file, in order. An error names the rule (`fault rule
/// 2 (ListUsers): ...`).
pub fn parse(tables: Vec<toml::Table>) -> Result<Vec<FaultRule>, String> {
    tables
        .into_iter()
        .enumerate()
        .map(|(i, table)| {
            let index = i + 1;
            let operation = table
                .get("operation")
                .and_then(toml::Value::as_str)
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            let written: Result<Written, String> = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| e.message().to_owned());
            written
                .and_then(|w| validate(index, w))
                .map_err(|e| format!("fault rule {index}{operation}: {e}"))
        })
        .collect()
}

fn validate(index: usize, w: Written) -> Result<FaultRule, String> {
    let operation = match w.operation.as_str() {
        "*" => None,
        op if crate::cognito::wire::is_operation(op) => Some(w.operation),
        op => {
            return Err(format!(
                "operation {op:?} is not an operation name (ListUsers, AWSCognitoIdentityService.GetId) or \"*\""
            ))
        }
    };
    let scope = w
        .scope
        .as_deref()
        .map(Scope::named)
        .transpose()
        .map_err(|e| format!("scope: {e}"))?;
    let matches = w
        .matches
        .into_iter()
        .map(|(path, value)| Ok((Selector::parse(&path)?, value)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| format!("match: {e}"))?;
    let schedule = match (w.nth, w.every, w.probability) {
        (Some(0), None, None) => return Err("nth counts from 1".into()),
        (None, Some(0), None) => return Err("every must be 1 or more".into()),
        (Some(n), None, None) => Schedule::Nth(n),
        (None, Some(k), None) => Schedule::Every(k),
        (None, None, Some(p)) if (0.0..=1.0).contains(&p) => Schedule::Probability {
            p,
            seed: w.seed.unwrap_or(0),
        },
        (None, None, Some(p)) => return Err(format!("probability {p} is not within 0..1")),
        _ => return Err("give exactly one of nth, every, probability".into()),
    };
    if w.seed.is_some() && w.probability.is_none() {
        return Err("seed goes with probability only".into());
    }
    let then = match (w.error, w.close.unwrap_or(false)) {
        (Some(_), true) => return Err("error and close = true exclude each other".into()),
        (Some(name), false) => {
            if !crate::cognito::wire::is_name(&name) {
                return Err(format!(
                    "error {name:?} is not an error name (TooManyRequestsException)"
                ));
            }
            if let Some(status) = w.status.filter(|s| !(400..=599).contains(s)) {
                return Err(format!("status {status} is not an error status (400..599)"));
            }
            Then::Error(InjectedError {
                name,
                status: w.status,
                message: w.message,
            })
        }
        (None, close) => {
            if w.status.is_some() || w.message.is_some() {
                return Err("status and message go with error only".into());
            }
            match (close, w.delay_ms) {
                (true, _) => Then::Close,
                (false, Some(_)) => Then::Answer,
                (false, None) => {
                    return Err("a rule needs error, close = true or delay_ms".into());
                }
            }
        }
    };
    Ok(FaultRule {
        index,
        operation,
        scope,
        matches,
        schedule,
        delay: w.delay_ms.map(Duration::from_millis),
        then,
    })
}

impl FaultRule {
    /// Whether the rule is about calls of `operation` in `scope` (before `match`).
    pub fn applies_to(&self, operation: &str, scope: &Scope) -> bool {
        self.operation.as_deref().is_none_or(|o| o == operation)
            && self.scope.as_ref().is_none_or(|s| s == scope)
    }

    /// Whether the request body holds every value of `match`.
    pub fn matches(&self, body: &Value) -> bool {
        self.matches.iter().all(|(selector, expected)| {
            selector
                .select(body)
                .into_iter()
                .any(|found| holds(found, expected))
        })
    }

    /// Whether the rule hits the `call`th matching call (from 1) of `scope`.
    pub fn fires(&self, scope: &Scope, call: u64) -> bool {
        match self.schedule {
            Schedule::Nth(n) => call == n,
            Schedule::Every(k) => call % k == 0,
            Schedule::Probability { p, seed } => draw(seed, self.index, scope, call) < p,
        }
    }
}

/// Whether `found` holds `expected`: numbers by value (`7` and `7.0`), an object when it has at
/// least the expected members (so `{ AuthParameters.USERNAME = "alice" }`, which TOML reads as a
/// nested table, means the same as `{ "AuthParameters.USERNAME" = "alice" }`), arrays element by
/// element, anything else equal.
fn holds(found: &Value, expected: &Value) -> bool {
    match (found, expected) {
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => {
            b.iter().all(|(k, e)| a.get(k).is_some_and(|f| holds(f, e)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(f, e)| holds(f, e))
        }
        _ => found == expected,
    }
}

/// A number in [0, 1) from (seed, rule, scope, call) alone: SHA-256, so the same on every
/// machine and in every run, and independent of which thread asks first.
fn draw(seed: u64, rule: usize, scope: &Scope, call: u64) -> f64 {
    let mut h = Sha256::new();
    h.update(b"cognito-vcr fault\0");
    h.update(seed.to_be_bytes());
    h.update((rule as u64).to_be_bytes());
    // A named scope is never empty, so the default scope cannot collide with one.
    h.update(scope.name().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(call.to_be_bytes());
    let bits = u64::from_be_bytes(h.finalize()[..8].try_into().expect("8 bytes"));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// As the log and the default message say it: `TooManyRequestsException`, `close`, `delay
/// 2000 ms then close`.
impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(delay) = self.delay {
            write!(f, "delay {} ms", delay.as_millis())?;
            if self.then == Then::Answer {
                return Ok(());
            }
            f.write_str(" then ")?;
        }
        match &self.then {
            Then::Error(e) => f.write_str(&e.name),
            Then::Close => f.write_str("close"),
            Then::Answer => f.write_str("answer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(text: &str) -> Result<Vec<FaultRule>, String> {
        #[derive(Deserialize)]
        struct File {
            faults: Vec<toml::Table>,
        }
        parse(
            toml::from_str::<File>(text)
                .map_err(|e| e.to_string())?
                .faults,
        )
    }

    fn rule(text: &str) -> FaultRule {
        rules(&format!("[[faults]]\n{text}")).unwrap().remove(0)
    }

    fn refused(text: &str) -> String {
        rules(&format!(
            "[[faults]]\noperation = \"ListUsers\"\nnth = 1\nerror = \"X\"\n[[faults]]\n{text}"
        ))
        .unwrap_err()
    }

    #[test]
    fn a_full_rule_is_read() {
        let r = rule(
            r#"operation = "ListUsers"
scope = "test_retry"
match = { Username = "alice", "UserAttributes.*.Value" = "a@example.com", Limit = 7 }
probability = 0.25
seed = 7
error = "TooManyRequestsException"
status = 429
message = "slow down"
delay_ms = 2000"#,
        );
        assert_eq!(r.index, 1);
        assert_eq!(r.operation.as_deref(), Some("ListUsers"));
        assert_eq!(r.scope, Some(Scope::named("test_retry").unwrap()));
        assert_eq!(r.matches.len(), 3);
        assert_eq!(r.schedule, Schedule::Probability { p: 0.25, seed: 7 });
        assert_eq!(r.delay, Some(Duration::from_millis(2000)));
        assert_eq!(
            r.then,
            Then::Error(InjectedError {
                name: "TooManyRequestsException".into(),
                status: Some(429),
                message: Some("slow down".into()),
            })
        );
        assert_eq!(r.to_string(), "delay 2000 ms then TooManyRequestsException");
        let any = rule("operation = \"*\"\nevery = 3\nclose = true");
        assert_eq!((any.operation, any.then), (None, Then::Close));
        assert_eq!(any.schedule, Schedule::Every(3));
        let slow = rule("operation = \"AdminGetUser\"\nnth = 2\ndelay_ms = 10");
        assert_eq!(
            (slow.then.clone(), slow.to_string()),
            (Then::Answer, "delay 10 ms".into())
        );
        let unseeded = rule("operation = \"*\"\nprobability = 1\nclose = true");
        assert_eq!(unseeded.schedule, Schedule::Probability { p: 1.0, seed: 0 });
        let identity =
            rule("operation = \"AWSCognitoIdentityService.GetId\"\nnth = 1\nclose = true");
        assert_eq!(
            identity.operation.as_deref(),
            Some("AWSCognitoIdentityService.GetId")
        );
        assert!(
            refused("operation = \"AWSCognitoIdentityService.\"\nnth = 1\nclose = true")
                .contains("not an operation name")
        );
    }

    #[test]
    fn invalid_rules_are_refused_naming_the_rule() {
        for (text, says) in [
            (
                "operation = \"ListUsers\"\nnth = 1\nevery = 2\nerror = \"X\"",
                "exactly one of nth, every, probability",
            ),
            (
                "operation = \"ListUsers\"\nerror = \"X\"",
                "exactly one of nth, every, probability",
            ),
            (
                "operation = \"ListUsers\"\nevery = 2\nprobability = 0.5\nerror = \"X\"",
                "exactly one",
            ),
            (
                "operation = \"ListUsers\"\nprobability = 1.5\nerror = \"X\"",
                "probability 1.5 is not within 0..1",
            ),
            (
                "operation = \"ListUsers\"\nprobability = -0.1\nerror = \"X\"",
                "not within 0..1",
            ),
            (
                "operation = \"ListUsers\"\nprobability = nan\nerror = \"X\"",
                "not within 0..1",
            ),
            (
                "operation = \"ListUsers\"\nnth = 0\nerror = \"X\"",
                "nth counts from 1",
            ),
            (
                "operation = \"ListUsers\"\nevery = 0\nerror = \"X\"",
                "every must be 1 or more",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nnht = 1",
                "unknown field `nht`",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1",
                "needs error, close = true or delay_ms",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nclose = true",
                "exclude each other",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nclose = true\nstatus = 500",
                "go with error only",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nstatus = 200",
                "status 200 is not an error status",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"Not a name\"",
                "is not an error name",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nseed = 3",
                "seed goes with probability only",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nscope = \"a b\"",
                "scope:",
            ),
            (
                "operation = \"ListUsers\"\nnth = 1\nerror = \"X\"\nmatch = { \"a..b\" = 1 }",
                "empty segment",
            ),
            (
                "operation = \"List Users\"\nnth = 1\nerror = \"X\"",
                "not an operation name",
            ),
            ("nth = 1\nerror = \"X\"", "missing field `operation`"),
        ] {
            let err = refused(text);
            assert!(err.starts_with("fault rule 2"), "{text}: {err}");
            assert!(err.contains(says), "{text}: {err} (wanted {says})");
        }
        assert!(
            refused("operation = \"ListUsers\"\nnth = 1\nclose = true\nnht = 1")
                .starts_with("fault rule 2 (ListUsers): ")
        );
    }

    #[test]
    fn match_selects_request_paths_and_compares_values() {
        let r = rule(
            "operation = \"*\"\nnth = 1\nclose = true\nmatch = { Username = \"alice\", Limit = 7, \"UserAttributes.*.Value\" = \"a@x\", AuthParameters.USERNAME = \"al\" }",
        );
        let body = json!({
            "Username": "alice",
            "Limit": 7.0,
            "UserAttributes": [{"Name": "name", "Value": "A"}, {"Name": "email", "Value": "a@x"}],
            "AuthParameters": {"USERNAME": "al", "PASSWORD": "p"},
        });
        assert!(r.matches(&body));
        for (path, other) in [
            ("Username", json!("bob")),
            ("Limit", json!(8)),
            ("Limit", json!("7")),
            ("UserAttributes", json!([])),
            ("AuthParameters", json!({"USERNAME": "other"})),
        ] {
            let mut changed = body.clone();
            changed[path] = other;
            assert!(!r.matches(&changed), "{path}");
        }
        let mut missing = body.clone();
        missing.as_object_mut().unwrap().remove("Username");
        assert!(!r.matches(&missing));
        // No match table: every call matches.
        assert!(rule("operation = \"*\"\nnth = 1\nclose = true").matches(&json!({})));
    }

    #[test]
    fn a_rule_applies_to_its_operation_and_scope_only() {
        let a = Scope::named("a").unwrap();
        let r = rule("operation = \"ListUsers\"\nscope = \"a\"\nnth = 1\nclose = true");
        assert!(r.applies_to("ListUsers", &a));
        assert!(!r.applies_to("ListUsers", &Scope::default()));
        assert!(!r.applies_to("ListUsers", &Scope::named("b").unwrap()));
        assert!(!r.applies_to("AdminGetUser", &a));
        let any = rule("operation = \"*\"\nnth = 1\nclose = true");
        assert!(any.applies_to("AdminGetUser", &Scope::default()));
        assert!(any.applies_to("ListUsers", &a));
    }

    #[test]
    fn nth_and_every_hit_the_calls_they_name() {
        let scope = Scope::default();
        let hits = |text: &str| -> Vec<u64> {
            let r = rule(text);
            (1..=10).filter(|&n| r.fires(&scope, n)).collect()
        };
        assert_eq!(hits("operation = \"*\"\nnth = 3\nclose = true"), [3]);
        assert_eq!(
            hits("operation = \"*\"\nevery = 3\nclose = true"),
            [3, 6, 9]
        );
        assert_eq!(
            hits("operation = \"*\"\nevery = 1\nclose = true"),
            (1..=10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn probability_is_a_fixed_schedule_of_seed_rule_scope_and_call() {
        let pattern = |seed: u64, index: usize, scope: &str, p: f64| -> Vec<u64> {
            let mut r = rule(&format!(
                "operation = \"*\"\nprobability = {p:?}\nseed = {seed}\nclose = true"
            ));
            r.index = index;
            let scope = Scope::named(scope).unwrap();
            (1..=1000).filter(|&n| r.fires(&scope, n)).collect()
        };
        let once = pattern(7, 1, "t", 0.3);
        // The same inputs, the same calls, however often and in whatever order it is asked.
        assert_eq!(once, pattern(7, 1, "t", 0.3));
        let r = rule("operation = \"*\"\nprobability = 0.3\nseed = 7\nclose = true");
        let t = Scope::named("t").unwrap();
        let backwards: Vec<u64> = (1..=1000).rev().filter(|&n| r.fires(&t, n)).collect();
        assert_eq!(backwards.into_iter().rev().collect::<Vec<_>>(), once);
        // About the probability asked for.
        assert!((240..=360).contains(&once.len()), "{}", once.len());
        // Another seed, rule or scope: another schedule.
        assert_ne!(once, pattern(8, 1, "t", 0.3));
        assert_ne!(once, pattern(7, 2, "t", 0.3));
        assert_ne!(once, pattern(7, 1, "u", 0.3));
        // The bounds: never, always.
        assert!(pattern(7, 1, "t", 0.0).is_empty());
        assert_eq!(pattern(7, 1, "t", 1.0).len(), 1000);
        // Known values, so that a schedule cannot change unnoticed between versions.
        assert_eq!(once[..5], [6, 9, 10, 12, 15]);
    }
}
