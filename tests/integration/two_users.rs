//! Two users on one machine: what another user's process leaves in a shared directory (a store
//! it recorded into, an index it built and patched, links where our files go, a state
//! directory) is refused, built anew or left out, never served, followed or merged.
//!
//! The other user is `nobody`, reached with `setpriv` from root (a CI container, this VM);
//! elsewhere each test says why it is skipped and passes.

use crate::support::{
    call, demo_copy, path, sigterm, spawn_listening, usernames, vcr_command, workdir, FakeCognito,
    DEMO_POOL,
};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

/// `setpriv` can run a command as `nobody` here (root, with the tool present), else why not.
fn other_user() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root: another user's process cannot be started".into());
    }
    match as_nobody(Command::new("true")).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("setpriv as {NOBODY} failed ({s})")),
        Err(e) => Err(format!("setpriv could not be started ({e})")),
    }
}

/// `cmd` run as `nobody` (uid and gid 65534, no supplementary groups).
fn as_nobody(cmd: Command) -> Command {
    let mut other = Command::new("setpriv");
    other
        .args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
            "--".into(),
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_remove("CI")
        .env("HOME", "/nonexistent");
    other
}

/// `bytes` written at `file` by `nobody`'s process (a file it makes is `nobody`'s).
fn write_as_nobody(file: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut cat = Command::new("sh");
    cat.args(["-c", "cat > \"$0\"", path(file)]);
    let mut write = as_nobody(cat).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = write.stdin.take().expect("stdin is piped");
    stdin.write_all(bytes).unwrap();
    drop(stdin);
    assert!(write.wait().unwrap().success());
    assert_eq!(std::fs::metadata(file).unwrap().uid(), NOBODY);
}

/// A directory every user may write, with the sticky bit (as `/tmp`), holding the victim's copy
/// of the demo cassette.
fn shared_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = workdir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let cassette = demo_copy(&dir);
    (dir, cassette)
}

fn skip(test: &str) -> bool {
    match other_user() {
        Ok(()) => false,
        Err(why) => {
            eprintln!("{test}: skipped: {why}");
            true
        }
    }
}

/// The victim's replay of `cassette`: the usernames of the demo pool's first page, and stderr.
async fn victim_replay(cassette: &Path) -> (Vec<String>, String) {
    let (child, url) = spawn_listening(
        vcr_command(&["serve", "--mode", "replay", "--cassette", path(cassette)])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped()),
    );
    let page = call(
        &url,
        "ListUsers",
        json!({"UserPoolId": DEMO_POOL, "Limit": 7}),
    )
    .await;
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(page.status, 200, "{:?}\n{stderr}", page.body);
    (usernames(&page), stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_store_and_patched_index_are_neither_merged_nor_served() {
    if skip("another_users_store_and_patched_index_are_neither_merged_nor_served") {
        return;
    }
    let (dir, cassette) = shared_dir();
    let shipped = std::fs::read(&cassette).unwrap();
    // What the cassette answers, from a directory of the victim's own.
    let own = workdir();
    let (names, _) = victim_replay(&demo_copy(&own)).await;

    // The other user builds the cassette's index (it may read the cassette) and patches an
    // answer in it...
    let state = dir.path().join("nobody-state");
    let (child, _) = spawn_listening(&mut as_nobody(vcr_command(&[
        "serve",
        "--mode",
        "replay",
        "--cassette",
        path(&cassette),
        "--state-dir",
        path(&state),
    ])));
    sigterm(&child);
    assert!(child.wait_with_output().unwrap().status.success());
    let index = dir.path().join(".cognito-vcr/demo.index");
    assert_eq!(std::fs::metadata(&index).unwrap().uid(), NOBODY);
    let mut patched = std::fs::read(&index).unwrap();
    let name = names[0].as_bytes();
    let mut at = 0;
    while let Some(found) = patched[at..].windows(name.len()).position(|w| w == name) {
        at += found;
        patched[at..at + name.len()].fill(b'X');
    }
    assert!(at > 0, "the index holds the answers");
    write_as_nobody(&index, &patched);

    // ...then records a call of its own into its store of that cassette and is killed, leaving
    // the store unclean.
    let upstream = FakeCognito::start(2).await;
    let (mut recorder, url) = spawn_listening(&mut as_nobody(vcr_command(&[
        "serve",
        "--mode",
        "record",
        "--cassette",
        path(&cassette),
        "--upstream",
        &upstream.url(),
        "--state-dir",
        path(&state),
    ])));
    let evil = call(
        &format!("{url}/scope/evil"),
        "ListUsers",
        json!({"UserPoolId": "us-east-1_Fake"}),
    )
    .await;
    assert_eq!(evil.status, 200);
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    assert!(dir.path().join(".cognito-vcr/demo.sled").exists());

    // The victim's replay: the cassette's answers, the cassette untouched, and a warning.
    let (seen, stderr) = victim_replay(&cassette).await;
    assert_eq!(seen, names, "{stderr}");
    assert_eq!(std::fs::read(&cassette).unwrap(), shipped, "{stderr}");
    assert!(
        stderr.contains("its recordings are not written into the cassette"),
        "{stderr}"
    );
    assert!(stderr.contains("belongs to user 65534"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn links_another_user_plants_are_never_followed() {
    if skip("links_another_user_plants_are_never_followed") {
        return;
    }
    let (dir, cassette) = shared_dir();
    let precious = dir.path().join("precious");
    std::fs::write(&precious, b"the victim's own").unwrap();
    let made_by_lock = dir.path().join("made-by-a-lock");
    // The other user makes the directory our store and index go into, and links in it.
    let store = dir.path().join(".cognito-vcr");
    let plant = |what: &str| {
        let mut sh = Command::new("sh");
        sh.args(["-c", what]);
        assert!(as_nobody(sh).status().unwrap().success(), "{what}");
    };
    plant(&format!(
        "mkdir {s} && ln -s {p} {s}/demo.sled.clean && ln -s {m} {s}/demo.index.lock && ln -s {p} {s}/demo.index",
        s = path(&store),
        p = path(&precious),
        m = path(&made_by_lock)
    ));

    // Replay: answered from the cassette, nothing written through the links.
    let own = workdir();
    let (names, _) = victim_replay(&demo_copy(&own)).await;
    let (seen, stderr) = victim_replay(&cassette).await;
    assert_eq!(seen, names, "{stderr}");
    assert!(
        stderr.contains("the replay index is built for this process alone"),
        "{stderr}"
    );

    // Record: the store in that directory is refused, naming it.
    let upstream = FakeCognito::start(1).await;
    let out = vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
        .args(["--upstream", &upstream.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("is not to be trusted"), "{stderr}");
    assert!(stderr.contains(path(&store)), "{stderr}");

    assert_eq!(std::fs::read(&precious).unwrap(), b"the victim's own");
    assert!(!made_by_lock.exists());
    assert!(std::fs::symlink_metadata(store.join("demo.index"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_state_directory_another_user_made_is_refused_naming_it() {
    if skip("a_state_directory_another_user_made_is_refused_naming_it") {
        return;
    }
    let (dir, cassette) = shared_dir();
    let state = dir.path().join("state");
    let mut mkdir = Command::new("mkdir");
    mkdir.args(["-m", "0777", path(&state)]);
    assert!(as_nobody(mkdir).status().unwrap().success());
    let out = vcr_command(&["serve", "--mode", "replay", "--cassette", path(&cassette)])
        .args(["--tls-auto", "--state-dir", path(&state)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(path(&state)), "{stderr}");
    assert!(stderr.contains("belongs to user 65534"), "{stderr}");
    assert!(!state.join("ca.pem").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_another_user_planted_with_a_right_digest_is_not_served() {
    use sha2::{Digest, Sha256};
    if skip("an_index_another_user_planted_with_a_right_digest_is_not_served") {
        return;
    }
    // The victim's own state directory, sticky and open to all (as a shared cache may be): the
    // directory check passes, so what stops the plant is the check of the opened file.
    let (dir, cassette) = shared_dir();
    let state = dir.path().join(".cognito-vcr");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o1777)).unwrap();
    // A true index of the same bytes, built elsewhere, patched, its digest made right again.
    let own = workdir();
    let (names, _) = victim_replay(&demo_copy(&own)).await;
    let mut index = std::fs::read(own.path().join(".cognito-vcr/demo.index")).unwrap();
    let name = names[0].as_bytes();
    let at = index
        .windows(name.len())
        .position(|w| w == name)
        .expect("the index holds the answers");
    index[at..at + name.len()].fill(b'X');
    // The header's digest (bytes 56..88) covers everything after the 96-byte header.
    let digest: [u8; 32] = Sha256::digest(&index[96..]).into();
    index[56..88].copy_from_slice(&digest);
    let planted = state.join("demo.index");
    write_as_nobody(&planted, &index);

    let (seen, stderr) = victim_replay(&cassette).await;
    assert_eq!(seen, names, "{stderr}");
    assert!(stderr.contains("belongs to user 65534"), "{stderr}");
}
