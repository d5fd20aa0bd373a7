//! `cognito-vcr demo`: replay the shipped cassette on loopback and make an example call through it.

use serde_json::Value;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use crate::cassette::{self, Interaction};
use crate::config::{Mode, ServeConfig};
use crate::error::{Error, Result};
use crate::proxy::summary::Summary;
use crate::proxy::{upstream, Proxy};

/// The demo cassette, as shipped in this repository: a binary installed from a package (no
/// checkout) still has a demo to serve.
const SHIPPED: &[u8] = include_bytes!("../../cassettes/demo.json");

/// The path the demo serves by default (relative to the current directory: a checkout).
pub const DEFAULT_CASSETTE: &str = "cassettes/demo.json";

/// `cassette`; or, where it is the default path and there is no such file (an installed binary,
/// no checkout), the demo cassette this binary carries, written as `demo.json` into `state_dir`
/// (left as it is when it already holds those bytes).
pub fn cassette_or_shipped(cassette: &Path, state_dir: &Path) -> Result<std::path::PathBuf> {
    if cassette != Path::new(DEFAULT_CASSETTE) || cassette.exists() {
        return Ok(cassette.to_owned());
    }
    let copy = state_dir.join("demo.json");
    if std::fs::read(&copy).ok().as_deref() != Some(SHIPPED) {
        crate::files::write_atomically(&copy, SHIPPED).map_err(|source| Error::WriteCassette {
            path: copy.clone(),
            source,
        })?;
    }
    Ok(copy)
}

/// Serve `cassette` in replay mode, print an example call and its answer, then serve until
/// `shutdown` completes (or return at once with `once`).
pub async fn run(
    cassette: &Path,
    listen: SocketAddr,
    once: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    let interactions =
        cassette::load(cassette)?.ok_or_else(|| Error::MissingCassette(cassette.into()))?;
    let mut config = ServeConfig::new(Mode::Replay, cassette);
    config.listen = listen;
    let proxy = Proxy::start(config).await?;
    let url = proxy.url();
    println!(
        "cognito-vcr demo: replaying {} on {url}",
        cassette.display()
    );
    match example(&interactions) {
        Some(example) => {
            let answer = upstream::call(&url, &example.operation, &example.request).await;
            let text = match answer {
                Ok((status, body)) => describe_answer(status, &body),
                Err(e) => format!("the example call failed: {}", crate::error::chain(&e)),
            };
            println!(
                "\nexample call: {} {}",
                example.operation,
                compact(&example.request)
            );
            println!("answer: {text}");
            if once {
                // The server stops now: commands to try would meet a closed port.
                println!(
                    "\n(--once: stopped; `cognito-vcr demo` keeps serving, with commands to try)"
                );
            } else {
                println!("\n{}", try_it(&url, example));
            }
        }
        None => println!("the cassette holds no ListUsers call to show"),
    }
    if !once {
        println!("serving until Ctrl-C");
        shutdown.await;
    }
    proxy.stop().await
}

/// The first page of the longest recorded ListUsers chain, so that the CLI command the demo
/// suggests can follow the whole chain from the recording.
fn example(interactions: &[Interaction]) -> Option<&Interaction> {
    let list_users = || interactions.iter().filter(|i| i.operation == "ListUsers");
    let chain_length = |first: &Interaction| {
        let same_chain = |i: &&Interaction| {
            i.request.get("Limit") == first.request.get("Limit")
                && i.request.get("Filter") == first.request.get("Filter")
        };
        list_users().filter(same_chain).count()
    };
    list_users()
        .filter(|i| i.request.get("PaginationToken").is_none())
        .max_by_key(|first| (chain_length(first), first.request.get("Filter").is_none()))
}

fn compact(v: &Value) -> String {
    String::from_utf8_lossy(&crate::keying::canonical::canonical(v)).into_owned()
}

fn describe_answer(status: u16, body: &[u8]) -> String {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(users) = parsed.get("Users").and_then(Value::as_array) else {
        return format!("{status} {}", String::from_utf8_lossy(body));
    };
    let names: Vec<&str> = users
        .iter()
        .filter_map(|u| u.get("Username").and_then(Value::as_str))
        .collect();
    let mut s = format!("{status}, {} users: {}", names.len(), names.join(", "));
    if let Some(t) = parsed.get("PaginationToken").and_then(Value::as_str) {
        let _ = write!(s, "; PaginationToken {t}");
    }
    s
}

fn try_it(url: &str, example: &Interaction) -> String {
    // The CLI's --page-size becomes the request's Limit: the same requests as recorded.
    let page_size = example
        .request
        .get("Limit")
        .map(|l| format!(" --page-size {l}"))
        .unwrap_or_default();
    let pool = example
        .request
        .get("UserPoolId")
        .and_then(Value::as_str)
        .unwrap_or("POOL_ID");
    format!(
        "try it (any credentials will do; replay never calls AWS):\n  \
         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER={url} \\\n    \
         aws cognito-idp list-users --region us-east-1 --user-pool-id {pool}{page_size} --query 'Users[].Username'\n  \
         curl -s {url}/ -H 'X-Amz-Target: AWSCognitoIdentityProviderService.ListUsers' \\\n    \
         -H 'Content-Type: application/x-amz-json-1.1' -d '{}'",
        compact(&example.request)
    )
}
