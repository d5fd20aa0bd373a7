//! Placeholders: the stored form of a handed-out value, derived from the place that handed it
//! out (operation, request key, occurrence, field), in the real value's shape (a JWT with
//! readable claims, a base32 TOTP seed, an AWS key id), and recognised again by that shape.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::jwt::{decode_part, jwt_parts, set_present_claims, PLACEHOLDER_PREFIX};
use crate::keying::canonical::{canonical, hex};
use crate::keying::key::RequestKey;

/// How an access key id placeholder begins: `ASIA` (a temporary key id, as identity pools hand
/// out) then `CVCR`, then 12 derived letters and digits: 20 characters, as a real one.
pub const ACCESS_KEY_PLACEHOLDER_PREFIX: &str = "ASIACVCR";

/// How a secret key placeholder begins; 10 derived hex digits make it 40 characters.
pub const SECRET_KEY_PLACEHOLDER_PREFIX: &str = "CognitoVcrPlaceholderSecretKey";

/// JWT claims that differ on every sign-in, and the values placeholders give them.
const FIXED_CLAIMS: &[(&str, i64)] = &[
    ("iat", 1_700_000_000),
    ("auth_time", 1_700_000_000),
    ("exp", 4_102_444_800),
];
const ID_CLAIMS: &[&str] = &["jti", "origin_jti", "event_id"];

/// An access key id or secret key placeholder ([`ACCESS_KEY_PLACEHOLDER_PREFIX`],
/// [`SECRET_KEY_PLACEHOLDER_PREFIX`]).
pub(super) fn is_credentials_placeholder(value: &str) -> bool {
    let alphanumeric = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    (value.len() == 20
        && value
            .strip_prefix(ACCESS_KEY_PLACEHOLDER_PREFIX)
            .is_some_and(alphanumeric))
        || (value.len() == 40
            && value
                .strip_prefix(SECRET_KEY_PLACEHOLDER_PREFIX)
                .is_some_and(hex))
}

pub(super) fn is_secret_code_placeholder(value: &str) -> bool {
    value.len() == 36
        && value.starts_with("CVCR")
        && value[4..].bytes().all(|b| (b'A'..=b'P').contains(&b))
}

pub(super) fn placeholder_seed(key: &RequestKey, occurrence: u32, field: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key.operation.as_bytes());
    h.update([0]);
    h.update(key.digest);
    h.update(occurrence.to_be_bytes());
    h.update(field.as_bytes());
    h.finalize().into()
}

/// A deterministic value shaped like `real`: each hex digit becomes a hex digit, each other
/// letter or digit one of its kind, punctuation stays (hex stays hex, base64 stays base64).
pub(crate) fn same_shape(real: &str, seed: &[u8; 32]) -> String {
    let mut stream = Vec::new();
    let mut block = 0u32;
    let mut next = || {
        if stream.is_empty() {
            let mut h = Sha256::new();
            h.update(seed);
            h.update(block.to_be_bytes());
            block += 1;
            stream = h.finalize().to_vec();
        }
        stream.pop().unwrap_or(0)
    };
    real.chars()
        .map(|c| {
            let r = next();
            let pick = |set: &[u8]| set[r as usize % set.len()] as char;
            match c {
                '0'..='9' | 'a'..='f' => pick(b"0123456789abcdef"),
                'A'..='F' => pick(b"0123456789ABCDEF"),
                'g'..='z' => pick(b"abcdefghijklmnopqrstuvwxyz"),
                'G'..='Z' => pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                other => other,
            }
        })
        .collect()
}

/// The placeholder of a handed-out value: a JWT keeps its shape and readable claims; a TOTP
/// seed stays base32; anything else becomes `cognito-vcr-placeholder-<field>-<hex>`.
pub(super) fn placeholder(
    field: &str,
    real: &str,
    seed: &[u8; 32],
    claims: &dyn Fn(&mut Value),
) -> String {
    let tag = hex(&seed[..16]);
    if let Some(jwt) = jwt_placeholder(real, &tag, seed, claims) {
        return jwt;
    }
    if field == "AccessKeyId" {
        // Upper-case letters and digits, as a real key id.
        const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let rest: String = seed[..12]
            .iter()
            .map(|b| SET[usize::from(*b) % SET.len()] as char)
            .collect();
        return format!("{ACCESS_KEY_PLACEHOLDER_PREFIX}{rest}");
    }
    if field == "SecretKey" {
        return format!("{SECRET_KEY_PLACEHOLDER_PREFIX}{}", &tag[..10]);
    }
    if field == "SecretCode" {
        // Base32 letters only (A-P), so TOTP libraries still accept it.
        let letters: String = tag
            .bytes()
            .map(|b| (b'A' + (b as char).to_digit(16).unwrap_or(0) as u8) as char)
            .collect();
        return format!("CVCR{letters}");
    }
    format!("{PLACEHOLDER_PREFIX}{field}-{tag}")
}

/// A JWT's placeholder: readable header and claims, with the claims that differ on every sign-in
/// fixed, the identities the session created as their stand-ins (`claims`), the header's key id
/// a stand-in of its shape (a pool the session created has a key of its own), and a placeholder
/// for the signature.
fn jwt_placeholder(
    real: &str,
    tag: &str,
    seed: &[u8; 32],
    rewrite_claims: &dyn Fn(&mut Value),
) -> Option<String> {
    let [header, claims, _signature] = jwt_parts(real)?;
    let mut header = decode_part(header)?;
    if let Some(Value::String(kid)) = header.get_mut("kid") {
        *kid = same_shape(kid, seed);
    }
    let mut claims = decode_part(claims)?;
    rewrite_claims(&mut claims);
    let map = claims.as_object_mut()?;
    set_present_claims(map, FIXED_CLAIMS);
    for (i, name) in ID_CLAIMS.iter().enumerate() {
        if map.contains_key(*name) {
            let t = tag;
            let id = format!(
                "{}-{}-4{}-8{}-{}{i}",
                &t[..8],
                &t[8..12],
                &t[13..16],
                &t[17..20],
                &t[20..31]
            );
            map.insert((*name).to_owned(), Value::String(id));
        }
    }
    // The hash of the access token handed out beside it (OIDC): new with every token; replay
    // puts the hash of the access token it hands out.
    if let Some(Value::String(hash)) = map.get_mut("at_hash") {
        *hash = URL_SAFE_NO_PAD.encode(&seed[16..]);
    }
    Some(format!(
        "{}.{}.{PLACEHOLDER_PREFIX}{tag}",
        URL_SAFE_NO_PAD.encode(canonical(&header)),
        URL_SAFE_NO_PAD.encode(canonical(&claims))
    ))
}
