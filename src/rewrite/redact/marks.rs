//! What a stored value is, if it is one of ours: a placeholder or a redacted value (what
//! `show` marks, and what `diff` and `lint` tell from real values).

use serde_json::Value;

use super::placeholder::{is_credentials_placeholder, is_secret_code_placeholder};
use super::REDACTED_PREFIX;
use crate::jwt::{is_placeholder_jwt, PLACEHOLDER_PREFIX};

/// How a stored value was rewritten (what `show` marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Placeholder,
    Redacted,
}

/// The kind of stored value, if it is one of ours.
pub fn mark_of(value: &str) -> Option<Mark> {
    if value.starts_with(REDACTED_PREFIX) {
        Some(Mark::Redacted)
    } else if value.starts_with(PLACEHOLDER_PREFIX)
        || is_secret_code_placeholder(value)
        || is_credentials_placeholder(value)
        || is_placeholder_jwt(value)
    {
        Some(Mark::Placeholder)
    } else {
        None
    }
}

/// Every placeholder and redacted value in a body, by path (`AuthenticationResult.AccessToken`).
pub fn marks(body: &Value) -> Vec<(String, Mark)> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Mark)>) {
        match v {
            Value::String(s) => {
                if let Some(m) = mark_of(s) {
                    out.push((path.join("."), m));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    path.push(k.clone());
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut Vec::new(), &mut out);
    out
}
