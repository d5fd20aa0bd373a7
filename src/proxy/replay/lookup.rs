//! What replay answers for one occurrence of a request, from the recording alone.
//!
//! - the recorded answer of that very occurrence;
//! - where every recorded occurrence holds the same answer, that answer, for any occurrence and
//!   any number of clients at once (also with `--strict`: nothing is out of order);
//! - otherwise, past the last recorded occurrence (not with `--strict`): the last one's answer;
//!   for the first page of a listing, the last one whose whole chain is recorded, so that a
//!   client paging past the end gets a complete listing whenever the cassette holds one.

use serde_json::Value;

use crate::cassette::timing::same_answer;

use crate::cognito::pagination::paginated;
use crate::cognito::wire::Response;
use crate::keying::key::RequestKey;
use crate::rewrite::Pipeline;
use crate::store::{ReplayIndex, Store};

/// A chain longer than this is taken as broken (a loop in a hand-edited cassette).
const MAX_PAGES: usize = 100_000;

/// What a replay lookup found.
pub enum Found {
    /// The recorded answer of this very occurrence.
    Exact(Response),
    /// The answer for every occurrence after `last`.
    PastEnd { last: u32, response: Response },
}

/// The answer to `occurrence` of `key`, whose stored request body is `request`.
pub fn lookup(
    recorded: &ReplayIndex,
    pipeline: &Pipeline,
    key: &RequestKey,
    occurrence: u32,
    request: &Value,
    strict: bool,
) -> Option<Found> {
    if let Some(found) = recorded.get(key, occurrence) {
        return Some(Found::Exact(found));
    }
    let all = recorded.all(key);
    let (last, last_answer) = all.last()?;
    let last = *last;
    if let Some(alike) = all_alike(&all) {
        return Some(alike);
    }
    if strict || occurrence == 1 {
        return None;
    }
    if is_first_page(key, request) {
        if let Some((_, answer)) = all
            .iter()
            .rev()
            .find(|(_, answer)| chain_is_complete(recorded, pipeline, key, request, answer))
        {
            return Some(Found::PastEnd {
                last,
                response: answer.clone(),
            });
        }
    }
    Some(Found::PastEnd {
        last,
        response: last_answer.clone(),
    })
}

/// Auto mode's lookup in the store: the recorded answer of this occurrence, or the one answer
/// every recorded occurrence holds (what was recorded many times alike is kept once); `None`
/// sends the call upstream to be recorded.
pub fn recorded_answer(
    store: &Store,
    key: &RequestKey,
    occurrence: u32,
) -> crate::error::Result<Option<Found>> {
    if let Some(found) = store.get(key, occurrence)? {
        return Ok(Some(Found::Exact(found)));
    }
    Ok(all_alike(&store.all(key)?))
}

/// The one answer every recorded occurrence holds, for every occurrence past the last.
fn all_alike(all: &[(u32, Response)]) -> Option<Found> {
    let (last, answer) = all.last()?;
    all.iter()
        .all(|(_, r)| same_answer(r, answer))
        .then(|| Found::PastEnd {
            last: *last,
            response: answer.clone(),
        })
}

/// A request of a paginated operation that carries no token.
fn is_first_page(key: &RequestKey, request: &Value) -> bool {
    paginated(&key.operation).is_some_and(|p| request.get(p.tokens.request).is_none())
}

/// Whether following `answer`'s tokens from the first page `request` reaches a last page.
fn chain_is_complete(
    recorded: &ReplayIndex,
    pipeline: &Pipeline,
    key: &RequestKey,
    request: &Value,
    answer: &Response,
) -> bool {
    follow_chain(
        recorded,
        pipeline,
        key,
        request,
        answer,
        LaterPage::Last,
        |_| true,
    )
}

/// Which recorded answer of a later page a walk takes.
#[derive(Clone, Copy)]
pub enum LaterPage {
    /// The last one recorded.
    Last,
    /// The one every recorded occurrence holds; none when they differ (walks that shared their
    /// first pages, then parted: which one a given walk got is not known).
    AllAlike,
}

/// Follow the chain that `answer` (to the first page `request` of `key`) starts, page by page:
/// `visit` sees each page's body and may stop the walk (`false`, a failure). True when the
/// walk reaches a page without a token; an operation that does not paginate is one page.
pub fn follow_chain(
    recorded: &ReplayIndex,
    pipeline: &Pipeline,
    key: &RequestKey,
    request: &Value,
    answer: &Response,
    later: LaterPage,
    mut visit: impl FnMut(Value) -> bool,
) -> bool {
    let Some(p) = paginated(&key.operation) else {
        return true;
    };
    let mut answer = answer.clone();
    for _ in 0..MAX_PAGES {
        if answer.status >= 300 {
            return false;
        }
        let Ok(page) = crate::keying::json::parse(&answer.body) else {
            return false;
        };
        let token = page
            .get(p.tokens.response)
            .and_then(Value::as_str)
            .map(str::to_owned);
        if !visit(page) {
            return false;
        }
        let Some(token) = token else {
            return true;
        };
        let mut next = request.clone();
        next[p.tokens.request] = Value::String(token);
        let next = pipeline
            .key(key.operation.clone(), &next)
            .in_scope(key.scope.clone());
        let mut answers = recorded.all(&next).into_iter().map(|(_, a)| a);
        let found = match later {
            LaterPage::Last => answers.last(),
            LaterPage::AllAlike => answers
                .next()
                .filter(|first| answers.all(|other| same_answer(&other, first))),
        };
        match found {
            Some(page) => answer = page,
            None => return false,
        }
    }
    false
}
