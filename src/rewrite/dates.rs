//! Dates the session caused, stored as virtual dates: an unchanged session records the same bytes.
//!
//! A creation or modification date (a member named `...Date`, epoch seconds) no older than the
//! run (ten minutes of clock skew allowed) was caused by this session, or just before it. It is
//! stored as a virtual date, per scope: the dates a write's own answer carries are the scope's
//! write number (`BASE + n` for its n-th write); a session date first seen in a read is counted
//! after every write (`BASE + FIRST_SIGHT + n`). So in a scope, what was created earlier has the
//! earlier date, a modification read later is later than the creation, and nothing depends on
//! the wall clock. A date first seen in one scope and read again in another keeps the first
//! scope's value, so a scope that reads what another test changed depends on which ran first:
//! the session's own writes, dated by their answers, do not. The same
//! object's date reads the same everywhere: a date is remembered by its owner (the pool, client,
//! user or group it belongs to, by their stored identity) and its real value, so an object's
//! creation and modification dates read equal when they are. Whether they are may be an accident
//! of the upstream's clock (two clock reads in the same millisecond, or not), so it must not
//! renumber the rest of the session: a date first seen in a read takes a number for each of its
//! owner's members not seen before, whether its value is new or equals another of the owner's
//! (which it then reads as). Older dates (a long-lived pool's) keep their real value.
//!
//! Virtual dates lie in 2001 (`BASE` is epoch 1,000,000,000), years before Cognito existed, so
//! they are never taken for real ones: `diff` compares them by nothing but being virtual.

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::keying::scope::Scope;

/// The first virtual date: 2001-09-09T01:46:40Z.
pub const BASE: i64 = 1_000_000_000;
/// Virtual dates first seen in a read come after every write's.
const FIRST_SIGHT: i64 = 50_000_000;
/// Where virtual dates end (about three years on).
pub const END: i64 = BASE + 100_000_000;
/// How much older than the run's start a session date may look (the upstream's clock).
const SKEW: f64 = 600.0;

/// Members that name the object a date belongs to: globally unique ids first, then names
/// within a pool.
const GLOBAL_IDS: &[&str] = &["Id", "ClientId", "IdentityPoolId", "IdentityId"];
const POOL_NAMES: &[&str] = &[
    "Username",
    "GroupName",
    "DeviceKey",
    "ProviderName",
    "Identifier",
    "Domain",
    "Name",
];

/// Whether `value` is one of the virtual dates.
pub fn is_virtual(value: &Value) -> bool {
    value
        .as_f64()
        .is_some_and(|d| (BASE as f64..END as f64).contains(&d))
}

/// The virtual dates of one run.
pub struct Dates {
    /// Dates from this time on (epoch seconds) are the session's; `None` when turned off.
    since: Option<f64>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (owner, real value as written) → virtual date.
    known: HashMap<(String, String), i64>,
    /// (owner, member) of every date seen: a first-seen one takes a number, used or not.
    members: HashSet<(String, String)>,
    /// Writes recorded per scope, and session dates first seen in a read.
    writes: HashMap<Scope, i64>,
    first_seen: HashMap<Scope, i64>,
}

impl State {
    /// The next virtual date for a session date first seen in a read in `scope`.
    fn first_sight(&mut self, scope: &Scope) -> i64 {
        let n = self.first_seen.entry(scope.clone()).or_default();
        *n += 1;
        BASE + FIRST_SIGHT + *n
    }
}

/// One date in an answer.
struct Slot {
    owner: String,
    member: String,
    real: String,
}

impl Dates {
    pub fn new(enabled: bool) -> Dates {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Dates {
            since: enabled.then_some(now - SKEW),
            state: Mutex::default(),
        }
    }

    /// Whether [`Dates::rewrite`] may change, or count, anything for an answer whose JSON text
    /// is `raw`: a write is counted whatever its answer holds; otherwise only a member named
    /// `...Date` over a number no older than the run changes anything.
    pub fn may_change(&self, write: bool, raw: &[u8]) -> bool {
        self.since
            .is_some_and(|since| write || may_hold_session_date(raw, since))
    }

    /// The session's dates in `answer` (of a call in `scope`, a write or not, whose stored
    /// request names `pool`) as virtual dates. True if any changed.
    pub fn rewrite(
        &self,
        scope: &Scope,
        write: bool,
        pool: Option<&str>,
        answer: &mut Value,
    ) -> bool {
        let Some(since) = self.since else {
            return false;
        };
        let mut slots = Vec::new();
        collect(
            answer,
            pool.unwrap_or(""),
            &Owner::default(),
            since,
            &mut slots,
        );
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let write_date = write.then(|| {
            let n = state.writes.entry(scope.clone()).or_default();
            *n += 1;
            BASE + *n
        });
        if slots.is_empty() {
            return false;
        }
        let mut dates = Vec::with_capacity(slots.len());
        for Slot {
            owner,
            member,
            real,
        } in slots
        {
            let first_member = state.members.insert((owner.clone(), member));
            let key = (owner, real);
            let date = match (state.known.get(&key).copied(), write_date) {
                (Some(known), None) if first_member => {
                    // Its number is taken all the same: the next ones do not depend on this
                    // value's being equal to another.
                    state.first_sight(scope);
                    known
                }
                (Some(known), _) => known,
                (None, Some(date)) => date,
                (None, None) => state.first_sight(scope),
            };
            state.known.insert(key, date);
            dates.push(date);
        }
        drop(state);
        let mut next = dates.into_iter();
        replace(answer, since, &mut next);
        true
    }
}

/// Whether the JSON text `raw` may hold a session date, told from the bytes without parsing
/// them. A member name ends with `Date"` as written, unless a `\u` escape spells one of its
/// letters (then the answer is parsed); inside a string, a quote is escaped, so `Date"` followed
/// by a colon is a member name. Its value counts when it is a number of `since` or later, or
/// one that does not read as a number here.
fn may_hold_session_date(raw: &[u8], since: f64) -> bool {
    if crate::keying::json::may_escape_names(raw) {
        return true;
    }
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let after = |mut i: usize| {
        while raw.get(i).is_some_and(space) {
            i += 1;
        }
        i
    };
    for at in memchr::memmem::find_iter(raw, b"Date\"") {
        let colon = after(at + 5);
        if raw.get(colon) != Some(&b':') {
            continue;
        }
        let start = after(colon + 1);
        let len = raw[start..]
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        if len == 0 {
            continue;
        }
        let number = std::str::from_utf8(&raw[start..start + len]).ok();
        match number.and_then(|n| n.parse::<f64>().ok()) {
            Some(date) if date < since => {}
            _ => return true,
        }
    }
    false
}

/// The session's dates in `v`, in document order, with their owners.
fn collect(v: &Value, pool: &str, owner: &Owner<'_>, since: f64, out: &mut Vec<Slot>) {
    match v {
        Value::Object(map) => {
            let owner = Owner::of(map, owner);
            for (name, item) in map {
                match item {
                    Value::Number(n) if is_date(name, n.as_f64(), since) => out.push(Slot {
                        owner: owner.name(pool).to_owned(),
                        member: name.clone(),
                        real: n.to_string(),
                    }),
                    other => collect(other, pool, &owner, since, out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect(i, pool, owner, since, out)),
        _ => {}
    }
}

/// The owner of the dates of an object: its own ([`owner_of`]), else its parent's. Named only
/// when a date asks: most objects of a page (a user's attributes) hold none, and naming each
/// was most of the time spent finding dates.
#[derive(Default)]
struct Owner<'a> {
    map: Option<&'a Map<String, Value>>,
    parent: Option<&'a Owner<'a>>,
    own: std::cell::OnceCell<Option<String>>,
}

impl<'a> Owner<'a> {
    fn of(map: &'a Map<String, Value>, parent: &'a Owner<'a>) -> Owner<'a> {
        Owner {
            map: Some(map),
            parent: Some(parent),
            own: std::cell::OnceCell::new(),
        }
    }

    fn name(&self, pool: &str) -> &str {
        let own = self
            .own
            .get_or_init(|| self.map.and_then(|map| owner_of(map, pool)));
        match (own, self.parent) {
            (Some(own), _) => own,
            (None, Some(parent)) => parent.name(pool),
            (None, None) => "",
        }
    }
}

/// The dates [`collect`] found, in the same order, replaced by `dates`.
fn replace(v: &mut Value, since: f64, dates: &mut impl Iterator<Item = i64>) {
    match v {
        Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                match item {
                    Value::Number(n) if is_date(name, n.as_f64(), since) => {
                        if let Some(date) = dates.next() {
                            *item = Value::from(date);
                        }
                    }
                    other => replace(other, since, dates),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace(i, since, dates)),
        _ => {}
    }
}

fn is_date(name: &str, value: Option<f64>, since: f64) -> bool {
    name.ends_with("Date") && value.is_some_and(|d| d >= since)
}

/// What an object is, by the members that name it: `Id=...` for what has a global id,
/// `POOL/Username=...` for what is named within a pool (its own `UserPoolId`, else the
/// request's).
fn owner_of(map: &Map<String, Value>, pool: &str) -> Option<String> {
    let named = |names: &[&str]| {
        names.iter().find_map(|n| {
            map.get(*n)
                .and_then(Value::as_str)
                .map(|v| format!("{n}={v}"))
        })
    };
    if let Some(id) = named(GLOBAL_IDS) {
        return Some(id);
    }
    let pool = map
        .get("UserPoolId")
        .and_then(Value::as_str)
        .unwrap_or(pool);
    named(POOL_NAMES).map(|name| format!("{pool}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }

    fn scope(name: &str) -> Scope {
        Scope::named(name).unwrap()
    }

    #[test]
    fn a_write_dates_what_it_made_and_reads_agree_everywhere() {
        let dates = Dates::new(true);
        let t = now();
        let (setup, test) = (scope("setup"), scope("test"));
        let mut created =
            json!({"User": {"Username": "alice", "UserCreateDate": t, "UserLastModifiedDate": t}});
        assert!(dates.rewrite(&setup, true, Some("P"), &mut created));
        assert_eq!(created["User"]["UserCreateDate"], BASE + 1);
        assert_eq!(created["User"]["UserLastModifiedDate"], BASE + 1);
        let mut bob = json!({"User": {"Username": "bob", "UserCreateDate": t}});
        dates.rewrite(&setup, true, Some("P"), &mut bob);
        assert_eq!(
            bob["User"]["UserCreateDate"],
            BASE + 2,
            "created later, dated later"
        );

        // Another scope lists them, and sees alice modified since: the creation reads as
        // written, the modification after every write.
        let mut listed = json!({"Users": [
            {"Username": "alice", "UserCreateDate": t, "UserLastModifiedDate": t + 5.0},
            {"Username": "bob", "UserCreateDate": t}]});
        dates.rewrite(&test, false, Some("P"), &mut listed);
        assert_eq!(listed["Users"][0]["UserCreateDate"], BASE + 1);
        assert_eq!(
            listed["Users"][0]["UserLastModifiedDate"],
            BASE + FIRST_SIGHT + 1
        );
        assert_eq!(listed["Users"][1]["UserCreateDate"], BASE + 2);
        assert!(is_virtual(&listed["Users"][1]["UserCreateDate"]));
        // The same real second of a user in another pool is another date.
        let mut elsewhere = json!({"Username": "alice", "UserCreateDate": t});
        dates.rewrite(&test, false, Some("Q"), &mut elsewhere);
        assert_eq!(elsewhere["UserCreateDate"], BASE + FIRST_SIGHT + 2);
    }

    #[test]
    fn old_dates_and_other_numbers_keep_their_value_and_off_is_off() {
        let dates = Dates::new(true);
        let mut old = json!({"UserPool": {"Id": "p", "CreationDate": 1.682955829578e9, "MfaDate": "x", "Count": now()}});
        let before = old.clone();
        assert!(!dates.rewrite(&scope("s"), true, None, &mut old));
        assert_eq!(old, before);
        let mut new = json!({"CreationDate": now()});
        assert!(!Dates::new(false).rewrite(&scope("s"), true, None, &mut new));
        assert!(!is_virtual(&json!(1.682955829578e9)));
    }

    #[test]
    fn the_bytes_tell_an_answer_without_session_dates_and_never_miss_one() {
        let t = now();
        let since = t - SKEW;
        let old = br#"{"Users":[{"UserCreateDate":1.682955829578E9,"Name":"xDate","N":5}]}"#;
        assert!(!may_hold_session_date(old, since));
        assert!(!may_hold_session_date(
            br#"{"Note":"a Date\":9999999999"}"#,
            since
        ));
        for new in [
            format!(r#"{{"UserCreateDate":{t}}}"#),
            format!("{{\"LastModifiedDate\" :\n\t{t}E0}}"),
            r#"{"UserCreate\u0044ate":1}"#.to_owned(),
        ] {
            assert!(may_hold_session_date(new.as_bytes(), since), "{new}");
            let mut v: Value = crate::keying::json::parse(new.as_bytes()).unwrap();
            let dates = Dates::new(true);
            let found = dates.rewrite(&scope("s"), false, None, &mut v);
            assert!(found || new.contains("\\u"), "{new}");
        }
        // A write is counted whatever its answer holds; turned off, nothing is.
        assert!(Dates::new(true).may_change(true, b"{}"));
        assert!(!Dates::new(false).may_change(true, b"{}"));
    }

    #[test]
    fn the_same_session_gives_the_same_dates_whatever_the_clock() {
        let run = |offset: f64| {
            let dates = Dates::new(true);
            let t = now() + offset;
            let mut a =
                json!({"Group": {"GroupName": "g", "CreationDate": t, "LastModifiedDate": t}});
            dates.rewrite(&scope("s"), true, Some("P"), &mut a);
            let mut b = json!({"Groups": [{"GroupName": "g", "CreationDate": t, "LastModifiedDate": t + 1.5}]});
            dates.rewrite(&scope("s"), false, Some("P"), &mut b);
            (a, b)
        };
        assert_eq!(run(0.0), run(7.25));
    }

    #[test]
    fn whether_an_upstream_gave_two_dates_equal_renumbers_nothing() {
        // A user first seen in a read, whose creation and modification dates came from two
        // clock reads of the upstream: in the same millisecond, or not.
        let run = |gap: f64| {
            let dates = Dates::new(true);
            let t = now();
            let mut first = json!({"Users": [
                {"Username": "u1", "UserCreateDate": t, "UserLastModifiedDate": t + gap},
                {"Username": "u2", "UserCreateDate": t + 2.0, "UserLastModifiedDate": t + 2.0}]});
            dates.rewrite(&scope("s"), false, Some("P"), &mut first);
            let mut again = json!({"User": {"Username": "u1", "UserCreateDate": t, "UserLastModifiedDate": t + gap}});
            dates.rewrite(&scope("s"), false, Some("P"), &mut again);
            (first, again)
        };
        let ((equal, equal_again), (apart, apart_again)) = (run(0.0), run(0.001));
        // Equal dates read equal, dates apart read apart, and nothing else moves.
        let (u1, u1_apart) = (&equal["Users"][0], &apart["Users"][0]);
        assert_eq!(u1["UserCreateDate"], BASE + FIRST_SIGHT + 1);
        assert_eq!(u1["UserLastModifiedDate"], BASE + FIRST_SIGHT + 1);
        assert_eq!(u1_apart["UserCreateDate"], BASE + FIRST_SIGHT + 1);
        assert_eq!(u1_apart["UserLastModifiedDate"], BASE + FIRST_SIGHT + 2);
        assert_eq!(equal["Users"][1], apart["Users"][1]);
        assert_eq!(equal["Users"][1]["UserCreateDate"], BASE + FIRST_SIGHT + 3);
        assert_eq!(
            &equal_again["User"], u1,
            "the same object reads the same again"
        );
        assert_eq!(&apart_again["User"], u1_apart);
    }
}
