//! A small closed-loop HTTP/1.1 load generator: fixed concurrency (one keep-alive connection per
//! worker, one request in flight on each), fixed duration after a warm-up, every latency kept.
//! Every answer is checked: status 200 and the body byte for byte. Plain HTTP or HTTPS (one TLS
//! handshake per connection, then keep-alive).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type Conn = Box<dyn Io>;

/// What one measured run saw.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Good answers completed inside the measured window.
    pub requests: u64,
    /// Bad answers (status, body) and broken connections, warm-up included.
    pub errors: u64,
    /// Answers completed overall, warm-up included (what a recording proxy stored).
    pub total: u64,
    pub secs: f64,
    /// Latency of each measured request, in nanoseconds.
    pub latencies: Vec<u64>,
    /// CPU time (user + system) the server process used over the whole run, warm-up included.
    pub server_cpu: f64,
}

impl Run {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    /// Merge runs of the same setup (latencies pooled, rates summed over summed time).
    pub fn merge(runs: &[Run]) -> Run {
        let mut out = Run::default();
        for r in runs {
            out.requests += r.requests;
            out.errors += r.errors;
            out.total += r.total;
            out.secs += r.secs;
            out.server_cpu += r.server_cpu;
            out.latencies.extend_from_slice(&r.latencies);
        }
        out.latencies.sort_unstable();
        out
    }

    /// Server CPU per answered request (warm-up included), in microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / self.total.max(1) as f64
    }

    /// Percentile in microseconds (`p` in 0..=1); the latencies must be sorted.
    pub fn pct_us(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((p * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1] as f64 / 1000.0
    }
}

pub struct Load {
    pub addr: SocketAddr,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub threads: usize,
    /// HTTPS with this client configuration (trusting the server's CA).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Requests per second over all connections (`BENCH_RATE`), each connection sending on a
    /// fixed schedule; `None`: as fast as the answers come. Two servers compared at the same
    /// rate do the same work under the same load, whichever would saturate first.
    pub rate: Option<f64>,
}

/// Drive `addr` with `concurrency` connections for warm-up + duration; measure the duration.
pub fn run(load: &Load, expected: &Arc<Vec<u8>>) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(load.threads)
        .enable_all()
        .build()
        .expect("client runtime");
    let request: Arc<[u8]> = super::fixture::http_request(&load.addr.to_string()).into();
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let until = measure_from + load.duration;
    let mut run = rt.block_on(async {
        let workers: Vec<_> = (0..load.concurrency)
            .map(|i| {
                let (request, expected) = (request.clone(), expected.clone());
                let (addr, tls) = (load.addr, load.tls.clone());
                // A connection's requests one interval apart, the connections spread over it.
                let interval = load
                    .rate
                    .map(|r| Duration::from_secs_f64(load.concurrency as f64 / r));
                let first = start
                    + interval
                        .unwrap_or_default()
                        .mul_f64(i as f64 / load.concurrency as f64);
                tokio::spawn(async move {
                    let schedule = interval.map(|every| (first, every));
                    worker(
                        addr,
                        tls,
                        &request,
                        &expected,
                        schedule,
                        measure_from,
                        until,
                    )
                    .await
                })
            })
            .collect();
        let mut runs = Vec::with_capacity(workers.len());
        for w in workers {
            runs.push(w.await.expect("load worker panicked"));
        }
        Run::merge(&runs)
    });
    run.secs = load.duration.as_secs_f64();
    run
}

async fn worker(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    request: &[u8],
    expected: &[u8],
    schedule: Option<(Instant, Duration)>,
    measure_from: Instant,
    until: Instant,
) -> Run {
    let mut run = Run {
        latencies: Vec::with_capacity(1 << 14),
        ..Run::default()
    };
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut conn: Option<Conn> = None;
    let mut next = schedule.map(|(first, _)| first);
    loop {
        if let (Some(at), Some((_, every))) = (next.as_mut(), schedule) {
            tokio::time::sleep_until((*at).into()).await;
            *at += every;
        }
        let sent = Instant::now();
        if sent >= until {
            break;
        }
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => match connect(addr, tls.clone()).await {
                Ok(s) => conn.insert(s),
                Err(e) => panic!("cannot connect to {addr}: {e}"),
            },
        };
        match exchange(stream, request, &mut buf).await {
            Ok((status, body)) => {
                let done = Instant::now();
                if status != 200 || buf[body] != *expected {
                    run.errors += 1;
                    continue;
                }
                run.total += 1;
                if sent >= measure_from && done <= until {
                    run.requests += 1;
                    run.latencies.push((done - sent).as_nanos() as u64);
                }
            }
            Err(_) => {
                run.errors += 1;
                conn = None;
            }
        }
    }
    run
}

async fn connect(addr: SocketAddr, tls: Option<Arc<rustls::ClientConfig>>) -> io::Result<Conn> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let Some(config) = tls else {
        return Ok(Box::new(s));
    };
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    // rustls asks its transport for 4 KiB at a time: a read buffer in between turns the ~6
    // receive calls per 23 KB answer into one or two, as in the plain path (which reads 64 KiB).
    let buffered = tokio::io::BufReader::with_capacity(64 * 1024, s);
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, buffered)
        .await?;
    Ok(Box::new(tls))
}

/// One request on an open connection; returns the status and where the body is in `buf`.
pub async fn exchange(
    s: &mut Conn,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<(u16, std::ops::Range<usize>)> {
    s.write_all(request).await?;
    buf.clear();
    let mut head: Option<(usize, usize, u16)> = None; // (head length, content length, status)
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        let searched = buf.len().saturating_sub(3);
        if s.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if head.is_none() {
            if let Some(end) = find(&buf[searched..], b"\r\n\r\n") {
                head = Some(parse_head(&buf[..searched + end + 4])?);
            }
        }
        if let Some((h, len, status)) = head {
            if buf.len() >= h + len {
                return Ok((status, h..h + len));
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &[u8]) -> io::Result<(usize, usize, u16)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_owned());
    let text = std::str::from_utf8(head).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let len = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| bad("no content-length"))?;
    Ok((head.len(), len, status))
}

/// One request on a fresh connection (blocking on `rt`): for start-up timing and checks.
pub fn one(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> io::Result<(u16, Vec<u8>)> {
    rt.block_on(async {
        let mut s = connect(addr, tls).await?;
        let mut buf = Vec::new();
        let request = super::fixture::http_request(&addr.to_string());
        let (status, body) = exchange(&mut s, &request, &mut buf).await?;
        Ok((status, buf[body].to_vec()))
    })
}
