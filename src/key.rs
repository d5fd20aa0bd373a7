//! The request key: operation + SHA-256 of the canonical body + occurrence number.
//!
//! Canonical JSON: object keys sorted, no insignificant whitespace, strings escaped the one way
//! serde_json writes them, numbers kept exactly as written (serde_json's `arbitrary_precision`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The part of a request key that does not depend on order: the operation and the body digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub operation: String,
    pub digest: [u8; 32],
}

impl RequestKey {
    pub fn new(operation: &str, body: &Value) -> Self {
        let digest = Sha256::digest(canonical(body)).into();
        RequestKey {
            operation: operation.to_owned(),
            digest,
        }
    }

    /// The key of a stored (redacted) request body under the keying rules in force.
    pub fn of(operation: &str, body: &Value, rules: &crate::normalize::Rules) -> Self {
        RequestKey::new(operation, &rules.key_body(operation, body))
    }

    /// Short hex form for messages and logs.
    pub fn short_hash(&self) -> String {
        hex(&self.digest[..6])
    }
}

/// Canonical bytes of a JSON value. Written by hand rather than trusting the map order of
/// `serde_json::Map`, which a dependency enabling `preserve_order` would silently change.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

/// A short, single-line form of a body for error messages: canonical JSON cut at `max` chars.
pub fn short_body(body: &Value, max: usize) -> String {
    let text = String::from_utf8_lossy(&canonical(body)).into_owned();
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        crate::json::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a = parse(r#"{"UserPoolId":"us-east-1_A","Limit":7}"#);
        let b = parse("{ \"Limit\" : 7,\n \"UserPoolId\": \"us-east-1_A\" }");
        assert_eq!(
            RequestKey::new("ListUsers", &a),
            RequestKey::new("ListUsers", &b)
        );
        assert_eq!(canonical(&a), br#"{"Limit":7,"UserPoolId":"us-east-1_A"}"#);
    }

    #[test]
    fn nested_objects_are_sorted_too() {
        let v = parse(r#"{"b":{"z":1,"a":[{"y":2,"x":3}]},"a":null}"#);
        assert_eq!(
            canonical(&v),
            br#"{"a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn numbers_keep_their_text() {
        let v = parse(r#"{"d":1.682955829578E9,"n":1.0,"i":10}"#);
        assert_eq!(canonical(&v), br#"{"d":1.682955829578E9,"i":10,"n":1.0}"#);
        // 1.0 and 1 are different request bodies: the key keeps numbers as written.
        assert_ne!(
            RequestKey::new("X", &parse(r#"{"n":1.0}"#)),
            RequestKey::new("X", &parse(r#"{"n":1}"#))
        );
    }

    #[test]
    fn string_escapes_are_canonical() {
        let a = parse(r#"{"s":"\u0041\/b"}"#);
        let b = parse(r#"{"s":"A/b"}"#);
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn operation_is_part_of_the_key() {
        let v = parse("{}");
        assert_ne!(
            RequestKey::new("ListUsers", &v),
            RequestKey::new("ListGroups", &v)
        );
    }

    #[test]
    fn short_body_is_cut() {
        let v = parse(r#"{"Filter":"email ^= \"averyveryverylongprefix\""}"#);
        let s = short_body(&v, 20);
        assert!(s.ends_with('…'));
        assert_eq!(s.chars().count(), 21);
    }
}
