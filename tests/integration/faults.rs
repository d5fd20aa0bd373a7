//! Faults, the way they were found: malformed and hostile clients, stalled connections, an
//! upstream that misbehaves, a client that gives up, kill -9 under load, a read-only directory,
//! a full disk. Every refusal is Cognito-shaped or a clean close; nothing a client received is
//! lost. (A longer soak of the same: `benches/faults.sh`.)

use crate::support::{call, cassette_in, path, post, recording, workdir, FakeCognito, POOL};
use cognito_vcr::{Limits, Mode, Proxy, ServeConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Guards against a hang only; never used to order events.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// How many times the kill -9 and malformed-request runs repeat: 1 in CI, more in the soak
/// (`COGNITO_VCR_SOAK=N`, see `benches/faults.sh`).
fn rounds() -> usize {
    std::env::var("COGNITO_VCR_SOAK")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Send raw bytes on a fresh connection, read until the peer closes (the requests ask it to) or
/// the hang guard; what came back.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    raw_closed(addr, bytes).await.0
}

/// [`raw`], and whether the proxy closed the connection (rather than the hang guard ending it).
async fn raw_closed(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let _ = conn.write_all(bytes).await;
    let mut out = Vec::new();
    let closed = tokio::time::timeout(HANG_GUARD, conn.read_to_end(&mut out))
        .await
        .is_ok();
    (out, closed)
}

/// The `__type` of every HTTP answer in `bytes` (pipelined answers included); `None` for an
/// answer without a Cognito-shaped body.
fn error_types(bytes: &[u8]) -> Vec<Option<String>> {
    let text = String::from_utf8_lossy(bytes);
    text.split("HTTP/1.1 ")
        .skip(1)
        .map(|answer| {
            let body = answer.split("\r\n\r\n").nth(1)?;
            let v: Value = serde_json::from_str(body.trim_end_matches(|c| c != '}')).ok()?;
            if answer.starts_with('2') {
                return Some("ok".into());
            }
            Some(v.get("__type")?.as_str()?.to_owned())
        })
        .collect()
}

/// `bytes` are one answer with this status and this Cognito-shaped error.
fn assert_refused(bytes: &[u8], status: u16, kind: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
    assert_eq!(error_types(bytes), [Some(kind.to_owned())], "{text}");
}

fn target(op: &str) -> String {
    format!("x-amz-target: AWSCognitoIdentityProviderService.{op}\r\n")
}

#[tokio::test]
async fn malformed_requests_of_every_kind_get_cognito_shaped_answers_or_a_clean_close() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "malformed");
    let upstream = FakeCognito::start(3).await;
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(upstream.url());
    config.max_body = 4096;
    config.limits.body_timeout = Duration::from_millis(500);
    let proxy = Proxy::start(config).await.unwrap();
    let addr = proxy.addr();
    let ok = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n{}",
        target("AdminGetUser")
    );
    let body = r#"{"UserPoolId":"us-east-1_Fake","Username":"user001"}"#;
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad JSON", format!("{ok}content-length: 5\r\n\r\n{{oops").into_bytes()),
        ("a JSON array", format!("{ok}content-length: 2\r\n\r\n[]").into_bytes()),
        ("invalid UTF-8", [format!("{ok}content-length: 4\r\n\r\n").as_bytes(), b"{\"\xff\"".as_slice()].concat()),
        ("a truncated body", format!("{ok}content-length: 100\r\n\r\n{{\"a\":").into_bytes()),
        ("an oversize body", format!("{ok}content-length: 5000\r\n\r\n{}", "x".repeat(5000)).into_bytes()),
        ("an oversize chunked body", format!("{ok}transfer-encoding: chunked\r\n\r\n1400\r\n{}\r\n0\r\n\r\n", "x".repeat(5120)).into_bytes()),
        ("bad chunking", format!("{ok}transfer-encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n").into_bytes()),
        ("150 headers", format!("{ok}{many_headers}content-length: 2\r\n\r\n{{}}").into_bytes()),
        ("a 100 KB header", format!("{ok}x-big: {}\r\ncontent-length: 2\r\n\r\n{{}}", "y".repeat(100_000)).into_bytes()),
        ("no target", "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}".to_owned().into_bytes()),
        ("a non-ASCII target", [b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\nx-amz-target: AWSCognitoIdentityProviderService.\xc3\xa9\r\ncontent-length: 2\r\n\r\n{}".as_slice()].concat()),
        ("a foreign target", format!("POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n{}content-length: 2\r\n\r\n{{}}", "x-amz-target: DynamoDB_20120810.ListTables\r\n").into_bytes()),
        ("a bad scope", format!("POST /scope/a%20b HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n{}content-length: 2\r\n\r\n{{}}", target("ListUsers")).into_bytes()),
        ("garbage", b"\x00\x01\x02 not http at all\r\n\r\n".to_vec()),
        ("a bad request line", b"GET\r\n\r\n".to_vec()),
        ("an h2 preface, then garbage", [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".as_slice(), &[0xff; 64]].concat()),
        ("TLS on the plain port", vec![0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
        ("pipelined requests", format!("{}content-length: {}\r\n\r\n{body}{ok}content-length: 5\r\n\r\n{{oops", ok.replace("connection: close\r\n", ""), body.len()).into_bytes()),
    ];
    // What is not HTTP/1.1 at all, or more headers than hyper parses, gets hyper's own refusal
    // and a close: a status line without a body, or for the HTTP/2 preface, HTTP/2's own GOAWAY.
    let not_http = [
        "150 headers",
        "garbage",
        "a bad request line",
        "an h2 preface, then garbage",
        "TLS on the plain port",
    ];
    for (what, bytes) in std::iter::repeat_n(&cases, rounds()).flatten() {
        let (answer, closed) = raw_closed(addr, bytes).await;
        let head = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
        if not_http.contains(what) {
            assert!(closed, "{what}: the connection was left open");
            let bare = head.contains("\r\ncontent-length: 0\r\n");
            let h2 = !answer.starts_with(b"HTTP/");
            assert!(answer.is_empty() || bare || h2, "{what}: {head}");
            continue;
        }
        let kinds = error_types(&answer);
        assert!(!kinds.is_empty(), "{what}: no answer: {head}");
        for kind in kinds {
            let kind =
                kind.unwrap_or_else(|| panic!("{what}: an answer not in Cognito's shape: {head}"));
            assert!(
                kind == "ok" || kind.ends_with("Exception"),
                "{what}: {kind}: {head}"
            );
        }
    }
    // A few answers checked precisely.
    let answer = raw(addr, &cases[7].1).await;
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 431 "), "150 headers: {head}");
    let answer = raw(addr, &cases[10].1).await;
    assert!(String::from_utf8_lossy(&answer).contains("is not ASCII"));
    let answer = raw(addr, &cases[17].1).await;
    assert_eq!(
        error_types(&answer),
        [
            Some("ok".to_owned()),
            Some("SerializationException".to_owned())
        ]
    );
    // The proxy is as good as new, and recorded only the one good call.
    let good = call(
        &proxy.url(),
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "user002"}),
    )
    .await;
    assert_eq!(good.status, 200);
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.failed, 0, "{summary}");
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    // The pipelined good call (sent twice: kept once), the last one, and the call with a
    // 100 KB header (a well-formed request: forwarded, the upstream's 400 recorded).
    let mut users: Vec<_> = held
        .iter()
        .map(|i| (i.request["Username"].as_str(), i.response.status))
        .collect();
    users.sort();
    assert_eq!(
        users,
        [(None, 400), (Some("user001"), 200), (Some("user002"), 200)]
    );
}

#[tokio::test]
async fn stalled_connections_are_closed_and_do_not_starve_other_clients() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "stalled");
    let upstream = FakeCognito::start(3).await;
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(upstream.url());
    config.limits = Limits {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        max_connections: 8,
        ..Limits::default()
    };
    let proxy = Proxy::start(config).await.unwrap();
    // Thirty connections, more than the cap of 8, that send half a request line, nothing at
    // all, or half the HTTP/2 preface.
    let mut stalled = Vec::new();
    for i in 0..30 {
        let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
        match i % 3 {
            0 => conn.write_all(b"POST / HT").await.unwrap(),
            1 => {}
            _ => conn.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap(),
        }
        stalled.push(conn);
    }
    // A normal client still gets its answer (once the stalled ones time out).
    let answer = tokio::time::timeout(
        HANG_GUARD,
        call(
            &proxy.url(),
            "AdminGetUser",
            json!({"UserPoolId": POOL, "Username": "user001"}),
        ),
    )
    .await
    .expect("answered while connections stall");
    assert_eq!(answer.status, 200);
    // Every stalled connection was closed by the proxy.
    for mut conn in stalled {
        let mut buf = Vec::new();
        tokio::time::timeout(HANG_GUARD, conn.read_to_end(&mut buf))
            .await
            .expect("the stalled connection is closed")
            .ok();
    }
    // A body that stops half way: a Cognito-shaped 408.
    let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\n{}content-length: 50\r\n\r\n{{\"UserPoolId\"",
        target("ListUsers")
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(HANG_GUARD, conn.read_to_end(&mut buf))
        .await
        .expect("answered")
        .ok();
    assert_refused(&buf, 408, "CognitoVcrRequestTimeoutException");
    proxy.stop().await.unwrap();
}

/// A 500 in Cognito's shape.
fn server_error() -> &'static [u8] {
    let body = r#"{"__type":"InternalErrorException","message":"try again"}"#;
    let answer = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(answer.into_bytes().into_boxed_slice())
}

/// An upstream that answers each call with the next of `faults`, then a good answer.
async fn faulty_upstream(faults: Vec<&'static [u8]>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let faults = Arc::new(std::sync::Mutex::new(faults.into_iter()));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let next = faults.lock().unwrap().next();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                match next {
                    Some(b"stall") => std::future::pending::<()>().await,
                    Some(b"reset") => drop(conn),
                    Some(bytes) => {
                        let _ = conn.write_all(bytes).await;
                    }
                    None => {
                        let body = br#"{"Username":"user001"}"#;
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                        let _ = conn.write_all(&[head.as_bytes(), body].concat()).await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_misbehaving_upstream_is_never_recorded_and_other_calls_go_on() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "faulty");
    let upstream = faulty_upstream(vec![
        b"reset",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"half\":",
        server_error(),
        b"stall",
    ])
    .await;
    let mut config =
        ServeConfig::new(Mode::Record, &cassette).with_upstream(format!("http://{upstream}"));
    config.limits.upstream_timeout = Duration::from_millis(500);
    let proxy = Proxy::start(config).await.unwrap();
    let body = json!({"UserPoolId": POOL, "Username": "user001"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = call(&proxy.url(), "AdminGetUser", body.clone()).await;
        assert!(answer.error_type().is_some(), "{:?}", answer.body);
        statuses.push((answer.status, answer.error_type().unwrap().to_owned()));
    }
    let unavailable = "CognitoVcrUpstreamUnavailableException".to_owned();
    assert_eq!(
        statuses,
        [
            (502, unavailable.clone()),
            (502, unavailable.clone()),
            (502, unavailable.clone()),
            (500, "InternalErrorException".to_owned()),
            (504, unavailable),
        ]
    );
    // The retry after all that is recorded, as occurrence 1.
    let good = call(&proxy.url(), "AdminGetUser", body).await;
    assert_eq!(good.status, 200);
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.recorded, 1, "{summary}");
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!((held.len(), held[0].occurrence), (1, 1));
}

#[tokio::test]
async fn a_client_that_gives_up_leaves_its_occurrence_to_the_retry() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "gave-up");
    let (upstream, mut arrived, release) = crate::support::held_upstream(br#"{"User":{}}"#).await;
    let proxy = recording(&cassette, &upstream).await;
    let body = json!({"UserPoolId": POOL, "Username": "newcomer"});
    let request = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\n{}content-length: {}\r\n\r\n{body}",
        target("AdminCreateUser"),
        body.to_string().len()
    );
    // The client sends, the upstream holds the call, the client gives up (an SDK read timeout).
    let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    arrived.recv().await.expect("the call reached the upstream");
    drop(conn);
    // Its retry: answered and recorded as occurrence 1.
    let retry = tokio::spawn({
        let url = proxy.url();
        let body = body.clone();
        async move { call(&url, "AdminCreateUser", body).await }
    });
    arrived
        .recv()
        .await
        .expect("the retry reached the upstream");
    release.notify_waiters();
    let retried = tokio::time::timeout(HANG_GUARD, retry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.status, 200);
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.recorded, 1, "{summary}");
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].occurrence, 1);

    // Replayed, the session's one call is found.
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    assert_eq!(
        call(&proxy.url(), "AdminCreateUser", body).await.status,
        200
    );
    assert!(!proxy.stop().await.unwrap().is_failure());
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_under_concurrent_recording_clients_loses_nothing_they_received() {
    for _ in 0..rounds() {
        kill_9_under_concurrent_recording_clients().await;
    }
}

async fn kill_9_under_concurrent_recording_clients() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "concurrent");
    let upstream = FakeCognito::start(40).await;
    let (mut child, url) = crate::support::spawn_listening(
        crate::support::vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
            .args(["--upstream", &upstream.url()])
            .env("RUST_LOG", "warn"),
    );
    // Eight clients recording at once; the proxy is killed while they run.
    let (tx, mut received) = mpsc::unbounded_channel::<String>();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (url, tx) = (url.clone(), tx.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("user{:03}", (c * 5 + i) % 40 + 1);
                    let filter = format!("username = \"{name}\" {c} {i}");
                    let body = json!({"UserPoolId": POOL, "Filter": filter});
                    let Ok(answer) = tokio::time::timeout(
                        HANG_GUARD,
                        post(
                            &url,
                            &[(
                                "x-amz-target",
                                "AWSCognitoIdentityProviderService.ListUsers",
                            )],
                            body.to_string(),
                        ),
                    )
                    .await
                    else {
                        return;
                    };
                    if answer.status == 200 {
                        let _ = tx.send(filter);
                    }
                }
            })
        })
        .collect();
    drop(tx);
    // Once 40 answers are in, kill -9.
    let mut got = Vec::new();
    while got.len() < 40 {
        got.push(received.recv().await.expect("answers keep coming"));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for c in clients {
        let _ = c.await;
    }
    while let Ok(filter) = received.try_recv() {
        got.push(filter);
    }
    crate::support::run_to_success(&mut crate::support::vcr_command(&[
        "export",
        "--cassette",
        path(&cassette),
    ]));
    let held: std::collections::HashSet<String> = cognito_vcr::cassette::load(&cassette)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|i| i.request["Filter"].as_str().unwrap().to_owned())
        .collect();
    for filter in &got {
        assert!(
            held.contains(filter),
            "{filter} was answered but is not in the cassette"
        );
    }
}

/// A tmpfs mounted for one test (`mount -t tmpfs -o OPTIONS`); unmounted when dropped. `None`
/// where this user cannot mount (the test then says it skipped).
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &std::path::Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        }
        mounted.then(|| Mount(dir.to_owned()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_read_only_cassette_directory_is_a_clear_error_at_start() {
    let dir = workdir();
    let ro = dir.path().join("ro");
    let Some(_mount) = Mount::tmpfs(&ro, "ro,size=1m") else {
        return;
    };
    let cassette = ro.join("c.json");
    let out =
        crate::support::vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
            .args(["--upstream", "http://127.0.0.1:9"])
            .output()
            .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(
        stderr.matches("Read-only file system").count(),
        1,
        "the cause once: {stderr}"
    );
}

/// Fill the filesystem of `dir` with one file until it is full; the file.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    filler
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_recordings_recording_resumes_with_room_and_the_stop_says_what_was_not_written(
) {
    let dir = workdir();
    let disk = dir.path().join("disk");
    let Some(_mount) = Mount::tmpfs(&disk, "size=16m") else {
        return;
    };
    let cassette = disk.join("c.json");
    let upstream = FakeCognito::start(3).await;
    let (mut child, url) = crate::support::spawn_listening(
        crate::support::vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
            .args(["--upstream", &upstream.url()])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::piped()),
    );
    let get = |name: &str| json!({"UserPoolId": POOL, "Username": name});
    assert_eq!(call(&url, "AdminGetUser", get("user001")).await.status, 200);

    // Full: refused in Cognito's shape, nothing written.
    let filler = fill(&disk);
    let refused = call(&url, "AdminGetUser", get("user002")).await;
    assert_eq!(refused.status, 500);
    assert_eq!(refused.error_type(), Some("InternalErrorException"));
    let message = refused.body["message"].as_str().unwrap();
    assert!(message.contains("free"), "{message}");

    // Room again: recording goes on.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(call(&url, "AdminGetUser", get("user003")).await.status, 200);

    // Full at the stop: the stop finishes, says what it could not write, and exits 2.
    let filler = fill(&disk);
    crate::support::sigterm(&child);
    let status = tokio::time::timeout(
        HANG_GUARD,
        tokio::task::spawn_blocking(move || {
            let status = child.wait().unwrap();
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            (status, stderr)
        }),
    )
    .await
    .expect("the stop finishes on a full disk")
    .unwrap();
    let (status, stderr) = status;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("could not write cassette"), "{stderr}");
    assert!(stderr.contains("cognito-vcr export"), "{stderr}");

    // Nothing a client received is lost: with room, `export` writes it.
    std::fs::remove_file(&filler).unwrap();
    crate::support::run_to_success(&mut crate::support::vcr_command(&[
        "export",
        "--cassette",
        path(&cassette),
    ]));
    let mut held: Vec<String> = cognito_vcr::cassette::load(&cassette)
        .unwrap()
        .unwrap()
        .iter()
        .map(|i| i.request["Username"].as_str().unwrap().to_owned())
        .collect();
    held.sort();
    assert_eq!(held, ["user001", "user003"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_under_load_survives_its_index_truncated_and_overwritten() {
    use crate::support::{demo_copy, sigterm, spawn_listening, usernames, vcr_command, DEMO_POOL};
    let dir = workdir();
    let cassette = demo_copy(&dir);
    let index = dir.path().join(".cognito-vcr/demo.index");
    let (child, url) = spawn_listening(&mut vcr_command(&[
        "serve",
        "--mode",
        "replay",
        "--cassette",
        path(&cassette),
    ]));
    // The first 60 users; each call below asks for the first N, N new to the proxy up to 60
    // (re-paged from the index, not answered from a cache).
    let first = call(
        &url,
        "ListUsers",
        json!({"UserPoolId": DEMO_POOL, "Limit": 60}),
    )
    .await;
    assert_eq!(first.status, 200);
    let all = usernames(&first);
    assert_eq!(all.len(), 60);
    assert!(index.exists());
    let (tx, mut done) = mpsc::channel(4);
    for _ in 0..4 {
        let (url, tx) = (url.clone(), tx.clone());
        tokio::spawn(async move {
            for i in 0..200 {
                let limit = 1 + i % 59;
                let page = call(
                    &url,
                    "ListUsers",
                    json!({"UserPoolId": DEMO_POOL, "Limit": limit}),
                );
                let page = tokio::time::timeout(HANG_GUARD, page).await.unwrap();
                if tx.send((limit, page)).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    // Under way: cut the file in place (a mapping of it would die of SIGBUS), then write over it.
    let under_way = done.recv().await.unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::fs::write(&index, b"not an index").unwrap();
    let mut answered = vec![under_way];
    while let Some(page) = done.recv().await {
        answered.push(page);
    }
    assert_eq!(answered.len(), 800);
    for (limit, page) in &answered {
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(usernames(page), all[..*limit]);
    }
    sigterm(&child);
    assert!(child.wait_with_output().unwrap().status.success());
}
