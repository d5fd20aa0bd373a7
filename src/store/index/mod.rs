//! What replay reads: the cassette keyed once into an index file that every later start maps.
//!
//! Only writers (record, auto, export) need the sled store, and sled lets one process have it.
//! Replay reads the committed cassette instead, so any number of replay processes (test
//! workers, CI jobs sharing a checkout) use one cassette at once, beside a writer too. The first
//! replay start of a cassette keys it into `NAME.index` beside the store; a later start whose
//! cassette, keying rules and program are the same maps that file and reads only its header, so
//! it starts at once whatever the size, and the processes share its pages instead of each
//! holding the cassette.
//!
//! Layout (little endian). The file is written under a temporary name and renamed into place,
//! never changed after: a mapping of it stays valid.
//! - header ([`HEADER`] bytes): magic, format, stamp length, then the count and offset of the
//!   names and of the entries, and the file's length;
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

use std::fs::File;
use std::path::Path;

use bytes::Bytes;

use super::encoding::decode_response_bytes;
use crate::cassette;
use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::files::sync_parent;
use crate::keying::key::{qualified, split_qualified, RequestKey};
use crate::keying::rules::Rules;
use crate::keying::scope::Scope;
use build::{build, Builder};
use layout::{EntryRow, Header, NameRow, RequestRow, ENTRY, HEADER, NAME, REQUEST};

mod build;
mod layout;

/// Recorded answers by request key, mapped from the replay index of a cassette.
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
    /// The index of `cassette` under `rules` at `index`: mapped if it is current, else built
    /// (one process at a time: the others wait for it, then map it). Where `index` cannot be
    /// written (a read-only checkout, a full disk) or another process has been building it for
    /// two minutes, an index is built in an unnamed temporary file for this process alone.
    pub fn open(cassette: &Path, index: &Path, rules: &Rules) -> Result<ReplayIndex> {
        let stamp = stamp(cassette, rules)?;
        if let Some(mapped) = ReplayIndex::map_current(index, &stamp) {
            return Ok(mapped);
        }
        let lock = match Builder::lock(index) {
            Ok(lock) => lock,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                tracing::warn!("{e}: the replay index is built for this process alone");
                return ReplayIndex::build_private(cassette, rules, &stamp);
            }
            Err(e) => {
                tracing::debug!(index = %index.display(), error = %e, "index not writable here: built for this process");
                return ReplayIndex::build_private(cassette, rules, &stamp);
            }
        };
        // The cassette as it is now (it may have changed while this process waited), and
        // another process may have built its index meanwhile.
        let stamp = self::stamp(cassette, rules)?;
        if let Some(mapped) = ReplayIndex::map_current(index, &stamp) {
            return Ok(mapped);
        }
        lock.remove_leftovers();
        let tmp = lock.tmp_path();
        let built = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| index_error(&tmp, e))
            .and_then(|file| build(cassette, rules, &stamp, file, &tmp))
            // Durable before it takes the name: a power loss leaves no index with holes.
            .and_then(|file| file.sync_all().map_err(|e| index_error(&tmp, e)))
            // Named only if the cassette read is the one stamped (not replaced or rewritten
            // during the build).
            .and_then(|()| Ok(self::stamp(cassette, rules)? == stamp))
            .and_then(|same| {
                if same {
                    std::fs::rename(&tmp, index).map_err(|e| index_error(index, e))?;
                    if let Err(e) = sync_parent(index) {
                        tracing::debug!(index = %index.display(), error = %e, "directory not synced");
                    }
                }
                Ok(same)
            });
        if !matches!(built, Ok(true)) {
            let _ = std::fs::remove_file(&tmp);
        }
        // Processes waiting for this build go on at once, whatever became of it.
        drop(lock);
        match built {
            Ok(true) => ReplayIndex::map_current(index, &stamp).ok_or_else(|| {
                index_error(index, std::io::Error::other("not readable after writing"))
            }),
            Ok(false) => {
                tracing::debug!(cassette = %cassette.display(), "cassette changed while it was indexed: indexed again for this process");
                ReplayIndex::build_private(cassette, rules, &stamp)
            }
            Err(Error::Index { path, source }) => {
                // A full disk, a quota: replay goes on from an index of its own.
                tracing::warn!(index = %path.display(), "replay index not written ({source}): built for this process");
                ReplayIndex::build_private(cassette, rules, &stamp)
            }
            Err(e) => Err(e),
        }
    }

    /// The index built in an unnamed temporary file, for this process alone.
    fn build_private(cassette: &Path, rules: &Rules, stamp: &[u8]) -> Result<ReplayIndex> {
        let tmp = std::env::temp_dir();
        let file = tempfile::tempfile().map_err(|e| index_error(&tmp, e))?;
        let file = build(cassette, rules, stamp, file, &tmp)?;
        let bytes = map(&file).map_err(|e| index_error(&tmp, e))?;
        ReplayIndex::parse(bytes, stamp)
            .ok_or_else(|| index_error(&tmp, std::io::Error::other("not readable after writing")))
    }

    /// The index at `index` if it was built from `stamp` and by this user (another user's, or
    /// one anyone may write, is built anew).
    fn map_current(index: &Path, stamp: &[u8]) -> Option<ReplayIndex> {
        if let Err(e) = crate::files::check_trusted(index) {
            if index.exists() {
                tracing::warn!(index = %index.display(), "{e}: built anew");
            }
            return None;
        }
        let file = crate::files::open_no_follow(index).ok()?;
        ReplayIndex::parse(map(&file).ok()?, stamp)
    }

    /// The index in `bytes` if it is whole and was built from `stamp`.
    fn parse(bytes: Bytes, stamp: &[u8]) -> Option<ReplayIndex> {
        let head = Header::read(&bytes)?;
        let size = |v: u64| usize::try_from(v).ok();
        let stamped = head.stamp_len as usize == stamp.len()
            && bytes.get(HEADER..HEADER + stamp.len()) == Some(stamp);
        if !stamped || size(head.file_len)? != bytes.len() {
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

fn map(file: &File) -> std::io::Result<Bytes> {
    // SAFETY: index files are written under another name and renamed into place (or have no
    // name), never changed after; a mapping keeps the file it was made from even when a
    // rebuild replaces the name.
    let map = unsafe { memmap2::Mmap::map(file)? };
    Ok(Bytes::from_owner(map))
}

fn index_error(path: &Path, source: std::io::Error) -> Error {
    Error::Index {
        path: path.into(),
        source,
    }
}

/// What the index is built from: the cassette file (size, modification and change times, inode:
/// an edit, a checkout or a copy over it changes one of them), the keying rules, the cassette
/// format, the index format and the program (its version, size and modification time: a new
/// build may key requests differently).
fn stamp(cassette: &Path, rules: &Rules) -> Result<Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let m = match std::fs::metadata(cassette) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingCassette(cassette.into()))
        }
        Err(source) => {
            return Err(Error::ReadCassette {
                path: cassette.into(),
                source,
            })
        }
    };
    let program = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|p| format!("{}.{}.{}", p.len(), p.mtime(), p.mtime_nsec()))
        .unwrap_or_default();
    Ok(format!(
        "{}:{}.{}:{}.{}:{}.{}:{}:v{}:{}:{}",
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.dev(),
        m.ino(),
        rules.fingerprint(),
        cassette::VERSION,
        env!("CARGO_PKG_VERSION"),
        program,
    )
    .into_bytes())
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
    fn a_later_start_maps_the_index_and_a_change_rebuilds_it() {
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
            "mapped, not rebuilt"
        );
        assert_eq!(m.len(), 5);

        // Edited (a checkout): rebuilt, and the old mapping still reads the old answers.
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
