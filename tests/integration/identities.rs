//! Stable identities: a suite that creates its own pool, client and users in a setup scope,
//! recorded against two fresh motos, gives byte-identical cassettes and a clean diff; one real
//! change is named alone; re-recording setup and one test keeps every other test replaying; a
//! replayed sign-in's token names the stand-in pool and verifies with the proxy's JWKS; whether
//! the upstream gave an object's two dates equal renumbers no other virtual date.

use crate::interop::{interop, script_with_env, Moto};
use crate::support::{cassette_in, get, path, recording, vcr_command, workdir};
use serde_json::Value;
use std::path::Path;

const TESTS: [&str; 5] = ["listing", "filtered", "group", "signin", "mutation"];

/// Run the suite through `url` (setup, then `args`' tests): what it saw.
async fn suite(url: &str, args: &[&str], id_token: &Path) -> Value {
    let (url, token) = (url.to_owned(), id_token.display().to_string());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let mut all = vec![url.as_str()];
        all.extend(args.iter().map(String::as_str));
        script_with_env(
            &interop("fixture_suite.py"),
            &all,
            &[("COGNITO_VCR_ID_TOKEN_OUT", token.as_str())],
        )
    })
    .await
    .unwrap();
    serde_json::from_str(&out).unwrap()
}

/// Record the suite into `cassette` against a fresh moto.
async fn record(cassette: &Path, args: &[&str], id_token: &Path) -> Value {
    let moto = Moto::start();
    let proxy = recording(cassette, &moto.url).await;
    let seen = suite(&proxy.url(), args, id_token).await;
    proxy.stop().await.unwrap();
    moto.stop();
    seen
}

/// The dates each pool's DescribeUserPool answer was stored with, by pool name:
/// (creation, last modification).
fn described_pool_dates(cassette: &Path) -> std::collections::BTreeMap<String, (Value, Value)> {
    let stored: Value = serde_json::from_slice(&std::fs::read(cassette).unwrap()).unwrap();
    stored["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["operation"] == "DescribeUserPool")
        .map(|i| {
            let pool = &i["response"]["body"]["UserPool"];
            (
                pool["Name"].as_str().unwrap().to_owned(),
                (
                    pool["CreationDate"].clone(),
                    pool["LastModifiedDate"].clone(),
                ),
            )
        })
        .collect()
}

/// Pools made outside the recording, first seen in reads (boto3's paginator, then a describe
/// each), recorded once against a moto whose pool dates are always equal and once against one
/// where they never are: each pool keeps its virtual creation date, and only the modification
/// dates tell the two apart.
#[tokio::test(flavor = "multi_thread")]
async fn whether_the_upstream_gave_a_pools_two_dates_equal_renumbers_no_other_date() {
    let dir = workdir();
    let mut runs = Vec::new();
    for clock in ["frozen", "apart"] {
        let cassette = cassette_in(&dir, clock);
        let moto = Moto::start_with(&[("MOTO_CLOCK", clock)]);
        let proxy = recording(&cassette, &moto.url).await;
        let (upstream, url) = (moto.url.clone(), proxy.url());
        let listed = tokio::task::spawn_blocking(move || {
            script_with_env(&interop("dates_session.py"), &[&upstream, &url], &[])
        })
        .await
        .unwrap();
        let listed: Vec<String> = serde_json::from_str(&listed).unwrap();
        assert_eq!(listed.len(), 4, "{clock}: {listed:?}");
        proxy.stop().await.unwrap();
        moto.stop();
        runs.push(described_pool_dates(&cassette));
    }
    let (equal, apart) = (&runs[0], &runs[1]);
    assert_eq!(equal.len(), 4);
    assert_eq!(
        equal.keys().collect::<Vec<_>>(),
        apart.keys().collect::<Vec<_>>()
    );
    for (name, (created, modified)) in equal {
        let (created_apart, modified_apart) = &apart[name];
        // Virtual dates lie in 2001 (epoch 1,000,000,000 on).
        let virtual_date = created
            .as_i64()
            .is_some_and(|d| (1_000_000_000..1_100_000_000).contains(&d));
        assert!(virtual_date, "{name}: {created}");
        assert_eq!(created, modified, "{name}: equal dates read equal");
        assert_ne!(
            created_apart, modified_apart,
            "{name}: dates apart read apart"
        );
        assert_eq!(
            created, created_apart,
            "{name}: the creation date is numbered alike"
        );
    }
}

/// Run `cognito-vcr diff OLD NEW`: (exit code, stdout).
fn diff(old: &Path, new: &Path) -> (i32, String) {
    let out = vcr_command(&["diff", path(old), path(new)])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// What the tests saw, without setup's ids (real while recording, stand-ins in replay).
fn tests_only(mut seen: Value) -> Value {
    seen.as_object_mut().unwrap().remove("setup");
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_that_creates_its_pool_records_the_same_cassette_every_time() {
    let dir = workdir();
    let token = dir.path().join("id-token");
    let (a, b, changed, partial) = (
        cassette_in(&dir, "a"),
        cassette_in(&dir, "b"),
        cassette_in(&dir, "changed"),
        cassette_in(&dir, "partial"),
    );
    let live = record(&a, &TESTS, &token).await;
    let again = record(&b, &TESTS, &token).await;
    assert_ne!(live["setup"], again["setup"], "each moto makes new ids");
    assert_eq!(tests_only(live.clone()), tests_only(again));
    let (a_text, b_text) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(
        a_text == b_text,
        "two recordings of an unchanged suite differ:\n{}",
        diff(&a, &b).1
    );
    let real_pool = live["setup"]["pool"].as_str().unwrap();
    assert!(
        !String::from_utf8_lossy(&a_text).contains(real_pool),
        "the real pool id is not stored"
    );
    assert_eq!(diff(&a, &b), (0, "no differences\n".to_owned()));

    // One real change: diff names it and nothing else.
    let mut changed_args = vec!["--changed"];
    changed_args.extend(TESTS);
    record(&changed, &changed_args, &token).await;
    let (code, text) = diff(&a, &changed);
    assert_eq!(code, 1, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("[listing] ListUsers (pool us-east-1_"),
        "{text}"
    );
    assert!(
        lines[0].ends_with("1 changed: user07 given_name Gina \u{2192} Seventh"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("[setup] AdminCreateUser (pool us-east-1_"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("user user07): request.given_name Gina \u{2192} Seventh, User.given_name Gina \u{2192} Seventh"),
        "{text}"
    );
    assert_eq!(lines[2], "2 differences");

    // Re-record setup and one test over the cassette: every scope replays, strictly, and the
    // cassette is what it was.
    std::fs::copy(&a, &partial).unwrap();
    record(&partial, &["signin"], &token).await;
    assert!(
        std::fs::read(&partial).unwrap() == a_text,
        "{}",
        diff(&a, &partial).1
    );
    let config = cognito_vcr::ServeConfig {
        token_keys: Some(dir.path().join("state")),
        ..cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Replay, &partial).strict(true)
    };
    let proxy = cognito_vcr::Proxy::start(config).await.unwrap();
    let replayed = suite(&proxy.url(), &TESTS, &token).await;
    assert_eq!(tests_only(replayed.clone()), tests_only(live.clone()));
    let stand_in = replayed["setup"]["pool"].as_str().unwrap();
    assert!(
        stand_in.starts_with("us-east-1_") && stand_in != real_pool,
        "{stand_in}"
    );

    // The replayed id token names the stand-in pool, and verifies with the proxy's JWKS.
    let id_token = std::fs::read_to_string(&token).unwrap();
    let claims = claims(&id_token);
    assert_eq!(
        claims["iss"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{stand_in}")
    );
    assert_eq!(claims["aud"], replayed["setup"]["client"]);
    let jwks = get(&format!("{}/{stand_in}/.well-known/jwks.json", proxy.url())).await;
    assert_eq!(jwks.status, 200);
    assert!(verifies(&id_token, &jwks.body), "{id_token}");
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.failed), (0, 0));
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The token's RS256 signature checks out with the JWKS's key.
fn verifies(token: &str, jwks: &Value) -> bool {
    use base64::Engine;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = &jwks["keys"][0];
    let int = |f: &str| rsa::BigUint::from_bytes_be(&b64.decode(jwk[f].as_str().unwrap()).unwrap());
    let key = rsa::RsaPublicKey::new(int("n"), int("e")).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = Signature::try_from(b64.decode(signature).unwrap().as_slice()).unwrap();
    VerifyingKey::<sha2::Sha256>::new(key)
        .verify(input.as_bytes(), &signature)
        .is_ok()
}

/// Another environment: a cassette recorded against one pool replays for an app configured with
/// another through `[aliases]`, and a second stage's recording diffs clean against the first's.
#[tokio::test(flavor = "multi_thread")]
async fn an_alias_replays_and_diffs_another_stage_against_the_recording() {
    use crate::support::{call, FakeCognito, POOL};
    let dir = workdir();
    let dev = cassette_in(&dir, "dev");
    let upstream = FakeCognito::start(4).await;
    let proxy = recording(&dev, &upstream.url()).await;
    let list = serde_json::json!({"UserPoolId": POOL, "Limit": 10});
    let recorded = call(&proxy.url(), "ListUsers", list).await;
    assert_eq!(recorded.status, 200);
    proxy.stop().await.unwrap();

    const STAGE: &str = "us-east-1_Stage";
    let mut config = cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Replay, &dev).strict(true);
    config.settings.aliases = vec![(STAGE.to_owned(), POOL.to_owned())];
    let proxy = cognito_vcr::Proxy::start(config).await.unwrap();
    let staged = serde_json::json!({"UserPoolId": STAGE, "Limit": 10});
    let replayed = call(&proxy.url(), "ListUsers", staged).await;
    assert_eq!(replayed.status, 200, "{:?}", replayed.body);
    assert_eq!(replayed.body, recorded.body);
    assert_eq!(proxy.stop().await.unwrap().misses, 0);

    // The same session recorded against the other stage: differences, but none with the alias.
    let stage = cassette_in(&dir, "stage");
    let text = std::fs::read_to_string(&dev).unwrap();
    std::fs::write(&stage, text.replace(POOL, STAGE)).unwrap();
    assert_eq!(diff(&dev, &stage).0, 1);
    let aliases = dir.path().join("aliases.toml");
    std::fs::write(&aliases, format!("[aliases]\n\"{STAGE}\" = \"{POOL}\"\n")).unwrap();
    let out = vcr_command(&["diff", path(&dev), path(&stage), "--config", path(&aliases)])
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).as_ref()
        ),
        (Some(0), "no differences\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
