//! How a diff reads: a change log grouped by operation (text, coloured on a terminal only), or a
//! documented, stable JSON document.
//!
//! JSON schema (version 1; `scope` is present on changes in a named scope only):
//! ```json
//! { "format": "cognito-vcr-diff", "version": 1, "equal": false,
//!   "summary": { "only_in_old": 0, "only_in_new": 0, "changed": 1 },
//!   "skipped": 0,
//!   "changes": [
//!     { "operation": "ListUsers", "occurrence": 1, "context": { "UserPoolId": "us-east-1_X" },
//!       "kind": "items", "items": "Users",
//!       "added": ["alice"], "removed": ["carol"],
//!       "changed": [ { "id": "dave", "fields": [ { "path": "email", "old": "a@x", "new": "b@x" } ] } ] },
//!     { "operation": "AdminGetUser", "occurrence": 1, "context": { ... }, "kind": "answer",
//!       "status": { "old": 200, "new": 400 }, "error_type": { "old": null, "new": "UserNotFoundException" },
//!       "fields": [ ... ] },
//!     { "operation": "GetGroup", "occurrence": 1, "context": { ... }, "kind": "only_in_old" } ] }
//! ```
//! `status` and `error_type` are `null` when unchanged; a field absent on one side is `null`
//! there.

use serde_json::{json, Value};
use std::fmt::Write as _;

use super::{context_label, Change, Entry, FieldChange, Report};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// The change log; `color` adds ANSI colours (for a terminal).
pub fn text(report: &Report, color: bool) -> String {
    let paint = |c: &str, s: String| if color { format!("{c}{s}{RESET}") } else { s };
    let mut out = String::new();
    for e in &report.entries {
        if let Some(scope) = &e.scope {
            let _ = write!(out, "[{scope}] ");
        }
        let _ = write!(out, "{}", e.operation);
        let label = label(e);
        if !label.is_empty() {
            let _ = write!(out, " ({label})");
        }
        if e.occurrence > 1 {
            let _ = write!(out, " #{}", e.occurrence);
        }
        out.push_str(": ");
        match &e.change {
            Change::OnlyInOld => out.push_str(&paint(RED, "only in OLD".into())),
            Change::OnlyInNew => out.push_str(&paint(GREEN, "only in NEW".into())),
            Change::Items {
                items,
                added,
                removed,
                changed,
            } => {
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(paint(
                        GREEN,
                        format!("+{} ({})", count(added.len(), items), added.join(", ")),
                    ));
                }
                if !removed.is_empty() {
                    parts.push(paint(
                        RED,
                        format!(
                            "\u{2212}{} ({})",
                            count(removed.len(), items),
                            removed.join(", ")
                        ),
                    ));
                }
                if !changed.is_empty() {
                    let what: Vec<String> = changed
                        .iter()
                        .map(|(id, fields)| format!("{id} {}", fields_text(fields)))
                        .collect();
                    parts.push(paint(
                        YELLOW,
                        format!("{} changed: {}", changed.len(), what.join("; ")),
                    ));
                }
                out.push_str(&parts.join(", "));
            }
            Change::Answer {
                status,
                error_type,
                fields,
            } => {
                let mut parts = Vec::new();
                if let Some((a, b)) = status {
                    parts.push(format!("status {a} \u{2192} {b}"));
                }
                if let Some((a, b)) = error_type {
                    let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "none".into());
                    parts.push(format!("error {} \u{2192} {}", show(a), show(b)));
                }
                if !fields.is_empty() {
                    parts.push(fields_text(fields));
                }
                out.push_str(&paint(YELLOW, parts.join(", ")));
            }
        }
        out.push('\n');
    }
    let n = report.entries.len();
    if n == 0 {
        out.push_str("no differences\n");
    } else {
        let _ = writeln!(out, "{n} difference{}", if n == 1 { "" } else { "s" });
    }
    if report.skipped > 0 {
        let _ = writeln!(out, "{} recorded read-only requests not re-sent (they carry placeholders or redacted values)", report.skipped);
    }
    out
}

fn label(e: &Entry) -> String {
    let mut label = context_label(&e.context);
    if e.operation == "ListUsers" && !e.context.contains_key("Filter") {
        if !label.is_empty() {
            label.push_str(", ");
        }
        label.push_str("filter none");
    }
    label
}

/// `2 users`, `1 pool`.
fn count(n: usize, items: &str) -> String {
    let noun = match items {
        "UserPools" => "pool",
        "UserPoolClients" => "client",
        "UserImportJobs" => "import job",
        "ResourceServers" => "resource server",
        "AuthEvents" => "auth event",
        other => other.strip_suffix('s').unwrap_or(other),
    }
    .to_ascii_lowercase();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn fields_text(fields: &[FieldChange]) -> String {
    fields
        .iter()
        .map(|f| {
            format!(
                "{} {} \u{2192} {}",
                f.path,
                value_text(&f.old),
                value_text(&f.new)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let s = other.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// The JSON document (schema above).
pub fn json(report: &Report) -> Value {
    let fields = |fs: &[FieldChange]| -> Value {
        fs.iter()
            .map(|f| json!({"path": f.path, "old": f.old, "new": f.new}))
            .collect()
    };
    let (mut only_old, mut only_new, mut changed_n) = (0, 0, 0);
    let changes: Vec<Value> = report
        .entries
        .iter()
        .map(|e| {
            let mut out =
                json!({"operation": e.operation, "occurrence": e.occurrence, "context": e.context});
            if let Some(scope) = &e.scope {
                out["scope"] = json!(scope);
            }
            match &e.change {
                Change::OnlyInOld => {
                    only_old += 1;
                    out["kind"] = json!("only_in_old");
                }
                Change::OnlyInNew => {
                    only_new += 1;
                    out["kind"] = json!("only_in_new");
                }
                Change::Items {
                    items,
                    added,
                    removed,
                    changed,
                } => {
                    changed_n += 1;
                    out["kind"] = json!("items");
                    out["items"] = json!(items);
                    out["added"] = json!(added);
                    out["removed"] = json!(removed);
                    out["changed"] = changed
                        .iter()
                        .map(|(id, fs)| json!({"id": id, "fields": fields(fs)}))
                        .collect();
                }
                Change::Answer {
                    status,
                    error_type,
                    fields: fs,
                } => {
                    changed_n += 1;
                    out["kind"] = json!("answer");
                    out["status"] =
                        status.map_or(Value::Null, |(a, b)| json!({"old": a, "new": b}));
                    out["error_type"] = error_type
                        .as_ref()
                        .map_or(Value::Null, |(a, b)| json!({"old": a, "new": b}));
                    out["fields"] = fields(fs);
                }
            }
            out
        })
        .collect();
    json!({
        "format": "cognito-vcr-diff",
        "version": 1,
        "equal": report.is_equal(),
        "summary": {"only_in_old": only_old, "only_in_new": only_new, "changed": changed_n},
        "skipped": report.skipped,
        "changes": changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn report() -> Report {
        let mut context = BTreeMap::new();
        context.insert("UserPoolId".to_owned(), json!("us-east-1_X"));
        Report {
            entries: vec![Entry {
                scope: None,
                operation: "ListUsers".into(),
                occurrence: 1,
                context,
                change: Change::Items {
                    items: "Users".into(),
                    added: vec!["alice".into(), "bob".into()],
                    removed: vec!["carol".into()],
                    changed: vec![(
                        "dave".into(),
                        vec![FieldChange {
                            path: "email".into(),
                            old: Some(json!("a@x")),
                            new: Some(json!("b@x")),
                        }],
                    )],
                },
            }],
            skipped: 0,
        }
    }

    #[test]
    fn text_reads_like_a_change_log() {
        assert_eq!(
            text(&report(), false),
            "ListUsers (pool us-east-1_X, filter none): +2 users (alice, bob), \u{2212}1 user (carol), 1 changed: dave email a@x \u{2192} b@x\n1 difference\n"
        );
        assert!(text(&report(), true).contains("\x1b[32m+2 users"));
        assert_eq!(text(&Report::default(), false), "no differences\n");
    }

    #[test]
    fn json_carries_the_same_facts() {
        let v = json(&report());
        assert_eq!(v["equal"], false);
        assert_eq!(v["summary"]["changed"], 1);
        let c = &v["changes"][0];
        assert_eq!(
            (c["kind"].as_str(), c["items"].as_str()),
            (Some("items"), Some("Users"))
        );
        assert_eq!(c["added"], json!(["alice", "bob"]));
        assert_eq!(
            c["changed"][0]["fields"][0],
            json!({"path": "email", "old": "a@x", "new": "b@x"})
        );
    }
}
