//! Scopes chosen by the URL path, and the control call that starts a scope over.
//!
//! - `/` (or any path outside `/scope/`): the default scope, as before scopes existed
//! - `/scope/NAME` or `/scope/NAME/`: scope `NAME` (the path is not forwarded upstream)
//! - `POST /scope/NAME/reset`, `POST /reset`: start scope `NAME` (or the default scope) over:
//!   its occurrence counters go back to 0, so a retried test replays from its start; in record
//!   mode its interactions are recorded afresh
//! - `GET /scope/NAME/summary`: what happened in scope `NAME` since its last reset (misses with
//!   their messages); `GET /summary`: the run so far
//! - `GET /<UserPoolId>/.well-known/jwks.json`: the keys of the tokens the proxy signs
//! - `/scope/NAME/oauth2/token`, `/scope/NAME/<UserPoolId>/.well-known/openid-configuration`...:
//!   a user pool's OAuth2/OIDC endpoints in scope `NAME` (see [`inner_path`])

use std::collections::HashMap;
use std::sync::RwLock;

use crate::cognito::oauth::Endpoint;
use crate::keying::scope::Scope;

/// Scope names remembered at most (a client inventing a name per request must not grow it
/// without bound; past it, names are checked and made each time).
const MAX_NAMES: usize = 65_536;

/// The scopes requests named so far, by name: a scoped request reuses its scope instead of
/// checking the name and allocating it again.
#[derive(Default)]
pub struct ScopeNames {
    seen: RwLock<HashMap<Box<str>, Scope>>,
}

impl ScopeNames {
    /// The scope of this name, if it is a valid scope name.
    pub fn named(&self, name: &str) -> Result<Scope, String> {
        if let Some(scope) = self
            .seen
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(scope.clone());
        }
        let scope = Scope::named(name)?;
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        if seen.len() < MAX_NAMES {
            seen.insert(name.into(), scope.clone());
        }
        Ok(scope)
    }
}

/// What a request's path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A Cognito call in this scope.
    Call(Scope),
    /// A call to the proxy itself.
    Control(Control),
}

/// The calls to the proxy itself, answered without keying or the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Start this scope over.
    Reset(Scope),
    /// What happened in this named scope since its last reset.
    ScopeSummary(Scope),
    /// What the run did so far.
    RunSummary,
    /// The signing keys of the tokens the proxy hands out (`GET /<UserPoolId>/.well-known/jwks.json`).
    Jwks,
}

/// Where clients fetch a pool's signing keys: `/<UserPoolId>/.well-known/jwks.json`.
const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Read the scope (or the control call) from a request's method and path; an error says what
/// is wrong with a path under `/scope/`.
pub fn route(names: &ScopeNames, method: &hyper::Method, path: &str) -> Result<Routed, String> {
    if path == "/" {
        return Ok(Routed::Call(Scope::default()));
    }
    if method == hyper::Method::GET && path.ends_with(JWKS_PATH) {
        return Ok(Routed::Control(Control::Jwks));
    }
    if matches!(path, "/reset" | "/reset/") && method == hyper::Method::POST {
        return Ok(Routed::Control(Control::Reset(Scope::default())));
    }
    if matches!(path, "/summary" | "/summary/") && method == hyper::Method::GET {
        return Ok(Routed::Control(Control::RunSummary));
    }
    let Some(rest) = path.strip_prefix("/scope/") else {
        if path == "/scope" {
            return Err(format!(
                "cognito-vcr: endpoint path {path:?} names no scope: a scope's endpoint is /scope/NAME"
            ));
        }
        return Ok(Routed::Call(Scope::default()));
    };
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let scope = names
        .named(name)
        .map_err(|e| format!("cognito-vcr: endpoint path {path:?}: {e}"))?;
    match tail {
        "" => Ok(Routed::Call(scope)),
        _ if Endpoint::of(method, &path[path.len() - tail.len() - 1..]).is_some() => {
            Ok(Routed::Call(scope))
        }
        "reset" | "reset/" if method == hyper::Method::POST => Ok(Routed::Control(Control::Reset(scope))),
        "summary" | "summary/" if method == hyper::Method::GET => Ok(Routed::Control(Control::ScopeSummary(scope))),
        _ => Err(format!(
            "cognito-vcr: endpoint path {path:?}: a scope's endpoint is /scope/NAME, its control calls POST /scope/NAME/reset and GET /scope/NAME/summary"
        )),
    }
}

/// The path below a scope's prefix (`/scope/t1/oauth2/token` → `/oauth2/token`); the path
/// itself outside `/scope/`.
pub fn inner_path(path: &str) -> &str {
    match path
        .strip_prefix("/scope/")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
    {
        Some(inner) => inner,
        None if path.starts_with("/scope/") => "/",
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    fn named(name: &str) -> Scope {
        Scope::named(name).unwrap()
    }

    #[test]
    fn paths_choose_scopes() {
        let post = Method::POST;
        let names = ScopeNames::default();
        assert_eq!(
            route(&names, &post, "/"),
            Ok(Routed::Call(Scope::default()))
        );
        assert_eq!(
            route(&names, &post, "/anything"),
            Ok(Routed::Call(Scope::default()))
        );
        assert_eq!(
            route(&names, &post, "/scope/t1"),
            Ok(Routed::Call(named("t1")))
        );
        assert_eq!(
            route(&names, &post, "/scope/t1/"),
            Ok(Routed::Call(named("t1")))
        );
        assert_eq!(
            route(&names, &post, "/scope/t1/reset"),
            Ok(Routed::Control(Control::Reset(named("t1"))))
        );
        assert_eq!(
            route(&names, &post, "/reset"),
            Ok(Routed::Control(Control::Reset(Scope::default())))
        );
        assert_eq!(
            route(&names, &Method::GET, "/scope/t1/summary"),
            Ok(Routed::Control(Control::ScopeSummary(named("t1"))))
        );
        assert_eq!(
            route(&names, &Method::GET, "/summary"),
            Ok(Routed::Control(Control::RunSummary))
        );
        assert_eq!(
            route(&names, &Method::GET, "/us-east-1_X/.well-known/jwks.json"),
            Ok(Routed::Control(Control::Jwks))
        );
        assert_eq!(
            route(&names, &post, "/summary"),
            Ok(Routed::Call(Scope::default()))
        );
        assert_eq!(
            route(&names, &Method::GET, "/reset"),
            Ok(Routed::Call(Scope::default()))
        );
        for bad in [
            "/scope",
            "/scope/",
            "/scope/a b",
            "/scope/a%20b",
            "/scope/t1/other",
            "/scope/t1/reset/x",
            "/scope/t1/summary/x",
        ] {
            let err = route(&names, &post, bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert!(route(&names, &Method::GET, "/scope/t1/reset").is_err());
    }

    #[test]
    fn a_scope_serves_the_oauth2_endpoints_below_it() {
        let names = ScopeNames::default();
        for (method, path) in [
            (Method::POST, "/scope/t1/oauth2/token"),
            (
                Method::GET,
                "/scope/t1/us-east-1_A/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(route(&names, &method, path), Ok(Routed::Call(named("t1"))));
        }
        assert!(route(&names, &Method::GET, "/scope/t1/oauth2/token").is_err());
        assert_eq!(inner_path("/scope/t1/oauth2/token"), "/oauth2/token");
        assert_eq!(inner_path("/scope/t1"), "/");
        assert_eq!(inner_path("/scope/t1/"), "/");
        assert_eq!(inner_path("/oauth2/token"), "/oauth2/token");
    }
}
