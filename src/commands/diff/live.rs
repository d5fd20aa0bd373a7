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
/// placeholder or redacted value, and no stand-in of an id a recorded creating call generated
/// (the upstream never issued those). Returns (checkable, skipped).
pub fn checkable(interactions: &[Interaction]) -> (Vec<Interaction>, usize) {
    let stand_ins = stand_ins(interactions);
    let mut skipped = 0;
    let kept = interactions
        .iter()
        .filter(|i| is_read_only(&i.operation))
        .filter(|i| {
            let sent = String::from_utf8_lossy(&crate::keying::canonical::canonical(&i.request))
                .into_owned();
            let ok = marks(&i.request).is_empty() && !stand_ins.iter().any(|s| sent.contains(s));
            skipped += usize::from(!ok);
            ok
        })
        .cloned()
        .collect();
    (kept, skipped)
}

/// The values the cassette's creating calls answered with that the upstream generated: as
/// stored, their stand-ins.
fn stand_ins(interactions: &[Interaction]) -> Vec<String> {
    interactions
        .iter()
        .filter(|i| i.response.status < 300)
        .filter_map(|i| {
            let answer = crate::keying::json::parse(&i.response.body).ok()?;
            let made: Vec<String> = crate::cognito::generated::generated(&i.operation, &answer)
                .into_iter()
                .map(|g| g.value.to_owned())
                .filter(|v| v.len() >= 8)
                .collect();
            Some(made)
        })
        .flatten()
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_with_a_stand_in_of_a_recorded_creation_are_not_re_sent() {
        let i = |op: &str, request: Value, answer: Value| Interaction {
            scope: Default::default(),
            operation: op.into(),
            occurrence: 1,
            request,
            response: crate::cognito::wire::Response {
                status: 200,
                headers: vec![],
                body: answer.to_string().into(),
            },
        };
        let made = "us-east-1_0a1b2c3d4e5f6a7b8c9d";
        let recorded = vec![
            i(
                "CreateUserPool",
                json!({"PoolName": "p"}),
                json!({"UserPool": {"Id": made}}),
            ),
            i(
                "ListUsers",
                json!({"UserPoolId": made}),
                json!({"Users": []}),
            ),
            i(
                "ListUsers",
                json!({"UserPoolId": "us-east-1_LongLived"}),
                json!({"Users": []}),
            ),
        ];
        let (kept, skipped) = checkable(&recorded);
        assert_eq!(skipped, 1);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].request["UserPoolId"], "us-east-1_LongLived");
    }
}
