//! Real clients (boto3 with its paginators, the AWS CLI) against moto through the proxy:
//! recorded live, then replayed offline with moto stopped; every result the same.
//!
//! Needs the Python environment made by `.ci/setup-python` (the README's test command,
//! `bash .ci/test`, makes it). `COGNITO_VCR_PYTHON` points at another one.

use crate::support::{cassette_in, run_to_success, spawn_listening, workdir};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    let py = std::env::var_os("COGNITO_VCR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/interop-venv/bin/python"));
    assert!(
        py.exists(),
        "{} not found: run `bash .ci/test` (or `.ci/setup-python`) once to install boto3, the AWS CLI and moto",
        py.display()
    );
    py
}

/// Isolated from any real AWS configuration; fake credentials only.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "fakesecret")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
}

/// moto's server on 127.0.0.1:0; it stops when its stdin closes (on drop).
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With more environment variables (moto's own settings).
    pub fn start_with(envs: &[(&str, &str)]) -> Moto {
        Moto::start_script("moto_server.py", envs)
    }

    /// Another script of tests/interop that serves as moto_server.py does (moto extended).
    pub fn start_script(script: &str, envs: &[(&str, &str)]) -> Moto {
        Moto::start_script_with(script, &[], envs)
    }

    /// [`Moto::start_script`] with arguments.
    pub fn start_script_with(script: &str, args: &[&str], envs: &[(&str, &str)]) -> Moto {
        let (child, url) = spawn_listening(
            aws_env(&mut Command::new(python()))
                .arg(repo().join("tests/interop").join(script))
                .args(args)
                .envs(envs.iter().copied())
                .stdin(Stdio::piped()),
        );
        Moto { child, url }
    }

    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a script of tests/interop and return its stdout (it must succeed).
pub fn script(program: &Path, args: &[&str]) -> String {
    script_with_env(program, args, &[])
}

/// The same, with more environment variables.
pub fn script_with_env(program: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut cmd = if program.extension().is_some_and(|e| e == "py") {
        let mut c = Command::new(python());
        c.arg(program);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg(program)
            .env("AWS_CLI", python().with_file_name("aws"));
        c
    };
    let out = aws_env(&mut cmd)
        .envs(envs.iter().copied())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn interop(name: &str) -> PathBuf {
    repo().join("tests/interop").join(name)
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_and_the_aws_cli_replay_offline_what_they_saw_live() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "interop");
    let moto = Moto::start();
    let seeded: serde_json::Value =
        serde_json::from_str(&script(&interop("seed.py"), &[&moto.url])).unwrap();
    let pool = seeded["pool_id"].as_str().unwrap().to_owned();

    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let url = proxy.url();
    let (live, live_cli) = tokio::task::spawn_blocking({
        let (url, pool) = (url.clone(), pool.clone());
        move || {
            (
                script(&interop("session.py"), &[&url, &pool]),
                script(&interop("cli_session.sh"), &[&url, &pool]),
            )
        }
    })
    .await
    .unwrap();
    let recorded = proxy.stop().await.unwrap();
    moto.stop();

    // The live run saw what seed.py made: 150 users in pages of 7, 70 editors, 5 pools.
    let v: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["list_users"]["usernames"].as_array().unwrap().len(), 150);
    assert_eq!(v["list_users"]["pages"], 22);
    assert_eq!(
        v["list_users_in_group"]["usernames"]
            .as_array()
            .unwrap()
            .len(),
        70
    );
    assert_eq!(v["list_user_pools"]["pools"].as_array().unwrap().len(), 5);
    assert_eq!(v["admin_get_user_missing"]["code"], "UserNotFoundException");
    assert_eq!(
        v["list_users_email_only"]["attribute_names"],
        serde_json::json!(["email"])
    );
    let resume = &v["list_users_resume"];
    assert_eq!(resume["first"].as_array().unwrap().len(), 10);
    assert_eq!(
        resume["rest"][0], "user011",
        "resumed where MaxItems cut the page"
    );
    assert_eq!(v["viewers_after_add"], serde_json::json!(["newcomer"]));
    let cli: serde_json::Value = serde_json::from_str(&live_cli).unwrap();
    assert_eq!(cli["page_size_20"].as_array().unwrap().len(), 150);
    assert_eq!(cli["resumed_after_10"][0], "user011");
    assert_eq!(cli["resumed_after_10"].as_array().unwrap().len(), 15);
    // Every call of the two scripts: a change in the scripts changes this number, and so does a
    // call the proxy failed to record.
    assert_eq!(recorded.recorded, 76, "{recorded}");
    assert_eq!(recorded.failed, 0);

    // moto is gone: the same scripts against replay print the same bytes.
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let url = proxy.url();
    let (replayed, replayed_cli) = tokio::task::spawn_blocking(move || {
        (
            script(&interop("session.py"), &[&url, &pool]),
            script(&interop("cli_session.sh"), &[&url, &pool]),
        )
    })
    .await
    .unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(replayed_cli, live_cli);
    assert_eq!(summary.misses, 0, "{summary}");
    assert_eq!(summary.replayed, recorded.recorded, "{summary}");
    assert_eq!(summary.unused, Some(0), "{summary}");

    // Nothing of the client's credentials reached the cassette.
    let text = std::fs::read_to_string(&cassette).unwrap();
    for secret in [
        "AKIDEXAMPLE",
        "fakesecret",
        "Authorization",
        "X-Amz-Date",
        "Credential=",
    ] {
        assert!(!text.contains(secret), "{secret} in the cassette");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_a_read_only_session_twice_against_moto_gives_the_same_bytes() {
    let dir = workdir();
    let moto = Moto::start();
    let seeded: serde_json::Value =
        serde_json::from_str(&script(&interop("seed.py"), &[&moto.url])).unwrap();
    let pool = seeded["pool_id"].as_str().unwrap().to_owned();
    let mut cassettes = Vec::new();
    for run in 0..2 {
        let cassette = cassette_in(&dir, &format!("run{run}"));
        let proxy = crate::support::recording(&cassette, &moto.url).await;
        let (url, pool) = (proxy.url(), pool.clone());
        tokio::task::spawn_blocking(move || {
            script(&interop("session.py"), &["--read-only", &url, &pool])
        })
        .await
        .unwrap();
        let summary = proxy.stop().await.unwrap();
        assert!(summary.recorded > 40, "{summary}");
        cassettes.push(std::fs::read_to_string(&cassette).unwrap());
    }
    moto.stop();
    assert!(
        cassettes[0] == cassettes[1],
        "two recordings of the same session differ"
    );
}

/// The AWS CLI's full listing by 20 in scope `cli`, through `--endpoint-url` with the scope path.
fn cli_in_scope(url: &str, pool: &str) -> serde_json::Value {
    let endpoint = format!("{url}/scope/cli");
    let out = run_to_success(
        aws_env(&mut Command::new(python().with_file_name("aws")))
            .args(["cognito-idp", "list-users", "--region", "us-east-1"])
            .args(["--endpoint-url", &endpoint, "--user-pool-id", pool])
            .args(["--page-size", "20", "--query", "Users[].Username"])
            .args(["--output", "json"]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `suite.py URL POOL ARGS...` as JSON.
fn suite(url: &str, pool: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec![url, pool];
    all.extend_from_slice(args);
    serde_json::from_str(&script(&interop("suite.py"), &all)).unwrap()
}

/// A recorded boto3 suite replays as real test runners run it: the same listing three times,
/// the tests reversed, a subset, 8 threads paging one listing, two scopes changing state at once
/// (twice each, reset between), four replay processes on the cassette at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_boto3_suite_replays_in_any_order_repeated_in_parallel_and_in_many_processes() {
    use serde_json::json;
    let dir = workdir();
    let cassette = cassette_in(&dir, "suite");
    let moto = Moto::start();
    let seeded: serde_json::Value =
        serde_json::from_str(&script(&interop("seed.py"), &[&moto.url])).unwrap();
    let pool = seeded["pool_id"].as_str().unwrap().to_owned();

    let proxy = crate::support::recording(&cassette, &moto.url).await;
    let (url, p) = (proxy.url(), pool.clone());
    let (live, live_scoped) = tokio::task::spawn_blocking(move || {
        let live = suite(
            &url,
            &p,
            &["run", "full_listing", "resume", "group_listing", "mutation"],
        );
        let mut scoped = serde_json::Map::new();
        for worker in ["worker1", "worker2"] {
            let one = suite(&url, &p, &["scoped", "1", "mutation", worker]);
            scoped.insert(worker.to_owned(), one[worker][0].clone());
        }
        scoped.insert("cli".to_owned(), cli_in_scope(&url, &p));
        (live, scoped)
    })
    .await
    .unwrap();
    let recorded = proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!(recorded.failed, 0, "{recorded}");
    let result = |test: &str| -> serde_json::Value {
        live.as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == test)
            .unwrap()[1]
            .clone()
    };
    assert_eq!(result("full_listing").as_array().unwrap().len(), 150);
    assert_eq!(result("resume")["rest"][0], "user011");
    assert_eq!(result("group_listing").as_array().unwrap().len(), 70);
    assert_eq!(result("mutation"), json!([[], ["newcomer"], []]));
    assert_eq!(live_scoped["worker1"], result("mutation"));
    assert_eq!(live_scoped["cli"], result("full_listing"));

    // moto is gone. One replay proxy for (a) to (e).
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let (url, p, expected) = (proxy.url(), pool.clone(), live.clone());
    let cli_live = live_scoped["cli"].clone();
    tokio::task::spawn_blocking(move || {
        // The AWS CLI in its scope, twice.
        for _ in 0..2 {
            assert_eq!(cli_in_scope(&url, &p), cli_live);
        }
        let each = |test: &str| {
            expected
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r[0] == test)
                .unwrap()
                .clone()
        };
        // (a) the same listing three times in a row
        let again = suite(
            &url,
            &p,
            &["run", "full_listing", "full_listing", "full_listing"],
        );
        assert_eq!(
            again,
            json!([
                each("full_listing"),
                each("full_listing"),
                each("full_listing")
            ])
        );
        // (b) the tests in reverse order
        let reversed = suite(
            &url,
            &p,
            &["run", "mutation", "group_listing", "resume", "full_listing"],
        );
        let mut want: Vec<_> = expected.as_array().unwrap().clone();
        want.reverse();
        assert_eq!(reversed, json!(want));
        // (c) a subset, in yet another order
        let subset = suite(&url, &p, &["run", "group_listing", "resume"]);
        assert_eq!(subset, json!([each("group_listing"), each("resume")]));
        // (d) 8 threads paging one listing at once
        let threads = suite(&url, &p, &["threads", "8", "full_listing"]);
        assert_eq!(threads, json!(vec![each("full_listing")[1].clone(); 8]));
        let resumed = suite(&url, &p, &["threads", "8", "resume"]);
        assert_eq!(resumed, json!(vec![each("resume")[1].clone(); 8]));
        // (e) two scopes changing state at once, twice each
        let scoped = suite(&url, &p, &["scoped", "2", "mutation", "worker1", "worker2"]);
        let run = each("mutation")[1].clone();
        assert_eq!(
            scoped,
            json!({"worker1": [run, run], "worker2": [run, run]})
        );
    })
    .await
    .unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.failed), (0, 0), "{summary}");

    // (f) four replay processes on the cassette at once, each with its own client.
    let replays: Vec<_> = (0..4)
        .map(|_| {
            spawn_listening(
                crate::support::vcr_command(&["serve", "--mode", "replay", "--cassette"])
                    .arg(&cassette)
                    .env("RUST_LOG", "warn"),
            )
        })
        .collect();
    let runs: Vec<_> = replays
        .iter()
        .map(|(_, url)| {
            let (url, p) = (url.clone(), pool.clone());
            std::thread::spawn(move || suite(&url, &p, &["run", "full_listing", "resume"]))
        })
        .collect();
    let want = json!([
        live.as_array().unwrap()[0].clone(),
        live.as_array().unwrap()[1].clone()
    ]);
    for run in runs {
        assert_eq!(run.join().unwrap(), want);
    }
    for (mut child, _) in replays {
        crate::support::sigterm(&child);
        assert!(child.wait().unwrap().success());
    }
}

/// The README's first command: `demo` serves the shipped cassette and suggests an `aws` command
/// that pages all 150 users; run twice, it pages them all both times.
#[test]
fn the_demo_and_its_suggested_aws_command_page_all_users_every_time() {
    use std::io::{BufRead, BufReader};
    let dir = workdir();
    let cassette = crate::support::demo_copy(&dir);
    let mut demo = crate::support::vcr_command(&["demo", "--cassette"])
        .arg(&cassette)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while !printed.contains("serving until Ctrl-C") {
        printed.push_str(&lines.next().expect("the demo's output").unwrap());
        printed.push('\n');
    }
    // `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=URL \` then `aws cognito-idp list-users ...`.
    let endpoint = printed
        .split_whitespace()
        .find_map(|w| w.strip_prefix("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="))
        .expect("the suggested endpoint")
        .to_owned();
    let command: Vec<String> = printed
        .lines()
        .find(|l| l.trim_start().starts_with("aws cognito-idp list-users"))
        .expect("the suggested aws command")
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('\'').to_owned())
        .collect();
    for _ in 0..2 {
        let out = run_to_success(
            aws_env(&mut Command::new(python().with_file_name("aws")))
                .args(&command)
                .args(["--output", "json"])
                .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", &endpoint),
        );
        let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(names.len(), 150);
        assert_eq!(
            (names[0].as_str(), names[149].as_str()),
            ("user001", "user150")
        );
    }
    crate::support::sigterm(&demo);
    assert!(demo.wait().unwrap().success());
}

/// The README's way to remake the demo cassette makes what is shipped, byte for byte.
#[test]
fn record_demo_sh_makes_the_shipped_demo_cassette() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "demo");
    run_to_success(
        Command::new("bash")
            .arg(interop("record_demo.sh"))
            .arg(&cassette)
            .env("COGNITO_VCR_BIN", env!("CARGO_BIN_EXE_cognito-vcr"))
            .env("RUST_LOG", "warn"),
    );
    // Byte for byte what is shipped: the same pool id (so the README's commands keep working),
    // the same users, virtual dates, tokens: a remake with nothing changed leaves git clean.
    let shipped = repo().join("cassettes/demo.json");
    let (made, kept) = (
        std::fs::read_to_string(&cassette).unwrap(),
        std::fs::read_to_string(&shipped).unwrap(),
    );
    // The first line that differs, as `diff` below compares meaning and may see none (a virtual
    // date numbered otherwise, say).
    let first = made
        .lines()
        .zip(kept.lines())
        .enumerate()
        .find(|(_, (m, k))| m != k)
        .map(|(i, (m, k))| format!("line {}: made {m:?}, shipped {k:?}", i + 1));
    assert!(
        made == kept,
        "record_demo.sh made another cassette than the shipped one ({}): {}",
        first.unwrap_or_else(|| "one is longer".to_owned()),
        String::from_utf8_lossy(
            &crate::support::vcr_command(&["diff"])
                .arg(&shipped)
                .arg(&cassette)
                .output()
                .unwrap()
                .stdout
        )
    );
}
