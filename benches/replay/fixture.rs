//! What the benchmark serves and asks: the ListUsers page, the request, and generated cassettes.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub const TARGET: &str = "AWSCognitoIdentityProviderService.ListUsers";
pub const REQUEST_BODY: &str = r#"{"UserPoolId":"us-east-1_Bench","Limit":60}"#;
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
pub const POOL: &str = "us-east-1_Bench";

/// A ListUsers page of `BENCH_USERS` users (60 by default: about 23 KB; 7 make about 2.7 KB), in
/// the proxy's canonical form (keys sorted, no whitespace, numbers as written), so that replay
/// serves exactly these bytes. The request stays the same: only the recorded page changes.
pub fn list_users_body() -> Vec<u8> {
    let users: u32 = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(60);
    let mut s = String::from(r#"{"Users":["#);
    for i in 1..=users {
        if i > 1 {
            s.push(',');
        }
        let sub = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            i.wrapping_mul(2_654_435_761),
            i * 7,
            i * 13,
            i * 17,
            u64::from(i) * 1_000_003
        );
        write!(
            s,
            concat!(
                r#"{{"Attributes":[{{"Name":"sub","Value":"{sub}"}},"#,
                r#"{{"Name":"email_verified","Value":"true"}},"#,
                r#"{{"Name":"given_name","Value":"Given{i:03}"}},"#,
                r#"{{"Name":"family_name","Value":"Family{i:03}"}},"#,
                r#"{{"Name":"email","Value":"user{i:03}@example.com"}}],"#,
                r#""Enabled":true,"UserCreateDate":1.682955829578E9,"#,
                r#""UserLastModifiedDate":1.682955829578E9,"UserStatus":"CONFIRMED","#,
                r#""Username":"user{i:03}"}}"#
            ),
            sub = sub,
            i = i
        )
        .expect("writing to a String cannot fail");
    }
    s.push_str("]}");
    s.into_bytes()
}

/// The raw HTTP/1.1 request every load-generator connection sends (keep-alive).
pub fn http_request(host: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\r\n{REQUEST_BODY}",
        REQUEST_BODY.len()
    )
    .into_bytes()
}

/// Write a version-2 cassette of `n` interactions: the benchmark's ListUsers request and `n - 1`
/// AdminGetUser interactions for distinct usernames with small bodies. One interaction per line
/// (compact JSON, which the proxy reads like its own pretty-printed files). Returns the file size.
pub fn write_cassette(path: &Path, n: u64, list_users: &[u8]) -> io::Result<u64> {
    write_scoped_cassette(path, n, list_users, None)
}

/// [`write_cassette`], with the ListUsers interaction in `scope` (served at `/scope/NAME`).
pub fn write_scoped_cassette(
    path: &Path,
    n: u64,
    list_users: &[u8],
    scope: Option<&str>,
) -> io::Result<u64> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    w.write_all(b"{\"interactions\":[\n")?;
    w.write_all(b"{")?;
    if let Some(scope) = scope {
        write!(w, "\"scope\":\"{scope}\",")?;
    }
    w.write_all(b"\"occurrence\":1,\"operation\":\"ListUsers\",\"request\":{\"body\":{\"Limit\":60,\"UserPoolId\":\"")?;
    w.write_all(POOL.as_bytes())?;
    w.write_all(b"\"}},\"response\":{\"body\":")?;
    w.write_all(list_users)?;
    writeln!(
        w,
        ",\"headers\":{{\"content-type\":\"{CONTENT_TYPE}\"}},\"status\":200}}}}"
    )?;
    for i in 1..n {
        writeln!(
            w,
            concat!(
                r#",{{"occurrence":1,"operation":"AdminGetUser","request":{{"body":{{"UserPoolId":"{pool}","Username":"filler{i:07}"}}}},"#,
                r#""response":{{"body":{{"Enabled":true,"UserStatus":"CONFIRMED","Username":"filler{i:07}"}},"#,
                r#""headers":{{"content-type":"{ct}"}},"status":200}}}}"#
            ),
            pool = POOL,
            i = i,
            ct = CONTENT_TYPE
        )?;
    }
    w.write_all(b"],\"version\":2}\n")?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}
