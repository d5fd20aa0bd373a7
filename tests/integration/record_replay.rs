//! Record against the fake upstream, stop it, replay offline: what clients see is the same.

use crate::support::{
    call, cassette_in, list_users_walk, post, usernames, workdir, Answer, FakeCognito, POOL,
};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::{json, Value};

/// List, create, list again, a whole paged chain, an error: the session of the issue.
async fn session(url: &str) -> Vec<Answer> {
    let mut answers = vec![
        call(url, "ListUsers", json!({"UserPoolId": POOL, "Limit": 5})).await,
        call(
            url,
            "AdminCreateUser",
            json!({"UserPoolId": POOL, "Username": "aaron"}),
        )
        .await,
        call(url, "ListUsers", json!({"UserPoolId": POOL, "Limit": 5})).await,
        call(
            url,
            "AdminGetUser",
            json!({"UserPoolId": POOL, "Username": "nobody"}),
        )
        .await,
    ];
    // The whole chain, 7 per page, following the tokens the answers carry.
    answers.extend(list_users_walk(url, 7).await);
    answers
}

#[tokio::test]
async fn a_recorded_session_replays_offline_with_the_same_answers() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "session");
    let mut upstream = FakeCognito::start(30).await;

    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let live = session(&proxy.url()).await;
    let summary = proxy.stop().await.unwrap();
    let calls_while_recording = upstream.calls();
    upstream.stop();

    // What the live session saw: the second listing differs from the first, the error is an error.
    assert_eq!(usernames(&live[0])[0], "user001");
    assert_eq!(usernames(&live[2])[0], "aaron");
    assert_eq!(live[3].status, 400);
    assert_eq!(live[3].error_type(), Some("UserNotFoundException"));
    let chain = &live[4..];
    assert_eq!(chain.len(), 5, "31 users in pages of 7");
    assert_eq!(chain.iter().map(|p| usernames(p).len()).sum::<usize>(), 31);
    assert_eq!(summary.recorded, live.len() as u64);
    assert_eq!(calls_while_recording, live.len() as u64);
    assert_eq!(summary.exported, Some(live.len()));

    // Offline: the upstream is gone; replay answers everything from the cassette.
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let replayed = session(&proxy.url()).await;
    let summary = proxy.stop().await.unwrap();
    assert_eq!(replayed.len(), live.len());
    for (r, l) in replayed.iter().zip(&live) {
        assert_eq!(
            (r.status, r.body_without_token_values()),
            (l.status, l.body_without_token_values())
        );
        assert_eq!(r.headers.get("content-type"), l.headers.get("content-type"));
        assert_eq!(
            r.headers.get("x-amzn-errortype"),
            l.headers.get("x-amzn-errortype")
        );
    }
    assert_eq!(
        (summary.replayed, summary.misses, summary.unused),
        (live.len() as u64, 0, Some(0))
    );
    assert_eq!(
        upstream.calls(),
        calls_while_recording,
        "replay never reached the upstream"
    );
}

#[tokio::test]
async fn the_cassette_is_reviewable_and_holds_no_volatile_headers() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let url = proxy.url();
    let answer = call(
        &url,
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "user002"}),
    )
    .await;
    // The client gets the upstream's answer, less hop-by-hop headers.
    assert!(answer
        .headers
        .get("connection")
        .is_none_or(|v| v != "close"));
    assert!(answer.headers.get("x-amzn-requestid").is_some());
    call(
        &url,
        "AdminGetUser",
        json!({"Username": "nobody", "UserPoolId": POOL}),
    )
    .await;
    proxy.stop().await.unwrap();

    let text = std::fs::read_to_string(&cassette).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 2);
    let first = &v["interactions"][0];
    assert_eq!(first["operation"], "AdminGetUser");
    assert_eq!(first["occurrence"], 1);
    assert_eq!(
        first["request"]["body"],
        json!({"UserPoolId": POOL, "Username": "nobody"})
    );
    assert_eq!(first["response"]["status"], 400);
    assert_eq!(
        first["response"]["headers"]["x-amzn-errortype"],
        "UserNotFoundException"
    );
    for banned in [
        "x-amzn-requestid",
        "connection",
        "content-length",
        "authorization",
        "x-amz-date",
        "req-",
    ] {
        assert!(
            !text.to_ascii_lowercase().contains(banned),
            "{banned} in {text}"
        );
    }
    for i in v["interactions"].as_array().unwrap() {
        let names: Vec<&String> = i["response"]["headers"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert!(
            names
                .iter()
                .all(|n| ["content-type", "x-amzn-errortype"].contains(&n.as_str())),
            "{names:?}"
        );
    }
    assert!(
        text.contains("\"UserCreateDate\": 1.682955829578E9"),
        "number text kept: {text}"
    );
    assert!(
        text.starts_with("{\n  \"interactions\": [\n"),
        "pretty, keys sorted: {text}"
    );
}

#[tokio::test]
async fn recording_the_same_session_twice_gives_the_same_bytes() {
    let dir = workdir();
    let mut texts = Vec::new();
    for run in 0..2 {
        let cassette = cassette_in(&dir, &format!("run{run}"));
        let upstream = FakeCognito::start(10).await;
        let proxy = crate::support::recording(&cassette, &upstream.url()).await;
        let url = proxy.url();
        // Concurrent calls: arrival order differs between runs, the cassette must not.
        let calls: Vec<_> = (1..=10)
            .map(|i| {
                let url = url.clone();
                tokio::spawn(async move {
                    call(
                        &url,
                        "AdminGetUser",
                        json!({"UserPoolId": POOL, "Username": format!("user{i:03}")}),
                    )
                    .await
                })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap().status, 200);
        }
        call(&url, "ListUsers", json!({"UserPoolId": POOL})).await;
        proxy.stop().await.unwrap();
        texts.push(std::fs::read(&cassette).unwrap());
    }
    assert_eq!(texts[0], texts[1]);
}

#[tokio::test]
async fn a_miss_is_a_cognito_shaped_error_that_sdks_do_not_retry() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    proxy.stop().await.unwrap();

    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let miss = call(
        &proxy.url(),
        "ListUsers",
        json!({"UserPoolId": "us-east-1_Other"}),
    )
    .await;
    assert_eq!(miss.status, 400);
    assert_eq!(miss.error_type(), Some("CognitoVcrReplayMissException"));
    assert_eq!(
        miss.headers["x-amzn-errortype"],
        "CognitoVcrReplayMissException"
    );
    let message = miss.body["message"].as_str().unwrap();
    assert!(message.contains("ListUsers occurrence 1"), "{message}");
    assert!(message.contains("us-east-1_Other"), "{message}");
    // Past the last recorded occurrence, replay repeats the last one.
    for _ in 0..2 {
        let again = call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
        assert_eq!(again.status, 200);
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!(
        (summary.misses, summary.replayed, summary.unused),
        (1, 2, Some(0))
    );
    assert!(!summary.is_failure());

    // --strict: a request whose recorded answers are all the same is served any number of
    // times (nothing can come out of order)...
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    for _ in 0..2 {
        let again = call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
        assert_eq!(again.status, 200);
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.unused), (0, Some(0)));
    assert!(!summary.is_failure());

    // ... but past the last of answers that differ (a listing before and after a create), the
    // repeat is a miss, and the run fails.
    let changing = cassette_in(&dir, "changing");
    let proxy = crate::support::recording(&changing, &upstream.url()).await;
    call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    let created = json!({"UserPoolId": POOL, "Username": "newcomer"});
    call(&proxy.url(), "AdminCreateUser", created).await;
    call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    proxy.stop().await.unwrap();
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &changing).strict(true))
        .await
        .unwrap();
    let url = proxy.url();
    let first = call(&url, "ListUsers", json!({"UserPoolId": POOL})).await;
    let second = call(&url, "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_ne!(first.body, second.body);
    let third = call(&url, "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(third.error_type(), Some("CognitoVcrReplayMissException"));
    assert!(third.body["message"]
        .as_str()
        .unwrap()
        .contains("occurrence 3"));
    let summary = proxy.stop().await.unwrap();
    assert!(summary.is_failure());

    // --strict with a recorded interaction never replayed also fails.
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette).strict(true))
        .await
        .unwrap();
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.unused, Some(1));
    assert!(summary.is_failure());
}

#[tokio::test]
async fn bad_input_gets_cognito_shaped_errors() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(upstream.url());
    config.max_body = 1000;
    let proxy = Proxy::start(config).await.unwrap();
    let url = proxy.url();
    let json_ct = ("content-type", "application/x-amz-json-1.1");

    let no_target = post(&url, &[json_ct], "{}").await;
    assert_eq!(
        (no_target.status, no_target.error_type()),
        (400, Some("UnknownOperationException"))
    );
    let foreign = post(
        &url,
        &[json_ct, ("x-amz-target", "DynamoDB_20120810.GetItem")],
        "{}",
    )
    .await;
    assert_eq!(
        (foreign.status, foreign.error_type()),
        (400, Some("UnknownOperationException"))
    );
    assert_eq!(
        foreign.headers["x-amzn-errortype"],
        "UnknownOperationException"
    );
    let target = (
        "x-amz-target",
        "AWSCognitoIdentityProviderService.ListUsers",
    );
    let not_json = post(&url, &[json_ct, target], "{nope").await;
    assert_eq!(
        (not_json.status, not_json.error_type()),
        (400, Some("SerializationException"))
    );
    let big = post(
        &url,
        &[json_ct, target],
        format!("{{\"Filter\":\"{}\"}}", "x".repeat(2000)),
    )
    .await;
    assert_eq!(
        (big.status, big.error_type()),
        (413, Some("RequestEntityTooLargeException"))
    );

    // None of that reached the upstream or the cassette; a good call still works.
    assert_eq!(upstream.calls(), 0);
    assert_eq!(
        call(&url, "ListUsers", json!({"UserPoolId": POOL}))
            .await
            .status,
        200
    );
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.rejected, summary.recorded), (4, 1));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_with_the_cause() {
    let dir = workdir();
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = Proxy::start(
        ServeConfig::new(Mode::Record, cassette_in(&dir, "c"))
            .with_upstream(format!("http://127.0.0.1:{port}")),
    )
    .await
    .unwrap();
    let answer = call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.error_type(),
        Some("CognitoVcrUpstreamUnavailableException")
    );
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains(&port.to_string()));
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.failed, summary.recorded), (1, 0));
}

#[tokio::test]
async fn server_errors_pass_through_unrecorded_and_the_retry_takes_their_place() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let url = proxy.url();
    upstream
        .state
        .fail_next
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let body = json!({"UserPoolId": POOL});
    assert_eq!(
        call(&url, "GetUserPoolMfaConfig", body.clone())
            .await
            .status,
        500
    );
    assert_eq!(
        call(&url, "GetUserPoolMfaConfig", body.clone())
            .await
            .status,
        200
    );
    let throttled = call(&url, "TooMany", body.clone()).await;
    assert_eq!(throttled.error_type(), Some("TooManyRequestsException"));
    proxy.stop().await.unwrap();

    let interactions = cognito_vcr::cassette::load(&cassette).unwrap().unwrap();
    assert_eq!(interactions.len(), 1);
    assert_eq!(
        (interactions[0].occurrence, interactions[0].response.status),
        (1, 200)
    );
}

#[tokio::test]
async fn auto_replays_what_is_recorded_and_records_the_rest() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let first = json!({"UserPoolId": POOL, "Username": "user001"});
    let second = json!({"UserPoolId": POOL, "Username": "user002"});
    let proxy = Proxy::start(ServeConfig::new(Mode::Auto, &cassette).with_upstream(upstream.url()))
        .await
        .unwrap();
    call(&proxy.url(), "AdminGetUser", first.clone()).await;
    proxy.stop().await.unwrap();
    assert_eq!(upstream.calls(), 1);

    let proxy = Proxy::start(ServeConfig::new(Mode::Auto, &cassette).with_upstream(upstream.url()))
        .await
        .unwrap();
    assert_eq!(call(&proxy.url(), "AdminGetUser", first).await.status, 200);
    assert_eq!(upstream.calls(), 1, "recorded: answered from the cassette");
    assert_eq!(call(&proxy.url(), "AdminGetUser", second).await.status, 200);
    assert_eq!(upstream.calls(), 2, "not recorded: forwarded");
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.replayed, summary.recorded), (1, 1));
    assert_eq!(
        cognito_vcr::cassette::load(&cassette)
            .unwrap()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn passthrough_forwards_and_stores_nothing() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy =
        Proxy::start(ServeConfig::new(Mode::Passthrough, &cassette).with_upstream(upstream.url()))
            .await
            .unwrap();
    let a = call(&proxy.url(), "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(a.body["Users"].as_array().unwrap().len(), 3);
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.forwarded, 1);
    assert!(!cassette.exists());
    assert!(!dir.path().join(".cognito-vcr").exists());
}

#[tokio::test]
async fn replay_without_a_cassette_is_a_clear_error() {
    let dir = workdir();
    let err = Proxy::start(ServeConfig::new(Mode::Replay, cassette_in(&dir, "none")))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

/// Web pages cannot drive the proxy (DNS rebinding): a request naming another host, in `Host`
/// or in the absolute URI, or carrying an `Origin`, is refused before anything is forwarded.
#[tokio::test]
async fn requests_from_web_pages_and_for_other_hosts_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let body = r#"{"UserPoolId":"us-east-1_Fake","Username":"user001"}"#;
    let request = |line: &str, headers: &str| {
        format!(
            "{line}\r\n{headers}x-amz-target: AWSCognitoIdentityProviderService.AdminGetUser\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let port = proxy.addr().port();
    for (what, raw) in [
        (
            "a rebound host name",
            request("POST / HTTP/1.1", &format!("host: evil.example:{port}\r\n")),
        ),
        (
            "an absolute URI",
            request("POST http://evil.example/ HTTP/1.1", "host: 127.0.0.1\r\n"),
        ),
        (
            "a web page",
            request(
                "POST / HTTP/1.1",
                &format!("host: 127.0.0.1:{port}\r\norigin: https://evil.example\r\n"),
            ),
        ),
    ] {
        let mut conn = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
        conn.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{what}: {answer}");
        assert!(
            answer.contains("CognitoVcrForbiddenException"),
            "{what}: {answer}"
        );
    }
    assert_eq!(upstream.calls(), 0, "nothing was forwarded");
    // SDKs name the proxy by its loopback address or `localhost`.
    let ok = call(
        &proxy.url(),
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "user001"}),
    )
    .await;
    assert_eq!(ok.status, 200);
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.rejected, summary.recorded), (3, 1));
}

/// Each secret value costs a slow hash: a request carrying hundreds is refused, not hashed.
#[tokio::test]
async fn a_request_with_hundreds_of_secrets_is_refused_not_hashed() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    let upstream = FakeCognito::start(3).await;
    let proxy = crate::support::recording(&cassette, &upstream.url()).await;
    let attributes: Vec<_> = (0..200)
        .map(|i| json!({"Name": "Password", "Value": format!("pw-{i}")}))
        .collect();
    let answer = call(
        &proxy.url(),
        "AdminUpdateUserAttributes",
        json!({"UserPoolId": POOL, "Username": "user001", "UserAttributes": attributes}),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_type(), Some("SerializationException"));
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("200 secret values"));
    assert_eq!(upstream.calls(), 0);
    let ok = call(
        &proxy.url(),
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": "user001"}),
    )
    .await;
    assert_eq!(ok.status, 200);
    proxy.stop().await.unwrap();
}

/// An upstream that answers every call with an empty ListUsers page, taking each of `took` in
/// turn (then the last again).
async fn slow_upstream(took: Vec<std::time::Duration>) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper::service::service_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (took, calls) = (took.clone(), calls.clone());
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let took = took[n.min(took.len() - 1)];
                async move {
                    let _ = req.into_body().collect().await;
                    // The upstream's own time, which the recording keeps (not a synchronisation).
                    tokio::time::sleep(took).await;
                    let body = bytes::Bytes::from_static(br#"{"Users":[]}"#);
                    let mut answer = hyper::Response::new(Full::new(body));
                    answer.headers_mut().insert(
                        "content-type",
                        "application/x-amz-json-1.1".parse().unwrap(),
                    );
                    Ok::<_, std::convert::Infallible>(answer)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upstreams_latency_is_kept_as_a_class_and_replayed_with_latency_recorded() {
    use cognito_vcr::Latency;
    use std::time::{Duration, Instant};
    let dir = workdir();
    let cassette = cassette_in(&dir, "timed");
    let upstream = slow_upstream(vec![Duration::from_millis(500)]).await;
    // Not the real Cognito: kept only when asked for.
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(&upstream);
    config.record_latency = Some(true);
    let proxy = Proxy::start(config).await.unwrap();
    let list = json!({"UserPoolId": POOL});
    assert_eq!(
        call(&proxy.url(), "ListUsers", list.clone()).await.status,
        200
    );
    proxy.stop().await.unwrap();
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        text.contains("\"cognito-vcr-latency-ms\": \"500\""),
        "{text}"
    );
    // By default a local upstream's timing is not kept.
    let untimed = cassette_in(&dir, "untimed");
    let proxy = crate::support::recording(&untimed, &upstream).await;
    assert_eq!(
        call(&proxy.url(), "ListUsers", list.clone()).await.status,
        200
    );
    proxy.stop().await.unwrap();
    let text = std::fs::read_to_string(&untimed).unwrap();
    assert!(!text.contains("latency"), "{text}");

    for (latency, at_least) in [
        (Latency::None, None),
        (Latency::parse("recorded").unwrap(), Some(500)),
        (Latency::parse("0.4").unwrap(), Some(200)),
    ] {
        let mut config = ServeConfig::new(Mode::Replay, &cassette);
        config.latency = latency;
        let proxy = Proxy::start(config).await.unwrap();
        let started = Instant::now();
        let answer = call(&proxy.url(), "ListUsers", list.clone()).await;
        let took = started.elapsed();
        proxy.stop().await.unwrap();
        assert_eq!(answer.status, 200);
        assert!(
            !answer.headers.contains_key("cognito-vcr-latency-ms"),
            "a recording's timing is not the client's: {:?}",
            answer.headers
        );
        if let Some(ms) = at_least {
            assert!(took >= Duration::from_millis(ms), "{latency:?}: {took:?}");
        }
    }

    // Alike answers that took 60, 300 and 600 ms are one answer: kept once, and a strict replay
    // serves it to any number of calls.
    let alike = cassette_in(&dir, "alike");
    let ms = |ms: u64| Duration::from_millis(ms);
    let upstream = slow_upstream(vec![ms(60), ms(300), ms(600)]).await;
    let mut config = ServeConfig::new(Mode::Record, &alike).with_upstream(&upstream);
    config.record_latency = Some(true);
    let proxy = Proxy::start(config).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            call(&proxy.url(), "ListUsers", list.clone()).await.status,
            200
        );
    }
    proxy.stop().await.unwrap();
    let held = cognito_vcr::cassette::load(&alike).unwrap().unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    let mut config = ServeConfig::new(Mode::Replay, &alike);
    config.strict = true;
    let proxy = Proxy::start(config).await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            call(&proxy.url(), "ListUsers", list.clone()).await.status,
            200
        );
    }
    let summary = proxy.stop().await.unwrap();
    assert_eq!(summary.misses, 0, "{summary}");
}
