//! Known values replaced inside what is stored: every occurrence in a JSON value's strings, in
//! one pass, leaving alone what redaction and pagination own (their values are mapped by their
//! exact text). Used for the stand-ins of generated ids and for configured aliases.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

use super::redact::{HANDED_OUT, SENT_BACK, TOKEN_MAPS};
use crate::jwt::{decode_part, jwt_parts};

/// Members whose values are never rewritten: what redaction owns (handed-out values and those
/// sent back) and pagination tokens.
const LEFT_ALONE: &[&str] = &["NextToken", "PaginationToken"];

/// Values and their replacements, found in one pass (the longest where they overlap).
#[derive(Default)]
pub struct Replacements {
    from: Vec<String>,
    to: Vec<String>,
    known: std::collections::HashSet<String>,
    /// Built from `from` when first needed after a change (adding many values in a row costs
    /// one build, not one each).
    finder: Option<AhoCorasick>,
}

impl Replacements {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Replacements {
        let mut r = Replacements::default();
        for (from, to) in pairs {
            r.add(from, to);
        }
        r.build();
        r
    }

    pub fn is_empty(&self) -> bool {
        self.from.is_empty()
    }

    pub fn has(&self, from: &str) -> bool {
        self.known.contains(from)
    }

    /// Add `from` → `to`; false when `from` is known already. [`Replacements::build`] before
    /// the next rewrite.
    pub fn add(&mut self, from: String, to: String) -> bool {
        if !self.known.insert(from.clone()) {
            return false;
        }
        self.from.push(from);
        self.to.push(to);
        self.finder = None;
        true
    }

    /// Whether values were added since the finder was built.
    pub fn needs_build(&self) -> bool {
        self.finder.is_none() && !self.from.is_empty()
    }

    /// Build the finder of every value.
    pub fn build(&mut self) {
        self.finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&self.from)
            .ok();
    }

    /// Whether [`Replacements::rewrite`] may change the JSON whose text is `raw`, told from the
    /// bytes: without a backslash every string reads as it is written, so a value found in no
    /// string is not in the text either.
    pub fn may_change(&self, raw: &[u8]) -> bool {
        match &self.finder {
            // Nothing to find (a finder of no values still reads every byte to say so).
            _ if self.is_empty() => false,
            Some(finder) => crate::keying::json::may_escape_strings(raw) || finder.is_match(raw),
            // No finder built: `rewrite` changes nothing.
            None => false,
        }
    }

    /// Every known value in `v`'s strings replaced; with `everywhere`, in every string (a
    /// token's claims), else but in the members redaction and pagination own and in JWTs. True
    /// if any.
    pub fn rewrite(&self, v: &mut Value, everywhere: bool) -> bool {
        if self.is_empty() {
            return false;
        }
        match v {
            Value::String(s) => match self.replaced(s) {
                Some(new) if everywhere || !is_jwt(s) => {
                    *s = new;
                    true
                }
                _ => false,
            },
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |any, i| self.rewrite(i, everywhere) | any),
            Value::Object(map) => map.iter_mut().fold(false, |any, (k, i)| {
                // Provider → token (`Logins`): the providers' names hold a pool's id; the
                // tokens are redaction's.
                if let (false, true, Value::Object(tokens)) =
                    (everywhere, TOKEN_MAPS.contains(&k.as_str()), &mut *i)
                {
                    return self.rewrite_names(tokens) | any;
                }
                let owned = !everywhere
                    && (HANDED_OUT.contains(&k.as_str())
                        || SENT_BACK.contains(&k.as_str())
                        || LEFT_ALONE.contains(&k.as_str()));
                (!owned && self.rewrite(i, everywhere)) | any
            }),
            _ => false,
        }
    }

    /// Every known value in the member names of `map` replaced (order kept). True if any.
    fn rewrite_names(&self, map: &mut serde_json::Map<String, Value>) -> bool {
        if !map.keys().any(|k| self.replaced(k).is_some()) {
            return false;
        }
        for (k, v) in std::mem::take(map) {
            map.insert(self.replaced(&k).unwrap_or(k), v);
        }
        true
    }

    /// `text` with every known value replaced, if it holds one.
    fn replaced(&self, text: &str) -> Option<String> {
        let finder = self.finder.as_ref()?;
        finder.find(text)?;
        Some(finder.replace_all(text, &self.to))
    }
}

/// A JWT: three parts, the first a JSON object.
fn is_jwt(s: &str) -> bool {
    jwt_parts(s).is_some_and(|[header, _, _]| decode_part(header).is_some_and(|h| h.is_object()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_replaced_where_they_recur_but_in_what_redaction_and_pagination_own() {
        let r = Replacements::new([("us-east-1_Stage".to_owned(), "us-east-1_Dev".to_owned())]);
        let mut v = json!({"UserPoolId": "us-east-1_Stage", "Arn": "x/us-east-1_Stage/y",
            "NextToken": "us-east-1_Stage", "AccessToken": "us-east-1_Stage", "n": 1});
        assert!(r.rewrite(&mut v, false));
        assert_eq!(
            v,
            json!({"UserPoolId": "us-east-1_Dev", "Arn": "x/us-east-1_Dev/y",
                "NextToken": "us-east-1_Stage", "AccessToken": "us-east-1_Stage", "n": 1})
        );
        assert!(!r.rewrite(&mut v, false), "nothing left to replace");
        assert!(!Replacements::default().rewrite(&mut v, true));
    }

    #[test]
    fn a_logins_provider_names_its_pool_by_the_replacement_and_keeps_its_token() {
        let mut r = Replacements::new([("us-east-1_Stage".to_owned(), "us-east-1_Dev".to_owned())]);
        r.build();
        let provider = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Stage";
        let mut v =
            json!({"IdentityPoolId": "us-east-1:p", "Logins": {provider: "us-east-1_Stage.token"}});
        assert!(r.rewrite(&mut v, false));
        assert_eq!(
            v["Logins"],
            json!({"cognito-idp.us-east-1.amazonaws.com/us-east-1_Dev": "us-east-1_Stage.token"})
        );
    }
}
