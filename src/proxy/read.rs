//! Reading a Cognito call off the wire: the header limit, the `X-Amz-Target` header, the body
//! (its size cap, a timeout for a body still on its way, and its share of the memory budget
//! for request bodies).

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Incoming};
use hyper::http::request::Parts;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::heads::{ascii, Heads};
use super::http::MAX_HEADERS;
use crate::cognito::wire::BadRequest;
use crate::keying::scope::Scope;

/// A call read whole, not parsed yet.
pub struct Call<'p> {
    pub scope: Scope,
    /// The `X-Amz-Target` header, when it is there.
    pub target: Option<&'p str>,
    pub raw: Bytes,
    /// The body's share of the budget, held until the exchange ends.
    pub budget: OwnedSemaphorePermit,
}

/// The memory for request bodies held at once, over every connection and HTTP/2 stream
/// (`--body-budget`): each request takes its declared length, or the body limit when it
/// declares none, before its body is read, and gives it back when its exchange ends. HTTP/2
/// lets a connection carry 100 streams at once, each up to the body limit: without a budget a
/// few connections hold gigabytes.
pub struct BodyBudget {
    kib: Arc<Semaphore>,
    bytes: usize,
}

impl BodyBudget {
    pub fn new(bytes: usize) -> BodyBudget {
        let kib = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            kib: Arc::new(Semaphore::new(kib)),
            bytes,
        }
    }

    /// Room for `size` bytes: at once when there is some, else within `timeout`, else `Busy`.
    async fn reserve(
        &self,
        size: usize,
        timeout: Duration,
    ) -> Result<OwnedSemaphorePermit, BadRequest> {
        let total = (self.bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        let kib = u32::try_from(size.div_ceil(1024).clamp(1, total)).unwrap_or(u32::MAX);
        if let Ok(permit) = self.kib.clone().try_acquire_many_owned(kib) {
            return Ok(permit);
        }
        // Boxed: the wait and its timer are not carried by every exchange's future.
        let wait = tokio::time::timeout(timeout, self.kib.clone().acquire_many_owned(kib));
        match Box::pin(wait).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BadRequest::Busy { budget: self.bytes }),
        }
    }
}

/// Read the call routed to `scope`, or say why it is refused: the route first, then too many
/// headers, a target that is not ASCII, and the body (`limit` bytes at most, within `timeout`).
pub async fn call<'p>(
    parts: &'p Parts,
    heads: Heads<'p>,
    body: Incoming,
    scope: Result<Scope, BadRequest>,
    limit: usize,
    timeout: Duration,
    budget: &BodyBudget,
) -> Result<Call<'p>, BadRequest> {
    let (scope, target, declared) = head(parts, &heads, scope, limit)?;
    let budget = budget.reserve(declared.unwrap_or(limit), timeout).await?;
    let raw = read_body(body, limit, timeout).await?;
    Ok(Call {
        scope,
        target,
        raw,
        budget,
    })
}

/// The refusals that need no body, in their order: the route, too many headers, a target that
/// is not ASCII, a declared length past `limit`. Otherwise the scope, the target and the body
/// length the request declares, if any.
fn head<'p>(
    parts: &Parts,
    heads: &Heads<'p>,
    scope: Result<Scope, BadRequest>,
    limit: usize,
) -> Result<(Scope, Option<&'p str>, Option<usize>), BadRequest> {
    let scope = scope?;
    if parts.headers.len() > MAX_HEADERS {
        return Err(BadRequest::TooManyHeaders { limit: MAX_HEADERS });
    }
    let target =
        match heads.target.map(ascii) {
            None => None,
            Some(Some(target)) => Some(target),
            Some(None) => return Err(BadRequest::UnknownOperation(
                "X-Amz-Target is not ASCII; expected AWSCognitoIdentityProviderService.<Operation> or AWSCognitoIdentityService.<Operation>"
                    .to_owned(),
            )),
        };
    let declared = heads
        .content_length
        .and_then(ascii)
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BadRequest::TooLarge { limit });
    }
    Ok((
        scope,
        target,
        declared.and_then(|n| usize::try_from(n).ok()),
    ))
}

/// The body, `limit` bytes at most, within `timeout` once it is not all there at the first look.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BadRequest> {
    let mut read = BodyRead::default();
    // A small body has usually arrived with its headers: read at the first poll, without arming
    // a timer; only a body still on its way gets one (boxed, with the wait: not carried by
    // every exchange's future).
    let first = std::future::poll_fn(|cx| Poll::Ready(read.poll(&mut body, limit, cx))).await;
    match first {
        Poll::Ready(read) => read,
        Poll::Pending => {
            let rest = std::future::poll_fn(|cx| read.poll(&mut body, limit, cx));
            match Box::pin(tokio::time::timeout(timeout, rest)).await {
                Ok(read) => read,
                Err(_) => Err(BadRequest::Timeout { after: timeout }),
            }
        }
    }
}

/// A body read so far. Most bodies are one data frame, kept as it came (no copy, and no
/// allocation: http-body-util's `Collect` queues frames in a deque allocated per body); the
/// frames of a longer one are appended to a buffer.
#[derive(Default)]
enum BodyRead {
    #[default]
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl BodyRead {
    /// Read the frames there are; ready with the whole body, or with why it is refused.
    fn poll(
        &mut self,
        body: &mut Incoming,
        limit: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Bytes, BadRequest>> {
        loop {
            let frame = match std::task::ready!(Pin::new(&mut *body).poll_frame(cx)) {
                None => return Poll::Ready(Ok(self.take())),
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    return Poll::Ready(Err(BadRequest::Serialization(format!(
                        "could not read the request body: {e}"
                    ))))
                }
            };
            // Trailers are not part of the call.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if self.len() + data.len() > limit {
                return Poll::Ready(Err(BadRequest::TooLarge { limit }));
            }
            *self = match std::mem::take(self) {
                BodyRead::Empty => BodyRead::One(data),
                BodyRead::One(first) => {
                    let mut many = BytesMut::with_capacity(first.len() + data.len());
                    many.extend_from_slice(&first);
                    many.extend_from_slice(&data);
                    BodyRead::Many(many)
                }
                BodyRead::Many(mut many) => {
                    many.extend_from_slice(&data);
                    BodyRead::Many(many)
                }
            };
        }
    }

    fn len(&self) -> usize {
        match self {
            BodyRead::Empty => 0,
            BodyRead::One(one) => one.len(),
            BodyRead::Many(many) => many.len(),
        }
    }

    fn take(&mut self) -> Bytes {
        match std::mem::take(self) {
            BodyRead::Empty => Bytes::new(),
            BodyRead::One(one) => one,
            BodyRead::Many(many) => many.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use tokio::io::AsyncWriteExt;

    /// `head` with the request's headers found as `call` finds them.
    fn head_of(
        parts: &Parts,
        scope: Result<Scope, BadRequest>,
        limit: usize,
    ) -> Result<(Scope, Option<&str>, Option<usize>), BadRequest> {
        head(parts, &Heads::of(&parts.headers), scope, limit)
    }

    const LIST_USERS: &str = "AWSCognitoIdentityProviderService.ListUsers";

    /// A call's head: `POST /` with these headers.
    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = hyper::Request::post("/").header("host", "127.0.0.1");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).unwrap().into_parts().0
    }

    /// `parts` with `extra` headers more, each of its own name.
    fn with_extra_headers(mut parts: Parts, extra: usize) -> Parts {
        for i in 0..extra {
            let name = hyper::header::HeaderName::try_from(format!("x-extra-{i}")).unwrap();
            parts.headers.insert(name, HeaderValue::from_static("1"));
        }
        parts
    }

    /// `parts` with an `X-Amz-Target` that is not ASCII.
    fn with_target_not_ascii(mut parts: Parts) -> Parts {
        let target =
            HeaderValue::from_bytes(b"AWSCognitoIdentityProviderService.List\xe9").unwrap();
        parts.headers.insert("x-amz-target", target);
        parts
    }

    /// A head that is wrong in every way `head` checks after the route: too many headers, a
    /// target that is not ASCII, a declared length past a 16-byte limit.
    fn wrong_every_way() -> Parts {
        let parts = with_target_not_ascii(parts(&[("content-length", "1000000")]));
        with_extra_headers(parts, MAX_HEADERS)
    }

    #[test]
    fn a_refused_route_wins_over_everything_read() {
        let refused =
            BadRequest::Scope("cognito-vcr: endpoint path \"/scope\" names no scope".into());
        assert_eq!(
            head_of(&wrong_every_way(), Err(refused.clone()), 16),
            Err(refused)
        );
    }

    #[test]
    fn too_many_headers_win_over_a_target_that_is_not_ascii() {
        assert_eq!(
            head_of(&wrong_every_way(), Ok(Scope::default()), 16),
            Err(BadRequest::TooManyHeaders { limit: MAX_HEADERS })
        );
    }

    #[test]
    fn as_many_headers_as_the_limit_are_taken() {
        let base = parts(&[("x-amz-target", LIST_USERS)]);
        let room = MAX_HEADERS - base.headers.len();
        let at_limit = with_extra_headers(base.clone(), room);
        assert_eq!(at_limit.headers.len(), MAX_HEADERS);
        assert_eq!(
            head_of(&at_limit, Ok(Scope::default()), 16),
            Ok((Scope::default(), Some(LIST_USERS), None))
        );
        let past = with_extra_headers(base, room + 1);
        assert_eq!(
            head_of(&past, Ok(Scope::default()), 16),
            Err(BadRequest::TooManyHeaders { limit: MAX_HEADERS })
        );
    }

    #[test]
    fn a_target_that_is_not_ascii_wins_over_a_declared_length_past_the_limit() {
        let parts = with_target_not_ascii(parts(&[("content-length", "1000000")]));
        match head_of(&parts, Ok(Scope::default()), 16) {
            Err(BadRequest::UnknownOperation(message)) => {
                assert!(message.contains("X-Amz-Target is not ASCII"), "{message}")
            }
            other => panic!("expected an unknown operation, got {other:?}"),
        }
    }

    #[test]
    fn a_declared_length_past_the_limit_is_too_large() {
        let declared =
            |length: &str| parts(&[("x-amz-target", LIST_USERS), ("content-length", length)]);
        assert_eq!(
            head_of(&declared("17"), Ok(Scope::default()), 16),
            Err(BadRequest::TooLarge { limit: 16 })
        );
        // Up to the limit, and a length that is no number, are left to reading the body.
        for (length, read) in [("16", Some(16)), ("0", Some(0)), ("sixteen", None)] {
            assert_eq!(
                head_of(&declared(length), Ok(Scope::default()), 16),
                Ok((Scope::default(), Some(LIST_USERS), read)),
                "{length}"
            );
        }
    }

    #[test]
    fn a_call_keeps_its_scope_and_target_and_may_have_none() {
        let t1 = Scope::named("t1").unwrap();
        assert_eq!(
            head_of(&parts(&[("x-amz-target", LIST_USERS)]), Ok(t1.clone()), 16),
            Ok((t1.clone(), Some(LIST_USERS), None))
        );
        // A missing target is the parser's to refuse, with the operations it expects.
        assert_eq!(
            head_of(&parts(&[]), Ok(t1.clone()), 16),
            Ok((t1, None, None))
        );
    }

    #[tokio::test]
    async fn past_the_body_budget_a_request_waits_then_is_told_busy() {
        let budget = BodyBudget::new(64 * 1024);
        let quick = Duration::from_millis(50);
        // A body without a declared length takes the body limit's share: here all of it.
        let held = budget.reserve(1024 * 1024, quick).await.unwrap();
        assert_eq!(
            budget.reserve(100, quick).await.err(),
            Some(BadRequest::Busy { budget: 64 * 1024 })
        );
        drop(held);
        // Room again once the exchange that held it ends; small bodies share the budget.
        let a = budget.reserve(30 * 1024, quick).await.unwrap();
        let b = budget.reserve(30 * 1024, quick).await.unwrap();
        assert!(budget.reserve(8 * 1024, quick).await.is_err());
        drop((a, b));
        // A waiting request goes on as soon as there is room.
        let held = budget.reserve(64 * 1024, quick).await.unwrap();
        let waiter = budget.reserve(1, Duration::from_secs(30));
        let (got, ()) = tokio::join!(waiter, async move { drop(held) });
        assert!(got.is_ok());
    }

    /// What [`call`] makes of a request a client on loopback writes as these bytes, keeping its
    /// connection open: the target and the body, or the refusal.
    async fn over_loopback(
        request: &[u8],
        limit: usize,
        timeout: Duration,
    ) -> Result<(Option<String>, Bytes), BadRequest> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (read, mut was_read) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let read = read.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let budget = BodyBudget::new(crate::config::DEFAULT_BODY_BUDGET);
                    let call = call(
                        &parts,
                        Heads::of(&parts.headers),
                        body,
                        Ok(Scope::default()),
                        limit,
                        timeout,
                        &budget,
                    )
                    .await;
                    let _ = read.send(call.map(|c| (c.target.map(str::to_owned), c.raw)));
                    let empty = http_body_util::Empty::<Bytes>::new();
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(empty))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(request).await.unwrap();
        let read = was_read.recv().await.expect("the request reached `call`");
        server.abort();
        drop(client);
        read
    }

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_body_is_read_whole() {
        let request = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: AWSCognitoIdentityProviderService.ListUsers\r\ncontent-length: 28\r\n\r\n{\"UserPoolId\":\"us-east-1_A\"}";
        assert_eq!(
            over_loopback(request, 1024, LONG).await,
            Ok((
                Some(LIST_USERS.to_owned()),
                Bytes::from_static(b"{\"UserPoolId\":\"us-east-1_A\"}")
            ))
        );
    }

    #[tokio::test]
    async fn a_body_of_several_chunks_is_read_whole_in_order() {
        let request = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"Use\r\n9\r\nrPoolId\":\r\n4\r\n\"A\"}\r\n0\r\n\r\n";
        assert_eq!(
            over_loopback(request, 1024, LONG).await,
            Ok((None, Bytes::from_static(b"{\"UserPoolId\":\"A\"}")))
        );
        // The same chunks past a limit that the first of them fits.
        assert_eq!(
            over_loopback(request, 12, LONG).await,
            Err(BadRequest::TooLarge { limit: 12 })
        );
    }

    #[tokio::test]
    async fn a_declared_length_past_the_limit_is_refused_without_waiting_for_the_body() {
        // The body never comes: reading it would end in a timeout instead.
        let request = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 17\r\n\r\n";
        assert_eq!(
            over_loopback(request, 16, LONG).await,
            Err(BadRequest::TooLarge { limit: 16 })
        );
    }

    #[tokio::test]
    async fn a_body_past_the_limit_without_a_declared_length_is_too_large() {
        let request = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n12\r\n{\"a\":\"0123456789\"}\r\n0\r\n\r\n";
        assert_eq!(
            over_loopback(request, 16, LONG).await,
            Err(BadRequest::TooLarge { limit: 16 })
        );
    }

    #[tokio::test]
    async fn a_body_that_stops_coming_times_out() {
        let request = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 10\r\n\r\n{\"a\"";
        let after = Duration::from_millis(50);
        assert_eq!(
            over_loopback(request, 1024, after).await,
            Err(BadRequest::Timeout { after })
        );
    }
}
