//! The real binary: serve and signals, kill -9 and recovery, export, ls/show, a corrupt cassette.

use crate::support::{bin, call, cassette_in, workdir, FakeCognito, POOL};
use serde_json::json;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// Start `cognito-vcr serve ARGS` and read the address it prints.
fn serve(args: &[&str], envs: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(bin())
        .arg("serve")
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = crate::support::listening_url(&mut child);
    (child, url)
}

/// SIGTERM, then wait: (exit code, stderr).
fn terminate(mut child: Child) -> (i32, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code().expect("exited, not killed");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (code, stderr)
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_writes_the_cassette_and_prints_a_summary() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    // Configured through the environment alone.
    let (child, url) = serve(
        &[],
        &[
            ("COGNITO_VCR_MODE", "record"),
            ("COGNITO_VCR_CASSETTE", path(&cassette)),
            ("COGNITO_VCR_UPSTREAM", &upstream.url()),
        ],
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(
        call(&url, "ListUsers", json!({"UserPoolId": POOL}))
            .await
            .status,
        200
    );
    let (code, stderr) = terminate(child);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 recorded"), "{stderr}");
    assert_eq!(
        cognito_vcr::cassette::load(&cassette)
            .unwrap()
            .unwrap()
            .len(),
        1
    );

    // Replay with --strict, the one interaction used: exit 0. Unused: exit 1.
    let (child, url) = serve(
        &[
            "--mode",
            "replay",
            "--strict",
            "--cassette",
            path(&cassette),
        ],
        &[],
    );
    assert_eq!(
        call(&url, "ListUsers", json!({"UserPoolId": POOL}))
            .await
            .status,
        200
    );
    assert_eq!(terminate(child).0, 0);
    let (child, _) = serve(
        &[
            "--mode",
            "replay",
            "--strict",
            "--cassette",
            path(&cassette),
        ],
        &[],
    );
    let (code, stderr) = terminate(child);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("1 recorded interactions never replayed"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_nothing_a_client_received() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let (mut child, url) = serve(
        &[
            "--mode",
            "record",
            "--cassette",
            path(&cassette),
            "--upstream",
            &upstream.url(),
        ],
        &[],
    );
    for name in ["user001", "user002", "user003"] {
        let a = call(
            &url,
            "AdminGetUser",
            json!({"UserPoolId": POOL, "Username": name}),
        )
        .await;
        assert_eq!(a.status, 200);
    }
    child.kill().unwrap(); // SIGKILL: no chance to write the cassette.
    child.wait().unwrap();
    assert!(!cassette.exists());

    let out = run(&["export", "--cassette", path(&cassette)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("wrote 3 interactions to {}", cassette.display())
    );
    assert_eq!(
        cognito_vcr::cassette::load(&cassette)
            .unwrap()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_start_after_kill_9_brings_recordings_into_the_cassette() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let (mut child, url) = serve(
        &[
            "--mode",
            "auto",
            "--cassette",
            path(&cassette),
            "--upstream",
            &upstream.url(),
        ],
        &[],
    );
    let body = json!({"UserPoolId": POOL, "Username": "user002"});
    let live = call(&url, "AdminGetUser", body.clone()).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let (child, url) = serve(&["--mode", "replay", "--cassette", path(&cassette)], &[]);
    assert!(cassette.exists(), "written on start");
    let replayed = call(&url, "AdminGetUser", body).await;
    assert_eq!((replayed.status, replayed.body), (live.status, live.body));
    assert_eq!(terminate(child).0, 0);
}

#[test]
fn a_corrupt_cassette_is_named_with_its_position_and_left_untouched() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "broken");
    let text =
        "{\n  \"version\": 1,\n  \"interactions\": [ {\"operation\": \"ListUsers\",, } ]\n}\n";
    std::fs::write(&cassette, text).unwrap();
    for mode in ["replay", "auto", "record"] {
        let out = run(&[
            "serve",
            "--mode",
            mode,
            "--cassette",
            path(&cassette),
            "--upstream",
            "http://127.0.0.1:9",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("broken.json") && stderr.contains("line 3"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_to_string(&cassette).unwrap(), text);
    }
    let out = run(&["ls", path(&cassette)]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_and_show_describe_a_cassette() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = cognito_vcr::Proxy::start(
        cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Record, &cassette)
            .with_upstream(upstream.url()),
    )
    .await
    .unwrap();
    call(
        &proxy.url(),
        "ListUsers",
        json!({"UserPoolId": POOL, "Limit": 2}),
    )
    .await;
    call(
        &proxy.url(),
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "ghost"}),
    )
    .await;
    proxy.stop().await.unwrap();

    let out = run(&["ls", path(&cassette)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("AdminGetUser") && text.contains("0 ok, 1 UserNotFoundException"),
        "{text}"
    );
    assert!(text.contains("2 interactions, 2 operations"), "{text}");
    let out = run(&["show", path(&cassette), "--operation", "ListUsers"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ListUsers #1 -> 200"), "{text}");
    assert!(text.contains("PaginationToken, Users[2]"), "{text}");
}

#[test]
fn recording_from_aws_without_credentials_is_a_clear_error_at_start() {
    let dir = workdir();
    // No credentials anywhere, and no instance metadata lookup (no traffic off loopback).
    let out = Command::new(bin())
        .args([
            "serve",
            "--mode",
            "record",
            "--cassette",
            path(&cassette_in(&dir, "c")),
        ])
        .env_clear()
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials for re-signing"),
        "{stderr}"
    );
}

#[test]
fn the_demo_replays_the_shipped_cassette_with_an_example_call() {
    // On a copy, so the test leaves no store beside the shipped cassette.
    let dir = workdir();
    let cassette = cassette_in(&dir, "demo");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/demo.json"),
        &cassette,
    )
    .unwrap();
    let out = run(&["demo", "--once", "--cassette", path(&cassette)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("example call: ListUsers"), "{stdout}");
    assert!(
        stdout.contains("answer: 200, 7 users: user001, user002"),
        "{stdout}"
    );
    assert!(stdout.contains("aws cognito-idp list-users"), "{stdout}");
}
