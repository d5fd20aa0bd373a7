//! The shipped artifacts (`bash .ci/package` writes them into `target/dist/`), installed as a
//! team without Rust would: into fresh folders, offline, with no `cargo` or `rustc` on `PATH`
//! and no `COGNITO_VCR_BIN`. The wheel gives `cognito-vcr` and the pytest plugin, which finds the
//! binary beside it and replays the demo cassette; the npm packages give the Node.js helper,
//! which finds its platform's binary and replays it too, and `npx cognito-vcr`; the archive holds
//! the binary, matching its checksum.

use crate::interop::{python, repo};
use crate::support::{workdir, DEMO_POOL};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/dist`, which `.ci/package` makes (`.ci/test` runs it first).
fn dist() -> PathBuf {
    let dist = repo().join("target/dist");
    assert!(
        dist.join("wheelhouse").is_dir(),
        "{} has no artifacts: run `bash .ci/package` (or `bash .ci/test`, which runs it)",
        dist.display()
    );
    dist
}

/// The one artifact in `dir` whose name starts with `prefix` and ends with `suffix`.
fn artifact(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{prefix}*{suffix} in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// A `PATH` with `first` and the system's folders (and node's), but no Rust toolchain.
fn path_without_rust(first: &Path) -> String {
    let node = which("node").map(|n| n.parent().unwrap().display().to_string());
    let path = [
        Some(first.display().to_string()),
        node,
        Some("/usr/bin:/bin".into()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(":");
    for tool in ["cargo", "rustc"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .env_clear()
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(!found.status.success(), "{tool} is on {path}");
    }
    path
}

/// Node's name for this platform (`linux-x64`), as in the platform package's name.
fn node_platform() -> String {
    let out = Command::new("node")
        .args(["-p", "process.platform + '-' + process.arch"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn which(tool: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Run `cmd` with only `path` and a home: it must succeed; its stdout.
fn run_clean(cmd: &mut Command, path: &str, home: &Path) -> String {
    let out: Output = cmd
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("npm_config_update_notifier", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn demo_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("cassettes")).unwrap();
    std::fs::copy(
        repo().join("cassettes/demo.json"),
        dir.join("cassettes/cognito-vcr.json"),
    )
    .unwrap();
}

#[test]
fn the_wheel_gives_the_binary_and_the_plugin_which_replays_the_demo_without_rust() {
    let dist = dist();
    let dir = workdir();
    let venv = dir.path().join("venv");
    let made = Command::new(python())
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let path = path_without_rust(&venv.join("bin"));
    run_clean(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg("--find-links")
            .arg(&dist)
            .arg("--find-links")
            .arg(dist.join("wheelhouse"))
            .args(["cognito-vcr", "pytest"]),
        &path,
        dir.path(),
    );
    let version = run_clean(
        Command::new("cognito-vcr").arg("--version"),
        &path,
        dir.path(),
    );
    assert_eq!(
        version.trim(),
        format!("cognito-vcr {}", env!("CARGO_PKG_VERSION"))
    );
    // No checkout here: the demo serves the cassette the binary carries.
    let demo = run_clean(
        Command::new("cognito-vcr")
            .args(["demo", "--once"])
            .current_dir(dir.path()),
        &path,
        dir.path(),
    );
    assert!(demo.contains("answer: 200, 7 users: user001"), "{demo}");

    let project = dir.path().join("project");
    demo_project(&project);
    std::fs::write(
        project.join("test_demo.py"),
        format!(
            r#"
import json
import urllib.request


def test_the_demo_replays(cognito_vcr):
    # The demo cassette was recorded in the default scope: the proxy's root.
    root = cognito_vcr.endpoint_url.split("/scope/")[0]
    request = urllib.request.Request(
        root + "/",
        data=json.dumps({{"Limit": 7, "UserPoolId": "{DEMO_POOL}"}}).encode(),
        headers={{
            "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUsers",
            "Content-Type": "application/x-amz-json-1.1",
        }},
    )
    users = json.load(urllib.request.urlopen(request))["Users"]
    assert [u["Username"] for u in users] == ["user%03d" % i for i in range(1, 8)]
"#
        ),
    )
    .unwrap();
    // The venv not activated (its bin not on PATH): the plugin finds the binary it came with.
    let bare = path_without_rust(&dir.path().join("nothing-here"));
    let out = run_clean(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .current_dir(&project),
        &bare,
        dir.path(),
    );
    assert!(out.contains("1 passed"), "{out}");
    assert!(
        out.contains("cognito-vcr replay: 0 recorded, 1 replayed"),
        "{out}"
    );
}

#[test]
fn the_npm_packages_give_the_helper_its_binary_and_npx_without_rust() {
    let dist = dist();
    let version = env!("CARGO_PKG_VERSION");
    let dir = workdir();
    let project = dir.path().join("project");
    demo_project(&project);
    std::fs::write(
        project.join("package.json"),
        r#"{"name": "demo", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    let path = path_without_rust(&project.join("node_modules/.bin"));
    run_clean(
        Command::new("npm")
            .args([
                "install",
                "--offline",
                "--no-audit",
                "--no-fund",
                "--omit=optional",
            ])
            .arg(dist.join(format!("cognito-vcr-{version}.tgz")))
            .arg(dist.join(format!("cognito-vcr-{}-{version}.tgz", node_platform())))
            .current_dir(&project),
        &path,
        dir.path(),
    );
    let npx = run_clean(
        Command::new("npx")
            .args(["--offline", "cognito-vcr", "--version"])
            .current_dir(&project),
        &path,
        dir.path(),
    );
    assert_eq!(npx.trim(), format!("cognito-vcr {version}"));
    let script = format!(
        r#"
const {{ start }} = require('cognito-vcr');
(async () => {{
  const proxy = await start({{ cassette: 'cassettes/cognito-vcr.json' }});
  const answer = await fetch(proxy.endpoint + '/', {{
    method: 'POST',
    headers: {{
      'X-Amz-Target': 'AWSCognitoIdentityProviderService.ListUsers',
      'Content-Type': 'application/x-amz-json-1.1',
    }},
    body: JSON.stringify({{ Limit: 7, UserPoolId: '{DEMO_POOL}' }}),
  }});
  const {{ Users }} = await answer.json();
  const stopped = await proxy.stop();
  console.log(JSON.stringify({{ users: Users.map((u) => u.Username), replayed: stopped.replayed }}));
}})().catch((err) => {{ console.error(err); process.exit(1); }});
"#
    );
    let out = run_clean(
        Command::new("node")
            .args(["-e", &script])
            .current_dir(&project),
        &path,
        dir.path(),
    );
    let seen: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let users: Vec<String> = (1..=7).map(|i| format!("user{i:03}")).collect();
    assert_eq!(seen, serde_json::json!({"users": users, "replayed": 1}));
}

#[test]
fn the_archive_holds_the_binary_readme_and_licences_and_matches_its_checksum() {
    let dist = dist();
    let archive = artifact(&dist, "cognito-vcr-", ".tar.gz");
    let dir = workdir();
    let path = path_without_rust(dir.path());
    run_clean(
        Command::new("sha256sum")
            .arg("-c")
            .arg(format!(
                "{}.sha256",
                archive.file_name().unwrap().to_string_lossy()
            ))
            .current_dir(&dist),
        &path,
        dir.path(),
    );
    run_clean(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(dir.path()),
        &path,
        dir.path(),
    );
    let name = archive.file_name().unwrap().to_string_lossy();
    let unpacked = dir.path().join(name.trim_end_matches(".tar.gz"));
    // The README's links into docs/ resolve inside the archive too.
    for file in [
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "docs/README.md",
    ] {
        assert!(
            unpacked.join(file).is_file(),
            "{file} in {}",
            unpacked.display()
        );
    }
    let version = run_clean(
        Command::new(unpacked.join("cognito-vcr")).arg("--version"),
        &path,
        dir.path(),
    );
    assert_eq!(
        version.trim(),
        format!("cognito-vcr {}", env!("CARGO_PKG_VERSION"))
    );
    // What cargo-binstall looks for, from Cargo.toml's metadata, is this archive.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("pkg-url = \"{ repo }/releases/download/v{ version }/{ name }-{ version }-{ target }{ archive-suffix }\""),
        "binstall metadata"
    );
    assert!(name.starts_with(&format!("cognito-vcr-{}-", env!("CARGO_PKG_VERSION"))));
    // Stripped: a few tens of MB at most (108 MB with debug info).
    let size = std::fs::metadata(unpacked.join("cognito-vcr"))
        .unwrap()
        .len();
    assert!(size < 40 << 20, "{size} bytes");
}

/// The release recipe cannot run here: it parses, builds every platform the README promises,
/// and publishes each kind of artifact `.ci/package` makes.
#[test]
fn the_release_recipe_parses_and_covers_every_platform_and_artifact() {
    let recipe = repo().join("integrations/ci/release.yml");
    let out = Command::new(python())
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
             d = yaml.safe_load(open(sys.argv[1]))\n\
             print(json.dumps({'targets': [m['target'] for m in d['jobs']['build']['strategy']['matrix']['include']],\n\
                               'uses': sorted({s['uses'].split('@')[0] for j in d['jobs'].values() for s in j['steps'] if 'uses' in s})}))",
        )
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = parsed["targets"].to_string();
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(targets.contains(target), "{target} in {targets}");
    }
    let uses = parsed["uses"].to_string();
    for action in [
        "PyO3/maturin-action",
        "pypa/gh-action-pypi-publish",
        "softprops/action-gh-release",
    ] {
        assert!(uses.contains(action), "{action} in {uses}");
    }
    let text = std::fs::read_to_string(&recipe).unwrap();
    assert!(text.contains("npm publish") && text.contains("--profile ship"));
}
