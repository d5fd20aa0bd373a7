//! A one-line progress display on a terminal, shown only once a command takes longer than a
//! moment (diffing large cassettes).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shown after this long; redrawn at each tick.
const DELAY: Duration = Duration::from_millis(600);
const TICK: Duration = Duration::from_millis(200);

pub struct Progress {
    phase: Arc<Mutex<&'static str>>,
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Start; on anything but a terminal it stays silent.
    pub fn start(terminal: bool) -> Progress {
        let phase = Arc::new(Mutex::new(""));
        if !terminal {
            return Progress {
                phase,
                done: None,
                thread: None,
            };
        }
        let (done, stop) = mpsc::channel::<()>();
        let shown = phase.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut drew = false;
            while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(TICK) {
                if started.elapsed() > DELAY {
                    let p = *shown.lock().unwrap_or_else(|e| e.into_inner());
                    eprint!("\r\x1b[2K{p}… {:.1}s", started.elapsed().as_secs_f64());
                    drew = true;
                }
            }
            if drew {
                eprint!("\r\x1b[2K");
            }
        });
        Progress {
            phase,
            done: Some(done),
            thread: Some(thread),
        }
    }

    /// What is being done now.
    pub fn phase(&self, name: &'static str) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
