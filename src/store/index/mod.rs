//! What replay reads: the cassette keyed once into an index file that every later start reads.
//!
//! Only writers (record, auto, export) need the sled store, and sled lets one process have it.
//! Replay reads the committed cassette instead, so any number of replay processes (test
//! workers, CI jobs sharing a checkout) use one cassette at once, beside a writer too. The first
//! replay start of a cassette keys it into `NAME.index` beside the store; a later start whose
//! cassette bytes, keying rules and program are the same reads that file and checks its digest
//! instead of parsing and keying the cassette again.
//!
//! Layout (little endian). The file is written under a temporary name and renamed into place,
//! never changed after.
//! - header ([`HEADER`] bytes): magic, format, stamp length, then the count and offset of the
//!   names and of the entries, the file's length and the SHA-256 of everything after the header;
//! - the stamp: what the index was built from (see [`stamp`]);
//! - data: answers (the store's value encoding, without the request) and canonical request
//!   bodies, in cassette order;
//! - per name (qualified operation: `operation`, or `scope 0x1F operation`), its distinct
//!   recorded requests, [`REQUEST`] bytes each: digest, body offset u64, body length u32;
//! - names, sorted by name, [`NAME`] bytes each: text offset u64, length u32, requests offset
//!   u64, count u32;
//! - entries, sorted by (name, digest, occurrence), [`ENTRY`] bytes each: name index u32,
//!   digest, occurrence u32, answer offset u64, answer length u32.
//!
//! The header's and the rows' bytes are defined in `layout`; `build` writes the file.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::encoding::decode_response_bytes;
use crate::cassette;
use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::keying::key::{qualified, split_qualified, RequestKey};
use crate::keying::rules::Rules;
use crate::keying::scope::Scope;
use build::{build, publish, Builder};
use layout::{EntryRow, Header, NameRow, RequestRow, ENTRY, HEADER, NAME, REQUEST};

mod build;
mod layout;

/// Recorded answers by request key, read from the replay index of a cassette.
#[derive(Debug)]
pub struct ReplayIndex {
    bytes: Bytes,
    names: usize,
    names_at: usize,
    entries: usize,
    entries_at: usize,
}

/// A distinct recorded request: its stored body (canonical JSON) and key digest.
#[derive(Debug)]
pub struct Recorded {
    pub body: Box<str>,
    pub digest: [u8; 32],
}

impl ReplayIndex {
    /// The index of `cassette` under `rules` at `index`: read if it is current, else built
    /// (one process at a time: the others wait for it, then read it). Where `index` cannot be
    /// written (a read-only checkout, a full disk) or another process has held the builders'
    /// lock for [`LOCK_GIVE_UP`](crate::files::LOCK_GIVE_UP), the index built is this
    /// process's alone.
    ///
    /// The index is held in this process's memory, not mapped: a file truncated or replaced
    /// under a running replay changes nothing it serves. It is taken only when its stamp names
    /// the cassette's bytes as read now (their SHA-256) and its own digest matches its bytes.
    pub fn open(cassette: &Path, index: &Path, rules: &Rules) -> Result<ReplayIndex> {
        let read =
            || cassette::read(cassette)?.ok_or_else(|| Error::MissingCassette(cassette.into()));
        // In a directory another user could swap files in, nothing is read or named.
        if let Err(e) = crate::files::check_trusted_dir_of(index) {
            tracing::warn!(index = %index.display(), "{e}: the replay index is built for this process alone");
            let text = read()?;
            let stamp = stamp(&text, rules);
            let bytes = build(cassette, &text, rules, &stamp, index)?;
            return ReplayIndex::built(bytes, &stamp, index);
        }
        // The cassette is not held while the index is read (at a million interactions each is a
        // few hundred MB).
        let stamped = stamp(&read()?, rules);
        if let Some(current) = ReplayIndex::read_current(index, &stamped) {
            return Ok(current);
        }
        let text = read()?;
        let stamp = stamp(&text, rules);
        let lock = match Builder::lock(index) {
            Ok(lock) => lock,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    tracing::warn!("{e}: the replay index is built for this process alone");
                } else {
                    tracing::debug!(index = %index.display(), error = %e, "index not writable here: built for this process");
                }
                return ReplayIndex::built(
                    build(cassette, &text, rules, &stamp, index)?,
                    &stamp,
                    index,
                );
            }
        };
        // Another process may have built it while this one waited.
        if let Some(current) = ReplayIndex::read_current(index, &stamp) {
            return Ok(current);
        }
        lock.remove_leftovers();
        let bytes = build(cassette, &text, rules, &stamp, index)?;
        drop(text);
        if let Err(e) = publish(&lock, &bytes) {
            // A full disk, a quota: replay goes on from the index it holds.
            tracing::warn!(index = %index.display(), "replay index not written ({e}): built for this process");
        }
        // Processes waiting for this build go on at once, whatever became of it.
        drop(lock);
        ReplayIndex::built(bytes, &stamp, index)
    }

    /// The index just built from `bytes`.
    fn built(bytes: Vec<u8>, stamp: &[u8], index: &Path) -> Result<ReplayIndex> {
        ReplayIndex::parse(Bytes::from(bytes), stamp)
            .ok_or_else(|| index_error(index, std::io::Error::other("not readable after building")))
    }

    /// The index at `index` if it was built from `stamp`, is whole and unchanged since, and is
    /// this user's (another user's, or one anyone may write, is built anew).
    fn read_current(index: &Path, stamp: &[u8]) -> Option<ReplayIndex> {
        let file = match crate::files::open_no_follow(index) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(index = %index.display(), "{e} (a link is refused): built anew");
                return None;
            }
        };
        if let Err(e) = crate::files::check_trusted_open(&file) {
            tracing::warn!(index = %index.display(), "{e}: built anew");
            return None;
        }
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes).ok()?;
        let current = ReplayIndex::parse(Bytes::from(bytes), stamp);
        if current.is_none() {
            tracing::debug!(index = %index.display(), "replay index out of date or damaged: built anew");
        }
        current
    }

    /// The index in `bytes` if it is whole, unchanged since its build (its digest) and was
    /// built from `stamp`.
    fn parse(bytes: Bytes, stamp: &[u8]) -> Option<ReplayIndex> {
        let head = Header::read(&bytes)?;
        let size = |v: u64| usize::try_from(v).ok();
        let stamped = head.stamp_len as usize == stamp.len()
            && bytes.get(HEADER..HEADER + stamp.len()) == Some(stamp);
        if !stamped || size(head.file_len)? != bytes.len() {
            return None;
        }
        if <[u8; 32]>::from(Sha256::digest(&bytes[HEADER..])) != head.digest {
            return None;
        }
        let index = ReplayIndex {
            names: size(head.names)?,
            names_at: size(head.names_at)?,
            entries: size(head.entries)?,
            entries_at: size(head.entries_at)?,
            bytes,
        };
        let fits = |at: usize, n: usize, size: usize| {
            n.checked_mul(size)
                .and_then(|len| at.checked_add(len))
                .is_some_and(|end| end <= index.bytes.len())
        };
        (fits(index.names_at, index.names, NAME) && fits(index.entries_at, index.entries, ENTRY))
            .then_some(index)
    }

    /// The distinct recorded requests of `operation` in `scope`, in cassette order.
    pub fn requests(&self, scope: &Scope, operation: &str) -> Vec<Recorded> {
        self.name_index(&qualified(scope, operation))
            .map(|n| self.requests_of(n))
            .unwrap_or_default()
    }

    /// Every scope that recorded something, in order.
    pub fn scopes(&self) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = (0..self.names)
            .filter_map(|n| {
                let name = std::str::from_utf8(self.name(n)?).ok()?;
                split_qualified(name).map(|(scope, _)| scope)
            })
            .collect();
        // Names sort by text: the default scope's (unqualified) lie among the others.
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// The scopes that recorded `operation`, with how many of its requests have `digest`.
    pub fn scopes_of(&self, operation: &str, digest: &[u8; 32]) -> Vec<(Scope, usize)> {
        let mut scopes: Vec<(Scope, usize)> = (0..self.names)
            .filter_map(|n| {
                let name = std::str::from_utf8(self.name(n)?).ok()?;
                let (scope, op) = split_qualified(name)?;
                (op == operation).then(|| {
                    let rows = self.request_table(n).chunks_exact(REQUEST);
                    let rows = rows.map(RequestRow::read);
                    (scope, rows.filter(|r| r.digest == digest).count())
                })
            })
            .collect();
        scopes.sort();
        scopes
    }

    /// The response recorded for this occurrence of the request, if any.
    pub fn get(&self, key: &RequestKey, occurrence: u32) -> Option<Response> {
        let name = self.name_index(&key.qualified_operation())?;
        let at = self.first_entry(name, &key.digest, occurrence);
        let e = self.entry(at)?;
        (e.name as usize == name && e.digest == &key.digest && e.occurrence == occurrence)
            .then(|| self.answer(e.answer()))?
    }

    /// Every recorded occurrence of the request, in order.
    pub fn all(&self, key: &RequestKey) -> Vec<(u32, Response)> {
        self.answers_of(key)
            .filter_map(|(occ, answer)| Some((occ, self.answer(answer)?)))
            .collect()
    }

    /// How many occurrences of the request are recorded.
    pub fn occurrences(&self, key: &RequestKey) -> usize {
        self.answers_of(key).count()
    }

    /// The recorded occurrences of the request and where their answers lie, in order.
    fn answers_of<'a>(&'a self, key: &'a RequestKey) -> impl Iterator<Item = (u32, Span)> + 'a {
        let name = self.name_index(&key.qualified_operation());
        let start = name.map_or(self.entries, |n| self.first_entry(n, &key.digest, 0));
        (start..self.entries).map_while(move |at| {
            let e = self.entry(at)?;
            (Some(e.name as usize) == name && e.digest == &key.digest)
                .then_some((e.occurrence, e.answer()))
        })
    }

    /// Number of recorded interactions.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Where `len` bytes at `at` lie, if inside the file.
    fn range(&self, at: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let at = usize::try_from(at).ok()?;
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        (end <= self.bytes.len()).then_some(at..end)
    }

    fn slice(&self, at: u64, len: u64) -> Option<&[u8]> {
        Some(&self.bytes[self.range(at, len)?])
    }

    /// Row `n` of the names (`None` past the last).
    fn name_row(&self, n: usize) -> Option<NameRow> {
        (n < self.names).then(|| NameRow::read(&self.bytes[self.names_at + n * NAME..][..NAME]))
    }

    fn name(&self, n: usize) -> Option<&[u8]> {
        let r = self.name_row(n)?;
        self.slice(r.text_at, r.text_len.into())
    }

    /// The distinct recorded requests of name `n`, [`REQUEST`] bytes a row.
    fn request_table(&self, n: usize) -> &[u8] {
        let Some(r) = self.name_row(n) else {
            return &[];
        };
        u64::from(r.requests)
            .checked_mul(REQUEST as u64)
            .and_then(|len| self.slice(r.requests_at, len))
            .unwrap_or_default()
    }

    fn requests_of(&self, n: usize) -> Vec<Recorded> {
        self.request_table(n)
            .chunks_exact(REQUEST)
            .filter_map(|r| {
                let r = RequestRow::read(r);
                let body = self.slice(r.body_at, r.body_len.into())?;
                Some(Recorded {
                    body: String::from_utf8_lossy(body).into(),
                    digest: *r.digest,
                })
            })
            .collect()
    }

    /// The index of a name (binary search: names are sorted).
    fn name_index(&self, name: &str) -> Option<usize> {
        let at = lower_bound(self.names, |n| {
            self.name(n).is_some_and(|x| x < name.as_bytes())
        });
        (self.name(at)? == name.as_bytes()).then_some(at)
    }

    /// The entry `(name, digest, occurrence)` or the first after it.
    fn first_entry(&self, name: usize, digest: &[u8; 32], occurrence: u32) -> usize {
        lower_bound(self.entries, |at| {
            self.entry(at).is_some_and(|e| {
                (e.name as usize, e.digest, e.occurrence) < (name, digest, occurrence)
            })
        })
    }

    /// Entry `at` (`None` past the last): name index, digest, occurrence and where the answer
    /// lies.
    #[inline]
    fn entry(&self, at: usize) -> Option<EntryRow<'_>> {
        (at < self.entries)
            .then(|| EntryRow::read(&self.bytes[self.entries_at + at * ENTRY..][..ENTRY]))
    }

    fn answer(&self, (at, len): Span) -> Option<Response> {
        decode_response_bytes(self.bytes.slice(self.range(at, len)?))
    }
}

/// Where something lies in the index: offset and length.
type Span = (u64, u64);

/// The first of `0..n` for which `less` is false (`less` holds for a prefix).
fn lower_bound(n: usize, less: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if less(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn index_error(path: &Path, source: std::io::Error) -> Error {
    Error::Index {
        path: path.into(),
        source,
    }
}

/// What the index is built from: the cassette's bytes (their SHA-256: a copy or a checkout of
/// the same bytes keeps its index, any change to them does not), the keying rules, the cassette
/// format, the index format and the program (its version, size and modification time: a new
/// build may key requests differently).
fn stamp(cassette: &[u8], rules: &Rules) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let program = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|p| format!("{}.{}.{}", p.len(), p.mtime(), p.mtime_nsec()))
        .unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(cassette).into();
    let digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}:{digest}:{}:v{}:{}:{}",
        cassette.len(),
        rules.fingerprint(),
        cassette::VERSION,
        env!("CARGO_PKG_VERSION"),
        program,
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Interaction;
    use crate::files::with_suffix;
    use crate::keying::rules::Selector;
    use serde_json::json;
    use std::os::unix::fs::MetadataExt;

    fn interaction(
        scope: &str,
        op: &str,
        request: serde_json::Value,
        occ: u32,
        body: &str,
    ) -> Interaction {
        Interaction {
            scope: if scope.is_empty() {
                Scope::default()
            } else {
                Scope::named(scope).unwrap()
            },
            operation: op.into(),
            occurrence: occ,
            request,
            response: Response {
                status: 200,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: Bytes::from(body.to_owned()),
            },
        }
    }

    fn sample() -> Vec<Interaction> {
        let pool = json!({"UserPoolId": "us-east-1_A"});
        vec![
            interaction("", "ListUsers", pool.clone(), 1, r#"{"n":1}"#),
            interaction("", "ListUsers", pool.clone(), 2, r#"{"n":2}"#),
            interaction(
                "",
                "ListUsers",
                json!({"UserPoolId": "us-east-1_B"}),
                1,
                r#"{"b":1}"#,
            ),
            interaction("a", "ListUsers", pool.clone(), 1, r#"{"a":1}"#),
            interaction(
                "",
                "AdminGetUser",
                json!({"UserPoolId": "us-east-1_A", "Username": "x"}),
                1,
                "{}",
            ),
        ]
    }

    fn key(scope: &str, op: &str, request: serde_json::Value) -> RequestKey {
        let k = RequestKey::new(op, &request);
        match scope {
            "" => k,
            s => k.in_scope(Scope::named(s).unwrap()),
        }
    }

    #[test]
    fn answers_requests_and_scopes_as_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(m.len(), 5);
        let a = key("", "ListUsers", json!({"UserPoolId": "us-east-1_A"}));
        assert_eq!(m.get(&a, 2).unwrap().body, r#"{"n":2}"#);
        assert_eq!(
            m.get(&a, 1).unwrap().headers[0].1,
            "application/x-amz-json-1.1"
        );
        assert!(m.get(&a, 3).is_none());
        assert_eq!(m.occurrences(&a), 2);
        let all: Vec<u32> = m.all(&a).into_iter().map(|(o, _)| o).collect();
        assert_eq!(all, [1, 2]);
        let scoped = key("a", "ListUsers", json!({"UserPoolId": "us-east-1_A"}));
        assert_eq!(m.get(&scoped, 1).unwrap().body, r#"{"a":1}"#);
        assert!(m
            .get(
                &key("b", "ListUsers", json!({"UserPoolId": "us-east-1_A"})),
                1
            )
            .is_none());
        assert!(m.all(&key("", "ListGroups", json!({}))).is_empty());
        let recorded = m.requests(&Scope::default(), "ListUsers");
        assert_eq!(
            recorded.len(),
            2,
            "two distinct requests, occurrences kept once"
        );
        assert_eq!(&*recorded[0].body, r#"{"UserPoolId":"us-east-1_A"}"#);
        assert_eq!(recorded[0].digest, a.digest);
        assert!(m.requests(&Scope::default(), "ListGroups").is_empty());
        let scopes = m.scopes_of("ListUsers", &a.digest);
        assert_eq!(
            scopes,
            [(Scope::default(), 1), (Scope::named("a").unwrap(), 1)]
        );
    }

    #[test]
    fn a_later_start_reads_the_index_and_a_change_rebuilds_it() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (
            dir.path().join("c.json"),
            dir.path().join("s").join("c.index"),
        );
        cassette::write(&cassette, &mut sample()).unwrap();
        ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        let built = std::fs::metadata(&index).unwrap().ino();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(
            std::fs::metadata(&index).unwrap().ino(),
            built,
            "read, not rebuilt"
        );
        assert_eq!(m.len(), 5);

        // Edited: rebuilt, and the index read before still answers as it did.
        let mut fewer = sample();
        fewer.truncate(2);
        cassette::write(&cassette, &mut fewer).unwrap();
        let again = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_ne!(std::fs::metadata(&index).unwrap().ino(), built);
        assert_eq!(again.len(), 2);
        assert_eq!(m.len(), 5);
        let a = key("", "ListUsers", json!({"UserPoolId": "us-east-1_A"}));
        assert_eq!(m.get(&a, 2).unwrap().body, r#"{"n":2}"#);

        // Other keying rules: rebuilt under them.
        let mut rules = Rules::default();
        rules.ignore("ListUsers", Selector::parse("UserPoolId").unwrap());
        let ruled = ReplayIndex::open(&cassette, &index, &rules).unwrap();
        let k = RequestKey::new(
            "ListUsers",
            &rules.key_body("ListUsers", &json!({"UserPoolId": "us-east-1_Z"})),
        );
        assert_eq!(ruled.occurrences(&k), 2);
        let leftovers: Vec<_> = std::fs::read_dir(index.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_damaged_index_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        for damage in [
            0,
            HEADER as u64 + 3,
            std::fs::metadata(&index).unwrap().len() - 1,
        ] {
            let bytes = std::fs::read(&index).unwrap();
            std::fs::write(&index, &bytes[..damage as usize]).unwrap();
            let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
            assert_eq!(m.len(), 5, "cut at {damage}");
            assert_eq!(std::fs::read(&index).unwrap(), bytes);
        }
    }

    #[test]
    fn an_index_changed_after_its_build_or_of_another_cassette_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        let built = std::fs::read(&index).unwrap();
        let a = key("", "ListUsers", json!({"UserPoolId": "us-east-1_A"}));

        // An answer patched in place, same length: the digest tells.
        let text = String::from_utf8_lossy(&built).into_owned();
        let at = text.find(r#"{"n":2}"#).unwrap();
        let mut patched = built.clone();
        patched[at + 5] = b'9';
        std::fs::write(&index, &patched).unwrap();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(m.get(&a, 2).unwrap().body, r#"{"n":2}"#);
        assert_eq!(std::fs::read(&index).unwrap(), built, "built anew");

        // The index of another cassette copied over it.
        let (other, other_index) = (dir.path().join("o.json"), dir.path().join("o.index"));
        let mut fewer = sample();
        fewer.truncate(2);
        cassette::write(&other, &mut fewer).unwrap();
        ReplayIndex::open(&other, &other_index, &Rules::default()).unwrap();
        std::fs::copy(&other_index, &index).unwrap();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!(std::fs::read(&index).unwrap(), built);

        // A copy of the same bytes (a fresh checkout) keeps it: its stamp is the bytes'.
        let copy = dir.path().join("copy.json");
        std::fs::copy(&cassette, &copy).unwrap();
        let inode = std::fs::metadata(&index).unwrap().ino();
        let m = ReplayIndex::open(&copy, &index, &Rules::default()).unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!(
            std::fs::metadata(&index).unwrap().ino(),
            inode,
            "not rebuilt"
        );
    }

    #[test]
    fn a_running_replay_survives_its_index_truncated_or_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        let a = key("", "ListUsers", json!({"UserPoolId": "us-east-1_A"}));
        // Truncated in place (the same file, not a new one under the name): a mapping of it
        // would die of SIGBUS on its next read.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&index)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert_eq!(m.get(&a, 2).unwrap().body, r#"{"n":2}"#);
        assert_eq!(m.all(&a).len(), 2);
        std::fs::write(&index, b"not an index").unwrap();
        assert_eq!(m.get(&a, 1).unwrap().body, r#"{"n":1}"#);
        assert_eq!(m.requests(&Scope::default(), "ListUsers").len(), 2);
    }

    #[test]
    fn where_the_index_cannot_be_written_it_is_built_for_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        cassette::write(&cassette, &mut sample()).unwrap();
        // Its directory would be under a file.
        let index = cassette.join("c.index");
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(m.len(), 5);
        assert!(
            ReplayIndex::open(&dir.path().join("none.json"), &index, &Rules::default())
                .is_err_and(|e| matches!(e, Error::MissingCassette(_)))
        );
    }

    #[test]
    fn an_index_that_cannot_be_written_is_built_for_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        // This process's temporary name is taken (by a directory: not a leftover file).
        std::fs::create_dir(with_suffix(&index, &format!(".tmp-{}", std::process::id()))).unwrap();
        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
        assert_eq!(m.len(), 5);
        assert!(!index.exists());
    }

    #[test]
    fn processes_starting_together_build_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let (cassette, index) = (dir.path().join("c.json"), dir.path().join("c.index"));
        cassette::write(&cassette, &mut sample()).unwrap();
        let inodes: Vec<u64> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let m = ReplayIndex::open(&cassette, &index, &Rules::default()).unwrap();
                        assert_eq!(m.len(), 5);
                        std::fs::metadata(&index).unwrap().ino()
                    })
                })
                .collect();
            starts.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(inodes.iter().all(|&i| i == inodes[0]), "{inodes:?}");
    }
}
