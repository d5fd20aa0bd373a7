//! Importing a cassette into the store: streamed, in batches, parsing and writing side by side.
//!
//! This thread parses the cassette and encodes each interaction; a second thread applies the
//! batches to sled (the larger share of the work). At most three batches are held at once: the
//! one being filled, one waiting, one being written.

use super::encoding::{encode_canonical, encode_key, encode_parts, key_parts};
use super::{ruled_key, Store, META_DIRTY, META_STAMP};
use crate::cassette;
use crate::error::Result;
use crate::keying::key::KeySet;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Writes per sled batch. One batch for a whole large cassette costs more than parsing it
/// (sled copies a leaf node per insert, and a big batch holds every value in memory at once).
/// Smaller than one might pick, on purpose: sled holds one epoch guard for a whole batch, and
/// with the writer going from batch to batch the replaced nodes are hardly ever freed. For a
/// million interactions, batches of 10k peaked at 2.7 GiB, batches of 1k at 0.8, no slower.
pub(super) const IMPORT_BATCH: usize = 1_000;

impl Store {
    /// Replace the store's content with the cassette's. With `keep_unexported`, interactions the
    /// store has and the cassette lacks (recorded before an unclean stop) are kept and stay dirty.
    ///
    /// The stamp goes before the first write and comes back after the last, so an import
    /// stopped midway (a crash, a cassette found bad past its first batch) is done again on the
    /// next start. A wrong version is found before anything is written (see `cassette::for_each`).
    pub(super) fn import(&self, keep_unexported: bool) -> Result<()> {
        let text = cassette::read(&self.cassette)?;
        if let (true, Some(text)) = (keep_unexported, &text) {
            // Recordings not exported yet are told apart as keys the cassette lacks: a bad
            // cassette's first batches, left in the store, would pass for recordings. This rare
            // case (a cassette changed after an unclean stop) is checked whole before writing.
            cassette::for_each(&self.cassette, text, |_| Ok(()))?;
        }
        let kept = std::thread::scope(|scope| {
            let (tx, rx) = sync_channel(1);
            let writer = scope.spawn(move || self.write_batches(rx));
            let fed = self.feed(text.as_deref(), keep_unexported, tx);
            let written = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // A writer that failed stopped the feed too: its error is the one to report.
            written.and(fed)
        })?;
        self.meta
            .insert(META_STAMP, self.stamp())
            .map_err(|e| self.err(e))?;
        if kept == 0 {
            self.meta.remove(META_DIRTY).map_err(|e| self.err(e))?;
            self.marked_dirty.store(false, Ordering::SeqCst);
        }
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Parse the cassette into batches for the writer, then remove (or count, when kept) what
    /// the store holds and the cassette does not. Returns how many were kept.
    fn feed(&self, text: Option<&[u8]>, keep_unexported: bool, tx: Tx) -> Result<usize> {
        // What the store holds now: each key the cassette has is taken out, the rest is stale.
        let mut stale = KeySet::default();
        let mut odd = Vec::new();
        for k in self.interactions.iter().keys() {
            let k = k.map_err(|e| self.err(e))?;
            match key_parts(&k) {
                Some((op, digest, occurrence)) => {
                    stale.insert(op, digest, occurrence);
                }
                None => odd.push(k),
            }
        }
        let mut out = Batches::new(self, tx);
        if let Some(text) = text {
            cassette::for_each_keyed(&self.cassette, text, &mut |i, raw, request| {
                let key = ruled_key(&self.rules, &i, raw);
                stale.remove(&key.qualified_operation(), &key.digest, i.occurrence);
                let value = encode_canonical(&i.response, request);
                out.insert(encode_key(&key, i.occurrence), value)
            })?;
        }
        if keep_unexported {
            out.finish()?;
            return Ok(stale.len() + odd.len());
        }
        for (op, digest, occurrence) in stale.iter() {
            out.remove(encode_parts(op, digest, occurrence))?;
        }
        for k in odd {
            out.remove(k)?;
        }
        out.finish()?;
        Ok(0)
    }

    /// Apply the batches as they come. The stamp goes first: until the import puts it back,
    /// the store matches no cassette.
    fn write_batches(&self, batches: Receiver<sled::Batch>) -> Result<()> {
        let mut first = true;
        for batch in batches {
            if std::mem::take(&mut first) {
                self.meta.remove(META_STAMP).map_err(|e| self.err(e))?;
            }
            self.interactions
                .apply_batch(batch)
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

type Tx = SyncSender<sled::Batch>;

/// The import's writes, handed to the writer [`IMPORT_BATCH`] at a time.
struct Batches<'s> {
    store: &'s Store,
    tx: Tx,
    batch: sled::Batch,
    pending: usize,
}

impl<'s> Batches<'s> {
    fn new(store: &'s Store, tx: Tx) -> Self {
        Batches {
            store,
            tx,
            batch: sled::Batch::default(),
            pending: 0,
        }
    }

    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.batch.insert(key, value);
        self.added()
    }

    fn remove(&mut self, key: impl Into<sled::IVec>) -> Result<()> {
        self.batch.remove(key);
        self.added()
    }

    fn added(&mut self) -> Result<()> {
        self.pending += 1;
        if self.pending >= IMPORT_BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        self.pending = 0;
        let batch = std::mem::take(&mut self.batch);
        self.tx.send(batch).map_err(|_| {
            // Only when the writer stopped on an error, which `import` reports instead.
            self.store.err(sled::Error::Io(std::io::Error::other(
                "import writer stopped",
            )))
        })
    }

    /// Send what is left; dropping the sender then ends the writer.
    fn finish(mut self) -> Result<()> {
        if self.pending > 0 {
            self.send()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{interaction, one_interaction, paths};
    use super::*;
    use crate::cassette::VERSION;
    use crate::error::Error;
    use crate::keying::key::RequestKey;
    use crate::keying::rules::Rules;
    use crate::store::Opened;
    use serde_json::json;
    use std::path::Path;

    /// `n` small interactions, one per line, as a hand-made (unsorted) cassette text.
    fn many(n: usize, version: u64) -> String {
        let mut s = String::from("{\"interactions\": [\n");
        for i in 0..n {
            let sep = if i + 1 < n { "," } else { "" };
            s.push_str(&format!(
                r#"{{"occurrence":1,"operation":"AdminGetUser","request":{{"body":{{"Username":"u{i}"}}}},"response":{{"body":{{"n":{i}}},"status":200}}}}{sep}"#
            ));
            s.push('\n');
        }
        s.push_str(&format!("], \"version\": {version}}}\n"));
        s
    }

    /// A cassette whose JSON breaks after more than one batch of interactions.
    fn bad_after_first_batch() -> String {
        let mut bad = many(IMPORT_BATCH + 5, VERSION);
        let end = bad.rfind("\n]").unwrap();
        bad.insert_str(end, ",\noops");
        bad
    }

    fn user(i: usize) -> RequestKey {
        RequestKey::new("AdminGetUser", &json!({"Username": format!("u{i}")}))
    }

    #[test]
    fn an_import_of_several_batches_serves_everything_and_drops_stale_keys() {
        let (_dir, cassette, store_dir) = one_interaction();
        drop(Store::open(&cassette, &store_dir, &Rules::default()).unwrap());
        let n = IMPORT_BATCH * 2 + IMPORT_BATCH / 2;
        std::fs::write(&cassette, many(n, VERSION)).unwrap();
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Imported);
        assert_eq!(store.len(), n);
        for i in [
            0,
            1,
            IMPORT_BATCH - 1,
            IMPORT_BATCH,
            2 * IMPORT_BATCH + 7,
            n - 1,
        ] {
            let r = store.get(&user(i), 1).unwrap().unwrap();
            assert_eq!(r.body, format!("{{\"n\":{i}}}"));
        }
        let stale = RequestKey::new("ListUsers", &json!({"UserPoolId": "us-east-1_A"}));
        assert!(
            store.get(&stale, 1).unwrap().is_none(),
            "the earlier import's key is gone"
        );
        assert!(!store.is_dirty());
        drop(store);
        let (_, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Current);
    }

    /// A store that imported a good 3-interaction cassette `c.json`: the directory, the
    /// cassette's text and its modification time.
    fn imported_good_cassette() -> (tempfile::TempDir, String, std::time::SystemTime) {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        let good = many(3, VERSION);
        std::fs::write(&cassette, &good).unwrap();
        let modified = std::fs::metadata(&cassette).unwrap().modified().unwrap();
        drop(Store::open(&cassette, &dir.path().join("store"), &Rules::default()).unwrap());
        (dir, good, modified)
    }

    /// Put back a cassette's bytes and modification time, as if it had never changed.
    fn restore(path: &Path, bytes: &[u8], modified: std::time::SystemTime) {
        std::fs::write(path, bytes).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(modified).unwrap();
    }

    #[test]
    fn a_wrong_version_is_refused_before_the_store_changes() {
        let (dir, good, modified) = imported_good_cassette();
        let (cassette, store_dir) = (dir.path().join("c.json"), dir.path().join("store"));
        std::fs::write(&cassette, many(IMPORT_BATCH + 1, 9)).unwrap();
        let err = Store::open(&cassette, &store_dir, &Rules::default())
            .err()
            .unwrap();
        assert!(
            matches!(err, Error::CassetteVersion { found: 9, .. }),
            "{err}"
        );
        // The store still matches the good cassette: its stamp and content were left alone.
        restore(&cassette, good.as_bytes(), modified);
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Current);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn an_import_stopped_midway_is_done_again() {
        let (dir, good, modified) = imported_good_cassette();
        let (cassette, store_dir) = (dir.path().join("c.json"), dir.path().join("store"));
        // Bad only after its first batch: that batch reaches the store before the error.
        std::fs::write(&cassette, bad_after_first_batch()).unwrap();
        let err = Store::open(&cassette, &store_dir, &Rules::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::CorruptCassette { .. }), "{err}");
        // Even with the old cassette's very stamp back, the store is rebuilt from it.
        restore(&cassette, good.as_bytes(), modified);
        let (store, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Imported);
        assert_eq!(store.len(), 3);
        assert!(store.get(&user(IMPORT_BATCH), 1).unwrap().is_none());
    }

    #[tokio::test]
    async fn a_bad_cassette_after_an_unclean_stop_leaves_nothing_behind() {
        let (_dir, cassette, store_dir) = paths();
        {
            let (store, _) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
            let i = interaction(1, "{}");
            let key = RequestKey::new(&i.operation, &i.request);
            store.record(&key, &i).await.unwrap();
            // Dropped without export: the store is dirty.
        }
        std::fs::write(&cassette, bad_after_first_batch()).unwrap();
        let err = Store::open(&cassette, &store_dir, &Rules::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::CorruptCassette { .. }), "{err}");
        std::fs::write(&cassette, many(3, VERSION)).unwrap();
        let (_, sync) = Store::open(&cassette, &store_dir, &Rules::default()).unwrap();
        assert_eq!(sync, Opened::Recovered);
        let written = cassette::load(&cassette).unwrap().unwrap();
        assert_eq!(
            written.len(),
            4,
            "the cassette's 3 and the recording, nothing of the bad one"
        );
    }
}
