//! JSON parsing that keeps every number exactly as written, and what JSON text tells without
//! parsing it.
//!
//! serde_json's `arbitrary_precision` keeps number text, except that it rewrites exponents
//! (`1.682955829578E9` becomes `1.682955829578e+9`). Cognito writes dates in exactly that form,
//! so after parsing we put the original spellings back: the text is scanned once for numbers
//! with an exponent (most bodies have none, and then nothing more is done).

use serde_json::{Number, Value};
use std::collections::HashMap;

/// Whether the JSON text `raw` may spell a member name otherwise than as it reads: the names
/// the rewrite stages look for hold only letters, digits, `_` and `:`, which JSON can write
/// otherwise only with a `\u` escape. Without one, a name not found in the bytes is in no member.
pub fn may_escape_names(raw: &[u8]) -> bool {
    memchr::memmem::find(raw, b"\\u").is_some()
}

/// Whether the JSON text `raw` may spell a string otherwise than as it reads: without a
/// backslash every string is written as it is, so a value not found in the bytes is in no string.
pub fn may_escape_strings(raw: &[u8]) -> bool {
    memchr::memchr(b'\\', raw).is_some()
}

/// Parse JSON, keeping number text as written.
pub fn parse(text: &[u8]) -> serde_json::Result<Value> {
    let mut value: Value = serde_json::from_slice(text)?;
    let spellings = exponent_spellings(text);
    if !spellings.is_empty() {
        restore(&mut value, &spellings);
    }
    Ok(value)
}

/// For each number with an exponent in `text`: serde_json's spelling → the original one.
/// A normalized form with two different originals in one text maps to `None` (left as is).
pub fn exponent_spellings(text: &[u8]) -> HashMap<String, Option<String>> {
    let mut out: HashMap<String, Option<String>> = HashMap::new();
    let mut i = 0;
    let mut in_string = false;
    while i < text.len() {
        let b = text[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len()
                    && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let literal = &text[start..i];
                if let Some(normalized) = normalize_exponent(literal) {
                    let original = String::from_utf8_lossy(literal).into_owned();
                    if normalized != original {
                        out.entry(normalized)
                            .and_modify(|seen| {
                                if seen.as_deref() != Some(original.as_str()) {
                                    *seen = None;
                                }
                            })
                            .or_insert(Some(original));
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// How serde_json spells a number with an exponent: `e`, then always a sign.
fn normalize_exponent(literal: &[u8]) -> Option<String> {
    let e = literal.iter().position(|&b| b == b'e' || b == b'E')?;
    let (mantissa, rest) = (&literal[..e], &literal[e + 1..]);
    let (sign, digits) = match rest.first() {
        Some(b'+') => ("+", &rest[1..]),
        Some(b'-') => ("-", &rest[1..]),
        _ => ("+", rest),
    };
    Some(format!(
        "{}e{sign}{}",
        String::from_utf8_lossy(mantissa),
        String::from_utf8_lossy(digits)
    ))
}

/// Put original spellings back into a parsed value.
pub fn restore(value: &mut Value, spellings: &HashMap<String, Option<String>>) {
    match value {
        Value::Number(n) => {
            if let Some(Some(original)) = spellings.get(n.as_str()) {
                // The only way to give serde_json a number's text without re-normalizing it.
                *n = Number::from_string_unchecked(original.clone());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| restore(v, spellings)),
        Value::Object(map) => map.values_mut().for_each(|v| restore(v, spellings)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_keep_their_spelling() {
        let text =
            br#"{"a":1.682955829578E9,"b":[1e-05,2E+3],"c":"1E9 in a string","d":10,"e":1.50}"#;
        let v = parse(text).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":1.682955829578E9,"b":[1e-05,2E+3],"c":"1E9 in a string","d":10,"e":1.50}"#
        );
    }

    #[test]
    fn ambiguous_spellings_are_left_alone() {
        let v = parse(br#"[1E9, 1e9]"#).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1e+9,1e+9]");
    }

    #[test]
    fn escaped_quotes_do_not_confuse_the_scan() {
        let v = parse(br#"{"s":"a\"1E9","n":3E2}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"n":3E2,"s":"a\"1E9"}"#
        );
    }
}
