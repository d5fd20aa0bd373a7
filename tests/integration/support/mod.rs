//! Test helpers: the fake upstream, a raw HTTP client, the binary under test, and starting any
//! server that prints `listening on URL`.

pub mod fake_cognito;
pub mod golden;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use fake_cognito::{FakeCognito, POOL};

/// The shipped demo cassette's pool: 150 users, ListUsers by 7 recorded.
pub const DEMO_POOL: &str = "us-east-1_aba5babe4dcb3c5941e34ae3992e66dd326a265f3b527";

/// A copy of the shipped demo cassette in `dir`, as `demo.json` (a test leaves no index or
/// store beside the shipped one).
pub fn demo_copy(dir: &tempfile::TempDir) -> PathBuf {
    let cassette = cassette_in(dir, "demo");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/demo.json"),
        &cassette,
    )
    .unwrap();
    cassette
}

/// What a client sees of one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The body with a pagination token's value replaced by `true`: while recording the client
    /// gets the upstream's own token, in replay the cassette's synthetic one; everything else
    /// must be the same.
    pub fn body_without_token_values(&self) -> Value {
        let mut body = self.body.clone();
        for field in ["PaginationToken", "NextToken"] {
            if let Some(v) = body.get_mut(field) {
                *v = Value::Bool(true);
            }
        }
        body
    }

    pub fn error_type(&self) -> Option<&str> {
        self.body.get("__type").and_then(Value::as_str)
    }
}

/// Every file below `dir`, as bytes (the cassette, the store, its index): where a secret must
/// not be.
pub fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// POST raw bytes with the given headers.
pub async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::post(format!("{url}/"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(body.into())).unwrap())
        .await
        .expect("proxy answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = cognito_vcr::parse_json(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET url` (the proxy's control calls), its status and JSON body.
pub async fn get(url: &str) -> Answer {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::get(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.expect("proxy answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// One Cognito user-pools call, as an SDK would make it.
pub async fn call(url: &str, operation: &str, body: Value) -> Answer {
    call_target(
        url,
        &format!("AWSCognitoIdentityProviderService.{operation}"),
        body,
    )
    .await
}

/// One AWS JSON 1.1 call with this `X-Amz-Target` (`AWSCognitoIdentityService.GetId`).
pub async fn call_target(url: &str, target: &str, body: Value) -> Answer {
    post(
        url,
        &[
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// A ListUsers walk by `limit`, following the tokens the answers carry: every page in order, up
/// to the first answer without a token (the last page, or an error).
pub async fn list_users_walk(url: &str, limit: u64) -> Vec<Answer> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = serde_json::json!({"UserPoolId": POOL, "Limit": limit});
        if let Some(t) = &token {
            body["PaginationToken"] = serde_json::json!(t);
        }
        let page = call(url, "ListUsers", body).await;
        token = page
            .body
            .get("PaginationToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        pages.push(page);
        if token.is_none() {
            return pages;
        }
    }
}

/// The usernames of a ListUsers page.
pub fn usernames(page: &Answer) -> Vec<String> {
    page.body["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Username"].as_str().unwrap().to_owned())
        .collect()
}

/// A fresh directory holding `NAME.json` paths for cassettes.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn cassette_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(format!("{name}.json"))
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `cognito-vcr ARGS`: the binary under test, not started yet.
pub fn vcr_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cognito-vcr"));
    // The same behaviour in CI as on a laptop (CI=true changes which modes the flags allow);
    // the tests of that set it themselves.
    cmd.args(args).env_remove("CI");
    cmd
}

/// Start a server (the binary, moto, the stub) with its stdout piped; it and its address.
pub fn spawn_listening(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let url = listening_url(&mut child);
    (child, url)
}

/// Read the `listening on URL` line every server of ours (and the test servers) prints first.
fn listening_url(child: &mut Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().expect("stdout is piped"))
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// A proxy recording from `upstream` into `cassette`.
pub async fn recording(cassette: &std::path::Path, upstream: &str) -> cognito_vcr::Proxy {
    cognito_vcr::Proxy::start(
        cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Record, cassette).with_upstream(upstream),
    )
    .await
    .unwrap()
}

/// SIGTERM, as a supervisor or Ctrl-C would send it; the caller waits for the child.
pub fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// An upstream that tells when a request arrived and answers `body` only once released.
pub async fn held_upstream(
    body: &'static [u8],
) -> (
    String,
    tokio::sync::mpsc::Receiver<()>,
    std::sync::Arc<tokio::sync::Notify>,
) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = tokio::sync::mpsc::channel(4);
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let held = release.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (arrived, release) = (arrived_tx.clone(), held.clone());
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (arrived, release) = (arrived.clone(), release.clone());
                async move {
                    let _ = req.into_body().collect().await;
                    let released = release.notified();
                    let _ = arrived.send(()).await;
                    released.await;
                    let mut answer = hyper::Response::new(Full::new(Bytes::from_static(body)));
                    answer.headers_mut().insert(
                        "content-type",
                        "application/x-amz-json-1.1".parse().unwrap(),
                    );
                    Ok::<_, std::convert::Infallible>(answer)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    (url, arrived, release)
}

/// Run a command to its end; it must succeed (its stderr says why not). Its output.
pub fn run_to_success(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
