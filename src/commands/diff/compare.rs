//! Value-level comparison: what changed inside two answers, path by path.

use serde_json::{Map, Value};

use crate::rewrite::dates::is_virtual;
use crate::rewrite::redact::mark_of;

/// One changed value: its path (`email`, `UserPool.MfaConfiguration`, `Users.3`) and both sides
/// (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// What to leave out of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    /// Globs over the dotted path (`*Date`, `Users.*.Enabled`); `*` matches anything.
    pub globs: Vec<String>,
    /// Compare everything, placeholders and tokens included.
    pub strict: bool,
}

/// Members whose values differ between runs without meaning anything (synthetic tokens
/// depend on the chain, which is compared item by item instead).
const VOLATILE_MEMBERS: &[&str] = &["PaginationToken", "NextToken"];

impl Ignore {
    fn skips(&self, path: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
        if self.globs.iter().any(|g| glob(g, path)) {
            return true;
        }
        if self.strict {
            return false;
        }
        let last = path.rsplit('.').next().unwrap_or(path);
        if VOLATILE_MEMBERS.contains(&last) {
            return true;
        }
        // Two virtual dates: they say only in which order the session did things, and a call
        // more or less earlier in a scope moves them.
        if last.ends_with("Date") && old.is_some_and(is_virtual) && new.is_some_and(is_virtual) {
            return true;
        }
        // Two placeholders (or two hashes): stand-ins for values that change every run.
        let marked = |v: Option<&Value>| v.and_then(Value::as_str).and_then(mark_of);
        matches!((marked(old), marked(new)), (Some(a), Some(b)) if a == b)
    }
}

/// `*` matches any run of characters (dots included).
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Every difference between `old` and `new` under `path`.
pub fn diff(path: &str, old: &Value, new: &Value, ignore: &Ignore, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    if let (Some(a), Some(b)) = (attributes(old), attributes(new)) {
        return diff_maps(path, &a, &b, ignore, out);
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_maps(path, a, b, ignore, out),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&join(path, &i.to_string()), x, y, ignore, out);
            }
        }
        _ => push(path, Some(old), Some(new), ignore, out),
    }
}

fn diff_maps(
    path: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    ignore: &Ignore,
    out: &mut Vec<FieldChange>,
) {
    for (k, x) in a {
        let p = member_path(path, k, x);
        match b.get(k) {
            Some(y) => diff(&p, x, y, ignore, out),
            None => push(&p, Some(x), None, ignore, out),
        }
    }
    for (k, y) in b {
        if !a.contains_key(k) {
            push(&member_path(path, k, y), None, Some(y), ignore, out);
        }
    }
}

/// User attributes are compared as a name → value map and named by the attribute alone
/// (`email`, not `Attributes.0.Value`).
fn member_path(path: &str, key: &str, value: &Value) -> String {
    if attributes(value).is_some() && (key == "Attributes" || key == "UserAttributes") {
        path.to_owned()
    } else {
        join(path, key)
    }
}

fn push(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    ignore: &Ignore,
    out: &mut Vec<FieldChange>,
) {
    if !ignore.skips(path, old, new) {
        out.push(FieldChange {
            path: path.to_owned(),
            old: old.cloned(),
            new: new.cloned(),
        });
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A `[{"Name": .., "Value": ..}]` list as a map.
fn attributes(v: &Value) -> Option<Map<String, Value>> {
    let items = v.as_array()?;
    if items.is_empty() {
        return None;
    }
    let mut map = Map::new();
    for item in items {
        let name = item.get("Name")?.as_str()?;
        map.insert(
            name.to_owned(),
            item.get("Value").cloned().unwrap_or(Value::Null),
        );
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(
        old: Value,
        new: Value,
        ignore: &Ignore,
    ) -> Vec<(String, Option<Value>, Option<Value>)> {
        let mut out = Vec::new();
        diff("", &old, &new, ignore, &mut out);
        out.into_iter().map(|c| (c.path, c.old, c.new)).collect()
    }

    #[test]
    fn attributes_compare_by_name() {
        let old = json!({"Username": "dave", "Attributes": [{"Name": "email", "Value": "a@x"}, {"Name": "name", "Value": "D"}]});
        let new = json!({"Username": "dave", "Attributes": [{"Name": "name", "Value": "D"}, {"Name": "email", "Value": "b@x"}]});
        assert_eq!(
            changes(old, new, &Ignore::default()),
            [("email".into(), Some(json!("a@x")), Some(json!("b@x")))]
        );
    }

    #[test]
    fn placeholders_and_tokens_are_ignored_unless_strict() {
        let old =
            json!({"Session": "cognito-vcr-placeholder-Session-aa", "NextToken": "t1", "n": 1});
        let new =
            json!({"Session": "cognito-vcr-placeholder-Session-bb", "NextToken": "t2", "n": 1});
        assert!(changes(old.clone(), new.clone(), &Ignore::default()).is_empty());
        let strict = Ignore {
            strict: true,
            ..Default::default()
        };
        assert_eq!(changes(old, new, &strict).len(), 2);
    }

    #[test]
    fn virtual_dates_are_compared_by_being_virtual() {
        let virtual_dates = json!({"UserPool": {"CreationDate": 1_000_000_003_i64, "LastModifiedDate": 1_050_000_001_i64}});
        let moved = json!({"UserPool": {"CreationDate": 1_000_000_004_i64, "LastModifiedDate": 1_050_000_002_i64}});
        assert!(
            changes(virtual_dates.clone(), moved, &Ignore::default()).is_empty(),
            "virtual dates only order"
        );
        let real =
            json!({"UserPool": {"CreationDate": 1.7e9, "LastModifiedDate": 1_050_000_002_i64}});
        assert_eq!(
            changes(virtual_dates, real, &Ignore::default()).len(),
            1,
            "a real date against a virtual one"
        );
    }

    #[test]
    fn globs_ignore_paths() {
        let old = json!({"UserPool": {"LastModifiedDate": 1, "CreationDate": 1, "Name": "a"}});
        let new = json!({"UserPool": {"LastModifiedDate": 2, "CreationDate": 2, "Name": "b"}});
        let ignore = Ignore {
            globs: vec!["*Date".into()],
            strict: false,
        };
        assert_eq!(
            changes(old, new, &ignore),
            [("UserPool.Name".into(), Some(json!("a")), Some(json!("b")))]
        );
        assert!(glob("Users.*.Enabled", "Users.alice.Enabled"));
        assert!(!glob("*Date", "DateFormat"));
        assert!(glob("*", "anything"));
    }
}
