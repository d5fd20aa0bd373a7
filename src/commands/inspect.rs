//! What `ls` and `show` print about a cassette: pure functions from interactions to text.

use crate::cassette::dates::{self, Dates};
use crate::cassette::{Interaction, Scope};
use crate::keying::canonical::short_body;
use crate::rewrite::redact::Mark;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line per operation: interactions, distinct requests, answers by status; grouped by scope
/// when the cassette has named scopes; when each scope was recorded and how long ago (on
/// `today`, days since 1970).
pub fn list(interactions: &[Interaction], dates: &Dates, today: i64) -> String {
    let scopes: BTreeMap<&Scope, Vec<&Interaction>> =
        interactions.iter().fold(BTreeMap::new(), |mut by, i| {
            by.entry(&i.scope).or_default().push(i);
            by
        });
    let recorded = |scope: &Scope| {
        let key = dates::key(scope);
        match (dates.get(&key), dates::age(dates, &key, today)) {
            (Some(r), Some(days)) => format!("recorded {}, {days} days ago", r.recorded),
            (Some(r), None) => format!("recorded {}, a date in the future", r.recorded),
            (None, _) => "recording date unknown".to_owned(),
        }
    };
    if scopes.keys().all(|s| s.is_default()) {
        let mut out = format!("{}\n", recorded(&Scope::default()));
        out.push_str(&list_scope(interactions.iter()));
        return out;
    }
    let mut out = String::new();
    for (scope, of_scope) in &scopes {
        let _ = writeln!(out, "scope {scope} ({})", recorded(scope));
        out.push_str(&list_scope(of_scope.iter().copied()));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} interactions in {} scopes",
        interactions.len(),
        scopes.len()
    );
    out
}

fn list_scope<'a>(interactions: impl Iterator<Item = &'a Interaction>) -> String {
    #[derive(Default)]
    struct Row {
        interactions: usize,
        distinct: usize,
        ok: usize,
        errors: BTreeMap<String, usize>,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    let mut total = 0;
    for i in interactions {
        total += 1;
        let row = rows.entry(&i.operation).or_default();
        row.interactions += 1;
        if i.occurrence == 1 {
            row.distinct += 1;
        }
        match i.response.error_type() {
            None => row.ok += 1,
            Some(t) => *row.errors.entry(t).or_default() += 1,
        }
    }
    let width = rows.keys().map(|k| k.len()).max().unwrap_or(9).max(9);
    let mut out = format!("{:width$}  interactions  requests  answers\n", "operation");
    for (op, row) in &rows {
        let mut answers = format!("{} ok", row.ok);
        for (t, n) in &row.errors {
            let _ = write!(answers, ", {n} {t}");
        }
        let _ = writeln!(
            out,
            "{op:width$}  {:>12}  {:>8}  {answers}",
            row.interactions, row.distinct
        );
    }
    let _ = writeln!(out, "{total} interactions, {} operations", rows.len());
    out
}

/// Each interaction (optionally of one operation): request and a summary of the answer.
pub fn show(interactions: &[Interaction], operation: Option<&str>) -> String {
    let mut out = String::new();
    for i in interactions
        .iter()
        .filter(|i| operation.is_none_or(|op| op == i.operation))
    {
        if let Some(scope) = i.scope.name() {
            let _ = write!(out, "[{scope}] ");
        }
        let _ = writeln!(
            out,
            "{} #{} -> {}",
            i.operation, i.occurrence, i.response.status
        );
        let _ = writeln!(out, "  request:  {}", short_body(&i.request, 300));
        let _ = writeln!(out, "  response: {}", answer_summary(&i.response.body));
        let answer = crate::keying::json::parse(&i.response.body).unwrap_or(Value::Null);
        for (side, body) in [("request", &i.request), ("response", &answer)] {
            for (path, mark) in crate::rewrite::redact::marks(body) {
                let what = match mark {
                    Mark::Placeholder => "placeholder",
                    Mark::Redacted => "redacted",
                };
                let _ = writeln!(out, "  {what}: {side} {path}");
            }
        }
    }
    out
}

/// `Users[7], PaginationToken` or `UserNotFoundException: User does not exist.`
fn answer_summary(body: &[u8]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return format!("{} bytes, not a JSON object", body.len());
    };
    if let Some(t) = map.get("__type").and_then(Value::as_str) {
        let message = map
            .get("message")
            .or(map.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return format!("{}: {message}", crate::cognito::wire::clean_error_type(t));
    }
    if map.is_empty() {
        return "{}".into();
    }
    map.iter()
        .map(|(k, v)| match v {
            Value::Array(items) => format!("{k}[{}]", items.len()),
            _ => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::wire::Response;
    use bytes::Bytes;
    use serde_json::json;

    fn i(op: &str, occ: u32, status: u16, body: &'static str) -> Interaction {
        Interaction {
            scope: Default::default(),
            operation: op.into(),
            occurrence: occ,
            request: json!({"UserPoolId": "p"}),
            response: Response {
                status,
                headers: vec![],
                body: Bytes::from_static(body.as_bytes()),
            },
        }
    }

    #[test]
    fn list_counts_per_operation() {
        let v = [
            i("ListUsers", 1, 200, r#"{"Users":[]}"#),
            i("ListUsers", 2, 200, r#"{"Users":[]}"#),
            i(
                "AdminGetUser",
                1,
                400,
                r#"{"__type":"UserNotFoundException","message":"nope"}"#,
            ),
        ];
        let text = list(&v, &Dates::new(), 0);
        assert!(text.starts_with("recording date unknown\n"), "{text}");
        assert!(
            text.contains("AdminGetUser             1         1  0 ok, 1 UserNotFoundException"),
            "{text}"
        );
        assert!(
            text.contains("ListUsers                2         1  2 ok"),
            "{text}"
        );
        assert!(text.ends_with("3 interactions, 2 operations\n"));
    }

    #[test]
    fn list_and_show_group_by_scope() {
        let mut scoped = i("ListUsers", 1, 200, r#"{"Users":[]}"#);
        scoped.scope = Scope::named("test_a").unwrap();
        let v = [i("ListUsers", 1, 200, r#"{"Users":[]}"#), scoped];
        let mut dates = Dates::new();
        let on = |d: &str| dates::Recorded { recorded: d.into() };
        dates.insert("".into(), on("2026-12-01"));
        dates.insert("test_a".into(), on("2026-09-07"));
        let text = list(&v, &dates, dates::parse("2026-12-06").unwrap());
        assert!(
            text.starts_with("scope (default) (recorded 2026-12-01, 5 days ago)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nscope test_a (recorded 2026-09-07, 90 days ago)\n"),
            "{text}"
        );
        assert!(text.ends_with("2 interactions in 2 scopes\n"), "{text}");
        let shown = show(&v, None);
        assert!(shown.starts_with("ListUsers #1 -> 200\n"), "{shown}");
        assert!(
            shown.contains("\n[test_a] ListUsers #1 -> 200\n"),
            "{shown}"
        );
    }

    #[test]
    fn show_summarises_answers() {
        let v = [
            i(
                "ListUsers",
                1,
                200,
                r#"{"Users":[1,2],"PaginationToken":"t"}"#,
            ),
            i(
                "AdminGetUser",
                1,
                400,
                r#"{"__type":"UserNotFoundException","message":"nope"}"#,
            ),
        ];
        let text = show(&v, Some("ListUsers"));
        assert!(text.contains("ListUsers #1 -> 200"));
        assert!(
            text.contains("response: PaginationToken, Users[2]"),
            "{text}"
        );
        assert!(!text.contains("AdminGetUser"));
        assert!(show(&v, None).contains("UserNotFoundException: nope"));
        let mut login = i(
            "InitiateAuth",
            1,
            200,
            r#"{"Session":"cognito-vcr-placeholder-Session-00"}"#,
        );
        login.request =
            json!({"AuthParameters": {"USERNAME": "a", "PASSWORD": "cognito-vcr-redacted-00"}});
        let text = show(&[login], None);
        assert!(
            text.contains("  redacted: request AuthParameters.PASSWORD\n"),
            "{text}"
        );
        assert!(text.contains("  placeholder: response Session\n"), "{text}");
    }
}
