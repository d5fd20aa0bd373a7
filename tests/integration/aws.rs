//! Recording from the real Cognito, proven on loopback: the TLS listener with boto3, SigV4
//! re-signing checked by botocore's own signer in a stub upstream, verified HTTPS upstreams.

use crate::interop::{aws_env, interop, python, script_with_env, Moto};
use crate::support::{call, cassette_in, post, spawn_listening, workdir};
use cognito_vcr::tls::LocalCa;
use cognito_vcr::TlsSource;
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

/// Run `script` of tests/interop (a boto3 client of its own) through the interception proxy at
/// `proxy_url`, trusting the CA in `state`, with the stub upstream's credentials: what it
/// printed.
pub fn through_interception(
    script: &'static str,
    state: &std::path::Path,
    proxy_url: String,
) -> tokio::task::JoinHandle<String> {
    let ca = state.join("ca.pem");
    tokio::task::spawn_blocking(move || {
        script_with_env(
            &interop(script),
            &[],
            &[
                ("HTTPS_PROXY", proxy_url.as_str()),
                ("NO_PROXY", ""),
                ("AWS_CA_BUNDLE", ca.to_str().unwrap()),
                ("AWS_ACCESS_KEY_ID", STUB_KEY),
                ("AWS_SECRET_ACCESS_KEY", STUB_SECRET),
                ("AWS_SESSION_TOKEN", STUB_TOKEN),
            ],
        )
    })
}

pub const STUB_KEY: &str = "AKIDUPSTREAMEXAMPLE";
pub const STUB_SECRET: &str = "upstream/secret/EXAMPLEKEY";
pub const STUB_TOKEN: &str = "upstream-session-token-EXAMPLE";

/// The SigV4-verifying stub (botocore's signer), plain or TLS; stops when dropped.
pub struct Stub {
    child: Child,
    pub url: String,
}

impl Stub {
    /// The stub over TLS, with a certificate for 127.0.0.1 from a CA of its own made in `dir`:
    /// the stub and that CA's certificate (for `--upstream-ca`).
    pub fn start_tls(dir: &std::path::Path) -> (Stub, std::path::PathBuf) {
        let ca = LocalCa::open(&dir.join("upstream-ca")).unwrap();
        let (cert, key) = ca.mint(&["127.0.0.1"]).unwrap();
        let (cert_path, key_path) = (dir.join("stub.pem"), dir.join("stub-key.pem"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        (Stub::start(Some((&cert_path, &key_path))), ca.cert_path())
    }

    pub fn start(tls: Option<(&std::path::Path, &std::path::Path)>) -> Stub {
        let mut cmd = Command::new(python());
        cmd.arg(interop("sigv4_stub.py"));
        if let Some((cert, key)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let (child, url) = spawn_listening(
            aws_env(&mut cmd)
                .env("STUB_ACCESS_KEY", STUB_KEY)
                .env("STUB_SECRET_KEY", STUB_SECRET)
                .env("STUB_SESSION_TOKEN", STUB_TOKEN)
                .stdin(Stdio::piped()),
        );
        Stub { child, url }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The stub's own self-test: real boto3 requests and hand-tampered ones (body, signed header,
/// keys, session token, x-amz-content-sha256) against it over plain HTTP, with and without a
/// session token, and over HTTPS; it stops on stdin EOF and on SIGTERM.
#[test]
fn the_sigv4_stub_passes_its_self_test() {
    let out = aws_env(Command::new(python()).arg(interop("sigv4_stub_selftest.py")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigv4_stub_selftest.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn upstream_credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        STUB_KEY,
        STUB_SECRET,
        Some(STUB_TOKEN.into()),
        None,
        "test",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_are_re_signed_for_the_upstream_and_unsigned_operations_stay_unsigned() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "signed");
    let stub = Stub::start(None);
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(&stub.url);
    config.resign = true;
    config.credentials = Some(upstream_credentials());
    let proxy = Proxy::start(config).await.unwrap();
    let url = proxy.url();

    // The client signed for the proxy's address with its own credentials: that signature is
    // replaced, and botocore verifies the new one with the upstream's credentials.
    let client_auth = "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20240101/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123";
    let target = "AWSCognitoIdentityProviderService.DescribeUserPool";
    let signed = post(
        &url,
        &[
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", client_auth),
            ("x-amz-date", "20240101T000000Z"),
            ("x-amz-security-token", "CLIENT-SESSION-TOKEN"),
        ],
        r#"{"UserPoolId":"eu-west-1_Abc"}"#,
    )
    .await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    assert_eq!(
        signed.body,
        json!({"signed": true, "operation": "DescribeUserPool", "region": "eu-west-1", "access_key": STUB_KEY})
    );

    // Unsigned operations go unsigned (the stub rejects any signature on them).
    let unsigned = post(
        &url,
        &[("x-amz-target", "AWSCognitoIdentityProviderService.InitiateAuth"), ("authorization", client_auth)],
        r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c","AuthParameters":{"USERNAME":"u","PASSWORD":"p"}}"#,
    )
    .await;
    assert_eq!(
        unsigned.body,
        json!({"signed": false, "operation": "InitiateAuth"})
    );
    proxy.stop().await.unwrap();

    // Nothing of either side's credentials in the cassette.
    let text = std::fs::read_to_string(&cassette).unwrap();
    for secret in [
        "AKIDCLIENT",
        "CLIENT-SESSION-TOKEN",
        STUB_SECRET,
        STUB_TOKEN,
        "Signature=",
        "authorization",
    ] {
        assert!(
            !text
                .to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()),
            "{secret} in {text}"
        );
    }

    // Without re-signing, the client's own (wrong) signature reaches the stub and fails.
    let proxy = Proxy::start(
        ServeConfig::new(Mode::Passthrough, cassette_in(&dir, "x")).with_upstream(&stub.url),
    )
    .await
    .unwrap();
    let unsigned_through = call(
        &proxy.url(),
        "DescribeUserPool",
        json!({"UserPoolId": "eu-west-1_Abc"}),
    )
    .await;
    assert_eq!(
        unsigned_through.error_type(),
        Some("InvalidSignatureException")
    );
    proxy.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_upstream_is_verified_and_a_private_ca_can_be_added() {
    let dir = workdir();
    let (stub, ca) = Stub::start_tls(dir.path());
    assert!(stub.url.starts_with("https://"));
    let body = json!({"UserPoolId": "us-east-1_Abc"});

    // Not trusted by default: the call fails with the cause, nothing is recorded.
    let mut config =
        ServeConfig::new(Mode::Record, cassette_in(&dir, "a")).with_upstream(&stub.url);
    config.resign = true;
    config.credentials = Some(upstream_credentials());
    let proxy = Proxy::start(config.clone()).await.unwrap();
    let refused = call(&proxy.url(), "DescribeUserPool", body.clone()).await;
    assert_eq!(refused.status, 502);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("certificate"),
        "{:?}",
        refused.body
    );
    proxy.stop().await.unwrap();

    // With --upstream-ca: verified, signed, recorded.
    config.upstream_ca = Some(ca.clone());
    config.cassette = cassette_in(&dir, "b");
    let proxy = Proxy::start(config).await.unwrap();
    let ok = call(&proxy.url(), "DescribeUserPool", body).await;
    assert_eq!(
        (ok.status, &ok.body["signed"]),
        (200, &json!(true)),
        "{:?}",
        ok.body
    );
    assert_eq!(proxy.stop().await.unwrap().recorded, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_records_and_replays_over_the_tls_listener() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "tls");
    let state = dir.path().join("state");
    let moto = Moto::start();
    let seeded: Value =
        serde_json::from_str(&crate::interop::script(&interop("seed.py"), &[&moto.url])).unwrap();
    let pool = seeded["pool_id"].as_str().unwrap().to_owned();
    let tls = || Some(TlsSource::Auto { dir: state.clone() });

    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(&moto.url);
    config.tls = tls();
    let proxy = Proxy::start(config).await.unwrap();
    assert!(proxy.url().starts_with("https://127.0.0.1:"));
    let ca = proxy.ca().unwrap().to_owned();
    let run = |url: String| {
        let (ca, pool) = (ca.clone(), pool.clone());
        tokio::task::spawn_blocking(move || {
            script_with_env(
                &interop("session.py"),
                &["--read-only", &url, &pool],
                &[("AWS_CA_BUNDLE", ca.to_str().unwrap())],
            )
        })
    };
    let live = run(proxy.url()).await.unwrap();
    proxy.stop().await.unwrap();
    moto.stop();

    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.tls = tls();
    let proxy = Proxy::start(config).await.unwrap();
    assert_eq!(proxy.ca().unwrap(), ca, "the CA is reused");
    let replayed = run(proxy.url()).await.unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(summary.misses, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_the_tls_port_gets_a_clear_answer() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    cognito_vcr::cassette::write(&cassette, &mut []).unwrap();
    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.tls = Some(TlsSource::Auto {
        dir: dir.path().join("state"),
    });
    let proxy = Proxy::start(config).await.unwrap();
    let addr = proxy.addr();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("CognitoVcrTlsRequiredException"),
        "{answer}"
    );
    proxy.stop().await.unwrap();
}

/// The interception proxy: CONNECT to the real Cognito host name is intercepted (boto3 trusts the
/// tool's CA through AWS_CA_BUNDLE), recorded and forwarded with the client's own signature to
/// a TLS stub standing in for AWS, then replayed; other hosts are refused or, when allowed,
/// tunnelled.
#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_interception_records_and_replays_with_the_clients_own_signature() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "intercepted");
    let state = dir.path().join("state");
    let (stub, upstream_ca) = Stub::start_tls(dir.path());
    let fake = crate::support::FakeCognito::start(3).await;

    let intercept = |upstream: Option<String>| {
        Some(cognito_vcr::InterceptConfig {
            ca_dir: state.clone(),
            allow: vec![fake.addr.to_string()],
            upstream,
        })
    };
    // No credentials anywhere: the client's own signature goes through.
    let mut config = ServeConfig::new(Mode::Record, &cassette);
    config.intercept = intercept(Some(stub.url.clone()));
    config.upstream_ca = Some(upstream_ca.clone());
    let proxy = Proxy::start(config).await.unwrap();
    let client = |proxy_url: String| through_interception("intercept_client.py", &state, proxy_url);
    let live = client(proxy.url()).await.unwrap();
    let answers: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        answers[0],
        json!({"signed": true, "operation": "DescribeUserPool", "region": "us-east-1", "access_key": STUB_KEY})
    );
    assert_eq!(
        answers[1],
        json!({"signed": false, "operation": "InitiateAuth"})
    );

    // A host that is not Cognito is refused; an allowed one is tunnelled untouched.
    let addr = proxy.addr();
    let fake_addr = fake.addr.to_string();
    let (refused, tunnelled) = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n").unwrap();
        let mut refused = [0u8; 12];
        s.read_exact(&mut refused).unwrap();
        let mut t = std::net::TcpStream::connect(addr).unwrap();
        write!(t, "CONNECT {fake_addr} HTTP/1.1\r\nhost: {fake_addr}\r\n\r\n").unwrap();
        let mut established = vec![0u8; 64];
        let n = t.read(&mut established).unwrap();
        assert!(String::from_utf8_lossy(&established[..n]).starts_with("HTTP/1.1 200"));
        let body = r#"{"UserPoolId":"p"}"#;
        write!(t, "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSCognitoIdentityProviderService.ListUsers\r\ncontent-length: {}\r\n\r\n{body}", body.len()).unwrap();
        let mut answer = String::new();
        let _ = t.read_to_string(&mut answer);
        (String::from_utf8_lossy(&refused).into_owned(), answer)
    })
    .await
    .unwrap();
    assert_eq!(refused, "HTTP/1.1 403");
    assert!(tunnelled.contains("user001"), "{tunnelled}");
    let summary = proxy.stop().await.unwrap();
    assert_eq!(
        summary.recorded, 2,
        "the tunnelled call is not recorded: {summary}"
    );

    let text = std::fs::read_to_string(&cassette).unwrap();
    // (The stub's answer itself echoes the access key id, which is recorded as the answer;
    // the client's secret key, session token, signature and password are nowhere.)
    for secret in [
        STUB_SECRET,
        STUB_TOKEN,
        "Pw-12345!",
        "Signature=",
        "X-Amz-Security-Token",
    ] {
        assert!(!text.contains(secret), "{secret} in the cassette");
    }

    // Offline: the same through the interception proxy in replay mode.
    drop(stub);
    let mut config = ServeConfig::new(Mode::Replay, &cassette);
    config.intercept = intercept(None);
    let proxy = Proxy::start(config).await.unwrap();
    let replayed = client(proxy.url()).await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(proxy.stop().await.unwrap().misses, 0);
}
