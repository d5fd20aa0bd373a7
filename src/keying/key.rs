//! The request key: operation + SHA-256 of the canonical body + occurrence number.
//!
//! Canonical JSON: object keys sorted, no insignificant whitespace, strings escaped the one way
//! serde_json writes them, numbers kept exactly as written (serde_json's `arbitrary_precision`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// The part of a request key that does not depend on order: the operation and the body digest.
///
/// The operation is shared (`Arc<str>`): on the replay hot path the key, the parsed request and
/// the log line all name it without a copy each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub operation: Arc<str>,
    pub digest: [u8; 32],
}

impl RequestKey {
    pub fn new(operation: &str, body: &Value) -> Self {
        RequestKey {
            operation: operation.into(),
            digest: digest(body),
        }
    }

    /// The key of a body already in canonical form.
    pub fn of_canonical(operation: &str, canonical: &[u8]) -> Self {
        RequestKey {
            operation: operation.into(),
            digest: Sha256::digest(canonical).into(),
        }
    }

    /// The key of a stored (redacted) request body under the keying rules in force.
    pub fn of(operation: &str, body: &Value, rules: &crate::keying::rules::Rules) -> Self {
        RequestKey::keyed(operation.into(), body, rules)
    }

    /// [`RequestKey::of`] for an operation name already shared.
    pub fn keyed(operation: Arc<str>, body: &Value, rules: &crate::keying::rules::Rules) -> Self {
        let digest = rules.key_digest(&operation, body);
        RequestKey { operation, digest }
    }

    /// Short hex form for messages and logs.
    pub fn short_hash(&self) -> String {
        hex(&self.digest[..6])
    }
}

/// Hashing a key for an in-memory map: the body digest is already uniformly random, so its first
/// eight bytes are the hash (no SipHash over the operation and 32 bytes on every lookup). Keys
/// that differ only by operation collide here and are told apart by `Eq`.
impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.digest[..8]);
        state.write_u64(u64::from_ne_bytes(first));
    }
}

/// The hasher of [`KeyMap`]: passes [`RequestKey`]'s hash through unchanged.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is expected; anything else still hashes, just not as fast.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map by request key, hashed by digest.
pub type KeyMap<V> = HashMap<RequestKey, V, BuildHasherDefault<DigestHasher>>;

/// SHA-256 of the canonical bytes of a JSON value.
pub fn digest(value: &Value) -> [u8; 32] {
    digest_without(value, |_, _| false)
}

/// [`digest`] of an object less the top-level members `skip` selects, without copying it.
pub fn digest_without(value: &Value, skip: impl Fn(&str, &Value) -> bool) -> [u8; 32] {
    let mut out = Vec::with_capacity(128);
    match value {
        Value::Object(map) => write_object(map, &skip, &mut out),
        other => write_canonical(other, &mut out),
    }
    Sha256::digest(&out).into()
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
        Value::Object(map) => write_object(map, &|_, _| false, out),
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

fn write_object(
    map: &serde_json::Map<String, Value>,
    skip: &dyn Fn(&str, &Value) -> bool,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let mut first = true;
    let mut member = |k: &String, v: &Value, out: &mut Vec<u8>| {
        if skip(k, v) {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, k).expect("writing to a Vec cannot fail");
        out.push(b':');
        write_canonical(v, out);
    };
    // serde_json's default map is sorted already: then no list to sort (an allocation per object
    // on the replay hot path). With `preserve_order` on, members are sorted here.
    if map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b) {
        for (k, v) in map {
            member(k, v, out);
        }
    } else {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (k, v) in entries {
            member(k, v, out);
        }
    }
    out.push(b'}');
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
        crate::keying::json::parse(s.as_bytes()).unwrap()
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
    fn skipping_members_is_the_digest_of_the_body_without_them() {
        let v = parse(r#"{"Limit":60,"UserPoolId":"p","Filter":"x"}"#);
        let without = parse(r#"{"UserPoolId":"p","Filter":"x"}"#);
        assert_eq!(digest_without(&v, |k, _| k == "Limit"), digest(&without));
        assert_eq!(digest(&v), <[u8; 32]>::from(Sha256::digest(canonical(&v))));
    }

    #[test]
    fn keys_differing_only_by_operation_are_different_map_entries() {
        let v = parse("{}");
        let mut map = KeyMap::default();
        map.insert(RequestKey::new("ListUsers", &v), 1);
        map.insert(RequestKey::new("ListGroups", &v), 2);
        assert_eq!(map[&RequestKey::new("ListUsers", &v)], 1);
        assert_eq!(map[&RequestKey::new("ListGroups", &v)], 2);
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
