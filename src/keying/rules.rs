//! What a request is keyed on: the body less fields that change on every run, with the ListUsers
//! `Filter` in one canonical spelling. Rules are data: defaults below, plus a user's config file.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

use super::filter::canonical_filter;

/// Fields that differ on every run of the same sign-in (see the reference's "request fields
/// that change on every run"), ignored in request keys of every operation by default.
pub const DEFAULT_IGNORED: &[(&str, &str)] = &[
    ("*", "AnalyticsMetadata"),
    ("*", "UserContextData"),
    ("*", "ClientMetadata"),
    ("*", "AuthParameters.SRP_A"),
    ("*", "ChallengeResponses.TIMESTAMP"),
    ("*", "ChallengeResponses.PASSWORD_CLAIM_SIGNATURE"),
    ("*", "ChallengeResponses.PASSWORD_CLAIM_SECRET_BLOCK"),
    ("ConfirmDevice", "DeviceSecretVerifierConfig"),
    // One-time codes (TOTP, SMS, email, confirmation) change on every run: an MFA sign-in
    // replays when the test computes or receives a new code.
    ("*", "ChallengeResponses.SMS_MFA_CODE"),
    ("*", "ChallengeResponses.SOFTWARE_TOKEN_MFA_CODE"),
    ("*", "ChallengeResponses.EMAIL_OTP_CODE"),
    ("*", "ChallengeResponses.SMS_OTP_CODE"),
    ("VerifySoftwareToken", "UserCode"),
    ("ConfirmSignUp", "ConfirmationCode"),
    ("ConfirmForgotPassword", "ConfirmationCode"),
    // OAuth2: the authorization code (one use, new on every run) and the values a client draws
    // at random for each flow (PKCE, state, nonce).
    ("OAuth2.Token", "code"),
    ("OAuth2.Token", "code_verifier"),
    ("OAuth2.Authorize", "state"),
    ("OAuth2.Authorize", "nonce"),
    ("OAuth2.Authorize", "code_challenge"),
];

/// Optional fields whose documented default is the same request as leaving them out.
pub const DEFAULT_VALUES: &[(&str, &str, i64)] = &[
    ("ListUsers", "Limit", 60),
    ("ListUsersInGroup", "Limit", 60),
    ("ListGroups", "Limit", 60),
];

/// A JSON-path-like selector: dot-separated member names, `*` for any member or array element
/// (`AuthParameters.SRP_A`, `ChallengeResponses.*`, `UserAttributes.*.Value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(Vec<String>);

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return Err(format!("selector {text:?} has an empty segment"));
        }
        Ok(Selector(parts))
    }

    /// Remove what the selector names from `value`.
    pub fn remove(&self, value: &mut Value) {
        remove_path(value, &self.0);
    }

    /// Replace what the selector names in `value` by `with`.
    pub fn replace(&self, value: &mut Value, with: &Value) {
        replace_path(value, &self.0, with);
    }

    /// The values the selector names in `value` (`*`: every member or array element).
    pub fn select<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut found = vec![value];
        for segment in &self.0 {
            found = found
                .into_iter()
                .flat_map(|v| -> Vec<&'v Value> {
                    match v {
                        Value::Object(map) if segment == "*" => map.values().collect(),
                        Value::Object(map) => map.get(segment).into_iter().collect(),
                        Value::Array(items) if segment == "*" => items.iter().collect(),
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        found
    }

    /// Whether a path of member names (array indexes written as `*`) is selected.
    pub fn matches(&self, path: &[&str]) -> bool {
        self.0.len() == path.len() && self.0.iter().zip(path).all(|(s, p)| s == "*" || s == p)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

fn remove_path(value: &mut Value, path: &[String]) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) if rest.is_empty() => {
            if head == "*" {
                map.clear();
            } else {
                map.remove(head);
            }
        }
        Value::Object(map) => {
            if head == "*" {
                map.values_mut().for_each(|v| remove_path(v, rest));
            } else if let Some(v) = map.get_mut(head) {
                remove_path(v, rest);
            }
        }
        Value::Array(items) if head == "*" => {
            if rest.is_empty() {
                items.clear();
            } else {
                items.iter_mut().for_each(|v| remove_path(v, rest));
            }
        }
        _ => {}
    }
}

fn replace_path(value: &mut Value, path: &[String], with: &Value) {
    let Some((head, rest)) = path.split_first() else {
        *value = with.clone();
        return;
    };
    match value {
        Value::Object(map) if head == "*" => {
            map.values_mut().for_each(|v| replace_path(v, rest, with))
        }
        Value::Object(map) => {
            if let Some(v) = map.get_mut(head) {
                replace_path(v, rest, with);
            }
        }
        Value::Array(items) if head == "*" => {
            items.iter_mut().for_each(|v| replace_path(v, rest, with))
        }
        _ => {}
    }
}

/// What an ignored field holds in a stored request: it differs on every run and is not part of
/// the key, so the cassette does not keep it.
pub const IGNORED_MARK: &str = "cognito-vcr-ignored";

/// The keying rules in force: which fields each operation ignores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// (operation or `*`, selector)
    ignored: Vec<(String, Selector)>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            ignored: DEFAULT_IGNORED
                .iter()
                .map(|(op, s)| (op.to_string(), Selector::parse(s).expect("valid default")))
                .collect(),
        }
    }
}

impl Rules {
    /// Ignore one more field in the keys of `operation` (`*` for all).
    pub fn ignore(&mut self, operation: &str, selector: Selector) {
        if !self
            .ignored
            .iter()
            .any(|(o, s)| o == operation && *s == selector)
        {
            self.ignored.push((operation.to_owned(), selector));
        }
    }

    /// Stop ignoring a field (a default rule or an added one).
    pub fn keep(&mut self, operation: &str, selector: &Selector) {
        self.ignored
            .retain(|(o, s)| !(o == operation && s == selector));
    }

    /// A short text that changes whenever the rules do (the store re-keys on change).
    pub fn fingerprint(&self) -> String {
        let mut rules: Vec<String> = self
            .ignored
            .iter()
            .map(|(o, s)| format!("{o}:{s}"))
            .collect();
        rules.sort();
        crate::keying::canonical::hex(&Sha256::digest(rules.join("\n").as_bytes())[..8])
    }

    /// The body as stored: ignored fields keep their place but not their value, so that a
    /// re-recording does not churn on values that change every run.
    pub fn mask_ignored<'a>(&self, operation: &str, body: &'a Value) -> Cow<'a, Value> {
        if !self.touches(operation, body) {
            return Cow::Borrowed(body);
        }
        let mut out = body.clone();
        let mark = Value::String(IGNORED_MARK.to_owned());
        for (op, selector) in &self.ignored {
            if op == "*" || op == operation {
                selector.replace(&mut out, &mark);
            }
        }
        Cow::Owned(out)
    }

    /// Whether a rule could change this body: a cheap look at its top-level members, so that
    /// most requests (a ListUsers page, say) are keyed without a copy.
    fn touches(&self, operation: &str, body: &Value) -> bool {
        let Some(map) = body.as_object() else {
            return false;
        };
        self.ignored.iter().any(|(op, s)| {
            (op == "*" || op == operation) && (s.0[0] == "*" || map.contains_key(&s.0[0]))
        })
    }

    /// The digest a request is keyed on: that of [`Rules::key_body`]. When only documented
    /// defaults are to be left out (the common ListUsers `"Limit": 60`), they are skipped while
    /// hashing instead of removed from a copy.
    pub fn key_digest(&self, operation: &str, body: &Value) -> [u8; 32] {
        let filter = operation == "ListUsers" && body.get("Filter").is_some();
        if filter || self.touches(operation, body) {
            return crate::keying::canonical::digest(&self.key_body(operation, body));
        }
        crate::keying::canonical::digest_without(body, |field, value| {
            DEFAULT_VALUES.iter().any(|(op, f, default)| {
                *op == operation && *f == field && value.as_i64() == Some(*default)
            })
        })
    }

    /// The body a request is keyed on.
    pub fn key_body<'a>(&self, operation: &str, body: &'a Value) -> Cow<'a, Value> {
        let has = |field: &str| body.get(field).is_some();
        let defaults = DEFAULT_VALUES
            .iter()
            .any(|(op, f, _)| *op == operation && has(f));
        let filter = operation == "ListUsers" && has("Filter");
        if !defaults && !filter && !self.touches(operation, body) {
            return Cow::Borrowed(body);
        }
        let mut out = body.clone();
        for (op, selector) in &self.ignored {
            if op == "*" || op == operation {
                selector.remove(&mut out);
            }
        }
        if let Value::Object(map) = &mut out {
            drop_default_values(operation, map);
            if operation == "ListUsers" {
                if let Some(Value::String(filter)) = map.get_mut("Filter") {
                    if let Some(canonical) = canonical_filter(filter) {
                        *filter = canonical;
                    }
                }
            }
        }
        Cow::Owned(out)
    }
}

fn drop_default_values(operation: &str, map: &mut Map<String, Value>) {
    for (op, field, default) in DEFAULT_VALUES {
        if *op == operation && map.get(*field).and_then(Value::as_i64) == Some(*default) {
            map.remove(*field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unparseable_filters_are_keyed_verbatim() {
        for f in [
            "",
            "email",
            r#"email ~ "x""#,
            r#"email = "unterminated"#,
            r#"email = "x" and more"#,
            r#"em ail = "x""#,
        ] {
            assert_eq!(canonical_filter(f), None, "{f}");
            let rules = Rules::default();
            let body = json!({"UserPoolId": "p", "Filter": f});
            assert_eq!(rules.key_body("ListUsers", &body).into_owned(), body);
        }
    }

    #[test]
    fn sign_in_fields_that_change_every_run_are_ignored() {
        let rules = Rules::default();
        let a = json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": "c",
            "AuthParameters": {"USERNAME": "alice", "SRP_A": "abc"}, "UserContextData": {"EncodedData": "x"}});
        let b = json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": "c",
            "AuthParameters": {"USERNAME": "alice", "SRP_A": "def"}, "AnalyticsMetadata": {"AnalyticsEndpointId": "e"}});
        assert_eq!(
            rules.key_body("InitiateAuth", &a).into_owned(),
            rules.key_body("InitiateAuth", &b).into_owned()
        );
        assert_eq!(
            rules.key_body("InitiateAuth", &a)["AuthParameters"],
            json!({"USERNAME": "alice"})
        );
    }

    #[test]
    fn documented_defaults_equal_omission() {
        let rules = Rules::default();
        assert_eq!(
            rules
                .key_body("ListUsers", &json!({"UserPoolId": "p", "Limit": 60}))
                .into_owned(),
            json!({"UserPoolId": "p"})
        );
        assert_eq!(
            rules
                .key_body("ListUsers", &json!({"UserPoolId": "p", "Limit": 7}))
                .into_owned(),
            json!({"UserPoolId": "p", "Limit": 7})
        );
    }

    #[test]
    fn rules_can_be_added_and_removed() {
        let mut rules = Rules::default();
        let before = rules.fingerprint();
        rules.ignore("ListUsers", Selector::parse("AttributesToGet").unwrap());
        rules.keep("*", &Selector::parse("AuthParameters.SRP_A").unwrap());
        assert_ne!(rules.fingerprint(), before);
        let body = json!({"UserPoolId": "p", "AttributesToGet": ["email"]});
        assert_eq!(
            rules.key_body("ListUsers", &body).into_owned(),
            json!({"UserPoolId": "p"})
        );
        let auth = json!({"AuthParameters": {"SRP_A": "x"}});
        assert_eq!(rules.key_body("InitiateAuth", &auth).into_owned(), auth);
        let masked = Rules::default()
            .mask_ignored(
                "InitiateAuth",
                &json!({"AuthParameters": {"SRP_A": "x", "USERNAME": "u"}}),
            )
            .into_owned();
        assert_eq!(
            masked,
            json!({"AuthParameters": {"SRP_A": IGNORED_MARK, "USERNAME": "u"}})
        );
        let wild = Selector::parse("UserAttributes.*.Value").unwrap();
        let mut v = json!({"UserAttributes": [{"Name": "a", "Value": "1"}]});
        wild.remove(&mut v);
        assert_eq!(v, json!({"UserAttributes": [{"Name": "a"}]}));
        assert!(wild.matches(&["UserAttributes", "*", "Value"]));
    }
}
