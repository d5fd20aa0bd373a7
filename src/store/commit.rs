//! Group commit: make sled writes durable before answering, one flush for many waiters.
//!
//! sled 0.34's `flush_async` can leave concurrent callers waiting forever (sled issues #1241,
//! #1308), so durability goes through the blocking `flush` on a blocking thread instead. Each
//! write takes a ticket; one flusher thread flushes everything written so far and wakes every
//! writer whose ticket it covers. Under load, many writes share one fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::watch;

#[derive(Clone, Default)]
struct Flushed {
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Every ticket up to this one was in a flush that failed, with the error.
    failed: u64,
    error: Option<Arc<str>>,
}

/// Owns the flusher thread; dropping it stops and joins the thread, so the sled lock is released
/// by the time the store is gone.
pub struct GroupCommit {
    shared: Arc<Shared>,
    wake: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    written: AtomicU64,
    flushed: watch::Sender<Flushed>,
}

impl GroupCommit {
    /// Start the flusher thread (an error when the system cannot start a thread).
    pub fn new(db: sled::Db) -> std::io::Result<GroupCommit> {
        let shared = Arc::new(Shared {
            written: AtomicU64::new(0),
            flushed: watch::Sender::new(Flushed::default()),
        });
        let (wake, woken) = mpsc::channel::<()>();
        let flusher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cognito-vcr-flush".into())
            .spawn(move || flush_on_demand(&db, &flusher, &woken))?;
        Ok(GroupCommit {
            shared,
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Wait until every write made before this call is durable.
    pub async fn commit(&self) -> Result<(), Arc<str>> {
        let ticket = self.shared.written.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.shared.flushed.subscribe();
        if let Some(wake) = &self.wake {
            let _ = wake.send(());
        }
        let closed = || Arc::<str>::from("the store was closed before the write was durable");
        let state = rx
            .wait_for(|f| f.durable >= ticket || f.failed >= ticket)
            .await
            .map_err(|_| closed())?;
        if state.durable >= ticket {
            Ok(())
        } else {
            Err(state.error.clone().unwrap_or_else(closed))
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.wake.take(); // ends the thread's loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The flusher: on each wake-up, flush everything written so far and publish how far it got.
/// Wake-ups that arrive during a flush are folded into the next one.
fn flush_on_demand(db: &sled::Db, shared: &Shared, woken: &mpsc::Receiver<()>) {
    while woken.recv().is_ok() {
        while woken.try_recv().is_ok() {}
        let target = shared.written.load(Ordering::SeqCst);
        let result = db.flush();
        shared.flushed.send_modify(|f| match result {
            Ok(_) => f.durable = f.durable.max(target),
            Err(e) => {
                f.failed = f.failed.max(target);
                f.error = Some(e.to_string().into());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_commits_all_complete() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let commit = Arc::new(GroupCommit::new(db.clone()).unwrap());
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let (db, commit) = (db.clone(), commit.clone());
                tokio::spawn(async move {
                    db.insert(i.to_be_bytes(), &[1u8][..]).unwrap();
                    commit.commit().await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(db.len(), 200);
    }
}
