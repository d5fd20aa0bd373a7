//! `cognito-vcr lint CASSETTE...`: a CI gate for committed and hand-edited cassettes. Finds what
//! looks like a live credential — a JWT with a real signature, an AWS access key id or secret
//! key, a refresh token, a long random string under a token or secret field, a password in
//! clear — and names the file, the interaction and the JSON path of each.

use serde_json::Value;
use std::fmt;

use crate::cassette::Interaction;
use crate::rewrite::redact::mark_of;

/// One thing that looks like a live credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The interaction's place in the cassette (0 first), operation and occurrence.
    pub index: usize,
    pub operation: String,
    pub occurrence: u32,
    /// `request.AuthParameters.PASSWORD`, `response.AuthenticationResult.AccessToken`...
    pub path: String,
    pub what: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interaction {} ({} #{}): {}: {}",
            self.index, self.operation, self.occurrence, self.path, self.what
        )
    }
}

/// Everything in `interactions` that looks like a live credential.
pub fn lint(interactions: &[Interaction]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (index, i) in interactions.iter().enumerate() {
        let mut found = |path: String, what| {
            out.push(Finding {
                index,
                operation: i.operation.clone(),
                occurrence: i.occurrence,
                path,
                what,
            })
        };
        walk(&i.request, "request", None, &mut found);
        match crate::keying::json::parse(&i.response.body) {
            Ok(answer) => walk(&answer, "response", None, &mut found),
            Err(_) => {
                let text = String::from_utf8_lossy(&i.response.body);
                for word in text.split(|c: char| c.is_whitespace() || "\"',;:{}[]()".contains(c)) {
                    if let Some(what) = credential_shape(word) {
                        found("response (text)".into(), what);
                    }
                }
            }
        }
    }
    out
}

fn walk(v: &Value, path: &str, field: Option<&str>, found: &mut dyn FnMut(String, &'static str)) {
    match v {
        Value::String(s) => {
            if let Some(what) = looks_live(field, s) {
                found(path.to_owned(), what);
            }
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                walk(item, &format!("{path}.{n}"), field, found);
            }
        }
        Value::Object(map) => {
            // A user attribute: `{"Name": "custom:password", "Value": "..."}`.
            let attribute = map.get("Name").and_then(Value::as_str);
            for (k, item) in map {
                let named = match (k.as_str(), attribute) {
                    ("Value", Some(name)) => name,
                    _ => k.as_str(),
                };
                walk(item, &format!("{path}.{k}"), Some(named), found);
            }
        }
        _ => {}
    }
}

/// Why `value` under `field` looks like a live credential, if it does.
fn looks_live(field: Option<&str>, value: &str) -> Option<&'static str> {
    if mark_of(value).is_some()
        || value.starts_with(crate::rewrite::page_tokens::SYNTHETIC_PREFIX)
        || value == crate::keying::rules::IGNORED_MARK
    {
        return None;
    }
    if let Some(what) = credential_shape(value) {
        return Some(what);
    }
    let name = field.unwrap_or("").to_ascii_lowercase();
    if name.contains("password") && !value.is_empty() {
        return Some("a password in clear");
    }
    let secretish = ["token", "secret", "session", "privatekey", "private_key"]
        .iter()
        .any(|w| name.replace('_', "").contains(&w.replace('_', "")));
    if secretish && value.len() >= 20 && entropy_bits(value) >= 3.5 {
        return Some("a long random string under a token or secret field");
    }
    None
}

/// Shapes that are credentials wherever they stand.
fn credential_shape(value: &str) -> Option<&'static str> {
    let segments: Vec<&str> = value.split('.').collect();
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if value.starts_with("eyJ") && segments.iter().all(|s| base64url(s)) {
        match segments.len() {
            // A JWT whose signature is not a placeholder (placeholders are marked above).
            3 => return Some("a JWT with a real signature"),
            // Cognito's refresh tokens are JWE: five segments.
            5 => return Some("a refresh token (JWE)"),
            _ => {}
        }
    }
    let key_id = (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value.len() == 20
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if key_id {
        return Some("an AWS access key id");
    }
    let secret_key = value.len() == 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && value.bytes().any(|b| b == b'/' || b == b'+')
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_uppercase());
    if secret_key {
        return Some("an AWS secret access key");
    }
    None
}

/// Shannon entropy of the characters, in bits per character.
fn entropy_bits(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::wire::Response;
    use bytes::Bytes;
    use serde_json::json;

    fn interaction(request: Value, answer: &str) -> Interaction {
        Interaction {
            scope: Default::default(),
            operation: "InitiateAuth".into(),
            occurrence: 1,
            request,
            response: Response {
                status: 200,
                headers: vec![],
                body: Bytes::from(answer.to_owned()),
            },
        }
    }

    #[test]
    fn live_credentials_are_found_and_placeholders_are_not() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXJlYWw";
        let answer = json!({"AuthenticationResult": {
            "AccessToken": jwt,
            "RefreshToken": "eyJjdHkiOiJKV1QifQ.aaaa.bbbb.cccc.dddd",
            "IdToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.cognito-vcr-placeholder-0123",
        }});
        let request = json!({
            "AuthParameters": {"USERNAME": "carol", "PASSWORD": "Carol-Secret-1!"},
            "Key": "AKIAIOSFODNN7EXAMPLE",
            "Other": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Session": "AYABeHf3k2Jq8LmZpQ0rTs9vWx1Yz4Cb7Dd",
            "UserAttributes": [{"Name": "custom:password_hint", "Value": "my dog"}],
            "ClientId": "3n4b5urk1ft4fl3mg5e62d9ado",
        });
        let found = lint(&[interaction(request, &answer.to_string())]);
        let paths: Vec<(&str, &str)> = found.iter().map(|f| (f.path.as_str(), f.what)).collect();
        assert!(
            paths.contains(&(
                "response.AuthenticationResult.AccessToken",
                "a JWT with a real signature"
            )),
            "{paths:?}"
        );
        assert!(
            paths.contains(&(
                "response.AuthenticationResult.RefreshToken",
                "a refresh token (JWE)"
            )),
            "{paths:?}"
        );
        assert!(
            paths.contains(&("request.AuthParameters.PASSWORD", "a password in clear")),
            "{paths:?}"
        );
        assert!(
            paths.contains(&("request.Key", "an AWS access key id")),
            "{paths:?}"
        );
        assert!(
            paths.contains(&("request.Other", "an AWS secret access key")),
            "{paths:?}"
        );
        assert!(
            paths.iter().any(|(p, _)| *p == "request.Session"),
            "{paths:?}"
        );
        assert!(
            paths
                .iter()
                .any(|(p, _)| *p == "request.UserAttributes.0.Value"),
            "{paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|(p, _)| p.contains("IdToken") || p.contains("ClientId")),
            "{paths:?}"
        );
        assert_eq!(found.len(), 7, "{paths:?}");
    }

    #[test]
    fn the_marks_of_the_tool_are_not_findings() {
        let request = json!({
            "PASSWORD": "cognito-vcr-redacted-00112233445566778899aabbccddeeff",
            "Session": "cognito-vcr-placeholder-Session-0123456789abcdef0123456789abcdef",
            "PaginationToken": "cognito-vcr-token-0123456789abcdef0123456789abcdef",
            "SRP_A": "cognito-vcr-ignored",
        });
        assert_eq!(lint(&[interaction(request, "{}")]), []);
    }
}
