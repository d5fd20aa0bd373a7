//! The error names (`__type`, and `x-amzn-errortype`) of every error the proxy answers with
//! itself: Cognito's own where one fits, so that SDKs map them as they would Cognito's, and
//! `CognitoVcr…` for conditions only the proxy has.

/// A parameter Cognito would refuse too: an unknown pagination token.
pub const INVALID_PARAMETER: &str = "InvalidParameterException";
/// The proxy could not record or read its store.
pub const INTERNAL: &str = "InternalErrorException";
/// A missing or foreign `X-Amz-Target`.
pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
/// A body that is not a JSON object.
pub const SERIALIZATION: &str = "SerializationException";
/// A body over the `--max-body` limit.
pub const TOO_LARGE: &str = "RequestEntityTooLargeException";
/// Replay has no recorded answer for this call.
pub const REPLAY_MISS: &str = "CognitoVcrReplayMissException";
/// The upstream could not be reached or did not answer in time.
pub const UPSTREAM_UNAVAILABLE: &str = "CognitoVcrUpstreamUnavailableException";
/// A call towards AWS whose region cannot be told.
pub const NO_REGION: &str = "CognitoVcrNoRegionException";
/// Recording a user pool's OAuth2 endpoints from AWS without its domain (`--oauth-domain`).
pub const NO_OAUTH_DOMAIN: &str = "CognitoVcrNoOAuthDomainException";
/// Re-signing failed (no credentials).
pub const SIGNING: &str = "CognitoVcrSigningException";
/// A CONNECT the proxy does not intercept or tunnel.
pub const CONNECT_REFUSED: &str = "CognitoVcrConnectRefusedException";
/// An endpoint path under `/scope/` that names no scope.
pub const INVALID_SCOPE: &str = "CognitoVcrInvalidScopeException";
/// A request from a web page, or naming a host that is not this proxy's.
pub const FORBIDDEN: &str = "CognitoVcrForbiddenException";
/// A request body that did not arrive in time.
pub const REQUEST_TIMEOUT: &str = "CognitoVcrRequestTimeoutException";
/// More request headers than the proxy reads.
pub const TOO_MANY_HEADERS: &str = "CognitoVcrTooManyHeadersException";
/// Plain HTTP sent to a TLS listener.
pub const TLS_REQUIRED: &str = "CognitoVcrTlsRequiredException";
/// A JWKS asked of a proxy that signs no tokens (record and passthrough modes).
pub const NO_JWKS: &str = "CognitoVcrNoJwksException";
/// The proxy holds as many request bodies as its budget allows (`--body-budget`): try again.
pub const BUSY: &str = "CognitoVcrBusyException";
/// Cognito's throttling error (injected faults).
pub const TOO_MANY_REQUESTS: &str = "TooManyRequestsException";
/// Cognito's error for a quota exceeded (injected faults).
pub const LIMIT_EXCEEDED: &str = "LimitExceededException";

/// The status Cognito answers these errors with, for injected faults that name one; other names
/// take a recorded answer, else 400.
pub fn injected_status(name: &str) -> Option<u16> {
    match name {
        TOO_MANY_REQUESTS | LIMIT_EXCEEDED => Some(400),
        INTERNAL => Some(500),
        _ => None,
    }
}

/// Every name above, for the test that keeps them distinct and well-formed.
#[cfg(test)]
const ALL: &[&str] = &[
    BUSY,
    INVALID_PARAMETER,
    INTERNAL,
    UNKNOWN_OPERATION,
    SERIALIZATION,
    TOO_LARGE,
    REPLAY_MISS,
    UPSTREAM_UNAVAILABLE,
    NO_REGION,
    NO_OAUTH_DOMAIN,
    SIGNING,
    CONNECT_REFUSED,
    TLS_REQUIRED,
    NO_JWKS,
    INVALID_SCOPE,
    REQUEST_TIMEOUT,
    TOO_MANY_HEADERS,
    FORBIDDEN,
    TOO_MANY_REQUESTS,
    LIMIT_EXCEEDED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_exceptions() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for name in ALL {
            assert!(
                name.ends_with("Exception") && name.bytes().all(|b| b.is_ascii_alphabetic()),
                "{name}"
            );
        }
    }
}
