//! Replay throughput of cognito-vcr against a same-run baseline that answers the same bytes, so
//! the difference is the proxy's own cost.
//!
//! `bash benches/run.sh` (or `cargo bench --bench replay`) runs, in one go:
//! 1. **replay vs baseline**: a bare hyper 1 server answering the fixed ListUsers page, and the
//!    release `cognito-vcr serve --mode replay` on a generated cassette holding that page, both
//!    driven by the same closed-loop load generator (`loadgen.rs`) at each concurrency,
//!    alternating baseline / replay / HTTPS replay (the same proxy with `--tls-auto`) for
//!    `BENCH_ROUNDS` rounds;
//! 2. **record mode**: the proxy recording from a bare hyper upstream vs that upstream directly;
//! 3. **scale** (only with `BENCH_SCALE`, e.g. `run.sh --scale`): cassettes of 10, 10k, 1M
//!    interactions: import on first start, second start, peak RSS, replay req/s at c64 (the
//!    sizes alternating for `BENCH_ROUNDS` rounds).
//!
//! Results go to stdout and into the marked sections of `benches/RESULTS.md` (text outside the
//! markers is kept), plus `benches/replay.svg`. Settings (environment):
//! `BENCH_SECS` (5) measured seconds per run, `BENCH_WARMUP` (1) seconds before measuring,
//! `BENCH_CONCURRENCY` (1,4,16,64), `BENCH_ROUNDS` (3), `BENCH_CLIENT_THREADS` (nproc),
//! `BENCH_HTTPS` (1; 0 skips the HTTPS replay runs),
//! `BENCH_RECORD` (1; 0 skips), `BENCH_RECORD_SECS` (2: every recorded request is a new
//! ~20 KB interaction, and the cassette is rewritten on shutdown), `BENCH_RECORD_CONCURRENCY`
//! (1,64), `BENCH_SCALE` (empty; sizes like 10,10000,1000000), `BENCH_SCALE_SECS` (BENCH_SECS),
//! `BENCH_USERS` (60: the page's users, ~23 KB; 7 make ~2.7 KB), `BENCH_OUT` (benches/),
//! `BENCH_WORK` (target/bench-work/), `BENCH_KEEP` (keep cassettes over 100k interactions,
//! deleted by default).
//!
//! `replay load ADDR [CONCURRENCY] [SECS]` (the bench executable) only drives a running server,
//! e.g. one under `perf record`; with `BENCH_RATE` (requests per second, all connections
//! together) it sends on a fixed schedule instead of as fast as answers come, so that two servers
//! (plain and HTTPS replay) are compared doing the same work under the same load.

mod fixture;
mod loadgen;
mod report;
mod servers;

use loadgen::{Load, Run};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct Settings {
    pub secs: f64,
    pub warmup: f64,
    pub concurrency: Vec<usize>,
    pub rounds: usize,
    pub client_threads: usize,
    pub https: bool,
    pub record: bool,
    pub record_secs: f64,
    pub record_concurrency: Vec<usize>,
    pub scale: Vec<u64>,
    pub scale_secs: f64,
    pub out: PathBuf,
    pub work: PathBuf,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not valid")),
        _ => default,
    }
}

fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    let v = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {s:?} is not valid"))
        })
        .collect()
}

impl Settings {
    fn from_env() -> Settings {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let secs = env_or("BENCH_SECS", 5.0);
        Settings {
            secs,
            warmup: env_or("BENCH_WARMUP", 1.0),
            concurrency: env_list("BENCH_CONCURRENCY", "1,4,16,64"),
            rounds: env_or("BENCH_ROUNDS", 3),
            https: env_or("BENCH_HTTPS", 1) != 0,
            client_threads: env_or(
                "BENCH_CLIENT_THREADS",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            record: env_or("BENCH_RECORD", 1) != 0,
            record_secs: env_or("BENCH_RECORD_SECS", 2.0),
            record_concurrency: env_list("BENCH_RECORD_CONCURRENCY", "1,64"),
            scale: env_list("BENCH_SCALE", ""),
            scale_secs: env_or("BENCH_SCALE_SECS", secs),
            out: env_or("BENCH_OUT", root.join("benches")),
            work: env_or("BENCH_WORK", root.join("target").join("bench-work")),
        }
    }

    fn load(
        &self,
        addr: std::net::SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
        concurrency: usize,
        secs: f64,
    ) -> Load {
        Load {
            addr,
            tls,
            concurrency,
            warmup: Duration::from_secs_f64(self.warmup),
            duration: Duration::from_secs_f64(secs),
            threads: self.client_threads,
            rate: std::env::var("BENCH_RATE")
                .ok()
                .map(|r| r.parse().expect("BENCH_RATE: requests per second")),
        }
    }

    /// One load run against `server`, with the CPU time the server spent on it.
    fn measure(
        &self,
        server: &servers::Server,
        concurrency: usize,
        secs: f64,
        body: &Arc<Vec<u8>>,
    ) -> Run {
        let cpu = server.cpu_secs();
        let load = self.load(server.addr, server.tls.clone(), concurrency, secs);
        let mut run = loadgen::run(&load, body);
        run.server_cpu = server.cpu_secs() - cpu;
        run
    }
}

/// Replay vs baseline at one concurrency: the runs of each, in the order they ran.
pub struct Pair {
    pub concurrency: usize,
    pub baseline: Vec<Run>,
    pub replay: Vec<Run>,
    /// The same replay served over HTTPS (empty with `BENCH_HTTPS=0`).
    pub https: Vec<Run>,
}

/// The proxy recording vs its upstream directly, at one concurrency.
pub struct RecordRow {
    pub concurrency: usize,
    pub direct: Run,
    pub record: Run,
    pub shutdown: Duration,
    pub cassette_bytes: u64,
    pub store_bytes: u64,
}

/// One cassette size.
pub struct ScaleRow {
    pub interactions: u64,
    pub cassette_bytes: u64,
    pub generate: Duration,
    pub first_listening: Duration,
    pub first_served: Duration,
    pub first_rss: servers::Rss,
    pub second_served: Duration,
    pub index_bytes: u64,
    pub replay: Run,
    pub second_started_rss: servers::Rss,
    pub second_rss: servers::Rss,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve-baseline") => return servers::serve_baseline(),
        Some("load") => return load_only(&args[2..]),
        Some("cassette") => return write_cassette_only(&args[2..]),
        _ => {}
    }
    let s = Settings::from_env();
    let load_at_start = report::loadavg();
    std::fs::create_dir_all(&s.work).expect("work dir");
    let body = Arc::new(fixture::list_users_body());
    let one = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "cognito-vcr replay benchmark: page {} bytes, {} s per run after {} s warm-up, {} client thread(s); load average {load_at_start}",
        body.len(),
        s.secs,
        s.warmup,
        s.client_threads
    );

    let (pairs, replay_rss) = if s.concurrency.is_empty() {
        (Vec::new(), servers::Rss::default())
    } else {
        replay_vs_baseline(&s, &body, &one)
    };
    let record = if s.record && !s.record_concurrency.is_empty() {
        record_mode(&s, &body)
    } else {
        Vec::new()
    };
    let started: Vec<(ScaleRow, servers::Server)> = s
        .scale
        .iter()
        .map(|&n| scale_start(&s, n, &body, &one))
        .collect();
    let scale = scale_replay(&s, started, &body);

    report::write(
        &s,
        &load_at_start,
        body.len(),
        (&pairs, replay_rss),
        &record,
        &scale,
    );
}

/// `load ADDR [CONCURRENCY] [SECS]`: drive an already running server (e.g. one under `perf`).
/// `https://ADDR` connects with TLS, trusting the CA file named by `BENCH_CA`.
fn load_only(args: &[String]) {
    let usage = "usage: load [https://]ADDR [CONCURRENCY] [SECS]";
    let target = args.first().expect(usage);
    let tls = target.starts_with("https://").then(|| {
        let ca = std::env::var_os("BENCH_CA").expect("https:// needs BENCH_CA=<CA PEM file>");
        Arc::new(cognito_vcr::tls::client_config(Some(Path::new(&ca))).expect("TLS client"))
    });
    let addr = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .parse()
        .expect(usage);
    let c = args.get(1).map_or(64, |v| v.parse().expect("concurrency"));
    let secs = args.get(2).map_or(5.0, |v| v.parse().expect("seconds"));
    let s = Settings::from_env();
    let body = Arc::new(fixture::list_users_body());
    show("load", c, &loadgen::run(&s.load(addr, tls, c, secs), &body));
}

/// `cassette PATH [SCOPE]`: write the benchmark's cassette (for benches/wrk.sh), its ListUsers
/// interaction in SCOPE if given.
fn write_cassette_only(args: &[String]) {
    let path = Path::new(args.first().expect("usage: cassette PATH [SCOPE]"));
    let body = fixture::list_users_body();
    fixture::write_scoped_cassette(path, 10, &body, args.get(1).map(String::as_str))
        .expect("write cassette");
}

fn fresh_cassette(s: &Settings, name: &str, n: u64, body: &[u8]) -> (PathBuf, u64) {
    let path = s.work.join(format!("{name}.json"));
    let _ = std::fs::remove_dir_all(s.work.join(".cognito-vcr").join(format!("{name}.sled")));
    let _ = std::fs::remove_file(s.work.join(".cognito-vcr").join(format!("{name}.index")));
    let size = fixture::write_cassette(&path, n, body).expect("write cassette");
    (path, size)
}

fn check(one: &tokio::runtime::Runtime, server: &servers::Server, body: &[u8], what: &str) {
    let (status, got) = loadgen::one(one, server.addr, server.tls.clone()).expect("first request");
    assert_eq!(
        status,
        200,
        "{what}: status {status}: {}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        got == body,
        "{what}: answer differs from the baseline page ({} bytes vs {})",
        got.len(),
        body.len()
    );
}

fn show(label: &str, c: usize, r: &Run) {
    println!(
        "  {label:<9} c={c:<3} {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>8.1} µs  server CPU {:>5.1} µs/req  ({} requests, {} errors)",
        r.rps(),
        r.pct_us(0.50),
        r.pct_us(0.99),
        r.cpu_us_per_request(),
        r.requests,
        r.errors
    );
}

fn replay_vs_baseline(
    s: &Settings,
    body: &Arc<Vec<u8>>,
    one: &tokio::runtime::Runtime,
) -> (Vec<Pair>, servers::Rss) {
    println!(
        "\n== replay vs baseline ({} rounds, alternating) ==",
        s.rounds
    );
    let (cassette, _) = fresh_cassette(s, "replay-bench", 10, body);
    let baseline = servers::baseline(&s.work.join("baseline.log"));
    let replay = servers::proxy(
        &[
            "--mode",
            "replay",
            "--cassette",
            cassette.to_str().expect("utf-8 path"),
        ],
        &s.work.join("replay.log"),
    );
    let https = s.https.then(|| {
        let (cassette, _) = fresh_cassette(s, "replay-bench-https", 10, body);
        servers::proxy_tls(
            &[
                "--mode",
                "replay",
                "--cassette",
                cassette.to_str().expect("utf-8 path"),
            ],
            &s.work.join("tls"),
            &s.work.join("replay-https.log"),
        )
    });
    check(one, &baseline, body, "baseline");
    check(one, &replay, body, "replay");
    if let Some(https) = &https {
        check(one, https, body, "HTTPS replay");
    }
    let mut pairs = Vec::new();
    for &c in &s.concurrency {
        let mut pair = Pair {
            concurrency: c,
            baseline: Vec::new(),
            replay: Vec::new(),
            https: Vec::new(),
        };
        for _ in 0..s.rounds {
            let b = s.measure(&baseline, c, s.secs, body);
            show("baseline", c, &b);
            pair.baseline.push(b);
            let r = s.measure(&replay, c, s.secs, body);
            show("replay", c, &r);
            pair.replay.push(r);
            if let Some(https) = &https {
                let t = s.measure(https, c, s.secs, body);
                show("https", c, &t);
                pair.https.push(t);
            }
        }
        let (b, r) = (Run::merge(&pair.baseline), Run::merge(&pair.replay));
        println!("  c={c}: replay/baseline {:.2}", r.rps() / b.rps());
        if !pair.https.is_empty() {
            let t = Run::merge(&pair.https);
            println!(
                "  c={c}: HTTPS replay / plain replay {:.2}",
                t.rps() / r.rps()
            );
        }
        pairs.push(pair);
    }
    let rss = replay.rss();
    println!(
        "  replay proxy peak RSS {} MiB, resident {} MiB",
        rss.peak_kib / 1024,
        rss.now_kib / 1024
    );
    replay.terminate();
    if let Some(https) = https {
        https.terminate();
    }
    baseline.kill();
    (pairs, rss)
}

fn record_mode(s: &Settings, body: &Arc<Vec<u8>>) -> Vec<RecordRow> {
    println!("\n== record mode (upstream: bare hyper on loopback) ==");
    let upstream = servers::baseline(&s.work.join("upstream.log"));
    let url = format!("http://{}", upstream.addr);
    let mut rows = Vec::new();
    for &c in &s.record_concurrency {
        let direct = s.measure(&upstream, c, s.record_secs, body);
        show("direct", c, &direct);
        let name = format!("record-c{c}");
        let cassette = s.work.join(format!("{name}.json"));
        let store = s.work.join(".cognito-vcr").join(format!("{name}.sled"));
        let _ = std::fs::remove_file(&cassette);
        let _ = std::fs::remove_dir_all(&store);
        let proxy = servers::proxy(
            &[
                "--mode",
                "record",
                "--cassette",
                cassette.to_str().expect("utf-8 path"),
                "--upstream",
                &url,
            ],
            &s.work.join(format!("{name}.log")),
        );
        let record = s.measure(&proxy, c, s.record_secs, body);
        show("record", c, &record);
        let store_bytes = dir_size(&store);
        let shutdown = proxy.terminate();
        let cassette_bytes = std::fs::metadata(&cassette).map(|m| m.len()).unwrap_or(0);
        println!(
            "  c={c}: added p50 {:.1} µs, p99 {:.1} µs; {} interactions recorded; shutdown (cassette write) {:.2} s, cassette {:.1} MB, store {:.1} MB",
            record.pct_us(0.5) - direct.pct_us(0.5),
            record.pct_us(0.99) - direct.pct_us(0.99),
            record.total,
            shutdown.as_secs_f64(),
            cassette_bytes as f64 / 1e6,
            store_bytes as f64 / 1e6
        );
        rows.push(RecordRow {
            concurrency: c,
            direct,
            record,
            shutdown,
            cassette_bytes,
            store_bytes,
        });
        // The recordings are large (every request is a new occurrence): do not keep them.
        let _ = std::fs::remove_file(&cassette);
        let _ = std::fs::remove_dir_all(&store);
    }
    upstream.kill();
    rows
}

/// First and second start on a cassette of `n` interactions; returns the row (replay not yet
/// measured) and the second-start server, still running.
fn scale_start(
    s: &Settings,
    n: u64,
    body: &Arc<Vec<u8>>,
    one: &tokio::runtime::Runtime,
) -> (ScaleRow, servers::Server) {
    println!("\n== scale: {n} interactions ==");
    let name = format!("scale-{n}");
    let t = std::time::Instant::now();
    let (cassette, cassette_bytes) = fresh_cassette(s, &name, n, body);
    let generate = t.elapsed();
    println!(
        "  cassette {:.1} MB written in {:.2} s",
        cassette_bytes as f64 / 1e6,
        generate.as_secs_f64()
    );
    let args = [
        "--mode",
        "replay",
        "--cassette",
        cassette.to_str().expect("utf-8 path"),
    ];
    let log = s.work.join(format!("{name}.log"));

    // First start: the cassette is keyed into its index.
    let first = servers::proxy(&args, &log);
    check(one, &first, body, "first start");
    let first_served = first.spawned.elapsed();
    let first_listening = first.listening_after;
    let first_rss = first.rss();
    first.terminate();
    println!(
        "  first start: listening after {:.3} s, first answer after {:.3} s, peak RSS {} MiB",
        first_listening.as_secs_f64(),
        first_served.as_secs_f64(),
        first_rss.peak_kib / 1024
    );

    // Second start: the index is current and read, nothing is keyed.
    let second = servers::proxy(&args, &log);
    check(one, &second, body, "second start");
    let second_served = second.spawned.elapsed();
    let second_started_rss = second.rss();
    let index_bytes = std::fs::metadata(s.work.join(".cognito-vcr").join(format!("{name}.index")))
        .map_or(0, |m| m.len());
    println!(
        "  second start: first answer after {:.3} s, peak RSS {} MiB; index {:.1} MB",
        second_served.as_secs_f64(),
        second_started_rss.peak_kib / 1024,
        index_bytes as f64 / 1e6
    );
    let row = ScaleRow {
        interactions: n,
        cassette_bytes,
        generate,
        first_listening,
        first_served,
        first_rss,
        second_served,
        index_bytes,
        replay: Run::default(),
        second_started_rss,
        second_rss: servers::Rss::default(),
    };
    (row, second)
}

/// Replay at c64 on every size, the sizes alternating for `BENCH_ROUNDS` rounds (like baseline
/// and replay above: a slow moment of the machine does not land on one size only); then stop the
/// servers and remove big cassettes.
fn scale_replay(
    s: &Settings,
    started: Vec<(ScaleRow, servers::Server)>,
    body: &Arc<Vec<u8>>,
) -> Vec<ScaleRow> {
    if started.is_empty() {
        return Vec::new();
    }
    println!(
        "\n== scale: replay at c64, {} rounds alternating sizes ==",
        s.rounds
    );
    let mut runs: Vec<Vec<Run>> = started.iter().map(|_| Vec::new()).collect();
    for _ in 0..s.rounds {
        for ((row, server), runs) in started.iter().zip(&mut runs) {
            let run = s.measure(server, 64, s.scale_secs, body);
            show(&row.interactions.to_string(), 64, &run);
            runs.push(run);
        }
    }
    let mut rows = Vec::new();
    for ((mut row, server), runs) in started.into_iter().zip(runs) {
        row.replay = Run::merge(&runs);
        row.second_rss = server.rss();
        println!(
            "  {} interactions: {:.0} req/s, peak RSS after the runs {} MiB",
            row.interactions,
            row.replay.rps(),
            row.second_rss.peak_kib / 1024
        );
        server.terminate();
        let name = format!("scale-{}", row.interactions);
        if row.interactions > 100_000 && std::env::var_os("BENCH_KEEP").is_none() {
            // Keep the disk tidy: big cassettes take a few hundred MB each.
            let _ = std::fs::remove_file(s.work.join(format!("{name}.json")));
            let _ =
                std::fs::remove_dir_all(s.work.join(".cognito-vcr").join(format!("{name}.sled")));
            let _ = std::fs::remove_file(s.work.join(".cognito-vcr").join(format!("{name}.index")));
        }
        rows.push(row);
    }
    rows
}

fn dir_size(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
