//! `cognito-vcr export --har`: a committed cassette, or one scope of it, as HAR 1.2, one entry
//! per interaction in cassette order, secrets as the cassette stores them.

use crate::cognito::wire::LATENCY_HEADER;
use std::path::Path;

use super::SCOPE_PATH;
use crate::cassette::{Interaction, Scope};
use crate::cognito::wire::{target_of, JSON_CONTENT_TYPE};
use crate::config::file::Settings;
use crate::error::{Error, Result};
use crate::har::{self, Content, Empty, Entry, HarError, Header, PostData, Request, Response};
use crate::keying::canonical::canonical;
use crate::store::Store;

/// What `export --har` writes.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Only this scope's interactions; `None`: every scope.
    pub scope: Option<Scope>,
    /// The scheme and host of the entries' URLs (`http://localhost`): the default scope's calls
    /// go to `BASE/`, a named scope's to `BASE/scope/NAME`, as the proxy serves them.
    pub base_url: String,
}

/// Write `cassette` as HAR to `out` (`-`: standard output), after writing into the cassette
/// what an unclean stop left in its store (as a replay start does); returns how many entries
/// were written. The cassette must exist; a scope it does not hold is an error naming those it
/// does.
pub fn export(
    cassette: &Path,
    store_dir: &Path,
    settings: &Settings,
    options: &ExportOptions,
    out: &Path,
) -> Result<usize> {
    Store::recover(cassette, store_dir, &settings.rules)?;
    let interactions =
        crate::cassette::load(cassette)?.ok_or_else(|| Error::MissingCassette(cassette.into()))?;
    let chosen: Vec<Interaction> = match &options.scope {
        None => interactions,
        Some(scope) => {
            let (chosen, others): (Vec<_>, Vec<_>) =
                interactions.into_iter().partition(|i| i.scope == *scope);
            if chosen.is_empty() {
                let mut held: Vec<String> = others.iter().map(|i| i.scope.to_string()).collect();
                held.dedup();
                let held = match held.is_empty() {
                    true => "it is empty".to_owned(),
                    false => format!("it holds scopes {}", held.join(", ")),
                };
                return Err(Error::NoSuchScope {
                    cassette: cassette.into(),
                    scope: scope.to_string(),
                    held,
                });
            }
            chosen
        }
    };
    let text = to_har(&chosen, &options.base_url);
    let written = match out == Path::new("-") {
        true => write_stdout(&text),
        false => crate::files::write_atomically(out, &text),
    };
    written.map_err(|source| HarError::Write {
        path: out.into(),
        source,
    })?;
    Ok(chosen.len())
}

/// The HAR text of `interactions`, in their order: the same interactions give the same bytes.
pub fn to_har(interactions: &[Interaction], base_url: &str) -> Vec<u8> {
    let base = base_url.trim_end_matches('/');
    let entries = interactions
        .iter()
        .enumerate()
        .map(|(n, i)| entry(n, i, base))
        .collect();
    har::render(entries)
}

/// One interaction as a HAR entry: the request as stored, sent as an SDK sends it; the answer
/// as stored.
fn entry(index: usize, i: &Interaction, base: &str) -> Entry {
    let body = String::from_utf8(canonical(&i.request)).expect("canonical JSON is UTF-8");
    let path = match i.scope.name() {
        Some(name) => format!("{SCOPE_PATH}{name}"),
        None => "/".to_owned(),
    };
    let mime_type = i
        .response
        .headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map_or(JSON_CONTENT_TYPE, |(_, value)| value.as_str());
    // The recorded latency class, if the call kept one: the whole time, all of it waiting.
    let took = crate::cassette::timing::of(&i.response).map_or(0, u64::from);
    Entry {
        started_date_time: har::started(index),
        time: took,
        request: Request {
            method: "POST".into(),
            url: format!("{base}{path}"),
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            headers: vec![
                header("Content-Type", JSON_CONTENT_TYPE),
                header("X-Amz-Target", &target_of(&i.operation)),
            ],
            query_string: vec![],
            body_size: body.len() as i64,
            post_data: Some(PostData {
                mime_type: JSON_CONTENT_TYPE.into(),
                text: Some(body),
            }),
            headers_size: -1,
        },
        response: Some(Response {
            status: i.response.status,
            status_text: har::status_text(i.response.status).into(),
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            // The latency class is the entry's time, not a header the upstream sent.
            headers: i
                .response
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case(LATENCY_HEADER))
                .map(|(name, value)| header(name, value))
                .collect(),
            content: Content::of(mime_type.into(), &i.response.body),
            redirect_url: String::new(),
            headers_size: -1,
            body_size: i.response.body.len() as i64,
        }),
        cache: Empty {},
        timings: har::Timings {
            wait: took,
            ..har::Timings::default()
        },
        comment: Some(format!(
            "cognito-vcr: {} occurrence {}{}",
            i.operation,
            i.occurrence,
            i.scope.label()
        )),
    }
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

/// Write `bytes` to stdout; a reader that closed it (`| head`) ends the output quietly.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        done => done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::wire;
    use bytes::Bytes;
    use serde_json::{json, Value};

    fn interaction(scope: Option<&str>, op: &str, occurrence: u32, body: &[u8]) -> Interaction {
        Interaction {
            scope: Scope::from_name(scope).unwrap(),
            operation: op.into(),
            occurrence,
            request: json!({"UserPoolId": "us-east-1_A", "Limit": 2}),
            response: wire::Response {
                status: 400,
                headers: vec![
                    ("content-type".into(), JSON_CONTENT_TYPE.into()),
                    ("x-amzn-errortype".into(), "UserNotFoundException:".into()),
                ],
                body: Bytes::copy_from_slice(body),
            },
        }
    }

    #[test]
    fn each_interaction_is_an_entry_in_order_with_its_scope_in_the_url() {
        let interactions = [
            interaction(None, "ListUsers", 1, br#"{"Users":[]}"#),
            interaction(Some("t1"), "AdminGetUser", 2, &[0xff, 0xfe]),
        ];
        let text = to_har(&interactions, "http://localhost/");
        assert_eq!(
            to_har(&interactions, "http://localhost/"),
            text,
            "same bytes"
        );
        let har: Value = serde_json::from_slice(&text).unwrap();
        let entries = har["log"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        let (first, second) = (&entries[0], &entries[1]);
        assert_eq!(first["request"]["url"], "http://localhost/");
        assert_eq!(second["request"]["url"], "http://localhost/scope/t1");
        assert_eq!(
            second["request"]["headers"][1],
            json!({"name": "X-Amz-Target", "value": "AWSCognitoIdentityProviderService.AdminGetUser"})
        );
        assert_eq!(
            first["request"]["postData"]["text"],
            r#"{"Limit":2,"UserPoolId":"us-east-1_A"}"#
        );
        assert_eq!(first["response"]["status"], 400);
        assert_eq!(first["response"]["statusText"], "Bad Request");
        assert_eq!(first["response"]["content"]["text"], r#"{"Users":[]}"#);
        assert_eq!(
            first["response"]["headers"][1],
            json!({"name": "x-amzn-errortype", "value": "UserNotFoundException:"})
        );
        assert_eq!(second["response"]["content"]["encoding"], "base64");
        assert_eq!(
            second["comment"],
            "cognito-vcr: AdminGetUser occurrence 2 in scope t1"
        );
        assert!(first["startedDateTime"].as_str() < second["startedDateTime"].as_str());
    }

    #[test]
    fn a_scope_the_cassette_does_not_hold_is_an_error_naming_those_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        let mut all = vec![
            interaction(None, "ListUsers", 1, b"{}"),
            interaction(Some("t1"), "ListUsers", 1, b"{}"),
        ];
        crate::cassette::write(&cassette, &mut all).unwrap();
        let options = |scope: &str| ExportOptions {
            scope: Some(Scope::named(scope).unwrap()),
            base_url: "http://localhost".into(),
        };
        let (store, settings) = (dir.path().join("s.sled"), Settings::default());
        let out = dir.path().join("out.har");
        let err = export(&cassette, &store, &settings, &options("t2"), &out).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cassette {} holds nothing in scope t2 (it holds scopes (default), t1)",
                cassette.display()
            )
        );
        assert!(!out.exists());
        assert_eq!(
            export(&cassette, &store, &settings, &options("t1"), &out).unwrap(),
            1
        );
        let missing = dir.path().join("none.json");
        let err = export(&missing, &store, &settings, &options("t1"), &out).unwrap_err();
        assert!(matches!(err, Error::MissingCassette(_)), "{err}");
    }
}
