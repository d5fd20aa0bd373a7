//! The request headers every exchange looks at (`Host`, `Origin`, `X-Amz-Target`,
//! `Content-Length`), found in one pass over the map instead of a hashed lookup each, and read
//! as text without a second validation.

use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, ORIGIN};
use hyper::HeaderMap;

/// A name made once, not parsed from text on every request.
static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// The headers of one request that the proxy checks on every exchange; each is the first value
/// of its name, as `HeaderMap::get` would give it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Heads<'p> {
    pub host: Option<&'p HeaderValue>,
    /// A web page sent it (see `origin.rs`).
    pub origin: bool,
    pub target: Option<&'p HeaderValue>,
    pub content_length: Option<&'p HeaderValue>,
}

impl<'p> Heads<'p> {
    /// One pass over the map: an SDK's request has about ten headers, and comparing a name with
    /// a known one is cheaper than hashing it for a lookup, four times.
    pub fn of(headers: &'p HeaderMap) -> Heads<'p> {
        let mut heads = Heads::default();
        for (name, value) in headers {
            if name == HOST {
                heads.host.get_or_insert(value);
            } else if name == X_AMZ_TARGET {
                heads.target.get_or_insert(value);
            } else if name == CONTENT_LENGTH {
                heads.content_length.get_or_insert(value);
            } else if name == ORIGIN {
                heads.origin = true;
            }
        }
        heads
    }
}

/// A header value as text when it is ASCII, as `HeaderValue::to_str` decides: a `HeaderValue`
/// holds no control character but tab (its constructors and hyper's parser refuse them), so
/// only bytes past ASCII can fail, and those are found a word at a time, not a byte at a time.
pub fn ascii(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    match bytes.is_ascii() {
        true => std::str::from_utf8(bytes).ok(),
        false => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_of_each_name_as_get_finds_it() {
        let mut headers = HeaderMap::new();
        headers.append("x-amz-date", HeaderValue::from_static("20261206T000000Z"));
        headers.append(HOST, HeaderValue::from_static("127.0.0.1:4000"));
        headers.append(HOST, HeaderValue::from_static("evil.example"));
        headers.append("X-Amz-Target", HeaderValue::from_static("A.ListUsers"));
        headers.append(CONTENT_LENGTH, HeaderValue::from_static("2"));
        let heads = Heads::of(&headers);
        assert_eq!(heads.host, headers.get(HOST));
        assert_eq!(heads.target, headers.get("x-amz-target"));
        assert_eq!(heads.content_length, headers.get(CONTENT_LENGTH));
        assert!(!heads.origin);
        headers.append(ORIGIN, HeaderValue::from_static("null"));
        assert!(Heads::of(&headers).origin);
        assert!(Heads::of(&HeaderMap::new()).host.is_none());
    }

    #[test]
    fn ascii_agrees_with_to_str_on_every_byte() {
        for b in 0..=u8::MAX {
            for bytes in [
                vec![b],
                vec![b'a', b, b'z'],
                [b"AWSCognito".as_slice(), &[b]].concat(),
            ] {
                let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                    continue;
                };
                assert_eq!(ascii(&value), value.to_str().ok(), "byte {b:#04x}");
            }
        }
        // Text past ASCII that is valid UTF-8 is refused too.
        let utf8 = HeaderValue::from_bytes("café".as_bytes()).unwrap();
        assert_eq!((ascii(&utf8), utf8.to_str().ok()), (None, None));
    }
}
