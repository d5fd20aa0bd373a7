//! Identity pools (cognito-identity) through the same listener and cassette as user pools: a
//! boto3 session (pools, GetId x3, credentials, an OpenId token, listings paged at 1 and 2, a
//! signed-in GetId with `Logins`) recorded from moto extended where moto 5.2 falls short
//! (tests/interop/identity_moto.py), then replayed offline twice with the same answers; no
//! credential, session token or token of the session in the cassette or the store, lint clean
//! and catching a real one planted; the replayed OpenId token signed by the proxy. Towards
//! AWS: re-signed for cognito-identity (checked by botocore's signer), unsigned operations sent
//! unsigned; through HTTPS_PROXY interception of cognito-identity.<region>.amazonaws.com.

use crate::interop::{interop, script_with_env, Moto};
use crate::support::{
    cassette_in, files_below, path, post, recording, run_to_success, vcr_command, workdir,
};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::Value;
use std::path::Path;

/// Run identity_session.py through `url`: what it saw.
async fn session(url: &str, secrets_out: &Path) -> String {
    let (url, out) = (url.to_owned(), secrets_out.display().to_string());
    tokio::task::spawn_blocking(move || {
        script_with_env(
            &interop("identity_session.py"),
            &[&url],
            &[("COGNITO_VCR_SECRETS_OUT", &out)],
        )
    })
    .await
    .unwrap()
}

/// The stored request body of the first interaction of `operation`.
fn request_of(cassette: &Value, operation: &str) -> Value {
    cassette["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["operation"] == operation)
        .map(|i| i["request"]["body"].clone())
        .unwrap_or_else(|| panic!("no {operation} recorded"))
}

/// One identity-pools call, as an SDK makes it.
async fn call(url: &str, operation: &str, body: Value) -> crate::support::Answer {
    let target = format!("AWSCognitoIdentityService.{operation}");
    crate::support::call_target(url, &target, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_pools_session_records_without_credentials_and_replays_offline() {
    let dir = workdir();
    let held = tempfile::tempdir().unwrap();
    let secrets_file = held.path().join("secrets");
    let cassette = cassette_in(&dir, "identity");
    let moto = Moto::start_script("identity_moto.py", &[]);
    let proxy = recording(&cassette, &moto.url).await;
    let live = session(&proxy.url(), &secrets_file).await;
    let summary = proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!(summary.failed, 0, "{summary}");

    let v: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["distinct_identities"], 3);
    assert_eq!(v["credentials"]["access_key_id"], true);
    assert_eq!(v["credentials"]["expires_in_the_future"], true);
    assert_eq!(v["open_id_token"]["sub_is_the_identity"], true);
    assert_eq!(
        v["list_identities_by_1"]["pages"],
        serde_json::json!([1, 1, 1])
    );
    assert_eq!(
        v["list_identities_by_2"]["pages"],
        serde_json::json!([2, 1])
    );
    assert_eq!(
        v["list_identity_pools_by_2"]["names"],
        serde_json::json!(["vcr-ids-1", "vcr-ids-2", "vcr-ids-3"])
    );
    assert_eq!(v["signed_in"]["new_identity"], true);

    // The operations are stored under their service's name; user-pools ones stay bare.
    let text = std::fs::read_to_string(&cassette).unwrap();
    for op in [
        "GetId",
        "GetCredentialsForIdentity",
        "GetOpenIdToken",
        "ListIdentities",
    ] {
        assert!(
            text.contains(&format!("\"AWSCognitoIdentityService.{op}\"")),
            "{op}"
        );
    }
    assert!(text.contains("\"InitiateAuth\""));

    // No secret of the session in any file the run wrote.
    let secrets_text = std::fs::read_to_string(&secrets_file).unwrap();
    let secrets: Vec<&str> = secrets_text.lines().filter(|l| l.len() >= 8).collect();
    assert!(
        secrets.len() >= 12,
        "the session held its secrets: {secrets:?}"
    );
    for (file, bytes) in files_below(dir.path()) {
        for secret in &secrets {
            assert!(
                memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
                "{secret} is in {file}"
            );
        }
    }
    assert!(text.contains("ASIACVCR") && text.contains("CognitoVcrPlaceholderSecretKey"));

    // lint: clean as recorded; a real access key id, secret key or OpenId token planted
    // where its placeholder stood is caught.
    let lint = |file: &Path| vcr_command(&["lint", path(file)]).output().unwrap();
    let clean = lint(&cassette);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let stored: Value = serde_json::from_str(&text).unwrap();
    let credentials = stored["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["operation"] == "AWSCognitoIdentityService.GetCredentialsForIdentity")
        .map(|i| i["response"]["body"]["Credentials"].clone())
        .unwrap();
    let planted = [
        (credentials["AccessKeyId"].as_str().unwrap(), secrets[0]),
        (credentials["SecretKey"].as_str().unwrap(), secrets[1]),
    ];
    for (i, (placeholder, real)) in planted.into_iter().enumerate() {
        let dirty = dir.path().join(format!("dirty-{i}.json"));
        std::fs::write(&dirty, text.replace(placeholder, real)).unwrap();
        let out = lint(&dirty);
        assert_eq!(out.status.code(), Some(1), "{real} not caught");
        std::fs::remove_file(&dirty).unwrap();
    }

    // Offline, twice in a row: the same answers, nothing missed or left over.
    for _ in 0..2 {
        let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
            .await
            .unwrap();
        let replayed = session(&proxy.url(), &held.path().join("replayed")).await;
        let summary = proxy.stop().await.unwrap();
        assert_eq!(replayed, live);
        assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");
    }

    // With a signing key, the OpenId token goes out signed by the proxy (RS256, its kid).
    let keys = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.token_keys = Some(keys.path().to_owned());
    let proxy = Proxy::start(config).await.unwrap();
    let asked = request_of(&stored, "AWSCognitoIdentityService.GetOpenIdToken");
    let answer = call(&proxy.url(), "GetOpenIdToken", asked).await;
    // A listing recorded at 1 and 2 is served at another page size (re-paged).
    let pool =
        request_of(&stored, "AWSCognitoIdentityService.ListIdentities")["IdentityPoolId"].clone();
    let identities = call(
        &proxy.url(),
        "ListIdentities",
        serde_json::json!({"IdentityPoolId": pool, "MaxResults": 3}),
    )
    .await;
    assert_eq!(
        identities.body["Identities"].as_array().map(Vec::len),
        Some(3),
        "{:?}",
        identities.body
    );
    assert!(identities.body.get("NextToken").is_none());
    let pools = call(
        &proxy.url(),
        "ListIdentityPools",
        serde_json::json!({"MaxResults": 3}),
    )
    .await;
    assert_eq!(
        pools.body["IdentityPools"].as_array().map(Vec::len),
        Some(3),
        "{:?}",
        pools.body
    );
    proxy.stop().await.unwrap();
    let token = answer.body["Token"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256", "{header}");
    assert!(header["kid"].as_str().unwrap().starts_with("cognito-vcr-"));
    assert!(!token.contains("cognito-vcr-placeholder-"), "{token}");

    // Recorded again against a fresh upstream (new ids, credentials, tokens): the same bytes.
    let again = cassette_in(&dir, "again");
    let moto = Moto::start_script("identity_moto.py", &[]);
    let proxy = recording(&again, &moto.url).await;
    let second = session(&proxy.url(), &held.path().join("again")).await;
    proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!(second, live);
    assert!(
        std::fs::read(&again).unwrap() == text.as_bytes(),
        "two recordings of the same session differ"
    );

    // As HAR and back: the identity-pools calls keep their own target and operation.
    let har = dir.path().join("session.har");
    run_to_success(&mut vcr_command(&[
        "export",
        "--har",
        path(&har),
        "--cassette",
        path(&cassette),
    ]));
    let har_text = std::fs::read_to_string(&har).unwrap();
    assert!(har_text.contains("AWSCognitoIdentityService.GetCredentialsForIdentity"));
    assert!(!har_text.contains("AWSCognitoIdentityProviderService.AWSCognitoIdentityService"));
    let imported = cassette_in(&dir, "imported");
    run_to_success(&mut vcr_command(&[
        "import",
        "--har",
        path(&har),
        "--cassette",
        path(&imported),
    ]));
    // (Continuation pages send back synthetic tokens and are skipped, as for user pools: see
    // docs/har.md.)
    let operations = |file: &Path| -> Vec<String> {
        let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let mut ops: Vec<String> = v["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["request"]["body"].get("NextToken").is_none())
            .map(|i| i["operation"].as_str().unwrap().to_owned())
            .collect();
        ops.sort();
        ops
    };
    assert_eq!(operations(&imported), operations(&cassette));
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_pools_calls_are_re_signed_for_cognito_identity_and_unsigned_ones_go_unsigned() {
    use crate::aws::{upstream_credentials, Stub, STUB_KEY};
    let dir = workdir();
    let stub = Stub::start(None);
    let mut config =
        ServeConfig::new(Mode::Record, cassette_in(&dir, "signed")).with_upstream(&stub.url);
    config.resign = true;
    config.credentials = Some(upstream_credentials());
    let proxy = Proxy::start(config).await.unwrap();
    let client_auth = "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20240101/eu-west-1/cognito-identity/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123";
    let signed = post(
        &proxy.url(),
        &[
            (
                "x-amz-target",
                "AWSCognitoIdentityService.ListIdentityPools",
            ),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", client_auth),
            ("x-amz-date", "20240101T000000Z"),
        ],
        r#"{"MaxResults":2}"#,
    )
    .await;
    assert_eq!(
        signed.body,
        serde_json::json!({"signed": true, "operation": "ListIdentityPools", "region": "eu-west-1",
            "access_key": STUB_KEY, "service": "cognito-identity"})
    );
    // GetId: the region from the pool's id; any signature the client sent is dropped.
    let unsigned = post(
        &proxy.url(),
        &[
            ("x-amz-target", "AWSCognitoIdentityService.GetId"),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", client_auth),
        ],
        r#"{"IdentityPoolId":"eu-west-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f"}"#,
    )
    .await;
    assert_eq!(
        unsigned.body,
        serde_json::json!({"signed": false, "operation": "GetId", "service": "cognito-identity"})
    );
    proxy.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_through_https_proxy_to_cognito_identity_records_and_replays() {
    use crate::aws::{Stub, STUB_KEY};
    let dir = workdir();
    let cassette = cassette_in(&dir, "intercepted");
    let state = dir.path().join("state");
    let (stub, upstream_ca) = Stub::start_tls(dir.path());
    let intercept = |upstream: Option<String>| {
        Some(cognito_vcr::InterceptConfig {
            ca_dir: state.clone(),
            allow: vec![],
            upstream,
        })
    };
    // The client's own signature (made for cognito-identity's host) goes through.
    let mut config = ServeConfig::new(Mode::Record, &cassette);
    config.intercept = intercept(Some(stub.url.clone()));
    config.upstream_ca = Some(upstream_ca);
    let proxy = Proxy::start(config).await.unwrap();
    let client = |proxy_url: String| {
        crate::aws::through_interception("intercept_identity_client.py", &state, proxy_url)
    };
    let live = client(proxy.url()).await.unwrap();
    let answers: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        answers,
        serde_json::json!([
            {"signed": true, "operation": "ListIdentityPools", "region": "us-east-1",
                "access_key": STUB_KEY, "service": "cognito-identity"},
            {"signed": false, "operation": "GetId", "service": "cognito-identity"},
        ])
    );
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.recorded, 2, "{summary}");
    drop(stub);

    // Offline: the same through the interception proxy in replay mode.
    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.intercept = intercept(None);
    let proxy = Proxy::start(config).await.unwrap();
    let replayed = client(proxy.url()).await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(proxy.stop().await.unwrap().misses, 0);
}

/// Amplify JS v6's `fetchAuthSession()` with an identity pool, guest then signed in, recorded
/// from moto and replayed offline twice (aws-amplify pinned in tests/interop/amplify, installed
/// by `.ci/setup-node`).
#[tokio::test(flavor = "multi_thread")]
async fn amplify_fetch_auth_session_with_an_identity_pool_records_and_replays() {
    let script = interop("amplify/session.mjs");
    assert!(
        interop("amplify/node_modules/aws-amplify").is_dir(),
        "aws-amplify is not installed: run `bash .ci/setup-node`"
    );
    let dir = workdir();
    let cassette = cassette_in(&dir, "amplify");
    let held = tempfile::tempdir().unwrap();
    let secrets_file = held.path().join("secrets");
    let moto = Moto::start_script("identity_moto.py", &[]);
    let ids: Value = serde_json::from_str(&crate::interop::script(
        &interop("amplify_setup.py"),
        &[&moto.url],
    ))
    .unwrap();
    let node = |url: String, secrets: std::path::PathBuf| {
        let (script, ids) = (script.clone(), ids.clone());
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("node")
                .arg(&script)
                .arg(&url)
                .args(["user_pool", "client", "identity_pool"].map(|k| ids[k].as_str().unwrap()))
                .env("COGNITO_VCR_SECRETS_OUT", &secrets)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        })
    };
    let proxy = recording(&cassette, &moto.url).await;
    let live = node(proxy.url(), secrets_file.clone()).await.unwrap();
    let summary = proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!(summary.failed, 0, "{summary}");
    let v: Value = serde_json::from_str(&live).unwrap();
    for session in ["guest", "session"] {
        for check in [
            "identity",
            "access_key_id",
            "secret_key_40",
            "expires_in_the_future",
        ] {
            assert_eq!(v[session][check], true, "{session} {check}: {live}");
        }
    }
    assert_eq!(v["signed_in"], true);
    let text = std::fs::read_to_string(&cassette).unwrap();
    let secrets_text = std::fs::read_to_string(&secrets_file).unwrap();
    let secrets: Vec<&str> = secrets_text.lines().filter(|l| l.len() >= 8).collect();
    assert!(
        secrets.len() >= 7,
        "the session held its secrets: {secrets:?}"
    );
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} is in the cassette");
    }
    for _ in 0..2 {
        let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
            .await
            .unwrap();
        let replayed = node(proxy.url(), held.path().join("replayed"))
            .await
            .unwrap();
        let summary = proxy.stop().await.unwrap();
        assert_eq!(replayed, live);
        assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");
    }
}
