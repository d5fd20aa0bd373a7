//! The user pool's OAuth 2.0 and OpenID Connect endpoints (its domain's `/oauth2/*`, the
//! issuer's `.well-known` documents) as calls like any other: each request becomes an
//! operation (`OAuth2.Token`...) with a JSON body of its form or query members, so keying,
//! scopes, occurrences, redaction and the cassette treat it as they treat the JSON API. Also
//! what is particular to these answers: the authorization redirect's code and state, the
//! discovery document's endpoints, and errors in OAuth's shape.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::wire::{BadRequest, Request, Response};

/// The form member that carries the authorization code (a one-time value, left out of keys).
const CODE: &str = "code";

/// What the stored redirect holds instead of the request's `state` (each run's own; replay
/// puts the request's back).
pub const STATE_MARK: &str = "cognito-vcr-state";

/// The request body member holding an HTTP Basic client credential (`client_id`,
/// `client_secret`), kept apart from the form's own members.
pub const BASIC: &str = "basic";

/// The request body member holding a bearer token (`Authorization: Bearer ...`).
pub const BEARER: &str = "access_token";

/// The content type of Cognito's OAuth answers.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// One of the endpoints a user pool's domain and issuer serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /oauth2/token`
    Token,
    /// `GET|POST /oauth2/userInfo`
    UserInfo,
    /// `POST /oauth2/revoke`
    Revoke,
    /// `GET /oauth2/authorize` (the redirect to the app with a code)
    Authorize,
    /// `GET /<UserPoolId>/.well-known/openid-configuration`
    Discovery,
    /// `GET /<UserPoolId>/.well-known/jwks.json`
    Jwks,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Token,
        Endpoint::UserInfo,
        Endpoint::Revoke,
        Endpoint::Authorize,
        Endpoint::Discovery,
        Endpoint::Jwks,
    ];

    /// The endpoint `method path` names (the path below any `/scope/NAME`), if any.
    pub fn of(method: &hyper::Method, path: &str) -> Option<Endpoint> {
        use hyper::Method;
        let get = method == Method::GET;
        let post = method == Method::POST;
        let endpoint = match path.trim_end_matches('/') {
            "/oauth2/token" if post => Endpoint::Token,
            "/oauth2/userInfo" if get || post => Endpoint::UserInfo,
            "/oauth2/revoke" if post => Endpoint::Revoke,
            "/oauth2/authorize" if get => Endpoint::Authorize,
            p if get && pool_of(p).is_some() => match p.rsplit_once("/.well-known/")?.1 {
                "openid-configuration" => Endpoint::Discovery,
                "jwks.json" => Endpoint::Jwks,
                _ => return None,
            },
            _ => return None,
        };
        Some(endpoint)
    }

    /// The operation's stored name.
    pub fn operation(self) -> &'static str {
        match self {
            Endpoint::Token => "OAuth2.Token",
            Endpoint::UserInfo => "OAuth2.UserInfo",
            Endpoint::Revoke => "OAuth2.Revoke",
            Endpoint::Authorize => "OAuth2.Authorize",
            Endpoint::Discovery => "OAuth2.OpenIdConfiguration",
            Endpoint::Jwks => "OAuth2.Jwks",
        }
    }

    /// The endpoint an operation's stored name names.
    pub fn of_operation(operation: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.operation() == operation)
    }

    /// Served by the pool's domain (`https://<prefix>.auth.<region>.amazoncognito.com`), not by
    /// the issuer (`https://cognito-idp.<region>.amazonaws.com/<UserPoolId>`).
    pub fn on_domain(self) -> bool {
        !matches!(self, Endpoint::Discovery | Endpoint::Jwks)
    }
}

/// The pool a `/<UserPoolId>/.well-known/...` path names.
fn pool_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let (pool, tail) = rest.split_once('/')?;
    let valid = !pool.is_empty()
        && pool.len() <= 55
        && pool
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (valid && tail.starts_with(".well-known/")).then_some(pool)
}

/// A request to `endpoint` as the call it is keyed and stored as: the form's members (the
/// query's under `query` beside a form, else the query's), a Basic client credential under [`BASIC`], a bearer
/// token under [`BEARER`], the pool of a `.well-known` path as `UserPoolId`. `raw` (the form
/// body) is what goes upstream, unchanged.
pub fn request(
    endpoint: Endpoint,
    path: &str,
    query: Option<&str>,
    authorization: Option<&str>,
    raw: Bytes,
) -> Result<Request, BadRequest> {
    let operation = endpoint.operation();
    let mut body = Map::new();
    let form = !raw.iter().all(u8::is_ascii_whitespace);
    if form {
        if std::str::from_utf8(&raw).is_err() {
            return Err(BadRequest::Serialization(format!(
                "cognito-vcr: the body of {operation} is not UTF-8 form data"
            )));
        }
        add_members(&mut body, &raw);
    }
    match query {
        // A form's call keeps its query's members apart (both go upstream as they came).
        Some(query) if form => {
            body.insert("query".to_owned(), query_members(query));
        }
        Some(query) => add_members(&mut body, query.as_bytes()),
        None => {}
    }
    match authorization.map(str::trim) {
        Some(a) if a.len() > 6 && a[..6].eq_ignore_ascii_case("basic ") => {
            let basic = basic_credential(&a[6..]).ok_or_else(|| {
                BadRequest::Serialization(format!(
                    "cognito-vcr: the Basic credential of {operation} is not base64 of client_id:client_secret"
                ))
            })?;
            body.insert(BASIC.to_owned(), basic);
        }
        Some(a) if a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer ") => {
            body.insert(BEARER.to_owned(), Value::String(a[7..].trim().to_owned()));
        }
        _ => {}
    }
    if let Some(pool) = pool_of(path) {
        body.insert("UserPoolId".to_owned(), Value::String(pool.to_owned()));
    }
    Ok(Request {
        operation: operation.into(),
        body: Value::Object(body),
        raw,
    })
}

/// `client_id:client_secret` from a Basic credential (each form-decoded, as RFC 6749 §2.3.1
/// says clients encode them).
fn basic_credential(encoded: &str) -> Option<Value> {
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(serde_json::json!({"client_id": decode(id), "client_secret": decode(secret)}))
}

/// Members of a redirect's query or fragment that hand out a credential: Cognito's implicit
/// grant (`response_type=token`) puts its tokens in the fragment.
const REDIRECT_HANDED_OUT: &[&str] = &[CODE, "access_token", "id_token", "refresh_token"];

/// The authorization redirect as stored: each code or token in its query or fragment as the
/// placeholder `placeholder` gives for it (member name, value: a credential, new on every run)
/// and its `state` as [`STATE_MARK`]. `None` when the answer has no redirect with either.
pub fn stored_redirect(
    response: &Response,
    placeholder: &mut dyn FnMut(&str, &str) -> String,
) -> Option<String> {
    let location = header(response, "location")?;
    rewrite_members(location, &mut |name, value| match name {
        n if REDIRECT_HANDED_OUT.contains(&n) => Some(Some(placeholder(n, value))),
        "state" if value != STATE_MARK => Some(Some(STATE_MARK.to_owned())),
        _ => None,
    })
}

/// The members of a query string as a JSON object (see [`add_members`]).
pub fn query_members(query: &str) -> Value {
    let mut members = Map::new();
    add_members(&mut members, query.as_bytes());
    Value::Object(members)
}

/// The members of form-encoded `text` into `members`: a string each, an array of the values in
/// their order for a member given more than once (all of them go upstream, so all are keyed).
fn add_members(members: &mut Map<String, Value>, text: &[u8]) {
    for (name, value) in form_urlencoded::parse(text) {
        let value = Value::String(value.into_owned());
        match members.get_mut(name.as_ref()) {
            None => {
                members.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
}

/// A redirect sent to a client: its `state` as the request's (`state` of `request`), as the
/// authorization server echoes it, or none when the request sent none. `None` when nothing
/// changes.
pub fn redirect_for(location: &str, request: &Value) -> Option<String> {
    let state = request.get("state").and_then(Value::as_str);
    rewrite_members(location, &mut |name, value| match (name, state) {
        ("state", Some(state)) => (value != state).then(|| Some(state.to_owned())),
        ("state", None) => (value == STATE_MARK).then_some(None),
        _ => None,
    })
}

/// `url` with the members of its query and fragment that `f` rewrites: `Some(Some(new))` a new
/// value, `Some(None)` the member dropped, `None` kept. `None` when nothing changed.
fn rewrite_members(
    url: &str,
    f: &mut dyn FnMut(&str, &str) -> Option<Option<String>>,
) -> Option<String> {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, fragment)) => (b, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (before_fragment, None),
    };
    let query = query.map(|q| rewrite_form(q, f));
    // A fragment is read as members only when it holds some (`#access_token=...&state=...`).
    let fragment = fragment.map(|fr| match fr.contains('=') {
        true => rewrite_form(fr, f),
        false => (fr.to_owned(), false),
    });
    let changed = query.as_ref().is_some_and(|q| q.1) || fragment.as_ref().is_some_and(|fr| fr.1);
    if !changed {
        return None;
    }
    let mut rewritten = base.to_owned();
    if let Some((query, _)) = query {
        rewritten.push('?');
        rewritten.push_str(&query);
    }
    if let Some((fragment, _)) = fragment {
        rewritten.push('#');
        rewritten.push_str(&fragment);
    }
    Some(rewritten)
}

/// Form-encoded `text` with the members `f` rewrites (see [`rewrite_members`]), and whether any
/// was.
fn rewrite_form(
    text: &str,
    f: &mut dyn FnMut(&str, &str) -> Option<Option<String>>,
) -> (String, bool) {
    let mut changed = false;
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(text.as_bytes()) {
        match f(&name, &value) {
            Some(Some(new)) => {
                changed = true;
                out.append_pair(&name, &new);
            }
            Some(None) => changed = true,
            None => {
                out.append_pair(&name, &value);
            }
        }
    }
    (out.finish(), changed)
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The discovery document as a client of this proxy gets it: every endpoint it names that the
/// proxy serves (`jwks_uri`, `token_endpoint`, `userinfo_endpoint`, `revocation_endpoint`,
/// `authorization_endpoint`) on `base` (the proxy's URL the document was asked from, with the
/// request's scope), so the client's next calls come back here. `issuer` stays as recorded:
/// tokens name it. `None` when nothing changes.
pub fn discovery_for(document: &[u8], base: &str) -> Option<Vec<u8>> {
    let mut doc: Value = crate::keying::json::parse(document).ok()?;
    let map = doc.as_object_mut()?;
    let mut changed = false;
    for (name, value) in map.iter_mut() {
        let (Some(url), true) = (
            value.as_str(),
            name == "jwks_uri" || name.ends_with("_endpoint"),
        ) else {
            continue;
        };
        let Some(path) = path_of(url) else { continue };
        let served = Endpoint::of(&hyper::Method::GET, path)
            .or_else(|| Endpoint::of(&hyper::Method::POST, path))
            .is_some();
        if served {
            let proxied = format!("{}{path}", base.trim_end_matches('/'));
            changed |= proxied != url;
            *value = Value::String(proxied);
        }
    }
    changed.then(|| serde_json::to_vec(&doc).expect("JSON of JSON"))
}

/// The path of an absolute `http(s)` URL (no query).
fn path_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let path = &rest[rest.find('/')?..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// An error in the shape OAuth clients read (`{"error", "error_description"}`), for a call
/// this proxy answers itself (a refusal, a replay miss, an upstream failure).
pub fn error(status: u16, description: &str) -> Response {
    let error = match status {
        s if s >= 500 => "server_error",
        _ => "invalid_request",
    };
    let body = serde_json::json!({"error": error, "error_description": description});
    Response {
        status,
        headers: vec![("content-type".into(), JSON_CONTENT_TYPE.into())],
        body: Bytes::from(serde_json::to_vec(&body).expect("JSON of strings")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;
    use serde_json::json;

    #[test]
    fn paths_name_endpoints() {
        let (get, post) = (Method::GET, Method::POST);
        assert_eq!(Endpoint::of(&post, "/oauth2/token"), Some(Endpoint::Token));
        assert_eq!(Endpoint::of(&get, "/oauth2/token"), None);
        assert_eq!(
            Endpoint::of(&get, "/oauth2/userInfo"),
            Some(Endpoint::UserInfo)
        );
        assert_eq!(
            Endpoint::of(&post, "/oauth2/userInfo"),
            Some(Endpoint::UserInfo)
        );
        assert_eq!(
            Endpoint::of(&post, "/oauth2/revoke"),
            Some(Endpoint::Revoke)
        );
        assert_eq!(
            Endpoint::of(&get, "/oauth2/authorize"),
            Some(Endpoint::Authorize)
        );
        assert_eq!(
            Endpoint::of(&get, "/us-east-1_Ab/.well-known/openid-configuration"),
            Some(Endpoint::Discovery)
        );
        assert_eq!(
            Endpoint::of(&get, "/us-east-1_Ab/.well-known/jwks.json"),
            Some(Endpoint::Jwks)
        );
        for other in [
            "/",
            "/oauth2",
            "/a b/.well-known/jwks.json",
            "/x/.well-known/other",
            "/login",
        ] {
            assert_eq!(Endpoint::of(&get, other), None, "{other}");
        }
        for e in [Endpoint::Token, Endpoint::Discovery, Endpoint::Jwks] {
            assert_eq!(Endpoint::of_operation(e.operation()), Some(e));
        }
    }

    #[test]
    fn a_token_request_is_its_form_with_the_basic_credential_apart() {
        let basic = format!("Basic {}", STANDARD.encode("client%201:s3cr%2Bet"));
        let r = request(
            Endpoint::Token,
            "/oauth2/token",
            None,
            Some(&basic),
            Bytes::from_static(
                b"grant_type=client_credentials&scope=api%2Fread+api%2Fwrite&scope=ignored",
            ),
        )
        .unwrap();
        assert_eq!(&*r.operation, "OAuth2.Token");
        // A member given twice goes upstream twice: both values are keyed.
        assert_eq!(
            r.body,
            json!({"grant_type": "client_credentials", "scope": ["api/read api/write", "ignored"],
                "basic": {"client_id": "client 1", "client_secret": "s3cr+et"}})
        );
        // The form goes upstream as it came.
        assert_eq!(&r.raw[..10], b"grant_type");
        // A query beside a form is keyed apart from it.
        let r = request(
            Endpoint::Token,
            "/oauth2/token",
            Some("client_id=A"),
            None,
            Bytes::from_static(b"client_id=B&grant_type=client_credentials"),
        )
        .unwrap();
        assert_eq!(
            r.body,
            json!({"client_id": "B", "grant_type": "client_credentials", "query": {"client_id": "A"}})
        );
        let bad = request(
            Endpoint::Token,
            "/oauth2/token",
            None,
            Some("Basic !!"),
            Bytes::new(),
        );
        assert!(matches!(bad, Err(BadRequest::Serialization(_))));
    }

    #[test]
    fn user_info_keys_its_bearer_and_discovery_its_pool() {
        let r = request(
            Endpoint::UserInfo,
            "/oauth2/userInfo",
            None,
            Some("Bearer abc.def"),
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(r.body, json!({"access_token": "abc.def"}));
        let path = "/us-east-1_Ab/.well-known/openid-configuration";
        let r = request(Endpoint::Discovery, path, None, None, Bytes::new()).unwrap();
        assert_eq!(r.body, json!({"UserPoolId": "us-east-1_Ab"}));
        let r = request(
            Endpoint::Authorize,
            "/oauth2/authorize",
            Some("client_id=c&state=s%20t"),
            None,
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(r.body, json!({"client_id": "c", "state": "s t"}));
    }

    fn redirect(location: &str) -> Response {
        Response {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Bytes::new(),
        }
    }

    #[test]
    fn a_redirect_is_stored_without_its_code_and_state_and_answered_with_the_requests_state() {
        let stored = stored_redirect(
            &redirect("http://localhost:3000/cb?code=real-code&state=xyz#frag"),
            &mut |name, real| {
                assert_eq!((name, real), ("code", "real-code"));
                "cognito-vcr-placeholder-code-1".to_owned()
            },
        )
        .unwrap();
        assert_eq!(
            stored,
            "http://localhost:3000/cb?code=cognito-vcr-placeholder-code-1&state=cognito-vcr-state#frag"
        );
        let sent = redirect_for(&stored, &json!({"state": "new state"})).unwrap();
        assert_eq!(
            sent,
            "http://localhost:3000/cb?code=cognito-vcr-placeholder-code-1&state=new+state#frag"
        );
        // No state asked: none given back.
        assert_eq!(
            redirect_for(&stored, &json!({})).unwrap(),
            "http://localhost:3000/cb?code=cognito-vcr-placeholder-code-1#frag"
        );
        // No query, nothing to store differently.
        assert_eq!(
            stored_redirect(&redirect("http://localhost/cb"), &mut |_, _| "p".into()),
            None
        );
    }

    #[test]
    fn an_implicit_grants_tokens_in_the_fragment_are_not_stored() {
        let implicit = "http://localhost:3000/cb#access_token=eyJ.real.sig&id_token=eyJ.id.sig&token_type=Bearer&expires_in=3600&state=S1";
        let mut seen = Vec::new();
        let stored = stored_redirect(&redirect(implicit), &mut |name, real| {
            seen.push((name.to_owned(), real.to_owned()));
            format!("placeholder-{name}")
        })
        .unwrap();
        assert_eq!(
            stored,
            "http://localhost:3000/cb#access_token=placeholder-access_token&id_token=placeholder-id_token&token_type=Bearer&expires_in=3600&state=cognito-vcr-state"
        );
        assert_eq!(seen.len(), 2);
        assert!(!stored.contains("real"));
        let sent = redirect_for(&stored, &json!({"state": "NEW"})).unwrap();
        assert!(sent.ends_with("&state=NEW"), "{sent}");
    }

    #[test]
    fn discovery_names_the_proxy_for_what_it_serves_and_keeps_the_issuer() {
        let doc = json!({
            "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab",
            "jwks_uri": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab/.well-known/jwks.json",
            "token_endpoint": "https://d.auth.us-east-1.amazoncognito.com/oauth2/token",
            "end_session_endpoint": "https://d.auth.us-east-1.amazoncognito.com/logout",
            "scopes_supported": ["openid"]
        });
        let out = discovery_for(doc.to_string().as_bytes(), "http://127.0.0.1:9/scope/t/").unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["issuer"], doc["issuer"]);
        assert_eq!(
            out["jwks_uri"],
            "http://127.0.0.1:9/scope/t/us-east-1_Ab/.well-known/jwks.json"
        );
        assert_eq!(
            out["token_endpoint"],
            "http://127.0.0.1:9/scope/t/oauth2/token"
        );
        // Not served here: left pointing at the domain.
        assert_eq!(out["end_session_endpoint"], doc["end_session_endpoint"]);
    }

    #[test]
    fn errors_have_the_oauth_shape() {
        let e = error(400, "cognito-vcr replay miss: ...");
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], "cognito-vcr replay miss: ...");
        let body: Value = serde_json::from_slice(&error(502, "down").body).unwrap();
        assert_eq!(body["error"], "server_error");
    }
}
