//! `diff --live`: re-send the recorded read-only requests upstream (through a recording proxy, so
//! tokens and secrets are handled as in any recording) and return what the upstream answers now.

use serde_json::Value;
use std::path::PathBuf;

use crate::cassette::{self, Interaction};
use crate::cognito::operations::is_read_only;
use crate::cognito::pagination::{fields, request_token};
use crate::config::file::Settings;
use crate::config::{Mode, ServeConfig};
use crate::error::Result;
use crate::proxy::{upstream, Proxy};
use crate::rewrite::redact::marks;

/// The part of a cassette `--live` can check: read-only calls whose request holds no
/// placeholder or redacted value (those cannot be sent again). Returns (checkable, skipped).
pub fn checkable(interactions: &[Interaction]) -> (Vec<Interaction>, usize) {
    let mut skipped = 0;
    let kept = interactions
        .iter()
        .filter(|i| is_read_only(&i.operation))
        .filter(|i| {
            let ok = marks(&i.request).is_empty();
            skipped += usize::from(!ok);
            ok
        })
        .cloned()
        .collect();
    (kept, skipped)
}

/// Send the first request of every recorded call and chain (in cassette order, so
/// occurrences line up), follow chains to their end, and return the answers as interactions.
pub async fn record(
    recorded: &[Interaction],
    upstream_url: &str,
    settings: &Settings,
) -> Result<Vec<Interaction>> {
    let dir = scratch_dir();
    let cassette = dir.join("live.json");
    let mut config = ServeConfig::new(Mode::Record, &cassette).with_upstream(upstream_url);
    config.store = Some(dir.join("store"));
    // Keying rules and secrets as the cassette's; injected faults have no place in a drift check.
    config.settings = Settings {
        faults: Vec::new(),
        ..settings.clone()
    };
    let proxy = Proxy::start(config).await?;
    let url = proxy.url();
    let mut ordered: Vec<&Interaction> = recorded
        .iter()
        .filter(|i| request_token(&i.operation, &i.request).is_none())
        .collect();
    ordered.sort_by_key(|i| i.occurrence);
    for i in ordered {
        let mut body = i.request.clone();
        loop {
            let Ok((_, answer)) = upstream::call(&url, &i.operation, &body).await else {
                break;
            };
            let next = fields(&i.operation).and_then(|f| {
                let v: Value = crate::keying::json::parse(&answer).ok()?;
                Some((f.request, v.get(f.response)?.as_str()?.to_owned()))
            });
            match next {
                Some((field, token)) => body[field] = Value::String(token),
                None => break,
            }
        }
    }
    proxy.stop().await?;
    let live = cassette::load(&cassette)?.unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(live)
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("cognito-vcr-live-{}-{nanos}", std::process::id()))
}
