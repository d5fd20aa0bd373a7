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

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use super::answer::Body;
use crate::jwt::{
    decode_part, is_placeholder_jwt, jwt_parts, placeholder_of, set_present_claims,
    PLACEHOLDER_PREFIX,
};
use crate::keying::canonical::{canonical, hex};
use crate::keying::key::RequestKey;

pub const REDACTED_PREFIX: &str = "cognito-vcr-redacted-";

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

/// How an access key id placeholder begins: `ASIA` (a temporary key id, as identity pools hand
/// out) then `CVCR`, then 12 derived letters and digits: 20 characters, as a real one.
pub const ACCESS_KEY_PLACEHOLDER_PREFIX: &str = "ASIACVCR";

/// How a secret key placeholder begins; 10 derived hex digits make it 40 characters.
pub const SECRET_KEY_PLACEHOLDER_PREFIX: &str = "CognitoVcrPlaceholderSecretKey";

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

/// Hashes remembered for the run (each distinct secret is hashed once); past this the memory
/// starts over.
const MAX_CACHED_HASHES: usize = 4096;

/// PBKDF2 cost and salt of the secret hash (fixed, so that a replay on another machine computes
/// the same hash for the same password).
const HASH_ROUNDS: u32 = 100_000;
const HASH_SALT: &[u8] = b"cognito-vcr secret v1";

/// JWT claims that differ on every sign-in, and the values placeholders give them.
const FIXED_CLAIMS: &[(&str, i64)] = &[
    ("iat", 1_700_000_000),
    ("auth_time", 1_700_000_000),
    ("exp", 4_102_444_800),
];
const ID_CLAIMS: &[&str] = &["jti", "origin_jti", "event_id"];

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

/// An access key id or secret key placeholder ([`ACCESS_KEY_PLACEHOLDER_PREFIX`],
/// [`SECRET_KEY_PLACEHOLDER_PREFIX`]).
fn is_credentials_placeholder(value: &str) -> bool {
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

fn is_secret_code_placeholder(value: &str) -> bool {
    value.len() == 36
        && value.starts_with("CVCR")
        && value[4..].bytes().all(|b| (b'A'..=b'P').contains(&b))
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

/// The redaction state of one run.
pub struct Redactor {
    secrets: Vec<String>,
    /// Every name [`Redactor::answer`] acts on (handed-out, server-random, secret), searched in
    /// one pass over a recorded answer before it is parsed at all.
    /// `None` when the names are past what aho-corasick builds: then every answer is parsed.
    names_in_answers: Option<NameFinder>,
    /// Real handed-out value → its placeholder.
    placeholders: Mutex<HashMap<String, String>>,
    /// Secret → its hash (PBKDF2 is slow on purpose; each secret is hashed once per run).
    hashes: Mutex<HashMap<String, String>>,
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
            hashes: Mutex::default(),
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
            if !raw.contains(&b'\\') && !secrets.iter().any(found_raw) {
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
        memchr::memmem::find(body, b"\\u").is_some()
            || self
                .names_in_answers
                .as_ref()
                .is_none_or(|names| names.is_match(body))
    }

    fn hash(&self, secret: &str) -> String {
        if let Some(h) = self
            .hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(secret)
        {
            return h.clone();
        }
        let mut out = [0u8; 16];
        pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), HASH_SALT, HASH_ROUNDS, &mut out);
        let h = format!("{REDACTED_PREFIX}{}", hex(&out));
        let mut hashes = self.hashes.lock().unwrap_or_else(|e| e.into_inner());
        if hashes.len() >= MAX_CACHED_HASHES {
            hashes.clear();
        }
        hashes.insert(secret.to_owned(), h.clone());
        h
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

/// Names found in an answer's bytes whatever their case.
enum NameFinder {
    /// The names lower-cased, less those that hold another (a text that holds one holds the
    /// other), searched with SIMD in a lower-cased copy of the answer: about four times faster
    /// on a 23 KB page than a case-insensitive automaton, which reads it a byte at a time.
    Lower(aho_corasick::packed::Searcher),
    /// More names than the packed searcher takes, or an empty one: the automaton.
    Automaton(aho_corasick::AhoCorasick),
}

impl NameFinder {
    fn new<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<NameFinder> {
        let lower: Vec<String> = names.clone().map(str::to_ascii_lowercase).collect();
        let mut kept: Vec<&String> = lower
            .iter()
            .filter(|name| {
                !lower
                    .iter()
                    .any(|other| other.len() < name.len() && name.contains(other.as_str()))
            })
            .collect();
        kept.sort_unstable();
        kept.dedup();
        let packed = kept
            .iter()
            .all(|name| !name.is_empty())
            .then(|| aho_corasick::packed::Searcher::new(kept))
            .flatten();
        match packed {
            Some(searcher) => Some(NameFinder::Lower(searcher)),
            None => aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(names)
                .ok()
                .map(NameFinder::Automaton),
        }
    }

    fn is_match(&self, body: &[u8]) -> bool {
        match self {
            NameFinder::Lower(searcher) => {
                let lower: Vec<u8> = body.iter().map(u8::to_ascii_lowercase).collect();
                searcher.find(&lower).is_some()
            }
            NameFinder::Automaton(names) => names.is_match(body),
        }
    }
}

/// Handed-out AWS credentials (an object with a `SessionToken`) expire at
/// [`CREDENTIALS_EXPIRATION`] as stored, whatever the upstream said: a date in the future when a
/// replay hands them out, the same bytes on every re-recording. True if that changed the answer.
fn fix_credentials_expiration(answer: &mut Value) -> bool {
    match answer {
        Value::Object(map) => {
            let mut changed = false;
            if map.contains_key("SessionToken") && map.contains_key("Expiration") {
                let fixed = Value::from(CREDENTIALS_EXPIRATION);
                changed = map.insert("Expiration".into(), fixed.clone()) != Some(fixed);
            }
            map.values_mut()
                .fold(changed, |any, v| fix_credentials_expiration(v) | any)
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| fix_credentials_expiration(v) | any),
        _ => false,
    }
}

fn placeholder_seed(key: &RequestKey, occurrence: u32, field: &str) -> [u8; 32] {
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
fn placeholder(field: &str, real: &str, seed: &[u8; 32], claims: &dyn Fn(&mut Value)) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        format!("{header}.{claims}.c2lnbmF0dXJl")
    }

    fn key() -> RequestKey {
        RequestKey::new("InitiateAuth", &json!({"AuthFlow": "USER_PASSWORD_AUTH"}))
    }

    #[test]
    fn the_lower_cased_names_find_what_the_case_insensitive_automaton_finds() {
        let extra = ["custom:Pässwort".to_owned(), "custom:ssn".to_owned()];
        let r = Redactor::new(&extra);
        let Some(NameFinder::Lower(_)) = &r.names_in_answers else {
            panic!("the default names and a few more fit the packed searcher");
        };
        let names: Vec<String> = HANDED_OUT
            .iter()
            .chain(SERVER_RANDOM)
            .chain(AWS_CREDENTIALS)
            .chain(&["password", "secret"])
            .map(|s| s.to_string())
            .chain(r.secrets.iter().cloned())
            .collect();
        let automaton = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&names)
            .unwrap();
        for body in [
            r#"{"Users":[{"Username":"a","Enabled":true}]}"#,
            r#"{"pAsSwOrD_hint":1}"#,
            r#"{"x":"SESSIONTOKEN"}"#,
            r#"{"Sessio":"n"}"#,
            r#"{"CUSTOM:PäSSWORT":"x"}"#,
            r#"{"custom:pässwort":"x"}"#,
            r#"{"custom:ss":"n"}"#,
            r#"{"srp_b":"x","SALT":"y"}"#,
            "",
        ] {
            let found = r
                .names_in_answers
                .as_ref()
                .unwrap()
                .is_match(body.as_bytes());
            assert_eq!(found, automaton.is_match(body), "{body}");
        }
        // Past what the packed searcher takes, the automaton.
        let many: Vec<String> = (0..200).map(|i| format!("field{i:03}x")).collect();
        let r = Redactor::new(&many);
        assert!(matches!(r.names_in_answers, Some(NameFinder::Automaton(_))));
        assert!(r.may_hold_secrets(b"{\"FIELD199X\":1}"));
        assert!(!r.may_hold_secrets(b"{\"field200x\":1}"));
    }

    #[test]
    fn passwords_are_hashed_and_still_key_apart() {
        let r = Redactor::default();
        let right = r
            .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Right-1"}}))
            .into_owned();
        let wrong = r
            .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Wrong-1"}}))
            .into_owned();
        let text = right.to_string();
        assert!(!text.contains("Right-1"));
        assert!(right["AuthParameters"]["PASSWORD"]
            .as_str()
            .unwrap()
            .starts_with(REDACTED_PREFIX));
        assert_eq!(right["AuthParameters"]["USERNAME"], "alice");
        assert_ne!(right, wrong);
        // Another run (another redactor) hashes the same password the same way.
        assert_eq!(
            Redactor::default()
                .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Right-1"}}))
                .into_owned(),
            right
        );
        // Already redacted: unchanged (replay, re-import).
        assert_eq!(r.request(&right).into_owned(), right);
        let plain = json!({"UserPoolId": "p", "Limit": 7});
        assert!(
            matches!(r.request(&plain), Cow::Borrowed(_)),
            "no copy without secrets"
        );
    }

    #[test]
    fn handed_out_tokens_become_placeholders_in_the_answer_and_in_later_requests() {
        let r = Redactor::default();
        let access = jwt(
            json!({"sub": "u-1", "username": "alice", "iat": 1795000000, "exp": 1795003600, "jti": "abc", "token_use": "access"}),
        );
        let answer = json!({"AuthenticationResult": {"AccessToken": access, "RefreshToken": "opaque-refresh", "ExpiresIn": 3600}, "ChallengeParameters": {}});
        let stored = r
            .response(&key(), 1, &serde_json::to_vec(&answer).unwrap())
            .unwrap();
        let stored: Value = serde_json::from_slice(&stored).unwrap();
        let placeholder = stored["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap();
        assert_ne!(placeholder, access);
        assert!(
            !String::from_utf8_lossy(&serde_json::to_vec(&stored).unwrap())
                .contains("opaque-refresh")
        );
        // Still a JWT with readable claims; volatile claims fixed; signature is ours.
        let parts: Vec<&str> = placeholder.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (claims["username"].as_str(), claims["exp"].as_i64()),
            (Some("alice"), Some(4_102_444_800))
        );
        assert_ne!(claims["jti"], "abc");
        assert!(parts[2].starts_with(PLACEHOLDER_PREFIX));
        assert_eq!(mark_of(placeholder), Some(Mark::Placeholder));

        // The request that sends it back is stored with the placeholder.
        let later = r.request(&json!({"AccessToken": access})).into_owned();
        assert_eq!(later["AccessToken"], placeholder);
        let refresh = r
            .request(&json!({"AuthParameters": {"REFRESH_TOKEN": "opaque-refresh"}}))
            .into_owned();
        assert_eq!(
            refresh["AuthParameters"]["REFRESH_TOKEN"],
            stored["AuthenticationResult"]["RefreshToken"]
        );
        // A token this run never handed out is hashed, never stored as it came.
        let unknown = r
            .request(&json!({"AccessToken": "eyJ.unknown.token"}))
            .into_owned();
        assert!(unknown["AccessToken"]
            .as_str()
            .unwrap()
            .starts_with(REDACTED_PREFIX));
    }

    #[test]
    fn placeholders_are_stable_across_runs() {
        let answer = serde_json::to_vec(&json!({"Session": "real-session-1"})).unwrap();
        let again = serde_json::to_vec(&json!({"Session": "real-session-2"})).unwrap();
        let a = Redactor::default().response(&key(), 1, &answer).unwrap();
        let b = Redactor::default().response(&key(), 1, &again).unwrap();
        assert_eq!(
            a, b,
            "derived from the place in the session, not from the value"
        );
        assert_ne!(a, Redactor::default().response(&key(), 2, &answer).unwrap());
    }

    #[test]
    fn secret_codes_stay_base32_and_device_keys_are_not_hashed() {
        let r = Redactor::default();
        let stored = r
            .response(
                &key(),
                1,
                br#"{"SecretCode":"JBSWY3DPEHPK3PXP","Session":"s"}"#,
            )
            .unwrap();
        let v: Value = serde_json::from_slice(&stored).unwrap();
        let code = v["SecretCode"].as_str().unwrap();
        assert!(
            code.chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
            "{code}"
        );
        let device = r
            .request(&json!({"DeviceKey": "us-east-1_abc"}))
            .into_owned();
        assert_eq!(device["DeviceKey"], "us-east-1_abc");
    }

    #[test]
    fn server_random_challenge_values_keep_their_shape() {
        let r = Redactor::default();
        let answer = br#"{"ChallengeParameters":{"SRP_B":"0ac675f272eb4fe1","SALT":"fc69","SECRET_BLOCK":"400ab6e8-49f6-45d2","USERNAME":"carol"}}"#;
        let a: Value = serde_json::from_slice(&r.response(&key(), 1, answer).unwrap()).unwrap();
        let b: Value =
            serde_json::from_slice(&Redactor::default().response(&key(), 1, answer).unwrap())
                .unwrap();
        assert_eq!(a, b);
        let p = &a["ChallengeParameters"];
        assert_ne!(p["SRP_B"], "0ac675f272eb4fe1");
        assert!(p["SRP_B"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
        assert_eq!(p["SRP_B"].as_str().unwrap().len(), 16);
        assert_eq!(p["SECRET_BLOCK"].as_str().unwrap().matches('-').count(), 2);
        assert_eq!(p["USERNAME"], "carol");
    }

    #[test]
    fn answers_without_secrets_are_left_alone_and_marks_are_found() {
        let r = Redactor::default();
        assert!(r.response(&key(), 1, br#"{"Users":[]}"#).is_none());
        let stored = r
            .response(
                &key(),
                1,
                br#"{"UserPoolClient":{"ClientId":"c","ClientSecret":"shh"}}"#,
            )
            .unwrap();
        let v: Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(
            marks(&v),
            [("UserPoolClient.ClientSecret".to_owned(), Mark::Redacted)]
        );
        let extra = Redactor::new(&["custom:ssn".to_owned()]);
        let req = extra
            .request(&json!({"Value": {"custom:ssn": "123-45-6789"}}))
            .into_owned();
        assert!(!req.to_string().contains("123-45-6789"));
        let attrs = json!({"UserAttributes": [{"Name": "custom:ssn", "Value": "123-45-6789"}, {"Name": "email", "Value": "a@x"}]});
        let stored = extra.request(&attrs).into_owned();
        assert!(!stored.to_string().contains("123-45-6789"));
        assert_eq!(stored["UserAttributes"][1]["Value"], "a@x");
        let answer = serde_json::to_vec(&attrs).unwrap();
        let stored = extra.response(&key(), 1, &answer).unwrap();
        assert!(!String::from_utf8(stored).unwrap().contains("123-45-6789"));
    }

    fn identity_key(operation: &str) -> RequestKey {
        RequestKey::new(
            operation,
            &json!({"IdentityId": "us-east-1:5a6b7c8d-1111-4222-8333-444455556666"}),
        )
    }

    #[test]
    fn identity_pool_credentials_are_placeholders_of_their_shape_expiring_in_2100() {
        let r = Redactor::default();
        let answer = json!({"IdentityId": "us-east-1:5a6b7c8d-1111-4222-8333-444455556666",
            "Credentials": {"AccessKeyId": "ASIAQWERTYUIOPASDFGH",
                "SecretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "SessionToken": "IQoJb3JpZ2luX2VjEXAMPLEsessiontoken", "Expiration": 1765020000.5}});
        let key = identity_key("AWSCognitoIdentityService.GetCredentialsForIdentity");
        let stored = r
            .response(&key, 1, &serde_json::to_vec(&answer).unwrap())
            .unwrap();
        let text = String::from_utf8(stored.clone()).unwrap();
        for real in ["ASIAQWERTYUIOPASDFGH", "wJalrXUtnFEMI", "IQoJb3JpZ2lu"] {
            assert!(!text.contains(real), "{text}");
        }
        let v: Value = serde_json::from_slice(&stored).unwrap();
        let c = &v["Credentials"];
        let key_id = c["AccessKeyId"].as_str().unwrap();
        assert!(key_id.len() == 20 && key_id.starts_with("ASIA"), "{key_id}");
        assert!(key_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(c["SecretKey"].as_str().unwrap().len(), 40);
        assert_eq!(c["Expiration"], CREDENTIALS_EXPIRATION);
        for field in ["AccessKeyId", "SecretKey", "SessionToken"] {
            assert_eq!(
                mark_of(c[field].as_str().unwrap()),
                Some(Mark::Placeholder),
                "{field}"
            );
        }
        assert_eq!(
            v["IdentityId"], answer["IdentityId"],
            "an identity is not a credential"
        );
        // Another run, other credentials: the same bytes stored.
        let mut again = answer.clone();
        again["Credentials"]["AccessKeyId"] = json!("ASIAZXCVBNMQWERTYUIO");
        again["Credentials"]["Expiration"] = json!(1765029999);
        let second = Redactor::default()
            .response(&key, 1, &serde_json::to_vec(&again).unwrap())
            .unwrap();
        assert_eq!(stored, second);
        assert!(!is_credentials_placeholder("ASIAQWERTYUIOPASDFGH"));
    }

    #[test]
    fn an_open_id_token_is_a_placeholder_only_where_it_is_one() {
        let r = Redactor::default();
        let token = jwt(
            json!({"sub": "us-east-1:5a6b", "aud": "us-east-1:pool", "iat": 1795000000, "exp": 1795000600}),
        );
        let answer =
            serde_json::to_vec(&json!({"IdentityId": "us-east-1:5a6b", "Token": token})).unwrap();
        for op in [
            "AWSCognitoIdentityService.GetOpenIdToken",
            "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity",
        ] {
            let stored = r.response(&identity_key(op), 1, &answer).unwrap();
            let v: Value = serde_json::from_slice(&stored).unwrap();
            let placeholder = v["Token"].as_str().unwrap();
            assert!(is_placeholder_jwt(placeholder), "{placeholder}");
        }
        // A `Token` in another answer is not taken for one.
        assert!(r
            .response(&key(), 1, br#"{"Token":"not-a-credential"}"#)
            .is_none());
    }

    #[test]
    fn logins_are_keyed_by_their_tokens_placeholders() {
        let r = Redactor::default();
        let id_token = jwt(json!({"sub": "u-1", "token_use": "id", "iat": 1795000000}));
        let answer = json!({"AuthenticationResult": {"IdToken": id_token}});
        let stored = r
            .response(&key(), 1, &serde_json::to_vec(&answer).unwrap())
            .unwrap();
        let stored: Value = serde_json::from_slice(&stored).unwrap();
        let placeholder = stored["AuthenticationResult"]["IdToken"].as_str().unwrap();
        let provider = "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123";
        let get_id = json!({"IdentityPoolId": "us-east-1:p", "Logins": {provider: id_token}});
        assert!(r.names_any(&get_id));
        assert_eq!(r.secret_count(&get_id), 1);
        let keyed = r.request(&get_id).into_owned();
        assert_eq!(
            keyed["Logins"][provider], placeholder,
            "the token this run handed out"
        );
        assert_eq!(r.sent_placeholder(&keyed).as_deref(), Some("Logins"));
        // A replay: the client sends the placeholder (signed or not), keyed the same.
        assert_eq!(Redactor::default().request(&keyed).into_owned(), keyed);
        // A token nobody here handed out is hashed, never stored as it came.
        let other = json!({"Logins": {provider: jwt(json!({"sub": "u-2"}))}});
        let hashed = Redactor::default().request(&other).into_owned();
        assert!(hashed["Logins"][provider]
            .as_str()
            .unwrap()
            .starts_with(REDACTED_PREFIX));
        let mut secrets = Vec::new();
        r.sent_secrets(&get_id, &mut secrets);
        assert_eq!(secrets, [id_token]);
    }
}
