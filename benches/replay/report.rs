//! RESULTS.md sections (between `<!-- bench:NAME -->` markers; text outside them is kept) and
//! the req/s-against-concurrency SVG.

use super::loadgen::Run;
use super::{Pair, RecordRow, ScaleRow, Settings};
use std::fmt::Write as _;
use std::process::Command;

pub fn write(
    s: &Settings,
    load_at_start: &str,
    page: usize,
    (pairs, replay_rss): (&[Pair], super::servers::Rss),
    record: &[RecordRow],
    scale: &[ScaleRow],
) {
    let path = s.out.join("RESULTS.md");
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| "# cognito-vcr benchmark results\n".to_owned());
    let when = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    text = replace(&text, "machine", &machine());
    let settings = format!(
        "{} s measured per run after {} s warm-up, {} load-generator thread(s), ListUsers page of {} bytes; \
         cognito-vcr at `{}`; measured {when}, 1-minute load average {load_at_start} before the run and {} after",
        s.secs,
        s.warmup,
        s.client_threads,
        page,
        revision(),
        loadavg()
    );
    if !pairs.is_empty() {
        let mut table = replay_table(pairs, s.rounds, &settings);
        writeln!(
            table,
            "\nThe replay proxy's peak RSS (VmHWM) after all these runs: {} MiB ({} MiB resident at the end).",
            replay_rss.peak_kib / 1024,
            replay_rss.now_kib / 1024
        )
        .unwrap();
        text = replace(&text, "replay", &table);
        if pairs.iter().any(|p| !p.https.is_empty()) {
            text = replace(&text, "https", &https_table(pairs, &settings));
        }
        let svg = svg(pairs);
        std::fs::write(s.out.join("replay.svg"), svg).expect("write replay.svg");
    }
    if !record.is_empty() {
        let settings = settings.replace(
            &format!("{} s measured", s.secs),
            &format!("{} s measured", s.record_secs),
        );
        text = replace(&text, "record", &record_table(record, &settings));
    }
    if !scale.is_empty() {
        let settings = settings.replace(
            &format!("{} s measured", s.secs),
            &format!("{} s measured", s.scale_secs),
        );
        text = replace(&text, "scale", &scale_table(scale, s.rounds, &settings));
    }
    std::fs::write(&path, text).expect("write RESULTS.md");
    println!("\nwrote {}", path.display());
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn replace(text: &str, name: &str, content: &str) -> String {
    let (begin, end) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let block = format!("{begin}\n{}\n{end}", content.trim_end());
    match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{}\n{block}\n", text.trim_end()),
    }
}

/// The 1-minute load average (other work on the machine skews a 2-core benchmark).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

fn revision() -> String {
    std::env::var("BENCH_REV").unwrap_or_else(|_| sh("git", &["describe", "--always", "--dirty"]))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "?".into(),
            |kib| format!("{:.0} GiB", kib as f64 / 1048576.0),
        );
    format!(
        "Machine: {} CPUs (`nproc`), {model} (`/proc/cpuinfo`), {mem} RAM, Linux {}, {}.",
        sh("nproc", &[]),
        sh("uname", &["-r"]),
        sh("rustc", &["--version"]),
    )
}

fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.0} µs")
    }
}

fn rate(v: f64) -> String {
    let digits = (v.round() as u64).to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn replay_table(pairs: &[Pair], rounds: usize, settings: &str) -> String {
    let mut t = format!(
        "Replay vs baseline, {rounds} round(s) alternating baseline/replay per concurrency ({settings}).\n\
         req/s is the mean over rounds (each round in brackets); p50/p99 pool every request of all rounds; \
         server CPU is the server process's user+system time per answered request.\n\n\
         | concurrency | baseline req/s | replay req/s | replay/baseline | baseline p50 / p99 | replay p50 / p99 | server CPU µs/req baseline / replay | errors |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for p in pairs {
        let (b, r) = (Run::merge(&p.baseline), Run::merge(&p.replay));
        let each = |runs: &[Run]| {
            runs.iter()
                .map(|x| rate(x.rps()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            t,
            "| {} | {} ({}) | {} ({}) | {} | {} |",
            p.concurrency,
            rate(b.rps()),
            each(&p.baseline),
            rate(r.rps()),
            each(&p.replay),
            compared(&b, &r),
            b.errors + r.errors
        )
        .unwrap();
    }
    t
}

/// The cells comparing `b` with its reference `a`: ratio of req/s, p50 / p99 of each, server CPU
/// per request of each.
fn compared(a: &Run, b: &Run) -> String {
    format!(
        "**{:.2}** | {} / {} | {} / {} | {:.1} / {:.1}",
        b.rps() / a.rps(),
        us(a.pct_us(0.5)),
        us(a.pct_us(0.99)),
        us(b.pct_us(0.5)),
        us(b.pct_us(0.99)),
        a.cpu_us_per_request(),
        b.cpu_us_per_request()
    )
}

fn https_table(pairs: &[Pair], settings: &str) -> String {
    let mut t = format!(
        "HTTPS replay vs plain replay: the same proxy with `--tls-auto` (TLS 1.3, one handshake per \
         keep-alive connection), in the same rounds as the table above ({settings}).\n\n\
         | concurrency | plain replay req/s | HTTPS replay req/s | HTTPS/plain | plain p50 / p99 | HTTPS p50 / p99 | server CPU µs/req plain / HTTPS | errors |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for p in pairs.iter().filter(|p| !p.https.is_empty()) {
        let (r, h) = (Run::merge(&p.replay), Run::merge(&p.https));
        writeln!(
            t,
            "| {} | {} | {} | {} | {} |",
            p.concurrency,
            rate(r.rps()),
            rate(h.rps()),
            compared(&r, &h),
            h.errors
        )
        .unwrap();
    }
    t
}

fn record_table(rows: &[RecordRow], settings: &str) -> String {
    let mut t = format!(
        "Record mode vs the upstream alone ({settings}). Every request is a new occurrence, so each \
         is forwarded, stored and flushed (group commit) before the answer; the cassette is written \
         on SIGTERM.\n\n\
         | concurrency | direct req/s | record req/s | direct p50 / p99 | record p50 / p99 | added p50 / p99 | proxy CPU µs/req | recorded | shutdown (cassette write) | cassette / store |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for r in rows {
        writeln!(
            t,
            "| {} | {} | {} | {} / {} | {} / {} | **{} / {}** | {:.0} | {} | {:.2} s | {} / {} |",
            r.concurrency,
            rate(r.direct.rps()),
            rate(r.record.rps()),
            us(r.direct.pct_us(0.5)),
            us(r.direct.pct_us(0.99)),
            us(r.record.pct_us(0.5)),
            us(r.record.pct_us(0.99)),
            us(r.record.pct_us(0.5) - r.direct.pct_us(0.5)),
            us(r.record.pct_us(0.99) - r.direct.pct_us(0.99)),
            r.record.cpu_us_per_request(),
            r.record.total,
            r.shutdown.as_secs_f64(),
            mb(r.cassette_bytes),
            mb(r.store_bytes)
        )
        .unwrap();
    }
    t
}

fn scale_table(rows: &[ScaleRow], rounds: usize, settings: &str) -> String {
    let mut t = format!(
        "Cassette size ({settings}). The cassette holds the ListUsers page plus N-1 small AdminGetUser \
         interactions. The first replay start keys the cassette into its index file (`.cognito-vcr/NAME.index`); \
         a later start reads that file into memory and checks its digests (of the cassette and of \
         itself). Times run from spawning the \
         process to the first answer received. Index rate = N / first start. Peak RSS = VmHWM. \
         Replay at c64 runs on the second-start servers, the sizes alternating round by round \
         ({rounds} rounds, req/s the mean).\n\n\
         | interactions | cassette | first start | index rate | peak RSS (first) | second start | peak RSS (second, started) | index | replay c64 req/s | p50 / p99 | server CPU µs/req | peak RSS (second, after load) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for r in rows {
        // Below a few milliseconds, or for a handful of interactions, the rate is noise.
        let read = r.first_served.as_secs_f64();
        let import = if read > 0.005 && r.interactions >= 1000 {
            format!("{}/s", rate(r.interactions as f64 / read))
        } else {
            "n/a (too small)".to_owned()
        };
        writeln!(
            t,
            "| {} | {} | {:.3} s | {} | {} MiB | {:.3} s | {} MiB | {} | {} | {} / {} | {:.1} | {} MiB |",
            rate(r.interactions as f64),
            mb(r.cassette_bytes),
            r.first_served.as_secs_f64(),
            import,
            r.first_rss.peak_kib / 1024,
            r.second_served.as_secs_f64(),
            r.second_started_rss.peak_kib / 1024,
            mb(r.index_bytes),
            rate(r.replay.rps()),
            us(r.replay.pct_us(0.5)),
            us(r.replay.pct_us(0.99)),
            r.replay.cpu_us_per_request(),
            r.second_rss.peak_kib / 1024
        )
        .unwrap();
    }
    t
}

/// req/s against concurrency, baseline and replay, as a small standalone SVG.
fn svg(pairs: &[Pair]) -> String {
    let (w, h, left, right, top, bottom) = (560.0, 320.0, 70.0, 20.0, 40.0, 50.0);
    let series: Vec<(&str, &str, Vec<f64>)> = vec![
        (
            "baseline (bare hyper)",
            "#1f77b4",
            pairs
                .iter()
                .map(|p| Run::merge(&p.baseline).rps())
                .collect(),
        ),
        (
            "cognito-vcr replay",
            "#d62728",
            pairs.iter().map(|p| Run::merge(&p.replay).rps()).collect(),
        ),
    ];
    let mut series = series;
    if pairs.iter().all(|p| !p.https.is_empty()) {
        series.push((
            "cognito-vcr replay, HTTPS",
            "#2ca02c",
            pairs.iter().map(|p| Run::merge(&p.https).rps()).collect(),
        ));
    }
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(1.0, f64::max);
    // Head room above the highest point for the legend.
    let step = nice_step(max * 1.2 / 5.0);
    let top_value = (max * 1.2 / step).ceil() * step;
    let n = pairs.len().max(2) as f64;
    let x = |i: usize| left + (w - left - right) * (i as f64 + 0.5) / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / top_value);
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">req/s against concurrency (ListUsers page, loopback)</text>\n",
        w / 2.0
    );
    let mut v = 0.0;
    while v <= top_value + step / 2.0 {
        writeln!(
            o,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - right,
            left - 6.0,
            y(v) + 4.0,
            rate(v),
            y = y(v)
        )
        .unwrap();
        v += step;
    }
    writeln!(
        o,
        "<text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">req/s</text>",
        top + (h - top - bottom) / 2.0,
        top + (h - top - bottom) / 2.0
    )
    .unwrap();
    for (i, p) in pairs.iter().enumerate() {
        writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            h - bottom + 18.0,
            p.concurrency
        )
        .unwrap();
    }
    writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">concurrent keep-alive connections</text>",
        left + (w - left - right) / 2.0,
        h - 12.0
    )
    .unwrap();
    for (k, (label, color, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        writeln!(
            o,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        )
        .unwrap();
        for (i, v) in values.iter().enumerate() {
            writeln!(o, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"><title>{}: {} req/s</title></circle>", x(i), y(*v), label, rate(*v)).unwrap();
        }
        let ly = top + 8.0 + 18.0 * k as f64;
        writeln!(
            o,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{label}</text>",
            left + 12.0,
            left + 36.0,
            left + 42.0,
            ly + 4.0
        )
        .unwrap();
    }
    o.push_str("</svg>\n");
    o
}

fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}
