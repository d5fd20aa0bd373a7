//! Injected faults (`[[faults]]` in the config file): recorded from the fake upstream, then
//! replayed (or run in auto mode) with rules that throttle, fail, delay or close chosen calls;
//! what the client sees, what the summary counts, and that a faulted call takes no occurrence
//! and never reaches the upstream or the cassette.

use crate::interop::{interop, script};
use crate::support::{
    call, cassette_in, get, path, post, recording, vcr_command, workdir, Answer, FakeCognito,
    DEMO_POOL, POOL,
};
use cognito_vcr::{Mode, Proxy, ServeConfig, Settings};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Guards against a hang only; never used to order events.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A proxy of `cassette` in `mode` whose config file holds `rules`.
async fn with_faults(mode: Mode, cassette: &Path, upstream: Option<&str>, rules: &str) -> Proxy {
    let file = cassette.with_extension("faults.toml");
    std::fs::write(&file, rules).unwrap();
    let mut config = ServeConfig::new(mode, cassette);
    config.settings = Settings::load(Some(&file), cassette).unwrap();
    config.upstream = upstream.map(str::to_owned);
    Proxy::start(config).await.unwrap()
}

fn user(name: &str) -> Value {
    json!({"UserPoolId": POOL, "Username": name})
}

fn pool() -> Value {
    json!({"UserPoolId": POOL})
}

/// The status of each answer, with the error type of the errors: `[(200, ""), (400, "TooMany...")]`.
fn seen(answers: &[Answer]) -> Vec<(u16, String)> {
    answers
        .iter()
        .map(|a| (a.status, a.error_type().unwrap_or("").to_owned()))
        .collect()
}

/// `n` calls of `operation` in a row.
async fn calls(url: &str, operation: &str, body: Value, n: usize) -> Vec<Answer> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(call(url, operation, body.clone()).await);
    }
    out
}

fn ok() -> (u16, String) {
    (200, String::new())
}

fn err(status: u16, kind: &str) -> (u16, String) {
    (status, kind.to_owned())
}

/// The raw HTTP/1.1 request of one call.
fn raw_request(operation: &str, path: &str, body: &Value) -> String {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: AWSCognitoIdentityProviderService.{operation}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Wait until the proxy says `n` faults were injected in the run: it polls the proxy's own
/// summary (the observable fact), within the hang guard.
async fn until_injected(url: &str, n: u64) {
    tokio::time::timeout(HANG_GUARD, async {
        while get(&format!("{url}/summary")).await.body["injected"] != json!(n) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the fault fired");
}

#[tokio::test]
async fn nth_and_every_fault_the_calls_they_name_and_a_reset_starts_the_count_over() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "nth");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let live_user = call(&proxy.url(), "AdminGetUser", user("user001")).await;
    let live_list = call(&proxy.url(), "ListUsers", pool()).await;
    let live_mfa = call(&proxy.url(), "GetUserPoolMfaConfig", pool()).await;
    proxy.stop().await.unwrap();

    let proxy = with_faults(
        Mode::Replay,
        &cassette,
        None,
        r#"
[[faults]]
operation = "AdminGetUser"
nth = 2
error = "TooManyRequestsException"

[[faults]]
operation = "ListUsers"
every = 2
error = "InternalErrorException"

[[faults]]
operation = "GetUserPoolMfaConfig"
every = 1
delay_ms = 1
"#,
    )
    .await;
    let url = proxy.url();
    let users = calls(&url, "AdminGetUser", user("user001"), 4).await;
    let throttled = err(400, "TooManyRequestsException");
    assert_eq!(seen(&users), [ok(), throttled.clone(), ok(), ok()]);
    assert_eq!(users[0].body, live_user.body);
    assert_eq!(users[2].body, live_user.body);
    // In Cognito's shape, header included, and saying what it is.
    assert_eq!(
        users[1].body,
        json!({
            "__type": "TooManyRequestsException",
            "message": "cognito-vcr injected fault: TooManyRequestsException (fault rule 1, call 2 of AdminGetUser)"
        })
    );
    assert_eq!(
        users[1].headers["x-amzn-errortype"],
        "TooManyRequestsException"
    );
    assert_eq!(
        users[1].headers["content-type"],
        "application/x-amz-json-1.1"
    );
    let lists = calls(&url, "ListUsers", pool(), 4).await;
    let internal = err(500, "InternalErrorException");
    assert_eq!(
        seen(&lists),
        [ok(), internal.clone(), ok(), internal.clone()]
    );
    assert_eq!(
        lists[2].body_without_token_values(),
        live_list.body_without_token_values()
    );
    // A delay alone: the normal answer, a little later.
    let mfa = calls(&url, "GetUserPoolMfaConfig", pool(), 2).await;
    assert_eq!(seen(&mfa), [ok(), ok()]);
    assert_eq!(mfa[1].body, live_mfa.body);

    // The test starts again: so do the counts.
    assert_eq!(post(&format!("{url}/reset"), &[], "").await.status, 200);
    let again = calls(&url, "AdminGetUser", user("user001"), 2).await;
    assert_eq!(seen(&again), [ok(), throttled]);

    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.injected, 1 + 2 + 2 + 1, "{summary}");
    assert_eq!(
        (summary.replayed, summary.misses),
        (3 + 2 + 2 + 1, 0),
        "{summary}"
    );
    assert!(
        summary.to_string().contains(", 6 faults injected"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_injected_error_takes_cognitos_status_a_recorded_answer_of_its_type_or_the_overrides() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "kinds");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    for name in ["user001", "user002", "user003", "nobody"] {
        call(&proxy.url(), "AdminGetUser", user(name)).await;
    }
    call(&proxy.url(), "ListUsers", pool()).await;
    proxy.stop().await.unwrap();

    let proxy = with_faults(
        Mode::Replay,
        &cassette,
        None,
        r#"
[[faults]]   # recorded for AdminGetUser (nobody): that answer
operation = "AdminGetUser"
match = { Username = "user001" }
nth = 1
error = "UserNotFoundException"

[[faults]]   # never recorded: 400, a generic message
operation = "AdminGetUser"
match = { Username = "user002" }
nth = 1
error = "NotAuthorizedException"

[[faults]]
operation = "AdminGetUser"
match = { Username = "user003" }
nth = 1
error = "TooManyRequestsException"
status = 429
message = "Rate exceeded"

[[faults]]
operation = "ListUsers"
nth = 1
error = "LimitExceededException"
"#,
    )
    .await;
    let url = proxy.url();
    let recorded = call(&url, "AdminGetUser", user("nobody")).await;
    assert_eq!(recorded.error_type(), Some("UserNotFoundException"));
    let as_recorded = call(&url, "AdminGetUser", user("user001")).await;
    assert_eq!(
        (as_recorded.status, &as_recorded.body),
        (400, &recorded.body)
    );
    assert_eq!(
        as_recorded.headers["x-amzn-errortype"],
        "UserNotFoundException"
    );
    let generic = call(&url, "AdminGetUser", user("user002")).await;
    assert_eq!(generic.status, 400);
    assert_eq!(
        generic.body,
        json!({"__type": "NotAuthorizedException", "message": "cognito-vcr injected fault: NotAuthorizedException (fault rule 2, call 1 of AdminGetUser)"})
    );
    let overridden = call(&url, "AdminGetUser", user("user003")).await;
    assert_eq!(overridden.status, 429);
    assert_eq!(
        overridden.body,
        json!({"__type": "TooManyRequestsException", "message": "Rate exceeded"})
    );
    let limit = call(&url, "ListUsers", pool()).await;
    assert_eq!(
        (limit.status, limit.error_type()),
        (400, Some("LimitExceededException"))
    );
    // Each rule hit its first matching call only.
    for name in ["user001", "user002", "user003"] {
        assert_eq!(call(&url, "AdminGetUser", user(name)).await.status, 200);
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.injected, summary.misses), (4, 0), "{summary}");
}

#[tokio::test]
async fn a_rule_limited_by_scope_and_match_faults_those_calls_only_counted_per_scope() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "limited");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    for scope in ["a", "b"] {
        let url = format!("{}/scope/{scope}", proxy.url());
        for name in ["user001", "user002"] {
            call(&url, "AdminGetUser", user(name)).await;
        }
    }
    proxy.stop().await.unwrap();

    let proxy = with_faults(
        Mode::Replay,
        &cassette,
        None,
        r#"
[[faults]]
operation = "AdminGetUser"
scope = "a"
match = { Username = "user002" }
every = 2
error = "TooManyRequestsException"
"#,
    )
    .await;
    let (a, b) = (
        format!("{}/scope/a", proxy.url()),
        format!("{}/scope/b", proxy.url()),
    );
    let throttled = err(400, "TooManyRequestsException");
    // Another scope, another user: never.
    assert_eq!(
        seen(&calls(&b, "AdminGetUser", user("user002"), 3).await),
        [ok(), ok(), ok()]
    );
    assert_eq!(
        seen(&calls(&a, "AdminGetUser", user("user001"), 3).await),
        [ok(), ok(), ok()]
    );
    // Scope a, user002: every second matching call.
    let hit = calls(&a, "AdminGetUser", user("user002"), 4).await;
    assert_eq!(
        seen(&hit),
        [ok(), throttled.clone(), ok(), throttled.clone()]
    );
    assert!(
        hit[1].body["message"]
            .as_str()
            .unwrap()
            .ends_with("(fault rule 1, call 2 of AdminGetUser in scope a)"),
        "{:?}",
        hit[1].body
    );
    let tally = get(&format!("{a}/summary")).await;
    assert_eq!(
        (&tally.body["injected"], &tally.body["hits"]),
        (&json!(2), &json!(5))
    );
    assert_eq!(
        get(&format!("{b}/summary")).await.body["injected"],
        json!(0)
    );
    // The scope's reset starts its count over (the rerun of a test sees the same faults).
    post(&format!("{a}/reset"), &[], "").await;
    assert_eq!(
        seen(&calls(&a, "AdminGetUser", user("user002"), 2).await),
        [ok(), throttled]
    );
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.injected, summary.misses), (3, 0), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probability_with_a_seed_faults_the_same_calls_on_every_run_and_as_many_at_once() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "probability");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    call(
        &format!("{}/scope/t", proxy.url()),
        "AdminGetUser",
        user("user001"),
    )
    .await;
    proxy.stop().await.unwrap();
    let rules = r#"
[[faults]]
operation = "AdminGetUser"
probability = 0.3
seed = 7
error = "TooManyRequestsException"
"#;
    // The calls (from 1) that were throttled; every other one was answered.
    let faulted = |answers: Vec<Answer>| -> Vec<usize> {
        let kinds = seen(&answers);
        assert!(kinds
            .iter()
            .all(|k| *k == ok() || *k == err(400, "TooManyRequestsException")));
        (1..=kinds.len())
            .filter(|&n| kinds[n - 1] != ok())
            .collect()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let proxy = with_faults(Mode::Replay, &cassette, None, rules).await;
        let url = format!("{}/scope/t", proxy.url());
        let mut run = vec![faulted(
            calls(&url, "AdminGetUser", user("user001"), 40).await,
        )];
        // A rerun of the test in the same proxy: the same calls again.
        post(&format!("{url}/reset"), &[], "").await;
        run.push(faulted(
            calls(&url, "AdminGetUser", user("user001"), 40).await,
        ));
        // 40 calls at once: which of them is the Nth depends on scheduling, how many are
        // faulted does not.
        post(&format!("{url}/reset"), &[], "").await;
        let at_once: Vec<_> = (0..40)
            .map(|_| {
                tokio::spawn({
                    let url = url.clone();
                    async move { call(&url, "AdminGetUser", user("user001")).await }
                })
            })
            .collect();
        let mut answers = Vec::new();
        for answer in at_once {
            answers.push(answer.await.unwrap());
        }
        let n = faulted(answers).len();
        assert_eq!(n, run[0].len());
        proxy.stop().await.unwrap();
        runs.push(run);
    }
    let first = &runs[0][0];
    assert!(!first.is_empty() && first.len() < 40, "{first:?}");
    assert_eq!(runs[0][1], *first, "a rerun after a reset");
    assert_eq!(runs[1], runs[0], "a second proxy run");
    // The schedule is the unit tests' (seed 7, rule 1, scope t): a known one.
    assert_eq!(first[..5], [6, 9, 10, 12, 15]);
}

#[tokio::test]
async fn a_delayed_call_whose_client_times_out_takes_no_occurrence_its_retry_gets_the_right_one() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "delay");
    let upstream = FakeCognito::start(2).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let url = proxy.url();
    let before = call(&url, "ListUsers", pool()).await;
    let created = call(&url, "AdminCreateUser", user("newcomer")).await;
    let after = call(&url, "ListUsers", pool()).await;
    proxy.stop().await.unwrap();
    assert_ne!(before.body, after.body, "two occurrences that differ");

    let proxy = with_faults(
        Mode::Replay,
        &cassette,
        None,
        "[[faults]]\noperation = \"ListUsers\"\nnth = 1\ndelay_ms = 600000\n",
    )
    .await;
    let url = proxy.url();
    // The first listing is held for ten minutes; the client gives up (an SDK read timeout)...
    let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
    conn.write_all(raw_request("ListUsers", "/", &pool()).as_bytes())
        .await
        .unwrap();
    until_injected(&url, 1).await;
    drop(conn);
    // ... and retries: the first listing, not the second.
    let retried = call(&url, "ListUsers", pool()).await;
    assert_eq!(retried.body, before.body);
    assert_eq!(
        call(&url, "AdminCreateUser", user("newcomer")).await.body,
        created.body
    );
    assert_eq!(call(&url, "ListUsers", pool()).await.body, after.body);
    // The held call is gone with its client: the stop does not wait for it.
    let summary = tokio::time::timeout(HANG_GUARD, proxy.stop())
        .await
        .expect("nothing in flight")
        .unwrap();
    assert_eq!(
        (summary.injected, summary.replayed, summary.misses),
        (1, 3, 0),
        "{summary}"
    );
    assert_eq!(summary.unused, Some(0), "{summary}");
}

#[tokio::test]
async fn close_ends_the_connection_without_an_answer_and_the_retry_is_answered() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "close");
    let upstream = FakeCognito::start(2).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let live = call(&proxy.url(), "AdminGetUser", user("user001")).await;
    proxy.stop().await.unwrap();

    let proxy = with_faults(
        Mode::Replay,
        &cassette,
        None,
        "[[faults]]\noperation = \"*\"\nnth = 1\nclose = true\n",
    )
    .await;
    let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
    conn.write_all(raw_request("AdminGetUser", "/", &user("user001")).as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(HANG_GUARD, conn.read_to_end(&mut answer))
        .await
        .expect("the proxy closed the connection")
        .unwrap();
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let retried = call(&proxy.url(), "AdminGetUser", user("user001")).await;
    assert_eq!((retried.status, &retried.body), (200, &live.body));
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.injected, summary.replayed), (1, 1), "{summary}");
}

#[tokio::test]
async fn in_auto_mode_a_faulted_call_is_not_forwarded_nor_recorded_its_retry_is() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "auto");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    call(&proxy.url(), "AdminGetUser", user("user001")).await;
    proxy.stop().await.unwrap();
    let ops = || upstream.state.ops.lock().unwrap().clone();
    assert_eq!(ops(), ["AdminGetUser"]);

    let proxy = with_faults(
        Mode::Auto,
        &cassette,
        Some(&upstream.url()),
        r#"
[[faults]]
operation = "AdminGetUser"
match = { Username = "user002" }
nth = 1
error = "InternalErrorException"
"#,
    )
    .await;
    let url = proxy.url();
    let faulted = call(&url, "AdminGetUser", user("user002")).await;
    assert_eq!(
        (faulted.status, faulted.error_type()),
        (500, Some("InternalErrorException"))
    );
    assert_eq!(
        ops(),
        ["AdminGetUser"],
        "the faulted call was not forwarded"
    );
    // The retry goes upstream and is recorded as occurrence 1.
    let retried = call(&url, "AdminGetUser", user("user002")).await;
    assert_eq!(retried.body["Username"], "user002");
    assert_eq!(ops(), ["AdminGetUser", "AdminGetUser"]);
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.injected, summary.recorded), (1, 1), "{summary}");
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    let user002: Vec<_> = held
        .iter()
        .filter(|i| i.request["Username"] == "user002")
        .map(|i| (i.occurrence, i.response.status))
        .collect();
    assert_eq!(user002, [(1, 200)]);
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(!text.contains("injected") && !text.contains("InternalErrorException"));
}

#[tokio::test]
async fn record_mode_ignores_fault_rules() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "record");
    let upstream = FakeCognito::start(3).await;
    let proxy = with_faults(
        Mode::Record,
        &cassette,
        Some(&upstream.url()),
        "[[faults]]\noperation = \"*\"\nevery = 1\nerror = \"TooManyRequestsException\"\n",
    )
    .await;
    let answers = calls(&proxy.url(), "AdminGetUser", user("user001"), 2).await;
    assert_eq!(seen(&answers), [ok(), ok()]);
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.injected, summary.recorded), (0, 2), "{summary}");
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn the_binary_warns_once_that_record_ignores_faults_and_refuses_an_invalid_rule_naming_it() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "cli");
    let rules = dir.path().join("faults.toml");
    std::fs::write(
        &rules,
        "[[faults]]\noperation = \"ListUsers\"\nnth = 1\nerror = \"TooManyRequestsException\"\n",
    )
    .unwrap();
    let upstream = FakeCognito::start(1).await;
    let (child, _) = crate::support::spawn_listening(
        vcr_command(&["serve", "--mode", "record", "--cassette", path(&cassette)])
            .args(["--upstream", &upstream.url(), "--config", path(&rules)])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped()),
    );
    crate::support::sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = "1 fault rule(s) of ";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    assert!(
        stderr.contains("ignored: record mode records the real thing"),
        "{stderr}"
    );

    std::fs::write(
        &rules,
        "[[faults]]\noperation = \"ListUsers\"\nnth = 1\nerror = \"TooManyRequestsException\"\n\n[[faults]]\noperation = \"AdminGetUser\"\nnth = 0\nclose = true\n",
    )
    .unwrap();
    let out = vcr_command(&["serve", "--mode", "replay", "--cassette", path(&cassette)])
        .args(["--config", path(&rules)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "config file {}: fault rule 2 (AdminGetUser): nth counts from 1",
            rules.display()
        )),
        "{stderr}"
    );
}

/// `retry_session.py PHASE` against the demo cassette replayed under `rules`: its JSON, and
/// the proxy's summary.
async fn boto3_phase(phase: &'static str, rules: &str) -> (Value, cognito_vcr::Summary) {
    let dir = workdir();
    let cassette = crate::support::demo_copy(&dir);
    let proxy = with_faults(Mode::Replay, &cassette, None, rules).await;
    let url = proxy.url();
    let out = tokio::task::spawn_blocking(move || {
        script(&interop("retry_session.py"), &[phase, &url, DEMO_POOL])
    })
    .await
    .unwrap();
    // A held call went with its client: the stop does not wait for it.
    let summary = tokio::time::timeout(HANG_GUARD, proxy.stop())
        .await
        .expect("nothing left in flight")
        .unwrap();
    assert_eq!((summary.misses, summary.failed), (0, 0), "{summary}");
    (serde_json::from_str(&out).unwrap(), summary)
}

/// boto3 with botocore's standard retry mode against the demo cassette under fault rules: a
/// throttled listing completes through retries; a client without retries sees the throttling;
/// a delay past the read timeout and a closed connection are retried and answered.
#[tokio::test(flavor = "multi_thread")]
async fn boto3_retries_injected_throttling_delays_and_closes_and_without_retries_sees_them() {
    let rule = |schedule: &str, fault: &str| {
        format!("[[faults]]\noperation = \"ListUsers\"\n{schedule}\n{fault}\n")
    };
    let throttle = "error = \"TooManyRequestsException\"";
    let (throttled, summary) = boto3_phase("throttled", &rule("every = 5", throttle)).await;
    assert_eq!(
        throttled,
        json!({"users": 150, "first": "user001", "last": "user150", "retries": summary.injected}),
        "{summary}"
    );
    // 22 pages: calls 5, 10, 15, 20 and 25 of 27 were throttled.
    assert_eq!((summary.injected, summary.replayed), (5, 22), "{summary}");

    let (no_retries, summary) = boto3_phase("no_retries", &rule("nth = 1", throttle)).await;
    assert_eq!(
        no_retries,
        json!({
            "code": "TooManyRequestsException",
            "status": 400,
            "message": "cognito-vcr injected fault: TooManyRequestsException (fault rule 1, call 1 of ListUsers)",
            "attempts": 1,
            "then": 7,
        })
    );
    assert_eq!((summary.injected, summary.replayed), (1, 1), "{summary}");

    let (slow, summary) = boto3_phase("slow", &rule("nth = 1", "delay_ms = 600000")).await;
    assert_eq!((&slow["users"], &slow["retries"]), (&json!(7), &json!(1)));
    assert!(
        slow["seconds"].as_f64().unwrap() >= 1.0,
        "the client waited for its read timeout: {slow}"
    );
    assert_eq!((summary.injected, summary.replayed), (1, 1), "{summary}");

    let (closed, summary) = boto3_phase("closed", &rule("nth = 1", "close = true")).await;
    assert_eq!(
        (&closed["users"], &closed["retries"]),
        (&json!(7), &json!(1))
    );
    assert_eq!((summary.injected, summary.replayed), (1, 1), "{summary}");
}
