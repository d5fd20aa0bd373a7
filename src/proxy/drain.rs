//! Graceful stop of the open connections: each connection has its own stop flag and waker, so a
//! connection's hot path never touches shared state (hyper-util's `GracefulShutdown` polls a
//! shared `watch` channel, which takes a lock, every time a connection is polled).

use atomic_waker::AtomicWaker;
use hyper_util::server::graceful::GracefulConnection;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use tokio::sync::mpsc;

/// The connections of one server (and the tunnels opened through them), to be stopped together.
pub struct Drain {
    open: Mutex<Open>,
    ended: Mutex<Option<mpsc::Receiver<()>>>,
}

struct Open {
    signals: Vec<Weak<Signal>>,
    /// Every [`Ticket`] holds a clone; when the last is dropped, every connection has ended.
    /// `None` once the stop has started: no ticket is handed out after that.
    alive: Option<mpsc::Sender<()>>,
}

/// One connection's stop request.
#[derive(Default)]
struct Signal {
    stop: AtomicBool,
    waker: AtomicWaker,
}

/// A connection's place in the drain, taken when it is accepted (before any TLS handshake, so
/// a stop during the handshake is not missed).
pub struct Ticket {
    signal: Arc<Signal>,
    _alive: mpsc::Sender<()>,
}

impl Drain {
    pub fn new() -> Drain {
        let (alive, ended) = mpsc::channel(1);
        Drain {
            open: Mutex::new(Open {
                signals: Vec::new(),
                alive: Some(alive),
            }),
            ended: Mutex::new(Some(ended)),
        }
    }

    /// A place for a new connection or tunnel; `None` once the stop has started.
    pub fn ticket(&self) -> Option<Ticket> {
        let signal = Arc::new(Signal::default());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let alive = open.alive.clone()?;
        // Forget ended connections whenever the list would grow: amortized O(1) per connection.
        if open.signals.len() == open.signals.capacity() {
            open.signals.retain(|s| s.strong_count() > 0);
        }
        open.signals.push(Arc::downgrade(&signal));
        Some(Ticket {
            signal,
            _alive: alive,
        })
    }

    /// Ask every connection to finish its in-flight exchange and close, and wait until all have.
    /// Only the first call waits.
    pub async fn shutdown(&self) {
        let signals = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.alive = None;
            std::mem::take(&mut open.signals)
        };
        for signal in signals.iter().filter_map(Weak::upgrade) {
            signal.stop.store(true, Ordering::Release);
            signal.waker.wake();
        }
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut ended) = ended {
            // `None` once every ticket is gone.
            let _ = ended.recv().await;
        }
    }
}

impl Ticket {
    /// The connection, stopping gracefully when the drain asks.
    pub fn watch<C: GracefulConnection>(self, conn: C) -> Watched<C> {
        Watched {
            conn: Box::pin(conn),
            ticket: self,
            registered: None,
            stopping: false,
        }
    }
}

pub struct Watched<C> {
    conn: Pin<Box<C>>,
    ticket: Ticket,
    /// The waker last handed to the signal: a task keeps its waker, so it is registered once,
    /// not on every poll.
    registered: Option<Waker>,
    stopping: bool,
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        if !self.stopping {
            let known = self.registered.as_ref();
            if !known.is_some_and(|w| w.will_wake(cx.waker())) {
                self.ticket.signal.waker.register(cx.waker());
                self.registered = Some(cx.waker().clone());
            }
            // Registered before the flag is read: a stop set after this read wakes the task.
            if self.ticket.signal.stop.load(Ordering::Acquire) {
                self.stopping = true;
                self.conn.as_mut().graceful_shutdown();
            }
        }
        self.conn.as_mut().poll(cx)
    }
}
