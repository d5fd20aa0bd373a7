//! Reading a Cognito call off the wire: the header limit, the `X-Amz-Target` header, the body
//! (its size cap, and a timeout for a body still on its way).

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use std::future::Future;
use std::time::Duration;

use super::http::MAX_HEADERS;
use crate::cognito::wire::BadRequest;
use crate::keying::scope::Scope;

/// A call read whole, not parsed yet.
pub struct Call<'p> {
    pub scope: Scope,
    /// The `X-Amz-Target` header, when it is there.
    pub target: Option<&'p str>,
    pub raw: Bytes,
}

/// Read the call routed to `scope`, or say why it is refused: the route first, then too many
/// headers, a target that is not ASCII, and the body (`limit` bytes at most, within `timeout`).
pub async fn call(
    parts: &Parts,
    body: Incoming,
    scope: Result<Scope, BadRequest>,
    limit: usize,
    timeout: Duration,
) -> Result<Call<'_>, BadRequest> {
    let scope = scope?;
    if parts.headers.len() > MAX_HEADERS {
        return Err(BadRequest::TooManyHeaders { limit: MAX_HEADERS });
    }
    let target =
        match parts.headers.get("x-amz-target").map(|v| v.to_str()) {
            None => None,
            Some(Ok(target)) => Some(target),
            Some(Err(_)) => return Err(BadRequest::UnknownOperation(
                "X-Amz-Target is not ASCII; expected AWSCognitoIdentityProviderService.<Operation>"
                    .to_owned(),
            )),
        };
    let raw = read_body(parts, body, limit, timeout).await?;
    Ok(Call { scope, target, raw })
}

async fn read_body(
    parts: &Parts,
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BadRequest> {
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BadRequest::TooLarge { limit });
    }
    // A small body has usually arrived with its headers: collected at the first poll, without
    // arming a timer; only a body still on its way gets one.
    let mut collect = std::pin::pin!(Limited::new(body, limit).collect());
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(collect.as_mut().poll(cx))).await;
    let collected = match first {
        std::task::Poll::Ready(collected) => collected,
        std::task::Poll::Pending => match tokio::time::timeout(timeout, collect).await {
            Ok(collected) => collected,
            Err(_) => return Err(BadRequest::Timeout { after: timeout }),
        },
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BadRequest::TooLarge { limit }),
        Err(e) => Err(BadRequest::Serialization(format!(
            "could not read the request body: {e}"
        ))),
    }
}
