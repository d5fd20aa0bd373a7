//! `cognito-vcr run -- COMMAND`: real clients (boto3, the AWS CLI) run unmodified under it, its
//! exit status, signals passed on, the summary, and CI's guard against recording by accident.

use crate::interop::{python, repo};
use crate::support::{
    cassette_in, path, sigterm, vcr_command, workdir, FakeCognito, DEMO_POOL, POOL,
};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

/// boto3 with no endpoint, credentials or region of its own: everything comes from `run`.
const PLAIN_BOTO3: &str = r#"
import sys, boto3
client = boto3.client("cognito-idp")
pages = client.get_paginator("list_users").paginate(UserPoolId=sys.argv[1], PaginationConfig={"PageSize": 7})
print(sum(len(p["Users"]) for p in pages))
"#;

fn demo() -> String {
    repo().join("cassettes/demo.json").display().to_string()
}

/// `cognito-vcr run ARGS`, with the variables a developer's shell may hold removed, so that
/// what the command gets comes from `run`.
fn run(args: &[&str]) -> Command {
    let mut cmd = vcr_command(&["run"]);
    cmd.args(args);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "COGNITO_VCR_URL",
    ] {
        cmd.env_remove(var);
    }
    // No shared config or credentials file of the machine's.
    cmd.env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn output(mut cmd: impl std::borrow::BorrowMut<Command>) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.borrow_mut().output().unwrap();
    (status.code().unwrap_or(-1), text(&stdout), text(&stderr))
}

#[test]
fn plain_boto3_and_the_aws_cli_replay_under_run_with_nothing_set() {
    let py = python();
    let (code, out, err) = output(run(&[
        "--cassette",
        &demo(),
        "--",
        path(&py),
        "-c",
        PLAIN_BOTO3,
        DEMO_POOL,
    ]));
    assert_eq!((code, out.trim()), (0, "150"), "{err}");
    assert!(err.contains("cognito-vcr replay: 0 recorded,"), "{err}");
    assert!(err.contains("misses"), "{err}");

    // The README's example, as it is written there.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let example = readme
        .lines()
        .find_map(|l| {
            l.strip_prefix("cognito-vcr run --cassette cassettes/demo.json -- python -c '")
        })
        .and_then(|l| l.strip_suffix('\''))
        .expect("the README shows a run example");
    let (code, out, err) = output(run(&[
        "--cassette",
        &demo(),
        "--",
        path(&py),
        "-c",
        example,
    ]));
    assert_eq!((code, out.trim()), (0, "7"), "{err}");

    // The AWS CLI of the test venv, with the README's arguments as they are written there.
    let cli = readme
        .lines()
        .find_map(|l| l.strip_prefix("cognito-vcr run --cassette cassettes/demo.json -- aws "))
        .expect("the README shows the AWS CLI under run");
    assert!(cli.contains(DEMO_POOL), "{cli}");
    let args: Vec<&str> = cli
        .split_whitespace()
        .map(|arg| arg.trim_matches('\''))
        .collect();
    let aws = py.parent().unwrap().join("aws");
    let (code, out, err) = output(run(&[
        &["--cassette", &demo(), "--", path(&aws)][..],
        &args[..],
    ]
    .concat()));
    assert_eq!((code, out.trim()), (0, "150"), "{err}");
}

#[test]
fn the_commands_status_is_the_exit_status_and_a_strict_run_with_unused_interactions_fails() {
    let (code, _, err) = output(run(&["--cassette", &demo(), "--", "sh", "-c", "exit 3"]));
    assert_eq!(code, 3, "{err}");
    // The command passed, but nothing of the cassette was used: --strict makes that a failure.
    let (code, _, err) = output(run(&["--strict", "--cassette", &demo(), "--", "true"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("55 recorded interactions never replayed"),
        "{err}"
    );
    let (code, _, err) = output(run(&["--cassette", &demo(), "--", "true"]));
    assert_eq!(code, 0, "{err}");
    // A command that cannot be started: exit 2, saying which.
    let (code, _, err) = output(run(&["--cassette", &demo(), "--", "/nonexistent/cmd"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot run \"/nonexistent/cmd\""), "{err}");
    // Variables the caller set are the command's: run sets placeholders only where unset.
    let (code, out, err) = output(
        run(&[
            "--cassette",
            &demo(),
            "--",
            "sh",
            "-c",
            "echo $AWS_REGION ${AWS_DEFAULT_REGION:-unset} $AWS_ACCESS_KEY_ID $COGNITO_VCR_URL",
        ])
        .env("AWS_REGION", "eu-west-1"),
    );
    let seen: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(code, 0, "{err}");
    // The region variables are a pair: one set, the other is not set to something else.
    assert_eq!(
        seen[..3],
        ["eu-west-1", "unset", "cognito-vcr-replay"],
        "{out}"
    );
    assert!(seen[3].starts_with("http://127.0.0.1:"), "{out}");
}

#[test]
fn a_signal_sent_to_run_reaches_the_command_and_the_proxy_stops_after_it() {
    let dir = workdir();
    let marker = dir.path().join("got-term");
    let script = format!(
        "trap 'echo term > {}; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        marker.display()
    );
    let mut child = run(&["--cassette", &demo(), "--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "term");
    assert!(
        err.contains("cognito-vcr replay:"),
        "the summary after the command: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_records_a_boto3_session_and_ci_refuses_recording_unless_asked_on_the_command_line() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "run");
    let upstream = FakeCognito::start(5).await;
    let url = upstream.url();
    let record = |envs: &[(&str, &str)], args: &[&str]| {
        let mut cmd = run(args);
        cmd.envs(envs.iter().copied()).args([
            "--cassette",
            path(&cassette),
            "--upstream",
            &url,
            "--",
            path(&python()),
            "-c",
            PLAIN_BOTO3,
            POOL,
        ]);
        // boto3 needs some credentials to sign with in record mode; the upstream ignores them.
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1");
        tokio::task::spawn_blocking(move || output(&mut cmd))
    };
    // CI=true: record mode from the environment is refused before anything is started.
    let (code, _, err) = record(&[("CI", "true"), ("COGNITO_VCR_MODE", "record")], &[])
        .await
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--mode record"), "{err}");
    assert!(!cassette.exists());
    // Asked for on the command line, it records; the cassette is written when the command ends.
    let (code, out, err) = record(&[("CI", "true")], &["--mode", "record"])
        .await
        .unwrap();
    assert_eq!((code, out.trim()), (0, "5"), "{err}");
    assert!(err.contains("cognito-vcr record:"), "{err}");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    assert!(!recorded["interactions"].as_array().unwrap().is_empty());
    // And it replays with the upstream gone, strictly, under run.
    drop(upstream);
    let (code, out, err) = output(run(&[
        "--strict",
        "--cassette",
        path(&cassette),
        "--",
        path(&python()),
        "-c",
        PLAIN_BOTO3,
        POOL,
    ]));
    assert_eq!((code, out.trim()), (0, "5"), "{err}");
}

/// Placeholder credentials come as a complete set, and only where no credential source is
/// configured: a real key id is not paired with a placeholder secret, and a profile (or a
/// shared credentials file) is not overridden for every service the command calls.
#[test]
fn placeholders_never_mix_with_or_override_real_credentials() {
    let show = "echo ${AWS_ACCESS_KEY_ID:-unset} ${AWS_SECRET_ACCESS_KEY:-unset}";
    let seen = |cmd: &mut Command| {
        let (code, out, err) = output(cmd);
        assert_eq!(code, 0, "{err}");
        out.trim().to_owned()
    };
    let mut only_key = run(&["--cassette", &demo(), "--", "sh", "-c", show]);
    only_key.env("AWS_ACCESS_KEY_ID", "AKIDREAL");
    assert_eq!(seen(&mut only_key), "AKIDREAL unset");
    let mut profile = run(&["--cassette", &demo(), "--", "sh", "-c", show]);
    profile.env("AWS_PROFILE", "dev");
    assert_eq!(seen(&mut profile), "unset unset");
    let dir = workdir();
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, "[default]\naws_access_key_id = AKIDFILE\n").unwrap();
    let mut file = run(&["--cassette", &demo(), "--", "sh", "-c", show]);
    file.env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
    assert_eq!(seen(&mut file), "unset unset");
    let mut nothing = run(&["--cassette", &demo(), "--", "sh", "-c", show]);
    assert_eq!(seen(&mut nothing), "cognito-vcr-replay cognito-vcr-replay");
}

/// `kill -KILL` of `run` (a CI runner's timeout) does not leave the command running: the
/// kernel ends it with SIGTERM.
#[cfg(target_os = "linux")]
#[test]
fn the_command_does_not_outlive_a_run_killed_with_sigkill() {
    let mut child = run(&[
        "--cassette",
        &demo(),
        "--",
        "sh",
        "-c",
        "echo $$; exec sleep 1000",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let command: u32 = line.trim().parse().unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Gone, or a zombie waiting for whoever adopted it.
    let ended = || match std::fs::read_to_string(format!("/proc/{command}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ended() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command {command} still runs after run was killed"
        );
        std::thread::yield_now();
    }
}
