//! The JSON cassette: the committed, reviewable form of a recording. Load, order, write atomically.
//!
//! ```json
//! { "version": 2,
//!   "interactions": [
//!     { "operation": "ListUsers", "occurrence": 1,
//!       "request": { "body": { "Limit": 7, "UserPoolId": "us-east-1_X" } },
//!       "response": { "status": 200,
//!                     "headers": { "content-type": "application/x-amz-json-1.1" },
//!                     "body": { "Users": [ ... ] } } } ] }
//! ```
//! A response body that is not JSON is kept as `body_text`. Keys are sorted, numbers keep their
//! text, interactions are ordered by (operation, canonical request body, occurrence), so the
//! same session recorded twice gives the same bytes.

use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::keying::canonical::canonical;
pub use crate::keying::scope::Scope;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub mod dates;
mod stream;
pub mod timing;

pub use dates::Dates;

/// The cassette format version this build reads and writes.
pub const VERSION: u64 = 2;

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The scope it was recorded in (see [`Scope`]); the default scope when none.
    pub scope: Scope,
    pub operation: String,
    /// 1 for the first time this (operation, body) was seen in the session, 2 for the next...
    pub occurrence: u32,
    pub request: Value,
    pub response: Response,
}

// The fields of these structs are declared in alphabetical order: serialized directly, they give
// a file whose keys are all sorted (maps inside `Value` are sorted already). Going through
// `serde_json::to_value` instead would re-normalize numbers (`1.5E9` → `1.5e+9`).
// Written only: reading goes through `stream`, which visits the same two fields by hand.
#[derive(Serialize)]
struct CassetteJson<'a> {
    interactions: Vec<InteractionJson>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    scopes: &'a Dates,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionJson {
    occurrence: u32,
    operation: String,
    request: RequestJson,
    response: ResponseJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    body: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_text: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    status: u16,
}

impl From<&Interaction> for InteractionJson {
    fn from(i: &Interaction) -> Self {
        let (body, body_text) = match crate::keying::json::parse(&i.response.body) {
            Ok(v) => (Some(v), None),
            Err(_) if i.response.body.is_empty() => (None, None),
            Err(_) => (
                None,
                Some(String::from_utf8_lossy(&i.response.body).into_owned()),
            ),
        };
        InteractionJson {
            scope: i.scope.name().map(str::to_owned),
            operation: i.operation.clone(),
            occurrence: i.occurrence,
            request: RequestJson {
                body: i.request.clone(),
            },
            response: ResponseJson {
                status: i.response.status,
                headers: i.response.headers.iter().cloned().collect(),
                body,
                body_text,
            },
        }
    }
}

impl From<InteractionJson> for Interaction {
    fn from(j: InteractionJson) -> Self {
        let body = match (j.response.body, j.response.body_text) {
            (Some(v), _) => Bytes::from(canonical(&v)),
            (None, Some(t)) => Bytes::from(t),
            (None, None) => Bytes::new(),
        };
        Interaction {
            // Checked when read (see `stream`): a bad name never gets this far.
            scope: Scope::from_name(j.scope.as_deref()).unwrap_or_default(),
            operation: j.operation,
            occurrence: j.occurrence,
            request: j.request.body,
            response: Response {
                status: j.response.status,
                // The same rule as recording: a hand-edited `content-length` (which would
                // desynchronize keep-alive) or a `set-cookie` never goes out.
                headers: j
                    .response
                    .headers
                    .into_iter()
                    .filter(|(name, _)| crate::cognito::wire::keep_stored_header(name))
                    .collect(),
                body,
            },
        }
    }
}

/// Read a cassette. A missing file is `Ok(None)`; a file that is not a valid cassette is an
/// error naming the file and the position, and the file is never touched.
pub fn load(path: &Path) -> Result<Option<Vec<Interaction>>> {
    match read(path)? {
        Some(text) => parse(path, &text).map(Some),
        None => Ok(None),
    }
}

/// A cassette's bytes; a missing file is `Ok(None)`.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ReadCassette {
            path: path.into(),
            source,
        }),
    }
}

/// Parse cassette bytes; `path` only names the file in errors.
pub fn parse(path: &Path, text: &[u8]) -> Result<Vec<Interaction>> {
    let mut out = Vec::new();
    for_each(path, text, |i| {
        out.push(i);
        Ok(())
    })?;
    Ok(out)
}

/// Parse cassette bytes and hand over one validated interaction at a time, in file order,
/// without holding the others; returns how many there were. The checks are those of [`parse`],
/// but an error can come after `f` has taken earlier interactions (a duplicate at the end, JSON
/// cut short). From a cassette of another version nothing is handed over when its version is
/// the last field (as this program writes it, keys sorted) or comes before the interactions.
pub fn for_each(
    path: &Path,
    text: &[u8],
    mut f: impl FnMut(Interaction) -> Result<()>,
) -> Result<usize> {
    stream::run(path, text, &mut |i, _, _| f(i))
}

/// [`for_each`], also handing over what the duplicate check computed anyway: the request's
/// key without keying rules and its canonical body, so that an importer need not again.
pub(crate) fn for_each_keyed(path: &Path, text: &[u8], f: stream::Consumer<'_>) -> Result<usize> {
    stream::run(path, text, f)
}

/// Put interactions in the cassette's deterministic order: by scope (the default scope first),
/// operation, canonical request body, occurrence.
pub fn sort(interactions: &mut [Interaction]) {
    interactions.sort_by_cached_key(|i| {
        (
            i.scope.clone(),
            i.operation.clone(),
            canonical(&i.request),
            i.occurrence,
        )
    });
}

/// The cassette text: pretty-printed, keys sorted, interactions sorted, trailing newline; each
/// scope dated `today` (see [`write`] for dates kept from an earlier file).
#[cfg(test)]
pub fn render(interactions: &mut [Interaction]) -> Vec<u8> {
    sort(interactions);
    let dated = dates::reconcile(interactions, None, dates::today(), None);
    render_dated(interactions, &dated)
}

/// The cassette text of sorted `interactions` with their scopes' `dates`.
fn render_dated(interactions: &[Interaction], dates: &Dates) -> Vec<u8> {
    let file = CassetteJson {
        version: VERSION,
        interactions: interactions.iter().map(InteractionJson::from).collect(),
        scopes: dates,
    };
    let mut out = serde_json::to_vec_pretty(&file).expect("writing to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// Write a cassette atomically: temporary file in the same directory, fsync, rename, fsync dir.
/// A scope recorded the same as in the file it replaces keeps that file's date.
pub fn write(path: &Path, interactions: &mut [Interaction]) -> Result<()> {
    write_dated(path, interactions, None)
}

/// [`write`], also giving today's date to the unchanged scopes `refresh` names when they are
/// older than it says (a re-record after replay said they were too old).
pub fn write_dated(
    path: &Path,
    interactions: &mut [Interaction],
    refresh: Option<&dates::Refresh>,
) -> Result<()> {
    sort(interactions);
    // What the file held: an unreadable one (another version, hand-broken) dates nothing.
    let before = read(path).ok().flatten().and_then(|text| {
        let old = parse(path, &text).ok()?;
        Some((old, dates::read(&text)))
    });
    if let Some((old, _)) = &before {
        timing::steady(interactions, old);
    }
    let dated = dates::reconcile(
        interactions,
        before.as_ref().map(|(i, d)| (i.as_slice(), d)),
        dates::today(),
        refresh,
    );
    drop(before);
    let text = render_dated(interactions, &dated);
    crate::files::write_atomically(path, &text).map_err(|source| Error::WriteCassette {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interaction(op: &str, occ: u32, req: Value, body: &str) -> Interaction {
        Interaction {
            scope: Scope::default(),
            operation: op.into(),
            occurrence: occ,
            request: req,
            response: Response {
                status: 200,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: Bytes::copy_from_slice(body.as_bytes()),
            },
        }
    }

    #[test]
    fn hand_edited_response_headers_are_filtered_as_recorded_ones() {
        let text = r#"{"interactions":[{"occurrence":1,"operation":"ListUsers","request":{"body":{}},"response":{"body":{},"headers":{"content-length":"999","content-type":"application/x-amz-json-1.1","set-cookie":"a=b"},"status":200}}],"version":2}"#;
        let got = parse(Path::new("c.json"), text.as_bytes()).unwrap();
        assert_eq!(
            got[0].response.headers,
            [(
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned()
            )]
        );
    }

    #[test]
    fn render_then_parse_round_trips_and_keeps_number_text() {
        let mut v = vec![
            interaction(
                "ListUsers",
                2,
                json!({"UserPoolId": "p"}),
                r#"{"Users":[],"d":1.682955829578E9}"#,
            ),
            interaction(
                "AdminGetUser",
                1,
                json!({"Username": "u", "UserPoolId": "p"}),
                "{}",
            ),
            interaction("ListUsers", 1, json!({"UserPoolId": "p"}), "not json"),
        ];
        let text = render(&mut v);
        let s = String::from_utf8(text.clone()).unwrap();
        assert!(s.contains("1.682955829578E9"), "{s}");
        assert!(s.contains(r#""body_text": "not json""#), "{s}");
        // Sorted: AdminGetUser first, then ListUsers by occurrence.
        let ops: Vec<_> = v
            .iter()
            .map(|i| (i.operation.as_str(), i.occurrence))
            .collect();
        assert_eq!(
            ops,
            [("AdminGetUser", 1), ("ListUsers", 1), ("ListUsers", 2)]
        );
        let mut back = parse(Path::new("t.json"), &text).unwrap();
        assert_eq!(render(&mut back), text);
        // Object keys are sorted in the file.
        assert!(s.find("\"UserPoolId\"").unwrap() < s.find("\"Username\"").unwrap());
        let a = s.find("\"operation\"").unwrap();
        let b = s.find("\"occurrence\"").unwrap();
        assert!(b < a, "keys sorted: occurrence before operation");
    }

    #[test]
    fn corrupt_cassette_names_file_and_position() {
        let err = parse(
            Path::new("c.json"),
            b"{\n  \"version\": 2,\n  \"interactions\": [ oops ]\n}",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("c.json") && msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn wrong_version_and_duplicates_are_rejected() {
        let err = parse(Path::new("c.json"), br#"{"version":9,"interactions":[]}"#).unwrap_err();
        assert!(err.to_string().contains("version 9"));
        let mut v = vec![interaction("ListUsers", 1, json!({}), "{}")];
        let one = String::from_utf8(render(&mut v)).unwrap();
        let twice = one.replacen("\"interactions\": [", "\"interactions\": [\n{\"operation\":\"ListUsers\",\"occurrence\":1,\"request\":{\"body\":{}},\"response\":{\"status\":200}},", 1);
        let err = parse(Path::new("c.json"), twice.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recorded twice"), "{err}");
    }

    #[test]
    fn write_is_atomic_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut v = vec![interaction("ListUsers", 1, json!({}), "{}")];
        write(&path, &mut v).unwrap();
        assert_eq!(load(&path).unwrap().unwrap(), v);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.json"]);
    }

    #[test]
    fn for_each_hands_over_one_at_a_time_with_the_same_checks() {
        let path = Path::new("c.json");
        let mut v = vec![
            interaction("ListUsers", 1, json!({}), "{}"),
            interaction("ListUsers", 2, json!({}), "{}"),
        ];
        let text = String::from_utf8(render(&mut v)).unwrap();
        let mut got = Vec::new();
        let n = for_each(path, text.as_bytes(), |i| {
            got.push(i);
            Ok(())
        });
        assert_eq!((n.unwrap(), got), (2, v));
        // A wrong version is refused before anything is handed over, written last or first.
        let last = text.replace("\"version\": 2", "\"version\": 3");
        let first = text
            .replace(",\n  \"version\": 2", "")
            .replacen('{', "{\"version\": 3,", 1);
        for bad in [last, first] {
            let err = for_each(path, bad.as_bytes(), |_| panic!("handed over")).unwrap_err();
            assert!(
                matches!(err, Error::CassetteVersion { found: 3, .. }),
                "{err}"
            );
        }
        // A version 1 cassette (tokens of the old derivation) says how to re-record it.
        let old = text.replace("\"version\": 2", "\"version\": 1");
        let err = for_each(path, old.as_bytes(), |_| panic!("handed over")).unwrap_err();
        assert!(err.to_string().contains("re-record it"), "{err}");
        // The consumer's own error comes back as it is.
        let err = for_each(path, text.as_bytes(), |_| {
            Err(Error::MissingCassette("x".into()))
        });
        assert!(matches!(err, Err(Error::MissingCassette(_))));
        for (bad, message) in [
            (
                r#"{"interactions":[],"version":2,"x":0}"#,
                "unknown field `x`",
            ),
            (r#"{"interactions":[]}"#, "missing field `version`"),
            (r#"{"version":2}"#, "missing field `interactions`"),
            (
                r#"{"interactions":[],"interactions":[],"version":2}"#,
                "duplicate field",
            ),
            (r#"{"interactions":{},"version":2}"#, "expected a sequence"),
            (
                r#"{"interactions":[],"version":2} x"#,
                "trailing characters",
            ),
        ] {
            let err = parse(path, bad.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(message), "{bad}: {err}");
        }
    }
}
