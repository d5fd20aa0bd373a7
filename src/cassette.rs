//! The JSON cassette: the committed, reviewable form of a recording. Load, order, write atomically.
//!
//! ```json
//! { "version": 1,
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

use crate::error::{Error, Result};
use crate::exchange::Response;
use crate::key::canonical;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The cassette format version this build reads and writes.
pub const VERSION: u64 = 1;

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub operation: String,
    /// 1 for the first time this (operation, body) was seen in the session, 2 for the next...
    pub occurrence: u32,
    pub request: Value,
    pub response: Response,
}

// The fields of these structs are declared in alphabetical order: serialized directly, they give
// a file whose keys are all sorted (maps inside `Value` are sorted already). Going through
// `serde_json::to_value` instead would re-normalize numbers (`1.5E9` → `1.5e+9`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CassetteJson {
    interactions: Vec<InteractionJson>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionJson {
    occurrence: u32,
    operation: String,
    request: RequestJson,
    response: ResponseJson,
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
        let (body, body_text) = match crate::json::parse(&i.response.body) {
            Ok(v) => (Some(v), None),
            Err(_) if i.response.body.is_empty() => (None, None),
            Err(_) => (
                None,
                Some(String::from_utf8_lossy(&i.response.body).into_owned()),
            ),
        };
        InteractionJson {
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
            operation: j.operation,
            occurrence: j.occurrence,
            request: j.request.body,
            response: Response {
                status: j.response.status,
                headers: j.response.headers.into_iter().collect(),
                body,
            },
        }
    }
}

/// Read a cassette. A missing file is `Ok(None)`; a file that is not a valid cassette is an
/// error naming the file and the position, and the file is never touched.
pub fn load(path: &Path) -> Result<Option<Vec<Interaction>>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::ReadCassette {
                path: path.into(),
                source,
            })
        }
    };
    parse(path, &text).map(Some)
}

/// Parse cassette bytes; `path` only names the file in errors.
pub fn parse(path: &Path, text: &[u8]) -> Result<Vec<Interaction>> {
    let corrupt = |line, column, message: String| Error::CorruptCassette {
        path: path.into(),
        line,
        column,
        message,
    };
    let mut file: CassetteJson =
        serde_json::from_slice(text).map_err(|e| corrupt(e.line(), e.column(), e.to_string()))?;
    let spellings = crate::json::exponent_spellings(text);
    if !spellings.is_empty() {
        for i in &mut file.interactions {
            crate::json::restore(&mut i.request.body, &spellings);
            if let Some(body) = &mut i.response.body {
                crate::json::restore(body, &spellings);
            }
        }
    }
    if file.version != VERSION {
        return Err(Error::CassetteVersion {
            path: path.into(),
            found: file.version,
            supported: VERSION,
        });
    }
    let mut seen = HashSet::with_capacity(file.interactions.len());
    let mut out = Vec::with_capacity(file.interactions.len());
    for (index, j) in file.interactions.into_iter().enumerate() {
        let what = |m: &str| corrupt(0, 0, format!("interaction {index} ({}): {m}", j.operation));
        if crate::exchange::operation_of(Some(&format!(
            "{}{}",
            crate::exchange::TARGET_PREFIX,
            j.operation
        )))
        .is_err()
        {
            return Err(what("operation is not a Cognito operation name"));
        }
        if j.occurrence == 0 {
            return Err(what("occurrence starts at 1"));
        }
        if !j.request.body.is_object() {
            return Err(what("request body must be a JSON object"));
        }
        let i = Interaction::from(j);
        let key = crate::key::RequestKey::new(&i.operation, &i.request);
        if !seen.insert((key, i.occurrence)) {
            return Err(corrupt(
                0,
                0,
                format!(
                    "interaction {index} ({}): occurrence {} of this request is recorded twice",
                    i.operation, i.occurrence
                ),
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// Put interactions in the cassette's deterministic order.
pub fn sort(interactions: &mut [Interaction]) {
    interactions.sort_by_cached_key(|i| (i.operation.clone(), canonical(&i.request), i.occurrence));
}

/// The cassette text: pretty-printed, keys sorted, interactions sorted, trailing newline.
pub fn render(interactions: &mut [Interaction]) -> Vec<u8> {
    sort(interactions);
    let file = CassetteJson {
        version: VERSION,
        interactions: interactions.iter().map(InteractionJson::from).collect(),
    };
    let mut out = serde_json::to_vec_pretty(&file).expect("writing to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// Write a cassette atomically: temporary file in the same directory, fsync, rename, fsync dir.
pub fn write(path: &Path, interactions: &mut [Interaction]) -> Result<()> {
    let text = render(interactions);
    write_atomically(path, &text).map_err(|source| Error::WriteCassette {
        path: path.into(),
        source,
    })
}

fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.unwrap_or_else(|| "cassette".into()),
        std::process::id()
    ));
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        w.write_all(text)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interaction(op: &str, occ: u32, req: Value, body: &str) -> Interaction {
        Interaction {
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
            b"{\n  \"version\": 1,\n  \"interactions\": [ oops ]\n}",
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
}
