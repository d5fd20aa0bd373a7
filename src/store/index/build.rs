//! Building the replay index: one process at a time (the builders' lock), keying the cassette
//! into the index's tables, and naming the result.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::index_error;
use super::layout::{EntryRow, Header, NameRow, RequestRow, HEADER, NAME, REQUEST};
use crate::cassette;
use crate::error::{Error, Result};
use crate::files::{
    create_new, open_lock, parent_dir, sync_parent, wait_for_lock, with_suffix, LOCK_GIVE_UP,
};
use crate::keying::rules::Rules;
use crate::store::encoding::{encode_into, oversized_header};
use crate::store::ruled_key;

/// The lock of one index's builders (a file beside it): one process builds, the others wait.
pub(super) struct Builder {
    index: PathBuf,
    _lock: File,
}

impl Builder {
    /// The lock, once the process building now (if any) is done (a million interactions take
    /// about 3 s); after a second the log says it waits, and after [`LOCK_GIVE_UP`] it is an
    /// error (a builder stopped in a debugger, or anyone's flock: this process then builds an
    /// index of its own).
    pub(super) fn lock(index: &Path) -> std::io::Result<Builder> {
        if let Some(dir) = index.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let path = with_suffix(index, ".lock");
        let lock = open_lock(&path)?;
        wait_for_lock(
            &lock,
            &path,
            "it builds the cassette's replay index",
            LOCK_GIVE_UP,
        )?;
        Ok(Builder {
            index: index.into(),
            _lock: lock,
        })
    }

    pub(super) fn tmp_path(&self) -> PathBuf {
        with_suffix(&self.index, &format!(".tmp-{}", std::process::id()))
    }

    /// Temporary files of builds that did not finish (the lock holder is the only builder).
    pub(super) fn remove_leftovers(&self) {
        let Some(name) = self.index.file_name() else {
            return;
        };
        let prefix = format!("{}.tmp-", name.to_string_lossy());
        for entry in std::fs::read_dir(parent_dir(&self.index))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// One entry while building: name (a build-time number until names are sorted), digest,
/// occurrence, answer offset and length.
struct Entry {
    name: u32,
    digest: [u8; 32],
    occurrence: u32,
    at: u64,
    len: u32,
}

/// Key the cassette's `text` (read from `cassette`) under `rules` into an index's bytes
/// (`index` names it in errors).
pub(super) fn build(
    cassette: &Path,
    text: &[u8],
    rules: &Rules,
    stamp: &[u8],
    index: &Path,
) -> Result<Vec<u8>> {
    let out = index;
    let mut w = Writer {
        out: Vec::with_capacity(text.len() + text.len() / 4),
        at: 0,
    };
    w.put(&[0; HEADER]);
    w.put(stamp);

    let mut names: HashMap<Box<str>, u32> = HashMap::new();
    // Per name (build-time number): its distinct requests' digests, body offsets and lengths.
    let mut requests: Vec<Vec<([u8; 32], u64, u32)>> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut value = Vec::new();
    cassette::for_each_keyed(cassette, text, &mut |i, raw, canonical| {
        let key = ruled_key(rules, &i, raw);
        let qualified = key.qualified_operation();
        let name = match names.get(&*qualified) {
            Some(&n) => n,
            None => {
                let n = names.len() as u32;
                names.insert(qualified.into(), n);
                requests.push(Vec::new());
                n
            }
        };
        if let Some(name) = oversized_header(&i.response) {
            return Err(Error::CorruptCassette {
                path: cassette.into(),
                line: 0,
                column: 0,
                message: format!(
                    "{} occurrence {}: response header {name:?} is over 64 KiB",
                    i.operation, i.occurrence
                ),
            });
        }
        value.clear();
        encode_into(&i.response, b"", &mut value);
        let at = w.put(&value);
        entries.push(Entry {
            name,
            digest: key.digest,
            occurrence: i.occurrence,
            at,
            len: len32(value.len(), out)?,
        });
        // Occurrences of a request are next to each other in a cassette's order.
        let distinct = &mut requests[name as usize];
        if distinct.last().is_none_or(|(d, _, _)| *d != key.digest) {
            let at = w.put(canonical);
            distinct.push((key.digest, at, len32(canonical.len(), out)?));
        }
        Ok(())
    })?;

    // Names in order; each build-time number becomes its rank.
    let mut sorted: Vec<(Box<str>, u32)> = names.into_iter().collect();
    sorted.sort_unstable();
    let mut rank = vec![0u32; sorted.len()];
    let mut table = Vec::with_capacity(sorted.len() * NAME);
    for (r, (name, n)) in sorted.iter().enumerate() {
        rank[*n as usize] = r as u32;
        let text_at = w.put(name.as_bytes());
        let distinct = &requests[*n as usize];
        let mut recs = Vec::with_capacity(distinct.len() * REQUEST);
        for (digest, body_at, body_len) in distinct {
            let row = RequestRow {
                digest,
                body_at: *body_at,
                body_len: *body_len,
            };
            recs.extend_from_slice(&row.write());
        }
        let recs_at = w.put(&recs);
        let row = NameRow {
            text_at,
            text_len: len32(name.len(), out)?,
            requests_at: recs_at,
            requests: len32(distinct.len(), out)?,
        };
        table.extend_from_slice(&row.write());
    }
    drop(requests);
    let names_at = w.put(&table);

    for e in &mut entries {
        e.name = rank[e.name as usize];
    }
    // Of two interactions the rules key alike, the later one (further in the file) wins, as in
    // the store: it sorts first, and dedup keeps the first.
    entries.sort_unstable_by_key(|e| (e.name, e.digest, e.occurrence, std::cmp::Reverse(e.at)));
    entries.dedup_by_key(|e| (e.name, e.digest, e.occurrence));
    let entries_at = w.at;
    for e in &entries {
        let row = EntryRow {
            name: e.name,
            digest: &e.digest,
            occurrence: e.occurrence,
            answer_at: e.at,
            answer_len: e.len,
        };
        w.put(&row.write());
    }

    let mut bytes = w.out;
    let head = Header {
        stamp_len: len32(stamp.len(), out)?,
        names: sorted.len() as u64,
        names_at,
        entries: entries.len() as u64,
        entries_at,
        file_len: bytes.len() as u64,
        digest: Sha256::digest(&bytes[HEADER..]).into(),
    }
    .write();
    bytes[..HEADER].copy_from_slice(&head);
    Ok(bytes)
}

/// Name `bytes` as the index at `lock`'s path: written under this process's temporary name
/// (made exclusively, never through a link), made durable, then renamed into place.
pub(super) fn publish(lock: &Builder, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = lock.tmp_path();
    let written = (|| {
        let mut file = create_new(&tmp, 0o644)?;
        file.write_all(bytes)?;
        // Durable before it takes the name: a power loss leaves no index with holes.
        file.sync_all()?;
        std::fs::rename(&tmp, &lock.index)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Err(e) = sync_parent(&lock.index) {
        tracing::debug!(index = %lock.index.display(), error = %e, "directory not synced");
    }
    Ok(())
}

fn len32(len: usize, out: &Path) -> Result<u32> {
    u32::try_from(len).map_err(|_| index_error(out, std::io::Error::other("an entry over 4 GiB")))
}

/// The index's bytes as they are written, knowing where the next ones go.
struct Writer {
    out: Vec<u8>,
    at: u64,
}

impl Writer {
    /// Append `bytes`; returns where they start.
    fn put(&mut self, bytes: &[u8]) -> u64 {
        let at = self.at;
        self.out.extend_from_slice(bytes);
        self.at += bytes.len() as u64;
        at
    }
}
