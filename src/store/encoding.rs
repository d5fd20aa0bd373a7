//! How the store lays out its keys and values (see the `store` module for the layout).

use crate::cognito::wire::Response;
use crate::keying::canonical::canonical;
use crate::keying::key::{split_qualified, RequestKey, SCOPE_SEPARATOR};
use crate::keying::scope::Scope;
use bytes::Bytes;

/// `name 0x00 digest`: every occurrence of one request (the name is the qualified operation:
/// `operation`, or `scope 0x1F operation`).
pub(super) fn key_prefix(key: &RequestKey) -> Vec<u8> {
    let name = key.qualified_operation();
    let mut k = Vec::with_capacity(name.len() + 1 + 32 + 4);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(&key.digest);
    k
}

/// The prefix of every key of a named scope.
pub(super) fn scope_prefix(scope: &Scope) -> Option<Vec<u8>> {
    scope
        .name()
        .map(|name| format!("{name}{SCOPE_SEPARATOR}").into_bytes())
}

pub(super) fn encode_key(key: &RequestKey, occurrence: u32) -> Vec<u8> {
    encode_parts(&key.qualified_operation(), &key.digest, occurrence)
}

pub(super) fn encode_parts(operation: &str, digest: &[u8; 32], occurrence: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(operation.len() + 1 + 32 + 4);
    k.extend_from_slice(operation.as_bytes());
    k.push(0);
    k.extend_from_slice(digest);
    k.extend_from_slice(&occurrence.to_be_bytes());
    k
}

pub(super) fn occurrence_of(k: &[u8]) -> u32 {
    let n = k.len();
    u32::from_be_bytes([k[n - 4], k[n - 3], k[n - 2], k[n - 1]])
}

/// A stored key's operation, digest and occurrence; `None` if it is not one this store writes.
pub(super) fn key_parts(k: &[u8]) -> Option<(&str, &[u8; 32], u32)> {
    let zero = k.iter().position(|&b| b == 0)?;
    if k.len() != zero + 1 + 32 + 4 {
        return None;
    }
    let op = std::str::from_utf8(&k[..zero]).ok()?;
    let digest = k[zero + 1..zero + 33].try_into().ok()?;
    Some((op, digest, occurrence_of(k)))
}

/// A stored key's scope, operation and occurrence.
pub(super) fn split_key(k: &[u8]) -> Option<(Scope, String, u32)> {
    let (name, _, occurrence) = key_parts(k)?;
    let (scope, operation) = split_qualified(name)?;
    Some((scope, operation.to_owned(), occurrence))
}

/// status u16 | header count u16 | (len u16, name, len u16, value)* | body len u32 | body |
/// canonical request body (rest).
pub(super) fn encode_value(response: &Response, request: &serde_json::Value) -> Vec<u8> {
    encode_canonical(response, &canonical(request))
}

/// [`encode_value`] with the request body already in canonical form.
pub(super) fn encode_canonical(response: &Response, request: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + response.body.len() + request.len());
    encode_into(response, request, &mut v);
    v
}

/// A header name or value of `response` too long for the value encoding's u16 lengths.
pub(super) fn oversized_header(response: &Response) -> Option<&str> {
    let too_long = |s: &str| s.len() > usize::from(u16::MAX);
    response
        .headers
        .iter()
        .find(|(n, v)| too_long(n) || too_long(v))
        .map(|(n, _)| n.as_str())
}

/// [`encode_canonical`] appended to `v`.
pub(super) fn encode_into(response: &Response, request: &[u8], v: &mut Vec<u8>) {
    v.extend_from_slice(&response.status.to_be_bytes());
    v.extend_from_slice(&(response.headers.len() as u16).to_be_bytes());
    for (name, value) in &response.headers {
        for s in [name, value] {
            v.extend_from_slice(&(s.len() as u16).to_be_bytes());
            v.extend_from_slice(s.as_bytes());
        }
    }
    v.extend_from_slice(&(response.body.len() as u32).to_be_bytes());
    v.extend_from_slice(&response.body);
    v.extend_from_slice(request);
}

pub(super) fn decode_value(v: &[u8]) -> Option<(Response, &[u8])> {
    let (response, body, request) = decode_parts(v)?;
    let body = Bytes::copy_from_slice(&v[body]);
    Some((Response { body, ..response }, &v[request]))
}

/// The response of a stored value without copying its body: the `Bytes` keeps the value
/// alive and points into it (the replay hot path serves ~20 KB pages this way).
pub(super) fn decode_response_shared(v: sled::IVec) -> Option<Response> {
    decode_response_bytes(Bytes::from_owner(v))
}

/// [`decode_response_shared`] for a value held in `Bytes` (the replay index's mapping).
pub(super) fn decode_response_bytes(v: Bytes) -> Option<Response> {
    let (response, body, _) = decode_parts(&v)?;
    Some(Response {
        body: v.slice(body),
        ..response
    })
}

/// Status and headers, and where the body and the request body lie in the value.
fn decode_parts(
    v: &[u8],
) -> Option<(Response, std::ops::Range<usize>, std::ops::RangeFrom<usize>)> {
    let mut r = Reader(v);
    let status = r.u16()?;
    let n = r.u16()?;
    let mut headers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = r.str()?;
        let value = r.str()?;
        headers.push((name, value));
    }
    let len = r.u32()? as usize;
    let start = v.len() - r.0.len();
    r.take(len)?;
    let response = Response {
        status,
        headers,
        body: Bytes::new(),
    };
    Some((response, start..start + len, start + len..))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_encoding_round_trips() {
        let i = crate::cassette::Interaction {
            scope: Default::default(),
            operation: "ListUsers".into(),
            occurrence: 1,
            request: json!({"UserPoolId": "us-east-1_A"}),
            response: Response {
                status: 200,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: Bytes::from_static(br#"{"Users":[]}"#),
            },
        };
        let v = encode_value(&i.response, &i.request);
        let (r, req) = decode_value(&v).unwrap();
        assert_eq!(r, i.response);
        assert_eq!(req, br#"{"UserPoolId":"us-east-1_A"}"#);
        assert_eq!(
            decode_response_shared(sled::IVec::from(v.clone())).unwrap(),
            i.response
        );
        assert!(decode_value(&v[..5]).is_none());
        let k = encode_key(&RequestKey::new("ListUsers", &i.request), 3);
        let (op, digest, occurrence) = key_parts(&k).unwrap();
        assert_eq!((op, occurrence), ("ListUsers", 3));
        assert_eq!(encode_parts(op, digest, occurrence), k);
        assert!(key_parts(&k[..k.len() - 1]).is_none());
    }
}
