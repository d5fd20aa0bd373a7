//! HAR 1.2 (the HTTP Archive that browsers, Playwright, Polly, mitmproxy and HTTP Toolkit read
//! and write): its entries as types, read leniently (what other tools leave out gets a default;
//! what import needs is checked, naming the entry) and written with every field the format
//! requires.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The HAR version written.
pub const VERSION: &str = "1.2";

/// What can be wrong reading or writing a HAR file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarError {
    #[error("cannot read HAR file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("HAR file {path} is not JSON: line {line}, column {column}: {message}")]
    NotJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("HAR file {path} is not a HAR: {what}")]
    NotHar { path: PathBuf, what: String },
    #[error("cannot write HAR file {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A whole HAR file, as written.
#[derive(Debug, Serialize)]
pub struct Har {
    pub log: Log,
}

/// The `log` object, as written.
#[derive(Debug, Serialize)]
pub struct Log {
    pub version: &'static str,
    pub creator: Creator,
    pub entries: Vec<Entry>,
}

/// The program that wrote the file.
#[derive(Debug, Serialize)]
pub struct Creator {
    pub name: &'static str,
    pub version: &'static str,
}

/// One exchange. Read: only `request`, `response` and `comment` (see [`parse`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    pub time: u64,
    pub request: Request,
    /// `None` when the tool wrote none (a request that got no answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    pub cache: Empty,
    pub timings: Timings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Entry {
    /// Read an entry; what is wrong names the part (`request: missing field `url``). The fields
    /// import does not use take their defaults, whatever the tool wrote there.
    fn read(entry: Value) -> Result<Entry, String> {
        let Value::Object(mut entry) = entry else {
            return Err("it is not an object".into());
        };
        let request = entry.remove("request").ok_or("missing field `request`")?;
        let request = Request::deserialize(request).map_err(|e| format!("request: {e}"))?;
        let response = match entry.remove("response") {
            None | Some(Value::Null) => None,
            Some(r) => Some(Response::deserialize(r).map_err(|e| format!("response: {e}"))?),
        };
        // Milliseconds, a fraction in most tools; what is not a number is no timing.
        let time = entry
            .get("time")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map_or(0, |t| t.round() as u64);
        Ok(Entry {
            started_date_time: String::new(),
            time,
            request,
            response,
            cache: Empty {},
            timings: Timings::default(),
            comment: entry
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// `{}`: what `cache` holds when nothing is known of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

/// The phases of an exchange in milliseconds; written as 0 (a recording keeps no timing).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub send: u64,
    pub wait: u64,
    pub receive: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    pub url: String,
    #[serde(default, skip_deserializing)]
    pub http_version: String,
    #[serde(default, skip_deserializing)]
    pub cookies: Vec<Value>,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default, skip_deserializing)]
    pub query_string: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    #[serde(default = "unknown", skip_deserializing)]
    pub headers_size: i64,
    #[serde(default = "unknown", skip_deserializing)]
    pub body_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    #[serde(default)]
    pub mime_type: String,
    /// `None` when the tool kept only form `params` (or nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// 0 where a tool writes a request that got no answer.
    pub status: u16,
    #[serde(default, skip_deserializing)]
    pub status_text: String,
    #[serde(default, skip_deserializing)]
    pub http_version: String,
    #[serde(default, skip_deserializing)]
    pub cookies: Vec<Value>,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub content: Content,
    #[serde(rename = "redirectURL", default, skip_deserializing)]
    pub redirect_url: String,
    #[serde(default = "unknown", skip_deserializing)]
    pub headers_size: i64,
    #[serde(default = "unknown", skip_deserializing)]
    pub body_size: i64,
}

/// A response body: `text`, base64 when `encoding` says so (a HAR holds it decompressed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default, skip_deserializing)]
    pub size: u64,
    #[serde(default)]
    pub mime_type: String,
    /// `None` when the tool did not keep the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// `-1`: a size the format lets a writer leave unknown.
fn unknown() -> i64 {
    -1
}

impl Request {
    /// The value of the first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The value of the first header of this name (any case).
pub fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

impl Content {
    /// The body's bytes: `None` when the tool kept none, `Err` when base64 that does not decode.
    pub fn bytes(&self) -> Option<Result<Vec<u8>, String>> {
        use base64::Engine;
        let text = self.text.as_ref()?;
        Some(match self.encoding.as_deref() {
            Some(e) if e.eq_ignore_ascii_case("base64") => {
                // Some tools wrap base64 over lines.
                let compact: String = text.split_ascii_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| format!("its base64 body does not decode: {e}"))
            }
            Some(other) if !other.is_empty() => Err(format!(
                "its body has encoding {other:?}; HAR knows only base64"
            )),
            _ => Ok(text.clone().into_bytes()),
        })
    }

    /// A body as HAR holds it: text when it is UTF-8, else base64.
    pub fn of(mime_type: String, body: &[u8]) -> Content {
        use base64::Engine;
        let (text, encoding) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), None),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(body),
                Some("base64".to_owned()),
            ),
        };
        Content {
            size: body.len() as u64,
            mime_type,
            text: Some(text),
            encoding,
        }
    }
}

/// Read the entries of the HAR file at `path` (`-`: standard input), in file order.
pub fn read(path: &Path) -> Result<Vec<Entry>, HarError> {
    let read = match path == Path::new("-") {
        true => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes)
        }
        false => std::fs::read(path),
    };
    let bytes = read.map_err(|source| HarError::Read {
        path: path.into(),
        source,
    })?;
    parse(path, &bytes)
}

/// The entries of HAR bytes; `path` only names the file in errors. Each entry is checked on its
/// own, so an error names the entry (1 for the first) and what is wrong with it.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Entry>, HarError> {
    let not_har = |what: String| HarError::NotHar {
        path: path.into(),
        what,
    };
    let mut file: Value = serde_json::from_slice(bytes).map_err(|e| {
        // serde_json ends its message with the position, which the error says already.
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        HarError::NotJson {
            path: path.into(),
            line: e.line(),
            column: e.column(),
            message: message
                .strip_suffix(&position)
                .unwrap_or(&message)
                .to_owned(),
        }
    })?;
    let Some(log) = file.get_mut("log").filter(|l| l.is_object()) else {
        return Err(not_har("it has no `log` object".into()));
    };
    let Some(Value::Array(entries)) = log.get_mut("entries").map(Value::take) else {
        return Err(not_har("its `log` has no `entries` array".into()));
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(n, entry)| Entry::read(entry).map_err(|e| not_har(format!("entry {}: {e}", n + 1))))
        .collect()
}

/// The HAR file of `entries`: pretty-printed, with a trailing newline; `creator` names this
/// program and its version.
pub fn render(entries: Vec<Entry>) -> Vec<u8> {
    let har = Har {
        log: Log {
            version: VERSION,
            creator: Creator {
                name: "cognito-vcr",
                version: env!("CARGO_PKG_VERSION"),
            },
            entries,
        },
    };
    let mut out = serde_json::to_vec_pretty(&har).expect("writing to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// `startedDateTime` of the entry at `index`: a fixed instant plus one millisecond per entry,
/// so that a HAR says the order of its entries and the same cassette gives the same bytes.
/// (Past a day of milliseconds, 86.4 million entries, the last instant repeats.)
pub fn started(index: usize) -> String {
    let ms = index.min(86_400_000 - 1);
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("2000-01-01T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// The reason phrase of a status a Cognito answer has, for `statusText` (empty for others:
/// the format allows it).
pub fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(Path::new("session.har"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_malformed_har_names_the_file_and_what_is_wrong() {
        for (text, expected) in [
            (
                "{\"log\": ",
                "session.har is not JSON: line 1, column 8: EOF while parsing a value",
            ),
            ("[]", "session.har is not a HAR: it has no `log` object"),
            (r#"{"log": 3}"#, "it has no `log` object"),
            (r#"{"log": {}}"#, "its `log` has no `entries` array"),
            (r#"{"log": {"entries": {}}}"#, "no `entries` array"),
            (
                r#"{"log": {"entries": [[]]}}"#,
                "entry 1: it is not an object",
            ),
            (
                r#"{"log": {"entries": [{"request": {"method": "GET"}}]}}"#,
                "entry 1: request: missing field `url`",
            ),
            (
                r#"{"log": {"entries": [{"request": {"method": "GET", "url": "u"}}, {"response": {"status": 200}}]}}"#,
                "session.har is not a HAR: entry 2: missing field `request`",
            ),
            (
                r#"{"log": {"entries": [{"request": {"method": "POST", "url": "u", "headers": [{"name": "a"}]}}]}}"#,
                "entry 1: request: missing field `value`",
            ),
            (
                r#"{"log": {"entries": [{"request": {"method": "POST", "url": "u"}, "response": {"status": "200"}}]}}"#,
                "entry 1: response: invalid type: string \"200\"",
            ),
        ] {
            let err = parse_err(text);
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains(" at line"), "the position once: {err}");
        }
    }

    #[test]
    fn what_other_tools_write_in_fields_import_does_not_use_is_ignored() {
        let text = r#"{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
            "entries": [{"startedDateTime": "2026-12-06T10:48:30.83+00:00", "time": 11.06,
              "request": {"method": "POST", "url": "https://cognito-idp.us-east-1.amazonaws.com/",
                "httpVersion": "http/2.0", "headers": [{"name": "x-amz-target", "value": "T"}],
                "headersSize": -1, "bodySize": 2.5, "cookies": [{"name": "c"}],
                "postData": {"mimeType": "application/x-amz-json-1.1", "text": "{}"}},
              "response": {"status": 200, "statusText": "", "headers": [], "redirectURL": "",
                "content": {"size": -1, "mimeType": "a", "text": "e30=", "encoding": "base64",
                  "compression": 3}, "headersSize": -1, "bodySize": -1, "_transferSize": 9},
              "cache": {"beforeRequest": null}, "timings": {"blocked": -1, "send": 0.5},
              "_initiator": {"type": "script"}}]}}"#;
        let entries = parse(Path::new("x.har"), text.as_bytes()).unwrap();
        assert_eq!(entries[0].request.header("X-Amz-Target"), Some("T"));
        let content = &entries[0].response.as_ref().unwrap().content;
        assert_eq!(content.bytes().unwrap().unwrap(), b"{}");
    }

    #[test]
    fn bodies_decode_from_base64_and_say_when_they_cannot() {
        let content = |text: Option<&str>, encoding: Option<&str>| Content {
            text: text.map(str::to_owned),
            encoding: encoding.map(str::to_owned),
            ..Content::default()
        };
        assert_eq!(content(None, None).bytes(), None);
        assert_eq!(content(Some("{}"), None).bytes(), Some(Ok(b"{}".to_vec())));
        assert_eq!(
            content(Some("e3\n0="), Some("base64")).bytes(),
            Some(Ok(b"{}".to_vec()))
        );
        let bad = content(Some("!!"), Some("base64")).bytes().unwrap();
        assert!(bad.unwrap_err().contains("base64 body does not decode"));
        let odd = content(Some("x"), Some("gzip")).bytes().unwrap();
        assert!(odd.unwrap_err().contains("\"gzip\""));
        // Written: text when UTF-8, base64 otherwise; read back the same.
        for body in [&b"{\"a\":1}"[..], &[0xff, 0x00, 0x80]] {
            let written = Content::of("m".into(), body);
            assert_eq!(written.encoding.is_some(), body[0] == 0xff);
            assert_eq!(written.bytes().unwrap().unwrap(), body);
        }
    }

    #[test]
    fn started_times_keep_the_entries_order() {
        assert_eq!(started(0), "2000-01-01T00:00:00.000Z");
        assert_eq!(started(61_001), "2000-01-01T00:01:01.001Z");
        assert_eq!(started(86_399_999), "2000-01-01T23:59:59.999Z");
        assert_eq!(started(usize::MAX), "2000-01-01T23:59:59.999Z");
    }

    #[test]
    fn a_written_har_has_every_field_the_format_requires() {
        let entry = Entry {
            started_date_time: started(0),
            time: 0,
            request: Request {
                method: "POST".into(),
                url: "http://localhost/".into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: vec![],
                query_string: vec![],
                post_data: None,
                headers_size: -1,
                body_size: 0,
            },
            response: Some(Response {
                status: 200,
                status_text: status_text(200).into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: vec![],
                content: Content::of("m".into(), b"{}"),
                redirect_url: String::new(),
                headers_size: -1,
                body_size: 2,
            }),
            cache: Empty {},
            timings: Timings::default(),
            comment: None,
        };
        let har: Value = serde_json::from_slice(&render(vec![entry])).unwrap();
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "cognito-vcr");
        let entry = &log["entries"][0];
        for field in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(entry.get(field).is_some(), "{field}");
        }
        for field in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(entry["request"].get(field).is_some(), "request {field}");
        }
        for field in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(entry["response"].get(field).is_some(), "response {field}");
        }
        for field in ["send", "wait", "receive"] {
            assert!(entry["timings"].get(field).is_some(), "timings {field}");
        }
        assert_eq!(entry["response"]["content"]["size"], 2);
    }
}
