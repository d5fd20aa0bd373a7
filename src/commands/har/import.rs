//! `cognito-vcr import --har`: the Cognito calls of a HAR file recorded into a cassette by the
//! steps a record run takes (the run's rewrite pipeline: stand-ins, virtual dates, pagination
//! tokens, secrets hashed and handed-out values as placeholders, keying; the store, then the
//! cassette written atomically), and what was skipped, and why.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use super::SCOPE_PATH;
use crate::cassette::Scope;
use crate::cognito::wire;
use crate::config::file::Settings;
use crate::error::Result;
use crate::har::{self, Entry};
use crate::keying::key::RequestKey;
use crate::rewrite::page_tokens::OutgoingBody;
use crate::rewrite::Pipeline;
use crate::store::Store;

/// What `import --har` does besides recording.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The scope to record into; `None`: the scope each entry's URL path names (`/scope/NAME`,
    /// as the proxy serves scopes and `export --har` writes them), else the default scope.
    pub scope: Option<Scope>,
    /// Also record 5xx and throttling answers (as `serve --record-server-errors`).
    pub record_server_errors: bool,
}

/// Why an entry was not imported, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Skip {
    /// Not a POST with `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>` (or
    /// `AWSCognitoIdentityService.<Operation>`).
    NotCognito,
    /// No response, or status 0 (what tools write for a request that got no answer).
    NoResponse,
    /// No `postData.text`: the tool did not keep the request body.
    NoRequestBody,
    /// A request body that is not a JSON object.
    BadRequestBody,
    /// No `content.text`: the tool did not keep the response body.
    NoResponseBody,
    /// A response body that does not decode.
    BadResponseBody,
    /// A URL path under `/scope/` that names no valid scope.
    BadScope,
    /// A 5xx or throttling answer, which recording does not keep.
    NotRecorded,
    /// More secret values than are hashed per request.
    TooManySecrets,
    /// A synthetic pagination token that no earlier entry handed out.
    UnknownPageToken,
}

impl Skip {
    /// The group's words in the report: "N entries <words>".
    fn words(self) -> &'static str {
        match self {
            Skip::NotCognito => "not Cognito user-pools calls",
            Skip::NoResponse => "without a response",
            Skip::NoRequestBody => "without their request body in the HAR (no postData.text)",
            Skip::BadRequestBody => "with a request body that is not a JSON object",
            Skip::NoResponseBody => "without their response body in the HAR (no content.text)",
            Skip::BadResponseBody => "with a response body that cannot be read",
            Skip::BadScope => "whose URL names no valid scope",
            Skip::NotRecorded => "answered with a server error or throttling, which recording does not keep (--record-server-errors keeps them)",
            Skip::TooManySecrets => "carrying more secret values than are hashed per request",
            Skip::UnknownPageToken => "sending back a synthetic pagination token that no earlier entry handed out",
        }
    }
}

/// One entry not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub reason: Skip,
    /// Its place in the file, 1 for the first entry.
    pub entry: usize,
    /// `METHOD URL`, and the operation when there is one.
    pub what: String,
    /// The reason in more words, where there are any.
    pub detail: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    pub har: PathBuf,
    pub cassette: PathBuf,
    /// Entries in the HAR file.
    pub entries: usize,
    /// Interactions recorded, by scope.
    pub recorded: BTreeMap<Scope, usize>,
    pub skipped: Vec<Skipped>,
    /// Interactions the cassette holds now (`None`: nothing recorded, the cassette untouched).
    pub written: Option<usize>,
}

impl Imported {
    /// Interactions recorded in all.
    pub fn count(&self) -> usize {
        self.recorded.values().sum()
    }
}

/// Record the Cognito calls of the HAR file `har` (`-`: standard input) into `cassette`, in
/// file order, each after what the cassette holds already (occurrences go on from the last one
/// recorded of the same request in the same scope). The cassette is written only if something
/// was recorded.
pub async fn import(
    har: &Path,
    cassette: &Path,
    store_dir: &Path,
    settings: &Settings,
    options: &ImportOptions,
) -> Result<Imported> {
    let entries = har::read(har)?;
    let (store, _) = Store::open(cassette, store_dir, &settings.rules)?;
    let mut importer = Importer {
        pipeline: Pipeline::new(settings),
        store: &store,
        next: HashMap::new(),
        options,
    };
    let mut imported = Imported {
        har: har.into(),
        cassette: cassette.into(),
        entries: entries.len(),
        recorded: BTreeMap::new(),
        skipped: Vec::new(),
        written: None,
    };
    for (n, entry) in entries.iter().enumerate() {
        match importer.entry(entry).await? {
            Ok(scope) => *imported.recorded.entry(scope).or_default() += 1,
            Err((reason, operation, detail)) => imported.skipped.push(Skipped {
                reason,
                entry: n + 1,
                what: what(entry, operation),
                detail,
            }),
        }
    }
    if store.is_dirty() {
        imported.written = Some(store.export_or_explain()?);
    }
    Ok(imported)
}

/// Why an entry is skipped: the reason, its operation if known, more words if any.
type Skipping = (Skip, Option<String>, Option<String>);

/// The state of one import: as a record run's, one pipeline that learns as it goes.
struct Importer<'s> {
    pipeline: Pipeline,
    store: &'s Store,
    /// The next occurrence of each request seen so far.
    next: HashMap<RequestKey, u32>,
    options: &'s ImportOptions,
}

impl Importer<'_> {
    /// Record one entry as a record run records an exchange (see `proxy/exchange.rs` and
    /// `proxy/forward.rs`): the request as stored and keyed, its occurrence, the answer as
    /// stored, durable in the store. `Ok(Err(..))`: skipped; `Err`: the store failed.
    async fn entry(&mut self, entry: &Entry) -> Result<Result<Scope, Skipping>> {
        let skip = |reason, operation: Option<&str>, detail: Option<String>| {
            Ok(Err((reason, operation.map(str::to_owned), detail)))
        };
        let target = entry.request.header("x-amz-target");
        let operation = match wire::operation_of(target) {
            Ok(op) if entry.request.method.eq_ignore_ascii_case("POST") => op,
            _ => return skip(Skip::NotCognito, None, None),
        };
        let op = Some(operation);
        let scope = match &self.options.scope {
            Some(scope) => scope.clone(),
            None => match scope_of(&entry.request.url) {
                Ok(scope) => scope,
                Err(why) => return skip(Skip::BadScope, op, Some(why)),
            },
        };
        let Some(answer) = entry.response.as_ref().filter(|r| r.status != 0) else {
            return skip(Skip::NoResponse, op, None);
        };
        let Some(sent) = entry
            .request
            .post_data
            .as_ref()
            .and_then(|p| p.text.as_ref())
        else {
            return skip(Skip::NoRequestBody, op, None);
        };
        let request = match wire::Request::parse(target, Bytes::from(sent.clone())) {
            Ok(request) => request,
            Err(wire::BadRequest::Serialization(why)) => {
                return skip(Skip::BadRequestBody, op, Some(why))
            }
            Err(other) => return skip(Skip::BadRequestBody, op, Some(format!("{other:?}"))),
        };
        let body = match answer.content.bytes() {
            None => return skip(Skip::NoResponseBody, op, None),
            Some(Err(why)) => return skip(Skip::BadResponseBody, op, Some(why)),
            Some(Ok(body)) => Bytes::from(body),
        };
        if let Err(bad) = self
            .pipeline
            .secrets_to_hash(&request.operation, &request.body)
        {
            let why = match bad {
                wire::BadRequest::Serialization(why) => why,
                other => format!("{other:?}"),
            };
            return skip(Skip::TooManySecrets, op, Some(why));
        }
        if let OutgoingBody::Unknown(token) = self.pipeline.outgoing(operation, &request.body) {
            return skip(Skip::UnknownPageToken, op, Some(token));
        }
        let stored = self
            .pipeline
            .request(&request.operation, &request.body)
            .into_owned();
        let key = self
            .pipeline
            .key(request.operation.clone(), &stored)
            .in_scope(scope.clone());
        let occurrence = self.occurrence(&key)?;
        let headers = answer
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()));
        let mut response = wire::Response::recorded(answer.status, headers, body);
        // As record mode keeps it: the real Cognito's latency (a browser's HAR), not a local
        // upstream's.
        let took = std::time::Duration::from_millis(entry.time);
        if is_aws(&entry.request.url) && crate::cassette::timing::worth_keeping(took) {
            crate::cassette::timing::set(&mut response, took);
        }
        let server_errors = self.options.record_server_errors;
        let recorded = self.pipeline.recorded(
            &key,
            occurrence,
            stored,
            &request.body,
            response,
            server_errors,
        );
        let Some(interaction) = recorded else {
            return skip(
                Skip::NotRecorded,
                op,
                Some(format!("status {}", answer.status)),
            );
        };
        self.store.record(&key, &interaction).await?;
        self.next.insert(key, occurrence + 1);
        Ok(Ok(scope))
    }

    /// The occurrence this request takes: the one after the last recorded (in the cassette, or
    /// earlier in this import).
    fn occurrence(&mut self, key: &RequestKey) -> Result<u32> {
        if let Some(next) = self.next.get(key) {
            return Ok(*next);
        }
        let last = self.store.all(key)?.last().map_or(0, |(o, _)| *o);
        Ok(last.saturating_add(1))
    }
}

/// The scope a URL's path names: `/scope/NAME` (or `/scope/NAME/`), else the default scope.
/// Whether `url` is the real Cognito's (`https://cognito-idp.<region>.amazonaws.com/`).
fn is_aws(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
}

fn scope_of(url: &str) -> Result<Scope, String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    match path.strip_prefix(SCOPE_PATH) {
        None => Ok(Scope::default()),
        Some(rest) => Scope::named(rest.strip_suffix('/').unwrap_or(rest)),
    }
}

/// `METHOD URL (Operation)` of an entry for the report, a long URL (a `data:` one) cut short.
fn what(entry: &Entry, operation: Option<String>) -> String {
    const LONGEST: usize = 96;
    let url = &entry.request.url;
    let url = match url.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{}...", &url[..cut]),
        None => url.clone(),
    };
    let mut what = format!("{} {url}", entry.request.method);
    if let Some(op) = operation {
        what.push_str(&format!(" ({op})"));
    }
    what
}

impl fmt::Display for Imported {
    /// `imported N of M entries of HAR into CASSETTE (...)`, then the skipped entries grouped
    /// by reason, with the first few of each group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 3;
        let scopes: Vec<String> = self
            .recorded
            .iter()
            .map(|(scope, n)| match scope.name() {
                Some(name) => format!("{n} in scope {name}"),
                None => format!("{n} in the default scope"),
            })
            .collect();
        write!(
            f,
            "imported {} of {} entries of {} into {}",
            self.count(),
            self.entries,
            self.har.display(),
            self.cassette.display()
        )?;
        match self.written {
            Some(n) => writeln!(f, " ({}); it holds {n} interactions", scopes.join(", "))?,
            None => writeln!(f, "; the cassette is unchanged")?,
        }
        if self.skipped.is_empty() {
            return Ok(());
        }
        let mut groups: BTreeMap<Skip, Vec<&Skipped>> = BTreeMap::new();
        for s in &self.skipped {
            groups.entry(s.reason).or_default().push(s);
        }
        writeln!(f, "{} entries skipped:", self.skipped.len())?;
        for (reason, skipped) in groups {
            let shown: Vec<String> = skipped
                .iter()
                .take(SHOWN)
                .map(|s| match &s.detail {
                    Some(detail) => format!("#{} {}: {detail}", s.entry, s.what),
                    None => format!("#{} {}", s.entry, s.what),
                })
                .collect();
            let more = match skipped.len().saturating_sub(SHOWN) {
                0 => String::new(),
                n => format!("; and {n} more"),
            };
            writeln!(
                f,
                "  {} {}: {}{more}",
                skipped.len(),
                reason.words(),
                shown.join("; ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::wire::TARGET_PREFIX;
    use crate::rewrite::redact::REDACTED_PREFIX;
    use serde_json::{json, Value};

    /// The target header an SDK sends for `operation`.
    fn target(operation: &str) -> String {
        format!("{TARGET_PREFIX}{operation}")
    }

    /// A HAR entry: a Cognito call when `operation` is given.
    fn entry(url: &str, operation: Option<&str>, body: Option<&str>, answer: Value) -> Value {
        let mut headers = vec![json!({"name": "accept", "value": "*/*"})];
        if let Some(op) = operation {
            headers.push(json!({"name": "x-amz-target", "value": target(op)}));
            headers.push(json!({"name": "Authorization", "value": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x"}));
        }
        let mut request = json!({"method": if operation.is_some() { "POST" } else { "GET" },
            "url": url, "headers": headers});
        if let Some(body) = body {
            request["postData"] = json!({"mimeType": "application/x-amz-json-1.1", "text": body});
        }
        json!({"request": request, "response": answer})
    }

    fn ok(body: &str) -> Value {
        json!({"status": 200, "headers": [
            {"name": "Content-Type", "value": "application/x-amz-json-1.1"},
            {"name": "x-amzn-RequestId", "value": "req-1"}],
            "content": {"mimeType": "application/x-amz-json-1.1", "text": body}})
    }

    async fn run(dir: &Path, entries: Vec<Value>, options: &ImportOptions) -> Imported {
        let har = dir.join("session.har");
        let text = json!({"log": {"version": "1.2", "entries": entries}});
        std::fs::write(&har, text.to_string()).unwrap();
        let cassette = dir.join("c.json");
        let store = dir.join("c.sled");
        import(&har, &cassette, &store, &Settings::default(), options)
            .await
            .unwrap()
    }

    const COGNITO: &str = "https://cognito-idp.us-east-1.amazonaws.com/";

    #[tokio::test]
    async fn cognito_calls_are_recorded_with_secrets_hashed_and_the_rest_skipped_by_reason() {
        let dir = tempfile::tempdir().unwrap();
        let sign_in = r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c1","AuthParameters":{"USERNAME":"carol","PASSWORD":"Carol-Secret-1!"}}"#;
        let tokens = r#"{"AuthenticationResult":{"AccessToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c2lnbmF0dXJlMTIzNDU2Nzg","ExpiresIn":3600,"RefreshToken":"refresh-real-0123456789","TokenType":"Bearer"}}"#;
        let get_user = r#"{"AccessToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c2lnbmF0dXJlMTIzNDU2Nzg"}"#;
        let entries = vec![
            entry("https://app.example.com/", None, None, ok("<html>")),
            entry(COGNITO, Some("InitiateAuth"), Some(sign_in), ok(tokens)),
            entry(
                COGNITO,
                Some("GetUser"),
                Some(get_user),
                ok(r#"{"Username":"carol"}"#),
            ),
            entry(COGNITO, Some("ListUsers"), Some("{not json"), ok("{}")),
            entry(COGNITO, Some("ListUsers"), None, ok("{}")),
            entry(
                COGNITO,
                Some("ListUsers"),
                Some("{}"),
                json!({"status": 0, "content": {}}),
            ),
            entry(
                COGNITO,
                Some("ListUsers"),
                Some("{}"),
                json!({"status": 200}),
            ),
            entry(
                COGNITO,
                Some("ListUsers"),
                Some("{}"),
                json!({"status": 200, "content": {"text": "!!", "encoding": "base64"}}),
            ),
            entry(
                COGNITO,
                Some("ListUsers"),
                Some("{}"),
                json!({"status": 503, "content": {"text": "{}"}}),
            ),
            entry(
                "http://127.0.0.1:1/scope/a b",
                Some("ListUsers"),
                Some("{}"),
                ok("{}"),
            ),
            entry(
                COGNITO,
                Some("ListUsers"),
                Some(r#"{"UserPoolId":"p","PaginationToken":"cognito-vcr-token-00"}"#),
                ok("{}"),
            ),
        ];
        let imported = run(dir.path(), entries, &ImportOptions::default()).await;
        assert_eq!(imported.count(), 2, "{imported}");
        assert_eq!(imported.written, Some(2));
        let reasons: Vec<(Skip, usize)> = imported
            .skipped
            .iter()
            .map(|s| (s.reason, s.entry))
            .collect();
        assert_eq!(
            reasons,
            [
                (Skip::NotCognito, 1),
                (Skip::BadRequestBody, 4),
                (Skip::NoRequestBody, 5),
                (Skip::NoResponse, 6),
                (Skip::NoResponseBody, 7),
                (Skip::BadResponseBody, 8),
                (Skip::NotRecorded, 9),
                (Skip::BadScope, 10),
                (Skip::UnknownPageToken, 11),
            ]
        );
        let report = imported.to_string();
        assert!(report.contains("imported 2 of 11 entries of"), "{report}");
        assert!(report.contains("9 entries skipped:\n"), "{report}");
        assert!(
            report.contains("  1 not Cognito user-pools calls: #1 GET https://app.example.com/\n"),
            "{report}"
        );
        assert!(
            report.contains("  1 without a response: #6 POST https://cognito-idp.us-east-1.amazonaws.com/ (ListUsers)\n"),
            "{report}"
        );
        // What is stored: no password, no token, no request header.
        let text = std::fs::read_to_string(dir.path().join("c.json")).unwrap();
        for secret in [
            "Carol-Secret-1!",
            "c2lnbmF0dXJlMTIzNDU2Nzg",
            "refresh-real-0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "req-1",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains(REDACTED_PREFIX), "{text}");
        assert!(text.contains(crate::jwt::PLACEHOLDER_PREFIX), "{text}");
        // The access token GetUser sends back is stored as the placeholder InitiateAuth handed out.
        let cassette = crate::cassette::load(&dir.path().join("c.json"))
            .unwrap()
            .unwrap();
        let get_user = cassette.iter().find(|i| i.operation == "GetUser").unwrap();
        let placeholder = get_user.request["AccessToken"].as_str().unwrap();
        let initiate = cassette
            .iter()
            .find(|i| i.operation == "InitiateAuth")
            .unwrap();
        let answer: Value = serde_json::from_slice(&initiate.response.body).unwrap();
        assert_eq!(answer["AuthenticationResult"]["AccessToken"], placeholder);
    }

    #[tokio::test]
    async fn occurrences_go_on_after_what_the_cassette_holds_in_the_scope() {
        let dir = tempfile::tempdir().unwrap();
        let list = |users: &str, url: &str| {
            entry(
                url,
                Some("ListUsers"),
                Some(r#"{"UserPoolId":"p"}"#),
                ok(&format!(r#"{{"Users":[{users}]}}"#)),
            )
        };
        let first = vec![list("1", COGNITO), list("2", COGNITO)];
        let imported = run(dir.path(), first, &ImportOptions::default()).await;
        assert_eq!(imported.written, Some(2));
        // Again, and into scope t1 by the URL or by the option.
        let second = vec![
            list("3", COGNITO),
            list("4", "http://127.0.0.1:9/scope/t1/"),
        ];
        let imported = run(dir.path(), second, &ImportOptions::default()).await;
        assert_eq!(imported.written, Some(4), "{imported}");
        let t1 = Scope::named("t1").unwrap();
        let options = ImportOptions {
            scope: Some(t1.clone()),
            ..ImportOptions::default()
        };
        let imported = run(dir.path(), vec![list("5", COGNITO)], &options).await;
        assert_eq!(imported.recorded, BTreeMap::from([(t1, 1)]));
        let cassette = crate::cassette::load(&dir.path().join("c.json"))
            .unwrap()
            .unwrap();
        let got: Vec<(Option<&str>, u32, String)> = cassette
            .iter()
            .map(|i| {
                (
                    i.scope.name(),
                    i.occurrence,
                    String::from_utf8_lossy(&i.response.body).into_owned(),
                )
            })
            .collect();
        let users = |n: u32| format!(r#"{{"Users":[{n}]}}"#);
        assert_eq!(
            got,
            [
                (None, 1, users(1)),
                (None, 2, users(2)),
                (None, 3, users(3)),
                (Some("t1"), 1, users(4)),
                (Some("t1"), 2, users(5)),
            ]
        );
    }

    #[tokio::test]
    async fn nothing_imported_leaves_the_cassette_unwritten() {
        let dir = tempfile::tempdir().unwrap();
        let entries = vec![entry("https://app.example.com/", None, None, ok("x"))];
        let imported = run(dir.path(), entries, &ImportOptions::default()).await;
        assert_eq!((imported.count(), imported.written), (0, None));
        assert!(!dir.path().join("c.json").exists());
        assert!(imported.to_string().contains("the cassette is unchanged"));
    }

    #[tokio::test]
    async fn the_real_cognitos_time_is_kept_as_a_latency_class_a_local_ones_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let timed = |url: &str, pool: &str, time: f64| {
            let body = format!(r#"{{"UserPoolId":"{pool}"}}"#);
            let mut e = entry(url, Some("ListUsers"), Some(&body), ok(r#"{"Users":[]}"#));
            e["time"] = json!(time);
            e
        };
        let entries = vec![
            timed(COGNITO, "us-east-1_A", 183.7),
            timed(COGNITO, "us-east-1_B", 12.0),
            timed("http://127.0.0.1:5000/", "us-east-1_C", 480.0),
        ];
        let imported = run(dir.path(), entries, &ImportOptions::default()).await;
        assert_eq!(imported.written, Some(3), "{imported}");
        let cassette = crate::cassette::load(&dir.path().join("c.json"))
            .unwrap()
            .unwrap();
        let class = |pool: &str| {
            let i = cassette
                .iter()
                .find(|i| i.request["UserPoolId"] == pool)
                .unwrap();
            crate::cassette::timing::of(&i.response)
        };
        assert_eq!(class("us-east-1_A"), Some(200));
        assert_eq!(class("us-east-1_B"), None, "under 50 ms");
        assert_eq!(class("us-east-1_C"), None, "not the real Cognito");
        assert!(is_aws("https://cognito-idp.eu-west-1.amazonaws.com/"));
        assert!(!is_aws("https://amazonaws.com.evil.example/"));
        assert!(!is_aws("http://localhost:9229/"));
    }

    #[test]
    fn the_scope_is_the_one_the_url_path_names() {
        for (url, scope) in [
            ("https://cognito-idp.eu-west-1.amazonaws.com/", None),
            ("http://127.0.0.1:4000", None),
            ("http://localhost/scope/t1", Some("t1")),
            ("http://localhost/scope/t1/?x=1", Some("t1")),
            ("/scope/a.b-c_9", Some("a.b-c_9")),
        ] {
            assert_eq!(scope_of(url).unwrap().name(), scope, "{url}");
        }
        assert!(scope_of("http://localhost/scope/").is_err());
        assert!(scope_of("http://localhost/scope/t1/reset").is_err());
    }
}
