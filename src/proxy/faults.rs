//! Injected faults: the config file's `[[faults]]` rules applied to each call once its body is
//! read, before it is keyed. A call a rule hits takes no occurrence and is neither forwarded nor
//! recorded: it waits (inside the exchange, so a client that gives up drops the wait with it),
//! then gets an error in Cognito's shape, no answer at all, or, after a delay alone, its normal
//! answer. Which calls a rule hits is counted per rule and scope since the scope's last reset.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::respond::{self, HttpResponse};
use super::State;
use crate::cassette;
use crate::cognito::errors::injected_status;
use crate::cognito::wire::{operation_of, Response};
use crate::config::faults::{FaultRule, InjectedError, Then};
use crate::config::{Mode, ServeConfig};
use crate::error::Result;
use crate::keying::scope::Scope;
use crate::proxy::summary::Outcome;

/// The fault rules of a run and their call counters (replay, auto, passthrough).
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    /// Matching calls per (rule index, scope) since the scope's last reset.
    calls: Mutex<HashMap<(usize, Scope), u64>>,
    /// What a rule naming an error without a status of its own answers: the first recorded
    /// answer of that type for the operation, by (operation, error type).
    recorded: HashMap<(String, String), Response>,
}

/// The connection is closed without an answer: the error a `close` rule hands hyper, which
/// then drops the connection (HTTP/2: resets the stream).
#[derive(Debug, thiserror::Error)]
#[error("cognito-vcr: injected fault: connection closed without an answer")]
pub struct Closed;

impl Faults {
    /// The run's faults: `None` without rules, and in record mode (a recording must be the real
    /// thing: one warning says they are ignored).
    pub(crate) fn new(config: &ServeConfig) -> Result<Option<Faults>> {
        let rules = &config.settings.faults;
        if rules.is_empty() {
            return Ok(None);
        }
        if config.mode == Mode::Record {
            let file = config.settings.source.as_deref().unwrap_or(Path::new("-"));
            tracing::warn!(
                "{} fault rule(s) of {} ignored: record mode records the real thing",
                rules.len(),
                file.display()
            );
            return Ok(None);
        }
        let recorded = match config.mode {
            Mode::Passthrough => HashMap::new(),
            _ => recorded_errors(rules, &config.cassette)?,
        };
        Ok(Some(Faults {
            recorded,
            rules: rules.clone(),
            calls: Mutex::default(),
        }))
    }

    /// Count this call for every rule it matches; the first (in file order) that hits it.
    fn fire(&self, scope: &Scope, operation: &str, raw: &[u8]) -> Option<(&FaultRule, u64)> {
        // The body is parsed only for a rule with a `match` table.
        let mut body: Option<Option<serde_json::Value>> = None;
        let mut matching = Vec::new();
        for rule in &self.rules {
            if !rule.applies_to(operation, scope) {
                continue;
            }
            if !rule.matches.is_empty() {
                let parsed = body.get_or_insert_with(|| crate::keying::json::parse(raw).ok());
                if !parsed.as_ref().is_some_and(|b| rule.matches(b)) {
                    continue;
                }
            }
            matching.push(rule);
        }
        if matching.is_empty() {
            return None;
        }
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        for rule in matching {
            let call = calls.entry((rule.index, scope.clone())).or_default();
            *call += 1;
            if fired.is_none() && rule.fires(scope, *call) {
                fired = Some((rule, *call));
            }
        }
        fired
    }

    /// Start the scope's counts over (its reset call).
    pub(crate) fn reset(&self, scope: &Scope) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.retain(|(_, s), _| s != scope);
    }

    /// The error a rule answers with.
    fn error(
        &self,
        rule: &FaultRule,
        e: &InjectedError,
        operation: &str,
        call_of: &str,
    ) -> Response {
        let status = injected_status(&e.name);
        let recorded = match status {
            Some(_) => None,
            None => self.recorded.get(&(operation.to_owned(), e.name.clone())),
        };
        let message = || {
            e.message.clone().unwrap_or_else(|| {
                format!(
                    "cognito-vcr injected fault: {} (fault rule {}, {call_of})",
                    e.name, rule.index
                )
            })
        };
        match recorded {
            Some(answer) if e.message.is_none() => {
                let mut answer = answer.clone();
                answer.status = e.status.unwrap_or(answer.status);
                answer
            }
            Some(answer) => {
                respond::cognito_error(e.status.unwrap_or(answer.status), &e.name, &message())
            }
            None => respond::cognito_error(e.status.or(status).unwrap_or(400), &e.name, &message()),
        }
    }
}

/// Apply the fault rules to a call whose body is read: `Ok(None)` when none hits it (or only a
/// delay, now waited); the injected answer; or [`Closed`].
pub(super) async fn inject(
    state: &State,
    faults: &Faults,
    scope: &Scope,
    target: Option<&str>,
    raw: &[u8],
) -> std::result::Result<Option<(Arc<str>, HttpResponse)>, Closed> {
    let Ok(operation) = operation_of(target) else {
        // Refused further on: no fault for what is not a call.
        return Ok(None);
    };
    let Some((rule, call)) = faults.fire(scope, operation, raw) else {
        return Ok(None);
    };
    // Counted now: a delayed call whose client gives up is counted too.
    state.counts.count(Outcome::Injected);
    state.tallies.count(scope, Outcome::Injected);
    tracing::info!(rule = rule.index, %operation, %scope, call, fault = %rule, "injected fault");
    if let Some(delay) = rule.delay {
        // Dropped with the exchange when the client goes away.
        tokio::time::sleep(delay).await;
    }
    let call_of = format!("call {call} of {operation}{}", scope.label());
    match &rule.then {
        Then::Answer => Ok(None),
        Then::Close => Err(Closed),
        Then::Error(e) => {
            let error = faults.error(rule, e, operation, &call_of);
            Ok(Some((Arc::from(operation), respond::to_http(&error))))
        }
    }
}

/// The first recorded answer of each error type the rules name without a status of their own,
/// for each operation they apply to, in cassette order (a missing cassette has none).
fn recorded_errors(
    rules: &[FaultRule],
    cassette_path: &Path,
) -> Result<HashMap<(String, String), Response>> {
    let wanted: Vec<(Option<&str>, &str)> = rules
        .iter()
        .filter_map(|r| match &r.then {
            Then::Error(e) if injected_status(&e.name).is_none() => {
                Some((r.operation.as_deref(), e.name.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let Some(text) = cassette::read(cassette_path)? else {
        return Ok(found);
    };
    cassette::for_each(cassette_path, &text, |i| {
        let Some(kind) = i.response.error_type() else {
            return Ok(());
        };
        let asked = wanted
            .iter()
            .any(|(op, name)| *name == kind && op.is_none_or(|op| op == i.operation));
        if asked {
            found.entry((i.operation, kind)).or_insert(i.response);
        }
        Ok(())
    })?;
    Ok(found)
}
