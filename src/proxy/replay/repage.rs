//! A recorded listing at any page size: a paginated request that is not recorded, but whose
//! listing is (the same request apart from its page size and token, a complete walk at the same
//! occurrence), is answered with pages of the size asked for, cut from the recorded items, with
//! chain-stable synthetic tokens. Not with `--strict` (there it is a miss) or `--no-repage`.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lookup::{lookup, Found};
use crate::cognito::pagination::{paginated, Paginated};
use crate::cognito::wire::Response;
use crate::keying::key::RequestKey;
use crate::store::Memory;
use crate::stored::page_tokens::synthetic;
use crate::stored::Pipeline;

/// A listing longer than this many pages is taken as broken (a loop in a hand-edited cassette).
const MAX_PAGES: usize = 100_000;
/// Page sizes when the request names none (Cognito's documented defaults and maxima).
const DEFAULT_PAGE_SIZE: usize = 60;
/// Cursors kept before the oldest are dropped (a client paging far back gets a miss).
const MAX_CURSORS: usize = 100_000;

/// The page size member of a paginated operation's request.
pub fn page_size_field(operation: &str) -> &'static str {
    match operation {
        "ListUsers"
        | "ListUsersInGroup"
        | "ListGroups"
        | "AdminListGroupsForUser"
        | "AdminListDevices"
        | "ListDevices" => "Limit",
        _ => "MaxResults",
    }
}

/// A listing being served at another page size: where the next page starts.
struct Cursor {
    listing: Arc<Listing>,
    offset: usize,
}

/// A recorded listing's items and the first page's answer, the template of every page.
struct Listing {
    items: Vec<Value>,
    first_page: serde_json::Map<String, Value>,
    status: u16,
    headers: Vec<(String, String)>,
}

/// The re-paged chains handed out in this run, by the token that continues each.
#[derive(Default)]
pub struct Repager {
    cursors: Mutex<HashMap<String, Cursor>>,
}

/// A page served from a recorded listing, and what to log about it.
pub struct Repaged {
    pub response: Response,
    pub recorded_items: usize,
    pub page_size: usize,
}

impl Repager {
    /// The page `request` asks for, cut from a recorded listing; `None` when none applies.
    pub fn serve(
        &self,
        recorded: &Memory,
        pipeline: &Pipeline,
        key: &RequestKey,
        occurrence: u32,
        request: &Value,
    ) -> Option<Repaged> {
        let p = paginated(&key.operation)?;
        let size_field = page_size_field(&key.operation);
        let page_size = match request.get(size_field) {
            None => DEFAULT_PAGE_SIZE,
            Some(n) => usize::try_from(n.as_u64()?).ok().filter(|n| *n > 0)?,
        };
        let (listing, offset) = match request.get(p.tokens.request) {
            Some(token) => {
                let cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
                let cursor = cursors.get(token.as_str()?)?;
                (cursor.listing.clone(), cursor.offset)
            }
            None => (
                Arc::new(find_listing(
                    recorded, pipeline, p, key, occurrence, request,
                )?),
                0,
            ),
        };
        let end = (offset + page_size).min(listing.items.len());
        let items = Value::Array(listing.items[offset..end].to_vec());
        let mut body = listing.first_page.clone();
        let next = (end < listing.items.len()).then(|| {
            let position = pipeline.chain_position(&key.operation, request)?;
            Some(synthetic(&key.operation, &position, &items))
        });
        body.insert(p.items.to_owned(), items);
        match next.flatten() {
            Some(token) => {
                body.insert(p.tokens.response.to_owned(), Value::String(token.clone()));
                let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
                if cursors.len() >= MAX_CURSORS {
                    cursors.clear();
                }
                cursors.insert(
                    token,
                    Cursor {
                        listing: listing.clone(),
                        offset: end,
                    },
                );
            }
            None => {
                body.remove(p.tokens.response);
            }
        }
        Some(Repaged {
            response: Response {
                status: listing.status,
                headers: listing.headers.clone(),
                body: Value::Object(body).to_string().into(),
            },
            recorded_items: listing.items.len(),
            page_size,
        })
    }
}

/// A complete recorded walk of the listing `request` (a first page) asks for: the same request
/// apart from its page size, in the same scope, at this occurrence.
fn find_listing(
    recorded: &Memory,
    pipeline: &Pipeline,
    p: &Paginated,
    key: &RequestKey,
    occurrence: u32,
    request: &Value,
) -> Option<Listing> {
    let size_field = page_size_field(&key.operation);
    let shape = |body: &Value| {
        let mut body = body.clone();
        let map = body.as_object_mut()?;
        map.remove(size_field);
        map.remove(p.tokens.request);
        Some(pipeline.key(key.operation.clone(), &body).digest)
    };
    let wanted = shape(request)?;
    recorded
        .requests(&key.scope, &key.operation)
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .filter(|body| body.get(p.tokens.request).is_none() && shape(body) == Some(wanted))
        .find_map(|first| walk(recorded, pipeline, p, key, occurrence, &first))
}

/// Follow a recorded chain from its first page; its items if it is complete.
fn walk(
    recorded: &Memory,
    pipeline: &Pipeline,
    p: &Paginated,
    key: &RequestKey,
    occurrence: u32,
    first: &Value,
) -> Option<Listing> {
    let first_key = pipeline
        .key(key.operation.clone(), first)
        .in_scope(key.scope.clone());
    let answer = match lookup(recorded, pipeline, &first_key, occurrence, first, false)? {
        Found::Exact(answer)
        | Found::PastEnd {
            response: answer, ..
        } => answer,
    };
    let (status, headers) = (answer.status, answer.headers.clone());
    let mut page = answer;
    let mut items = Vec::new();
    let mut first_page = None;
    for _ in 0..MAX_PAGES {
        if page.status >= 300 {
            return None;
        }
        let Ok(Value::Object(body)) = crate::keying::json::parse(&page.body) else {
            return None;
        };
        items.extend(body.get(p.items)?.as_array()?.iter().cloned());
        let token = body
            .get(p.tokens.response)
            .and_then(Value::as_str)
            .map(str::to_owned);
        first_page.get_or_insert(body);
        let Some(token) = token else {
            return Some(Listing {
                items,
                first_page: first_page?,
                status,
                headers,
            });
        };
        let mut next = first.clone();
        next[p.tokens.request] = Value::String(token);
        let next_key = pipeline
            .key(key.operation.clone(), &next)
            .in_scope(key.scope.clone());
        page = recorded.all(&next_key).pop()?.1;
    }
    None
}
