//! When each scope of a cassette was recorded: a date per scope (`"scopes": {"NAME": {"recorded":
//! "2026-12-06"}}`, the default scope as `""`), kept by a re-record that changes nothing in it.
//!
//! A date is a day (UTC): the day a scope's recorded content last changed, or the day it was
//! re-recorded after its date had grown older than the re-record's `--max-age`. So a re-record
//! of an unchanged session leaves the file as it was (git stays clean), and re-recording a scope
//! replay called too old gives it today's date.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Interaction, InteractionJson};

/// Recording dates by scope name (`""` for the default scope).
pub type Dates = BTreeMap<String, Recorded>;

/// What the cassette says of one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// `YYYY-MM-DD`, UTC.
    pub recorded: String,
}

/// The key of `scope` in the cassette's `scopes`.
pub fn key(scope: &super::Scope) -> String {
    scope.name().unwrap_or("").to_owned()
}

/// Today, as days since 1970-01-01 (UTC): `SOURCE_DATE_EPOCH` when set (reproducible
/// recordings), else the clock.
pub fn today() -> i64 {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    secs.div_euclid(86_400)
}

/// `days` since 1970-01-01 as `YYYY-MM-DD`.
pub fn format(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` as days since 1970-01-01; `None` if it is not such a date.
pub fn parse(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (format(days) == date).then_some(days)
}

/// The dates of a cassette written now with `interactions` (sorted as the file has them), where
/// the file held `old` (its interactions and dates, if it existed and could be read): a scope
/// whose interactions are the same as before keeps its date, unless that is older than
/// `refresh_after`; any other scope present gets `today`. Scopes no longer present are dropped.
pub fn reconcile(
    interactions: &[Interaction],
    old: Option<(&[Interaction], &Dates)>,
    today: i64,
    refresh_after: Option<Duration>,
) -> Dates {
    let new = fingerprints(interactions);
    let old_prints = old.map(|(i, _)| fingerprints(i)).unwrap_or_default();
    let too_old = |days: i64| {
        refresh_after.is_some_and(|limit| today - days > (limit.as_secs() / 86_400) as i64)
    };
    new.into_iter()
        .map(|(scope, print)| {
            let kept = old
                .and_then(|(_, dates)| dates.get(&scope))
                .filter(|_| old_prints.get(&scope) == Some(&print))
                .filter(|r| parse(&r.recorded).is_some_and(|d| !too_old(d)));
            let recorded = kept.cloned().unwrap_or_else(|| Recorded {
                recorded: format(today),
            });
            (scope, recorded)
        })
        .collect()
}

/// Per scope, the SHA-256 of its interactions as the cassette writes them.
fn fingerprints(interactions: &[Interaction]) -> BTreeMap<String, [u8; 32]> {
    let mut hashers: BTreeMap<String, Sha256> = BTreeMap::new();
    for i in interactions {
        // Its timing apart: a slower upstream is not a new recording.
        let timeless = Interaction {
            response: super::timing::without(&i.response),
            ..i.clone()
        };
        let json = serde_json::to_vec(&InteractionJson::from(&timeless)).expect("serializing");
        hashers.entry(key(&i.scope)).or_default().update(&json);
    }
    hashers
        .into_iter()
        .map(|(scope, h)| (scope, h.finalize().into()))
        .collect()
}

/// How old each dated scope is on `today`, in days, oldest first; and the scopes without a date.
pub fn ages(dates: &Dates, scopes: &[String], today: i64) -> (Vec<(String, i64)>, Vec<String>) {
    let mut aged: Vec<(String, i64)> = Vec::new();
    let mut undated = Vec::new();
    for scope in scopes {
        match dates.get(scope).and_then(|r| parse(&r.recorded)) {
            Some(day) => aged.push((scope.clone(), today - day)),
            None => undated.push(scope.clone()),
        }
    }
    aged.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (aged, undated)
}

/// What replay says of scopes recorded longer ago than `max_age` (`old`: name and age in days,
/// oldest first), naming the command that re-records them.
pub fn too_old(cassette: &std::path::Path, old: &[(String, i64)], max_age: Duration) -> String {
    let named: Vec<String> = old
        .iter()
        .take(10)
        .map(|(scope, days)| match scope.as_str() {
            "" => format!("the default scope ({days} days)"),
            s => format!("{s} ({days} days)"),
        })
        .collect();
    let more = match old.len() {
        n if n > 10 => format!(" and {} more", n - 10),
        _ => String::new(),
    };
    format!(
        "cassette {c}: {n} scope(s) recorded more than --max-age {age} ago: {list}{more}; re-record them, e.g. `cognito-vcr run --mode record --max-age {age} --cassette {c} -- <your test command>` (an unchanged scope is then dated today)",
        c = cassette.display(),
        n = old.len(),
        age = crate::config::show_age(max_age),
        list = named.join(", "),
    )
}

/// The `scopes` member of a cassette this program wrote (pretty-printed, keys sorted: it comes
/// just before `version`, at the end), read without parsing the interactions before it. Empty
/// when there is none or it is not where this program puts it.
pub fn read(text: &[u8]) -> Dates {
    const KEY: &[u8] = b"\n  \"scopes\": ";
    let Some(at) = text.windows(KEY.len()).rposition(|w| w == KEY) else {
        return Dates::new();
    };
    let mut values = serde_json::Deserializer::from_slice(&text[at + KEY.len()..]).into_iter();
    match values.next() {
        Some(Ok(dates)) => dates,
        _ => Dates::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(scope: &str, body: &str) -> Interaction {
        Interaction {
            scope: super::super::Scope::from_name((!scope.is_empty()).then_some(scope)).unwrap(),
            operation: "ListUsers".into(),
            occurrence: 1,
            request: serde_json::json!({"UserPoolId": "p"}),
            response: crate::cognito::wire::Response {
                status: 200,
                headers: vec![],
                body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            },
        }
    }

    #[test]
    fn a_scope_keeps_its_date_while_its_recording_is_the_same() {
        let day = |d: &str| parse(d).unwrap();
        let before = vec![
            interaction("", "{}"),
            interaction("a", "{}"),
            interaction("gone", "{}"),
        ];
        let dated = reconcile(&before, None, day("2026-01-01"), None);
        assert_eq!(dated.len(), 3);
        assert_eq!(dated["a"].recorded, "2026-01-01");

        // Re-recorded later: the same default scope, another answer in `a`, `gone` not at all.
        let after = vec![interaction("", "{}"), interaction("a", r#"{"n":1}"#)];
        let again = reconcile(&after, Some((&before, &dated)), day("2026-03-01"), None);
        assert_eq!(again[""].recorded, "2026-01-01", "unchanged");
        assert_eq!(again["a"].recorded, "2026-03-01", "changed");
        assert!(!again.contains_key("gone"));

        // A re-record told --max-age 30d dates an unchanged scope older than that anew.
        let month = Some(Duration::from_secs(30 * 86_400));
        let refreshed = reconcile(&after, Some((&after, &again)), day("2026-03-15"), month);
        assert_eq!(refreshed[""].recorded, "2026-03-15", "74 days old");
        assert_eq!(refreshed["a"].recorded, "2026-03-01", "14 days old");
    }

    #[test]
    fn dates_read_and_write_as_days() {
        for (date, days) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2026-12-06", 20_793),
        ] {
            assert_eq!(format(days), date);
            assert_eq!(parse(date), Some(days));
        }
        for bad in ["2026-02-30", "2026-13-01", "26-12-06", "2026-1-06", "today"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
