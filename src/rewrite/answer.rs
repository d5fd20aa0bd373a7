//! An answer's body on its way through the rewrite stages: the bytes as they came, parsed at
//! most once (when a stage needs its JSON), and written out once, at the end, if a stage
//! changed it.
//!
//! Each stage used to parse the body and write it back when it changed something, so a page
//! that two stages rewrote was parsed three times and written twice. The stages now share one
//! parsed value. That gives the same bytes: parsing what [`canonical`] wrote gives back the
//! same value (keys sorted, strings and numbers as they were), so a stage sees what it saw
//! when it parsed the previous stage's output.

use bytes::Bytes;
use serde_json::Value;

use crate::keying::canonical::canonical;

/// The body of one answer being rewritten.
pub struct Body {
    /// The bytes while no stage changed the JSON: the upstream's, or what a stage put in
    /// their place ([`Body::replace`]).
    raw: Bytes,
    /// Whether `raw` is no longer the answer's own bytes.
    replaced: bool,
    /// `None` until a stage needs the JSON; then the value, or `None` inside when `raw` is not
    /// JSON.
    parsed: Option<Option<Value>>,
    /// Whether the value differs from `raw`: the stored body is then its canonical form.
    changed: bool,
    /// The canonical form of the changed value, kept until it changes again.
    written: Option<Vec<u8>>,
}

impl Body {
    pub fn new(raw: Bytes) -> Body {
        Body {
            raw,
            replaced: false,
            parsed: None,
            changed: false,
            written: None,
        }
    }

    /// The bytes as they came (or as [`Body::replace`] put them) when no stage has changed the
    /// JSON; `None` once one has.
    pub fn unchanged(&self) -> Option<&[u8]> {
        (!self.changed).then_some(&self.raw[..])
    }

    /// The JSON, parsed the first time it is asked for; `None` when the body is not JSON. A
    /// stage that changes it says so with [`Body::set_changed`].
    pub fn json(&mut self) -> Option<&mut Value> {
        let raw = &self.raw;
        self.parsed
            .get_or_insert_with(|| crate::keying::json::parse(raw).ok())
            .as_mut()
    }

    /// A stage changed the JSON: the body is stored in its canonical form.
    pub fn set_changed(&mut self) {
        self.changed = true;
        self.written = None;
    }

    /// The body as it stands: the bytes as they came while nothing changed, else the canonical
    /// form of the value (written once until it changes again).
    pub fn bytes(&mut self) -> &[u8] {
        if !self.changed {
            return &self.raw;
        }
        let value = self.parsed.as_ref().and_then(Option::as_ref);
        self.written
            .get_or_insert_with(|| canonical(value.expect("only a parsed value changes")))
    }

    /// The body is `bytes` from now on (not JSON as far as the stages go: the next one that
    /// asks parses them).
    pub fn replace(&mut self, bytes: Vec<u8>) {
        self.raw = Bytes::from(bytes);
        self.replaced = true;
        self.parsed = None;
        self.changed = false;
        self.written = None;
    }

    /// The body to store if it differs from the answer's own bytes.
    pub fn into_stored(mut self) -> Option<Bytes> {
        if self.changed {
            self.bytes();
            return self.written.map(Bytes::from);
        }
        self.replaced.then_some(self.raw)
    }
}
