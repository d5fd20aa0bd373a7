//! Reading a cassette one interaction at a time: a serde visitor over the `interactions` array.
//!
//! The derived form (`Vec<InteractionJson>`, then a `Vec<Interaction>`) holds every `Value`
//! tree at once: gigabytes for a million interactions. Here each element is deserialized,
//! checked, converted and handed over before the next is read. Errors found while visiting (a
//! check, or the consumer's own) travel through serde as a placeholder and are put back after.

use super::{Interaction, InteractionJson, VERSION};
use crate::error::{Error, Result};
use crate::keying::key::{KeySet, RequestKey};
use crate::keying::scope::Scope;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// What takes each interaction, with its key and canonical request body.
pub(crate) type Consumer<'f> = &'f mut dyn FnMut(Interaction, &RequestKey, &[u8]) -> Result<()>;

pub(super) fn run(path: &Path, text: &[u8], f: Consumer<'_>) -> Result<usize> {
    let mut reader = Reader {
        path,
        // Known before the interactions: none of them is handed over.
        wrong_version: trailing_version(text).filter(|&v| v != VERSION),
        spellings: crate::keying::json::exponent_spellings(text),
        seen: KeySet::default(),
        count: 0,
        failed: None,
        f,
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = (&mut reader).deserialize(&mut de).and_then(|()| de.end());
    match (parsed, reader.failed.take()) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(corrupt(path, e.line(), e.column(), e.to_string())),
        // Last, as when the whole file was parsed before the version was looked at.
        (Ok(()), None) => match reader.wrong_version {
            Some(found) => Err(Error::CassetteVersion {
                path: path.into(),
                found,
                supported: VERSION,
            }),
            None => Ok(reader.count),
        },
    }
}

/// The version of a cassette whose last field is `"version": N` (the order this program writes,
/// keys sorted), read from the end of the text without parsing the rest. `None` for any other
/// form; the version is then checked when the parser reaches it.
fn trailing_version(text: &[u8]) -> Option<u64> {
    fn trim(t: &[u8]) -> &[u8] {
        let n = t
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        &t[..t.len() - n]
    }
    let t = trim(text).strip_suffix(b"}")?;
    let t = trim(t);
    let digits = t.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (t, number) = t.split_at(t.len() - digits);
    let t = trim(trim(t).strip_suffix(b":")?).strip_suffix(b"\"version\"")?;
    // A key starts after `{` or `,`; anything else (`\"version"`) is inside a string.
    if !matches!(trim(t).last(), Some(b'{' | b',')) {
        return None;
    }
    std::str::from_utf8(number).ok()?.parse().ok()
}

fn corrupt(path: &Path, line: usize, column: usize, message: String) -> Error {
    Error::CorruptCassette {
        path: path.into(),
        line,
        column,
        message,
    }
}

struct Reader<'a, 'f> {
    path: &'a Path,
    /// The cassette's version, once known, if it is not [`VERSION`]. The rest of the file is
    /// still parsed (a JSON error is reported first) but nothing more is checked or handed over.
    wrong_version: Option<u64>,
    spellings: HashMap<String, Option<String>>,
    /// (operation, body digest, occurrence) of every interaction so far: duplicates are errors.
    seen: KeySet,
    count: usize,
    /// The error that stopped the parse, when it is not serde's own.
    failed: Option<Error>,
    f: Consumer<'f>,
}

impl Reader<'_, '_> {
    /// Stop the parse with `e`: serde carries a placeholder out, `run` puts `e` back.
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        self.failed = Some(e);
        E::custom("(replaced)")
    }

    fn version(&mut self, found: u64) {
        if found != VERSION {
            self.wrong_version = Some(found);
        }
    }

    /// Check one interaction, convert it and hand it over.
    fn accept(&mut self, mut j: InteractionJson) -> Result<()> {
        if self.wrong_version.is_some() {
            return Ok(());
        }
        let index = self.count;
        self.count += 1;
        if !self.spellings.is_empty() {
            crate::keying::json::restore(&mut j.request.body, &self.spellings);
            if let Some(body) = &mut j.response.body {
                crate::keying::json::restore(body, &self.spellings);
            }
        }
        let what = |m: &str| {
            let message = format!("interaction {index} ({}): {m}", j.operation);
            corrupt(self.path, 0, 0, message)
        };
        if !crate::cognito::wire::is_operation(&j.operation) {
            return Err(what("operation is not a Cognito operation name"));
        }
        if j.occurrence == 0 {
            return Err(what("occurrence starts at 1"));
        }
        if !j.request.body.is_object() {
            return Err(what("request body must be a JSON object"));
        }
        if let Err(e) = Scope::from_name(j.scope.as_deref()) {
            return Err(what(&e));
        }
        let i = Interaction::from(j);
        let request = crate::keying::canonical::canonical(&i.request);
        let key = RequestKey::of_canonical(&i.operation, &request).in_scope(i.scope.clone());
        if !self
            .seen
            .insert(&key.qualified_operation(), &key.digest, i.occurrence)
        {
            return Err(corrupt(
                self.path,
                0,
                0,
                format!(
                    "interaction {index} ({}): occurrence {} of this request is recorded twice",
                    i.operation, i.occurrence
                ),
            ));
        }
        (self.f)(i, &key, &request)
    }
}

/// The top-level fields, as `#[serde(deny_unknown_fields)]` on a derived struct has them.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Interactions,
    Scopes,
    Version,
}

const FIELDS: &[&str] = &["interactions", "scopes", "version"];

impl<'de> DeserializeSeed<'de> for &mut Reader<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct("CassetteJson", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for &mut Reader<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct CassetteJson")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut interactions, mut version, mut scopes) = (false, false, false);
        while let Some(field) = map.next_key()? {
            match field {
                Field::Interactions if interactions => {
                    return Err(de::Error::duplicate_field("interactions"))
                }
                Field::Version if version => return Err(de::Error::duplicate_field("version")),
                Field::Scopes if scopes => return Err(de::Error::duplicate_field("scopes")),
                Field::Scopes => {
                    // Checked here; read by `dates::read` where it is wanted.
                    scopes = true;
                    let dates: super::Dates = map.next_value()?;
                    if let Some((scope, r)) = dates
                        .iter()
                        .find(|(_, r)| super::dates::parse(&r.recorded).is_none())
                    {
                        return Err(de::Error::custom(format!(
                            "scopes: {scope:?} recorded {:?}: not a date (YYYY-MM-DD)",
                            r.recorded
                        )));
                    }
                }
                Field::Interactions => {
                    interactions = true;
                    map.next_value_seed(Interactions(&mut *self))?;
                }
                Field::Version => {
                    version = true;
                    let found = map.next_value()?;
                    self.version(found);
                }
            }
        }
        match (interactions, version) {
            (false, _) => Err(de::Error::missing_field("interactions")),
            (_, false) => Err(de::Error::missing_field("version")),
            _ => Ok(()),
        }
    }

    /// `[interactions, version]`: a derived `Deserialize` takes a struct in that form too.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        const EXPECTED: &str = "struct CassetteJson with 2 elements";
        if seq.next_element_seed(Interactions(&mut *self))?.is_none() {
            return Err(de::Error::invalid_length(0, &EXPECTED));
        }
        match seq.next_element()? {
            Some(found) => self.version(found),
            None => return Err(de::Error::invalid_length(1, &EXPECTED)),
        }
        Ok(())
    }
}

/// The `interactions` array, visited element by element.
struct Interactions<'r, 'a, 'f>(&'r mut Reader<'a, 'f>);

impl<'de> DeserializeSeed<'de> for Interactions<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Interactions<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(j) = seq.next_element::<InteractionJson>()? {
            if let Err(e) = self.0.accept(j) {
                return Err(self.0.fail(e));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_version_reads_only_a_last_version_field() {
        assert_eq!(
            trailing_version(b"{\"interactions\": [],\n  \"version\": 12\n}\n"),
            Some(12)
        );
        assert_eq!(trailing_version(br#"{"version":3}"#), Some(3));
        assert_eq!(
            trailing_version(br#"{"version":1,"interactions":[]}"#),
            None
        );
        assert_eq!(trailing_version(br#"{"version":1.0}"#), None);
        assert_eq!(trailing_version(br#"{"version":-1}"#), None);
        assert_eq!(trailing_version(br#"{"a":["x\"version":2}"#), None);
        assert_eq!(trailing_version(b""), None);
    }
}
