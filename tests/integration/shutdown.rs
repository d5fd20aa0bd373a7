//! Stopping a proxy: an exchange in flight finishes (and is recorded), idle keep-alive
//! connections are closed, and the stop returns.

use crate::support::{call, cassette_in, recording, workdir, POOL};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

/// Guards against a hang only (the drain timeout is 30 s); never used to order events.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// An upstream that tells when a request arrived and answers only once released.
async fn held_upstream() -> (String, mpsc::Receiver<()>, Arc<Notify>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = mpsc::channel(4);
    let release = Arc::new(Notify::new());
    let held = release.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (arrived, release) = (arrived_tx.clone(), held.clone());
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (arrived, release) = (arrived.clone(), release.clone());
                async move {
                    let _ = req.into_body().collect().await;
                    let released = release.notified();
                    arrived.send(()).await.unwrap();
                    released.await;
                    let mut answer =
                        hyper::Response::new(Full::new(Bytes::from_static(br#"{"Users":[]}"#)));
                    answer.headers_mut().insert(
                        "content-type",
                        "application/x-amz-json-1.1".parse().unwrap(),
                    );
                    Ok::<_, Infallible>(answer)
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (url, arrived, release)
}

#[tokio::test]
async fn an_exchange_in_flight_finishes_and_is_recorded_when_the_proxy_stops() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "in-flight");
    let (upstream, mut arrived, release) = held_upstream().await;
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
    let proxy = cognito_vcr::Proxy::start(cognito_vcr::ServeConfig::new(
        cognito_vcr::Mode::Replay,
        concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/demo.json"),
    ))
    .await
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    // One exchange, then the connection stays open (HTTP/1.1 keep-alive).
    let body = br#"{"UserPoolId":"us-east-1_Nope"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSCognitoIdentityProviderService.DescribeUserPool\r\ncontent-length: {}\r\n\r\n",
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
