//! `diff`: what changed between two recordings of the same session (API drift), as pure
//! functions over interactions.
//!
//! - `mod.rs`: units (single interactions and whole token chains), pairing by request key,
//!   the report
//! - `compare.rs`: value-level comparison (attributes by name, ignored paths)
//! - `render.rs`: the change log (text) and the documented JSON
//! - `live.rs`: `--live`, the read-only requests of a cassette re-sent upstream

pub mod compare;
pub mod live;
pub mod render;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::cassette::Interaction;
use crate::cognito::pagination::{paginated, request_token};
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;
pub use compare::{FieldChange, Ignore};

/// The request fields that name what an interaction is about, in the order they are shown.
pub const CONTEXT_FIELDS: &[&str] = &["UserPoolId", "GroupName", "Username", "ClientId", "Filter"];

/// What a diff reports about one request (or one whole token chain).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The scope's name; `None` for the default scope.
    pub scope: Option<String>,
    pub operation: String,
    pub occurrence: u32,
    /// Request fields that say what the call is about (pool, group, user, filter).
    pub context: BTreeMap<String, Value>,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    OnlyInOld,
    OnlyInNew,
    /// The answer to the same request changed.
    Answer {
        status: Option<(u16, u16)>,
        error_type: Option<(Option<String>, Option<String>)>,
        fields: Vec<FieldChange>,
    },
    /// The items of a whole token chain changed (all pages compared as one list).
    Items {
        /// The list's name (`Users`, `Groups`, `UserPools`...).
        items: String,
        added: Vec<String>,
        removed: Vec<String>,
        changed: Vec<(String, Vec<FieldChange>)>,
    },
}

/// The result of a diff: the entries that differ, ordered by operation then context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub entries: Vec<Entry>,
    /// `--live` only: recorded read-only requests that could not be re-sent (they carry
    /// placeholders or redacted values).
    pub skipped: usize,
}

impl Report {
    pub fn is_equal(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One comparable unit of a cassette.
struct Unit<'a> {
    first: &'a Interaction,
    /// Every page of a chain, the first included; one element for a single interaction.
    pages: Vec<&'a Interaction>,
    chain: bool,
}

/// Identity of a unit: scope, operation, key of its first request, occurrence.
type UnitKey = (Option<String>, String, [u8; 32], u32);

fn units<'a>(interactions: &'a [Interaction], rules: &Rules) -> Vec<(UnitKey, Unit<'a>)> {
    // Pages that carry a token, by (scope, operation, token).
    let mut by_token: HashMap<(Option<&str>, &str, &str), &Interaction> = HashMap::new();
    for i in interactions {
        if let Some(t) = request_token(&i.operation, &i.request) {
            by_token.insert((i.scope.name(), &i.operation, t), i);
        }
    }
    let mut in_chain: HashSet<*const Interaction> = HashSet::new();
    let mut out = Vec::new();
    for i in interactions {
        let Some(p) = paginated(&i.operation) else {
            continue;
        };
        if request_token(&i.operation, &i.request).is_some() || i.response.status >= 400 {
            continue;
        }
        let mut pages = vec![i];
        let mut current = i;
        while let Some(next) = answer(current)
            .as_ref()
            .and_then(|a| a.get(p.tokens.response))
            .and_then(Value::as_str)
            .and_then(|t| by_token.get(&(current.scope.name(), current.operation.as_str(), t)))
        {
            if pages.len() > interactions.len() {
                break; // a token loop in a hand-edited cassette
            }
            pages.push(next);
            current = next;
        }
        for page in &pages {
            in_chain.insert(*page as *const _);
        }
        out.push((
            unit_key(i, rules),
            Unit {
                first: i,
                pages,
                chain: true,
            },
        ));
    }
    for i in interactions {
        if !in_chain.contains(&(i as *const _)) {
            out.push((
                unit_key(i, rules),
                Unit {
                    first: i,
                    pages: vec![i],
                    chain: false,
                },
            ));
        }
    }
    out
}

fn unit_key(i: &Interaction, rules: &Rules) -> UnitKey {
    let key = RequestKey::of(&i.operation, &i.request, rules);
    (
        i.scope.name().map(str::to_owned),
        i.operation.clone(),
        key.digest,
        i.occurrence,
    )
}

fn answer(i: &Interaction) -> Option<Value> {
    crate::keying::json::parse(&i.response.body).ok()
}

/// `interactions` with each aliased value (the config file's `[aliases]`: another
/// environment's ids) as the one it stands for, in requests and answers, so that a recording of
/// one stage pairs with another's.
pub fn aliased(interactions: &mut [Interaction], aliases: &[(String, String)]) {
    let aliases = crate::rewrite::replace::Replacements::new(aliases.iter().cloned());
    if aliases.is_empty() {
        return;
    }
    for i in interactions {
        aliases.rewrite(&mut i.request, false);
        if let Some(mut body) = answer(i) {
            if aliases.rewrite(&mut body, false) {
                i.response.body = crate::keying::canonical::canonical(&body).into();
            }
        }
    }
}

/// Compare two recordings.
pub fn diff(old: &[Interaction], new: &[Interaction], rules: &Rules, ignore: &Ignore) -> Report {
    let old_units = units(old, rules);
    let mut new_units: HashMap<UnitKey, Unit> = units(new, rules).into_iter().collect();
    let mut entries = Vec::new();
    let mut only_old = Vec::new();
    for (key, o) in old_units {
        match new_units.remove(&key) {
            None => only_old.push(o),
            Some(n) => {
                if let Some(change) = compare_units(&o, &n, ignore) {
                    entries.push(entry(o.first, change));
                }
            }
        }
    }
    // A call about the same thing (same scope, operation, pool, user...) whose request changed:
    // one change, its request's fields and its answer's, not a removal and an addition.
    let mut only_new: BTreeMap<(Option<String>, String, String, u32), Unit> = BTreeMap::new();
    let mut unnamed_new = Vec::new();
    // In key order: which of two new calls about the same thing pairs is the same every run.
    let mut new_left: Vec<(UnitKey, Unit)> = new_units.into_iter().collect();
    new_left.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, n) in new_left {
        match about(&n) {
            Some(about) if !only_new.contains_key(&about) => {
                only_new.insert(about, n);
            }
            _ => unnamed_new.push(n),
        }
    }
    for o in only_old {
        match about(&o).and_then(|about| only_new.remove(&about)) {
            Some(n) => {
                let mut fields = Vec::new();
                compare::diff(
                    "request",
                    &o.first.request,
                    &n.first.request,
                    ignore,
                    &mut fields,
                );
                let answer = compare_units(&o, &n, ignore);
                let (status, error_type) = match answer {
                    Some(Change::Answer {
                        status,
                        error_type,
                        fields: answered,
                    }) => {
                        fields.extend(answered);
                        (status, error_type)
                    }
                    _ => (None, None),
                };
                let change = Change::Answer {
                    status,
                    error_type,
                    fields,
                };
                entries.push(entry(o.first, change));
            }
            None => entries.push(entry(o.first, Change::OnlyInOld)),
        }
    }
    for n in only_new.into_values().chain(unnamed_new) {
        entries.push(entry(n.first, Change::OnlyInNew));
    }
    // Ties (two calls about the same thing, one changed and one new) broken by what changed.
    entries.sort_by_cached_key(|e| {
        (
            e.scope.clone(),
            e.operation.clone(),
            context_label(&e.context),
            e.occurrence,
            format!("{:?}", e.change),
        )
    });
    Report {
        entries,
        skipped: 0,
    }
}

/// What a single call is about, to pair a call whose request changed: scope, operation, the
/// context fields (`None` without any), occurrence.
fn about(u: &Unit) -> Option<(Option<String>, String, String, u32)> {
    if u.chain {
        return None;
    }
    let e = entry(u.first, Change::OnlyInOld);
    let label = context_label(&e.context);
    (!label.is_empty()).then_some((e.scope, e.operation, label, e.occurrence))
}

fn entry(first: &Interaction, change: Change) -> Entry {
    let context = CONTEXT_FIELDS
        .iter()
        .filter_map(|f| first.request.get(*f).map(|v| (f.to_string(), v.clone())))
        .collect();
    Entry {
        scope: first.scope.name().map(str::to_owned),
        operation: first.operation.clone(),
        occurrence: first.occurrence,
        context,
        change,
    }
}

/// `pool us-east-1_X, filter none`-style label (also the sort order of entries).
pub fn context_label(context: &BTreeMap<String, Value>) -> String {
    CONTEXT_FIELDS
        .iter()
        .filter_map(|f| {
            let v = context.get(*f)?;
            let name = match *f {
                "UserPoolId" => "pool",
                "GroupName" => "group",
                "Username" => "user",
                "ClientId" => "client",
                _ => "filter",
            };
            Some(format!(
                "{name} {}",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn compare_units(old: &Unit, new: &Unit, ignore: &Ignore) -> Option<Change> {
    let (o, n) = (old.first, new.first);
    let error_type = (o.response.error_type(), n.response.error_type());
    if old.chain && new.chain {
        return compare_chains(old, new, ignore);
    }
    let status =
        (o.response.status != n.response.status).then_some((o.response.status, n.response.status));
    let mut fields = Vec::new();
    match (answer(o), answer(n)) {
        (Some(a), Some(b)) => compare::diff("", &a, &b, ignore, &mut fields),
        _ if o.response.body != n.response.body => fields.push(FieldChange {
            path: "(body)".into(),
            old: Some(Value::String(
                String::from_utf8_lossy(&o.response.body).into(),
            )),
            new: Some(Value::String(
                String::from_utf8_lossy(&n.response.body).into(),
            )),
        }),
        _ => {}
    }
    let error_type = (error_type.0 != error_type.1).then_some(error_type);
    if status.is_none() && error_type.is_none() && fields.is_empty() {
        return None;
    }
    Some(Change::Answer {
        status,
        error_type,
        fields,
    })
}

fn compare_chains(old: &Unit, new: &Unit, ignore: &Ignore) -> Option<Change> {
    let p = paginated(&old.first.operation).expect("chains are of paginated operations");
    let items = |u: &Unit| -> Vec<(String, Value)> {
        u.pages
            .iter()
            .filter_map(|page| answer(page))
            .flat_map(|a| {
                a.get(p.items)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|item| {
                let id = p
                    .identity
                    .and_then(|f| item.get(f))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        String::from_utf8_lossy(&crate::keying::canonical::canonical(&item))
                            .into_owned()
                    });
                (id, item)
            })
            .collect()
    };
    let old_items = items(old);
    let new_items: BTreeMap<String, Value> = items(new).into_iter().collect();
    let old_ids: HashSet<&String> = old_items.iter().map(|(id, _)| id).collect();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for (id, item) in &old_items {
        match new_items.get(id) {
            None => removed.push(id.clone()),
            Some(n) => {
                let mut fields = Vec::new();
                compare::diff("", item, n, ignore, &mut fields);
                if !fields.is_empty() {
                    changed.push((id.clone(), fields));
                }
            }
        }
    }
    let added: Vec<String> = new_items
        .keys()
        .filter(|id| !old_ids.contains(id))
        .cloned()
        .collect();
    removed.sort();
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return None;
    }
    Some(Change::Items {
        items: p.items.to_owned(),
        added,
        removed,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito::wire::Response;
    use bytes::Bytes;
    use serde_json::json;

    fn i(op: &str, occ: u32, request: Value, answer: Value) -> Interaction {
        Interaction {
            scope: Default::default(),
            operation: op.into(),
            occurrence: occ,
            request,
            response: Response {
                status: 200,
                headers: vec![],
                body: Bytes::from(serde_json::to_vec(&answer).unwrap()),
            },
        }
    }

    fn user(name: &str, email: &str) -> Value {
        json!({"Username": name, "Attributes": [{"Name": "email", "Value": email}]})
    }

    /// A ListUsers chain of pages of `per` users.
    fn chain(users: &[Value], per: usize) -> Vec<Interaction> {
        let pages: Vec<&[Value]> = users.chunks(per).collect();
        pages
            .iter()
            .enumerate()
            .map(|(n, page)| {
                let mut req = json!({"UserPoolId": "p", "Limit": per});
                if n > 0 {
                    req["PaginationToken"] = json!(format!("t{n}"));
                }
                let mut ans = json!({"Users": page});
                if n + 1 < pages.len() {
                    ans["PaginationToken"] = json!(format!("t{}", n + 1));
                }
                i("ListUsers", 1, req, ans)
            })
            .collect()
    }

    #[test]
    fn a_chain_is_compared_as_one_list_of_items() {
        let old = chain(
            &[
                user("bob", "b@x"),
                user("carol", "c@x"),
                user("dave", "a@x"),
                user("erin", "e@x"),
            ],
            2,
        );
        // alice sorts first: every page shifts, yet only the real changes are reported.
        let new = chain(
            &[
                user("alice", "al@x"),
                user("bob", "b@x"),
                user("dave", "b@x"),
                user("erin", "e@x"),
            ],
            2,
        );
        let report = diff(&old, &new, &Rules::default(), &Ignore::default());
        assert_eq!(report.entries.len(), 1, "{report:#?}");
        let Change::Items {
            items,
            added,
            removed,
            changed,
        } = &report.entries[0].change
        else {
            panic!()
        };
        assert_eq!(items, "Users");
        assert_eq!(added, &["alice"]);
        assert_eq!(removed, &["carol"]);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].0, "dave");
        assert_eq!(changed[0].1[0].path, "email");
        assert_eq!(report.entries[0].context["UserPoolId"], "p");
    }

    #[test]
    fn singles_pair_by_key_and_report_status_and_presence() {
        let old = vec![
            i(
                "AdminGetUser",
                1,
                json!({"UserPoolId": "p", "Username": "a"}),
                json!({"Username": "a"}),
            ),
            i(
                "DescribeUserPool",
                1,
                json!({"UserPoolId": "p"}),
                json!({"UserPool": {"Name": "x"}}),
            ),
        ];
        let mut gone = i(
            "AdminGetUser",
            1,
            json!({"UserPoolId": "p", "Username": "a"}),
            json!({"__type": "UserNotFoundException", "message": "m"}),
        );
        gone.response.status = 400;
        let new = vec![gone, i("GetGroup", 1, json!({"GroupName": "g"}), json!({}))];
        let report = diff(&old, &new, &Rules::default(), &Ignore::default());
        let kinds: Vec<_> = report
            .entries
            .iter()
            .map(|e| (e.operation.as_str(), &e.change))
            .collect();
        assert!(matches!(
            kinds[0],
            (
                "AdminGetUser",
                Change::Answer {
                    status: Some((200, 400)),
                    error_type: Some((None, Some(_))),
                    ..
                }
            )
        ));
        assert!(matches!(kinds[1], ("DescribeUserPool", Change::OnlyInOld)));
        assert!(matches!(kinds[2], ("GetGroup", Change::OnlyInNew)));
        assert!(diff(&old, &old, &Rules::default(), &Ignore::default()).is_equal());
    }

    #[test]
    fn the_same_request_in_two_scopes_is_two_entries() {
        let get = |scope: Option<&str>, name: &str| {
            let mut one = i(
                "AdminGetUser",
                1,
                json!({"UserPoolId": "p", "Username": "a"}),
                json!({"Username": "a", "Name": name}),
            );
            one.scope = crate::cassette::Scope::from_name(scope).unwrap();
            one
        };
        let old = vec![get(None, "x"), get(Some("t1"), "x")];
        let new = vec![get(None, "x"), get(Some("t1"), "y")];
        let report = diff(&old, &new, &Rules::default(), &Ignore::default());
        assert_eq!(report.entries.len(), 1);
        assert_eq!(report.entries[0].scope.as_deref(), Some("t1"));
        let text = super::render::text(&report, false);
        assert!(text.starts_with("[t1] AdminGetUser"), "{text}");
        assert_eq!(super::render::json(&report)["changes"][0]["scope"], "t1");
    }
}
