//! Secrets and placeholders: nothing secret reaches a cassette (or a log) as it came.
//!
//! - Values a response hands out and a later request sends back (`AccessToken`, `IdToken`,
//!   `RefreshToken`, `Session`, `SecretCode`, device keys) are stored as stable placeholders,
//!   derived from the place that handed them out; the proxy remembers real → placeholder while it
//!   runs, so the request that sends the value back is stored (and keyed) with the placeholder.
//!   A JWT stays a JWT: header and claims readable, volatile claims fixed, signature replaced.
//! - Secrets (`Password`, `SECRET_HASH`, `ClientSecret`...) are stored as a slow salted hash
//!   (PBKDF2-HMAC-SHA256): two different passwords still key apart, the text is not in the file.
//!
//! The client always gets the real answer; only the stored copy is rewritten.
//!
//! - `mod.rs`: the [`Redactor`]: the names it acts on, requests and answers as stored
//! - `hash.rs`: secrets as hashes
//! - `placeholder.rs`: handed-out values as placeholders, made and recognised
//! - `marks.rs`: which stored values are ours
//! - `names.rs`: the names it acts on, found in an answer's bytes before it is parsed

mod hash;
mod marks;
mod names;
mod placeholder;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use super::answer::Body;
use crate::jwt::placeholder_of;
use crate::keying::canonical::{canonical, hex};
use crate::keying::key::RequestKey;
use hash::Hashes;
pub use hash::REDACTED_PREFIX;
pub use marks::{mark_of, marks, Mark};
use names::NameFinder;
pub(crate) use placeholder::same_shape;
use placeholder::{placeholder, placeholder_seed};

/// Response fields whose value is handed out to be sent back later; all but device keys are
/// credentials.
pub const HANDED_OUT: &[&str] = &[
    "AccessToken",
    "IdToken",
    "RefreshToken",
    "Session",
    "SecretCode",
    "DeviceKey",
    "DeviceGroupKey",
    // The OAuth2 token endpoint's answer (and userInfo's bearer token, keyed as `access_token`).
    "access_token",
    "id_token",
    "refresh_token",
];

/// Challenge values the server draws at random on every call (SRP): stored as deterministic
/// values of the same shape, so that a re-recording does not churn and clients still parse them.
const SERVER_RANDOM: &[&str] = &["SRP_B", "SALT", "SECRET_BLOCK"];

/// Request fields that send back a handed-out value under another name.
pub(crate) const SENT_BACK: &[&str] = &["REFRESH_TOKEN", "DEVICE_KEY", "Token", "token"];

/// Request maps whose values are tokens handed out by a user pool or another identity provider
/// (identity pools' `Logins`: provider name → id token): each value is stored and keyed as a
/// sent-back `IdToken`, its placeholder when this run or a replay handed it out.
pub(crate) const TOKEN_MAPS: &[&str] = &["Logins"];

/// The AWS credentials an identity pool hands out (GetCredentialsForIdentity's `Credentials`):
/// stored as placeholders of their shape, never as they came, wherever an answer holds them.
pub const AWS_CREDENTIALS: &[&str] = &["AccessKeyId", "SecretKey", "SessionToken"];

/// The identity-pools operations whose answer's `Token` is an OpenId token handed out.
const OPEN_ID_TOKEN_OPERATIONS: &[&str] = &[
    "AWSCognitoIdentityService.GetOpenIdToken",
    "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity",
];

/// The `Expiration` stored for handed-out AWS credentials (2100, as placeholder JWTs' `exp`):
/// in the future whenever a replay hands them out, and the same on every re-recording.
pub const CREDENTIALS_EXPIRATION: i64 = 4_102_444_800;

/// Members whose names look like handed-out values but hold settings (`TokenValidityUnits`:
/// `{"AccessToken": "hours", ...}`): never rewritten, and nothing under them counts as a secret.
const NOT_SECRET_PARENTS: &[&str] = &["TokenValidityUnits"];

/// Handed-out values that identify rather than authenticate: kept as they came when unknown.
const NOT_SECRET: &[&str] = &["DeviceKey", "DeviceGroupKey", "DEVICE_KEY"];

/// Secrets, in requests and responses: stored as a salted hash.
pub const SECRETS: &[&str] = &[
    "Password",
    "PreviousPassword",
    "ProposedPassword",
    "TemporaryPassword",
    "SecretHash",
    "ClientSecret",
    "ClientSecretValue",
    "client_secret",
    "PreSignedUrl",
    "PASSWORD",
    "SECRET_HASH",
    "NEW_PASSWORD",
    "PASSWORD_CLAIM_SIGNATURE",
    // Identity providers' secrets (CreateIdentityProvider / UpdateIdentityProvider).
    "private_key",
    // Answers and one-time codes (CUSTOM_AUTH, MFA, email, confirmation).
    "ANSWER",
    "SMS_MFA_CODE",
    "SOFTWARE_TOKEN_MFA_CODE",
    "EMAIL_OTP_CODE",
    "SMS_OTP_CODE",
    "UserCode",
    "ConfirmationCode",
];

/// Secret values one request may carry: each distinct one costs a slow hash (~10 ms), so a
/// request with hundreds would stall the proxy. Cognito's requests carry a handful.
pub const MAX_SECRETS_PER_REQUEST: usize = 32;

/// The redaction state of one run.
pub struct Redactor {
    secrets: Vec<String>,
    /// Every name [`Redactor::answer`] acts on (handed-out, server-random, secret), searched in
    /// one pass over a recorded answer before it is parsed at all.
    /// `None` when the names are past what aho-corasick builds: then every answer is parsed.
    names_in_answers: Option<NameFinder>,
    /// Real handed-out value → its placeholder.
    placeholders: Mutex<HashMap<String, String>>,
    /// Each secret's hash.
    hashes: Hashes,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(&[])
    }
}

impl Redactor {
    /// A redactor for the default secrets plus `extra` field names.
    pub fn new(extra: &[String]) -> Redactor {
        let mut secrets: Vec<String> = SECRETS.iter().map(|s| s.to_string()).collect();
        secrets.extend(extra.iter().cloned());
        // Case-insensitive, with the words a secret attribute's name may hold.
        let names = HANDED_OUT
            .iter()
            .chain(SERVER_RANDOM)
            .chain(AWS_CREDENTIALS)
            .chain(&["password", "secret"])
            .copied()
            .chain(secrets.iter().map(String::as_str));
        Redactor {
            names_in_answers: NameFinder::new(names),
            secrets,
            placeholders: Mutex::default(),
            hashes: Hashes::default(),
        }
    }

    fn is_secret(&self, field: &str) -> bool {
        self.secrets.iter().any(|s| s == field)
    }

    /// A user attribute whose name is a secret field, or says password or secret
    /// (`custom:password_hint`, `custom:api_secret`).
    fn is_secret_attribute(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.is_secret(name) || lower.contains("password") || lower.contains("secret")
    }

    /// The request as stored and keyed: values sent back replaced by their placeholders,
    /// secrets by their hash.
    pub fn request<'a>(&self, body: &'a Value) -> Cow<'a, Value> {
        if !self.names_any(body) {
            return Cow::Borrowed(body);
        }
        let mut out = body.clone();
        self.rewrite(&mut out, &mut |this, field, value| {
            if mark_of(value).is_some() {
                return None;
            }
            let handed_out = HANDED_OUT.contains(&field) || SENT_BACK.contains(&field);
            // A JWT this proxy signed for a client: keyed as the placeholder it stands for.
            if let Some(placeholder) = handed_out.then(|| placeholder_of(value)).flatten() {
                return Some(placeholder);
            }
            if handed_out {
                if let Some(p) = this
                    .placeholders
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(value)
                {
                    return Some(p.clone());
                }
                if NOT_SECRET.contains(&field) {
                    return None;
                }
            }
            (handed_out || this.is_secret(field)).then(|| this.hash(value))
        });
        Cow::Owned(out)
    }

    /// The answer as stored: handed-out values replaced by placeholders (remembered for the
    /// requests that send them back), secrets by their hash. `None` when nothing changed.
    #[cfg(test)]
    pub fn response(&self, key: &RequestKey, occurrence: u32, body: &[u8]) -> Option<Vec<u8>> {
        let mut body = Body::new(bytes::Bytes::copy_from_slice(body));
        self.answer(key, occurrence, &mut body, &|_| {});
        body.into_stored().map(|b| b.to_vec())
    }

    /// [`Redactor::response`] on an answer's body as it stands, with `claims` applied to the
    /// claims of each placeholder JWT it makes (the identities the session created, as their
    /// stand-ins).
    pub fn answer(
        &self,
        key: &RequestKey,
        occurrence: u32,
        body: &mut Body,
        claims: &dyn Fn(&mut Value),
    ) {
        // `Token` is too common a word to search answers for: only these operations' are tokens.
        let open_id = OPEN_ID_TOKEN_OPERATIONS.contains(&&*key.operation);
        if !open_id && !self.may_hold_secrets(body.bytes()) {
            return;
        }
        if body.json().is_none() {
            // Not JSON, yet it may hold a secret: never stored as it came.
            tracing::warn!(operation = %key.operation, occurrence, "an answer that is not JSON but names a secret field is stored as a hash");
            let digest = Sha256::digest(body.bytes());
            body.replace(format!("{REDACTED_PREFIX}unparsed-{}", hex(&digest[..16])).into_bytes());
            return;
        }
        let answer = body.json().expect("parsed above");
        let mut changed = self.rewrite(answer, &mut |this, field, value| {
            if mark_of(value).is_some() {
                return None;
            }
            let handed_out = HANDED_OUT.contains(&field)
                || AWS_CREDENTIALS.contains(&field)
                || (open_id && field == "Token");
            let replacement = if SERVER_RANDOM.contains(&field) {
                same_shape(value, &placeholder_seed(key, occurrence, field))
            } else if handed_out {
                let seed = placeholder_seed(key, occurrence, field);
                let p = placeholder(field, value, &seed, claims);
                this.placeholders
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(value.to_owned(), p.clone());
                p
            } else if this.is_secret(field) {
                this.hash(value)
            } else {
                return None;
            };
            Some(replacement)
        });
        changed |= fix_credentials_expiration(answer);
        if changed {
            body.set_changed();
        }
    }

    /// The placeholder of a value handed out outside a JSON member (the authorization code of
    /// an OAuth2 redirect), remembered like the others.
    pub fn handed_out(&self, key: &RequestKey, occurrence: u32, field: &str, real: &str) -> String {
        let seed = placeholder_seed(key, occurrence, field);
        let p = placeholder(field, real, &seed, &|_| {});
        self.placeholders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(real.to_owned(), p.clone());
        p
    }

    /// The answer with every secret value the request carried (`sent`, as the client sent it)
    /// hashed wherever it appears, an error message that echoes it included. Values under six
    /// characters are left (they would match by chance).
    pub fn echoes(&self, sent: &Value, body: &mut Body) {
        let mut secrets = Vec::new();
        self.sent_secrets(sent, &mut secrets);
        secrets.retain(|s| s.len() >= 6);
        if secrets.is_empty() {
            return;
        }
        // Without a backslash, a JSON string reads as it is written: a secret in none of them
        // is not in the raw text either, and the answer need not be parsed.
        if let Some(raw) = body.unchanged() {
            let found_raw = |s: &String| memchr::memmem::find(raw, s.as_bytes()).is_some();
            if !crate::keying::json::may_escape_strings(raw) && !secrets.iter().any(found_raw) {
                return;
            }
        }
        // `hash` keeps what it hashed: each secret costs its slow hash once.
        let replace = |text: &str| -> Option<String> {
            let mut out: Option<String> = None;
            for secret in &secrets {
                let current = out.as_deref().unwrap_or(text);
                if current.contains(secret.as_str()) {
                    out = Some(current.replace(secret.as_str(), &self.hash(secret)));
                }
            }
            out
        };
        match body.json() {
            // On the parsed strings: a secret the upstream wrote with escapes is found too.
            Some(answer) => {
                if rewrite_strings(answer, &mut |s| replace(s)) {
                    body.set_changed();
                }
            }
            None => {
                if let Some(text) = replace(&String::from_utf8_lossy(body.bytes())) {
                    body.replace(text.into_bytes());
                }
            }
        }
    }

    /// A member this redactor rewrites in a request: a secret, a handed-out value, a value
    /// sent back under another name.
    fn rewrites(&self, field: &str) -> bool {
        self.is_secret(field) || HANDED_OUT.contains(&field) || SENT_BACK.contains(&field)
    }

    /// The string values of a token map (`Logins`), if `field` names one and `item` is one.
    fn token_map<'v>(field: &str, item: &'v Value) -> Option<&'v Map<String, Value>> {
        match item {
            Value::Object(map) if TOKEN_MAPS.contains(&field) => Some(map),
            _ => None,
        }
    }

    /// A user attribute (`{"Name": .., "Value": ..}`) whose name makes its value a secret.
    fn is_secret_attribute_object(&self, map: &Map<String, Value>) -> bool {
        matches!(map.get("Name"), Some(Value::String(n)) if self.is_secret_attribute(n))
    }

    /// The string values of a request under secret, handed-out or sent-back names.
    fn sent_secrets(&self, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                let attribute = self.is_secret_attribute_object(map);
                for (k, item) in map {
                    if NOT_SECRET_PARENTS.contains(&k.as_str()) {
                        continue;
                    }
                    let named = self.rewrites(k) || (attribute && k == "Value");
                    if let Some(tokens) = Self::token_map(k, item) {
                        for token in tokens.values() {
                            match token {
                                Value::String(s) if mark_of(s).is_none() => out.push(s.clone()),
                                _ => {}
                            }
                        }
                        continue;
                    }
                    match item {
                        Value::String(s) if named && mark_of(s).is_none() => out.push(s.clone()),
                        other => self.sent_secrets(other, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.sent_secrets(i, out)),
            _ => {}
        }
    }

    /// The first handed-out value `v` sends back that is a placeholder (as stored, or signed by
    /// this proxy for a client): something no upstream ever issued.
    pub fn sent_placeholder(&self, v: &Value) -> Option<String> {
        match v {
            Value::Object(map) => map.iter().find_map(|(k, item)| match item {
                Value::Object(tokens)
                    if TOKEN_MAPS.contains(&k.as_str())
                        && tokens.values().any(|t| {
                            t.as_str().is_some_and(|s| {
                                mark_of(s) == Some(Mark::Placeholder) || placeholder_of(s).is_some()
                            })
                        }) =>
                {
                    Some(k.clone())
                }
                Value::String(s)
                    if (HANDED_OUT.contains(&k.as_str()) || SENT_BACK.contains(&k.as_str()))
                        && (mark_of(s) == Some(Mark::Placeholder)
                            || placeholder_of(s).is_some()) =>
                {
                    Some(k.clone())
                }
                _ if NOT_SECRET_PARENTS.contains(&k.as_str()) => None,
                _ => self.sent_placeholder(item),
            }),
            Value::Array(items) => items.iter().find_map(|item| self.sent_placeholder(item)),
            _ => None,
        }
    }

    /// How many values of `v` [`Redactor::request`] may hash: one per member it rewrites (a
    /// value that is not a string is hashed whole, once), and one per secret attribute.
    pub fn secret_count(&self, v: &Value) -> usize {
        match v {
            Value::Object(map) => {
                let attribute = usize::from(self.is_secret_attribute_object(map));
                let members: usize = map
                    .iter()
                    .map(|(k, item)| match k.as_str() {
                        k if NOT_SECRET_PARENTS.contains(&k) => 0,
                        k if Self::token_map(k, item).is_some() => {
                            Self::token_map(k, item).map_or(0, Map::len)
                        }
                        k if self.rewrites(k) => 1,
                        _ => self.secret_count(item),
                    })
                    .sum();
                attribute + members
            }
            Value::Array(items) => items.iter().map(|item| self.secret_count(item)).sum(),
            _ => 0,
        }
    }

    /// Whether any member of `v` (at any depth) is one this redactor may rewrite: a walk over
    /// names only, so that most requests are stored and keyed without a copy.
    pub fn names_any(&self, v: &Value) -> bool {
        match v {
            Value::Object(map) => {
                self.is_secret_attribute_object(map)
                    || map.iter().any(|(k, item)| {
                        self.rewrites(k) || TOKEN_MAPS.contains(&k.as_str()) || self.names_any(item)
                    })
            }
            Value::Array(items) => items.iter().any(|item| self.names_any(item)),
            _ => false,
        }
    }

    /// A cheap pre-check on the raw bytes that may only say "no" when no member can have a name
    /// of interest, however the JSON is written: the names hold only letters, digits, `_` and
    /// `:`, which JSON can spell otherwise only with a `\u` escape, so a body with no escape and
    /// none of the names spelled out has none. One pass for all names (a ~20 KB ListUsers page
    /// has none of them and is never parsed here).
    fn may_hold_secrets(&self, body: &[u8]) -> bool {
        crate::keying::json::may_escape_names(body)
            || self
                .names_in_answers
                .as_ref()
                .is_none_or(|names| names.is_match(body))
    }

    fn hash(&self, secret: &str) -> String {
        self.hashes.hash(secret)
    }

    /// Apply `f(field, value)` to every string member of every object; `Some` replaces it.
    /// True if anything changed.
    fn rewrite(
        &self,
        value: &mut Value,
        f: &mut dyn FnMut(&Self, &str, &str) -> Option<String>,
    ) -> bool {
        match value {
            Value::Object(map) => self.rewrite_object(map, f),
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |any, v| self.rewrite(v, f) | any),
            _ => false,
        }
    }

    /// A user attribute (`{"Name": .., "Value": ..}`) whose name is a secret field: its value
    /// is hashed like a secret member.
    fn rewrite_object(
        &self,
        map: &mut Map<String, Value>,
        f: &mut dyn FnMut(&Self, &str, &str) -> Option<String>,
    ) -> bool {
        let mut changed = false;
        if self.is_secret_attribute_object(map) {
            if let Some(Value::String(v)) = map.get_mut("Value") {
                if mark_of(v).is_none() {
                    changed |= set(v, self.hash(v));
                }
            }
        }
        for (field, v) in map.iter_mut() {
            match v {
                Value::String(s) => {
                    if let Some(new) = f(self, field, s) {
                        changed |= set(s, new);
                    }
                }
                // Units of token validity (`{"AccessToken": "hours"}`), not tokens.
                _ if NOT_SECRET_PARENTS.contains(&field.as_str()) => {}
                // Provider → id token: each token as a sent-back `IdToken`.
                Value::Object(tokens) if TOKEN_MAPS.contains(&field.as_str()) => {
                    for token in tokens.values_mut() {
                        match token {
                            Value::String(s) => {
                                if let Some(new) = f(self, "IdToken", s) {
                                    changed |= set(s, new);
                                }
                            }
                            other => {
                                let whole = String::from_utf8_lossy(&canonical(other)).into_owned();
                                *other = Value::String(self.hash(&whole));
                                changed = true;
                            }
                        }
                    }
                }
                // A secret or handed-out name over a number, array or object: hashed whole.
                other if self.rewrites(field) => {
                    let whole = String::from_utf8_lossy(&canonical(other)).into_owned();
                    *other = Value::String(self.hash(&whole));
                    changed = true;
                }
                other => changed |= self.rewrite(other, f),
            }
        }
        changed
    }
}

/// `*s = new`; true if that changed it.
fn set(s: &mut String, new: String) -> bool {
    let changed = *s != new;
    *s = new;
    changed
}

/// Handed-out AWS credentials (an object with a `SessionToken`) expire at
/// [`CREDENTIALS_EXPIRATION`] as stored, whatever the upstream said: a date in the future when a
/// replay hands them out, the same bytes on every re-recording. True if that changed the answer.
fn fix_credentials_expiration(answer: &mut Value) -> bool {
    credentials_expirations(answer, &mut |expiration| {
        let fixed = Value::from(CREDENTIALS_EXPIRATION);
        let changed = *expiration != fixed;
        *expiration = fixed;
        changed
    })
}

/// Each `Expiration` of the AWS credentials `v` hands out (of an object with a `SessionToken`,
/// at any depth) given to `set`, which says whether it changed it; true if it changed any.
/// Stored and replayed answers alike find them here.
pub(crate) fn credentials_expirations(
    v: &mut Value,
    set: &mut dyn FnMut(&mut Value) -> bool,
) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            if map.contains_key("SessionToken") {
                if let Some(expiration) = map.get_mut("Expiration") {
                    changed = set(expiration);
                }
            }
            map.values_mut().fold(changed, |any, item| {
                credentials_expirations(item, set) | any
            })
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, item| credentials_expirations(item, set) | any),
        _ => false,
    }
}

/// Replace every string value of `v` (not keys) for which `f` gives a new one; true if any.
pub(crate) fn rewrite_strings(v: &mut Value, f: &mut dyn FnMut(&str) -> Option<String>) -> bool {
    match v {
        Value::String(s) => match f(s) {
            Some(new) => {
                *s = new;
                true
            }
            None => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, i| rewrite_strings(i, f) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, i| rewrite_strings(i, f) | any),
        _ => false,
    }
}
