//! The AWS SDK for Rust through the proxy: `into_paginator()` over ListUsers, recorded then
//! replayed offline.

use crate::support::{cassette_in, workdir, FakeCognito, POOL};
use aws_sdk_cognitoidentityprovider::config::{Credentials, Region};
use aws_sdk_cognitoidentityprovider::{Client, Config};
use cognito_vcr::{Mode, Proxy, ServeConfig};

fn client(endpoint: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "fakesecret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// All usernames, page by page, through the SDK's paginator.
async fn list_all(endpoint: &str) -> Vec<Vec<String>> {
    let mut pages = client(endpoint)
        .list_users()
        .user_pool_id(POOL)
        .limit(7)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page");
        out.push(
            page.users()
                .iter()
                .filter_map(|u| u.username().map(str::to_owned))
                .collect(),
        );
    }
    out
}

#[tokio::test]
async fn the_rust_sdk_paginator_replays_offline() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "sdk");
    let mut upstream = FakeCognito::start(30).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let live = list_all(&proxy.url()).await;
    proxy.stop().await.unwrap();
    upstream.stop();
    assert_eq!(
        live.iter().map(Vec::len).collect::<Vec<_>>(),
        [7, 7, 7, 7, 2]
    );

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let replayed = list_all(&proxy.url()).await;
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!((summary.replayed, summary.misses), (5, 0));
}

#[tokio::test]
async fn the_rust_sdk_paginator_replays_in_a_scope() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "sdk-scoped");
    let mut upstream = FakeCognito::start(16).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    // The SDK keeps the endpoint's path: the scope is chosen by the URL alone.
    let live = list_all(&format!("{}/scope/sdk_test", proxy.url())).await;
    proxy.stop().await.unwrap();
    upstream.stop();
    assert_eq!(live.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 2]);

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let scoped = format!("{}/scope/sdk_test", proxy.url());
    assert_eq!(list_all(&scoped).await, live);
    assert_eq!(list_all(&scoped).await, live, "and again");
    // The default scope holds nothing of it.
    let unscoped = client(&proxy.url())
        .list_users()
        .user_pool_id(POOL)
        .limit(7)
        .send()
        .await;
    assert!(unscoped.is_err());
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.replayed, summary.misses), (6, 1));
}
