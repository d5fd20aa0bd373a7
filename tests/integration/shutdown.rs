//! Stopping a proxy: an exchange in flight finishes (and is recorded), on a connection or in an
//! intercepted tunnel; idle keep-alive connections are closed, and the stop returns.

use crate::support::{call, cassette_in, recording, workdir, POOL};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Guards against a hang only (the drain timeout is 30 s); never used to order events.
const HANG_GUARD: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_exchange_in_flight_finishes_and_is_recorded_when_the_proxy_stops() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "in-flight");
    let (upstream, mut arrived, release) = crate::support::held_upstream(br#"{"Users":[]}"#).await;
    let proxy = recording(&cassette, &upstream).await;
    let url = proxy.url();
    let client =
        tokio::spawn(async move { call(&url, "ListUsers", json!({"UserPoolId": POOL})).await });
    arrived
        .recv()
        .await
        .expect("the request reached the upstream");

    let stopping = tokio::spawn(proxy.stop());
    // The stop waits for the exchange: release the upstream only now.
    release.notify_one();
    let answer = tokio::time::timeout(HANG_GUARD, client)
        .await
        .expect("the client is answered")
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"Users": []}));
    let summary = tokio::time::timeout(HANG_GUARD, stopping)
        .await
        .expect("the stop returns")
        .unwrap()
        .unwrap();
    assert_eq!(summary.recorded, 1);
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(text.contains("\"ListUsers\""), "{text}");
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_when_the_proxy_stops() {
    let dir = crate::support::workdir();
    let proxy = cognito_vcr::Proxy::start(cognito_vcr::ServeConfig::new(
        cognito_vcr::Mode::Replay,
        crate::support::demo_copy(&dir),
    ))
    .await
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    // One exchange, then the connection stays open (HTTP/1.1 keep-alive).
    let body = br#"{"UserPoolId":"us-east-1_Nope"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: AWSCognitoIdentityProviderService.DescribeUserPool\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the proxy closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 "),
        "{}",
        String::from_utf8_lossy(&seen)
    );

    tokio::time::timeout(HANG_GUARD, proxy.stop())
        .await
        .expect("the stop does not wait for idle connections")
        .unwrap();
    // The proxy closed the idle connection: reading reaches the end (after any rest of the answer).
    let closed = tokio::time::timeout(HANG_GUARD, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection was left open");
}

#[tokio::test]
async fn an_exchange_in_flight_in_an_intercepted_tunnel_finishes_and_is_recorded() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "tunnel");
    let state = dir.path().join("state");
    let (upstream, mut arrived, release) = crate::support::held_upstream(br#"{"Users":[]}"#).await;
    let mut config = cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Record, &cassette);
    config.intercept = Some(cognito_vcr::InterceptConfig {
        ca_dir: state.clone(),
        allow: vec![],
        upstream: Some(upstream),
    });
    let proxy = cognito_vcr::Proxy::start(config).await.unwrap();

    // HTTPS_PROXY as an SDK does it: CONNECT, then TLS to the Cognito host inside the tunnel.
    let host = "cognito-idp.us-east-1.amazonaws.com";
    let mut tunnel = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    let connect = format!("CONNECT {host}:443 HTTP/1.1\r\nhost: {host}:443\r\n\r\n");
    tunnel.write_all(connect.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tunnel.read(&mut buf).await.unwrap();
        assert!(n > 0, "the proxy closed the CONNECT");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let tls = cognito_vcr::tls::client_config(Some(&state.join("ca.pem"))).unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(host.try_into().unwrap(), tunnel)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::post("/")
        .header("host", host)
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ListUsers",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(
            json!({"UserPoolId": POOL}).to_string(),
        )))
        .unwrap();
    let client = tokio::spawn(async move {
        let answer = sender.send_request(request).await.unwrap();
        let status = answer.status().as_u16();
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    });
    arrived
        .recv()
        .await
        .expect("the request reached the upstream");

    let stopping = tokio::spawn(proxy.stop());
    // The stop waits for the exchange in the tunnel: release the upstream only now.
    release.notify_one();
    let (status, body) = tokio::time::timeout(HANG_GUARD, client)
        .await
        .expect("the client is answered")
        .unwrap();
    assert_eq!((status, &body[..]), (200, &br#"{"Users":[]}"#[..]));
    let summary = tokio::time::timeout(HANG_GUARD, stopping)
        .await
        .expect("the stop returns")
        .unwrap()
        .unwrap();
    assert_eq!(summary.recorded, 1);
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(text.contains("\"ListUsers\""), "{text}");
}
