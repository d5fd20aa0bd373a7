//! Why a replay missed, in one line: never recorded (and what the closest recorded request of
//! the same operation and scope has that this one has not), recorded in another scope, or
//! recorded N times with answers that differ and this is call N+1 under `--strict`.
//!
//! Both sides are stored forms (secrets hashed, handed-out values as placeholders, ignored
//! fields masked), so a message never shows a secret.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::keying::canonical::short_body;
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;
use crate::keying::scope::Scope;
use crate::store::ReplayIndex;

/// The most recorded requests compared with a missed one (a miss in a huge cassette stays quick).
const MAX_CANDIDATES: usize = 10_000;
/// The most differing fields named.
const MAX_FIELDS: usize = 4;
/// The longest value shown, in characters.
const MAX_VALUE: usize = 80;

/// The longest field path shown, in characters.
const MAX_PATH: usize = 80;

/// What replay knew of the missed request.
pub struct Missed<'a> {
    pub key: &'a RequestKey,
    /// The request as stored and keyed.
    pub body: &'a Value,
    pub occurrence: u32,
    /// How many occurrences of this very request are recorded in its scope.
    pub recorded: usize,
    pub strict: bool,
}

/// Why `missed` is not answered, as a sentence (no trailing period). Requests are compared as
/// keyed under `rules` (ignored fields, documented defaults, the ListUsers filter's one spelling),
/// so only differences that change the key are named.
pub fn why(recorded: &ReplayIndex, rules: &Rules, missed: &Missed<'_>) -> String {
    let operation = &*missed.key.operation;
    let scope = &missed.key.scope;
    if missed.recorded > 0 {
        let n = missed.recorded;
        return match missed.strict {
            true => format!(
                "it is recorded {n} time(s) in {} with answers that differ, and this is call {}: --strict serves no call past the last (without it, such calls get the last answer)",
                scope_name(scope),
                missed.occurrence
            ),
            false => format!(
                "it is recorded {n} time(s), but not as occurrence {}",
                missed.occurrence
            ),
        };
    }
    // The scopes that recorded the operation, with how many recorded this very request.
    let scopes = recorded.scopes_of(operation, &missed.key.digest);
    let elsewhere: Vec<String> = scopes
        .iter()
        .filter(|(s, same)| s != scope && *same > 0)
        .map(|(s, _)| scope_name(s))
        .collect();
    if !elsewhere.is_empty() {
        return format!(
            "it was never recorded in {}, but it is recorded in {} (a scope is chosen by the endpoint path /scope/NAME: was the test renamed, or the client pointed at another scope?)",
            scope_name(scope),
            list(&elsewhere)
        );
    }
    let candidates = recorded.requests(scope, operation);
    let keyed = |body: &Value| rules.key_body(operation, body).into_owned();
    match closest(&candidates, missed.body, &keyed) {
        Some((fields, total)) => {
            let more = match total.saturating_sub(fields.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            format!(
                "it was never recorded in {}; the closest recorded {operation} there differs in {}{more}",
                scope_name(scope),
                fields.join("; ")
            )
        }
        None => {
            let others: Vec<String> = scopes.iter().map(|(s, _)| scope_name(s)).collect();
            match others.is_empty() {
                true => format!("the cassette holds no {operation} at all"),
                false => format!(
                    "it was never recorded: {} holds no {operation}, {} do",
                    scope_name(scope),
                    list(&others)
                ),
            }
        }
    }
}

/// `scope NAME`, or `the default scope`.
fn scope_name(scope: &Scope) -> String {
    match scope.name() {
        Some(name) => format!("scope {name}"),
        None => "the default scope".to_owned(),
    }
}

/// At most three names, then how many more.
fn list(names: &[String]) -> String {
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

/// The recorded request nearest to `sent` (fewest differing fields): its first differing
/// fields, described, and how many differ in all.
fn closest(
    candidates: &[crate::store::Recorded],
    sent: &Value,
    keyed: &dyn Fn(&Value) -> Value,
) -> Option<(Vec<String>, usize)> {
    let sent_leaves = leaves(&keyed(sent));
    let mut best: Option<(usize, BTreeMap<String, Value>)> = None;
    for candidate in candidates.iter().take(MAX_CANDIDATES) {
        let Ok(body) = crate::keying::json::parse(candidate.body.as_bytes()) else {
            continue;
        };
        let recorded = leaves(&keyed(&body));
        let differing = differing(&recorded, &sent_leaves).count();
        if best.as_ref().is_none_or(|(n, _)| differing < *n) {
            best = Some((differing, recorded));
        }
    }
    let (total, recorded) = best?;
    let fields = differing(&recorded, &sent_leaves)
        .take(MAX_FIELDS)
        .map(|path| {
            let shown_path: String = match path.chars().count() > MAX_PATH {
                true => format!("{}…", path.chars().take(MAX_PATH).collect::<String>()),
                false => path.clone(),
            };
            format!(
                "{shown_path}: {} recorded, {} sent",
                shown(recorded.get(path)),
                shown(sent_leaves.get(path))
            )
        })
        .collect();
    Some((fields, total))
}

/// The paths whose values differ between two flattened bodies, in order.
fn differing<'a>(
    a: &'a BTreeMap<String, Value>,
    b: &'a BTreeMap<String, Value>,
) -> impl Iterator<Item = &'a String> {
    let only_b = b.keys().filter(|k| !a.contains_key(*k));
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .chain(only_b)
}

/// A value as a message shows it: JSON, cut short; `absent` when the field is not there.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "absent".to_owned(),
        Some(v) => short_body(v, MAX_VALUE),
    }
}

/// Every leaf of a body by its path (`Filter`, `AuthParameters.USERNAME`, `Attributes[0].Value`);
/// an empty object or array is a leaf.
fn leaves(body: &Value) -> BTreeMap<String, Value> {
    fn walk(path: String, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let p = match path.is_empty() {
                        true => k.clone(),
                        false => format!("{path}.{k}"),
                    };
                    walk(p, v, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{path}[{i}]"), v, out);
                }
            }
            _ => {
                out.insert(path, value.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(String::new(), body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_closest_request_names_the_fields_that_differ() {
        let recorded = |body: Value| crate::store::Recorded {
            body: body.to_string().into(),
            digest: [0; 32],
        };
        let candidates = [
            recorded(json!({"UserPoolId": "p", "Filter": "email ^= \"a\"", "Limit": 7})),
            recorded(json!({"UserPoolId": "q", "Limit": 2})),
        ];
        let sent = json!({"UserPoolId": "p", "Filter": "email ^= \"b\"", "Limit": 7});
        let same = |v: &Value| v.clone();
        let (fields, total) = closest(&candidates, &sent, &same).unwrap();
        assert_eq!(total, 1);
        assert_eq!(
            fields,
            [r#"Filter: "email ^= \"a\"" recorded, "email ^= \"b\"" sent"#]
        );
        let sent = json!({"UserPoolId": "p", "Attributes": [{"Name": "x"}]});
        let (fields, total) = closest(&candidates, &sent, &same).unwrap();
        assert_eq!(total, 3, "{fields:?}");
        assert!(fields.contains(&r#"Attributes[0].Name: absent recorded, "x" sent"#.to_owned()));
        assert!(closest(&[], &sent, &same).is_none());
        // Compared as keyed: a field the rules leave out of keys is not a difference.
        let ignored = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("Filter");
            v
        };
        let sent = json!({"UserPoolId": "p", "Filter": "anything", "Limit": 7});
        assert_eq!(closest(&candidates, &sent, &ignored).unwrap().1, 0);
    }
}
