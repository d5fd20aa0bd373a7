//! The live sled store: recorded interactions keyed by request key, kept in step with the cassette.
//!
//! Layout: tree `interactions` maps `name 0x00 sha256(key body) occurrence(u32 BE)` to the
//! response as served (status, kept headers, body bytes) followed by the canonical request body;
//! the name is the operation, or `scope 0x1F operation` in a named scope (`encoding.rs`).
//! Tree `meta` holds the stamp of the cassette the store last matched (its size and mtime, the
//! keying rules, the cassette format), and a `dirty` mark while the store holds recordings the
//! cassette does not have yet.
//!
//! Beside the store, `NAME.sled.clean` exists while the store holds nothing the cassette lacks
//! (it goes before the `dirty` mark comes), so a replay start skips opening a clean store.
//!
//! A recording is durable in sled before its response goes back; the cassette is written from the
//! store on shutdown, by `export`, and on the next start after an unclean stop.

use crate::cassette::{self, Interaction};
use crate::cognito::wire::Response;
use crate::error::{Error, Result};
use crate::files::with_suffix;
use crate::keying::canonical::hex;
use crate::keying::key::RequestKey;
use crate::keying::rules::Rules;
use crate::keying::scope::Scope;
use encoding::{
    decode_response_shared, decode_value, encode_key, encode_value, key_prefix, scope_prefix,
    split_key,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::store::commit::GroupCommit;

pub(crate) mod commit;
mod encoding;
mod import;
mod index;

pub use index::{Recorded, ReplayIndex};

const META_STAMP: &[u8] = b"cassette_stamp";
const META_DIRTY: &[u8] = b"dirty";
const NO_CASSETTE: &[u8] = b"none";

/// The sled store of one cassette.
pub struct Store {
    db: sled::Db,
    interactions: sled::Tree,
    meta: sled::Tree,
    dir: PathBuf,
    cassette: PathBuf,
    marked_dirty: AtomicBool,
    /// Held while the store is being marked dirty: a second recording waits for the mark.
    marking: std::sync::Mutex<()>,
    commit: GroupCommit,
    /// The keying rules the stored keys were computed with.
    rules: Rules,
    /// An unchanged scope this store recorded into, dated longer ago than this, is dated anew
    /// when the cassette is written (see `cassette::dates`).
    refresh_dates: Option<std::time::Duration>,
    /// The scopes recorded into since the store was opened.
    recorded_scopes: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// How opening brought the store in step with the cassette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The store already matched the cassette.
    Current,
    /// The cassette was (re)imported into the store.
    Imported,
    /// Recordings from an earlier unclean stop were written into the cassette.
    Recovered,
    /// The cassette is of an older version: a record run replaces it.
    Replaced,
}

impl Store {
    /// Open the store at `dir` for `cassette` and bring the two in step: import the cassette if
    /// it changed since the store last matched it, and write into the cassette whatever an
    /// earlier run recorded but did not export. A corrupt cassette is an error and stays as it is.
    pub fn open(cassette: &Path, dir: &Path, rules: &Rules) -> Result<(Store, Opened)> {
        Store::open_waiting(cassette, dir, rules, LOCK_WAIT, false)
    }

    /// Before a replay: if a run stopped uncleanly with recordings the cassette lacks, write them
    /// into the cassette (as [`Store::open`] would). Replay itself reads the cassette, never the
    /// store, so it takes the store's lock only for this check: not at all when there is no
    /// store, and when another process has it (another replay start recovering it, or a writer),
    /// for at most a few seconds, after which the cassette is read as it is. True if it wrote.
    pub fn recover(cassette: &Path, dir: &Path, rules: &Rules) -> Result<bool> {
        // Opening a large store takes a while; a clean one has its marker beside it.
        if !dir.exists() || clean_marker(dir).exists() {
            return Ok(false);
        }
        // Another user's store (a shared checkout, a CI cache) is never written into the
        // cassette.
        if let Err(e) =
            crate::files::check_trusted_dir_of(dir).and_then(|()| crate::files::check_trusted(dir))
        {
            tracing::warn!(store = %dir.display(), "{e}: its recordings are not written into the cassette");
            return Ok(false);
        }
        let db = match open_db(dir, LOCK_WAIT) {
            Err(Error::StoreInUse(_)) => {
                tracing::debug!(store = %dir.display(), "store in use: the cassette is read as it is");
                return Ok(false);
            }
            other => other?,
        };
        let meta = db.open_tree("meta").map_err(|source| Error::Store {
            path: dir.into(),
            source,
        })?;
        let dirty = meta
            .get(META_DIRTY)
            .map_err(|source| Error::Store {
                path: dir.into(),
                source,
            })?
            .is_some();
        if dirty {
            // On the same handle: another replay start may be waiting for the lock.
            Store::with_db(db, cassette, dir, rules, false)?;
        } else {
            // A clean store without its marker (made before markers, or the write failed):
            // marked now, under the store's lock, so that later starts need not open it.
            write_clean_marker(dir);
        }
        Ok(dirty)
    }

    /// [`Store::open`] for a record run: a cassette of an older version is not refused but
    /// replaced (the run re-records it; until it records, the file stays as it is).
    pub fn open_for_record(cassette: &Path, dir: &Path, rules: &Rules) -> Result<(Store, Opened)> {
        Store::open_waiting(cassette, dir, rules, LOCK_WAIT, true)
    }

    /// [`Store::open`], giving up on a store in use after `wait`.
    fn open_waiting(
        cassette: &Path,
        dir: &Path,
        rules: &Rules,
        wait: std::time::Duration,
        replace_old: bool,
    ) -> Result<(Store, Opened)> {
        // A store another user left (or a link to one) is never opened, let alone written into
        // the cassette.
        let untrusted = |source| Error::UntrustedStore {
            path: dir.into(),
            source,
        };
        crate::files::check_trusted_dir_of(dir).map_err(untrusted)?;
        if dir.exists() || std::fs::symlink_metadata(dir).is_ok() {
            crate::files::check_trusted(dir).map_err(untrusted)?;
        }
        Store::with_db(open_db(dir, wait)?, cassette, dir, rules, replace_old)
    }

    /// [`Store::open`] on a database already open.
    fn with_db(
        db: sled::Db,
        cassette: &Path,
        dir: &Path,
        rules: &Rules,
        replace_old: bool,
    ) -> Result<(Store, Opened)> {
        let store_err = |source| Error::Store {
            path: dir.into(),
            source,
        };
        let interactions = db.open_tree("interactions").map_err(store_err)?;
        let meta = db.open_tree("meta").map_err(store_err)?;
        let dirty = meta.get(META_DIRTY).map_err(store_err)?.is_some();
        let commit = GroupCommit::new(db.clone()).map_err(|e| store_err(sled::Error::Io(e)))?;
        let store = Store {
            commit,
            db,
            interactions,
            meta,
            dir: dir.into(),
            cassette: cassette.into(),
            marked_dirty: AtomicBool::new(dirty),
            marking: std::sync::Mutex::new(()),
            rules: rules.clone(),
            refresh_dates: None,
            recorded_scopes: Default::default(),
        };
        let mut sync = Opened::Current;
        if store.stored_stamp()?.as_deref() != Some(&store.stamp()[..]) {
            match store.import(dirty) {
                Ok(()) => sync = Opened::Imported,
                // An older cassette that this run re-records, or that the recordings of a run
                // stopped uncleanly replace (they are exported below).
                Err(Error::CassetteVersion { found, .. })
                    if found < cassette::VERSION && (replace_old || dirty) =>
                {
                    if !dirty {
                        store.interactions.clear().map_err(|e| store.err(e))?;
                    }
                    tracing::warn!(
                        cassette = %store.cassette.display(),
                        "the cassette has version {found}: this recording replaces it"
                    );
                    sync = Opened::Replaced;
                }
                Err(e) => return Err(e),
            }
        }
        if store.meta.get(META_DIRTY).map_err(store_err)?.is_some() {
            store.export()?;
            sync = Opened::Recovered;
        } else {
            store.mark_clean();
        }
        Ok((store, sync))
    }

    fn err(&self, source: sled::Error) -> Error {
        Error::Store {
            path: self.dir.clone(),
            source,
        }
    }

    /// The cassette's stamp with the keying rules and the cassette format: any of them changing
    /// re-imports the cassette (so a store of an older format is never taken as current).
    fn stamp(&self) -> Vec<u8> {
        let mut s = file_stamp(&self.cassette).unwrap_or(NO_CASSETTE.to_vec());
        s.push(b':');
        s.extend_from_slice(self.rules.fingerprint().as_bytes());
        s.extend_from_slice(format!(":v{}", cassette::VERSION).as_bytes());
        s
    }

    fn stored_stamp(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .meta
            .get(META_STAMP)
            .map_err(|e| self.err(e))?
            .map(|v| v.to_vec()))
    }

    /// Forget the interactions of one scope: a `record` run records afresh each scope it uses
    /// and keeps the others.
    pub fn clear_scope(&self, scope: &Scope) -> Result<()> {
        self.mark_dirty()?;
        let mut batch = sled::Batch::default();
        let keys: Box<dyn Iterator<Item = sled::Result<sled::IVec>>> = match scope_prefix(scope) {
            Some(prefix) => Box::new(self.interactions.scan_prefix(prefix).keys()),
            None => Box::new(self.interactions.iter().keys()),
        };
        for k in keys {
            let k = k.map_err(|e| self.err(e))?;
            match split_key(&k) {
                Some((of, _, _)) if of != *scope => {}
                _ => batch.remove(k),
            }
        }
        self.interactions
            .apply_batch(batch)
            .map_err(|e| self.err(e))?;
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    fn mark_dirty(&self) -> Result<()> {
        if self.marked_dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        // No recording is committed before the mark is durable: concurrent ones wait here.
        let _marking = self
            .marking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.marked_dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        // The clean marker goes first (durably): a replay start then looks inside.
        match std::fs::remove_file(clean_marker(&self.dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(self.err(sled::Error::Io(e)))
            }
            _ => {}
        }
        if let Err(e) = crate::files::sync_parent(&self.dir) {
            // Some file systems cannot sync a directory; the removal stands all the same.
            tracing::debug!(store = %self.dir.display(), error = %e, "directory not synced");
        }
        self.meta
            .insert(META_DIRTY, &[1u8][..])
            .map_err(|e| self.err(e))?;
        self.marked_dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The response recorded for this occurrence of the request, if any.
    pub fn get(&self, key: &RequestKey, occurrence: u32) -> Result<Option<Response>> {
        let found = self
            .interactions
            .get(encode_key(key, occurrence))
            .map_err(|e| self.err(e))?;
        found.map(|v| self.decode_response(v)).transpose()
    }

    /// Every recorded occurrence of the request and its response, in order.
    pub fn all(&self, key: &RequestKey) -> Result<Vec<(u32, Response)>> {
        let mut out = Vec::new();
        for entry in self.interactions.scan_prefix(key_prefix(key)) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push((encoding::occurrence_of(&k), self.decode_response(v)?));
        }
        Ok(out)
    }

    /// How many occurrences of the request are recorded.
    pub fn occurrences(&self, key: &RequestKey) -> usize {
        self.interactions.scan_prefix(key_prefix(key)).count()
    }

    /// Number of recorded interactions (walks the tree: not for the hot path).
    pub fn len(&self) -> usize {
        self.interactions.len()
    }

    /// Store one interaction under its key and make it durable before returning. Refused, with
    /// nothing written, when the disk is nearly full (see [`FREE_MARGIN`]).
    pub async fn record(&self, key: &RequestKey, interaction: &Interaction) -> Result<()> {
        self.ensure_space(interaction.response.body.len() as u64)?;
        self.recorded_scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cassette::dates::key(&key.scope));
        self.mark_dirty()?;
        self.interactions
            .insert(
                encode_key(key, interaction.occurrence),
                encode_value(&interaction.response, &interaction.request),
            )
            .map_err(|e| self.err(e))?;
        self.commit
            .commit()
            .await
            .map_err(|e| self.err(sled::Error::Io(std::io::Error::other(e.to_string()))))?;
        Ok(())
    }

    /// Every interaction, decoded, in store order.
    pub fn interactions(&self) -> Result<Vec<Interaction>> {
        let mut out = Vec::new();
        for entry in self.interactions.iter() {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push(self.decode_interaction(&k, &v)?);
        }
        Ok(out)
    }

    /// Keep once what was recorded many times alike: a request whose every occurrence holds the
    /// same answer keeps occurrence 1 only (replay serves one answer any number of times, so the
    /// others say nothing more). A request whose answers differ keeps every occurrence, in order.
    /// Returns how many interactions were dropped.
    fn collapse_repeats(&self) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut dropped = 0;
        let mut group: Vec<(sled::IVec, Response)> = Vec::new();
        let mut flush = |group: &mut Vec<(sled::IVec, Response)>, batch: &mut sled::Batch| {
            // However long each took: occurrence 1 keeps its latency class.
            let alike = |r: &Response| crate::cassette::timing::same_answer(r, &group[0].1);
            if group.len() > 1 && group.iter().all(|(_, r)| alike(r)) {
                for (k, _) in group.drain(1..) {
                    batch.remove(k);
                    dropped += 1;
                }
            }
            group.clear();
        };
        for entry in self.interactions.iter() {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            // Keys end with the occurrence (4 bytes); a shorter one is not this store's.
            let same_request = k.len() > 4
                && group.first().is_some_and(|(first, _)| {
                    first.len() == k.len() && first[..k.len() - 4] == k[..k.len() - 4]
                });
            if !same_request {
                flush(&mut group, &mut batch);
            }
            let response = self.decode_response(v)?;
            group.push((k, response));
        }
        flush(&mut group, &mut batch);
        self.interactions
            .apply_batch(batch)
            .map_err(|e| self.err(e))?;
        Ok(dropped)
    }

    /// An error unless the store's filesystem has room for a value of `size` and sled's log.
    fn ensure_space(&self, size: u64) -> Result<()> {
        let needed = FREE_MARGIN + 2 * size;
        match fs2::available_space(&self.dir) {
            Ok(available) if available < needed => Err(Error::NoSpace {
                path: self.dir.clone(),
                available,
                needed,
            }),
            _ => Ok(()),
        }
    }

    /// Date anew, when the cassette is written, an unchanged scope this store recorded into and
    /// whose date is older than `max_age` (a re-record after replay said it was too old).
    pub fn refresh_dates_after(&mut self, max_age: Option<std::time::Duration>) {
        self.refresh_dates = max_age;
    }

    /// [`Store::export`], saying on failure that the recordings are safe in the store.
    pub fn export_or_explain(&self) -> Result<usize> {
        self.export().map_err(|e| Error::Export {
            cassette: self.cassette.clone(),
            store: self.dir.clone(),
            source: Box::new(e),
        })
    }

    /// Write the cassette from the store (atomically) and mark the two in step: what was
    /// recorded many times alike is kept once (see `collapse_repeats`). Returns the number of
    /// interactions written.
    pub fn export(&self) -> Result<usize> {
        let dropped = self.collapse_repeats()?;
        if dropped > 0 {
            tracing::debug!(dropped, "repeated identical occurrences kept once");
        }
        let mut all = self.interactions()?;
        let refresh = self.refresh_dates.map(|after| cassette::dates::Refresh {
            after,
            scopes: self
                .recorded_scopes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        });
        cassette::write_dated(&self.cassette, &mut all, refresh.as_ref())?;
        self.meta
            .insert(META_STAMP, self.stamp())
            .map_err(|e| self.err(e))?;
        self.meta.remove(META_DIRTY).map_err(|e| self.err(e))?;
        self.marked_dirty.store(false, Ordering::SeqCst);
        self.db.flush().map_err(|e| self.err(e))?;
        self.mark_clean();
        Ok(all.len())
    }

    /// Say beside the store that it holds nothing the cassette lacks, so that a replay start
    /// need not open it to know (best effort: without the marker, it looks inside).
    fn mark_clean(&self) {
        let _marking = self
            .marking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.marked_dirty.load(Ordering::SeqCst) {
            return;
        }
        write_clean_marker(&self.dir);
    }

    /// Whether the store holds recordings the cassette does not have yet.
    pub fn is_dirty(&self) -> bool {
        self.marked_dirty.load(Ordering::SeqCst)
    }

    fn corrupt(&self, key: &[u8]) -> Error {
        Error::CorruptStore {
            path: self.dir.clone(),
            key: hex(key),
        }
    }

    fn decode_response(&self, v: sled::IVec) -> Result<Response> {
        decode_response_shared(v).ok_or_else(|| self.corrupt(b"(value)"))
    }

    fn decode_interaction(&self, k: &[u8], v: &[u8]) -> Result<Interaction> {
        let (scope, operation, occurrence) = split_key(k).ok_or_else(|| self.corrupt(k))?;
        let (response, request) = decode_value(v).ok_or_else(|| self.corrupt(k))?;
        let request = crate::keying::json::parse(request).map_err(|_| self.corrupt(k))?;
        Ok(Interaction {
            scope,
            operation,
            occurrence,
            request,
            response,
        })
    }
}

/// Room kept free on the store's filesystem: sled's log grows in segments of 512 KiB, and after
/// an ENOSPC sled refuses every later write of the run, so a write that could fill the disk is
/// refused before sled sees it; once there is room again, recording goes on.
pub const FREE_MARGIN: u64 = 4 * 1024 * 1024;

/// How long to wait for the store's lock: sled's background threads may hold a just-dropped
/// store of this process for a moment. Another process holding it is an error after that.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// sled's log segment size. sled writes anything over a quarter of a segment (a leaf holding a
/// few ~20 KB answers, rewritten at every insert) to a blob file of its own: with the default
/// 512 KiB, recording spent a fifth of its CPU creating and writing blob files. 8 MiB segments
/// keep such leaves in the log (recording at 64 clients: 2.1–3.1k → 4.0–4.2k exchanges/s).
const SEGMENT_SIZE: usize = 8 << 20;

fn open_db(dir: &Path, wait: std::time::Duration) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        let config = || {
            sled::Config::new()
                .path(dir)
                .mode(sled::Mode::HighThroughput)
        };
        match config()
            .segment_size(SEGMENT_SIZE)
            .open()
            .or_else(|e| match e {
                // A store made before segments grew keeps its own size.
                sled::Error::Unsupported(m) if m.contains("io buffer size") => config().open(),
                e => Err(e),
            }) {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= wait {
                    return Err(Error::StoreInUse(dir.into()));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(source) => {
                return Err(Error::Store {
                    path: dir.into(),
                    source,
                })
            }
        }
    }
}

/// `NAME.sled.clean`: present while the store holds nothing the cassette lacks.
fn clean_marker(dir: &Path) -> PathBuf {
    with_suffix(dir, ".clean")
}

/// Write the clean marker of the store at `dir` (best effort: without it, a replay start looks
/// inside the store).
fn write_clean_marker(dir: &Path) {
    if let Err(e) = crate::files::create_new(&clean_marker(dir), 0o644) {
        tracing::debug!(store = %dir.display(), error = %e, "clean marker not written");
    }
}

/// The key of a cassette interaction under `rules`: the key the cassette reader computed when
/// the rules leave its body as it is.
fn ruled_key<'k>(
    rules: &Rules,
    i: &Interaction,
    raw: &'k RequestKey,
) -> std::borrow::Cow<'k, RequestKey> {
    match rules.key_body(&i.operation, &i.request) {
        std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(raw),
        std::borrow::Cow::Owned(body) => {
            std::borrow::Cow::Owned(RequestKey::new(&i.operation, &body).in_scope(i.scope.clone()))
        }
    }
}

/// What identifies the cassette file's content cheaply: its size and modification time. (The
/// replay index's stamp is stronger: it also reads the change time and inode, which a store
/// opened by one process at a time does not need.)
fn file_stamp(path: &Path) -> Option<Vec<u8>> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some(format!("{}:{}", m.len(), mtime).into_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    /// A fresh directory and, in it, paths for a cassette (`c.json`) and a store (`store`).
    pub(super) fn paths() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        let store_dir = dir.path().join("store");
        (dir, cassette, store_dir)
    }

    /// [`paths`] with a cassette of one interaction written.
    pub(super) fn one_interaction() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let (dir, cassette, store_dir) = paths();
        cassette::write(&cassette, &mut [interaction(1, "{}")]).unwrap();
        (dir, cassette, store_dir)
    }

    pub(super) fn interaction(occ: u32, body: &'static str) -> Interaction {
        Interaction {
            scope: Default::default(),
            operation: "ListUsers".into(),
            occurrence: occ,
            request: json!({"UserPoolId": "us-east-1_A"}),
            response: Response {
                status: 200,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: Bytes::from_static(body.as_bytes()),
            },
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_store_that_is_a_link_is_refused_naming_it() {
        let (_dir, cassette, store) = paths();
        let elsewhere = cassette.with_file_name("elsewhere.sled");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &store).unwrap();
        let err = Store::open_for_record(&cassette, &store, &Rules::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::UntrustedStore { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("symbolic link") && text.contains(&*store.to_string_lossy()),
            "{text}"
        );
        assert_eq!(
            std::fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "nothing written there"
        );
    }

    #[tokio::test]
    async fn records_survive_reopen_and_reach_the_cassette() {
        let (_dir, cassette, store_dir) = paths();
        {
            let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
            assert_eq!(
                sync,
                Opened::Imported,
                "a new store takes in the (missing, empty) cassette"
            );
            let key = RequestKey::new("ListUsers", &json!({"UserPoolId": "us-east-1_A"}));
            store
                .record(&key, &interaction(1, "{\"n\":1}"))
                .await
                .unwrap();
            store
                .record(&key, &interaction(2, "{\"n\":2}"))
                .await
                .unwrap();
            // Dropped without export, like a crash after the responses went out.
        }
        assert!(!cassette.exists());
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Recovered);
        let written = cassette::load(&cassette).unwrap().unwrap();
        assert_eq!(written.len(), 2);
        let key = RequestKey::new("ListUsers", &json!({"UserPoolId": "us-east-1_A"}));
        assert_eq!(store.get(&key, 2).unwrap().unwrap().body, "{\"n\":2}");
        assert_eq!(store.all(&key).unwrap().last().unwrap().0, 2);
        assert_eq!(store.occurrences(&key), 2);
        assert!(store.get(&key, 3).unwrap().is_none());
    }

    #[tokio::test]
    async fn a_replay_start_recovers_an_unclean_stop_and_skips_a_clean_store() {
        let (_dir, cassette, store_dir) = paths();
        let rules = Rules::default();
        assert!(
            !Store::recover(&cassette, &store_dir, &rules).unwrap(),
            "no store"
        );
        let key = RequestKey::new("ListUsers", &json!({"UserPoolId": "us-east-1_A"}));
        for round in 1..=2u32 {
            {
                let (store, _) = Store::open(&cassette, &store_dir, &rules).unwrap();
                assert!(clean_marker(&store_dir).exists(), "opened clean");
                let body = ["{\"n\":1}", "{\"n\":2}"][round as usize - 1];
                store.record(&key, &interaction(round, body)).await.unwrap();
                assert!(!clean_marker(&store_dir).exists(), "recording");
                // Dropped without export: an unclean stop.
            }
            assert!(Store::recover(&cassette, &store_dir, &rules).unwrap());
            assert_eq!(
                cassette::load(&cassette).unwrap().unwrap().len(),
                round as usize
            );
            assert!(clean_marker(&store_dir).exists());
            assert!(
                !Store::recover(&cassette, &store_dir, &rules).unwrap(),
                "clean now"
            );
        }
    }

    #[test]
    fn a_store_made_with_sleds_default_segments_still_opens() {
        let (_dir, cassette, store_dir) = one_interaction();
        drop(sled::Config::new().path(&store_dir).open().unwrap());
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Imported);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_changed_cassette_is_reimported() {
        let (_dir, cassette, store_dir) = one_interaction();
        {
            let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
            assert_eq!(sync, Opened::Imported);
            assert_eq!(store.len(), 1);
        }
        {
            let (_, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
            assert_eq!(sync, Opened::Current);
        }
        // Edited by hand (e.g. a git checkout): two interactions now.
        cassette::write(&cassette, &mut [interaction(1, "{}"), interaction(2, "{}")]).unwrap();
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Imported);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn changed_keying_rules_re_key_the_store() {
        let (_dir, cassette, store_dir) = one_interaction();
        drop(Store::open(&cassette, &store_dir, &Rules::default()).unwrap());
        let mut rules = Rules::default();
        rules.ignore(
            "ListUsers",
            crate::keying::rules::Selector::parse("UserPoolId").unwrap(),
        );
        let (store, sync) = Store::open(&cassette, &store_dir, &rules).unwrap();
        assert_eq!(sync, Opened::Imported);
        assert!(store
            .get(&RequestKey::new("ListUsers", &json!({})), 1)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_corrupt_cassette_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        std::fs::write(&cassette, b"{\"version\": 1, \"interactions\": [").unwrap();
        let err = Store::open(&cassette, &dir.path().join("store"), &Rules::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::CorruptCassette { .. }), "{err}");
        assert_eq!(
            std::fs::read(&cassette).unwrap(),
            b"{\"version\": 1, \"interactions\": ["
        );
    }
}
