//! Replay that survives a real test suite: scopes chosen by the endpoint path, any order, any
//! repetition, many clients at once, repeated and resumed listings sharing their pages.

use crate::support::{
    call, cassette_in, get, list_users_walk, post, recording, usernames, workdir, Answer,
    FakeCognito, POOL,
};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::{json, Value};

/// Walk a ListUsers listing by `limit`: every page's body (token values masked) and the users.
async fn walk(url: &str, limit: u64) -> (Vec<Value>, Vec<String>) {
    let (mut pages, mut users) = (Vec::new(), Vec::new());
    for page in list_users_walk(url, limit).await {
        assert_eq!(page.status, 200, "{:?}", page.body);
        users.extend(usernames(&page));
        pages.push(page.body_without_token_values());
    }
    (pages, users)
}

/// A test that changes state: list, create, list, delete, list (what each step answered).
async fn list_create_list_delete_list(url: &str, user: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let body = json!({"UserPoolId": POOL, "Username": user});
    seen.push(json!(walk(url, 2).await.1));
    seen.push(call(url, "AdminCreateUser", body.clone()).await.body);
    seen.push(json!(walk(url, 2).await.1));
    seen.push(call(url, "AdminDeleteUser", body).await.body);
    seen.push(json!(walk(url, 2).await.1));
    seen
}

async fn reset(url: &str) -> Answer {
    post(&format!("{url}/reset"), &[], "").await
}

#[tokio::test]
async fn scopes_replay_their_own_sequences_at_once_and_again_after_a_reset() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "scoped");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let base = proxy.url();
    let live_a = list_create_list_delete_list(&format!("{base}/scope/test_a"), "newcomer-a").await;
    let live_b = list_create_list_delete_list(&format!("{base}/scope/test_b"), "newcomer-b").await;
    assert_ne!(live_a[2], live_a[0], "the listing changed in between");
    proxy.stop().await.unwrap();
    // The scope path is the proxy's own: the upstream saw `/` only.
    assert!(upstream
        .state
        .paths
        .lock()
        .unwrap()
        .iter()
        .all(|p| p == "/"));

    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(text.contains("\"scope\": \"test_a\"") && text.contains("\"scope\": \"test_b\""));
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    let base = proxy.url();
    // Both scopes at once, each twice (its counters reset between runs, as a retried test's).
    let run = |scope: &'static str, user: &'static str| {
        let url = format!("{base}/scope/{scope}");
        tokio::spawn(async move {
            let mut runs = Vec::new();
            for _ in 0..2 {
                runs.push(list_create_list_delete_list(&url, user).await);
                let done = reset(&url).await;
                assert_eq!((done.status, &done.body["reset"]), (200, &json!(true)));
            }
            runs
        })
    };
    let (a, b) = (run("test_a", "newcomer-a"), run("test_b", "newcomer-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a, [live_a.clone(), live_a]);
    assert_eq!(b, [live_b.clone(), live_b]);
    let run_so_far = get(&format!("{base}/summary")).await;
    assert_eq!(run_so_far.body["misses"], json!(0), "{:?}", run_so_far.body);
    assert_eq!(run_so_far.body["unused"], json!(0), "{:?}", run_so_far.body);
    assert_eq!(
        run_so_far.body["cassette"],
        json!(cassette.display().to_string())
    );

    // What a test runner asks after each test: the scope's outcomes since its reset, with why
    // each miss missed; the other scope's and the run's summaries say the same.
    let url_a = format!("{base}/scope/test_a");
    walk(&url_a, 2).await;
    let nobody = json!({"UserPoolId": POOL, "Username": "never-recorded"});
    assert_eq!(call(&url_a, "AdminGetUser", nobody).await.status, 400);
    let tally = get(&format!("{url_a}/summary")).await;
    assert_eq!(tally.status, 200);
    assert_eq!(tally.body["scope"], json!("test_a"));
    assert_eq!(tally.body["misses"], json!(1), "{:?}", tally.body);
    assert!(
        tally.body["hits"].as_u64().unwrap() >= 2,
        "{:?}",
        tally.body
    );
    let why = tally.body["miss_messages"][0].as_str().unwrap();
    assert!(
        why.contains("AdminGetUser") && why.contains("never-recorded"),
        "{why}"
    );
    let other = get(&format!("{base}/scope/test_b/summary")).await;
    assert_eq!(other.body["misses"], json!(0), "{:?}", other.body);
    assert_eq!(
        get(&format!("{base}/summary")).await.body["misses"],
        json!(1)
    );
    reset(&url_a).await;
    let tally = get(&format!("{url_a}/summary")).await;
    assert_eq!(
        (&tally.body["hits"], &tally.body["misses"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(tally.body["miss_messages"], json!([]));
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.unused), (1, Some(0)));
}

#[tokio::test]
async fn a_scope_recorded_again_replaces_that_scope_only() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "rerecorded");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let user = |name: &str| json!({"UserPoolId": POOL, "Username": name});
    call(
        &format!("{}/scope/one", proxy.url()),
        "AdminGetUser",
        user("user001"),
    )
    .await;
    call(
        &format!("{}/scope/two", proxy.url()),
        "AdminGetUser",
        user("user002"),
    )
    .await;
    call(&proxy.url(), "AdminGetUser", user("user003")).await;
    proxy.stop().await.unwrap();

    // Only scope `one` is recorded again, with another call.
    let proxy = recording(&cassette, &upstream.url()).await;
    call(
        &format!("{}/scope/one", proxy.url()),
        "AdminGetUser",
        user("nobody"),
    )
    .await;
    proxy.stop().await.unwrap();

    let interactions = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    let mut held: Vec<(Option<&str>, &str)> = interactions
        .iter()
        .map(|i| (i.scope.name(), i.request["Username"].as_str().unwrap()))
        .collect();
    held.sort();
    assert_eq!(
        held,
        [
            (None, "user003"),
            (Some("one"), "nobody"),
            (Some("two"), "user002")
        ]
    );
}

#[tokio::test]
async fn a_path_that_names_no_scope_is_a_cognito_shaped_400() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    for path in ["/scope/", "/scope/a%20b", "/scope/a:b", "/scope/ok/other"] {
        let answer = call(&format!("{}{path}", proxy.url()), "ListUsers", json!({})).await;
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(
            answer.error_type(),
            Some("CognitoVcrInvalidScopeException"),
            "{path}"
        );
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.rejected, summary.recorded), (4, 0));
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn repeated_and_resumed_listings_share_their_pages_and_replay_any_number_of_times() {
    let dir = workdir();
    let upstream = FakeCognito::start(5).await;
    // Recorded twice into two cassettes: the same bytes (the upstream's tokens differ on every
    // call; the cassette's do not).
    let mut texts = Vec::new();
    let mut live = None;
    for name in ["first", "second"] {
        let cassette = cassette_in(&dir, name);
        let proxy = recording(&cassette, &upstream.url()).await;
        let url = proxy.url();
        let full = walk(&url, 2).await;
        assert_eq!(walk(&url, 2).await, full, "a second walk");
        // A resume (botocore's MaxItems/StartingToken): the first page, then page 2 twice.
        let first = call(&url, "ListUsers", json!({"UserPoolId": POOL, "Limit": 2})).await;
        let token = first.body["PaginationToken"].as_str().unwrap().to_owned();
        let next = json!({"UserPoolId": POOL, "Limit": 2, "PaginationToken": token});
        let again = call(&url, "ListUsers", next.clone()).await;
        assert_eq!(call(&url, "ListUsers", next).await.status, again.status);
        proxy.stop().await.unwrap();
        texts.push(std::fs::read(&cassette).unwrap());
        live = Some(full);
    }
    assert_eq!(texts[0], texts[1], "re-recording gives the same bytes");
    let cassette = cassette_in(&dir, "first");
    let interactions = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(interactions.len(), 3, "each of the 3 pages once");
    let live = live.unwrap();
    assert_eq!(
        live.1,
        ["user001", "user002", "user003", "user004", "user005"]
    );

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(walk(&proxy.url(), 2).await, live);
    }
    let walkers: Vec<_> = (0..8)
        .map(|_| {
            let url = proxy.url();
            tokio::spawn(async move { walk(&url, 2).await })
        })
        .collect();
    for w in walkers {
        assert_eq!(w.await.unwrap(), live);
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.unused), (0, Some(0)));
}

#[tokio::test]
async fn auto_serves_a_request_recorded_many_times_alike_as_often_as_asked() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "auto");
    let mut upstream = FakeCognito::start(3).await;
    let body = json!({"UserPoolId": POOL, "Username": "user001"});
    let proxy = recording(&cassette, &upstream.url()).await;
    for _ in 0..3 {
        call(&proxy.url(), "AdminGetUser", body.clone()).await;
    }
    proxy.stop().await.unwrap();
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(held.len(), 1, "three alike, kept once");
    let url = upstream.url();
    upstream.stop();

    // The upstream is gone: auto answers all three from the cassette, forwarding nothing.
    let proxy = Proxy::start(ServeConfig::new(Mode::Auto, &cassette).with_upstream(url))
        .await
        .unwrap();
    for _ in 0..3 {
        let answer = call(&proxy.url(), "AdminGetUser", body.clone()).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.replayed, summary.failed), (3, 0), "{summary}");
}

#[tokio::test]
async fn an_upstream_that_is_down_does_not_empty_a_scope_being_recorded_again() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "kept");
    let mut upstream = FakeCognito::start(3).await;
    let body = json!({"UserPoolId": POOL, "Username": "user001"});
    let proxy = recording(&cassette, &upstream.url()).await;
    call(
        &format!("{}/scope/t", proxy.url()),
        "AdminGetUser",
        body.clone(),
    )
    .await;
    proxy.stop().await.unwrap();
    let url = upstream.url();
    upstream.stop();

    let proxy = recording(&cassette, &url).await;
    let failed = call(&format!("{}/scope/t", proxy.url()), "AdminGetUser", body).await;
    assert_eq!(failed.status, 502);
    proxy.stop().await.unwrap();
    let held = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(held.len(), 1, "scope t still holds its recording");
    assert_eq!(held[0].scope.name(), Some("t"));
}

#[tokio::test]
async fn a_miss_says_why_with_the_closest_recorded_request() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "why");
    let upstream = FakeCognito::start(3).await;
    let proxy = recording(&cassette, &upstream.url()).await;
    let alpha = format!("{}/scope/alpha", proxy.url());
    let filtered = |prefix: &str| json!({"UserPoolId": POOL, "Filter": format!("username ^= \"{prefix}\""), "Limit": 5});
    let listing = json!({"UserPoolId": POOL, "Limit": 50});
    let newcomer = json!({"UserPoolId": POOL, "Username": "newcomer"});
    assert_eq!(call(&alpha, "ListUsers", filtered("a")).await.status, 200);
    assert_eq!(call(&alpha, "ListUsers", listing.clone()).await.status, 200);
    assert_eq!(call(&alpha, "AdminCreateUser", newcomer).await.status, 200);
    assert_eq!(call(&alpha, "ListUsers", listing.clone()).await.status, 200);
    proxy.stop().await.unwrap();

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    let (alpha, beta) = (
        format!("{}/scope/alpha", proxy.url()),
        format!("{}/scope/beta", proxy.url()),
    );
    let message = |a: Answer| {
        assert_eq!(a.status, 400, "{:?}", a.body);
        assert_eq!(a.body["__type"], json!("CognitoVcrReplayMissException"));
        a.body["message"].as_str().unwrap().to_owned()
    };
    // Never recorded: the closest recorded request of the operation, field by field.
    let why = message(call(&alpha, "ListUsers", filtered("b")).await);
    assert!(
        why.contains(r#"Filter: "username ^= \"a\"" recorded, "username ^= \"b\"" sent"#),
        "{why}"
    );
    // Recorded, but in another scope.
    let why = message(call(&beta, "ListUsers", filtered("a")).await);
    assert!(
        why.contains("never recorded in scope beta, but it is recorded in scope alpha"),
        "{why}"
    );
    // An operation the scope never recorded.
    let why = message(call(&beta, "AdminGetUser", json!({"UserPoolId": POOL})).await);
    assert!(
        why.contains("the cassette holds no AdminGetUser at all"),
        "{why}"
    );
    // Recorded twice with answers that differ; a third call under --strict.
    for _ in 0..2 {
        assert_eq!(call(&alpha, "ListUsers", listing.clone()).await.status, 200);
    }
    let why = message(call(&alpha, "ListUsers", listing).await);
    assert!(
        why.contains(
            "recorded 2 time(s) in scope alpha with answers that differ, and this is call 3"
        ),
        "{why}"
    );
    // The scope's summary holds the same text as the error.
    let tally = get(&format!("{alpha}/summary")).await;
    assert_eq!(tally.body["misses"], json!(2), "{:?}", tally.body);
    assert_eq!(tally.body["miss_messages"][1], json!(why));
}

#[tokio::test]
async fn a_record_run_that_records_nothing_leaves_an_empty_cassette_that_replays_as_misses() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "nothing");
    let upstream = FakeCognito::start(1).await;
    let summary = recording(&cassette, &upstream.url())
        .await
        .stop()
        .await
        .unwrap();
    assert_eq!(summary.exported, Some(0), "{summary}");
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let answer = call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(answer.status, 400);
    let why = answer.body["message"].as_str().unwrap();
    assert!(
        why.contains("the cassette holds no ListUsers at all"),
        "{why}"
    );
}

#[tokio::test]
async fn auto_does_not_forward_a_placeholder_the_cassette_handed_out() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "placeholders");
    let recorded_token = "cognito-vcr-placeholder-AccessToken-0123abcd";
    let text = json!({"version": 2, "interactions": [{
        "occurrence": 1, "operation": "GetUser",
        "request": {"body": {"AccessToken": recorded_token}},
        "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.1"},
                     "body": {"Username": "carol", "UserAttributes": []}}
    }]});
    std::fs::write(&cassette, text.to_string()).unwrap();
    let upstream = FakeCognito::start(1).await;
    let proxy = Proxy::start(ServeConfig::new(Mode::Auto, &cassette).with_upstream(upstream.url()))
        .await
        .unwrap();
    let recorded = call(
        &proxy.url(),
        "GetUser",
        json!({"AccessToken": recorded_token}),
    )
    .await;
    assert_eq!(
        (recorded.status, &recorded.body["Username"]),
        (200, &json!("carol"))
    );
    let calls = upstream.calls();
    let other = "cognito-vcr-placeholder-AccessToken-ffff0000";
    let answer = call(&proxy.url(), "GetUser", json!({"AccessToken": other})).await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.body["__type"], "CognitoVcrReplayMissException");
    let why = answer.body["message"].as_str().unwrap();
    assert!(
        why.contains("sends back as AccessToken a placeholder the cassette handed out"),
        "{why}"
    );
    assert!(!why.contains(other), "the token is not echoed: {why}");
    assert_eq!(upstream.calls(), calls, "nothing forwarded");
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.recorded, summary.misses), (0, 1), "{summary}");
}
