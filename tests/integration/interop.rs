//! Real clients (boto3 with its paginators, the AWS CLI) against moto through the proxy:
//! recorded live, then replayed offline with moto stopped; every result the same.
//!
//! Needs the Python environment made by `.ci/setup-python` (the README's test command,
//! `bash .ci/test`, makes it). `COGNITO_VCR_PYTHON` points at another one.

use crate::support::{cassette_in, spawn_listening, workdir};
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
        let (child, url) = spawn_listening(
            aws_env(&mut Command::new(python()))
                .arg(repo().join("tests/interop/moto_server.py"))
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
