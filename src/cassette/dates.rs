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

/// The days a date may be: 0001-01-01 to 9999-12-31 (four-digit years, as the file writes them).
const DAYS: std::ops::RangeInclusive<i64> = -719_162..=2_932_896;

/// The day a recording made now is dated (days since 1970-01-01, UTC): `SOURCE_DATE_EPOCH` when
/// set to a time in years 1–9999 (reproducible recordings), else the clock.
pub fn today() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|secs| secs.div_euclid(86_400))
        .filter(|days| DAYS.contains(days))
        .unwrap_or_else(now)
}

/// Today by the clock (days since 1970-01-01, UTC): what a recording's age is measured from.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
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

/// The scopes a re-record run with `--max-age` dates anew when they are unchanged but older than
/// `after`: those it recorded (a scope the run did not touch keeps its date).
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    pub after: Duration,
    pub scopes: std::collections::BTreeSet<String>,
}

/// The dates of a cassette written now with `interactions` (sorted as the file has them), where
/// the file held `old` (its interactions and dates, if it existed and could be read): a scope
/// whose interactions are the same as before keeps its date, unless `refresh` names it and it
/// is older than that; any other scope present gets `today`. Scopes no longer present are
/// dropped.
pub fn reconcile(
    interactions: &[Interaction],
    old: Option<(&[Interaction], &Dates)>,
    today: i64,
    refresh: Option<&Refresh>,
) -> Dates {
    let new = fingerprints(interactions);
    let old_prints = old.map(|(i, _)| fingerprints(i)).unwrap_or_default();
    let too_old = |scope: &str, days: i64| {
        refresh.is_some_and(|r| {
            r.scopes.contains(scope) && today - days > (r.after.as_secs() / 86_400) as i64
        })
    };
    new.into_iter()
        .map(|(scope, print)| {
            let kept = old
                .and_then(|(_, dates)| dates.get(&scope))
                .filter(|_| old_prints.get(&scope) == Some(&print))
                .filter(|r| parse(&r.recorded).is_some_and(|d| !too_old(&scope, d)));
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
        let mut timeless = InteractionJson::from(i);
        timeless
            .response
            .headers
            .retain(|name, _| !name.eq_ignore_ascii_case(crate::cognito::wire::LATENCY_HEADER));
        let json = serde_json::to_vec(&timeless).expect("serializing to a Vec");
        hashers.entry(key(&i.scope)).or_default().update(&json);
    }
    hashers
        .into_iter()
        .map(|(scope, h)| (scope, h.finalize().into()))
        .collect()
}

/// How old each dated scope is on `today`, in days, oldest first; and the scopes without a
/// date (or with one after `today`: no age can be told).
pub fn ages(dates: &Dates, scopes: &[String], today: i64) -> (Vec<(String, i64)>, Vec<String>) {
    let mut aged: Vec<(String, i64)> = Vec::new();
    let mut undated = Vec::new();
    for scope in scopes {
        match age(dates, scope, today) {
            Some(days) => aged.push((scope.clone(), days)),
            None => undated.push(scope.clone()),
        }
    }
    aged.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (aged, undated)
}

/// How many days before `today` `scope` was recorded; `None` without a date, or for one after
/// `today`.
pub fn age(dates: &Dates, scope: &str, today: i64) -> Option<i64> {
    let day = dates.get(scope).and_then(|r| parse(&r.recorded))?;
    (day <= today).then(|| today - day)
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

/// The `scopes` member of a cassette's `text`. Where this program wrote it (pretty-printed, keys
/// sorted: last but for `version`) it is read from the end, without parsing the interactions;
/// any other layout is parsed whole. Empty when there is none or the text is not a cassette.
pub fn read(text: &[u8]) -> Dates {
    read_tail(text).unwrap_or_else(|| read_whole(text))
}

/// The `scopes` member as this program writes it: `\n  "scopes": {...},\n  "version": N\n}`.
fn read_tail(text: &[u8]) -> Option<Dates> {
    const KEY: &[u8] = b"\n  \"scopes\": ";
    let at = text.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let mut values = serde_json::Deserializer::from_slice(&text[at..]).into_iter::<Dates>();
    let dates = values.next()?.ok()?;
    // Only the version may follow: else the key was text inside something else.
    let rest = std::str::from_utf8(&text[at + values.byte_offset()..]).ok()?;
    let rest = rest.trim_start().strip_prefix(',')?.trim_start();
    let number = rest
        .strip_prefix("\"version\"")?
        .trim_start()
        .strip_prefix(':')?;
    let number = number.trim_start();
    let digits = number.len()
        - number
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    (digits > 0
        && number[digits..]
            .trim_start()
            .strip_prefix('}')?
            .trim()
            .is_empty())
    .then_some(dates)
}

/// The `scopes` member of a cassette in any layout: the interactions are skipped, not kept.
fn read_whole(text: &[u8]) -> Dates {
    #[derive(Deserialize)]
    struct Top {
        #[serde(default)]
        scopes: Dates,
    }
    serde_json::from_slice::<Top>(text)
        .map(|t| t.scopes)
        .unwrap_or_default()
}

/// The `scopes` member of the cassette at `path`, reading only its end where it can (a cassette
/// of a million interactions is hundreds of MB).
pub fn read_file(path: &std::path::Path) -> std::io::Result<Dates> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 1 << 20;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > TAIL {
        file.seek(SeekFrom::Start(len - TAIL))?;
        let mut tail = Vec::with_capacity(TAIL as usize);
        file.by_ref().take(TAIL).read_to_end(&mut tail)?;
        if let Some(dates) = read_tail(&tail) {
            return Ok(dates);
        }
    }
    Ok(read(&std::fs::read(path)?))
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

        // A re-record told --max-age 30d dates anew an unchanged scope older than that which it
        // recorded, and no other.
        let month = Refresh {
            after: Duration::from_secs(30 * 86_400),
            scopes: ["".to_owned(), "a".to_owned()].into(),
        };
        let refreshed = reconcile(
            &after,
            Some((&after, &again)),
            day("2026-03-15"),
            Some(&month),
        );
        assert_eq!(refreshed[""].recorded, "2026-03-15", "74 days old");
        assert_eq!(refreshed["a"].recorded, "2026-03-01", "14 days old");
        let only_a = Refresh {
            scopes: ["a".to_owned()].into(),
            ..month
        };
        let untouched = reconcile(
            &after,
            Some((&after, &again)),
            day("2026-03-15"),
            Some(&only_a),
        );
        assert_eq!(
            untouched[""].recorded, "2026-01-01",
            "not recorded by this run"
        );
    }

    #[test]
    fn the_scopes_member_is_read_from_the_end_or_the_whole_file_never_from_inside_a_body() {
        let written = "{\n  \"interactions\": [],\n  \"scopes\": {\n    \"a\": {\n      \"recorded\": \"2026-01-02\"\n    }\n  },\n  \"version\": 2\n}\n";
        assert_eq!(read(written.as_bytes())["a"].recorded, "2026-01-02");
        // Re-indented: read whole.
        let four = written.replace("\n  ", "\n    ");
        assert_eq!(read(four.as_bytes())["a"].recorded, "2026-01-02");
        // No top-level member, but a request body holding the key's text: nothing.
        let inside = "{\n  \"interactions\": [{\"request\": {\"body\": {\n  \"scopes\": {\"b\": {\"recorded\": \"2099-01-01\"}}}}, \"x\": 1}],\n  \"version\": 2\n}\n";
        assert!(serde_json::from_str::<serde_json::Value>(inside).is_ok());
        assert!(read(inside.as_bytes()).is_empty());
        // Ages: none for a date after today.
        let dates = read(written.as_bytes());
        assert_eq!(age(&dates, "a", parse("2026-01-12").unwrap()), Some(10));
        assert_eq!(age(&dates, "a", parse("2025-12-31").unwrap()), None);
    }

    #[test]
    fn a_source_date_epoch_outside_four_digit_years_is_not_taken() {
        assert!(DAYS.contains(&parse("0001-01-01").unwrap()));
        assert!(DAYS.contains(&parse("9999-12-31").unwrap()));
        assert!(!DAYS.contains(&(parse("9999-12-31").unwrap() + 1)));
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
