//! Secret-free cassettes that still replay sign-in flows: boto3 against moto through the proxy
//! with well-formed (fake) AWS credentials; passwords, tokens and SRP values.

use crate::interop::{interop, script, script_with_env, Moto};
use crate::support::{cassette_in, workdir};
use cognito_vcr::{Mode, Proxy, ServeConfig, TokenTimes};
use serde_json::Value;

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENxyz0123456789abcdefghij";

fn credentials(secrets_out: &str) -> [(&str, &str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("COGNITO_VCR_SECRETS_OUT", secrets_out),
    ]
}

/// Run auth_session.py through `url` with the fake credentials; its stdout.
async fn auth_session(
    url: &str,
    ids: &(String, String),
    extra: &[&str],
    secrets_out: &str,
) -> String {
    let (url, pool, client) = (url.to_owned(), ids.0.clone(), ids.1.clone());
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend([url, pool, client]);
    let secrets_out = secrets_out.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        script_with_env(
            &interop("auth_session.py"),
            &args,
            &credentials(&secrets_out),
        )
    })
    .await
    .unwrap()
}

fn setup(moto: &Moto) -> (String, String) {
    let ids: Value =
        serde_json::from_str(&script(&interop("auth_setup.py"), &[&moto.url])).unwrap();
    (
        ids["pool_id"].as_str().unwrap().into(),
        ids["client_id"].as_str().unwrap().into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_session_is_stored_without_secrets_and_replays_with_new_srp_values() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "auth");
    let secrets_file = dir.path().join("secrets.txt");
    let secrets_out = secrets_file.to_str().unwrap();
    let moto = Moto::start();
    let ids = setup(&moto);

    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let live = auth_session(&proxy.url(), &ids, &[], secrets_out).await;
    let summary = proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!(summary.failed, 0, "{summary}");

    let v: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["wrong_password"], "NotAuthorizedException");
    assert_eq!(v["get_user"]["username"], "carol");
    assert_eq!(
        v["id_token_claims"]["cognito:username"], "carol",
        "claims readable"
    );
    assert_eq!(v["srp_challenge"], "PASSWORD_VERIFIER");
    assert_eq!(v["filtered"], serde_json::json!(["carol"]));
    assert_eq!(v["after_sign_out"], "NotAuthorizedException");

    // Nothing secret in the cassette: credentials, passwords, tokens, JWT signatures.
    let text = std::fs::read_to_string(&cassette).unwrap();
    let held = std::fs::read_to_string(&secrets_file).unwrap();
    let mut secrets: Vec<&str> = held.lines().filter(|l| l.len() >= 8).collect();
    secrets.extend([
        ACCESS_KEY,
        SECRET_KEY,
        SESSION_TOKEN,
        "Carol-Secret-1!",
        "Dave-Temp-2!",
    ]);
    assert!(
        secrets.len() > 20,
        "the session held its secrets: {}",
        secrets.len()
    );
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} is in the cassette");
    }
    assert!(text.contains("cognito-vcr-redacted-") & text.contains("cognito-vcr-placeholder-"));
    lint_catches_this_sessions_credentials_planted_in_it(&dir, &text, &held);

    // Offline, twice in a row, each with new SRP_A / signature / timestamp values and another
    // spelling of the filter: the same answers.
    for spelling in ["1", "2"] {
        let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
            .await
            .unwrap();
        let replayed = auth_session(
            &proxy.url(),
            &ids,
            &["--filter-spelling", spelling],
            secrets_out,
        )
        .await;
        let summary = proxy.stop().await.unwrap();
        assert_eq!(replayed, live);
        assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");
    }
}

/// Run verify_tokens.py (PyJWT) against a replay of `cassette` with the signing key in `keys`.
async fn verify_tokens(
    cassette: &std::path::Path,
    keys: &std::path::Path,
    ids: &(String, String),
    times: TokenTimes,
    via_proxy: bool,
) -> Value {
    let mut config = ServeConfig::new(Mode::Replay, cassette);
    config.token_keys = Some(keys.to_owned());
    config.token_times = times;
    // The proxy also stands for cognito-idp.us-east-1.amazonaws.com, as an app's HTTPS_PROXY.
    config.intercept = Some(cognito_vcr::InterceptConfig {
        ca_dir: keys.to_owned(),
        ..Default::default()
    });
    let proxy = Proxy::start(config).await.unwrap();
    let (url, pool, client) = (proxy.url(), ids.0.clone(), ids.1.clone());
    let ca = keys.join("ca.pem").display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut args = vec![url.clone(), pool, client];
        let mut env = vec![("NO_PROXY".to_owned(), "127.0.0.1".to_owned())];
        if times == TokenTimes::Now {
            args.insert(0, "--fresh".into());
        }
        if via_proxy {
            args.splice(0..0, ["--jwks-via-proxy".to_owned(), ca]);
            env.push(("HTTPS_PROXY".to_owned(), url));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        script_with_env(&interop("verify_tokens.py"), &args, &env)
    })
    .await
    .unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.misses, 0, "{summary}");
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_tokens_verify_with_pyjwt_against_the_proxys_jwks() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "verify");
    let moto = Moto::start();
    let ids = setup(&moto);
    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let (url, pool, client) = (proxy.url(), ids.0.clone(), ids.1.clone());
    // The session, recorded (what moto's own tokens verify against is not the point here).
    tokio::task::spawn_blocking(move || {
        script_with_env(
            &interop("verify_tokens.py"),
            &["--record-only", &url, &pool, &client],
            &[],
        )
    })
    .await
    .unwrap();
    proxy.stop().await.unwrap();
    moto.stop();
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        text.contains("cognito-vcr-placeholder-"),
        "the cassette keeps placeholder signatures"
    );

    let keys = dir.path().join("state");
    let expected = serde_json::json!({
        "access": {"client_id_matches": true, "token_use": "access"},
        "get_user": "carol",
        "id": {"token_use": "id", "username": "carol"},
        "tampered": "InvalidSignatureError",
    });
    // Signed with the key made in the state directory; the JWKS from the listener, then through
    // HTTPS_PROXY for the pool's real JWKS URL; and again on a later start (the same key).
    for via_proxy in [false, true, false] {
        let seen = verify_tokens(&cassette, &keys, &ids, TokenTimes::Recorded, via_proxy).await;
        assert_eq!(seen, expected, "via proxy: {via_proxy}");
    }
    let mut fresh = verify_tokens(&cassette, &keys, &ids, TokenTimes::Now, false).await;
    assert_eq!(fresh["fresh_iat"], true);
    fresh.as_object_mut().unwrap().remove("fresh_iat");
    assert_eq!(fresh, expected);
    // The cassette is as recorded: signing happens on the way out only.
    assert_eq!(std::fs::read_to_string(&cassette).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn re_recording_a_sign_in_gives_the_same_cassette() {
    let dir = workdir();
    let secrets_out = dir.path().join("secrets.txt");
    let moto = Moto::start();
    let ids = setup(&moto);
    let mut texts = Vec::new();
    for run in 0..2 {
        let cassette = cassette_in(&dir, &format!("run{run}"));
        let proxy = crate::support::recording(&cassette, &moto.url).await;
        auth_session(
            &proxy.url(),
            &ids,
            &["--sign-in-only"],
            secrets_out.to_str().unwrap(),
        )
        .await;
        proxy.stop().await.unwrap();
        texts.push(std::fs::read_to_string(&cassette).unwrap());
    }
    moto.stop();
    if texts[0] != texts[1] {
        let diff: Vec<(&str, &str)> = texts[0]
            .lines()
            .zip(texts[1].lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .collect();
        panic!("the re-recording differs: {diff:#?}");
    }
}

/// An upstream answering every call with `body` (a 200).
async fn answering(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = conn
                    .write_all(&[head.as_bytes(), body.as_bytes()].concat())
                    .await;
            });
        }
    });
    url
}

/// Every file under `dir`, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// Answers written the ways upstreams write JSON (a pretty-printer's spacing, `\u` escapes of
/// names, a secret that is not a string, a body that does not parse) keep no secret in the
/// cassette or in the store's files.
#[tokio::test]
async fn no_secret_is_stored_however_the_upstream_writes_its_json() {
    const SECRET: &str = "SECRETVALUE0123456789";
    let answers: [&'static str; 5] = [
        r#"{"AuthenticationResult" : {"AccessToken" : "SECRETVALUE0123456789", "ExpiresIn" : 3600}}"#,
        r#"{"AuthenticationResult":{"Access\u0054oken":"SECRETVALUE0123456789"}}"#,
        r#"{"UserPoolClient":{"Client\u0053ecret":"SECRETVALUE0123456789","ClientId":"c"}}"#,
        r#"{"Session":["SECRETVALUE0123456789",{"n":1}],"ChallengeName":"X"}"#,
        r#"{"Session":"SECRETVALUE0123456789"} trailing"#,
    ];
    let dir = crate::support::workdir();
    for (i, answer) in answers.into_iter().enumerate() {
        let cassette = cassette_in(&dir, &format!("layout{i}"));
        let upstream = answering(answer).await;
        let proxy = crate::support::recording(&cassette, &upstream).await;
        let body = serde_json::json!({"ClientId": "c", "AuthFlow": "USER_PASSWORD_AUTH", "N": i});
        let live = crate::support::call(&proxy.url(), "InitiateAuth", body).await;
        assert_eq!(live.status, 200, "{answer}");
        let summary = proxy.stop().await.unwrap();
        assert_eq!(summary.recorded, 1, "{answer}");
        for (path, bytes) in files_under(dir.path()) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(SECRET),
                "{answer}: the secret is in {}",
                path.display()
            );
        }
    }
}

/// An MFA sign-in replays although every TOTP code differs from the recording's (the codes are
/// computed from the SecretCode each run is handed: moto's real one live, a placeholder in
/// replay); no code and no secret is stored.
#[tokio::test(flavor = "multi_thread")]
async fn an_mfa_sign_in_with_fresh_totp_codes_replays_twice() {
    let dir = crate::support::workdir();
    let cassette = cassette_in(&dir, "mfa");
    let moto = Moto::start_with(&[("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")]);
    let ids = setup(&moto);
    let run = |url: String| {
        let ids = ids.clone();
        tokio::task::spawn_blocking(move || {
            script(&interop("mfa_session.py"), &[&url, &ids.0, &ids.1])
        })
    };
    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let live = run(proxy.url()).await.unwrap();
    let recorded = proxy.stop().await.unwrap();
    moto.stop();
    let v: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["verified"], "SUCCESS");
    assert_eq!(v["challenge"], "SOFTWARE_TOKEN_MFA");
    assert!(v["signed_in"]
        .as_array()
        .unwrap()
        .contains(&"AccessToken".into()));
    assert_eq!(recorded.failed, 0, "{recorded}");

    for _ in 0..2 {
        let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
            .await
            .unwrap();
        let replayed = run(proxy.url()).await.unwrap();
        let summary = proxy.stop().await.unwrap();
        assert_eq!(replayed, live);
        assert_eq!(summary.misses, 0, "{summary}");
    }
    // Nothing in it looks like a live credential to `cognito-vcr lint`.
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(cognito_vcr::commands::lint::lint(&held), []);
    let text = std::fs::read_to_string(&cassette).unwrap();
    // moto's fixed TOTP secret, and the codes' field values, are not in the cassette.
    assert!(!text.contains("asdfasdfasdf"), "the TOTP secret is stored");
    let v: Value = serde_json::from_str(&text).unwrap();
    for i in v["interactions"].as_array().unwrap() {
        let request = &i["request"]["body"];
        for code in [
            &request["UserCode"],
            &request["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"],
        ] {
            if let Some(code) = code.as_str() {
                assert_eq!(code, "cognito-vcr-ignored", "{request}");
            }
        }
    }
}

/// The real binary at debug level: no secret of a request or an answer in its log lines, in a
/// replay miss's message, in the cassette or in the store.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_log_line_below_trace_or_a_miss_message() {
    const ANSWER_SECRET: &str = "Zq9AnswerSecret42";
    const PASSWORD: &str = "Zq9RequestPassword42";
    let upstream = answering(
        "{\n  \"AuthenticationResult\" : {\n    \"Access\\u0054oken\" : \"Zq9AnswerSecret42\"\n  }\n}",
    )
    .await;
    let dir = crate::support::workdir();
    let cassette = cassette_in(&dir, "logged");
    let serve = |args: &[&str]| {
        crate::support::spawn_listening(
            crate::support::vcr_command(&["serve", "--cassette"])
                .arg(&cassette)
                .args(args)
                .env("RUST_LOG", "debug")
                .stderr(std::process::Stdio::piped()),
        )
    };
    let stop = |mut child: std::process::Child| {
        crate::support::sigterm(&child);
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(child.wait().unwrap().success(), "{stderr}");
        stderr
    };
    let auth = |password: &str| {
        format!(
            "{{ \"AuthFlow\" : \"USER_PASSWORD_AUTH\", \"ClientId\":\"c\", \"AuthParameters\" : {{ \"USERNAME\":\"carol\", \"PASS\\u0057ORD\" : \"{password}\" }} }}"
        )
    };
    let target = [(
        "x-amz-target",
        "AWSCognitoIdentityProviderService.InitiateAuth",
    )];
    let (child, url) = serve(&["--mode", "record", "--upstream", &upstream]);
    let live = crate::support::post(&url, &target, auth(PASSWORD)).await;
    assert_eq!(live.status, 200);
    let recording_log = stop(child);

    let (child, url) = serve(&["--mode", "replay"]);
    let other = "Zq9OtherPassword42";
    let miss = crate::support::post(&url, &target, auth(other)).await;
    assert_eq!(miss.status, 400);
    let message = miss.body["message"].as_str().unwrap().to_owned();
    let replay_log = stop(child);

    for secret in [ANSWER_SECRET, PASSWORD, other] {
        assert!(!message.contains(secret), "miss message: {message}");
        assert!(
            !recording_log.contains(secret),
            "record log: {recording_log}"
        );
        assert!(!replay_log.contains(secret), "replay log: {replay_log}");
        for (path, bytes) in files_under(dir.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{secret} in {}",
                path.display()
            );
        }
    }
}

/// Data that only looks like a secret replays as recorded: an app client's TokenValidityUnits
/// (`{"AccessToken": "hours", ...}`), created, described and listed (boto3 against moto).
#[tokio::test(flavor = "multi_thread")]
async fn token_validity_units_replay_as_recorded() {
    let dir = crate::support::workdir();
    let cassette = cassette_in(&dir, "units");
    let moto = Moto::start();
    let ids = setup(&moto);
    let run = |url: String| {
        let pool = ids.0.clone();
        tokio::task::spawn_blocking(move || script(&interop("client_units.py"), &[&url, &pool]))
    };
    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let live = run(proxy.url()).await.unwrap();
    proxy.stop().await.unwrap();
    moto.stop();
    let v: Value = serde_json::from_str(&live).unwrap();
    let units =
        serde_json::json!({"AccessToken": "hours", "IdToken": "minutes", "RefreshToken": "days"});
    assert_eq!(v["described"], units, "{live}");

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let replayed = run(proxy.url()).await.unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(summary.misses, 0, "{summary}");
    assert!(!std::fs::read_to_string(&cassette)
        .unwrap()
        .contains("cognito-vcr-placeholder-AccessToken"));
}

/// The recorded session's cassette is clean to `lint`; with one of the session's own live
/// credentials planted in it (where a token placeholder stood, or inside a text), it is not.
/// Part of lint's corpus: recorded sessions, not only made-up ones.
fn lint_catches_this_sessions_credentials_planted_in_it(
    dir: &tempfile::TempDir,
    text: &str,
    held: &str,
) {
    use cognito_vcr::commands::lint::lint_file;
    let load = |text: &str| {
        let file = dir.path().join("planted.json");
        std::fs::write(&file, text).unwrap();
        cognito_vcr::cassette::load(&file).unwrap().unwrap()
    };
    let (found, by_line) = lint_file(text, &load(text));
    assert!(
        found.is_empty() && by_line.is_empty(),
        "{found:?} {by_line:?}"
    );

    let start = text.find("\"cognito-vcr-placeholder-").unwrap();
    let end = start + 1 + text[start + 1..].find('"').unwrap();
    let jwts = held
        .lines()
        .filter(|l| l.starts_with("eyJ") && l.matches('.').count() == 2);
    let credentials: Vec<&str> = jwts
        .chain([ACCESS_KEY, SECRET_KEY, SESSION_TOKEN])
        .collect();
    assert!(credentials.len() >= 7, "{credentials:?}");
    eprintln!(
        "lint corpus from a recorded session: {} planted",
        credentials.len() * 2
    );
    let mut missed = Vec::new();
    for credential in &credentials {
        for planted in [
            format!("\"{credential}\""),
            format!("\"the upstream said {credential} here\""),
        ] {
            let dirty = format!("{}{planted}{}", &text[..start], &text[end + 1..]);
            let (found, by_line) = lint_file(&dirty, &load(&dirty));
            if found.is_empty() && by_line.is_empty() {
                missed.push(planted);
            }
        }
    }
    assert!(
        missed.is_empty(),
        "lint missed {} of {}: {missed:?}",
        missed.len(),
        credentials.len() * 2
    );
}
