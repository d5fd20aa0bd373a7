//! The record-mode rewrite pipeline, byte for byte: a scripted session recorded through the
//! proxy from a scripted upstream, under each configuration that changes what is stored, gives
//! the cassettes committed under `tests/integration/golden/`.
//!
//! The pipeline skips stages when an answer's bytes show nothing of the session (the
//! `may_change` checks of `rewrite/`), so a change that only meant to be faster could quietly
//! change what is stored; this test sees any change. The session's answers go through every
//! stage: ids and dates the session created (stand-ins and virtual dates), aliases, secrets
//! hashed (a client secret, passwords, a secret echoed in an error message, a secret user
//! attribute, a body that is not JSON), handed-out values as placeholders (JWTs, refresh
//! tokens, SRP values, a TOTP seed, identity-pools credentials, an OAuth2 token and an
//! authorization code), pagination tokens, masked request fields, names and values written
//! with `\u` escapes, and answers that hold nothing of the session (parsed or not).
//!
//! `UPDATE_GOLDEN=1 cargo test --test integration rewrite_golden` writes the files anew.

use crate::support::{call_target, golden};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

/// The pool, app client and user the session creates; what the upstream generates for them.
const POOL_ID: &str = "us-east-1_G0ldenP00l";
const CLIENT_ID: &str = "4u5ep7n9g0ldenc1ient1d0abc";
const CLIENT_SECRET: &str = "1q2w3e4r5t6y7u8i9o0pg0ldenc1ientva1ue0123456789abcd";
const SUB: &str = "56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9";
/// A pool made before the session: nothing of it changes.
const OLD_POOL: &str = "us-east-1_Fake";
/// Another stage's pool, which the `configured` settings alias to the cassette's.
const STAGE_POOL: &str = "us-east-1_StagePool01";
const IDENTITY_POOL: &str = "us-east-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f";
const IDENTITY: &str = "us-east-1:5a6b7c8d-1111-4222-8333-444455556666";
const REFRESH_TOKEN: &str = "opaque-refresh-token-g0lden-0123456789";
/// Every password of the session is this one, and every secret hash that one: each distinct
/// secret costs a slow hash (some hundreds of milliseconds in a debug build).
const PASSWORD: &str = "Alice-Passw0rd!";
const SECRET_HASH: &str = "c2VjcmV0aGFzaGZvcmFsaWNl";
const SESSION: &str = "AYABeGolden-session-0123456789abcdef";
/// A date as Cognito writes it, long before any run.
const OLD_DATE: &str = "1.682955829578E9";

/// The configurations whose settings change what is stored: the defaults, every option of the
/// config file that rewrites (aliases, more secret fields, masked request fields), and the
/// virtualization of ids and dates turned off.
const CONFIGURATIONS: [(&str, &str); 3] = [
    ("default", ""),
    (
        "configured",
        "[aliases]\n\"us-east-1_StagePool01\" = \"us-east-1_DevPool01\"\n\
         [secrets]\nfields = [\"custom:ssn\"]\n\
         [keys.ignore]\nListUsers = [\"AttributesToGet\"]\n",
    ),
    (
        "virtualize-off",
        "[virtualize]\nids = false\ndates = false\n",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_session_is_stored_as_the_golden_cassettes() {
    let start = now();
    let upstream = scripted_upstream(start).await;
    // At the same time: each hashes its secrets (slow on purpose), on a core of its own when
    // there is one.
    let [(a, a_settings), (b, b_settings), (c, c_settings)] = CONFIGURATIONS;
    let (a_text, b_text, c_text) = tokio::join!(
        record(a, a_settings, &upstream),
        record(b, b_settings, &upstream),
        record(c, c_settings, &upstream),
    );
    let end = now();
    for (name, text) in [(a, a_text), (b, b_text), (c, c_text)] {
        golden::check(
            &format!("rewrite-{name}.json"),
            &without_run_dates(&text, start, end),
        );
    }
}

/// The cassette of the session recorded with the config file `settings`.
async fn record(name: &str, settings: &str, upstream: &str) -> String {
    let dir = crate::support::workdir();
    let cassette = dir.path().join("golden.json");
    let file = dir.path().join("cognito-vcr.toml");
    std::fs::write(&file, settings).unwrap();
    let mut config =
        cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Record, &cassette).with_upstream(upstream);
    config.settings = cognito_vcr::Settings::load(Some(&file), &cassette).unwrap();
    let proxy = cognito_vcr::Proxy::start(config).await.unwrap();
    let calls = session(&proxy.url()).await;
    let summary = proxy.stop().await.unwrap();
    assert_eq!(
        (summary.recorded, summary.failed),
        (calls, 0),
        "{name}: {summary}"
    );
    std::fs::read_to_string(&cassette).unwrap()
}

/// The cassette text with what depends on the day and time of the run in a fixed form; the
/// rest is compared as it is.
/// - Each scope's `recorded` day.
/// - With virtual dates off, the dates of what the session made: the run's own time, as the
///   upstream answered (`start`, or seconds after it).
/// - With virtual dates off, the synthetic pagination tokens: derived from the page as stored,
///   they change with the dates the page holds. Each is named by its first appearance, so
///   that the answer that hands one out and the request that sends it back still agree.
fn without_run_dates(text: &str, start: f64, end: f64) -> String {
    let run_dates = |value: &str| {
        value
            .parse::<f64>()
            .is_ok_and(|d| (start - 1.0..=end + 60.0).contains(&d))
    };
    let holds_run_dates = text.lines().any(|line| {
        let member = line.trim_start().split_once(": ");
        member.is_some_and(|(name, value)| {
            name.ends_with("Date\"") && run_dates(value.trim_end_matches(','))
        })
    });
    let mut tokens: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let (member, comma) = match trimmed.strip_suffix(',') {
            Some(member) => (member, ","),
            None => (trimmed, ""),
        };
        let fixed = match member.split_once(": ") {
            Some(("\"recorded\"", day)) if day.len() == 12 => {
                Some("\"<the day of the run>\"".to_owned())
            }
            Some((name, value)) if name.ends_with("Date\"") && run_dates(value) => {
                Some("\"<a date of the run>\"".to_owned())
            }
            Some(("\"PaginationToken\"", token)) if holds_run_dates => {
                let n = match tokens.iter().position(|t| t == token) {
                    Some(n) => n,
                    None => {
                        tokens.push(token.to_owned());
                        tokens.len() - 1
                    }
                };
                Some(format!("\"<page token {} of the run>\"", n + 1))
            }
            _ => None,
        };
        match (fixed, member.split_once(": ")) {
            (Some(value), Some((name, _))) => {
                out.push_str(&format!("{indent}{name}: {value}{comma}\n"))
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The session, in scopes as a suite's tests would make it: setup creates a pool, a client and
/// a user; signin signs in every way; identity and oauth use the tokens; listing pages; the
/// default scope reads. How many calls it made (all recorded).
async fn session(proxy: &str) -> u64 {
    let calls = std::cell::Cell::new(0);
    let scope = |name: &str| format!("{proxy}/scope/{name}");
    let user_pools = async |url: &str, operation: &str, body: Value, status: u16| {
        let target = format!("AWSCognitoIdentityProviderService.{operation}");
        let answer = call_target(url, &target, body).await;
        assert_eq!(answer.status, status, "{operation}: {:?}", answer.body);
        calls.set(calls.get() + 1);
        answer
    };

    let setup = scope("setup");
    user_pools(&setup, "CreateUserPool", json!({"PoolName": "golden"}), 200).await;
    let client = json!({"UserPoolId": POOL_ID, "ClientName": "web", "GenerateSecret": true});
    user_pools(&setup, "CreateUserPoolClient", client, 200).await;
    let alice = json!({"UserPoolId": POOL_ID, "Username": "alice",
        "TemporaryPassword": PASSWORD,
        "UserAttributes": [{"Name": "email", "Value": "alice@example.com"}]});
    user_pools(&setup, "AdminCreateUser", alice, 200).await;
    let password = json!({"UserPoolId": POOL_ID, "Username": "alice",
        "Password": PASSWORD, "Permanent": true});
    user_pools(&setup, "AdminSetUserPassword", password, 200).await;
    // A write whose answer holds no date still counts: the group is dated after it.
    let group = json!({"UserPoolId": POOL_ID, "GroupName": "admins"});
    user_pools(&setup, "CreateGroup", group, 200).await;
    let describe = json!({"UserPoolId": POOL_ID, "ClientId": CLIENT_ID});
    user_pools(&setup, "DescribeUserPoolClient", describe, 200).await;

    let signin = scope("signin");
    let auth = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": CLIENT_ID,
        "AuthParameters": {"USERNAME": "alice", "PASSWORD": PASSWORD,
            "SECRET_HASH": SECRET_HASH}});
    let signed_in = user_pools(&signin, "InitiateAuth", auth, 200).await;
    let result = &signed_in.body["AuthenticationResult"];
    let access = result["AccessToken"].as_str().unwrap().to_owned();
    let id_token = result["IdToken"].as_str().unwrap().to_owned();
    user_pools(&signin, "GetUser", json!({"AccessToken": access}), 200).await;
    let refresh = json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT_ID,
        "AuthParameters": {"REFRESH_TOKEN": REFRESH_TOKEN,
            "SECRET_HASH": SECRET_HASH}});
    user_pools(&signin, "InitiateAuth", refresh, 200).await;
    let srp = json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": CLIENT_ID,
        "AuthParameters": {"USERNAME": "alice", "SRP_A": "9f3ac1d2e4b5"}});
    user_pools(&signin, "InitiateAuth", srp, 200).await;
    let associate = json!({"AccessToken": access});
    user_pools(&signin, "AssociateSoftwareToken", associate, 200).await;
    let respond = json!({"ChallengeName": "NEW_PASSWORD_REQUIRED", "ClientId": CLIENT_ID,
        "Session": SESSION, "ChallengeResponses": {"USERNAME": "alice",
            "NEW_PASSWORD": PASSWORD}});
    user_pools(&signin, "RespondToAuthChallenge", respond, 200).await;
    let forgot = json!({"ClientId": CLIENT_ID, "Username": "alice", "SecretHash": SECRET_HASH});
    user_pools(&signin, "ForgotPassword", forgot, 400).await;

    let identity = scope("identity");
    let logins = json!({format!("cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"): id_token});
    let identity_pools = |operation: &str| format!("AWSCognitoIdentityService.{operation}");
    for (operation, body) in [
        (
            "GetId",
            json!({"IdentityPoolId": IDENTITY_POOL, "Logins": logins}),
        ),
        (
            "GetCredentialsForIdentity",
            json!({"IdentityId": IDENTITY, "Logins": logins}),
        ),
        (
            "GetOpenIdToken",
            json!({"IdentityId": IDENTITY, "Logins": logins}),
        ),
    ] {
        let answer = call_target(&identity, &identity_pools(operation), body).await;
        assert_eq!(answer.status, 200, "{operation}: {:?}", answer.body);
        calls.set(calls.get() + 1);
    }

    let oauth = scope("oauth");
    let basic = base64_of(&format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let token = http(
        hyper::Method::POST,
        &format!("{oauth}/oauth2/token"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Basic {basic}")),
        ],
        "grant_type=client_credentials&scope=api%2Fread",
    )
    .await;
    assert_eq!(token.0, 200, "{token:?}");
    let query = format!(
        "response_type=code&client_id={CLIENT_ID}\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=st4te-of-the-client"
    );
    let authorize = http(
        hyper::Method::GET,
        &format!("{oauth}/oauth2/authorize?{query}"),
        &[],
        "",
    )
    .await;
    assert_eq!(authorize.0, 302, "{authorize:?}");
    calls.set(calls.get() + 2);

    let listing = scope("listing");
    let first = json!({"UserPoolId": POOL_ID, "Limit": 2});
    let page = user_pools(&listing, "ListUsers", first, 200).await;
    let next = page.body["PaginationToken"].as_str().unwrap().to_owned();
    let second = json!({"UserPoolId": POOL_ID, "Limit": 2, "PaginationToken": next});
    user_pools(&listing, "ListUsers", second, 200).await;
    let old = json!({"UserPoolId": OLD_POOL, "Limit": 3});
    user_pools(&listing, "ListUsers", old, 200).await;
    let stage = json!({"UserPoolId": STAGE_POOL, "AttributesToGet": ["email", "custom:ssn"]});
    user_pools(&listing, "ListUsers", stage, 200).await;
    let stage = json!({"UserPoolId": STAGE_POOL});
    user_pools(&listing, "DescribeUserPool", stage, 200).await;

    // The default scope.
    let mfa = json!({"UserPoolId": OLD_POOL});
    user_pools(proxy, "GetUserPoolMfaConfig", mfa, 200).await;
    let alice = json!({"UserPoolId": POOL_ID, "Username": "alice"});
    user_pools(proxy, "AdminGetUser", alice, 200).await;
    let nobody = json!({"UserPoolId": POOL_ID, "Username": "nobody"});
    user_pools(proxy, "AdminGetUser", nobody, 400).await;
    calls.get()
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// One HTTP request: its status, headers and body as text.
async fn http(
    method: hyper::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> (u16, hyper::HeaderMap, String) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// An upstream that answers each call of the session with a fixed answer, but for the dates
/// of what the session creates, which are `now` (as a real upstream's are, and which the
/// pipeline stores as virtual dates).
async fn scripted_upstream(now: f64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    let target = parts
                        .headers
                        .get("x-amz-target")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let operation = target.rsplit('.').next().unwrap_or("");
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (status, headers, text) = match parts.uri.path() {
                        "/oauth2/token" => (200, vec![], oauth_token(now)),
                        "/oauth2/authorize" => {
                            let location = "https://app.example.com/cb?code=real-auth-code-0123456789&state=st4te-of-the-client";
                            (302, vec![("location", location)], String::new())
                        }
                        _ => answer(operation, &body, now),
                    };
                    let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
                    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                    let h = response.headers_mut();
                    if status != 302 {
                        h.insert(
                            "content-type",
                            "application/x-amz-json-1.1".parse().unwrap(),
                        );
                    }
                    h.insert(
                        "x-amzn-requestid",
                        "6b0e6a8c-0d4f-request-id".parse().unwrap(),
                    );
                    for (name, value) in headers {
                        h.insert(name, value.parse().unwrap());
                    }
                    Ok::<_, Infallible>(response)
                },
            );
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    url
}

/// `now` as Cognito writes a date (`1.765045842123E9`), `plus` seconds later.
fn date(now: f64, plus: f64) -> String {
    format!("{:.12}E9", (now + plus) / 1e9)
}

/// A JWT as Cognito signs one: a key id, `claims` with the times of `now`, a signature.
fn jwt(now: f64, claims: Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = claims;
    let t = now as i64;
    claims["iat"] = json!(t);
    claims["auth_time"] = json!(t);
    claims["exp"] = json!(t + 3600);
    let header = br#"{"alg":"RS256","kid":"Gq2Lk7Xb9RtY3vWz0PmN4sHd8Fj1Cu6Ea5Io="}"#;
    format!(
        "{}.{}.c2lnbmF0dXJlLW9mLXRoZS11cHN0cmVhbQ",
        b64.encode(header),
        b64.encode(serde_json::to_vec(&claims).unwrap())
    )
}

fn issuer() -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}")
}

fn oauth_token(now: f64) -> String {
    let access = jwt(
        now,
        json!({"sub": CLIENT_ID, "token_use": "access", "scope": "api/read",
            "iss": issuer(), "client_id": CLIENT_ID, "jti": "7c1e-client-credentials",
            "version": 2}),
    );
    json!({"access_token": access, "expires_in": 3600, "token_type": "Bearer"}).to_string()
}

/// A user as ListUsers and AdminGetUser write one.
fn user(name: &str, sub: &str, created: &str, modified: &str) -> String {
    format!(
        r#"{{"Attributes":[{{"Name":"sub","Value":"{sub}"}},{{"Name":"email","Value":"{name}@example.com"}}],"Enabled":true,"UserCreateDate":{created},"UserLastModifiedDate":{modified},"UserStatus":"CONFIRMED","Username":"{name}"}}"#
    )
}

/// The upstream's answer to `operation` with `body`: status, headers, text.
fn answer(
    operation: &str,
    body: &Value,
    now: f64,
) -> (u16, Vec<(&'static str, &'static str)>, String) {
    let created = date(now, 0.0);
    let ok = |text: String| (200, vec![], text);
    let tokens = |jti: &str| {
        let claims = |use_: &str| {
            json!({"sub": SUB, "token_use": use_, "iss": issuer(), "username": "alice",
                "client_id": CLIENT_ID, "aud": CLIENT_ID, "jti": format!("{jti}-{use_}"),
                "origin_jti": format!("{jti}-origin"), "event_id": format!("{jti}-event"),
                "cognito:username": "alice", "email": "alice@example.com"})
        };
        json!({"AuthenticationResult": {"AccessToken": jwt(now, claims("access")),
            "ExpiresIn": 3600, "IdToken": jwt(now, claims("id")),
            "RefreshToken": REFRESH_TOKEN, "TokenType": "Bearer"},
            "ChallengeParameters": {}})
    };
    match operation {
        "CreateUserPool" => ok(format!(
            r#"{{"UserPool":{{"Arn":"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}","CreationDate":{created},"Id":"{POOL_ID}","LastModifiedDate":{created},"Name":"golden","Policies":{{"PasswordPolicy":{{"MinimumLength":8}}}}}}}}"#
        )),
        "CreateUserPoolClient" => ok(format!(
            r#"{{"UserPoolClient":{{"ClientId":"{CLIENT_ID}","ClientName":"web","ClientSecret":"{CLIENT_SECRET}","CreationDate":{created},"LastModifiedDate":{created},"TokenValidityUnits":{{"AccessToken":"hours","IdToken":"hours","RefreshToken":"days"}},"UserPoolId":"{POOL_ID}"}}}}"#
        )),
        // The secret's name written with a `\u` escape, and no other name redaction looks for.
        "DescribeUserPoolClient" => ok(format!(
            r#"{{"UserPoolClient":{{"ClientId":"{CLIENT_ID}","ClientName":"web","Client\u0053ecret":"{CLIENT_SECRET}","CreationDate":{created},"LastModifiedDate":{created},"UserPoolId":"{POOL_ID}"}}}}"#
        )),
        "AdminCreateUser" => ok(format!(
            r#"{{"User":{}}}"#,
            user("alice", SUB, &created, &created).replace("CONFIRMED", "FORCE_CHANGE_PASSWORD")
        )),
        "AdminSetUserPassword" => ok("{}".to_owned()),
        "CreateGroup" => ok(format!(
            r#"{{"Group":{{"CreationDate":{created},"GroupName":"admins","LastModifiedDate":{created},"UserPoolId":"{POOL_ID}"}}}}"#
        )),
        "InitiateAuth" => match body["AuthFlow"].as_str() {
            Some("USER_PASSWORD_AUTH") => ok(tokens("a1").to_string()),
            Some("REFRESH_TOKEN_AUTH") => {
                let mut refreshed = tokens("r2");
                refreshed["AuthenticationResult"]
                    .as_object_mut()
                    .unwrap()
                    .remove("RefreshToken");
                ok(refreshed.to_string())
            }
            _ => ok(
                json!({"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": {
                "SALT": "fc69a1b2c3d4", "SECRET_BLOCK": "400ab6e8-49f6-45d2-9c1a-7d3e",
                "SRP_B": "0ac675f272eb4fe1aa93", "USERNAME": SUB, "USER_ID_FOR_SRP": SUB}})
                .to_string(),
            ),
        },
        "GetUser" => ok(json!({"UserAttributes": [{"Name": "sub", "Value": SUB},
            {"Name": "email", "Value": "alice@example.com"}], "Username": "alice"})
        .to_string()),
        "AssociateSoftwareToken" => ok(json!({"SecretCode": "JBSWY3DPEHPK3PXPG0LDENSEED234567",
            "Session": SESSION})
        .to_string()),
        // Not JSON, yet it names a handed-out value: never stored as it came.
        "RespondToAuthChallenge" => ok(format!(r#"{{"Session":"{SESSION}-next"}} trailing"#)),
        // An error message that quotes a secret of the request.
        "ForgotPassword" => (
            400,
            vec![("x-amzn-errortype", "NotAuthorizedException")],
            format!(
                r#"{{"__type":"NotAuthorizedException","message":"SecretHash {SECRET_HASH} does not match for the client {CLIENT_ID}"}}"#
            ),
        ),
        "GetId" => ok(json!({"IdentityId": IDENTITY}).to_string()),
        "GetCredentialsForIdentity" => ok(format!(
            r#"{{"Credentials":{{"AccessKeyId":"ASIAQWERTYUIOPASDFGH","Expiration":{},"SecretKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","SessionToken":"IQoJb3JpZ2luX2VjEXAMPLEsessiontoken"}},"IdentityId":"{IDENTITY}"}}"#,
            date(now, 3600.0)
        )),
        "GetOpenIdToken" => {
            let token = jwt(
                now,
                json!({"sub": IDENTITY, "aud": IDENTITY_POOL,
                "amr": ["authenticated"], "iss": "https://cognito-identity.amazonaws.com"}),
            );
            ok(json!({"IdentityId": IDENTITY, "Token": token}).to_string())
        }
        "ListUsers" => match (body["UserPoolId"].as_str(), body.get("PaginationToken")) {
            // The session's pool: alice, made in setup and changed since, and a user made
            // before the run; then a page that holds nothing of the session but is written
            // with a `\u` escape.
            (Some(POOL_ID), None) => ok(format!(
                r#"{{"PaginationToken":"real-page-token-of-the-upstream-1","Users":[{},{}]}}"#,
                user("alice", SUB, &created, &date(now, 5.0)),
                user(
                    "carol",
                    "0e0c7a5e-3c5f-4f3e-9f0e-6d1c2b3a4f5e",
                    OLD_DATE,
                    OLD_DATE
                )
            )),
            (Some(POOL_ID), Some(_)) => ok(format!(
                r#"{{"Users":[{}]}}"#,
                user(
                    "dave",
                    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    OLD_DATE,
                    OLD_DATE
                )
                .replace("dave@example.com", r"d\u00e9sir\u00e9@example.com")
            )),
            // Another stage's pool, with a user attribute the configured settings keep secret.
            (Some(STAGE_POOL), _) => ok(format!(
                r#"{{"Users":[{{"Attributes":[{{"Name":"email","Value":"erin@example.com"}},{{"Name":"custom:ssn","Value":"123-45-6789"}}],"Enabled":true,"UserCreateDate":{OLD_DATE},"UserPoolId":"{STAGE_POOL}","UserStatus":"CONFIRMED","Username":"erin"}}]}}"#
            )),
            // Nothing of the session.
            _ => ok(format!(
                r#"{{"Users":[{},{},{}]}}"#,
                user(
                    "user001",
                    "11111111-2222-4333-8444-555555555551",
                    OLD_DATE,
                    OLD_DATE
                ),
                user(
                    "user002",
                    "11111111-2222-4333-8444-555555555552",
                    OLD_DATE,
                    OLD_DATE
                ),
                user(
                    "user003",
                    "11111111-2222-4333-8444-555555555553",
                    OLD_DATE,
                    OLD_DATE
                )
            )),
        },
        "DescribeUserPool" => ok(format!(
            r#"{{"UserPool":{{"Arn":"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{STAGE_POOL}","CreationDate":{OLD_DATE},"Id":"{STAGE_POOL}","LastModifiedDate":{OLD_DATE},"Name":"stage"}}}}"#
        )),
        "GetUserPoolMfaConfig" => ok(r#"{"MfaConfiguration":"OFF"}"#.to_owned()),
        // AdminGetUser names the attributes `UserAttributes`.
        "AdminGetUser" if body["Username"] == "alice" => {
            ok(user("alice", SUB, &created, &date(now, 5.0))
                .replace(r#"{"Attributes""#, r#"{"UserAttributes""#))
        }
        _ => (
            400,
            vec![("x-amzn-errortype", "UserNotFoundException")],
            r#"{"__type":"UserNotFoundException","message":"User does not exist."}"#.to_owned(),
        ),
    }
}
