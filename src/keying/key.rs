//! The request key: scope + operation + SHA-256 of the canonical body, and the occurrence number.

use serde_json::Value;

use super::canonical::digest;
use super::rules::Rules;
use super::scope::Scope;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// The part of a request key that does not depend on order: the scope, the operation and the
/// body digest.
///
/// The operation is shared (`Arc<str>`): on the replay hot path the key, the parsed request and
/// the log line all name it without a copy each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub scope: Scope,
    pub operation: Arc<str>,
    pub digest: [u8; 32],
}

impl RequestKey {
    pub fn new(operation: &str, body: &Value) -> Self {
        RequestKey {
            scope: Scope::default(),
            operation: operation.into(),
            digest: digest(body),
        }
    }

    /// The key of a body already in canonical form.
    pub fn of_canonical(operation: &str, canonical: &[u8]) -> Self {
        RequestKey {
            scope: Scope::default(),
            operation: operation.into(),
            digest: Sha256::digest(canonical).into(),
        }
    }

    /// The scope and the operation as one name: the operation alone in the default scope,
    /// `scope 0x1F operation` in a named one. How the store and key sets tell scopes apart
    /// (a store written before scopes existed holds default-scope names only).
    pub fn qualified_operation(&self) -> std::borrow::Cow<'_, str> {
        qualified(&self.scope, &self.operation)
    }

    /// The same request in `scope`.
    pub fn in_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The key of a stored (redacted) request body under the keying rules in force.
    pub fn of(operation: &str, body: &Value, rules: &Rules) -> Self {
        RequestKey::keyed(operation.into(), body, rules)
    }

    /// [`RequestKey::of`] for an operation name already shared.
    pub fn keyed(operation: Arc<str>, body: &Value, rules: &Rules) -> Self {
        let digest = rules.key_digest(&operation, body);
        RequestKey {
            scope: Scope::default(),
            operation,
            digest,
        }
    }
}

/// Between a scope and an operation in a qualified operation name (never in either).
pub const SCOPE_SEPARATOR: char = '\u{1f}';

/// `operation` in `scope` as the store names it: `operation`, or `scope 0x1F operation`.
pub fn qualified<'a>(scope: &Scope, operation: &'a str) -> std::borrow::Cow<'a, str> {
    match scope.name() {
        None => std::borrow::Cow::Borrowed(operation),
        Some(scope) => std::borrow::Cow::Owned(format!("{scope}{SCOPE_SEPARATOR}{operation}")),
    }
}

/// A qualified operation name (see [`RequestKey::qualified_operation`]) as (scope, operation);
/// `None` when the scope part is not a scope name.
pub fn split_qualified(name: &str) -> Option<(Scope, &str)> {
    match name.split_once(SCOPE_SEPARATOR) {
        None => Some((Scope::default(), name)),
        Some((scope, operation)) => Some((Scope::named(scope).ok()?, operation)),
    }
}

/// Hashing a key for an in-memory map: the body digest is already uniformly random, so its first
/// eight bytes are the hash (no SipHash over the operation and 32 bytes on every lookup), mixed
/// with the scope's name when there is one. Keys that differ only by operation collide here and
/// are told apart by `Eq`.
impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.digest[..8]);
        let mut h = u64::from_ne_bytes(first);
        if let Some(name) = self.scope.name() {
            // FNV-1a over the name: a few nanoseconds, and only for scoped keys.
            let mut s: u64 = 0xcbf2_9ce4_8422_2325;
            for b in name.bytes() {
                s = (s ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            h ^= s;
        }
        state.write_u64(h);
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

    /// Every entry as (operation, digest, occurrence), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8; 32], u32)> {
        self.entries.iter().map(|(digest, occurrence, op)| {
            (self.names[*op as usize].as_str(), digest, *occurrence)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::canonical::canonical;

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
    fn operation_is_part_of_the_key() {
        let v = parse("{}");
        assert_ne!(
            RequestKey::new("ListUsers", &v),
            RequestKey::new("ListGroups", &v)
        );
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
