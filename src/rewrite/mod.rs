//! The rewrite pipeline: from what the client sent and the upstream answered to what is stored
//! and keyed — identities the session created as stand-ins and its dates as virtual dates,
//! pagination tokens, then redaction and placeholders, then masking.
//!
//! - `answer.rs`: an answer's body, parsed once for every stage and written once
//! - `identities.rs`: generated ids (pool, app client, `sub`) as stable stand-ins
//! - `dates.rs`: the dates the session caused as virtual dates
//! - `page_tokens.rs`: real pagination tokens as stable synthetic ones
//! - `redact/`: secrets as hashes, handed-out values (auth tokens, sessions) as placeholders

pub mod answer;
pub mod dates;
pub mod identities;
pub mod page_tokens;
pub mod redact;
pub mod replace;

use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

use crate::cassette::Interaction;
use crate::cognito::oauth;
use crate::cognito::operations::is_read_only;
use crate::cognito::pagination;
use crate::cognito::wire::{BadRequest, Response};
use crate::config::file::Settings;
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;
use answer::Body;
use dates::Dates;
use identities::Identities;
use page_tokens::{ChainPosition, OutgoingBody, TokenMap};
use redact::Redactor;
use replace::Replacements;

/// The storage rewrites of one run, in their one order. It learns as it goes (the real tokens
/// and handed-out values of this run), so one pipeline serves a whole run.
pub struct Pipeline {
    /// Real → stand-in ids the session's creating calls generated.
    identities: Identities,
    /// The session's dates as virtual dates.
    dates: Dates,
    /// Values stored and keyed as others (the config file's `[aliases]`).
    aliases: Replacements,
    /// Synthetic → real pagination tokens handed out in this run.
    tokens: TokenMap,
    /// Secrets and placeholders in what is stored.
    redactor: Redactor,
    /// Which fields request keys leave out.
    rules: Rules,
}

impl Pipeline {
    pub fn new(settings: &Settings) -> Pipeline {
        Pipeline {
            identities: Identities::new(settings.virtualize.ids),
            dates: Dates::new(settings.virtualize.dates),
            aliases: Replacements::new(settings.aliases.iter().cloned()),
            tokens: TokenMap::default(),
            redactor: Redactor::new(&settings.secrets),
            rules: settings.rules.clone(),
        }
    }

    /// The request as stored and keyed: aliases and the session's identities as what the
    /// cassette stores for them, a real pagination token as its synthetic one, then secrets
    /// hashed and handed-out values as placeholders, then ignored fields masked.
    pub fn request<'a>(&self, operation: &str, body: &'a Value) -> Cow<'a, Value> {
        if self.identities.active() || !self.aliases.is_empty() {
            let mut stored = body.clone();
            let aliased = self.aliases.rewrite(&mut stored, false);
            if self.identities.rewrite(&mut stored) | aliased {
                let stored = self.tokens_then_redaction(operation, &stored).into_owned();
                return Cow::Owned(stored);
            }
        }
        self.tokens_then_redaction(operation, body)
    }

    /// [`Pipeline::request`] past the identities.
    fn tokens_then_redaction<'a>(&self, operation: &str, body: &'a Value) -> Cow<'a, Value> {
        let mask = |v: &Value| -> Option<Value> {
            match self.redactor.request(v) {
                Cow::Borrowed(v) => owned(self.rules.mask_ignored(operation, v)),
                Cow::Owned(redacted) => {
                    Some(owned(self.rules.mask_ignored(operation, &redacted)).unwrap_or(redacted))
                }
            }
        };
        match self.tokens.stored_request(operation, body) {
            None => mask(body).map_or(Cow::Borrowed(body), Cow::Owned),
            Some(tokenized) => Cow::Owned(mask(&tokenized).unwrap_or(tokenized)),
        }
    }

    /// How many values storing the request hashes (slow on purpose: none means no hashing at
    /// all), or why it is refused: more than [`redact::MAX_SECRETS_PER_REQUEST`].
    pub fn secrets_to_hash(&self, operation: &str, body: &Value) -> Result<usize, BadRequest> {
        let secrets = self.redactor.secret_count(body);
        if secrets > redact::MAX_SECRETS_PER_REQUEST {
            return Err(BadRequest::Serialization(format!(
                "cognito-vcr: {operation} carries {secrets} secret values; at most {} are hashed per request",
                redact::MAX_SECRETS_PER_REQUEST
            )));
        }
        Ok(secrets)
    }

    /// The member of `body` that sends back a placeholder (no upstream issued it), if any.
    pub fn sent_placeholder(&self, body: &Value) -> Option<String> {
        self.redactor.sent_placeholder(body)
    }

    /// The keying rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The key of a request in its stored form (see [`Pipeline::request`]).
    pub fn key(&self, operation: Arc<str>, stored: &Value) -> RequestKey {
        RequestKey::keyed(operation, stored, &self.rules)
    }

    /// A request as it may be logged when nothing is stored (passthrough): secrets hashed.
    pub fn redacted<'a>(&self, body: &'a Value) -> Cow<'a, Value> {
        self.redactor.request(body)
    }

    /// What to send upstream for a request to be recorded: a synthetic token goes out as the
    /// real one it stands for.
    pub fn outgoing(&self, operation: &str, body: &Value) -> OutgoingBody {
        self.tokens.outgoing(operation, body)
    }

    /// What recording keeps of an exchange: the interaction with the request as stored
    /// ([`Pipeline::request`]) and the answer as stored ([`Pipeline::answer`]); `None` for an
    /// answer that is not recorded (a 5xx or throttling, unless `server_errors`). `sent` is the
    /// request as the client sent it. Recording a forwarded call and importing a HAR entry both
    /// come here.
    pub fn recorded(
        &self,
        key: &RequestKey,
        occurrence: u32,
        request: Value,
        sent: &Value,
        mut response: Response,
        server_errors: bool,
    ) -> Option<Interaction> {
        if !response.is_recordable() && !server_errors {
            return None;
        }
        self.answer(key, occurrence, &request, sent, &mut response);
        Some(Interaction {
            scope: key.scope.clone(),
            operation: key.operation.to_string(),
            occurrence,
            request,
            response,
        })
    }

    /// The answer as stored: a success's pagination token as its synthetic one (remembered for
    /// the requests that send it back), then secrets hashed and handed-out values as
    /// placeholders, then any secret of the request it echoes hashed. `request` is the request
    /// as stored ([`Pipeline::request`]), `sent` as the client sent it. The client gets the
    /// upstream's own answer.
    pub fn answer(
        &self,
        key: &RequestKey,
        occurrence: u32,
        request: &Value,
        sent: &Value,
        response: &mut Response,
    ) {
        let mut body = Body::new(response.body.clone());
        self.virtualize(key, occurrence, request, response.status, &mut body);
        if response.status < 300 {
            if let Some(position) = self.chain_position(&key.operation, request) {
                self.tokens
                    .store_answer(&key.operation, &position, &mut body);
            }
        }
        let claims = |claims: &mut Value| {
            self.identities.rewrite_claims(claims);
        };
        self.redactor.answer(key, occurrence, &mut body, &claims);
        // A secret of the request echoed in the answer (an error message quoting it).
        self.redactor.echoes(sent, &mut body);
        if let Some(stored) = body.into_stored() {
            response.body = stored;
        }
        // An authorization redirect: its code (or an implicit grant's tokens) handed out as
        // placeholders, its state not kept.
        if &*key.operation == oauth::Endpoint::Authorize.operation() {
            let mut handed_out =
                |field: &str, real: &str| self.redactor.handed_out(key, occurrence, field, real);
            if let Some(location) = oauth::stored_redirect(response, &mut handed_out) {
                response.set_header("location", &location);
            }
        }
    }
}

impl Pipeline {
    /// The answer with what the session generated as stand-ins (learned from a creating call's
    /// success first) and the session's dates as virtual dates; before pagination tokens, whose
    /// synthetic form is derived from the page as stored.
    fn virtualize(
        &self,
        key: &RequestKey,
        occurrence: u32,
        request: &Value,
        status: u16,
        body: &mut Body,
    ) {
        let success = status < 300;
        let write = !is_read_only(&key.operation);
        // Most answers (a page of users made before the run) hold nothing of the session: told
        // from the bytes, they are not parsed here at all.
        let may_change = |raw: &[u8]| {
            self.aliases.may_change(raw)
                || self.identities.may_change(raw)
                || (success
                    && (self.identities.learns(&key.operation)
                        || self.dates.may_change(write, raw)))
        };
        if body.unchanged().is_some_and(|raw| !may_change(raw)) {
            return;
        }
        let Some(answer) = body.json() else {
            return;
        };
        let mut changed = self.aliases.rewrite(answer, false);
        if success {
            self.identities.learn(key, occurrence, request, answer);
        }
        changed |= self.identities.rewrite(answer);
        if success {
            let pool = request.get("UserPoolId").and_then(Value::as_str);
            changed |= self.dates.rewrite(&key.scope, write, pool, answer);
        }
        if changed {
            body.set_changed();
        }
    }

    /// Where a stored request of a paginated operation stands in its chain; `None` for other
    /// operations.
    pub fn chain_position(&self, operation: &str, request: &Value) -> Option<ChainPosition> {
        let field = pagination::fields(operation)?.request;
        let token = request.get(field).and_then(Value::as_str);
        let request = match (token, request) {
            (Some(_), Value::Object(map)) => {
                let mut without = map.clone();
                without.remove(field);
                self.rules.key_digest(operation, &Value::Object(without))
            }
            _ => self.rules.key_digest(operation, request),
        };
        Some(ChainPosition {
            request,
            token: token.map(str::to_owned),
        })
    }
}

/// `Some` of a value that was changed.
fn owned(v: Cow<'_, Value>) -> Option<Value> {
    match v {
        Cow::Borrowed(_) => None,
        Cow::Owned(v) => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    fn pipeline(file: &str) -> Pipeline {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cognito-vcr.toml");
        std::fs::write(&path, file).unwrap();
        Pipeline::new(&Settings::load(Some(&path), &dir.path().join("c.json")).unwrap())
    }

    fn response(body: &str) -> Response {
        Response {
            status: 200,
            headers: vec![],
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn token_validity_units_are_units_not_tokens() {
        let p = pipeline("");
        let units = json!({"AccessToken": "hours", "IdToken": "minutes", "RefreshToken": "days"});
        let sent = json!({"UserPoolId": "p", "ClientName": "c", "TokenValidityUnits": units});
        assert_eq!(p.request("CreateUserPoolClient", &sent).into_owned(), sent);
        let key = p.key("DescribeUserPoolClient".into(), &json!({"ClientId": "c"}));
        let body = json!({"UserPoolClient": {"ClientId": "c", "TokenValidityUnits": units}});
        let mut answer = response(&body.to_string());
        p.answer(&key, 1, &json!({"ClientId": "c"}), &json!({}), &mut answer);
        let stored: Value = crate::keying::json::parse(&answer.body).unwrap();
        assert_eq!(stored["UserPoolClient"]["TokenValidityUnits"], units);
    }

    #[test]
    fn one_time_codes_and_secret_attributes_are_not_stored_and_codes_not_keyed() {
        let p = pipeline("");
        let answer = |code: &str| {
            json!({"ChallengeName": "SOFTWARE_TOKEN_MFA", "ClientId": "c", "Session": "s",
                   "ChallengeResponses": {"USERNAME": "carol", "SOFTWARE_TOKEN_MFA_CODE": code}})
        };
        let (first, second) = (answer("123456"), answer("654321"));
        let stored = p.request("RespondToAuthChallenge", &first);
        assert!(!stored.to_string().contains("123456"), "{stored}");
        assert_eq!(
            p.key("RespondToAuthChallenge".into(), &stored),
            p.key(
                "RespondToAuthChallenge".into(),
                &p.request("RespondToAuthChallenge", &second)
            )
        );
        let verify = json!({"AccessToken": "a", "UserCode": "123456"});
        assert!(!p
            .request("VerifySoftwareToken", &verify)
            .to_string()
            .contains("123456"));
        let attrs = json!({"UserPoolId": "p", "Username": "u", "UserAttributes": [
            {"Name": "custom:password_hint", "Value": "my dog"},
            {"Name": "custom:ApiSecret", "Value": "k3y"},
            {"Name": "email", "Value": "u@example.com"}]});
        let stored = p.request("AdminUpdateUserAttributes", &attrs).to_string();
        assert!(
            !stored.contains("my dog") && !stored.contains("k3y"),
            "{stored}"
        );
        assert!(stored.contains("u@example.com"));
        let key = p.key("AdminGetUser".into(), &json!({"Username": "u"}));
        let mut got = response(
            r#"{"Username":"u","UserAttributes":[{"Name":"custom:password_hint","Value":"my dog"}]}"#,
        );
        p.answer(&key, 1, &json!({"Username": "u"}), &json!({}), &mut got);
        assert!(!String::from_utf8_lossy(&got.body).contains("my dog"));
    }

    #[test]
    fn a_secret_of_the_request_echoed_in_the_answer_is_hashed() {
        let p = pipeline("");
        let sent = json!({"ClientId": "c", "SecretHash": "c2VjcmV0aGFzaA==", "ConfirmationCode": "987654"});
        let key = p.key("ConfirmSignUp".into(), &json!({"ClientId": "c"}));
        let mut error = response(
            r#"{"__type":"NotAuthorizedException","message":"SecretHash c2VjcmV0aGFzaA== does not match for code 987654"}"#,
        );
        error.status = 400;
        p.answer(&key, 1, &json!({}), &sent, &mut error);
        let text = String::from_utf8_lossy(&error.body);
        assert!(
            !text.contains("c2VjcmV0aGFzaA==") && !text.contains("987654"),
            "{text}"
        );
        assert!(text.contains(redact::REDACTED_PREFIX), "{text}");
        // Written with escapes by the upstream, it is found all the same.
        let sent = json!({"ClientId": "c", "Password": "p/ss\"word1"});
        let mut echoed = response(r#"{"message":"bad password p\/ss\"word1"}"#);
        p.answer(&key, 2, &json!({}), &sent, &mut echoed);
        let text = String::from_utf8_lossy(&echoed.body);
        assert!(!text.contains("word1"), "{text}");
    }

    /// `text` with its first letter written as a `\u` escape, as JSON allows anywhere in a string.
    fn escape_first(text: &str) -> String {
        let mut chars = text.chars();
        let first = chars.next().unwrap();
        format!("\\u{:04X}{}", first as u32, chars.as_str())
    }

    /// The same document written many ways: key order, whitespace, `\u` escapes in names and
    /// in values, nesting, a secret as an array.
    fn layouts(secret: &str) -> Vec<String> {
        let mut out = Vec::new();
        for name_escaped in [false, true] {
            for value_escaped in [false, true] {
                for space in ["", " ", "\n  "] {
                    for reversed in [false, true] {
                        for nested in [false, true] {
                            let name = |n: &str| match name_escaped {
                                true => escape_first(n),
                                false => n.to_owned(),
                            };
                            let value = match value_escaped {
                                true => escape_first(secret),
                                false => secret.to_owned(),
                            };
                            let colon = format!("{space}:{space}");
                            let mut members = [
                                format!("\"{}\"{colon}\"{value}\"", name("AccessToken")),
                                format!("\"{}\"{colon}\"{value}\"", name("RefreshToken")),
                                format!("\"ExpiresIn\"{colon}3600"),
                            ];
                            if reversed {
                                members.reverse();
                            }
                            let result =
                                format!("{{{space}{}{space}}}", members.join(&format!(",{space}")));
                            let mut doc = format!(
                                "{{\"AuthenticationResult\"{colon}{result},{space}\"{}\"{colon}[\"{value}\"]}}",
                                name("Session")
                            );
                            if nested {
                                doc = format!("{{\"Wrapped\"{colon}[{doc}]}}");
                            }
                            out.push(doc);
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn no_layout_of_an_answer_or_a_request_leaves_a_secret_in_what_is_stored() {
        let secret = "Zq9SECRETvalue42";
        let p = pipeline("");
        let key = p.key("InitiateAuth".into(), &json!({"ClientId": "c"}));
        let all = layouts(secret);
        assert_eq!(all.len(), 48);
        for (n, doc) in all.iter().enumerate() {
            // As an upstream's answer...
            let mut answer = response(doc);
            p.answer(&key, n as u32 + 1, &json!({}), &json!({}), &mut answer);
            let stored = String::from_utf8_lossy(&answer.body).into_owned();
            assert!(!stored.contains(secret), "answer {doc}\n stored {stored}");
            // ... and as a request body (a secret name over a string or an array).
            let request =
                crate::keying::json::parse(doc.replace("AccessToken", "Password").as_bytes())
                    .unwrap();
            let stored = p.request("SignUp", &request).to_string();
            assert!(!stored.contains(secret), "request {doc}\n stored {stored}");
        }
    }

    #[test]
    fn a_secret_that_is_not_a_string_is_hashed_whole() {
        let p = pipeline("");
        let sent =
            json!({"ClientId": "c", "Password": {"nested": ["S3cret!"]}, "SecretHash": 12345});
        let stored = p.request("SignUp", &sent);
        for field in ["Password", "SecretHash"] {
            let v = stored[field].as_str().unwrap();
            assert!(redact::mark_of(v).is_some(), "{field}: {v}");
        }
        assert!(!stored.to_string().contains("S3cret!") && !stored.to_string().contains("12345"));
    }

    #[test]
    fn a_request_with_nothing_to_rewrite_is_not_copied() {
        let p = pipeline("");
        let body = json!({"UserPoolId": "p", "Limit": 7});
        assert!(matches!(p.request("ListUsers", &body), Cow::Borrowed(_)));
    }

    #[test]
    fn the_request_goes_through_tokens_then_redaction_then_masking() {
        let p = pipeline("[keys.ignore]\nListUsers = [\"AttributesToGet\"]\n[secrets]\nfields = [\"custom:id\"]\n");
        let key = p.key("ListUsers".into(), &json!({"UserPoolId": "p"}));
        // The upstream hands out a real token; its stored form is a synthetic one.
        let mut first = response(r#"{"Users":[],"PaginationToken":"REAL"}"#);
        p.answer(&key, 1, &json!({"UserPoolId": "p"}), &json!({}), &mut first);
        let first: Value = crate::keying::json::parse(&first.body).unwrap();
        let synthetic = first["PaginationToken"].as_str().unwrap();
        assert!(page_tokens::is_synthetic(synthetic));

        let sent = json!({
            "UserPoolId": "p",
            "PaginationToken": "REAL",
            "AttributesToGet": ["email"],
            "custom:id": "1234",
        });
        let stored = p.request("ListUsers", &sent);
        assert_eq!(stored["PaginationToken"], synthetic);
        assert_eq!(
            stored["AttributesToGet"],
            crate::keying::rules::IGNORED_MARK
        );
        let hashed = stored["custom:id"].as_str().unwrap();
        assert!(redact::mark_of(hashed).is_some() && !hashed.contains("1234"));
        // The key is that of the stored form, whatever the ignored field held.
        let other = json!({"UserPoolId": "p", "PaginationToken": "REAL", "custom:id": "1234"});
        assert_eq!(
            p.key("ListUsers".into(), &stored),
            p.key("ListUsers".into(), &p.request("ListUsers", &other))
        );
        // Upstream, the client's real token goes as it came.
        assert_eq!(p.outgoing("ListUsers", &sent), OutgoingBody::AsIs);
    }

    #[test]
    fn an_answer_keeps_no_handed_out_value_and_an_error_keeps_its_token_field() {
        let p = pipeline("");
        let key = p.key(
            "InitiateAuth".into(),
            &json!({"AuthFlow": "USER_PASSWORD_AUTH"}),
        );
        let mut answer =
            response(r#"{"AuthenticationResult":{"AccessToken":"eyJreal","RefreshToken":"r"}}"#);
        p.answer(&key, 1, &json!({}), &json!({}), &mut answer);
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains("eyJreal") && text.contains(crate::jwt::PLACEHOLDER_PREFIX),
            "{text}"
        );

        let key = p.key("ListUsers".into(), &json!({"UserPoolId": "p"}));
        let mut error = response(r#"{"__type":"X","PaginationToken":"REAL"}"#);
        error.status = 400;
        p.answer(&key, 1, &json!({"UserPoolId": "p"}), &json!({}), &mut error);
        assert_eq!(
            &error.body[..],
            br#"{"__type":"X","PaginationToken":"REAL"}"#
        );
    }
}
