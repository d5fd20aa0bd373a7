//! HAR files with a real tool: mitmproxy's `mitmdump` saves a HAR of a boto3 session
//! (`--set hardump=FILE`), `cognito-vcr import --har` records it into a cassette exactly as a
//! record run does, replay answers boto3 from it, and `export --har` writes HAR that mitmdump
//! reads back. Also a HAR as browser devtools save it, and a malformed one.
//!
//! Needs mitmproxy from `.ci/setup-har` (`bash .ci/test` runs it; `COGNITO_VCR_MITMDUMP` points
//! at another mitmdump) and the Python environment of `.ci/setup-python`.

use crate::interop::{interop, repo, script_with_env, Moto};
use crate::support::{call, cassette_in, path, run_to_success, vcr_command, workdir};
use cognito_vcr::{Mode, Proxy, ServeConfig};
use serde_json::{json, Value};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// mitmproxy's mitmdump, from the venv `.ci/setup-har` makes.
fn mitmdump() -> PathBuf {
    let found = std::env::var_os("COGNITO_VCR_MITMDUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/har-venv/bin/mitmdump"));
    assert!(
        found.exists(),
        "{} not found: run `bash .ci/test` (or `bash .ci/setup-har`) once to install mitmproxy",
        found.display()
    );
    found
}

/// `mitmdump ARGS` with a configuration directory of its own (its CA), not started yet.
fn mitmdump_command(confdir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(mitmdump());
    cmd.args(["--set", &format!("confdir={}", confdir.display())])
        .args(args)
        .env("HOME", confdir);
    cmd
}

/// mitmdump as a reverse proxy on 127.0.0.1 (a port the OS picks) in front of an upstream,
/// saving every exchange into a HAR file when it stops.
struct Mitmdump {
    child: Child,
    url: String,
    /// What it printed after its address, read on to the end so that it never blocks on a
    /// full pipe.
    output: std::thread::JoinHandle<String>,
}

impl Mitmdump {
    fn reverse(confdir: &Path, upstream: &str, har: &Path) -> Mitmdump {
        let mode = format!("reverse:{upstream}");
        let hardump = format!("hardump={}", har.display());
        let args = [
            "--mode",
            &mode,
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            "0",
            "--set",
            &hardump,
        ];
        let mut child = mitmdump_command(confdir, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It prints `... listening at 127.0.0.1:PORT.` once its socket is bound.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                panic!("mitmdump stopped before listening:\n{seen}{stderr}");
            }
            seen.push_str(&line);
            if let Some((_, at)) = line.split_once("listening at ") {
                break format!("http://{}", at.trim().trim_end_matches('.'));
            }
        };
        let output = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            rest
        });
        Mitmdump { child, url, output }
    }

    /// SIGINT, as Ctrl-C: mitmdump writes its HAR file on the way out. Waits for it.
    fn stop(mut self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let output = std::mem::replace(&mut self.output, std::thread::spawn(String::new));
        let output = output.join().unwrap();
        assert!(status.success(), "mitmdump: {status}\n{output}");
        assert!(output.contains("HAR file saved"), "{output}");
    }
}

impl Drop for Mitmdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// har_session.py against `url` with boto3: its stdout; the secrets it held go to `secrets`.
async fn har_session(url: String, secrets: &Path) -> String {
    let secrets = path(secrets).to_owned();
    tokio::task::spawn_blocking(move || {
        script_with_env(
            &interop("har_session.py"),
            &[&url],
            &[("COGNITO_VCR_SECRETS_OUT", &secrets)],
        )
    })
    .await
    .unwrap()
}

/// `cognito-vcr ARGS`, which must succeed: its stdout and stderr.
fn vcr(args: &[&str]) -> (String, String) {
    let out = run_to_success(&mut vcr_command(args));
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// What identifies an entry of a HAR file: method, URL, target, request body, status, response
/// body (text, base64 as written).
fn entries(har: &Path) -> Vec<Value> {
    let har: Value = serde_json::from_slice(&std::fs::read(har).unwrap()).unwrap();
    let target = |headers: &Value| {
        headers
            .as_array()
            .unwrap()
            .iter()
            .find(|h| {
                h["name"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("x-amz-target")
            })
            .map(|h| h["value"].clone())
    };
    har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!([
                e["request"]["method"],
                e["request"]["url"],
                target(&e["request"]["headers"]),
                e["request"]["postData"]["text"],
                e["response"]["status"],
                e["response"]["content"]["text"],
            ])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_har_mitmdump_saved_of_a_boto3_session_imports_as_its_recording_and_replays() {
    let dir = workdir();
    let (recorded, imported) = (cassette_in(&dir, "recorded"), cassette_in(&dir, "imported"));
    let (har, secrets) = (
        dir.path().join("session.har"),
        dir.path().join("secrets.txt"),
    );
    // boto3 → mitmdump (saving the HAR) → cognito-vcr recording → moto, in scope `signin`.
    let moto = Moto::start();
    let proxy = crate::support::recording(&recorded, &moto.url).await;
    let mitm = Mitmdump::reverse(dir.path(), &proxy.url(), &har);
    let live = har_session(format!("{}/scope/signin", mitm.url), &secrets).await;
    tokio::task::spawn_blocking(move || mitm.stop())
        .await
        .unwrap();
    let summary = proxy.stop().await.unwrap();
    moto.stop();
    assert_eq!((summary.recorded, summary.failed), (11, 0), "{summary}");
    let live_answers: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(live_answers["listed"], json!(["carol", "dave"]));
    assert_eq!(live_answers["get_user"], "carol");
    assert_eq!(
        live_answers["wrong_password"]["code"],
        "NotAuthorizedException"
    );

    // The HAR holds the session's secrets and the client's credentials...
    let har_text = std::fs::read_to_string(&har).unwrap();
    let held = std::fs::read_to_string(&secrets).unwrap();
    let mut secrets: Vec<&str> = held.lines().filter(|l| l.len() >= 8).collect();
    secrets.push("Credential=AKIDEXAMPLE/");
    assert!(secrets.len() >= 9, "{secrets:?}");
    for secret in &secrets {
        assert!(har_text.contains(secret), "{secret} is not in the HAR");
    }
    // ... and importing it gives the very cassette the record run wrote: the same stand-ins,
    // virtual dates, hashes and placeholders, keys and occurrences, in the same bytes.
    let (out, err) = vcr(&["import", "--har", path(&har), "--cassette", path(&imported)]);
    assert_eq!(
        out,
        format!(
            "imported 11 of 11 entries of {} into {} (11 in scope signin); it holds 11 interactions\n",
            har.display(),
            imported.display()
        )
    );
    assert!(!err.contains("warning"), "{err}");
    let text = std::fs::read_to_string(&imported).unwrap();
    assert_eq!(text, std::fs::read_to_string(&recorded).unwrap());
    for secret in &secrets {
        assert!(!text.contains(secret), "{secret} is in the cassette");
    }
    assert!(text.contains("cognito-vcr-redacted-") && text.contains("cognito-vcr-placeholder-"));

    // Offline, boto3 gets the same answers from the imported cassette.
    let replay = Proxy::start(ServeConfig::new(Mode::Replay, &imported))
        .await
        .unwrap();
    let replayed = har_session(
        format!("{}/scope/signin", replay.url()),
        &dir.path().join("s2"),
    )
    .await;
    let summary = replay.stop().await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");

    // Exported as HAR: the same bytes every time, and mitmdump reads it back entry for entry.
    let (exported, again) = (
        dir.path().join("exported.har"),
        dir.path().join("again.har"),
    );
    for file in [&exported, &again] {
        let (out, _) = vcr(&["export", "--har", path(file), "--cassette", path(&imported)]);
        assert_eq!(out, format!("wrote 11 entries to {}\n", file.display()));
    }
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        std::fs::read(&again).unwrap()
    );
    // The session's one scope, on stdout: the same.
    let (stdout, _) = vcr(&[
        "export",
        "--har",
        "-",
        "--cassette",
        path(&imported),
        "--scope",
        "signin",
    ]);
    assert_eq!(stdout.as_bytes(), std::fs::read(&exported).unwrap());
    let exported_text = std::fs::read_to_string(&exported).unwrap();
    for secret in &secrets {
        assert!(
            !exported_text.contains(secret),
            "{secret} is in the exported HAR"
        );
    }
    let read_back = dir.path().join("read-back.har");
    let out = run_to_success(&mut mitmdump_command(
        dir.path(),
        &[
            "-n",
            "-r",
            path(&exported),
            "--set",
            &format!("hardump={}", read_back.display()),
        ],
    ));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        listed.matches("POST http://localhost/scope/signin").count(),
        11,
        "{listed}"
    );
    let ours = entries(&exported);
    assert_eq!(ours.len(), 11);
    assert_eq!(entries(&read_back), ours);
    // And imported again it is the same cassette (a session without pagination chains: see
    // docs/har.md for those).
    let reimported = cassette_in(&dir, "reimported");
    vcr(&[
        "import",
        "--har",
        path(&exported),
        "--cassette",
        path(&reimported),
    ]);
    assert_eq!(std::fs::read_to_string(&reimported).unwrap(), text);
}

/// A sign-in as browser devtools save it: the page, a CORS preflight, HTTP/2 header names in
/// lower case, a response body in base64, a request that got no answer, one without its body.
fn devtools_har() -> Value {
    use base64::Engine;
    let cognito = "https://cognito-idp.us-east-1.amazonaws.com/";
    let tokens = json!({"AuthenticationResult": {
        "AccessToken": "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJjYXJvbCIsInVzZXJuYW1lIjoiY2Fyb2wifQ.QWNjZXNzU2lnbmF0dXJlUmVhbDAxMjM0NTY3ODk",
        "ExpiresIn": 3600,
        "IdToken": "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJjYXJvbCIsImNvZ25pdG86dXNlcm5hbWUiOiJjYXJvbCJ9.SWRTaWduYXR1cmVSZWFsMDEyMzQ1Njc4OQ",
        "RefreshToken": "refresh-token-real-0123456789abcdef",
        "TokenType": "Bearer"}, "ChallengeParameters": {}});
    let base64 = base64::engine::general_purpose::STANDARD.encode(tokens.to_string());
    let call = |op: &str, body: Option<&str>, response: Value| {
        let mut request = json!({"method": "POST", "url": cognito, "httpVersion": "http/2.0",
            "headers": [
                {"name": ":authority", "value": "cognito-idp.us-east-1.amazonaws.com"},
                {"name": "content-type", "value": "application/x-amz-json-1.1"},
                {"name": "x-amz-target", "value": format!("AWSCognitoIdentityProviderService.{op}")},
                {"name": "x-amz-user-agent", "value": "aws-amplify/6.0.0 auth/4 framework/1"}],
            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0});
        if let Some(text) = body {
            request["postData"] = json!({"mimeType": "application/x-amz-json-1.1", "text": text});
        }
        json!({"startedDateTime": "2026-12-06T10:00:00.000Z", "time": 80.5, "request": request,
               "response": response, "cache": {}, "timings": {"send": 0, "wait": 80, "receive": 0.5},
               "_initiator": {"type": "script"}, "_priority": "High", "_resourceType": "fetch"})
    };
    let answer = |content: Value| {
        json!({"status": 200, "statusText": "", "httpVersion": "http/2.0", "headers": [
            {"name": "content-type", "value": "application/x-amz-json-1.1"},
            {"name": "x-amzn-requestid", "value": "6f1c0d1e-aaaa-bbbb-cccc-000000000001"},
            {"name": "access-control-allow-origin", "value": "http://localhost:5173"}],
            "cookies": [], "content": content, "redirectURL": "", "headersSize": -1,
            "bodySize": -1, "_transferSize": 512, "_error": null})
    };
    let sign_in = r#"{"AuthFlow":"USER_PASSWORD_AUTH","AuthParameters":{"USERNAME":"carol","PASSWORD":"Carol-Secret-1!"},"ClientId":"5u0vs1example","ClientMetadata":{}}"#;
    let get_user = r#"{"AccessToken":"eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJjYXJvbCIsInVzZXJuYW1lIjoiY2Fyb2wifQ.QWNjZXNzU2lnbmF0dXJlUmVhbDAxMjM0NTY3ODk"}"#;
    let user = json!({"Username": "carol", "UserAttributes": [{"Name": "email", "Value": "carol@example.com"}]});
    json!({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [{"startedDateTime": "2026-12-06T10:00:00.000Z", "id": "page_1", "title": "http://localhost:5173/", "pageTimings": {}}],
    "entries": [
        {"request": {"method": "GET", "url": "http://localhost:5173/", "headers": []},
         "response": {"status": 200, "headers": [], "content": {"mimeType": "text/html", "text": "<html></html>"}}},
        {"request": {"method": "OPTIONS", "url": cognito, "headers": [
            {"name": "access-control-request-headers", "value": "content-type,x-amz-target,x-amz-user-agent"}]},
         "response": {"status": 200, "headers": [], "content": {"size": 0, "mimeType": "x-unknown"}}},
        call("InitiateAuth", Some(sign_in), answer(json!({"size": 1, "mimeType": "application/x-amz-json-1.1", "text": base64, "encoding": "base64"}))),
        call("GetUser", Some(get_user), answer(json!({"mimeType": "application/x-amz-json-1.1", "text": user.to_string()}))),
        call("GetUser", Some(get_user), json!({"status": 0, "headers": [], "content": {}, "_error": "net::ERR_ABORTED"})),
        call("InitiateAuth", None, answer(json!({"mimeType": "application/x-amz-json-1.1", "text": "{}"}))),
    ]}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_har_imports_its_cognito_calls_says_what_it_skipped_and_replays() {
    let dir = workdir();
    let (har, cassette) = (dir.path().join("devtools.har"), cassette_in(&dir, "login"));
    std::fs::write(&har, devtools_har().to_string()).unwrap();
    let (out, _) = vcr(&[
        "import",
        "--har",
        path(&har),
        "--cassette",
        path(&cassette),
        "--scope",
        "login",
    ]);
    let cognito = "https://cognito-idp.us-east-1.amazonaws.com/";
    assert_eq!(
        out,
        format!(
            "imported 2 of 6 entries of {} into {} (2 in scope login); it holds 2 interactions\n\
             4 entries skipped:\n  \
             2 not Cognito user-pools calls: #1 GET http://localhost:5173/; #2 OPTIONS {cognito}\n  \
             1 without a response: #5 POST {cognito} (GetUser)\n  \
             1 without their request body in the HAR (no postData.text): #6 POST {cognito} (InitiateAuth)\n",
            har.display(),
            cassette.display()
        )
    );
    let text = std::fs::read_to_string(&cassette).unwrap();
    for secret in [
        "Carol-Secret-1!",
        "QWNjZXNzU2lnbmF0dXJlUmVhbDAxMjM0NTY3ODk",
        "SWRTaWduYXR1cmVSZWFsMDEyMzQ1Njc4OQ",
        "refresh-token-real-0123456789abcdef",
        "6f1c0d1e-aaaa",
        "aws-amplify",
    ] {
        assert!(!text.contains(secret), "{secret} is in the cassette");
    }

    // Replay answers the app's calls: the sign-in with a token, and GetUser with that token.
    let proxy = Proxy::start(ServeConfig::new(Mode::Replay, &cassette))
        .await
        .unwrap();
    let url = format!("{}/scope/login", proxy.url());
    let sign_in = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "5u0vs1example", "ClientMetadata": {},
        "AuthParameters": {"USERNAME": "carol", "PASSWORD": "Carol-Secret-1!"}});
    let signed_in = call(&url, "InitiateAuth", sign_in).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let token = signed_in.body["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap();
    assert_eq!(token.split('.').count(), 3, "{token}");
    let user = call(&url, "GetUser", json!({"AccessToken": token})).await;
    assert_eq!(
        (user.status, &user.body["Username"]),
        (200, &json!("carol"))
    );
    let summary = proxy.stop().await.unwrap();
    assert_eq!((summary.misses, summary.unused), (0, Some(0)), "{summary}");

    // Nothing to import: exit 1, the cassette as it was.
    let only_page = dir.path().join("page.har");
    let mut page = devtools_har();
    page["log"]["entries"].as_array_mut().unwrap().truncate(2);
    std::fs::write(&only_page, page.to_string()).unwrap();
    let out = vcr_command(&[
        "import",
        "--har",
        path(&only_page),
        "--cassette",
        path(&cassette),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("imported 0 of 2 entries"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&cassette).unwrap(), text);
}

#[test]
fn a_malformed_har_is_an_error_naming_the_file_and_what_is_wrong() {
    let dir = workdir();
    let cassette = cassette_in(&dir, "c");
    for (content, expected) in [
        (
            "{\"log\": {\"entries\": [",
            "is not JSON: line 1, column 21: EOF while parsing a list",
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "GET", "url": "u"}}, {"request": {"method": "POST", "url": "u"}, "response": {}}]}}"#,
            "is not a HAR: entry 2: response: missing field `status`",
        ),
        (r#"{"entries": []}"#, "is not a HAR: it has no `log` object"),
    ] {
        let har = dir.path().join("bad.har");
        std::fs::write(&har, content).unwrap();
        let out = vcr_command(&["import", "--har", path(&har), "--cassette", path(&cassette)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("cognito-vcr: error: HAR file {} {expected}", har.display()),
        );
        assert!(!cassette.exists());
    }
    let missing = dir.path().join("missing.har");
    let out = vcr_command(&[
        "import",
        "--har",
        path(&missing),
        "--cassette",
        path(&cassette),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot read HAR file {}: No such file",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn export_har_writes_one_scope_or_all_to_a_file_or_stdout() {
    let dir = workdir();
    let cassette = crate::support::demo_copy(&dir);
    let har = dir.path().join("demo.har");
    let (out, _) = vcr(&["export", "--har", path(&har), "--cassette", path(&cassette)]);
    assert_eq!(out, format!("wrote 55 entries to {}\n", har.display()));
    let (stdout, _) = vcr(&["export", "--har", "-", "--cassette", path(&cassette)]);
    assert_eq!(stdout.as_bytes(), std::fs::read(&har).unwrap());
    let ours = entries(&har);
    assert_eq!(ours.len(), 55);
    assert_eq!(ours[0][1], "http://localhost/");
    // Another base URL; a scope the cassette does not hold is an error naming those it holds.
    let (stdout, _) = vcr(&[
        "export",
        "--har",
        "-",
        "--cassette",
        path(&cassette),
        "--base-url",
        "https://cognito-idp.us-east-1.amazonaws.com",
    ]);
    assert!(stdout.contains("\"url\": \"https://cognito-idp.us-east-1.amazonaws.com/\""));
    let out = vcr_command(&[
        "export",
        "--har",
        "-",
        "--cassette",
        path(&cassette),
        "--scope",
        "login",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "cognito-vcr: error: cassette {} holds nothing in scope login (it holds scopes (default))",
            cassette.display()
        )
    );
}
