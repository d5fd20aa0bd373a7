//! The real binary: serve and signals, kill -9 and recovery, export, ls/show, a corrupt cassette.

use crate::support::{
    call, cassette_in, demo_copy, path, run_to_success, spawn_listening, vcr_command, workdir,
    DEMO_POOL,
};
use crate::support::{FakeCognito, POOL};
use serde_json::json;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Output, Stdio};

/// A running `cognito-vcr serve`, at the address it printed.
struct Serving {
    child: Child,
    url: String,
}

/// Start `cognito-vcr serve ARGS` and read the address it prints.
fn serve(args: &[&str]) -> Serving {
    serve_with_env(args, &[])
}

/// The same, with more environment variables.
fn serve_with_env(args: &[&str], envs: &[(&str, &str)]) -> Serving {
    let (child, url) = spawn_listening(
        vcr_command(&["serve"])
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped()),
    );
    Serving { child, url }
}

impl Serving {
    /// SIGTERM, then wait: (exit code, stderr).
    fn terminate(mut self) -> (i32, String) {
        crate::support::sigterm(&self.child);
        let code = self
            .child
            .wait()
            .unwrap()
            .code()
            .expect("exited, not killed");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (code, stderr)
    }

    /// SIGKILL: no chance to write the cassette.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Run `cognito-vcr ARGS` to its end.
fn run(args: &[&str]) -> Output {
    vcr_command(args).output().unwrap()
}

/// The same, which must succeed: its stdout.
fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many interactions the cassette file holds.
fn interactions_in(cassette: &Path) -> usize {
    cognito_vcr::cassette::load(cassette)
        .unwrap()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_writes_the_cassette_and_prints_a_summary() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    // Configured through the environment alone.
    let vcr = serve_with_env(
        &[],
        &[
            ("COGNITO_VCR_MODE", "record"),
            ("COGNITO_VCR_CASSETTE", path(&cassette)),
            ("COGNITO_VCR_UPSTREAM", &upstream.url()),
        ],
    );
    assert!(vcr.url.starts_with("http://127.0.0.1:"), "{}", vcr.url);
    assert_eq!(
        call(&vcr.url, "ListUsers", json!({"UserPoolId": POOL}))
            .await
            .status,
        200
    );
    let (code, stderr) = vcr.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 recorded"), "{stderr}");
    assert_eq!(interactions_in(&cassette), 1);

    // Replay with --strict, the one interaction used: exit 0. Unused: exit 1.
    let strict_replay = [
        "--mode",
        "replay",
        "--strict",
        "--cassette",
        path(&cassette),
    ];
    let vcr = serve(&strict_replay);
    assert_eq!(
        call(&vcr.url, "ListUsers", json!({"UserPoolId": POOL}))
            .await
            .status,
        200
    );
    assert_eq!(vcr.terminate().0, 0);
    let (code, stderr) = serve(&strict_replay).terminate();
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
    let vcr = serve(&[
        "--mode",
        "record",
        "--cassette",
        path(&cassette),
        "--upstream",
        &upstream.url(),
    ]);
    for name in ["user001", "user002", "user003"] {
        let a = call(
            &vcr.url,
            "AdminGetUser",
            json!({"UserPoolId": POOL, "Username": name}),
        )
        .await;
        assert_eq!(a.status, 200);
    }
    vcr.kill_9();
    assert!(!cassette.exists());

    let stdout = run_ok(&["export", "--cassette", path(&cassette)]);
    assert_eq!(
        stdout.trim(),
        format!("wrote 3 interactions to {}", cassette.display())
    );
    assert_eq!(interactions_in(&cassette), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_start_after_kill_9_brings_recordings_into_the_cassette() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let vcr = serve(&[
        "--mode",
        "auto",
        "--cassette",
        path(&cassette),
        "--upstream",
        &upstream.url(),
    ]);
    let body = json!({"UserPoolId": POOL, "Username": "user002"});
    let live = call(&vcr.url, "AdminGetUser", body.clone()).await;
    vcr.kill_9();

    let vcr = serve(&["--mode", "replay", "--cassette", path(&cassette)]);
    assert!(cassette.exists(), "written on start");
    let replayed = call(&vcr.url, "AdminGetUser", body).await;
    assert_eq!((replayed.status, replayed.body), (live.status, live.body));
    assert_eq!(vcr.terminate().0, 0);
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
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
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
    let cassette = cassette_in(&dir, "c");
    let out = vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
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
    // The clear error alone: not the SDK's warnings of each source it tried first.
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn the_demo_replays_the_shipped_cassette_with_an_example_call() {
    // On a copy, so the test leaves no store beside the shipped cassette.
    let dir = workdir();
    let cassette = demo_copy(&dir);
    let stdout = run_ok(&["demo", "--once", "--cassette", path(&cassette)]);
    assert!(stdout.contains("example call: ListUsers"), "{stdout}");
    assert!(
        stdout.contains("answer: 200, 7 users: user001, user002"),
        "{stdout}"
    );
    // The server has stopped: no commands to try against it.
    assert!(!stdout.contains("aws cognito-idp list-users"), "{stdout}");
    assert!(
        stdout.contains("`cognito-vcr demo` keeps serving"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stderr_nobody_reads_never_holds_up_an_exchange() {
    // As in CI: stderr is a pipe (64 KiB) nobody drains. At debug every hit writes a line
    // (~125 bytes), so these calls log several times what the pipe holds.
    const CALLS: usize = 2000;
    let dir = workdir();
    let cassette = demo_copy(&dir);
    let (mut child, url) = spawn_listening(
        vcr_command(&["serve", "--mode", "replay", "--cassette", path(&cassette)])
            .env("RUST_LOG", "debug")
            .stderr(Stdio::piped()),
    );
    let body = json!({"Limit": 7, "UserPoolId": DEMO_POOL});
    let calls = async {
        for _ in 0..CALLS {
            assert_eq!(call(&url, "ListUsers", body.clone()).await.status, 200);
        }
    };
    // A guard against a hang only (a proxy writing its log in the exchange stalls for good).
    tokio::time::timeout(std::time::Duration::from_secs(120), calls)
        .await
        .expect("every call answered while nobody read stderr");
    // Only now is stderr read: the lines were logged, not lost with the pipe full.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    crate::support::sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let logged = reader.join().unwrap();
    let hits = logged.matches("outcome=\"hit\"").count();
    assert!(logged.len() > 4 * 65536, "{} bytes logged", logged.len());
    assert_eq!(hits, CALLS, "every hit logged once");
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_processes_share_one_cassette_and_a_second_writer_is_refused() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "shared");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let body = json!({"UserPoolId": POOL, "Username": "user002"});
    let live = call(&proxy.url(), "AdminGetUser", body.clone()).await;
    proxy.stop().await.unwrap();

    // Four test processes, each with its own proxy on the same cassette, all at once.
    let replays: Vec<Serving> = (0..4)
        .map(|_| serve(&["--mode", "replay", "--cassette", path(&cassette)]))
        .collect();
    for replay in &replays {
        let replayed = call(&replay.url, "AdminGetUser", body.clone()).await;
        assert_eq!((replayed.status, &replayed.body), (live.status, &live.body));
    }
    // They keyed it once, into the index a later start maps.
    let index = cassette.parent().unwrap().join(".cognito-vcr/shared.index");
    assert!(index.is_file(), "{}", index.display());
    // A writer needs the store to itself: a second one gets a clear error.
    let auto = serve(&[
        "--mode",
        "auto",
        "--cassette",
        path(&cassette),
        "--upstream",
        &upstream.url(),
    ]);
    let second = vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
        .args(["--upstream", &upstream.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("in use by another cognito-vcr process"),
        "{stderr}"
    );
    // ... while replay processes still start beside it.
    let late = serve(&["--mode", "replay", "--cassette", path(&cassette)]);
    let replayed = call(&late.url, "AdminGetUser", body).await;
    assert_eq!(replayed.body, live.body);
    for serving in replays.into_iter().chain([auto, late]) {
        assert_eq!(serving.terminate().0, 0);
    }
}

#[test]
fn lint_passes_the_shipped_cassettes_and_names_a_live_credential() {
    let shipped: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(!shipped.is_empty());
    let out = vcr_command(&["lint"]).args(&shipped).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // As the README shows it: the directory, from the checkout.
    let out = vcr_command(&["lint", "cassettes/"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let dir = workdir();
    let bad = cassette_in(&dir, "leaky");
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXJlYWw";
    std::fs::write(
        &bad,
        format!(r#"{{"interactions":[{{"occurrence":1,"operation":"GetUser","request":{{"body":{{"AccessToken":"{jwt}"}}}},"response":{{"body":{{}},"headers":{{}},"status":200}}}}],"version":2}}"#),
    )
    .unwrap();
    let out = vcr_command(&["lint", path(&bad)]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("leaky.json: interaction 0 (GetUser #1): request.AccessToken: a JWT with a real signature"),
        "{stdout}"
    );
}

#[test]
fn completions_and_man_pages_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run_to_success(&mut vcr_command(&["completions", shell]));
        let script = String::from_utf8_lossy(&out.stdout);
        for command in ["serve", "run", "diff", "lint", "import"] {
            assert!(script.contains(command), "{shell}: {command} missing");
        }
    }
    let out = run_to_success(&mut vcr_command(&["man"]));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH cognito-vcr"),
        "{page}"
    );
    let dir = workdir();
    run_to_success(&mut vcr_command(&["man", "--out-dir", path(dir.path())]));
    for page in [
        "cognito-vcr.1",
        "cognito-vcr-run.1",
        "cognito-vcr-serve.1",
        "cognito-vcr-import.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}

/// The CI recipes' cognito-vcr commands use flags this binary has (each is run with `--help`
/// in place of its command and cassette).
#[test]
fn the_ci_recipes_use_flags_that_exist() {
    let dir = crate::interop::repo().join("integrations/ci");
    let mut checked = 0;
    for recipe in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = std::fs::read_to_string(dir.join(recipe)).unwrap();
        for line in text.lines() {
            let Some((_, command)) = line.split_once("cognito-vcr ") else {
                continue;
            };
            if line.trim_start().starts_with('#') || command.starts_with("in ") {
                continue;
            }
            let args: Vec<&str> = command
                .split_whitespace()
                .take_while(|a| !matches!(*a, ">" | "|" | "--"))
                .chain(["--help"])
                .collect();
            run_to_success(&mut vcr_command(&args));
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} commands");
}

/// A reader that closes stdout early (`| head`) ends the output quietly, exit 0, as Unix tools
/// do: no panic, no error.
#[test]
fn a_closed_stdout_ends_completions_and_man_quietly() {
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let mut child = vcr_command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before anything is written: every write fails with a broken pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// A cassette a record run wrote is linted as it is written: a value that looks like a live
/// credential under a field redaction does not know is named in a warning.
#[tokio::test(flavor = "multi_thread")]
async fn a_recording_that_keeps_something_credential_like_is_warned_about() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let record = [
        "--mode",
        "record",
        "--cassette",
        path(&cassette),
        "--upstream",
    ];
    let vcr = serve(&[&record[..], &[upstream.url().as_str()]].concat());
    let body = json!({"UserPoolId": POOL, "Note": "AKIAQWERTYUIOPASDFGH"});
    assert_eq!(call(&vcr.url, "ListUsers", body).await.status, 200);
    let (code, stderr) = vcr.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 value(s) that look like live credentials"),
        "{stderr}"
    );
    // A clean recording says nothing of the kind.
    let clean = cassette_in(&dir, "clean");
    let record = ["--mode", "record", "--cassette", path(&clean), "--upstream"];
    let vcr = serve(&[&record[..], &[upstream.url().as_str()]].concat());
    call(&vcr.url, "ListUsers", json!({"UserPoolId": POOL})).await;
    let (_, stderr) = vcr.terminate();
    assert!(!stderr.contains("live credentials"), "{stderr}");
}

/// The shell completion and man page install lines, as the documentation shows them, in a new
/// user's empty home.
#[test]
fn the_completion_and_man_install_lines_work_in_an_empty_home() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_dir(repo.join("docs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    let text = std::iter::once(repo.join("README.md"))
        .chain(docs)
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find(|t| t.contains("Shell completions and man pages:"))
        .expect("the documentation shows the install lines");
    let block = text
        .split("Shell completions and man pages:")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let home = workdir();
    let bin = Path::new(env!("CARGO_BIN_EXE_cognito-vcr"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let command = line.split(" # ").next().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .env("HOME", home.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let share = home.path().join(".local/share");
    let completion = share.join("bash-completion/completions/cognito-vcr");
    assert!(std::fs::read_to_string(completion)
        .unwrap()
        .contains("serve"));
    assert!(share.join("man/man1/cognito-vcr-run.1").exists());
}

/// Seconds since 1970 at midnight (UTC) of `date`, for SOURCE_DATE_EPOCH.
fn epoch(date: &str) -> String {
    (cognito_vcr::cassette::dates::parse(date).unwrap() * 86_400).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_are_dated_an_unchanged_rerecord_keeps_the_file_and_replay_warns_of_old_ones() {
    use cognito_vcr::cassette::dates;
    let dir = workdir();
    let cassette = cassette_in(&dir, "aged");
    let upstream = FakeCognito::start(3).await;
    // Recording dated `day` (None: today by the clock), with more flags.
    let record = |day: Option<&str>, extra: &[&str]| {
        let mut args = vec!["--mode", "record", "--cassette", path(&cassette)];
        let url = upstream.url();
        args.extend(["--upstream", &url]);
        args.extend(extra);
        let env = day.map(|d| ("SOURCE_DATE_EPOCH", epoch(d)));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let vcr = serve_with_env(&args, &env);
        (vcr.url.clone(), vcr)
    };
    // The default scope (two operations), scope B (its name sorts between them) and test_login;
    // `only` limits the calls to one scope.
    let session = |url: String, only: Option<&'static str>| async move {
        let list = json!({"UserPoolId": POOL, "Limit": 2});
        let get = json!({"UserPoolId": POOL, "Username": "ghost"});
        for scope in ["", "B", "test_login"] {
            if only.is_some_and(|o| o != scope) {
                continue;
            }
            let at = match scope {
                "" => url.clone(),
                s => format!("{url}/scope/{s}"),
            };
            assert_eq!(call(&at, "ListUsers", list.clone()).await.status, 200);
            if scope.is_empty() {
                call(&at, "AdminGetUser", get.clone()).await;
            }
        }
    };

    let (url, vcr) = record(Some("2020-01-10"), &[]);
    session(url, None).await;
    assert_eq!(vcr.terminate().0, 0);
    let first = std::fs::read_to_string(&cassette).unwrap();
    let dated = dates::read(first.as_bytes());
    assert_eq!(dated.len(), 3, "{first}");
    assert!(
        dated.values().all(|r| r.recorded == "2020-01-10"),
        "{first}"
    );

    // A month later, the same session: not a byte changes.
    let (url, vcr) = record(Some("2020-02-10"), &[]);
    session(url, None).await;
    assert_eq!(vcr.terminate().0, 0);
    assert_eq!(std::fs::read_to_string(&cassette).unwrap(), first);

    // Replayed now with --max-age 90d: each scope named once, with its age by the clock, and the
    // command.
    let age = |now: i64| now - dates::parse("2020-01-10").unwrap();
    let before = age(dates::now());
    let replay = ["--cassette", path(&cassette), "--max-age", "90d"];
    let (code, stderr) = serve_with_env(&replay, &[]).terminate();
    let after = age(dates::now());
    assert_eq!(code, 0, "{stderr}");
    let said = |days: i64| {
        format!("3 scope(s) recorded more than --max-age 90d ago: the default scope ({days} days), B ({days} days), test_login ({days} days)")
    };
    assert!(
        stderr.contains(&said(before)) || stderr.contains(&said(after)),
        "{stderr}"
    );
    assert!(
        stderr.contains("cognito-vcr run --mode record --max-age 90d --cassette"),
        "{stderr}"
    );
    // With --strict it does not start; the variable works as the flag does.
    let out = vcr_command(&["serve", "--cassette", path(&cassette), "--strict"])
        .env("COGNITO_VCR_MAX_AGE", "90d")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("recorded more than --max-age 90d ago"),
        "{stderr}"
    );
    // Younger than the limit: nothing said.
    let (code, stderr) =
        serve_with_env(&["--cassette", path(&cassette), "--max-age", "36500d"], &[]).terminate();
    assert_eq!(code, 0);
    assert!(!stderr.contains("max-age"), "{stderr}");

    // test_login re-recorded today with --max-age: unchanged, yet dated anew; the scopes the run
    // did not record keep their dates. `ls` says so.
    let today = dates::format(dates::now());
    let (url, vcr) = record(None, &["--max-age", "90d"]);
    session(url, Some("test_login")).await;
    assert_eq!(vcr.terminate().0, 0);
    let now_text = std::fs::read_to_string(&cassette).unwrap();
    let dated = dates::read(now_text.as_bytes());
    assert_eq!(dated["test_login"].recorded, today);
    assert_eq!(dated["B"].recorded, "2020-01-10");
    assert_eq!(dated[""].recorded, "2020-01-10");
    assert_eq!(now_text.replace(&today, "2020-01-10"), first);
    let listed = run_ok(&["ls", path(&cassette)]);
    assert!(
        listed.contains(&format!("scope test_login (recorded {today}, 0 days ago)")),
        "{listed}"
    );
}
