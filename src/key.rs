//! The request key: operation + SHA-256 of the canonical body + occurrence number.
//!
//! Canonical JSON: object keys sorted, no insignificant whitespace, strings escaped the one way
//! serde_json writes them, numbers kept exactly as written (serde_json's `arbitrary_precision`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The part of a request key that does not depend on order: the operation and the body digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub operation: String,
    pub digest: [u8; 32],
}

impl RequestKey {
    pub fn new(operation: &str, body: &Value) -> Self {
        RequestKey::of_canonical(operation, &canonical(body))
    }

    /// The key of a body already in canonical form.
    pub fn of_canonical(operation: &str, canonical: &[u8]) -> Self {
        RequestKey {
            operation: operation.to_owned(),
            digest: Sha256::digest(canonical).into(),
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

/// A set of (operation, body digest, occurrence): what a cassette or a store holds once.
/// Compact for sets of a million: an operation name is kept once, an entry is 40 bytes.
#[derive(Debug, Default)]
pub struct KeySet {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    entries: HashSet<([u8; 32], u32, u32)>,
}

impl KeySet {
    /// Add an entry; false if it was there already.
    pub fn insert(&mut self, operation: &str, digest: &[u8; 32], occurrence: u32) -> bool {
        let op = match self.ids.get(operation) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(operation.to_owned());
                self.ids.insert(operation.to_owned(), id);
                id
            }
        };
        self.entries.insert((*digest, occurrence, op))
    }

    /// Take an entry out; false if it was not there.
    pub fn remove(&mut self, operation: &str, digest: &[u8; 32], occurrence: u32) -> bool {
        match self.ids.get(operation) {
            Some(&op) => self.entries.remove(&(*digest, occurrence, op)),
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry as (operation, digest, occurrence), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8; 32], u32)> {
        self.entries.iter().map(|(digest, occurrence, op)| {
            (self.names[*op as usize].as_str(), digest, *occurrence)
        })
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

    #[test]
    fn key_set_tells_operations_and_occurrences_apart() {
        let d = [7u8; 32];
        let mut set = KeySet::default();
        assert!(set.insert("ListUsers", &d, 1));
        assert!(!set.insert("ListUsers", &d, 1));
        assert!(set.insert("ListUsers", &d, 2));
        assert!(set.insert("ListGroups", &d, 1));
        assert_eq!(set.len(), 3);
        assert!(!set.remove("AdminGetUser", &d, 1));
        assert!(set.remove("ListGroups", &d, 1));
        let mut left: Vec<_> = set.iter().map(|(op, _, occ)| (op, occ)).collect();
        left.sort();
        assert_eq!(left, [("ListUsers", 1), ("ListUsers", 2)]);
    }
}
