//! A fake Cognito upstream for the tests: paged ListUsers with a fresh random token on every
//! call, AdminCreateUser / AdminGetUser / AdminDeleteUser, 400 errors in Cognito's shape, 500s
//! on demand, and moto's habit of sending `Connection: close`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const POOL: &str = "us-east-1_Fake";

#[derive(Default)]
pub struct FakeState {
    users: Mutex<Vec<String>>,
    tokens: Mutex<HashMap<String, usize>>,
    token_counter: AtomicU64,
    /// Calls answered, all operations.
    pub calls: AtomicU64,
    /// The next N calls answer 500.
    pub fail_next: AtomicU32,
    /// The operation of every call, in order.
    pub ops: Mutex<Vec<String>>,
    /// The request path of every call, in order.
    pub paths: Mutex<Vec<String>>,
}

/// A running fake; stops when dropped.
pub struct FakeCognito {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeCognito {
    pub async fn start(users: usize) -> FakeCognito {
        let state = Arc::new(FakeState::default());
        *state.users.lock().unwrap() = (1..=users).map(|i| format!("user{i:03}")).collect();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let st = st.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                let st = st.clone();
                                async move { Ok::<_, Infallible>(answer(&st, req).await) }
                            });
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                        });
                    }
                    _ = &mut stopped => break,
                }
            }
        });
        FakeCognito {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for FakeCognito {
    fn drop(&mut self) {
        self.stop();
    }
}

fn user_json(name: &str) -> Value {
    json!({
        "Username": name,
        "Attributes": [{"Name": "email", "Value": format!("{name}@example.com")}],
        "Enabled": true,
        "UserStatus": "CONFIRMED",
        "UserCreateDate": 1.682955829578e9,
    })
}

fn error(kind: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": kind, "message": message}))
}

async fn answer(
    state: &FakeState,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    state.calls.fetch_add(1, Ordering::SeqCst);
    state
        .paths
        .lock()
        .unwrap()
        .push(req.uri().path().to_owned());
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let op = target.rsplit('.').next().unwrap_or("");
    state.ops.lock().unwrap().push(op.to_owned());
    let (status, out) = if state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        (
            500,
            json!({"__type": "InternalErrorException", "message": "try again"}),
        )
    } else {
        operation(state, op, &body)
    };
    // Dates written as real Cognito writes them (Java style); the proxy must keep that text.
    let text = serde_json::to_string(&out)
        .unwrap()
        .replace("1682955829.578", "1.682955829578E9");
    let mut resp = hyper::Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    h.insert("connection", "close".parse().unwrap());
    let n = state.calls.load(Ordering::SeqCst);
    h.insert("x-amzn-requestid", format!("req-{n}").parse().unwrap());
    if let Some(kind) = out.get("__type").and_then(Value::as_str) {
        h.insert("x-amzn-errortype", kind.parse().unwrap());
    }
    resp
}

fn operation(state: &FakeState, op: &str, body: &Value) -> (u16, Value) {
    let mut users = state.users.lock().unwrap();
    let username = body.get("Username").and_then(Value::as_str).unwrap_or("");
    match op {
        "ListUsers" => {
            let limit = body.get("Limit").and_then(Value::as_u64).unwrap_or(60) as usize;
            let start = match body.get("PaginationToken").and_then(Value::as_str) {
                None => 0,
                Some(t) => match state.tokens.lock().unwrap().get(t) {
                    Some(&offset) => offset,
                    None => return error("InvalidParameterException", "Invalid pagination token"),
                },
            };
            // Like Cognito, a filter applies to each page after it is cut: pages may be short
            // or empty and still carry a token. This fake knows `username ^= "prefix"`.
            let prefix = body
                .get("Filter")
                .and_then(Value::as_str)
                .and_then(|f| f.split('"').nth(1))
                .unwrap_or("");
            let page: Vec<Value> = users
                .iter()
                .skip(start)
                .take(limit)
                .filter(|u| u.starts_with(prefix))
                .map(|u| user_json(u))
                .collect();
            let mut out = json!({ "Users": page });
            if start + limit < users.len() {
                // A fresh token on every call, like real Cognito.
                let n = state.token_counter.fetch_add(1, Ordering::SeqCst);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                let token = format!("{:x}", Sha256::digest(format!("{n}-{nanos}")));
                state
                    .tokens
                    .lock()
                    .unwrap()
                    .insert(token.clone(), start + limit);
                out["PaginationToken"] = json!(token);
            }
            (200, out)
        }
        "AdminCreateUser" => {
            if users.iter().any(|u| u == username) {
                return error("UsernameExistsException", "User account already exists");
            }
            users.push(username.to_owned());
            users.sort();
            (200, json!({ "User": user_json(username) }))
        }
        "AdminGetUser" => match users.iter().find(|u| *u == username) {
            Some(u) => (200, user_json(u)),
            None => error("UserNotFoundException", "User does not exist."),
        },
        "AdminDeleteUser" => match users.iter().position(|u| u == username) {
            Some(i) => {
                users.remove(i);
                (200, json!({}))
            }
            None => error("UserNotFoundException", "User does not exist."),
        },
        "GetUserPoolMfaConfig" => (200, json!({"MfaConfiguration": "OFF"})),
        "TooMany" => error("TooManyRequestsException", "Too many requests"),
        _ => error(
            "InvalidParameterException",
            &format!("fake upstream does not know {op}"),
        ),
    }
}
