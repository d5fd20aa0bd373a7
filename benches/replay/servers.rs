//! The servers under test, each its own process: the bare hyper baseline (this program re-run
//! as `serve-baseline`) and the cognito-vcr release binary. Both print
//! `listening on http://ADDR` as their first stdout line.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The baseline: hyper 1, HTTP/1.1 keep-alive, TCP_NODELAY, the same multi-threaded tokio
/// runtime as the proxy binary; reads the request body and answers the fixed page.
pub fn serve_baseline() {
    let body = Bytes::from(super::fixture::list_users_body());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "listening on http://{}",
            listener.local_addr().expect("addr")
        );
        std::io::stdout().flush().expect("stdout");
        let mut http = http1::Builder::new();
        http.keep_alive(true);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    let _ = req.into_body().collect().await;
                    let mut resp = hyper::Response::new(Full::new(body));
                    resp.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static(super::fixture::CONTENT_TYPE),
                    );
                    Ok::<_, Infallible>(resp)
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
}

/// A running server process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawning the process to its `listening on` line.
    pub listening_after: Duration,
    pub spawned: Instant,
    /// Set for an HTTPS server: how clients connect (trusting its CA).
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    _stdout: BufReader<ChildStdout>,
}

/// Start `cmd` (stderr to `log`) and wait for its `listening on` line.
pub fn spawn(mut cmd: Command, log: &Path) -> Server {
    let log_file = std::fs::File::create(log).expect("server log file");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file);
    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("server stdout");
    let listening_after = spawned.elapsed();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .or_else(|| line.trim().strip_prefix("listening on https://"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{cmd:?} printed {line:?} instead of `listening on http://ADDR`; stderr:\n{log}")
        });
    Server {
        child,
        addr,
        listening_after,
        spawned,
        tls: None,
        _stdout: stdout,
    }
}

pub fn baseline(log: &Path) -> Server {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.arg("serve-baseline").env("RUST_LOG", "warn");
    spawn(cmd, log)
}

pub fn proxy(args: &[&str], log: &Path) -> Server {
    // As users run it: the default log level (RUST_LOG unset).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cognito-vcr"));
    cmd.arg("serve").args(args).env_remove("RUST_LOG");
    spawn(cmd, log)
}

/// The proxy serving HTTPS with its automatic local CA (made in `state_dir`); the returned
/// server's `tls` trusts that CA.
pub fn proxy_tls(args: &[&str], state_dir: &Path, log: &Path) -> Server {
    let dir = state_dir.to_str().expect("utf-8 path");
    let mut all = vec!["--tls-auto", "--state-dir", dir];
    all.extend_from_slice(args);
    let mut server = proxy(&all, log);
    let config = cognito_vcr::tls::client_config(Some(&state_dir.join("ca.pem")))
        .expect("client TLS configuration trusting the proxy's CA");
    server.tls = Some(std::sync::Arc::new(config));
    server
}

/// Memory of a process from /proc, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    pub peak_kib: u64,
    pub now_kib: u64,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss(&self) -> Rss {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Rss {
            peak_kib: field("VmHWM:"),
            now_kib: field("VmRSS:"),
        }
    }

    /// CPU time (user + system) the process has used so far, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the parenthesized command name start at field 3 (state); utime and stime
        // are fields 14 and 15, in clock ticks.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        ticks as f64 / clock_ticks()
    }

    /// SIGTERM (graceful stop: the proxy drains and writes its cassette if it recorded) and
    /// wait for the exit; returns how long that took.
    pub fn terminate(mut self) -> Duration {
        let t = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !sent {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        t.elapsed()
    }

    /// SIGKILL, for the baseline (nothing to drain).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        // A panic mid-run must not leave servers behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
