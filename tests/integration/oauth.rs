//! A user pool's OAuth2/OIDC endpoints through the proxy as the app's Cognito domain and issuer:
//! a session of client_credentials (right and wrong secret, Basic and form client auth),
//! authorization code + PKCE (authorize redirect, a code used twice), a public client,
//! userInfo, refresh, revoke, discovery, and Authlib as an OIDC client library
//! (tests/interop/oauth_session.py) recorded from a fake of the Cognito domain
//! (tests/interop/oauth_fake.py: new tokens each call, RS256 with its own JWKS, single-use
//! codes) in a scope, then replayed offline twice: the replayed tokens verify against the JWKS
//! the replayed discovery document names (the proxy's), `at_hash` included; no token, code or
//! client secret in any file the run wrote.

use crate::interop::{interop, script_with_env, Moto};
use crate::support::{cassette_in, files_below, get, path, post, recording, vcr_command, workdir};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::Value;

const POOL: &str = "us-east-1_OAuthFake";

/// The fake's domain as its discovery document names it (Cognito's shape; the proxy serves
/// what the document names, so the client never goes there).
const DOMAIN: &str = "https://oauthfake.auth.us-east-1.amazoncognito.com";

/// The fake Cognito domain, on a port of its own.
fn fake_domain() -> Moto {
    Moto::start_script_with("oauth_fake.py", &["--domain", DOMAIN], &[])
}

/// Run oauth_session.py against `endpoint` (the app's Cognito domain): what it printed.
async fn session(endpoint: &str) -> Value {
    session_with(endpoint, &[]).await
}

/// [`session`] with more environment variables.
async fn session_with(endpoint: &str, envs: &[(&str, &str)]) -> Value {
    let endpoint = endpoint.to_owned();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        script_with_env(&interop("oauth_session.py"), &[&endpoint, POOL], &envs)
    })
    .await
    .unwrap();
    let line = out.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["ok"], true, "{out}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oauth2_session_records_without_secrets_and_replays_with_tokens_that_verify() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "oauth");
    let fake = fake_domain();
    let proxy = recording(&cassette, &fake.url).await;
    let live = session(&format!("{}/scope/oauth", proxy.url())).await;
    let summary = proxy.stop().await.unwrap();
    fake.stop();
    assert_eq!((summary.failed, summary.misses), (0, 0), "{summary}");
    assert_eq!(live["steps"], 13);

    // Stored under the endpoints' names, in the scope.
    let text = std::fs::read_to_string(&cassette).unwrap();
    let stored: Value = serde_json::from_str(&text).unwrap();
    let interactions = stored["interactions"].as_array().unwrap();
    for op in [
        "OAuth2.Token",
        "OAuth2.Authorize",
        "OAuth2.UserInfo",
        "OAuth2.Revoke",
        "OAuth2.OpenIdConfiguration",
    ] {
        assert!(
            interactions
                .iter()
                .any(|i| i["operation"] == op && i["scope"] == "oauth"),
            "{op} not recorded in scope oauth"
        );
    }
    // The JWKS is the upstream's while recording: forwarded, never stored.
    assert!(!text.contains("OAuth2.Jwks"));

    // No token, code or client secret of the session in any file the run wrote.
    let seen: Vec<String> = live["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert!(seen.len() >= 12, "{seen:?}");
    for (file, bytes) in files_below(dir.path()) {
        for secret in seen.iter().map(String::as_str).chain(["fakesecret1"]) {
            assert!(
                memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
                "{secret} is in {file}"
            );
        }
    }
    let lint = vcr_command(&["lint", path(&cassette)]).output().unwrap();
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );

    // A re-recording's cassette is the same bytes (new tokens, codes and keys upstream).
    let again = cassette_in(&dir, "oauth-again");
    let fake = fake_domain();
    let proxy = recording(&again, &fake.url).await;
    session(&format!("{}/scope/oauth", proxy.url())).await;
    proxy.stop().await.unwrap();
    fake.stop();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);

    // Offline, twice in a row: the session passes against the replay (its tokens signed by the
    // proxy, verified with the JWKS the discovery document names), nothing missed or unused.
    let keys = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let mut config = ServeConfig::new(Mode::Replay, &cassette);
        config.token_keys = Some(keys.path().to_owned());
        let proxy = Proxy::start(config).await.unwrap();
        let replayed = session(&format!("{}/scope/oauth", proxy.url())).await;
        let summary = proxy.stop().await.unwrap();
        assert_eq!(replayed["steps"], 13);
        assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");
    }
}

/// The app keeps Cognito's own domain and reaches it through `HTTPS_PROXY` (`--intercept`):
/// recorded from the fake behind the intercepted domain and issuer hosts, replayed offline with
/// the proxy's JWKS at the issuer's address.
#[tokio::test(flavor = "multi_thread")]
async fn an_oauth2_session_through_https_proxy_records_and_replays() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "intercepted");
    let state = dir.path().join("state");
    let intercept = |upstream: Option<String>| {
        Some(cognito_vcr::InterceptConfig {
            ca_dir: state.clone(),
            allow: vec![],
            upstream,
        })
    };
    let through = |proxy: &Proxy| {
        let ca = state.join("ca.pem").display().to_string();
        [
            ("HTTPS_PROXY", proxy.url()),
            ("NO_PROXY", String::new()),
            ("REQUESTS_CA_BUNDLE", ca.clone()),
            ("SSL_CERT_FILE", ca),
        ]
    };
    let fake = fake_domain();
    let mut config = ServeConfig::new(Mode::Record, &cassette);
    config.intercept = intercept(Some(fake.url.clone()));
    let proxy = Proxy::start(config).await.unwrap();
    let envs = through(&proxy);
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let live = session_with(DOMAIN, &envs).await;
    let summary = proxy.stop().await.unwrap();
    fake.stop();
    assert_eq!((summary.failed, summary.misses), (0, 0), "{summary}");
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(text.contains("\"OAuth2.Token\"") && !text.contains("OAuth2.Jwks"));
    for secret in live["seen"].as_array().unwrap() {
        assert!(!text.contains(secret.as_str().unwrap()));
    }

    let keys = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.intercept = intercept(None);
    config.token_keys = Some(keys.path().to_owned());
    let proxy = Proxy::start(config).await.unwrap();
    let envs = through(&proxy);
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let replayed = session_with(DOMAIN, &envs).await;
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed["steps"], 13);
    assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth2_errors_the_proxy_makes_have_the_oauth_shape() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "empty");
    std::fs::write(&cassette, r#"{"interactions": [], "version": 2}"#).unwrap();
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    // A call nothing recorded: a miss, told in OAuth's words.
    let miss = post(
        &format!("{}/oauth2/token", proxy.url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        "grant_type=client_credentials&client_id=c",
    )
    .await;
    assert_eq!(miss.status, 400);
    assert_eq!(miss.body["error"], "invalid_request", "{:?}", miss.body);
    let description = miss.body["error_description"].as_str().unwrap();
    assert!(description.contains("OAuth2.Token"), "{description}");
    assert!(miss.body.get("__type").is_none());
    // A Basic credential that is not one.
    let bad = post(
        &format!("{}/scope/t1/oauth2/token", proxy.url()),
        &[("authorization", "Basic %%%")],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"], "invalid_request", "{:?}", bad.body);
    // Discovery of a pool nothing recorded: a miss too; the JSON API keeps its own shape.
    let discovery = get(&format!(
        "{}/us-east-1_Nope/.well-known/openid-configuration",
        proxy.url()
    ))
    .await;
    assert_eq!(discovery.body["error"], "invalid_request");
    let api = crate::support::call(
        &proxy.url(),
        "ListUsers",
        serde_json::json!({"UserPoolId": "p"}),
    )
    .await;
    assert!(api.body.get("__type").is_some(), "{:?}", api.body);
    proxy.stop().await.unwrap();
}
