//! A recorded listing at any page size: a paginated request that is not recorded, but whose
//! listing is (the same request apart from its page size and token, a complete walk at the same
//! occurrence), is answered with pages of the size asked for, cut from the recorded items, with
//! chain-stable synthetic tokens. Not with `--strict` (there it is a miss) or `--no-repage`.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lookup::{follow_chain, lookup, Found, LaterPage};
use crate::cognito::pagination::{paginated, Paginated};
use crate::cognito::wire::Response;
use crate::keying::key::RequestKey;
use crate::keying::scope::Scope;
use crate::proxy::occurrences::Occurrences;
use crate::rewrite::page_tokens::synthetic;
use crate::rewrite::Pipeline;
use crate::store::ReplayIndex;

/// The page size when the request names none, and the largest Cognito takes (a request asking
/// for more is a miss, as Cognito would refuse it).
const DEFAULT_PAGE_SIZE: usize = 60;
const MAX_PAGE_SIZE: usize = 60;
/// Cursors kept before the oldest are dropped (a client paging far back gets a miss).
const MAX_CURSORS: usize = 100_000;

/// A listing being served at another page size: where the next page starts.
struct Cursor {
    listing: Arc<Listing>,
    offset: usize,
    /// The key digest of the request without its page size and token.
    shape: [u8; 32],
}

/// A recorded listing's items and the first page's answer, the template of every page.
struct Listing {
    items: Vec<Value>,
    first_page: serde_json::Map<String, Value>,
    status: u16,
    headers: Vec<(String, String)>,
}

/// The re-paged chains handed out in this run, by scope, operation and the token that
/// continues each (a token sent to another scope or operation continues nothing).
#[derive(Default)]
pub struct Repager {
    cursors: Mutex<HashMap<CursorKey, Cursor>>,
}

/// A re-paged chain's scope, operation and token.
type CursorKey = (Scope, Arc<str>, String);

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
        recorded: &ReplayIndex,
        pipeline: &Pipeline,
        key: &RequestKey,
        occurrences: &Occurrences,
        request: &Value,
    ) -> Option<Repaged> {
        let p = paginated(&key.operation)?;
        let page_size = match request.get(p.page_size) {
            None => DEFAULT_PAGE_SIZE,
            Some(n) => usize::try_from(n.as_u64()?)
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))?,
        };
        let cursor_key = |token: &str| (key.scope.clone(), key.operation.clone(), token.to_owned());
        // The listing asked for: the request but its page size and token.
        let wanted = shape(pipeline, p, key, request)?;
        let (listing, offset) = match request.get(p.tokens.request) {
            Some(token) => {
                let cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
                let cursor = cursors.get(&cursor_key(token.as_str()?))?;
                if cursor.shape != wanted {
                    return None;
                }
                (cursor.listing.clone(), cursor.offset)
            }
            None => (
                Arc::new(find_listing(
                    recorded,
                    pipeline,
                    p,
                    key,
                    occurrences,
                    wanted,
                )?),
                0,
            ),
        };
        let end = offset.saturating_add(page_size).min(listing.items.len());
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
                    cursor_key(&token),
                    Cursor {
                        listing: listing.clone(),
                        offset: end,
                        shape: wanted,
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

/// A complete recorded walk of the listing a first page asks for (`wanted`, its shape): the same
/// request apart from its page size, in the same scope, at the same point of the scope's sequence. The
/// recorded first page's own occurrence counter is taken: a test that lists by 10 where the
/// recording listed by 7, creates a user and lists again gets the listing before, then after.
fn find_listing(
    recorded: &ReplayIndex,
    pipeline: &Pipeline,
    p: &Paginated,
    key: &RequestKey,
    occurrences: &Occurrences,
    wanted: [u8; 32],
) -> Option<Listing> {
    recorded
        .requests(&key.scope, &key.operation)
        .iter()
        // The number-keeping parser: a recorded body reads as it was keyed.
        .filter_map(|r| Some((r, crate::keying::json::parse(r.body.as_bytes()).ok()?)))
        .filter(|(_, body)| {
            body.get(p.tokens.request).is_none() && shape(pipeline, p, key, body) == Some(wanted)
        })
        .find_map(|(r, first)| {
            // Its key as recorded, not computed again.
            let first_key = RequestKey {
                scope: key.scope.clone(),
                operation: key.operation.clone(),
                digest: r.digest,
            };
            let occurrence = occurrences.next_occurrence(&first_key);
            walk(recorded, pipeline, p, &first_key, occurrence, &first)
        })
}

/// What makes two requests the same listing: the key digest of the request without its page
/// size and token.
fn shape(pipeline: &Pipeline, p: &Paginated, key: &RequestKey, body: &Value) -> Option<[u8; 32]> {
    let mut body = body.clone();
    let map = body.as_object_mut()?;
    map.remove(p.page_size);
    map.remove(p.tokens.request);
    Some(pipeline.key(key.operation.clone(), &body).digest)
}

/// Follow a recorded chain from its first page (`key`, this occurrence); its items if it is
/// complete and every later page was recorded alike.
fn walk(
    recorded: &ReplayIndex,
    pipeline: &Pipeline,
    p: &Paginated,
    key: &RequestKey,
    occurrence: u32,
    first: &Value,
) -> Option<Listing> {
    let answer = match lookup(recorded, pipeline, key, occurrence, first, false)? {
        Found::Exact(answer)
        | Found::PastEnd {
            response: answer, ..
        } => answer,
    };
    let mut items = Vec::new();
    let mut first_page = None;
    let complete = follow_chain(
        recorded,
        pipeline,
        key,
        first,
        &answer,
        LaterPage::AllAlike,
        |page| {
            let Value::Object(body) = page else {
                return false;
            };
            let Some(listed) = body.get(p.items).and_then(Value::as_array) else {
                return false;
            };
            items.extend(listed.iter().cloned());
            first_page.get_or_insert(body);
            true
        },
    );
    if !complete {
        return None;
    }
    Some(Listing {
        items,
        first_page: first_page?,
        status: answer.status,
        headers: answer.headers,
    })
}
