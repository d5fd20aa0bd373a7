//! JWTs as the proxy reads and rewrites them: the three parts, claims, and the placeholder JWT
//! (its signature a placeholder; once the proxy signed it, its header names that placeholder).
//! Redaction makes placeholder JWTs, replay signs them, and both read them back: one module
//! below both.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

/// What every placeholder the proxy stores starts with (a placeholder JWT: its signature).
pub const PLACEHOLDER_PREFIX: &str = "cognito-vcr-placeholder-";
/// The header member of a signed token that holds its placeholder.
pub(crate) const PLACEHOLDER_HEADER: &str = "x-cognito-vcr";

/// The three parts of a JWT (`None` for any other number of parts).
pub(crate) fn jwt_parts(token: &str) -> Option<[&str; 3]> {
    let mut parts = token.split('.');
    let three = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(three)
}

/// A base64url JWT part as JSON (numbers kept as written).
pub(crate) fn decode_part(part: &str) -> Option<Value> {
    crate::keying::json::parse(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// Set each of `claims` that `map` holds already (a token keeps the claims it has).
pub(crate) fn set_present_claims(map: &mut Map<String, Value>, claims: &[(&str, i64)]) {
    for (name, value) in claims {
        if map.contains_key(*name) {
            map.insert((*name).to_owned(), Value::from(*value));
        }
    }
}

/// A placeholder JWT as stored: its last part (the signature) is a placeholder.
pub(crate) fn is_placeholder_jwt(value: &str) -> bool {
    value
        .rsplit('.')
        .next()
        .is_some_and(|sig| sig.starts_with(PLACEHOLDER_PREFIX))
}

/// The placeholder of a token this proxy (or another reading the same key) signed.
pub fn placeholder_of(token: &str) -> Option<String> {
    let [header, _, _] = jwt_parts(token)?;
    if header.len() < 40 {
        return None;
    }
    let header = decode_part(header)?;
    let placeholder = header.get(PLACEHOLDER_HEADER)?.as_str()?;
    is_placeholder_jwt(placeholder).then(|| placeholder.to_owned())
}
