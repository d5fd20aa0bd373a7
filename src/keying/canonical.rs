//! Canonical JSON and its digest: object keys sorted, no insignificant whitespace, strings escaped
//! the one way serde_json writes them, numbers kept exactly as written (serde_json's
//! `arbitrary_precision`). Imports nothing of the crate.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

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
    fn nested_objects_are_sorted_too() {
        let v = parse(r#"{"b":{"z":1,"a":[{"y":2,"x":3}]},"a":null}"#);
        assert_eq!(
            canonical(&v),
            br#"{"a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn string_escapes_are_canonical() {
        let a = parse(r#"{"s":"\u0041\/b"}"#);
        let b = parse(r#"{"s":"A/b"}"#);
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn skipping_members_is_the_digest_of_the_body_without_them() {
        let v = parse(r#"{"Limit":60,"UserPoolId":"p","Filter":"x"}"#);
        let without = parse(r#"{"UserPoolId":"p","Filter":"x"}"#);
        assert_eq!(digest_without(&v, |k, _| k == "Limit"), digest(&without));
        assert_eq!(digest(&v), <[u8; 32]>::from(Sha256::digest(canonical(&v))));
    }

    #[test]
    fn short_body_is_cut() {
        let v = parse(r#"{"Filter":"email ^= \"averyveryverylongprefix\""}"#);
        let s = short_body(&v, 20);
        assert!(s.ends_with('…'));
        assert_eq!(s.chars().count(), 21);
    }
}
