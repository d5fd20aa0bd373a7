//! `cognito-vcr diff`: two recordings of moto before and after a change; `--live` against the
//! fake upstream, which logs every operation it is sent.

use crate::interop::{interop, script, Moto};
use crate::support::{call, cassette_in, path, vcr_command, workdir, FakeCognito, POOL};
use serde_json::{json, Value};
use std::path::Path;

async fn record(cassette: &Path, upstream: &str, pool: &str) {
    let proxy = crate::support::recording(cassette, upstream).await;
    let (url, pool) = (proxy.url(), pool.to_owned());
    tokio::task::spawn_blocking(move || script(&interop("diff_session.py"), &[&url, &pool]))
        .await
        .unwrap();
    proxy.stop().await.unwrap();
}

/// Run `cognito-vcr diff ARGS`: (exit code, stdout).
fn diff(args: &[&str]) -> (i32, String) {
    let out = vcr_command(&["diff"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty() || out.status.code() == Some(2),
        "{stderr}"
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_reports_exactly_what_changed_upstream() {
    let dir = workdir();
    let (a, a2, b) = (
        cassette_in(&dir, "a"),
        cassette_in(&dir, "a2"),
        cassette_in(&dir, "b"),
    );
    let moto = Moto::start();
    let seeded: Value = serde_json::from_str(&script(&interop("seed.py"), &[&moto.url])).unwrap();
    let pool = seeded["pool_id"].as_str().unwrap().to_owned();
    record(&a, &moto.url, &pool).await;
    record(&a2, &moto.url, &pool).await;
    script(&interop("diff_mutate.py"), &[&moto.url, &pool]);
    record(&b, &moto.url, &pool).await;

    // Unchanged upstream: no differences, exit 0.
    assert_eq!(
        diff(&[path(&a), path(&a2)]),
        (0, "no differences\n".to_owned())
    );

    // The four changes, and nothing else (moto also moves user005's UserLastModifiedDate).
    let (code, text) = diff(&[path(&a), path(&b)]);
    assert_eq!(code, 1, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!("ListGroups (pool {pool}): +1 group (auditors)")
    );
    assert!(
        lines[1].starts_with(&format!(
            "ListUsers (pool {pool}, filter none): +1 user (aaa-first), \u{2212}1 user (user010), 1 changed: user005 email user005@example.com \u{2192} changed@example.com"
        )),
        "{text}"
    );
    assert_eq!(lines[2], "2 differences");

    // The same facts in JSON; --ignore '*Date' leaves only the email.
    let (code, out) = diff(&[path(&a), path(&b), "--format", "json", "--ignore", "*Date"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["equal"], false);
    assert_eq!(
        v["summary"],
        json!({"only_in_old": 0, "only_in_new": 0, "changed": 2})
    );
    let users = &v["changes"][1];
    assert_eq!(
        (users["operation"].as_str(), users["kind"].as_str()),
        (Some("ListUsers"), Some("items"))
    );
    assert_eq!(users["added"], json!(["aaa-first"]));
    assert_eq!(users["removed"], json!(["user010"]));
    assert_eq!(
        users["changed"],
        json!([{"id": "user005", "fields": [{"path": "email", "old": "user005@example.com", "new": "changed@example.com"}]}])
    );
    assert_eq!(v["changes"][0]["added"], json!(["auditors"]));

    // --live: the recording before the change, checked against moto now.
    let (code, text) = diff(&[
        "--live",
        path(&a),
        "--upstream",
        &moto.url,
        "--ignore",
        "*Date",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("+1 user (aaa-first)") & text.contains("+1 group (auditors)"),
        "{text}"
    );
    moto.stop();

    // A bad file is an error: exit 2.
    assert_eq!(
        diff(&[path(&a), path(&dir.path().join("missing.json"))]).0,
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_live_sends_no_mutating_request() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(12).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let url = proxy.url();
    let list = json!({"UserPoolId": POOL, "Limit": 5});
    call(&url, "ListUsers", list.clone()).await;
    call(
        &url,
        "AdminCreateUser",
        json!({"UserPoolId": POOL, "Username": "zed"}),
    )
    .await;
    call(
        &url,
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "zed"}),
    )
    .await;
    call(
        &url,
        "AdminDeleteUser",
        json!({"UserPoolId": POOL, "Username": "zed"}),
    )
    .await;
    call(&url, "ListUsers", list).await;
    proxy.stop().await.unwrap();
    upstream.state.ops.lock().unwrap().clear();

    let (code, text) = tokio::task::spawn_blocking({
        let (c, u) = (cassette.clone(), upstream.url());
        move || diff(&["--live", path(&c), "--upstream", &u])
    })
    .await
    .unwrap();
    // zed is gone now: AdminGetUser answers an error where the recording had the user.
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("AdminGetUser (pool us-east-1_Fake, user zed): status 200 \u{2192} 400"),
        "{text}"
    );
    let ops = upstream.state.ops.lock().unwrap().clone();
    assert!(!ops.is_empty());
    assert!(
        ops.iter()
            .all(|op| op == "ListUsers" || op == "AdminGetUser"),
        "only reads reached the upstream: {ops:?}"
    );
}
