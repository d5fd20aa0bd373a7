//! The owned snapshot of one exchange: the parsed request and the recorded response.
//!
//! Everything after the hyper edge works on these values, so keying, recording and replaying
//! are plain synchronous code.

use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;

/// The `X-Amz-Target` prefix of every Cognito user-pools operation.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// The `X-Amz-Target` prefix of every Cognito identity-pools (cognito-identity) operation.
pub const IDENTITY_TARGET_PREFIX: &str = "AWSCognitoIdentityService.";

/// How the stored name of every OAuth2/OIDC endpoint's operation begins (`OAuth2.Token`; see
/// [`crate::cognito::oauth`]).
pub const OAUTH_PREFIX: &str = "OAuth2.";

/// Which Cognito API an operation belongs to, told by its target's prefix. User-pools
/// operations are named bare (`ListUsers`), as every cassette has always named them;
/// identity-pools operations keep their prefix (`AWSCognitoIdentityService.GetId`), since both
/// APIs have operations of the same name (`TagResource`, `ListTagsForResource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `cognito-idp`, Amazon Cognito user pools.
    UserPools,
    /// `cognito-identity`, Amazon Cognito identity pools (federated identities).
    IdentityPools,
    /// A user pool's OAuth 2.0 / OpenID Connect endpoints (`OAuth2.Token`...; see
    /// [`crate::cognito::oauth`]): its domain's `/oauth2/*` and its issuer's `.well-known`.
    OAuth2,
}

impl Service {
    /// The service of an operation name as stored and keyed.
    pub fn of(operation: &str) -> Service {
        if operation.starts_with(IDENTITY_TARGET_PREFIX) {
            Service::IdentityPools
        } else if operation.starts_with(OAUTH_PREFIX) {
            Service::OAuth2
        } else {
            Service::UserPools
        }
    }

    /// The SigV4 service name and endpoint prefix (`cognito-idp`, `cognito-identity`); the
    /// OAuth2 endpoints' issuer is `cognito-idp`'s host.
    pub fn endpoint_prefix(self) -> &'static str {
        match self {
            Service::UserPools | Service::OAuth2 => "cognito-idp",
            Service::IdentityPools => "cognito-identity",
        }
    }
}

/// The operation's name within its service (`AWSCognitoIdentityService.GetId` → `GetId`,
/// `OAuth2.Token` → `Token`).
pub fn bare(operation: &str) -> &str {
    operation
        .strip_prefix(IDENTITY_TARGET_PREFIX)
        .or_else(|| operation.strip_prefix(OAUTH_PREFIX))
        .unwrap_or(operation)
}

/// The `X-Amz-Target` header of an operation as stored (the inverse of [`operation_of`]).
pub fn target_of(operation: &str) -> std::borrow::Cow<'_, str> {
    match Service::of(operation) {
        // An OAuth2 operation has no target: it is told by its path.
        Service::IdentityPools | Service::OAuth2 => std::borrow::Cow::Borrowed(operation),
        Service::UserPools => std::borrow::Cow::Owned(format!("{TARGET_PREFIX}{operation}")),
    }
}

/// Whether `s` names an operation as stored: a bare user-pools name, a prefixed
/// identity-pools or OAuth2 one.
pub fn is_operation(s: &str) -> bool {
    is_name(bare(s))
}

/// The response headers worth keeping: what clients read. Never `Date`, request ids,
/// `Content-Length` or hop-by-hop headers.
pub const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "x-amzn-errortype",
    // The OAuth2 endpoints': the authorization redirect, a bearer token's refusal.
    "location",
    "www-authenticate",
];

/// The stored answer's header that holds how long the upstream took (its latency class, see
/// `cassette::timing`); never sent to a client.
pub const LATENCY_HEADER: &str = "cognito-vcr-latency-ms";

/// The content type of AWS JSON 1.1.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A Cognito request reduced to what identifies it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Shared with the request key and the log line (see [`crate::keying::key::RequestKey`]).
    pub operation: Arc<str>,
    pub body: Value,
    /// The bytes as the client sent them (forwarded unchanged).
    pub raw: Bytes,
}

/// Why a request cannot be handled; each maps to a Cognito-shaped error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRequest {
    /// Missing or foreign `X-Amz-Target`.
    UnknownOperation(String),
    /// The body is not JSON, or not a JSON object.
    Serialization(String),
    /// The body is larger than the limit.
    TooLarge { limit: usize },
    /// An endpoint path under `/scope/` that names no scope.
    Scope(String),
    /// The body did not arrive in time.
    Timeout { after: std::time::Duration },
    /// A request this proxy does not serve: from a web page, or naming another host.
    Forbidden(String),
    /// More request headers than a Cognito call has any use for.
    TooManyHeaders { limit: usize },
    /// The memory for request bodies (`--body-budget`) stayed spent for the body timeout.
    Busy { budget: usize },
}

impl Request {
    /// Parse the target header and the body. An empty body counts as `{}`.
    pub fn parse(target: Option<&str>, raw: Bytes) -> Result<Request, BadRequest> {
        let operation = operation_of(target)?;
        let body: Value = if raw.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            crate::keying::json::parse(&raw).map_err(|e| {
                BadRequest::Serialization(format!("request body of {operation} is not JSON: {e}"))
            })?
        };
        if !body.is_object() {
            return Err(BadRequest::Serialization(format!(
                "request body of {operation} must be a JSON object"
            )));
        }
        Ok(Request {
            operation: operation.into(),
            body,
            raw,
        })
    }
}

/// The operation named by an `X-Amz-Target` header: a user-pools operation bare (`ListUsers`),
/// an identity-pools one with its prefix (see [`Service`]).
pub fn operation_of(target: Option<&str>) -> Result<&str, BadRequest> {
    let target = target.ok_or_else(|| {
        BadRequest::UnknownOperation(format!(
            "missing X-Amz-Target header; expected {TARGET_PREFIX}<Operation> or {IDENTITY_TARGET_PREFIX}<Operation>"
        ))
    })?;
    match target.strip_prefix(TARGET_PREFIX) {
        Some(op) if is_name(op) => Ok(op),
        None if target.strip_prefix(IDENTITY_TARGET_PREFIX).is_some_and(is_name) => Ok(target),
        _ => Err(BadRequest::UnknownOperation(format!(
            "X-Amz-Target {target:?} is not a Cognito operation; expected {TARGET_PREFIX}<Operation> or {IDENTITY_TARGET_PREFIX}<Operation>"
        ))),
    }
}

/// A response as recorded: status, the headers that matter, and the body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in a stable order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    /// An answer as recorded: the status, the headers clients read ([`keep_response_header`],
    /// names in lower case, sorted) and the body. The one rule for an upstream's answer and an
    /// answer read from a HAR file.
    pub fn recorded<'h>(
        status: u16,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
        body: Bytes,
    ) -> Response {
        let mut headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(name, _)| keep_response_header(name))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        headers.sort();
        Response {
            status,
            headers,
            body,
        }
    }

    /// Set header `name` (lower case) to `value`, keeping the headers sorted.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self.headers.sort();
    }

    /// The Cognito error name of an error response (`__type`, text after `#`, before `:`),
    /// falling back to the `x-amzn-errortype` header.
    pub fn error_type(&self) -> Option<String> {
        if self.status < 400 {
            return None;
        }
        let from_body = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("__type").and_then(Value::as_str).map(str::to_owned));
        let from_header = || {
            self.headers
                .iter()
                .find(|(k, _)| k == "x-amzn-errortype")
                .map(|(_, v)| v.clone())
        };
        from_body.or_else(from_header).map(|t| clean_error_type(&t))
    }

    /// Whether a response of the upstream is recorded by default: not 5xx, not throttling.
    pub fn is_recordable(&self) -> bool {
        self.status < 500 && self.error_type().as_deref() != Some("TooManyRequestsException")
    }
}

/// `aws.foo#UserNotFoundException:http://...` → `UserNotFoundException`.
pub fn clean_error_type(raw: &str) -> String {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash
        .split(':')
        .next()
        .unwrap_or(after_hash)
        .to_owned()
}

/// Whether a response header is kept in a recording.
pub fn keep_response_header(name: &str) -> bool {
    KEPT_RESPONSE_HEADERS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// Whether a stored answer (a cassette's) keeps header `name`: those an upstream's answer keeps,
/// and its latency class, which only the recording sets (an upstream sending one has it dropped).
pub fn keep_stored_header(name: &str) -> bool {
    keep_response_header(name) || name.eq_ignore_ascii_case(LATENCY_HEADER)
}

/// Whether `s` can be an operation or error name: ASCII letters and digits, not empty.
pub fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operation_and_body() {
        let r = Request::parse(
            Some("AWSCognitoIdentityProviderService.ListUsers"),
            Bytes::from_static(br#"{"UserPoolId":"p"}"#),
        )
        .unwrap();
        assert_eq!(&*r.operation, "ListUsers");
        assert_eq!(r.body["UserPoolId"], "p");
    }

    #[test]
    fn identity_pools_operations_keep_their_prefix_and_their_target() {
        let r = Request::parse(
            Some("AWSCognitoIdentityService.GetId"),
            Bytes::from_static(br#"{"IdentityPoolId":"us-east-1:x"}"#),
        )
        .unwrap();
        assert_eq!(&*r.operation, "AWSCognitoIdentityService.GetId");
        assert_eq!(Service::of(&r.operation), Service::IdentityPools);
        assert_eq!(bare(&r.operation), "GetId");
        assert_eq!(target_of(&r.operation), "AWSCognitoIdentityService.GetId");
        // The same name in the other API is another operation.
        let tag = operation_of(Some("AWSCognitoIdentityProviderService.TagResource")).unwrap();
        assert_eq!(tag, "TagResource");
        assert_eq!(Service::of(tag), Service::UserPools);
        assert_eq!(
            target_of(tag),
            "AWSCognitoIdentityProviderService.TagResource"
        );
        assert_ne!(
            tag,
            operation_of(Some("AWSCognitoIdentityService.TagResource")).unwrap()
        );
        assert!(is_operation("AWSCognitoIdentityService.GetId") && is_operation("ListUsers"));
        for bad in [
            "AWSCognitoIdentityService.",
            "AWSCognitoIdentityService.Get Id",
            "AWSCognitoIdentityServiceGetId",
        ] {
            assert!(operation_of(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        let r = Request::parse(
            Some("AWSCognitoIdentityProviderService.ListUserPools"),
            Bytes::new(),
        );
        assert_eq!(r.unwrap().body, serde_json::json!({}));
    }

    #[test]
    fn bad_targets_are_unknown_operations() {
        for t in [
            None,
            Some("DynamoDB_20120810.GetItem"),
            Some(TARGET_PREFIX),
            Some("AWSCognitoIdentityProviderService.List Users"),
        ] {
            assert!(matches!(
                Request::parse(t, Bytes::from_static(b"{}")),
                Err(BadRequest::UnknownOperation(_))
            ));
        }
    }

    #[test]
    fn bad_bodies_are_serialization_errors() {
        for b in [&b"{not json"[..], b"[1,2]", b"\"text\""] {
            assert!(matches!(
                Request::parse(
                    Some("AWSCognitoIdentityProviderService.ListUsers"),
                    Bytes::copy_from_slice(b)
                ),
                Err(BadRequest::Serialization(_))
            ));
        }
    }

    #[test]
    fn recorded_keeps_the_headers_clients_read_in_lower_case_and_order() {
        let r = Response::recorded(
            400,
            [
                ("X-Amzn-ErrorType", "UserNotFoundException:"),
                ("Date", "Sun, 06 Dec 2026 10:48:30 GMT"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", "r-1"),
                ("Content-Length", "2"),
            ],
            Bytes::from_static(b"{}"),
        );
        assert_eq!(
            r.headers,
            [
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                ("x-amzn-errortype".into(), "UserNotFoundException:".into()),
            ]
        );
    }

    #[test]
    fn error_type_reads_body_then_header() {
        let r = Response {
            status: 400,
            headers: vec![],
            body: Bytes::from_static(
                br#"{"__type":"com.amazon#UserNotFoundException:x","message":"m"}"#,
            ),
        };
        assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"));
        let r = Response {
            status: 400,
            headers: vec![(
                "x-amzn-errortype".into(),
                "TooManyRequestsException:".into(),
            )],
            body: Bytes::new(),
        };
        assert_eq!(r.error_type().as_deref(), Some("TooManyRequestsException"));
        assert!(!r.is_recordable());
        assert!(!Response {
            status: 500,
            headers: vec![],
            body: Bytes::new()
        }
        .is_recordable());
    }

    #[test]
    fn an_upstreams_own_latency_header_is_not_recorded_a_cassettes_is_read() {
        let answer = Response::recorded(
            200,
            [
                ("Content-Type", JSON_CONTENT_TYPE),
                (LATENCY_HEADER, "100000"),
            ],
            Bytes::new(),
        );
        assert_eq!(
            answer.headers,
            [("content-type".to_owned(), JSON_CONTENT_TYPE.to_owned())]
        );
        assert!(keep_stored_header(LATENCY_HEADER) && !keep_response_header(LATENCY_HEADER));
    }
}
