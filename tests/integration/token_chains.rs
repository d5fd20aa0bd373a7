//! Token chains: synthetic tokens while recording, whole chains offline, clear errors for tokens
//! the cassette never handed out, byte-identical re-recordings.

use crate::support::{
    call, cassette_in, list_users_walk, usernames, workdir, Answer, FakeCognito, DEMO_POOL, POOL,
};
use cognito_vcr::SYNTHETIC_PREFIX;
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::{json, Value};

/// Follow a ListUsers chain to its end; the pages as the client saw them.
async fn chain(url: &str, first: Value) -> Vec<Answer> {
    let mut pages = Vec::new();
    let mut body = first;
    loop {
        let page = call(url, "ListUsers", body.clone()).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let token = page.body.get("PaginationToken").cloned();
        pages.push(page);
        match token {
            Some(t) => body["PaginationToken"] = t,
            None => return pages,
        }
    }
}

fn token(page: &Answer) -> Option<&str> {
    page.body.get("PaginationToken").and_then(Value::as_str)
}

async fn record(cassette: &std::path::Path, upstream: &FakeCognito) -> Proxy {
    crate::support::recording(cassette, &upstream.url()).await
}

#[tokio::test]
async fn short_and_empty_pages_replay_offline_and_no_real_token_is_kept() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let mut upstream = FakeCognito::start(40).await;
    // user001..user040 in pages of 6, filtered to "user01" (user010..user019): empty, short,
    // full, short, then empty pages; every page but the last carries a token.
    let first = json!({"UserPoolId": POOL, "Limit": 6, "Filter": "username ^= \"user01\""});
    let proxy = record(&cassette, &upstream).await;
    let live = chain(&proxy.url(), first.clone()).await;
    proxy.stop().await.unwrap();
    upstream.stop();

    let sizes: Vec<usize> = live
        .iter()
        .map(|p| p.body["Users"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [0, 3, 6, 1, 0, 0, 0]);
    for page in &live[..live.len() - 1] {
        assert!(
            !token(page).unwrap().starts_with(SYNTHETIC_PREFIX),
            "while recording, the client gets the upstream's own tokens (it may sign what it sends back)"
        );
    }
    let text = std::fs::read_to_string(&cassette).unwrap();
    for t in upstream_tokens(&text) {
        assert!(
            t.starts_with(SYNTHETIC_PREFIX),
            "real token {t} in the cassette"
        );
    }

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let replayed = chain(&proxy.url(), first).await;
    let summary = proxy.stop().await.unwrap();
    assert_eq!(
        replayed
            .iter()
            .map(Answer::body_without_token_values)
            .collect::<Vec<_>>(),
        live.iter()
            .map(Answer::body_without_token_values)
            .collect::<Vec<_>>()
    );
    for page in &replayed[..replayed.len() - 1] {
        assert!(
            token(page).unwrap().starts_with(SYNTHETIC_PREFIX),
            "replay hands out the cassette's tokens"
        );
    }
    assert_eq!((summary.misses, summary.unused), (0, Some(0)));
}

/// Every `PaginationToken` value in a cassette's text.
fn upstream_tokens(text: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(text).unwrap();
    let mut out = Vec::new();
    for i in v["interactions"].as_array().unwrap() {
        for side in [&i["request"]["body"], &i["response"]["body"]] {
            if let Some(t) = side.get("PaginationToken").and_then(Value::as_str) {
                out.push(t.to_owned());
            }
        }
    }
    assert!(!out.is_empty());
    out
}

#[tokio::test]
async fn re_recording_against_fresh_random_tokens_gives_the_same_bytes() {
    let dir = workdir();
    let mut texts = Vec::new();
    for run in 0..2 {
        let cassette = cassette_in(&dir, &format!("run{run}"));
        // The fake hands out a different real token on every call, in every run.
        let upstream = FakeCognito::start(25).await;
        let proxy = record(&cassette, &upstream).await;
        let url = proxy.url();
        chain(&url, json!({"UserPoolId": POOL, "Limit": 7})).await;
        call(
            &url,
            "AdminCreateUser",
            json!({"UserPoolId": POOL, "Username": "aaron"}),
        )
        .await;
        chain(&url, json!({"UserPoolId": POOL, "Limit": 7})).await;
        proxy.stop().await.unwrap();
        texts.push(std::fs::read_to_string(&cassette).unwrap());
    }
    assert_eq!(texts[0], texts[1]);
}

#[tokio::test]
async fn a_token_the_cassette_never_handed_out_is_an_invalid_parameter() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(10).await;
    let proxy = record(&cassette, &upstream).await;
    chain(&proxy.url(), json!({"UserPoolId": POOL, "Limit": 4})).await;
    proxy.stop().await.unwrap();

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let url = proxy.url();
    let foreign = call(
        &url,
        "ListUsers",
        json!({"UserPoolId": POOL, "Limit": 4, "PaginationToken": "abc123"}),
    )
    .await;
    assert_eq!(
        (foreign.status, foreign.error_type()),
        (400, Some("InvalidParameterException"))
    );
    assert!(foreign.body["message"]
        .as_str()
        .unwrap()
        .contains("not handed out by cassette"));
    let ours = format!("{SYNTHETIC_PREFIX}0123456789abcdef");
    let unknown = call(
        &url,
        "ListUsers",
        json!({"UserPoolId": POOL, "Limit": 4, "PaginationToken": ours}),
    )
    .await;
    assert_eq!(unknown.error_type(), Some("InvalidParameterException"));
    assert!(unknown.body["message"]
        .as_str()
        .unwrap()
        .contains("re-record the chain from its first page"));
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.misses, 2);
}

#[tokio::test]
async fn auto_continues_a_half_recorded_chain_only_while_the_real_token_is_known() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(10).await;
    let auto =
        || Proxy::start(ServeConfig::new(Mode::Auto, &cassette).with_upstream(upstream.url()));
    let first = json!({"UserPoolId": POOL, "Limit": 4});

    // Same run: page 1 recorded, then page 2 continues upstream with the real token.
    let proxy = auto().await.unwrap();
    let page1 = call(&proxy.url(), "ListUsers", first.clone()).await;
    let mut second = first.clone();
    second["PaginationToken"] = json!(token(&page1).unwrap());
    let page2 = call(&proxy.url(), "ListUsers", second.clone()).await;
    assert_eq!(page2.body["Users"][0]["Username"], "user005");
    proxy.stop().await.unwrap();

    // After a restart, a client following the chain gets pages 1 and 2 from the cassette (with
    // its synthetic tokens); page 3 cannot be fetched: the real token behind page 2's is gone.
    let proxy = auto().await.unwrap();
    let calls = upstream.calls();
    let replayed1 = call(&proxy.url(), "ListUsers", first.clone()).await;
    assert_eq!(
        replayed1.body_without_token_values(),
        page1.body_without_token_values()
    );
    let mut second = first.clone();
    second["PaginationToken"] = json!(token(&replayed1).unwrap());
    let replayed2 = call(&proxy.url(), "ListUsers", second).await;
    assert_eq!(
        replayed2.body_without_token_values(),
        page2.body_without_token_values()
    );
    let mut third = first.clone();
    third["PaginationToken"] = json!(token(&replayed2).unwrap());
    let page3 = call(&proxy.url(), "ListUsers", third).await;
    assert_eq!(page3.error_type(), Some("InvalidParameterException"));
    assert!(page3.body["message"]
        .as_str()
        .unwrap()
        .contains("re-record the chain from its first page"));
    assert_eq!(upstream.calls(), calls, "nothing forwarded");
    proxy.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_listing_replays_at_any_page_size_with_boto3_paginators() {
    let dir = workdir();
    let demo = crate::support::demo_copy(&dir);
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &demo))
        .await
        .unwrap();
    let url = proxy.url();
    let out = tokio::task::spawn_blocking(move || {
        crate::interop::script(
            &crate::interop::interop("repage_session.py"),
            &[&url, DEMO_POOL],
        )
    })
    .await
    .unwrap();
    let walked: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(walked["list_users"]["items"], 150);
    assert_eq!(walked["list_users"]["pages"]["10"], 15);
    assert_eq!(walked["list_users_in_group"]["pages"]["60"], 2);
    assert_eq!(walked["list_user_pools"]["pages"]["1"], 5);
    assert_eq!(walked["list_groups"]["pages"]["10"], 1);
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.misses, 0, "{summary}");

    // With --strict, or re-paging turned off, the same request is a miss.
    let ten = json!({"UserPoolId": DEMO_POOL, "Limit": 10});
    for (strict, repage) in [(true, true), (false, false)] {
        let mut config = ServeConfig::new(Mode::Replay, &demo);
        config.strict = strict;
        config.repage = repage;
        let proxy = Proxy::start(config).await.unwrap();
        let answer = call(&proxy.url(), "ListUsers", ten.clone()).await;
        assert_eq!(answer.status, 400, "strict {strict}, repage {repage}");
        assert_eq!(answer.body["__type"], "CognitoVcrReplayMissException");
        proxy.stop().await.unwrap();
    }
}

/// Usernames of a ListUsers walk by `limit`, or the status of the answer that ended it.
async fn walk_names(url: &str, limit: u64) -> Result<Vec<String>, u16> {
    let pages = list_users_walk(url, limit).await;
    match pages.last().map(|p| p.status) {
        Some(200) => Ok(pages.iter().flat_map(usernames).collect()),
        other => Err(other.unwrap_or_default()),
    }
}

#[tokio::test]
async fn repaging_follows_each_occurrences_own_listing_and_refuses_what_it_cannot_tell() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "repaged");
    let upstream = FakeCognito::start(4).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    // Scope `first`: list, create a user listed first, list (first pages differ).
    // Scope `last`: list, create a user listed last, list (the walks share their first page,
    // then part).
    let (first, last) = (
        format!("{}/scope/first", proxy.url()),
        format!("{}/scope/last", proxy.url()),
    );
    let before = walk_names(&first, 2).await.unwrap();
    let create = |name: &str| json!({"UserPoolId": POOL, "Username": name});
    assert_eq!(
        call(&first, "AdminCreateUser", create("aaa")).await.status,
        200
    );
    let after = walk_names(&first, 2).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    walk_names(&last, 2).await.unwrap();
    assert_eq!(
        call(&last, "AdminCreateUser", create("zzz")).await.status,
        200
    );
    walk_names(&last, 2).await.unwrap();
    proxy.stop().await.unwrap();

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let (first, last) = (
        format!("{}/scope/first", proxy.url()),
        format!("{}/scope/last", proxy.url()),
    );
    // Each occurrence re-paged from its own recorded walk.
    assert_eq!(walk_names(&first, 1).await, Ok(before.clone()));
    assert_eq!(
        call(&first, "AdminCreateUser", create("aaa")).await.status,
        200
    );
    assert_eq!(walk_names(&first, 3).await, Ok(after.clone()));
    // Walks that parted after a shared page: which one occurrence 1 got is unknown: a miss,
    // never the other walk's users.
    assert_eq!(walk_names(&last, 1).await, Err(400));

    // A token of one scope's re-paged chain continues nothing in another scope, nor in another
    // operation, nor at a page size past Cognito's largest (no overflow).
    let page = call(&first, "ListUsers", json!({"UserPoolId": POOL, "Limit": 1})).await;
    let token = page.body["PaginationToken"].as_str().unwrap().to_owned();
    let next = |limit: u64| json!({"UserPoolId": POOL, "Limit": limit, "PaginationToken": token});
    assert_eq!(call(&last, "ListUsers", next(1)).await.status, 400);
    let other_op = json!({"UserPoolId": POOL, "GroupName": "g", "Limit": 1, "NextToken": token});
    assert_eq!(call(&first, "ListUsersInGroup", other_op).await.status, 400);
    assert_eq!(call(&first, "ListUsers", next(u64::MAX)).await.status, 400);
    assert_eq!(call(&first, "ListUsers", next(61)).await.status, 400);
    let rest = call(&first, "ListUsers", next(60)).await;
    assert_eq!(rest.status, 200, "the proxy serves on: {:?}", rest.body);
    assert_eq!(
        rest.body["Users"].as_array().unwrap().len(),
        after.len() - 1
    );
}
