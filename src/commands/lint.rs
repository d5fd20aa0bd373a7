//! `cognito-vcr lint CASSETTE|DIR...`: a CI gate for committed and hand-edited cassettes. Finds
//! what looks like a live credential — a JWT with a real signature, an AWS access key id or
//! secret key, a refresh token, a long random string under a token or secret field, a password
//! in clear — and names the file, the interaction and the JSON path of each. The file is also
//! read as text, so what the JSON reading cannot see is found too: a credential in a member's
//! name, an error message or `body_text`, a request header that carries credentials, STS session
//! tokens and PEM private keys wherever they stand, and duplicate members (the last one wins
//! when the file is read, hiding the first).

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
    findings(interactions).0
}

/// A cassette file read both ways: the findings of its interactions (by JSON path), then those
/// only its text shows (by line).
pub fn lint_file(text: &str, interactions: &[Interaction]) -> (Vec<Finding>, Vec<TextFinding>) {
    let (found, values) = findings(interactions);
    let by_line = lint_text(text, &values);
    (found, by_line)
}

/// The findings, and the values they are about.
fn findings(interactions: &[Interaction]) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut values = Vec::new();
    for (index, i) in interactions.iter().enumerate() {
        let mut found = |path: String, what, value: &str| {
            values.push(value.to_owned());
            out.push(Finding {
                index,
                operation: i.operation.clone(),
                occurrence: i.occurrence,
                path,
                what,
            })
        };
        walk(&i.request, "request", None, &mut found);
        for (name, value) in &i.response.headers {
            if let Some(what) = credential_shape(value) {
                found(format!("response header {name}"), what, value);
            }
        }
        match crate::keying::json::parse(&i.response.body) {
            Ok(answer) => walk(&answer, "response", None, &mut found),
            Err(_) => {
                let text = String::from_utf8_lossy(&i.response.body);
                for word in text.split(|c: char| c.is_whitespace() || "\"',;:{}[]()".contains(c)) {
                    if let Some(what) = credential_shape(word) {
                        found("response (text)".into(), what, word);
                    }
                }
            }
        }
    }
    (out, values)
}

fn walk(
    v: &Value,
    path: &str,
    field: Option<&str>,
    found: &mut dyn FnMut(String, &'static str, &str),
) {
    match v {
        Value::String(s) => {
            if let Some(what) = looks_live(field, s) {
                found(path.to_owned(), what, s);
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

/// Fields whose names sound secret but whose values grant nothing: SRP's `SECRET_BLOCK` is the
/// user pool's own encrypted state of one sign-in, good for minutes, that the client hands back
/// as `PASSWORD_CLAIM_SECRET_BLOCK` (a recorded SRP sign-in holds it in clear, and must).
const NOT_CREDENTIALS: &[&str] = &["SECRET_BLOCK", "PASSWORD_CLAIM_SECRET_BLOCK"];

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
    if field.is_some_and(|f| NOT_CREDENTIALS.contains(&f)) {
        return None;
    }
    let name = field.unwrap_or("").to_ascii_lowercase();
    if name.contains("password") && !value.is_empty() {
        return Some("a password in clear");
    }
    // What redaction stores as a hash (one-time codes, answers, client secrets...), in clear.
    if field.is_some_and(|f| crate::rewrite::redact::SECRETS.contains(&f)) && !value.is_empty() {
        return Some("a secret in clear");
    }
    if name == "secretcode"
        && value.len() >= 16
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'=')
    {
        return Some("a TOTP seed in clear");
    }
    // An OIDC document's endpoints (`token_endpoint`, `end_session_endpoint`): addresses.
    let address = (name.ends_with("_endpoint") || name.ends_with("_uri"))
        && (value.starts_with("https://") || value.starts_with("http://"))
        && !value.contains('?');
    if address {
        return None;
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

/// One thing the text of a cassette file holds that looks like a live credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFinding {
    /// 1 for the file's first line.
    pub line: usize,
    pub what: &'static str,
}

impl fmt::Display for TextFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// Request headers that carry credentials: never in a cassette the proxy writes.
const CREDENTIAL_HEADERS: &[&str] = &[
    "\"authorization\"",
    "\"x-amz-security-token\"",
    "\"cookie\"",
];
/// How STS session tokens begin (base64 of their fixed first bytes).
const SESSION_TOKEN_PREFIXES: &[&str] = &["FwoGZXIvYXdzE", "IQoJb3JpZ2lu", "IQoJb3JpZ2luX2Vj"];

/// Everything in a cassette file's `text`, read as text, that looks like a live credential
/// and that [`lint`] (reading the JSON) does not report already: `reported` holds the values it
/// reported.
pub fn lint_text(text: &str, reported: &[String]) -> Vec<TextFinding> {
    let mut out = Vec::new();
    let known = |token: &str| reported.iter().any(|r| r.contains(token));
    for (n, line) in text.lines().enumerate() {
        let mut found = |what| {
            if !out
                .iter()
                .any(|f: &TextFinding| f.line == n + 1 && f.what == what)
            {
                out.push(TextFinding { line: n + 1, what });
            }
        };
        let lower = line.to_ascii_lowercase();
        if CREDENTIAL_HEADERS.iter().any(|h| lower.contains(h)) {
            found("a request header that carries credentials");
        }
        if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
            found("a PEM private key");
        }
        // Words of the characters credentials are made of, wherever they stand (a member's
        // name, a message, `access_token=...&refresh_token=...`).
        for token in line.split(|c: char| !(c.is_ascii_alphanumeric() || "-_./+=".contains(c))) {
            let token = token.trim_matches(|c: char| c == '.' || c == '=');
            if token.len() < 16 || known(token) || is_ours(token) {
                continue;
            }
            for word in token.split(['=', '&']) {
                if let Some(what) = credential_shape(word) {
                    found(what);
                } else if SESSION_TOKEN_PREFIXES.iter().any(|p| word.starts_with(p))
                    && word.len() >= 100
                {
                    found("an STS session token");
                } else if word.len() == 40 && looks_like_secret_key(word) {
                    found("an AWS secret access key");
                }
            }
        }
    }
    out.extend(duplicate_members(text));
    out
}

/// A value the tool itself wrote: a placeholder, a hash, a synthetic token.
fn is_ours(value: &str) -> bool {
    mark_of(value).is_some()
        || value.contains(crate::jwt::PLACEHOLDER_PREFIX)
        || value.contains(crate::rewrite::redact::REDACTED_PREFIX)
        || value.starts_with(crate::rewrite::page_tokens::SYNTHETIC_PREFIX)
}

/// A secret access key without `/` or `+` (a quarter of real ones): 40 characters of mixed
/// case and digits, as random as such keys are.
fn looks_like_secret_key(word: &str) -> bool {
    word.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && word.bytes().any(|b| b.is_ascii_lowercase())
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_digit())
        && entropy_bits(word) >= 4.3
}

/// Objects that name a member twice: the line of each repeat.
fn duplicate_members(text: &str) -> Vec<TextFinding> {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
    struct Check<'a>(&'a std::cell::RefCell<Vec<String>>);
    impl<'de> Visitor<'de> for Check<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    self.0.borrow_mut().push(key);
                }
                map.next_value_seed(Seed(self.0))?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Seed(self.0))?.is_some() {}
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    struct Seed<'a>(&'a std::cell::RefCell<Vec<String>>);
    impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(Check(self.0))
        }
    }
    let names = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    if serde::de::DeserializeSeed::deserialize(Seed(&names), &mut de).is_err() {
        return Vec::new();
    }
    let names = names.into_inner();
    let mut out = Vec::new();
    for name in names {
        let needle = format!("\"{name}\"");
        // The last line that names it: a repeat.
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(&needle))
            .map(|(n, _)| n + 1)
            .last()
            .unwrap_or(0);
        out.push(TextFinding {
            line,
            what: "a member named twice in one object (the last one wins when read, hiding the first)",
        });
    }
    out
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

    #[test]
    fn an_oidc_documents_endpoints_are_addresses_not_tokens() {
        let discovery = r#"{"end_session_endpoint": "https://my-app-prod.auth.eu-west-1.amazoncognito.com/logout",
            "token_endpoint": "https://my-app-prod.auth.eu-west-1.amazoncognito.com/oauth2/token"}"#;
        assert_eq!(lint(&[interaction(json!({}), discovery)]), []);
        // A query could carry one: still read.
        let leaky = r#"{"token_endpoint": "https://d.example/oauth2/token?t=h3Kq9ZpL2mN8xR4tV6bW1cY7dF5gJ0sA2eU9iO3k"}"#;
        assert_eq!(lint(&[interaction(json!({}), leaky)]).len(), 1);
    }
}

#[cfg(test)]
mod corpus {
    //! A corpus of cassettes with a credential planted where the JSON reading alone missed it
    //! (and everywhere else), and clean ones full of what looks random but is not a credential.
    use super::*;

    const KEY_ID: &str = "AKIAQWERTYUIOPASDFGH";
    const SESSION_KEY_ID: &str = "ASIAZXCVBNMQWERTYUIO";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEK1";
    const SECRET_PLAIN: &str = "h3Kq9ZpL2mN8xR4tV6bW1cY7dF5gJ0sA2eU9iO3k";
    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXJlYWwtb25l";
    const JWE: &str = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.aaaa.bbbb.cccc.dddd";

    fn sts() -> String {
        format!(
            "FwoGZXIvYXdzE{}",
            "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(4)
        )
    }

    /// A one-interaction cassette: `request` and `response` are the JSON of the request body
    /// and the response object (`body` or `body_text`, `headers`, `status`).
    fn cassette(request: &str, response: &str) -> String {
        format!(
            "{{\n  \"interactions\": [\n    {{\n      \"occurrence\": 1,\n      \"operation\": \"InitiateAuth\",\n      \"request\": {{\n        \"body\": {request}\n      }},\n      \"response\": {response}\n    }}\n  ],\n  \"version\": 2\n}}\n"
        )
    }

    fn ok(body: &str) -> String {
        format!("{{\"body\": {body}, \"headers\": {{\"content-type\": \"application/x-amz-json-1.1\"}}, \"status\": 200}}")
    }

    fn dirty() -> Vec<(String, String)> {
        let sts = sts();
        let creds: Vec<(&str, &str)> = vec![
            ("key id", KEY_ID),
            ("session key id", SESSION_KEY_ID),
            ("secret key", SECRET),
            ("secret key without / or +", SECRET_PLAIN),
            ("JWT", JWT),
            ("JWE", JWE),
            ("STS session token", &sts),
        ];
        let mut out = Vec::new();
        for (name, v) in &creds {
            let places = [
                ("a neutral request member", cassette(&format!("{{\"Note\": \"{v}\"}}"), &ok("{}"))),
                ("a neutral answer member", cassette("{}", &ok(&format!("{{\"Detail\": \"{v}\"}}")))),
                ("a member's name", cassette(&format!("{{\"{v}\": 1}}"), &ok("{}"))),
                ("an error message", cassette("{}", &ok(&format!("{{\"__type\": \"NotAuthorizedException\", \"message\": \"Invalid value {v} given\"}}")))),
                ("body_text", cassette("{}", &format!("{{\"body_text\": \"access_token={v}&token_type=Bearer\", \"headers\": {{}}, \"status\": 200}}"))),
                ("a response header", cassette("{}", &format!("{{\"body\": {{}}, \"headers\": {{\"x-debug\": \"{v}\"}}, \"status\": 200}}"))),
                ("an array", cassette(&format!("{{\"List\": [\"a\", [\"{v}\"]]}}"), &ok("{}"))),
            ];
            for (place, text) in places {
                out.push((format!("{name} in {place}"), text));
            }
        }
        out.push(("an authorization header".into(), cassette("{}", "{\"body\": {}, \"headers\": {\"authorization\": \"AWS4-HMAC-SHA256 Credential=x\"}, \"status\": 200}")));
        out.push((
            "an x-amz-security-token header".into(),
            cassette(
                "{}",
                "{\"body\": {}, \"headers\": {\"x-amz-security-token\": \"abc\"}, \"status\": 200}",
            ),
        ));
        out.push(("a PEM key under a neutral name".into(), cassette("{\"Blob\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----\"}", &ok("{}"))));
        out.push(("a presigned URL with credentials".into(), cassette(&format!("{{\"PreSignedUrl\": \"https://s3.amazonaws.com/b?X-Amz-Credential={KEY_ID}%2F20240101\"}}"), &ok("{}"))));
        out.push((
            "a password in clear".into(),
            cassette(
                "{\"AuthParameters\": {\"PASSWORD\": \"Hunter2!x\"}}",
                &ok("{}"),
            ),
        ));
        out.push(("a duplicate member hiding a clear password".into(), cassette("{\"PASSWORD\": \"clear-text-1\", \"PASSWORD\": \"cognito-vcr-redacted-00112233445566778899aabbccddeeff\"}", &ok("{}"))));
        out.push((
            "a TOTP seed in clear".into(),
            cassette(
                "{}",
                &ok("{\"SecretCode\": \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"}"),
            ),
        ));
        out
    }

    fn clean() -> Vec<(String, String)> {
        let mut out = vec![(
            "the demo cassette".to_owned(),
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/demo.json"))
                .unwrap(),
        )];
        let values = [
            "us-east-1_aba5babe4dcb3c5941e34ae3992e66dd326a265f3b527",
            "3n4b5urk1ft4fl3mg5e62d9ado",
            "56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9",
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc",
            "cognito-vcr-token-0123456789abcdef0123456789abcdef",
            "cognito-vcr-redacted-00112233445566778899aabbccddeeff",
            "cognito-vcr-placeholder-Session-0123456789abcdef0123456789abcdef",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.cognito-vcr-placeholder-0123456789abcdef",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "2024-01-01T00:00:00Z",
            "The user pool client was not found for this request, try again",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc/.well-known/jwks.json",
            "user005@example.com",
            "AttributeName_With_Underscores_AndMixedCase123",
            "CVCRABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP",
            "aws.cognito.signin.user.admin",
            "application/x-amz-json-1.1",
            "ALLOW_USER_PASSWORD_AUTH",
            "us-east-1:0f3b3c3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            // Identity pools' credentials as stored.
            "ASIACVCRABCDEFGH2345",
            "CognitoVcrPlaceholderSecretKey0123456789",
            "cognito-vcr-placeholder-SessionToken-0123456789abcdef0123456789abcdef",
        ];
        for v in values {
            out.push((
                format!("clean: {v}"),
                cassette(
                    &format!("{{\"Value\": \"{v}\", \"Other\": [\"{v}\"]}}"),
                    &ok(&format!(
                        "{{\"Detail\": \"{v}\", \"message\": \"about {v}\"}}"
                    )),
                ),
            ));
        }
        out
    }

    fn flagged(text: &str) -> bool {
        let interactions =
            crate::cassette::parse(std::path::Path::new("corpus.json"), text.as_bytes())
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (found, by_line) = lint_file(text, &interactions);
        !found.is_empty() || !by_line.is_empty()
    }

    #[test]
    fn every_dirty_cassette_is_caught_and_no_clean_one() {
        let dirty = dirty();
        let clean = clean();
        assert!(dirty.len() >= 50 && clean.len() >= 20);
        let missed: Vec<&str> = dirty
            .iter()
            .filter(|(_, text)| !flagged(text))
            .map(|(name, _)| name.as_str())
            .collect();
        let false_alarms: Vec<&str> = clean
            .iter()
            .filter(|(_, text)| flagged(text))
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(
            missed.is_empty(),
            "missed {} of {}: {missed:#?}",
            missed.len(),
            dirty.len()
        );
        assert!(false_alarms.is_empty(), "{false_alarms:#?}");
    }
}
